// The admin console's operations pages in a real browser (Debian's Chromium through
// playwright-core): the message outbox (a delivery the mail server refuses shows as failed, and
// Retry sends it once the mailbox accepts: the user gets the same invitation and signs in with
// it), the pool's sign-in chart (sign-ins and failures made through the AWS SDK), an operator
// account made with `tessera admin create` (signs in, acts, is named in the audit trail, and is
// shut out once deleted), and `console_listen` (the console only on its own port; the main one
// answers 404). Screenshots go to tests/clients/node/artifacts/console-*.png.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import {
  AdminCreateUserCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  DescribeIdentityProviderCommand,
  GetGroupCommand,
  InitiateAuthCommand,
  ListIdentityProvidersCommand,
  AdminSetUserPasswordCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  DescribeIdentityPoolCommand,
  GetIdentityPoolRolesCommand,
} from "@aws-sdk/client-cognito-identity";
import { startServer, unique, password, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";
import { startSmtpSink } from "../lib/mailsink.mjs";
import { signIn, waitForAudit as waitForAuditIn } from "../lib/console.mjs";

let browser;
let smtp;
let server;
let idp;
let scratch;
let auditPath;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "tessera-console-ops-"));
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

const waitForAudit = (operation, caller) => waitForAuditIn(auditPath, operation, caller);

async function poolWithClient() {
  const pool = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("ops") }))).UserPool;
  const client = (
    await idp.send(
      new CreateUserPoolClientCommand({
        UserPoolId: pool.Id,
        ClientName: "app",
        ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      }),
    )
  ).UserPoolClient;
  return { poolId: pool.Id, clientId: client.ClientId };
}

