// SAML responses that must be refused, each with an error page, an audit line naming the reason,
// and no user: a tampered signature, signature wrapping (a signed Response or Assertion moved
// aside for an unsigned one), a wrong audience or destination, an expired or not-yet-valid
// assertion, a response to another request, an unsigned response, one signed by a key that is
// not in the provider's metadata (its certificate in the message's KeyInfo), a replayed
// assertion, a failure status, a DOCTYPE, an oversized form. The responses are made by samlify
// (npm) with the IdP's real key and then changed as an attacker would; the browser is plain fetch
// with manual redirects.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import * as samlify from "samlify";
import {
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  ListUsersCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { startSamlIdp } from "../lib/saml-idp.mjs";

const CALLBACK = "http://127.0.0.1:9/cb";

let server;
let idp;
let stranger; // another IdP: its own key, claiming to be `idp`
let pool;

const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s) => Buffer.from(s, "base64").toString("utf8");

before(async () => {
  const users = new Map([
    ["alice", { password: "pw", attributes: { email: "alice@corp.example" } }],
    ["mallory", { password: "pw", attributes: { email: "mallory@corp.example" } }],
  ]);
  idp = await startSamlIdp({ users });
  stranger = await startSamlIdp({ users });
  server = await startServer({ args: ["--dev"] });
  const client = server.client();
  const poolId = (await client.send(new CreateUserPoolCommand({ PoolName: unique("samlref") }))).UserPool.Id;
  const domain = unique("samlref").toLowerCase();
  await client.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  const site = `${server.endpoint}/domain/${domain}`;
  const metadata = await (await fetch(`${site}/saml2/metadata`)).text();
  idp.useSp(metadata);
  stranger.useSp(metadata);
  await client.send(
    new CreateIdentityProviderCommand({
      UserPoolId: poolId,
      ProviderName: "Corp",
      ProviderType: "SAML",
      ProviderDetails: { MetadataFile: idp.metadata(), IDPInit: "true" },
      AttributeMapping: { email: "email" },
    }),
  );
  const app = await client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid"],
      CallbackURLs: [CALLBACK],
      SupportedIdentityProviders: ["Corp"],
    }),
  );
  // The same SP as the IdP sees it, but asking for signed Assertions (samlify then signs the
  // Assertion instead of the Response): the Assertion-level wrapping case needs one.
  const assertionSigningSp = samlify.ServiceProvider({
    metadata: metadata.replace('WantAssertionsSigned="false"', 'WantAssertionsSigned="true"'),
  });
  pool = { client, poolId, site, clientId: app.UserPoolClient.ClientId, metadata, assertionSigningSp };
});

after(async () => {
  await server?.stop();
  await idp?.close();
  await stranger?.close();
});

/** Starts an SP-initiated sign-in: the RelayState Tessera sent and the AuthnRequest's ID. */
async function begin() {
  const q = new URLSearchParams({
    client_id: pool.clientId,
    redirect_uri: CALLBACK,
    response_type: "code",
    scope: "openid",
    identity_provider: "Corp",
  });
  const res = await fetch(`${pool.site}/oauth2/authorize?${q}`, { redirect: "manual" });
  assert.equal(res.status, 302);
  const to = new URL(res.headers.get("location"));
  assert.equal(`${to.origin}${to.pathname}`, `${idp.base}/sso`);
  const request = inflateRawSync(Buffer.from(to.searchParams.get("SAMLRequest"), "base64")).toString("utf8");
  return { relayState: to.searchParams.get("RelayState"), requestId: /\sID="([^"]+)"/.exec(request)[1] };
}

async function post(samlResponse, relayState) {
  const form = { SAMLResponse: samlResponse };
  if (relayState !== undefined) form.RelayState = relayState;
  const res = await fetch(`${pool.site}/saml2/idpresponse`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, location: res.headers.get("location"), body: await res.text() };
}

