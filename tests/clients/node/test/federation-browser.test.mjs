// Federation in a real browser: Debian's Chromium (playwright-core) signs in to an openid-client
// relying party through a Tessera user pool whose login page offers an external OpenID Connect
// provider, panva's oidc-provider, with its own login and consent forms. Tessera redeems the
// provider's code (client_secret_post), verifies the ID token, reads userinfo, creates the
// federated user as Cognito does (`Corp_<sub>`, EXTERNAL_PROVIDER, `identities`, the
// `<pool>_Corp` group) and hands the relying party its own tokens. The same flow runs through
// Google's endpoint override (`[federation.Google]` in the config file) against the same local
// provider. Screenshots go to tests/clients/node/artifacts/.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdminGetUserCommand,
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";
import { startRelyingParty } from "../lib/relying-party.mjs";
import { reserveIdp } from "../lib/oidc-idp.mjs";

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** A pool with a domain, `provider` registered, and a code-flow client offering it. */
async function federatedPool(idp, rp, { name, type, details }) {
  const pool = await idp.send(new CreateUserPoolCommand({ PoolName: unique("fed") }));
  const poolId = pool.UserPool.Id;
  const domain = unique("fed").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  await idp.send(
    new CreateIdentityProviderCommand({
      UserPoolId: poolId,
      ProviderName: name,
      ProviderType: type,
      ProviderDetails: details,
      AttributeMapping: { email: "email", email_verified: "email_verified", name: "name" },
    }),
  );
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email", "profile"],
      CallbackURLs: [rp.callback],
      SupportedIdentityProviders: ["COGNITO", name],
    }),
  );
  return { poolId, domain, clientId: client.UserPool?.ClientId ?? client.UserPoolClient.ClientId };
}

async function providerLogin(page, login, shot) {
  await page.waitForSelector("input[name=login]");
  if (shot) await screenshot(page, shot);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await page.click("button[type=submit]");
  // The provider's consent page, the first time.
  await page.waitForLoadState();
  if (await page.$("button[autofocus], form button[type=submit]")) {
    if (new URL(page.url()).pathname.startsWith("/interaction/")) await page.click("button[type=submit]");
  }
}

async function signedInClaims(page) {
  await page.waitForSelector("#out");
  assert.equal(await page.title(), "Signed in", await page.textContent("#out"));
  return JSON.parse(await page.textContent("#out"));
}