async function until(what, check, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the console's operations pages", () => {
  test("a refused invitation shows as failed in the outbox, and Retry delivers it", async () => {
    const { poolId, clientId } = await poolWithClient();
    const username = unique("invitee");
    const email = `${username}@example.com`;
    smtp.refuse(email);
    const temporary = password();
    await idp.send(
      new AdminCreateUserCommand({
        UserPoolId: poolId,
        Username: username,
        TemporaryPassword: temporary,
        DesiredDeliveryMediums: ["EMAIL"],
        UserAttributes: [
          { Name: "email", Value: email },
          { Name: "email_verified", Value: "true" },
        ],
      }),
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint, { path: `/console/pools/${poolId}` });
      await page.getByRole("link", { name: "Message outbox" }).click();
      assert.equal(new URL(page.url()).pathname, `/console/pools/${poolId}/outbox`);
      // The courier tries at once; a 550 is permanent, so the message fails on that attempt.
      const row = page.locator("#outbox tbody tr", { hasText: email });
      await until("the failed delivery", async () => {
        await page.reload();
        return (await row.getAttribute("class"))?.includes("status-failed");
      });
      assert.match(await row.textContent(), /550/);
      assert.ok(!(await page.content()).includes(temporary), "the invitation's text is never shown");
      await screenshot(page, "console-outbox-failed");

      // The mailbox works again: Retry (audited under the operator) delivers the same letter.
      smtp.accept(email);
      await row.getByRole("button", { name: /Retry/ }).click();
      await page.locator("#notice").waitFor();
      assert.match(await page.locator("#notice").textContent(), /queued again/);
      const [mail] = await smtp.waitFor(email);
      assert.ok(mail.text.includes(temporary) || mail.html?.includes(temporary), "the invitation arrives whole");
      await waitForAudit("console.RetryMessage", `console:${ROOT_ACCESS_KEY_ID}`);
      await until("the delivered status", async () => {
        await page.goto(`${server.endpoint}/console/pools/${poolId}/outbox`);
        return (await row.getAttribute("class"))?.includes("status-delivered");
      });
      assert.equal(await row.getByRole("button", { name: /Retry/ }).count(), 0, "nothing to retry");
      await screenshot(page, "console-outbox-delivered");

      // The invitation's temporary password works: it was the message's own text.
      const started = await idp.send(
        new InitiateAuthCommand({
          ClientId: clientId,
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: username, PASSWORD: temporary },
        }),
      );
      assert.equal(started.ChallengeName, "NEW_PASSWORD_REQUIRED");

      // Retrying it again is refused with the engine's error, on the page.
      const retried = await page.request.post(
        `${server.endpoint}/console/pools/${poolId}/outbox/00000000-0000-0000-0000-000000000000/retry`,
        { form: { _csrf: await page.locator('input[name="_csrf"]').first().inputValue() } },
      );
      assert.equal(retried.status(), 400);
      assert.match(await retried.text(), /ResourceNotFoundException/);
    } finally {
      await context.close();
    }
  });

  test("the pool page charts the sign-ins and failures made through the SDK", async () => {
    const { poolId, clientId } = await poolWithClient();
    const username = unique("chart");
    const pw = password();
    await idp.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username: username, MessageAction: "SUPPRESS" }));
    await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: username, Password: pw, Permanent: true }));
    const auth = (PASSWORD) =>
      idp.send(
        new InitiateAuthCommand({ ClientId: clientId, AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: username, PASSWORD } }),
      );
    const signedIn = await auth(pw);
    await auth(pw);
    await assert.rejects(auth("wrong-Password1!"), { name: "NotAuthorizedException" });
    // A refresh is not a sign-in.
    await idp.send(
      new InitiateAuthCommand({
        ClientId: clientId,
        AuthFlow: "REFRESH_TOKEN_AUTH",
        AuthParameters: { REFRESH_TOKEN: signedIn.AuthenticationResult.RefreshToken },
      }),
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint, { path: `/console/pools/${poolId}` });
      assert.equal((await page.locator("#total-sign-ins").textContent()).trim(), "2");
      assert.equal((await page.locator("#total-failures").textContent()).trim(), "1");
      assert.equal((await page.locator("#total-lockouts").textContent()).trim(), "0");
      const chart = page.locator("svg#sign-in-chart");
      assert.equal(await chart.count(), 1, "an inline SVG chart");
      assert.equal(await chart.locator("rect.sign-ins").count(), 1, "one hour with sign-ins");
      assert.equal(await chart.locator("rect.failures").count(), 1);
      assert.ok((await chart.boundingBox()).height > 50, "the chart is drawn");
      await page.locator("#metrics-table").evaluate((t) => t.closest("details").setAttribute("open", ""));
      assert.equal(await page.locator("#metrics-table tbody tr").count(), 24);
      await screenshot(page, "console-pool-metrics");
    } finally {
      await context.close();
    }
  });

  test("an operator made with `tessera admin create` signs in, acts under their name, and is shut out once deleted", async () => {
    const name = unique("ops").replace("-", ".");
    const generated = server.cli("admin", "create", name).trim();
    assert.match(generated, /^[A-Za-z0-9_-]{20,}$/, "the password, printed once");
    assert.ok(server.cli("admin", "list").split("\n").some((l) => l.startsWith(`${name}\t`)));
    assert.throws(() => server.cli("admin", "create", name), /exists already/);
    const { poolId } = await poolWithClient();

    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      const wrong = await signIn(page, server.endpoint, { key: name, secret: "not-the-password" });
      assert.equal(wrong.status(), 401);
      await signIn(page, server.endpoint, { key: name, secret: generated, path: `/console/pools/${poolId}/groups` });
      assert.equal(new URL(page.url()).pathname, `/console/pools/${poolId}/groups`);
      assert.equal((await page.locator(".who").textContent()).trim(), name);
      await waitForAudit("console.SignIn", `console:${name}`);
      const group = unique("ops-group");
      await page.fill("#group_name", group);
      await page.getByRole("button", { name: "Create group" }).click();
      await page.locator("#notice").waitFor();
      const got = await idp.send(new GetGroupCommand({ UserPoolId: poolId, GroupName: group }));
      assert.equal(got.Group.GroupName, group);
      await waitForAudit("cognito-idp.CreateGroup", `console:${name}`);
      await screenshot(page, "console-operator");

      // Deleted: the next request asks to sign in again, and the password no longer works.
      server.cli("admin", "delete", name);
      await page.goto(`${server.endpoint}/console/pools/${poolId}/groups`);
      assert.equal(new URL(page.url()).pathname, "/console");
      assert.ok(await page.locator("#secret_access_key").isVisible());
      const after = await signIn(page, server.endpoint, { key: name, secret: generated });
      assert.equal(after.status(), 401);
    } finally {
      await context.close();
    }
  });
});

