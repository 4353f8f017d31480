// SAML 2.0 federation in a real browser: Debian's Chromium (playwright-core) signs in to an
// openid-client relying party through a Tessera user pool whose login page offers a SAML
// identity provider — a samlify IdP (npm) with its own login form. Tessera sends a signed
// AuthnRequest by the Redirect binding (the IdP checks its signature against the SP metadata
// Tessera publishes at /saml2/metadata), the IdP posts its signed response to
// /saml2/idpresponse, and Tessera creates the federated user as Cognito does (`Corp_<NameID>`,
// EXTERNAL_PROVIDER, `identities` with providerType SAML, the `<pool>_Corp` group) and hands the
// relying party its own tokens. Also: encrypted assertions (EncryptedResponses), IdP-initiated
// sign-in (IDPInit), and single logout (IDPSignout) from /logout. Screenshots go to
// tests/clients/node/artifacts/.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  AdminGetUserCommand,
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  DescribeIdentityProviderCommand,
  DescribeUserPoolCommand,
  GetSigningCertificateCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";
import { startRelyingParty } from "../lib/relying-party.mjs";
import { startSamlIdp } from "../lib/saml-idp.mjs";

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const ALICE = {
  password: "correct horse",
  attributes: { email: "alice@corp.example", name: "Alice Corp", department: ["R&D", "Ops"] },
};

/** A pool with a domain whose SP metadata the IdP has been given, and a SAML provider `Corp`. */
async function samlPool(server, idp, details, callbacks, logoutUrls = []) {
  const client = server.client();
  const poolId = (await client.send(new CreateUserPoolCommand({ PoolName: unique("saml") }))).UserPool.Id;
  const domain = unique("saml").toLowerCase();
  await client.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  const site = `${server.endpoint}/domain/${domain}`;
  const metadata = await (await fetch(`${site}/saml2/metadata`)).text();
  idp.useSp(metadata);
  await client.send(
    new CreateIdentityProviderCommand({
      UserPoolId: poolId,
      ProviderName: "Corp",
      ProviderType: "SAML",
      ProviderDetails: details,
      AttributeMapping: { email: "email", name: "name" },
    }),
  );
  const app = await client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email", "profile"],
      CallbackURLs: callbacks,
      LogoutURLs: logoutUrls.length ? logoutUrls : undefined,
      SupportedIdentityProviders: ["COGNITO", "Corp"],
    }),
  );
  return { client, poolId, domain, site, metadata, clientId: app.UserPoolClient.ClientId };
}

/** A failure with the server's last log lines (the audit line says why a sign-in was refused). */
function withLog(e, server) {
  e.message += `\n--- tessera log ---\n${server.stderrTail()}`;
  return e;
}

async function idpLogin(page, username, password, shot) {
  await page.waitForSelector("input[name=username]");
  if (shot) await screenshot(page, shot);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
}

async function signedInClaims(page) {
  await page.waitForSelector("#out", { timeout: 15000 }).catch(async (e) => {
    throw new Error(`not signed in at ${page.url()}: ${(await page.textContent("body").catch(() => "")).slice(0, 500)}`, { cause: e });
  });
  assert.equal(await page.title(), "Signed in", await page.textContent("#out"));
  return JSON.parse(await page.textContent("#out"));
}

