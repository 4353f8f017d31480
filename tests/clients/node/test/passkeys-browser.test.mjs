// Passkeys on the hosted UI in a real browser: Debian's Chromium (playwright-core) with a virtual
// authenticator from the DevTools protocol's WebAuthn domain (a CTAP2 platform authenticator with
// user verification, real P-256 keys held by the browser). A user signs in with their password,
// adds a passkey at /passkeys/add, and signs in with it at /login in a fresh browser context; the
// code the app gets is exchanged at the token endpoint and the passkey is seen through the SDK
// (ListWebAuthnCredentials). WebAuthn needs a domain for its relying-party id (not an IP), so the
// pages are opened at http://localhost:{port} with RelyingPartyId "localhost" and that origin in
// TESSERA_WEBAUTHN_ORIGINS. Screenshots: artifacts/passkey-*.png.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  ListWebAuthnCredentialsCommand,
  SetUserPoolMfaConfigCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique, password } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";

let CALLBACK; // the app: a page on 127.0.0.1 that only says "app"
let app;
let server;
let idp;
let browser;
let site; // http://localhost:{port}

async function freePort() {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

before(async () => {
  app = createHttpServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>App</title><p>app</p>");
  });
  await new Promise((r) => app.listen(0, "127.0.0.1", r));
  CALLBACK = `http://127.0.0.1:${app.address().port}/callback`;
  const port = await freePort();
  site = `http://localhost:${port}`;
  server = await startServer({ port, env: { TESSERA_WEBAUTHN_ORIGINS: site } });
  idp = server.client();
  browser = await launch();
});

after(async () => {
  app?.close();
  await browser?.close();
  await server?.stop();
});

async function passkeyPool({ factors = ["PASSWORD", "WEB_AUTHN"] } = {}) {
  const pool = await idp.send(
    new CreateUserPoolCommand({
      PoolName: unique("pk"),
      Policies: { SignInPolicy: { AllowedFirstAuthFactors: factors } },
    }),
  );
  const poolId = pool.UserPool.Id;
  if (factors.includes("WEB_AUTHN")) {
    await idp.send(
      new SetUserPoolMfaConfigCommand({
        UserPoolId: poolId,
        WebAuthnConfiguration: { RelyingPartyId: "localhost", UserVerification: "required" },
      }),
    );
  }
  const domain = unique("pk").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "aws.cognito.signin.user.admin"],
      CallbackURLs: [CALLBACK],
      SupportedIdentityProviders: ["COGNITO"],
    }),
  );
  const username = unique("pia");
  const pw = password();
  await idp.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username: username, MessageAction: "SUPPRESS" }));
  await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: username, Password: pw, Permanent: true }));
  return { poolId, domain, clientId: client.UserPoolClient.ClientId, username, pw };
}

/** A browser context with a virtual platform authenticator. */
async function contextWithAuthenticator() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

function authorizeUrl(p) {
  const q = new URLSearchParams({ response_type: "code", client_id: p.clientId, redirect_uri: CALLBACK, scope: "openid aws.cognito.signin.user.admin" });
  return `${site}/domain/${p.domain}/oauth2/authorize?${q}`;
}

