// Terms documents on the hosted sign-up page, in Chromium: with both a terms-of-use and a
// privacy-policy document (CreateTerms through aws-sdk-js-v3), the page links to them in its
// language, falling back to cognito:default; with only one, it shows none. Screenshot:
// artifacts/signup-terms.png.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  CreateTermsCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  DeleteTermsCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";

let server;
let idp;
let browser;

before(async () => {
  server = await startServer({ args: ["--dev"] });
  idp = server.client();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const CALLBACK = "https://app.example.com/callback";

async function poolWithClient() {
  const pool = await idp.send(new CreateUserPoolCommand({ PoolName: unique("terms"), AutoVerifiedAttributes: ["email"] }));
  const poolId = pool.UserPool.Id;
  const domain = unique("terms").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email"],
      CallbackURLs: [CALLBACK],
      SupportedIdentityProviders: ["COGNITO"],
    }),
  );
  return { poolId, domain, clientId: client.UserPoolClient.ClientId };
}

function terms(poolId, clientId, name, links) {
  return idp.send(
    new CreateTermsCommand({
      UserPoolId: poolId,
      ClientId: clientId,
      TermsName: name,
      TermsSource: "LINK",
      Enforcement: "NONE",
      Links: links,
    }),
  );
}

function signupUrl(domain, clientId, lang) {
  const q = new URLSearchParams({ client_id: clientId, response_type: "code", redirect_uri: CALLBACK, scope: "openid email" });
  if (lang) q.set("lang", lang);
  return `${server.endpoint}/domain/${domain}/signup?${q}`;
}

describe("terms on the hosted sign-up page", () => {
  test("both documents are linked, in the page's language or the default", async () => {
    const { poolId, domain, clientId } = await poolWithClient();
    const tos = await terms(poolId, clientId, "terms-of-use", {
      "cognito:default": "https://example.com/terms",
      "cognito:german": "https://example.com/de/agb",
    });
    const page = await browser.newPage();
    // Only one document: no links yet (Cognito shows them once both exist).
    await page.goto(signupUrl(domain, clientId));
    assert.equal(await page.locator("#terms").count(), 0);

    await terms(poolId, clientId, "privacy-policy", { "cognito:default": "https://example.com/privacy" });
    await page.goto(signupUrl(domain, clientId));
    const notice = page.locator("#terms");
    await notice.waitFor();
    assert.match(await notice.textContent(), /By signing up, you agree to the Terms of use and the Privacy policy\./);
    assert.equal(await page.getByRole("link", { name: "Terms of use" }).getAttribute("href"), "https://example.com/terms");
    assert.equal(await page.getByRole("link", { name: "Privacy policy" }).getAttribute("href"), "https://example.com/privacy");
    await screenshot(page, "signup-terms");

    // German: its own terms of use, the default privacy policy.
    await page.goto(signupUrl(domain, clientId, "de"));
    await page.locator("#terms").waitFor();
    assert.equal(await page.getByRole("link", { name: "Nutzungsbedingungen" }).getAttribute("href"), "https://example.com/de/agb");
    assert.equal(await page.getByRole("link", { name: "Datenschutzerklärung" }).getAttribute("href"), "https://example.com/privacy");
    await screenshot(page, "signup-terms-de");

    // Deleting one document takes the links away again.
    await idp.send(new DeleteTermsCommand({ UserPoolId: poolId, TermsId: tos.Terms.TermsId }));
    await page.goto(signupUrl(domain, clientId));
    await page.locator("#username").waitFor();
    assert.equal(await page.locator("#terms").count(), 0);
    await page.close();
  });
});