describe("federated sign-in in Chromium through oidc-provider", () => {
  test("an OIDC provider's user signs in from the login page button", async () => {
    const provider = await reserveIdp();
    const server = await startServer({ args: ["--dev", "--allow-private-oidc"] });
    const rp = await startRelyingParty();
    try {
      const idp = server.client();
      const { poolId, domain, clientId } = await federatedPool(idp, rp, {
        name: "Corp",
        type: "OIDC",
        details: {
          client_id: "tessera",
          client_secret: "provider-secret",
          authorize_scopes: "openid email profile",
          attributes_request_method: "GET",
          oidc_issuer: provider.issuer,
        },
      });
      provider.users.set("alice", { email: "alice@corp.example", email_verified: true, name: "Alice Corp" });
      provider.start({
        clientId: "tessera",
        clientSecret: "provider-secret",
        redirectUris: [`${server.endpoint}/domain/${domain}/oauth2/idpresponse`],
      });
      await rp.connect({ issuer: server.issuer(poolId), clientId });

      const page = await browser.newPage();
      await page.goto(`${rp.base}/login`);
      assert.match(page.url(), new RegExp(`/domain/${domain}/login\\?`));
      await screenshot(page, "federation-login-buttons");
      // And on a phone-sized screen: the button and the form fit without sideways scrolling.
      await page.setViewportSize({ width: 360, height: 740 });
      await screenshot(page, "federation-login-narrow");
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
      await page.setViewportSize({ width: 1280, height: 720 });
      await page.click("#idp-Corp");
      assert.ok(page.url().startsWith(provider.issuer), page.url());
      await providerLogin(page, "alice", "federation-provider-login");
      const { claims, userinfo } = await signedInClaims(page);
      await screenshot(page, "federation-signed-in");

      assert.equal(claims["cognito:username"], "Corp_alice");
      assert.equal(claims.email, "alice@corp.example");
      assert.equal(claims.name, "Alice Corp");
      assert.deepEqual(claims["cognito:groups"], [`${poolId}_Corp`]);
      assert.equal(claims.identities.length, 1);
      const [identity] = claims.identities;
      assert.equal(identity.providerName, "Corp");
      assert.equal(identity.providerType, "OIDC");
      assert.equal(identity.userId, "alice");
      assert.equal(identity.issuer, provider.issuer);
      assert.equal(identity.primary, "true");
      assert.match(identity.dateCreated, /^\d+$/);
      assert.equal(userinfo.email, "alice@corp.example");

      const user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: "Corp_alice" }));
      assert.equal(user.UserStatus, "EXTERNAL_PROVIDER");
      const attrs = Object.fromEntries(user.UserAttributes.map((a) => [a.Name, a.Value]));
      assert.equal(attrs.sub, claims.sub);
      const stored = JSON.parse(attrs.identities);
      assert.equal(stored[0].primary, true);
      assert.equal(typeof stored[0].dateCreated, "number");

      // Mapped attributes are rewritten on the next sign-in; the user (and sub) stay.
      provider.users.set("alice", { email: "alice@corp.example", email_verified: true, name: "Alice Renamed" });
      const again = await browser.newPage();
      await again.goto(`${rp.base}/login?identity_provider=Corp`);
      await providerLogin(again, "alice");
      const second = await signedInClaims(again);
      assert.equal(second.claims.sub, claims.sub);
      assert.equal(second.claims.name, "Alice Renamed");
    } finally {
      await rp.stop();
      await server.stop();
      provider.close();
    }
  });

  test("Google through the [federation.Google] endpoint override", async () => {
    const provider = await reserveIdp();
    const dir = mkdtempSync(join(tmpdir(), "tessera-fed-"));
    const config = join(dir, "tessera.toml");
    writeFileSync(
      config,
      [
        "[federation.Google]",
        `issuer = "${provider.issuer}"`,
        `authorize_url = "${provider.issuer}/auth"`,
        `token_url = "${provider.issuer}/token"`,
        `userinfo_url = "${provider.issuer}/me"`,
        `jwks_uri = "${provider.issuer}/jwks"`,
        "",
      ].join("\n"),
    );
    const server = await startServer({ args: ["--dev", "--allow-private-oidc", "--config", config] });
    const rp = await startRelyingParty();
    try {
      const idp = server.client();
      const { poolId, domain, clientId } = await federatedPool(idp, rp, {
        name: "Google",
        type: "Google",
        details: { client_id: "google-client", client_secret: "google-secret", authorize_scopes: "openid email profile" },
      });
      provider.users.set("10769150350006150715113082367", { email: "gina@gmail.example", email_verified: true, name: "Gina" });
      provider.start({
        clientId: "google-client",
        clientSecret: "google-secret",
        redirectUris: [`${server.endpoint}/domain/${domain}/oauth2/idpresponse`],
      });
      await rp.connect({ issuer: server.issuer(poolId), clientId });
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login?identity_provider=Google`);
      assert.ok(page.url().startsWith(`${provider.issuer}/`), page.url());
      await providerLogin(page, "10769150350006150715113082367");
      const { claims } = await signedInClaims(page);
      assert.equal(claims["cognito:username"], "Google_10769150350006150715113082367");
      assert.equal(claims.identities[0].providerType, "Google");
      assert.equal(claims.email, "gina@gmail.example");
    } finally {
      await rp.stop();
      await server.stop();
      provider.close();
    }
  });
});
