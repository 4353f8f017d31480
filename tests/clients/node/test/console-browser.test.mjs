// The admin console in a real browser (Debian's Chromium through playwright-core): an operator
// signs in with the root credentials and creates a pool, an app client (whose secret is shown
// once), a user and a group; resets the password, signs the user out everywhere, disables and
// re-enables them, adds them to the group — and every change is checked through the AWS SDK for
// JavaScript, and in the audit log under the operator's name. Then the refusals: forms without
// the session's CSRF token, a cross-site post, no or a forged or an expired session, wrong
// credentials and the lockout after repeated failures. Screenshots go to
// tests/clients/node/artifacts/console-*.png.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminSetUserPasswordCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  DescribeUserPoolDomainCommand,
  GetGroupCommand,
  InitiateAuthCommand,
  ListUserPoolsCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import {
  startServer,
  unique,
  password,
  secretHash,
  ROOT_ACCESS_KEY_ID,
  ROOT_SECRET_ACCESS_KEY,
} from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";
import { startSmtpSink, codeIn } from "../lib/mailsink.mjs";
import { signIn, auditLines as auditLinesOf, waitForAudit as waitForAuditIn } from "../lib/console.mjs";

const OPERATOR = `console:${ROOT_ACCESS_KEY_ID}`;

let browser;
let smtp;
let server;
let idp;
let scratch;
let auditPath;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "tessera-console-"));
  auditPath = join(scratch, "audit.jsonl");
  smtp = await startSmtpSink();
  server = await startServer({ args: ["--smtp-url", smtp.url, "--audit-log", auditPath] });
  idp = server.client();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Every form on the page carries a hidden field whose name contains `csrf`. */
async function assertFormsCarryCsrf(page) {
  const forms = await page.$$eval("form", (fs) =>
    fs.map((f) => ({
      action: f.getAttribute("action"),
      csrf: !!f.querySelector('input[type="hidden"][name*="csrf"]'),
    })),
  );
  assert.ok(forms.length > 0, `a form on ${page.url()}`);
  for (const f of forms) assert.ok(f.csrf, `the form to ${f.action} on ${page.url()} carries a CSRF field`);
}

const auditLines = () => auditLinesOf(auditPath);
const waitForAudit = (operation, caller = OPERATOR) => waitForAuditIn(auditPath, operation, caller);