describe("SAML federation in Chromium through a samlify IdP", () => {
  test("SP-initiated from the login page button, with signed AuthnRequests", async () => {
    const idp = await startSamlIdp({ users: new Map([["alice", ALICE]]), wantSignedRequests: true });
    const server = await startServer({ args: ["--dev", "--allow-private-oidc"] });
    const rp = await startRelyingParty();
    try {
      const { client, poolId, domain, metadata, clientId } = await samlPool(
        server,
        idp,
        { MetadataURL: `${idp.base}/metadata`, RequestSigningAlgorithm: "rsa-sha256", IDPSignout: "true" },
        [rp.callback],
        [rp.signedOut],
      );
      // The SP metadata names Cognito's entity id and carries GetSigningCertificate's certificate.
      assert.match(metadata, new RegExp(`entityID="urn:amazon:cognito:sp:${poolId}"`));
      const { Certificate } = await client.send(new GetSigningCertificateCommand({ UserPoolId: poolId }));
      assert.ok(Certificate.length > 500);
      assert.ok(metadata.replace(/\s/g, "").includes(Certificate), "metadata carries the signing certificate");
      // Describe shows what was read from the IdP's metadata.
      const described = (await client.send(new DescribeIdentityProviderCommand({ UserPoolId: poolId, ProviderName: "Corp" })))
        .IdentityProvider;
      assert.equal(described.ProviderDetails.SSORedirectBindingURI, `${idp.base}/sso`);
      assert.equal(described.ProviderDetails.SLORedirectBindingURI, `${idp.base}/slo`);
      assert.equal(described.ProviderDetails.MetadataURL, `${idp.base}/metadata`);

      await rp.connect({ issuer: server.issuer(poolId), clientId });
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login`);
      assert.match(page.url(), new RegExp(`/domain/${domain}/login\\?`));
      await screenshot(page, "saml-login-buttons");
      await page.click("#idp-Corp");
      assert.ok(page.url().startsWith(`${idp.base}/sso?`), page.url());
      // A wrong password is the IdP's business: its own form says so, Tessera hears nothing.
      await idpLogin(page, "alice", "wrong", "saml-idp-login");
      await page.waitForSelector("#error");
      await idpLogin(page, "alice", ALICE.password);
      const { claims } = await signedInClaims(page);
      await screenshot(page, "saml-signed-in");

      assert.equal(idp.state.requests.length, 1);
      assert.equal(idp.state.requests[0].signed, true, "the AuthnRequest was signed");
      assert.equal(claims["cognito:username"], "Corp_alice");
      assert.equal(claims.email, "alice@corp.example");
      assert.equal(claims.name, "Alice Corp");
      assert.deepEqual(claims["cognito:groups"], [`${poolId}_Corp`]);
      const [identity] = claims.identities;
      assert.equal(identity.providerName, "Corp");
      assert.equal(identity.providerType, "SAML");
      assert.equal(identity.userId, "alice");
      assert.equal(identity.issuer, idp.entityId);

      const user = await client.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: "Corp_alice" }));
      assert.equal(user.UserStatus, "EXTERNAL_PROVIDER");

      // Mapped attributes are rewritten on the next sign-in; user and sub stay.
      idp.users.set("alice", { ...ALICE, attributes: { ...ALICE.attributes, name: "Alice Renamed" } });
      const again = await browser.newPage();
      await again.goto(`${rp.base}/login?identity_provider=Corp`);
      await idpLogin(again, "alice", ALICE.password);
      const second = await signedInClaims(again);
      assert.equal(second.claims.sub, claims.sub);
      assert.equal(second.claims.name, "Alice Renamed");

      // Single logout (IDPSignout): /logout sends a signed LogoutRequest naming alice's NameID
      // and session to the IdP, whose signed LogoutResponse comes back to /saml2/logout, and on
      // to the app's logout URL. The hosted session is gone: the next sign-in asks again.
      await again.goto(`${rp.base}/logout`);
      await again.waitForURL(`${rp.signedOut}**`);
      assert.equal(await again.title(), "Signed out");
      assert.equal(idp.state.logouts.length, 1);
      assert.deepEqual(idp.state.logouts[0], { nameId: "alice", sessionIndex: "_session-2", signed: true });
      await again.goto(`${rp.base}/login?identity_provider=Corp`);
      await again.waitForSelector("input[name=username]");
      assert.ok(again.url().startsWith(`${idp.base}/sso?`));
    } catch (e) {
      throw withLog(e, server);
    } finally {
      await rp.stop();
      await server.stop();
      await idp.close();
    }
  });

  test("encrypted assertions (EncryptedResponses) from a MetadataFile", async () => {
    const idp = await startSamlIdp({ users: new Map([["bob", { ...ALICE, attributes: { email: "bob@corp.example" } }]]), encrypt: true });
    const server = await startServer({ args: ["--dev"] });
    const rp = await startRelyingParty();
    try {
      const { client, poolId, clientId } = await samlPool(
        server,
        idp,
        { MetadataFile: idp.metadata(), EncryptedResponses: "true" },
        [rp.callback],
      );
      const described = (await client.send(new DescribeIdentityProviderCommand({ UserPoolId: poolId, ProviderName: "Corp" })))
        .IdentityProvider;
      assert.ok(described.ProviderDetails.ActiveEncryptionCertificate.length > 500);
      await rp.connect({ issuer: server.issuer(poolId), clientId });
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login?identity_provider=Corp`);
      await idpLogin(page, "bob", ALICE.password);
      const { claims } = await signedInClaims(page);
      assert.equal(claims["cognito:username"], "Corp_bob");
      assert.equal(claims.email, "bob@corp.example");

      // A response that doesn't verify (here: the same assertion, unencrypted and unsigned)
      // gets Tessera's error page in the browser, never a user.
      const { site } = { site: `${server.endpoint}/domain/${(await client.send(new DescribeUserPoolCommand({ UserPoolId: poolId }))).UserPool.Domain}` };
      const forged = Buffer.from("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_x\" Version=\"2.0\"/>").toString("base64");
      const refused = await browser.newPage();
      await refused.setContent(
        `<form method="post" action="${site}/saml2/idpresponse"><input name="SAMLResponse" value="${forged}"><input name="RelayState" value="made-up"></form>`,
      );
      await Promise.all([refused.waitForNavigation(), refused.evaluate(() => document.forms[0].submit())]);
      assert.match(await refused.textContent("body"), /Sign-in with .* failed: the response does not answer a sign-in in progress/);
      await screenshot(refused, "saml-refused");
    } catch (e) {
      throw withLog(e, server);
    } finally {
      await rp.stop();
      await server.stop();
      await idp.close();
    }
  });

  test("IdP-initiated sign-in (IDPInit) lands at the app with a code", async () => {
    const idp = await startSamlIdp({ users: new Map([["carol", { ...ALICE, attributes: { email: "carol@corp.example" } }]]) });
    const server = await startServer({ args: ["--dev"] });
    // The app's callback: a bare server that records where the browser landed.
    let landed = null;
    const app = createServer((req, res) => {
      const url = new URL(req.url, "http://127.0.0.1");
      if (url.pathname === "/idp-init-callback") landed = url; // not the browser's favicon fetch
      res.end("landed");
    });
    await new Promise((r) => app.listen(0, "127.0.0.1", r));
    const callback = `http://127.0.0.1:${app.address().port}/idp-init-callback`;
    try {
      const { site, clientId } = await samlPool(server, idp, { MetadataFile: idp.metadata(), IDPInit: "true" }, [callback]);
      const page = await browser.newPage();
      const relay = new URLSearchParams({
        client_id: clientId,
        redirect_uri: callback,
        response_type: "code",
        scope: "openid email",
        state: "from-the-idp",
      }).toString();
      await page.goto(idp.initUrl(relay));
      await idpLogin(page, "carol", ALICE.password, "saml-idp-initiated-login");
      await page.waitForURL(`${callback}**`);
      assert.equal(landed.searchParams.get("state"), "from-the-idp");
      const code = landed.searchParams.get("code");
      assert.ok(code);
      const tokens = await (
        await fetch(`${site}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, code, redirect_uri: callback }),
        })
      ).json();
      const claims = JSON.parse(Buffer.from(tokens.id_token.split(".")[1], "base64url"));
      assert.equal(claims["cognito:username"], "Corp_carol");
      assert.equal(claims.email, "carol@corp.example");
    } catch (e) {
      throw withLog(e, server);
    } finally {
      app.close();
      await server.stop();
      await idp.close();
    }
  });
});
