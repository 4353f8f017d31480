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
  GetGroupCommand,
  InitiateAuthCommand,
  AdminSetUserPasswordCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique, password, ROOT_ACCESS_KEY_ID } from "../lib/server.mjs";
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