describe("identity pools, identity providers, branding preview and paging", () => {
  const OPERATOR = `console:${ROOT_ACCESS_KEY_ID}`;

  test("an identity pool's page edits its configuration and roles; the SDK sees both", async () => {
    const ci = new CognitoIdentityClient({
      region: REGION,
      endpoint: server.endpoint,
      credentials: { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const { poolId, clientId } = await poolWithClient();
    const name = unique("ids").replace(/-/g, "_");
    const created = await ci.send(
      new CreateIdentityPoolCommand({ IdentityPoolName: name, AllowUnauthenticatedIdentities: false, DeveloperProviderName: "login.console.test" }),
    );
    const id = created.IdentityPoolId;
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint, { path: "/console/identity-pools" });
      await page.getByRole("link", { name }).click();
      assert.equal(decodeURIComponent(new URL(page.url()).pathname), `/console/identity-pools/${id}`);
      await page.fill("#identity_pool_name", `${name}_edited`);
      await page.check("#allow_unauthenticated");
      await page.fill("#providers", `${poolId} ${clientId}`);
      await page.getByRole("button", { name: "Save identity pool" }).click();
      await page.locator("#notice").waitFor();
      const described = await ci.send(new DescribeIdentityPoolCommand({ IdentityPoolId: id }));
      assert.equal(described.IdentityPoolName, `${name}_edited`);
      assert.equal(described.AllowUnauthenticatedIdentities, true);
      assert.equal(described.DeveloperProviderName, "login.console.test", "kept");
      assert.deepEqual(
        described.CognitoIdentityProviders.map((p) => [p.ProviderName.split("/").pop(), p.ClientId]),
        [[poolId, clientId]],
      );
      await waitForAudit("cognito-identity.UpdateIdentityPool", OPERATOR);

      const auth = "arn:aws:iam::000000000000:role/ConsoleAuth";
      const guest = "arn:aws:iam::000000000000:role/ConsoleGuest";
      await page.fill("#authenticated", auth);
      await page.fill("#unauthenticated", guest);
      await page.getByRole("button", { name: "Save roles" }).click();
      await page.locator("#notice").waitFor();
      const roles = await ci.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: id }));
      assert.deepEqual(roles.Roles, { authenticated: auth, unauthenticated: guest });
      await waitForAudit("cognito-identity.SetIdentityPoolRoles", OPERATOR);
      await screenshot(page, "console-identity-pool");

      // A refused value shows the API's error.
      await page.fill("#authenticated", "not-an-arn");
      await page.getByRole("button", { name: "Save roles" }).click();
      assert.match(await page.locator("#error").textContent(), /Exception/);
    } finally {
      await context.close();
    }
  });

  test("OIDC identity providers are created and deleted (confirmed first) from the pool page", async () => {
    const { poolId } = await poolWithClient();
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint, { path: `/console/pools/${poolId}` });
      await page.fill("#idp_name", "Corp");
      await page.fill("#idp_issuer", "https://login.corp.example");
      await page.fill("#idp_client_id", "console-client");
      await page.fill("#idp_client_secret", "console-secret");
      await page.fill("#idp_mapping", "email=email\nname=preferred_username");
      await page.getByRole("button", { name: "Create identity provider" }).click();
      await page.locator("#notice").waitFor();
      const idpDesc = (await idp.send(new DescribeIdentityProviderCommand({ UserPoolId: poolId, ProviderName: "Corp" }))).IdentityProvider;
      assert.equal(idpDesc.ProviderType, "OIDC");
      assert.equal(idpDesc.ProviderDetails.oidc_issuer, "https://login.corp.example");
      assert.equal(idpDesc.ProviderDetails.authorize_scopes, "openid email profile");
      assert.equal(idpDesc.AttributeMapping.name, "preferred_username");
      assert.ok(!(await page.content()).includes("console-secret"), "the secret is not shown");
      await screenshot(page, "console-identity-providers");

      await page.getByRole("link", { name: "Delete identity provider Corp" }).click();
      assert.match(await page.locator("#confirm-text").textContent(), /Delete the identity provider Corp/);
      await page.getByRole("button", { name: "Delete identity provider" }).click();
      await page.locator("#notice").waitFor();
      const left = await idp.send(new ListIdentityProvidersCommand({ UserPoolId: poolId }));
      assert.equal(left.Providers.length, 0);
      await waitForAudit("cognito-idp.DeleteIdentityProvider", OPERATOR);
    } finally {
      await context.close();
    }
  });

  test("a client's branding preview is the pool's real hosted sign-in page", async () => {
    const pool = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("brand") }))).UserPool;
    const domain = unique("brand").toLowerCase();
    await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: pool.Id, Domain: domain }));
    const client = (
      await idp.send(
        new CreateUserPoolClientCommand({
          UserPoolId: pool.Id,
          ClientName: "web",
          AllowedOAuthFlowsUserPoolClient: true,
          AllowedOAuthFlows: ["code"],
          AllowedOAuthScopes: ["openid"],
          CallbackURLs: ["https://app.example.com/cb"],
          SupportedIdentityProviders: ["COGNITO"],
        }),
      )
    ).UserPoolClient;
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, server.endpoint, { path: `/console/pools/${pool.Id}/clients` });
      const link = page.getByRole("link", { name: "Preview the hosted sign-in page of web" });
      const href = await link.getAttribute("href");
      assert.equal(new URL(href).pathname, `/domain/${domain}/login`);
      assert.equal(new URL(href).searchParams.get("client_id"), client.ClientId);
      const response = await page.goto(href);
      assert.equal(response.status(), 200);
      assert.equal(await page.locator('input[name="password"]').count(), 1, "the sign-in form");
      await screenshot(page, "console-branding-preview");
    } finally {
      await context.close();
    }
  });

  test("the users list goes forward and back through ListUsers pages", async () => {
    const { poolId } = await poolWithClient();
    const names = Array.from({ length: 55 }, (_, i) => `pager-${String(i).padStart(2, "0")}`);
    for (const Username of names) {
      await idp.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username, MessageAction: "SUPPRESS" }));
    }
    const context = await browser.newContext();
    const page = await context.newPage();
    const shown = async () => page.locator("#users tbody a").allTextContents();
    try {
      await signIn(page, server.endpoint, { path: `/console/pools/${poolId}/users` });
      const first = await shown();
      assert.equal(first.length, 25);
      assert.equal(await page.getByRole("link", { name: "Previous page" }).count(), 0, "none on the first page");
      await page.getByRole("link", { name: "Next page" }).click();
      const second = await shown();
      await page.getByRole("link", { name: "Next page" }).click();
      const third = await shown();
      assert.equal(third.length, 5);
      assert.deepEqual([...first, ...second, ...third].sort(), names, "every user once");
      await screenshot(page, "console-users-paging");
      await page.getByRole("link", { name: "Previous page" }).click();
      assert.deepEqual(await shown(), second);
      await page.getByRole("link", { name: "Previous page" }).click();
      assert.deepEqual(await shown(), first);
      assert.equal(await page.getByRole("link", { name: "Previous page" }).count(), 0);
    } finally {
      await context.close();
    }
  });
});

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

describe("console_listen", () => {
  test("serves the console on its own port only; the main port answers 404 for /console", async () => {
    const port = await freePort();
    const own = await startServer({ env: { TESSERA_CONSOLE_LISTEN: `127.0.0.1:${port}` } });
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      for (const path of ["/console", "/console/pools", "/console/console.css"]) {
        const r = await fetch(`${own.endpoint}${path}`, { redirect: "manual" });
        assert.equal(r.status, 404, `${path} on the main listener`);
      }
      const health = await fetch(`${own.endpoint}/health`);
      assert.equal(health.status, 200, "the main listener serves the rest");
      const consoleUrl = `http://127.0.0.1:${port}`;
      const other = await fetch(`${consoleUrl}/health`);
      assert.equal(other.status, 404, "the console's listener serves the console only");
      await signIn(page, consoleUrl);
      await page.getByRole("heading", { name: "Tessera console" }).waitFor();
      await page.getByRole("link", { name: "User pools" }).first().click();
      await page.fill("#pool_name", unique("own-listener"));
      await page.getByRole("button", { name: "Create user pool" }).click();
      await page.locator("#notice").waitFor();
      await screenshot(page, "console-own-listener");
    } finally {
      await context.close();
      await own.stop();
    }
  });
});