/** The answer is an error page, and the audit log names `reason` (SHOW_REFUSALS=1 prints each). */
function assertRefused(res, reason) {
  const log = server.stderrTail();
  assert.equal(res.status, 400, `${res.status} ${res.location ?? ""}\n${log}`);
  assert.equal(res.location, null);
  assert.match(res.body, /Sign-in with .* failed/);
  const lines = log.split("\n").filter((l) => l.includes("federated_sign_in_refused"));
  assert.ok(lines.length, log);
  if (process.env.SHOW_REFUSALS) console.log("REFUSAL", lines.at(-1).replace(/\x1b\[[0-9;]*m/g, "").split("audit ")[1]);
  assert.ok(lines.at(-1).includes(reason), `expected "${reason}" in the last refusal:\n${lines.at(-1)}`);
}

/** A valid SP-initiated response, as the IdP would send it. */
async function answer(login = "alice", options = {}) {
  const { relayState, requestId } = await begin();
  const made = await idp.response(login, { inResponseTo: requestId, ...options });
  return { ...made, relayState, requestId, xml: unb64(made.samlResponse) };
}

const minutes = (n) => new Date(Date.now() + n * 60000).toISOString();

describe("SAML responses Tessera refuses", () => {
  test("control: an untouched response signs alice in", async () => {
    const a = await answer("alice");
    const res = await post(a.samlResponse, a.relayState);
    assert.equal(res.status, 302, res.body.slice(0, 300));
    assert.ok(res.location.startsWith(`${CALLBACK}?code=`), res.location);
  });

  test("a tampered signed response (NameID changed after signing)", async () => {
    const a = await answer("mallory");
    const tampered = a.xml.replace(">mallory</saml:NameID>", ">alice</saml:NameID>");
    assert.notEqual(tampered, a.xml);
    assertRefused(await post(b64(tampered), a.relayState), "bad or missing signature");
  });

  test("an unsigned response", async () => {
    const a = await answer("mallory");
    const unsigned = a.xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, "");
    assert.ok(!unsigned.includes("Signature"));
    assertRefused(await post(b64(unsigned), a.relayState), "bad or missing signature");
  });

  test("signature wrapping: the signed Response moved aside for an unsigned one", async () => {
    const a = await answer("alice");
    // A new root Response (new ID) with mallory's assertion; the genuine signed Response rides
    // along inside Extensions, where its signature still verifies against its own ID.
    const evilAssertion = a.xml
      .match(/<saml:Assertion[\s\S]*<\/saml:Assertion>/)[0]
      .replace(">alice</saml:NameID>", ">mallory</saml:NameID>")
      .replace(/ID="[^"]+"/, 'ID="_evil-assertion"');
    const genuine = a.xml.replace(/^<\?xml[^>]*>/, "");
    const wrapped = a.xml
      .replace(/ ID="[^"]+"/, ' ID="_evil-response"')
      .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, "")
      .replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, evilAssertion)
      .replace("<samlp:Status>", `<samlp:Extensions>${genuine}</samlp:Extensions><samlp:Status>`);
    assertRefused(await post(b64(wrapped), a.relayState), "bad or missing signature");
  });

  test("signature wrapping: a signed Assertion moved behind an unsigned one", async () => {
    const a = await answer("alice", { sp: pool.assertionSigningSp });
    assert.match(a.xml, /<saml:Assertion[^>]*>[\s\S]*<ds:Signature/, "samlify signed the Assertion");
    const signedAssertion = a.xml.match(/<saml:Assertion[\s\S]*<\/saml:Assertion>/)[0];
    const evil = signedAssertion
      .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, "")
      .replace(">alice</saml:NameID>", ">mallory</saml:NameID>")
      .replace(/ID="[^"]+"/, 'ID="_evil-assertion"');
    const wrapped = a.xml.replace(signedAssertion, evil + signedAssertion);
    assertRefused(await post(b64(wrapped), a.relayState), "bad or missing signature");
  });

  test("a response signed by a key that isn't in the provider's metadata", async () => {
    const { relayState, requestId } = await begin();
    // The stranger's key signs and its certificate travels in the message's KeyInfo, naming
    // the real IdP as issuer: only the metadata's certificate may verify.
    const forged = await stranger.response("mallory", { inResponseTo: requestId, overrides: { Issuer: idp.entityId } });
    assert.ok(unb64(forged.samlResponse).includes("X509Certificate"));
    assertRefused(await post(forged.samlResponse, relayState), "bad or missing signature");
  });

  test("a wrong audience", async () => {
    const a = await answer("mallory", { overrides: { Audience: "urn:amazon:cognito:sp:us-east-1_someoneElse" } });
    assertRefused(await post(a.samlResponse, a.relayState), "wrong audience");
  });

  test("a wrong destination and recipient", async () => {
    const elsewhere = "http://127.0.0.1:9/domain/other/saml2/idpresponse";
    const a = await answer("mallory", { overrides: { Destination: elsewhere, Recipient: elsewhere } });
    assertRefused(await post(a.samlResponse, a.relayState), "wrong destination");
  });

  test("an expired assertion, and one not yet valid", async () => {
    const old = await answer("mallory", {
      overrides: { IssueInstant: minutes(-20), NotBefore: minutes(-20), NotOnOrAfter: minutes(-10), SubjectNotOnOrAfter: minutes(-10) },
    });
    assertRefused(await post(old.samlResponse, old.relayState), "expired or not yet valid");
    const early = await answer("mallory", { overrides: { NotBefore: minutes(10) } });
    assertRefused(await post(early.samlResponse, early.relayState), "expired or not yet valid");
  });

  test("a response to another AuthnRequest (InResponseTo)", async () => {
    const other = await begin();
    const a = await answer("mallory", { inResponseTo: other.requestId });
    assertRefused(await post(a.samlResponse, a.relayState), "does not answer our request");
  });

  test("a replayed assertion: IdP-initiated twice, and an SP-initiated answer posted again", async () => {
    const relay = new URLSearchParams({ client_id: pool.clientId, redirect_uri: CALLBACK, response_type: "code", scope: "openid" });
    const unsolicited = await idp.response("alice", { inResponseTo: null });
    const first = await post(unsolicited.samlResponse, relay.toString());
    assert.equal(first.status, 302, first.body.slice(0, 300));
    assertRefused(await post(unsolicited.samlResponse, relay.toString()), "already used");
    const a = await answer("alice");
    assert.equal((await post(a.samlResponse, a.relayState)).status, 302);
    assertRefused(await post(a.samlResponse, a.relayState), "does not answer a sign-in in progress");
    // The same answer without its RelayState, as if unsolicited: it names a request, so no.
    assertRefused(await post(a.samlResponse), "does not answer our request");
  });

  test("a failure status, a DOCTYPE, an oversized form, no response at all", async () => {
    const failed = await answer("mallory", { overrides: { StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Requester" } });
    assertRefused(await post(failed.samlResponse, failed.relayState), "reported a failure");
    const a = await answer("mallory");
    const doctype = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${a.xml.replace(/^<\?xml[^>]*>/, "")}`;
    assertRefused(await post(b64(doctype), a.relayState), "not acceptable SAML");
    const b = await begin();
    assertRefused(await post("A".repeat(200_000), b.relayState), "not acceptable SAML");
    assertRefused(await post("", undefined), "no SAMLResponse");
  });

  test("no refused response made a user", async () => {
    const users = await pool.client.send(new ListUsersCommand({ UserPoolId: pool.poolId }));
    assert.deepEqual(
      users.Users.map((u) => u.Username),
      ["Corp_alice"],
    );
  });
});