/** The code in the app's callback URL, exchanged at the token endpoint. */
async function exchange(p, url) {
  const code = new URL(url).searchParams.get("code");
  assert.ok(code, `no code in ${url}`);
  const res = await fetch(`${server.endpoint}/domain/${p.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: p.clientId, code, redirect_uri: CALLBACK }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const tokens = await res.json();
  const claims = JSON.parse(Buffer.from(tokens.id_token.split(".")[1], "base64url").toString());
  return { tokens, claims };
}

describe("passkeys on the hosted UI in Chromium with a virtual authenticator", () => {
  test("add a passkey after a password sign-in, then sign in with it alone", async () => {
    const p = await passkeyPool();
    const first = await contextWithAuthenticator();
    try {
      // 1. A password sign-in leaves the hosted session /passkeys/add needs.
      await first.page.goto(authorizeUrl(p));
      await first.page.fill("#username", p.username);
      await first.page.fill("#password", p.pw);
      await screenshot(first.page, "passkey-login");
      await first.page.click("button[name=signin]");
      await first.page.waitForURL(`${CALLBACK}*`);
      const { claims: byPassword } = await exchange(p, first.page.url());

      // 2. Add a passkey: the browser's authenticator makes a credential the server verifies.
      const add = new URLSearchParams({ client_id: p.clientId, redirect_uri: CALLBACK });
      const addPage = await first.page.goto(`${site}/domain/${p.domain}/passkeys/add?${add}`);
      // The passkey pages allow their one script by nonce; no other page allows any.
      assert.match(addPage.headers()["content-security-policy"], /script-src 'nonce-[^']+';/);
      await first.page.waitForSelector("#passkey-create:not([disabled])");
      await screenshot(first.page, "passkey-add");
      await first.page.click("#passkey-create");
      await first.page.waitForURL(`${CALLBACK}*`);
      const held = await first.cdp.send("WebAuthn.getCredentials", { authenticatorId: first.authenticatorId });
      assert.equal(held.credentials.length, 1);
      assert.equal(held.credentials[0].rpId, "localhost");

      // The passkey is the user's, through the API too.
      const { tokens } = await exchange(p, await signInAgain(first.page, p));
      const listed = await idp.send(new ListWebAuthnCredentialsCommand({ AccessToken: tokens.access_token }));
      assert.equal(listed.Credentials.length, 1);
      assert.equal(listed.Credentials[0].RelyingPartyId, "localhost");
      assert.equal(
        Buffer.from(listed.Credentials[0].CredentialId, "base64url").toString("base64url"),
        Buffer.from(held.credentials[0].credentialId, "base64").toString("base64url"),
      );

      // 3. A new browser session (no hosted cookie) holding the same authenticator's credential:
      //    the passkey alone signs in.
      const second = await contextWithAuthenticator();
      try {
        await second.cdp.send("WebAuthn.addCredential", {
          authenticatorId: second.authenticatorId,
          credential: { ...held.credentials[0] },
        });
        await second.page.goto(authorizeUrl(p));
        await second.page.fill("#username", p.username);
        await second.page.click("#passkey-sign-in");
        await second.page.waitForSelector("#passkey-get:not([disabled])");
        await screenshot(second.page, "passkey-sign-in");
        await second.page.click("#passkey-get");
        await second.page.waitForURL(`${CALLBACK}*`);
        const { claims } = await exchange(p, second.page.url());
        assert.equal(claims.sub, byPassword.sub);
        assert.equal(claims["cognito:username"], p.username);
        // The authenticator's counter moved forward (the server checks it does).
        const after = await second.cdp.send("WebAuthn.getCredentials", { authenticatorId: second.authenticatorId });
        assert.ok(after.credentials[0].signCount >= 1);
      } finally {
        await second.context.close();
      }
    } finally {
      await first.context.close();
    }
  });

  test("without a passkey, or without a session, the pages say so or send you to sign in", async () => {
    const p = await passkeyPool();
    const { context, page } = await contextWithAuthenticator();
    try {
      // /passkeys/add without a hosted session goes to sign in first.
      const add = new URLSearchParams({ client_id: p.clientId, redirect_uri: CALLBACK });
      await page.goto(`${site}/domain/${p.domain}/passkeys/add?${add}`);
      assert.match(page.url(), /\/login\?/);
      // A user with no passkey asked for one (the client shows which users exist).
      await page.fill("#username", p.username);
      await page.click("#passkey-sign-in");
      await page.waitForSelector("#error");
      assert.match(await page.textContent("#error"), /isn't available for this user/);
      // A redirect URI the client didn't register is refused, never followed.
      const bad = new URLSearchParams({ client_id: p.clientId, redirect_uri: "https://evil.example/cb" });
      const res = await page.goto(`${site}/domain/${p.domain}/passkeys/add?${bad}`);
      assert.equal(res.status(), 400);
    } finally {
      await context.close();
    }
    // A pool that doesn't allow passkeys shows no passkey button.
    const plain = await passkeyPool({ factors: ["PASSWORD"] });
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    const login = await pg.goto(authorizeUrl(plain));
    assert.doesNotMatch(login.headers()["content-security-policy"], /script-src/);
    await pg.waitForSelector("#password");
    assert.equal(await pg.locator("#passkey-sign-in").count(), 0);
    await ctx.close();
  });
});

/** With the hosted session cookie, authorize answers at once with a new code. */
async function signInAgain(page, p) {
  await page.goto(authorizeUrl(p));
  await page.waitForURL(`${CALLBACK}*`);
  return page.url();
}