describe("an operator in the console", () => {
  test("creates a pool, a client, a user and a group, and manages the user; the SDK sees each change", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      // Sign-in page: the security headers, the form's field names.
      const first = await page.goto(`${server.endpoint}/console`);
      const h = first.headers();
      assert.match(h["content-security-policy"], /default-src 'self'/);
      assert.match(h["content-security-policy"], /frame-ancestors 'none'/);
      assert.equal(h["x-frame-options"], "DENY");
      assert.equal(h["cache-control"], "no-store");
      await assertFormsCarryCsrf(page);
      assert.equal(await page.locator('input[name="access_key_id"]').count(), 1);
      assert.equal(await page.locator('input[name="secret_access_key"][type="password"]').count(), 1);
      await screenshot(page, "console-sign-in");

      await signIn(page, server.endpoint);
      assert.equal(new URL(page.url()).pathname, "/console");
      await page.getByRole("heading", { name: "Tessera console" }).waitFor();
      const cookie = (await context.cookies()).find((c) => c.name === "tessera-console");
      assert.ok(cookie, "the session cookie");
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Strict");
      assert.equal(cookie.path, "/console");
      assert.equal(cookie.secure, false, "plain http here; Secure with an https public URL");
      await screenshot(page, "console-dashboard");

      // A pool.
      const poolName = unique("console-pool");
      await page.getByRole("link", { name: "User pools" }).first().click();
      await assertFormsCarryCsrf(page);
      await page.fill("#pool_name", poolName);
      await page.getByRole("button", { name: "Create user pool" }).click();
      await page.locator("#notice").waitFor();
      const poolId = (await page.locator("#pool-id").textContent()).trim();
      assert.match(poolId, /^us-east-1_/);
      const described = await idp.send(new DescribeUserPoolCommand({ UserPoolId: poolId }));
      assert.equal(described.UserPool.Name, poolName);
      assert.equal(described.UserPool.AdminCreateUserConfig.AllowAdminCreateUserOnly, true);
      await waitForAudit("cognito-idp.CreateUserPool");

      // Settings: UpdateUserPool changes what the form edits and keeps the rest.
      await page.getByRole("link", { name: "Edit settings" }).click();
      await assertFormsCarryCsrf(page);
      assert.equal(await page.locator("#require_symbols").isChecked(), true, "the current policy is shown");
      await page.check("#deletion_protection");
      await page.fill("#minimum_length", "10");
      await screenshot(page, "console-pool-settings");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.locator("#notice").waitFor();
      let updated = (await idp.send(new DescribeUserPoolCommand({ UserPoolId: poolId }))).UserPool;
      assert.equal(updated.DeletionProtection, "ACTIVE");
      assert.equal(updated.Policies.PasswordPolicy.MinimumLength, 10);
      assert.equal(updated.Policies.PasswordPolicy.RequireSymbols, true, "kept");
      assert.equal(updated.AdminCreateUserConfig.AllowAdminCreateUserOnly, true, "kept");
      assert.equal(updated.Name, poolName);
      await waitForAudit("cognito-idp.UpdateUserPool");

      // A domain for the hosted UI.
      const domain = unique("console").toLowerCase();
      await page.fill("#domain", domain);
      await page.getByRole("button", { name: "Create domain" }).click();
      await page.locator("#notice").waitFor();
      const described2 = await idp.send(new DescribeUserPoolDomainCommand({ Domain: domain }));
      assert.equal(described2.DomainDescription.UserPoolId, poolId);
      assert.match(await page.locator("#domain-url").textContent(), new RegExp(`/domain/${domain}$`));
      await screenshot(page, "console-pool");

      // An app client with a secret: shown on the creation page, never again.
      await page.getByRole("link", { name: "App clients" }).first().click();
      await assertFormsCarryCsrf(page);
      await page.fill("#client_name", "backend");
      await page.check("#generate_secret");
      await page.check("#af-ALLOW_USER_PASSWORD_AUTH");
      await page.check("#of-code");
      await page.fill("#scopes", "openid email");
      await page.fill("#callback_urls", "https://app.example.com/callback");
      await page.getByRole("button", { name: "Create app client" }).click();
      const clientId = (await page.locator("#client-id").textContent()).trim();
      const secret = (await page.locator("#client-secret").textContent()).trim();
      assert.ok(secret.length > 20, "the secret is shown once");
      await screenshot(page, "console-client-created");
      const client = (await idp.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: clientId })))
        .UserPoolClient;
      assert.equal(client.ClientSecret, secret);
      assert.ok(client.ExplicitAuthFlows.includes("ALLOW_USER_PASSWORD_AUTH"));
      assert.ok(client.ExplicitAuthFlows.includes("ALLOW_USER_SRP_AUTH"), "checked by default");
      assert.deepEqual(client.AllowedOAuthFlows, ["code"]);
      assert.deepEqual([...client.AllowedOAuthScopes].sort(), ["email", "openid"]);
      assert.deepEqual(client.CallbackURLs, ["https://app.example.com/callback"]);
      await page.goto(`${server.endpoint}/console/pools/${poolId}/clients`);
      const clientsHtml = await page.content();
      assert.ok(clientsHtml.includes(clientId));
      assert.ok(!clientsHtml.includes(secret), "the secret is not rendered again");
      await screenshot(page, "console-clients");

      // A user.
      const username = unique("ada");
      const email = `${username}@example.com`;
      await page.goto(`${server.endpoint}/console/pools/${poolId}/users`);
      await assertFormsCarryCsrf(page);
      await page.fill("#username", username);
      await page.fill("#email", email);
      await page.check("#email_verified");
      await page.fill("#temporary_password", password());
      await page.getByRole("button", { name: "Create user" }).click();
      await page.locator("#notice").waitFor();
      assert.equal((await page.locator("#username").textContent()).trim(), username);
      let user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
      assert.equal(user.UserStatus, "FORCE_CHANGE_PASSWORD");
      assert.equal(user.UserAttributes.find((a) => a.Name === "email").Value, email);
      assert.equal(smtp.to(email).length, 0, "no invitation unless asked for");
      await waitForAudit("cognito-idp.AdminCreateUser");

      // A Cognito error is shown as the API gives it.
      await page.goto(`${server.endpoint}/console/pools/${poolId}/users`);
      await page.fill("#username", username);
      await page.getByRole("button", { name: "Create user" }).click();
      assert.match(await page.locator("#error").textContent(), /UsernameExistsException/);

      // Search: a prefix of the email finds the user; another doesn't.
      await page.goto(`${server.endpoint}/console/pools/${poolId}/users`);
      await page.selectOption("#attr", "email");
      await page.fill("#q", username.slice(0, 6));
      await page.getByRole("button", { name: "Search" }).click();
      assert.ok(page.url().includes("attr=email"));
      assert.equal(await page.locator("#users tbody a", { hasText: username }).count(), 1);
      await screenshot(page, "console-users");
      await page.fill("#q", "nobody-");
      await page.getByRole("button", { name: "Search" }).click();
      assert.match(await page.locator("#users").textContent(), /No user matches/);

      // The user signs in (a permanent password set through the SDK) and holds a refresh token.
      const pw = password();
      await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: username, Password: pw, Permanent: true }));
      const signedIn = await idp.send(
        new InitiateAuthCommand({
          ClientId: clientId,
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: username, PASSWORD: pw, SECRET_HASH: secretHash(username, clientId, secret) },
        }),
      );
      const refresh = signedIn.AuthenticationResult.RefreshToken;
      assert.ok(refresh);

      // Sign out everywhere: confirmed on a page of its own, then the refresh token is dead.
      const userUrl = `${server.endpoint}/console/pools/${poolId}/users/${username}`;
      await page.goto(userUrl);
      await screenshot(page, "console-user");
      // On a phone-sized screen the user and users pages fit without sideways scrolling.
      await page.setViewportSize({ width: 375, height: 800 });
      for (const [url, name] of [[userUrl, "console-user-narrow"], [`${server.endpoint}/console/pools/${poolId}/users`, "console-users-narrow"]]) {
        await page.goto(url);
        await screenshot(page, name);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px`);
      }
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(userUrl);
      await page.getByRole("button", { name: "Sign out" }).click();
      assert.ok(page.url().endsWith("/sign-out"));
      await assertFormsCarryCsrf(page);
      assert.match(await page.locator("#confirm-text").textContent(), /out everywhere/);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.locator("#notice").waitFor();
      await assert.rejects(
        idp.send(
          new InitiateAuthCommand({
            ClientId: clientId,
            AuthFlow: "REFRESH_TOKEN_AUTH",
            AuthParameters: { REFRESH_TOKEN: refresh, SECRET_HASH: secretHash(username, clientId, secret) },
          }),
        ),
        (e) => e.name === "NotAuthorizedException",
      );
      await waitForAudit("cognito-idp.AdminUserGlobalSignOut");

      // Disable, then enable.
      await page.getByRole("button", { name: "Disable", exact: true }).click();
      await page.locator("#notice").waitFor();
      assert.equal((await page.locator("#user-enabled").textContent()).trim(), "no");
      user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
      assert.equal(user.Enabled, false);
      await waitForAudit("cognito-idp.AdminDisableUser");
      await page.getByRole("button", { name: "Enable", exact: true }).click();
      await page.locator("#notice").waitFor();
      user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
      assert.equal(user.Enabled, true);
      await waitForAudit("cognito-idp.AdminEnableUser");

      // Reset the password: confirmed first; the user must reset, with a code by email.
      await page.getByRole("button", { name: "Reset password" }).click();
      assert.ok(page.url().endsWith("/reset-password"));
      await screenshot(page, "console-confirm-reset");
      await page.getByRole("button", { name: "Reset password" }).click();
      await page.locator("#notice").waitFor();
      user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
      assert.equal(user.UserStatus, "RESET_REQUIRED");
      const [mail] = await smtp.waitFor(email);
      assert.ok(codeIn(mail.text || mail.html || mail.raw));
      await waitForAudit("cognito-idp.AdminResetUserPassword");

      // A group, and the user in it.
      await page.goto(`${server.endpoint}/console/pools/${poolId}/groups`);
      await assertFormsCarryCsrf(page);
      await page.fill("#group_name", "admins");
      await page.fill("#description", "People who run things");
      await page.fill("#precedence", "1");
      await page.getByRole("button", { name: "Create group" }).click();
      await page.locator("#notice").waitFor();
      const group = await idp.send(new GetGroupCommand({ UserPoolId: poolId, GroupName: "admins" }));
      assert.equal(group.Group.Description, "People who run things");
      assert.equal(group.Group.Precedence, 1);
      await screenshot(page, "console-groups");
      await page.goto(userUrl);
      await assertFormsCarryCsrf(page);
      await page.selectOption("#group", "admins");
      await page.getByRole("button", { name: "Add to group" }).click();
      await page.locator("#notice").waitFor();
      assert.match(await page.locator("#user-groups").textContent(), /admins/);
      const groups = await idp.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: username }));
      assert.deepEqual(
        groups.Groups.map((g) => g.GroupName),
        ["admins"],
      );
      await waitForAudit("cognito-idp.AdminAddUserToGroup");
      await screenshot(page, "console-user-after");

      // Identity pools.
      await page.goto(`${server.endpoint}/console/identity-pools`);
      await assertFormsCarryCsrf(page);
      await page.fill("#identity_pool_name", "console_identities");
      await page.fill("#user_pool_id", poolId);
      await page.fill("#client_id", clientId);
      await page.getByRole("button", { name: "Create identity pool" }).click();
      await page.locator("#notice").waitFor();
      assert.match(await page.locator("#identity-pools").textContent(), /console_identities/);
      await screenshot(page, "console-identity-pools");

      // Delete the user and then the pool, each confirmed first.
      await page.goto(userUrl);
      await page.getByRole("button", { name: "Delete user" }).click();
      await page.getByRole("button", { name: "Delete user" }).click();
      await page.locator("#notice").waitFor();
      await assert.rejects(
        idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username })),
        (e) => e.name === "UserNotFoundException",
      );
      // Deletion protection refuses, with the API's error, until it is turned off.
      await page.goto(`${server.endpoint}/console/pools/${poolId}`);
      await page.getByRole("button", { name: "Delete user pool" }).click();
      await screenshot(page, "console-confirm-delete-pool");
      await page.getByRole("button", { name: "Delete user pool" }).click();
      assert.match(await page.locator("#error").textContent(), /Exception/);
      await idp.send(new DescribeUserPoolCommand({ UserPoolId: poolId }));
      await page.goto(`${server.endpoint}/console/pools/${poolId}/settings`);
      await page.uncheck("#deletion_protection");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.locator("#notice").waitFor();
      await page.getByRole("button", { name: "Delete domain" }).click();
      await page.getByRole("button", { name: "Delete domain" }).click();
      await page.locator("#notice").waitFor();
      // Cognito describes a domain that doesn't exist as an empty description.
      const gone = await idp.send(new DescribeUserPoolDomainCommand({ Domain: domain })).catch(() => ({}));
      assert.ok(!gone.DomainDescription?.UserPoolId, "the domain is gone");
      await page.getByRole("button", { name: "Delete user pool" }).click();
      await page.getByRole("button", { name: "Delete user pool" }).click();
      await page.locator("#notice").waitFor();
      await assert.rejects(
        idp.send(new DescribeUserPoolCommand({ UserPoolId: poolId })),
        (e) => e.name === "ResourceNotFoundException",
      );

      // Every action above is in the audit trail as the operator's; no line holds the secret.
      const audit = readFileSync(auditPath, "utf8");
      assert.ok(!audit.includes(secret));
      assert.ok(!audit.includes(ROOT_SECRET_ACCESS_KEY));
      const signIns = auditLines().filter((l) => l.operation === "console.SignIn");
      assert.ok(signIns.some((l) => l.caller === OPERATOR && l.outcome === "ok"));

      // Logging out ends the session: the cookie goes, and pages ask to sign in again.
      await page.getByRole("button", { name: "Log out of the console" }).click();
      await page.locator("#access_key_id").waitFor();
      await page.goto(`${server.endpoint}/console/pools`);
      assert.equal(new URL(page.url()).pathname, "/console");
      assert.equal(await page.locator("#access_key_id").count(), 1);
    } finally {
      await context.close();
    }
  });
});

describe("console refusals", () => {
  test("a form without the session's CSRF token, or with another, or posted from another site, is refused", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint);
      const name = unique("csrf-pool");
      const post = (form) => page.request.post(`${server.endpoint}/console/pools`, { form, maxRedirects: 0 });
      const none = await post({ pool_name: name });
      assert.equal(none.status(), 403);
      assert.match(await none.text(), /did not come from your console session/);
      const wrong = await post({ pool_name: name, _csrf: "A".repeat(43) });
      assert.equal(wrong.status(), 403);
      // The right token goes through (so the refusals above were the token's).
      await page.goto(`${server.endpoint}/console/pools`);
      const token = await page.locator('input[name="_csrf"]').first().inputValue();
      const right = await post({ pool_name: `${name}-ok`, _csrf: token });
      assert.equal(right.status(), 303);
      await waitForAudit("console.Form");

      // A page of another site posting to the console: the SameSite=Strict cookie stays home,
      // so the console sees no session and asks to sign in.
      const evil = await context.newPage();
      await evil.setContent(
        `<form method="post" action="${server.endpoint}/console/pools"><input name="pool_name" value="${name}-xsite"><input name="_csrf" value="${token}"><button>go</button></form>`,
      );
      await evil.click("button");
      await evil.waitForLoadState();
      assert.equal(new URL(evil.url()).pathname, "/console");
      assert.equal(await evil.locator("#access_key_id").count(), 1);

      const pools = await idp.send(new ListUserPoolsCommand({ MaxResults: 60 }));
      const names = pools.UserPools.map((p) => p.Name);
      assert.ok(!names.includes(name));
      assert.ok(!names.includes(`${name}-xsite`));
      assert.ok(names.includes(`${name}-ok`));
    } finally {
      await context.close();
    }
  });

  test("without a session, with a forged one, or after it expired, pages ask to sign in and come back", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${server.endpoint}/console/identity-pools`);
      const url = new URL(page.url());
      assert.equal(url.pathname, "/console");
      assert.equal(url.searchParams.get("next"), "/console/identity-pools");
      await page.fill("#access_key_id", ROOT_ACCESS_KEY_ID);
      await page.fill("#secret_access_key", ROOT_SECRET_ACCESS_KEY);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/console\/identity-pools$/);

      // A sign-in form can't send the operator to another site afterwards.
      await context.clearCookies();
      await signIn(page, server.endpoint, { path: "/console?next=https://evil.example/" });
      assert.equal(new URL(page.url()).origin, server.endpoint);

      await context.clearCookies();
      await context.addCookies([
        { name: "tessera-console", value: "forged-value", url: `${server.endpoint}/console` },
      ]);
      await page.goto(`${server.endpoint}/console/pools`);
      assert.equal(new URL(page.url()).pathname, "/console");
      assert.match(await page.locator("#error").textContent(), /session ended/);
    } finally {
      await context.close();
    }

    // A server whose sessions last 3 s idle and 6 s in all.
    const short = await startServer({
      env: { TESSERA_CONSOLE_IDLE_TIMEOUT_SECS: "3", TESSERA_CONSOLE_ABSOLUTE_TIMEOUT_SECS: "6" },
    });
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const onPools = async () => {
      await p.goto(`${short.endpoint}/console/pools`);
      return new URL(p.url()).pathname === "/console/pools";
    };
    try {
      await signIn(p, short.endpoint);
      assert.ok(await onPools());
      await sleep(3500);
      assert.ok(!(await onPools()), "idle too long");
      assert.match(await p.locator("#error").textContent(), /session ended/);

      // Kept busy, a session still ends at the absolute timeout.
      await signIn(p, short.endpoint);
      const started = Date.now();
      while (Date.now() - started < 4500) {
        assert.ok(await onPools(), "busy within both limits");
        await sleep(1000);
      }
      await sleep(Math.max(0, 6500 - (Date.now() - started)));
      assert.ok(!(await onPools()), "older than the absolute timeout");
    } finally {
      await ctx.close();
      await short.stop();
    }
  });

  test("wrong credentials are refused, and an address that keeps failing is locked out", async () => {
    const own = await startServer();
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      let r = await signIn(page, own.endpoint, { secret: "wrong" });
      assert.equal(r.status(), 401);
      assert.match(await page.locator("#error").textContent(), /Incorrect access key id or secret access key/);
      assert.equal(await page.locator("#access_key_id").inputValue(), ROOT_ACCESS_KEY_ID, "the key id is kept");
      assert.equal(await page.locator("#secret_access_key").inputValue(), "", "the secret is not");
      await screenshot(page, "console-sign-in-refused");
      r = await signIn(page, own.endpoint, { key: "AKIAUNKNOWN", secret: ROOT_SECRET_ACCESS_KEY });
      assert.equal(r.status(), 401);
      for (let i = 3; i <= 4; i++) {
        r = await signIn(page, own.endpoint, { secret: `wrong-${i}` });
        assert.equal(r.status(), 401, `failure ${i}`);
      }
      r = await signIn(page, own.endpoint, { secret: "wrong-5" });
      assert.equal(r.status(), 429, "the fifth failure locks the address");
      assert.match(await page.locator("#error").textContent(), /Too many failed sign-ins/);
      // Locked: even the right credentials are refused now.
      r = await signIn(page, own.endpoint);
      assert.equal(r.status(), 429);
      assert.equal((await context.cookies()).filter((c) => c.name === "tessera-console").length, 0);
      // The API itself is untouched by the console's lockout.
      await own.client().send(new ListUserPoolsCommand({ MaxResults: 1 }));
    } finally {
      await context.close();
      await own.stop();
    }
  });
});
