// Federated sign-ins that must fail, each with an error page and no user: an ID token with a
// wrong nonce, audience or issuer, an expired one, one signed with an algorithm outside
// RS256/ES256, a provider answer replayed or carried to another browser (no binding cookie), and
// a provider on a private address when the operator hasn't allowed it. The provider is
// oauth2-mock-server on 127.0.0.1, whose tokens are tampered with through its beforeTokenSigning
// hook; the browser is plain fetch with manual redirects (each hop checked). Also linking: a
// provider's user asserting a native user's email gets a user of its own, and only
// AdminLinkProviderForUser joins a provider identity to a native user (with Cognito's refusals),
// until AdminDisableProviderForUser takes the link away.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { OAuth2Server } from "oauth2-mock-server";
import {
  AdminCreateUserCommand,
  AdminDisableProviderForUserCommand,
  AdminGetUserCommand,
  AdminLinkProviderForUserCommand,
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  DescribeUserPoolCommand,
  ListUsersCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { startLambdaHost, arn } from "../lib/lambda-host.mjs";

const CALLBACK = "http://127.0.0.1:9/cb";
const PROVIDER_CLIENT = "tessera-at-mock";

let server;
let mock;
let edwards;
let tamper = null;
let subject = null; // the userinfo subject, when a test changes the ID token's

async function mockProvider(alg) {
  const s = new OAuth2Server();
  await s.issuer.keys.generate(alg);
  await s.start(0, "127.0.0.1");
  s.issuer.url = `http://127.0.0.1:${s.address().port}`;
  s.service.on("beforeTokenSigning", (token) => tamper?.(token.payload));
  s.service.on("beforeUserinfo", (response) => {
    if (subject) response.body.sub = subject;
  });
  return s;
}

/** A pool with a domain, the given providers (name → issuer) and a client offering them. */
async function pool(srv, providers, LambdaConfig = undefined) {
  const idp = srv.client();
  const poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("refuse"), LambdaConfig }))).UserPool.Id;
  const domain = unique("refuse").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  for (const [name, issuer] of Object.entries(providers)) {
    await idp.send(
      new CreateIdentityProviderCommand({
        UserPoolId: poolId,
        ProviderName: name,
        ProviderType: "OIDC",
        AttributeMapping: { email: "email" },
        ProviderDetails: {
          client_id: PROVIDER_CLIENT,
          client_secret: "mock-secret",
          authorize_scopes: "openid",
          attributes_request_method: "GET",
          oidc_issuer: issuer,
        },
      }),
    );
  }
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid"],
      CallbackURLs: [CALLBACK],
      SupportedIdentityProviders: ["COGNITO", ...Object.keys(providers)],
    }),
  );
  return { idp, poolId, domain, clientId: client.UserPoolClient.ClientId };
}

/** Authorize → provider → back at /oauth2/idpresponse; returns what the last hop answered. */
async function signIn(srv, p, provider, { sendCookie = true, extra = {} } = {}) {
  const q = new URLSearchParams({
    client_id: p.clientId,
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid",
    identity_provider: provider,
    state: "app-state",
    ...extra,
  });
  const start = await fetch(`${srv.endpoint}/domain/${p.domain}/oauth2/authorize?${q}`, { redirect: "manual" });
  if (start.status !== 302) return { status: start.status, body: await start.text() };
  const cookie = start.headers.get("set-cookie").split(";")[0];
  assert.match(cookie, /^tessera-federation=/);
  const authorizeUrl = new URL(start.headers.get("location"));
  const atProvider = await fetch(authorizeUrl, { redirect: "manual" });
  assert.equal(atProvider.status, 302);
  const back = atProvider.headers.get("location");
  assert.ok(back.startsWith(`${srv.endpoint}/domain/${p.domain}/oauth2/idpresponse?`), back);
  const headers = sendCookie ? { cookie } : {};
  const r = await fetch(back, { redirect: "manual", headers });
  return { status: r.status, location: r.headers.get("location"), body: await r.text(), back, cookie, authorizeUrl };
}

before(async () => {
  mock = await mockProvider("RS256");
  edwards = await mockProvider("EdDSA");
  server = await startServer({ args: ["--dev", "--allow-private-oidc"] });
});

after(async () => {
  await server?.stop();
  await mock?.stop();
  await edwards?.stop();
});

describe("federated sign-ins that are refused", () => {
  test("bad ID tokens and unbound answers leave an error page and no user", async () => {
    const p = await pool(server, { Mock: mock.issuer.url, Edwards: edwards.issuer.url });
    const refusals = [
      ["a wrong nonce", (t) => (t.nonce = "forged-nonce"), /nonce/],
      ["another audience", (t) => t.aud && (t.aud = "someone-else"), /wrong audience/],
      ["another issuer", (t) => (t.iss = "https://evil.example"), /wrong issuer/],
      ["an expired token", (t) => (t.exp = Math.floor(Date.now() / 1000) - 3600), /expired/],
    ];
    for (const [what, change, reason] of refusals) {
      tamper = change;
      try {
        const r = await signIn(server, p, "Mock");
        assert.equal(r.status, 400, `${what}: ${r.status} ${r.location}`);
        assert.match(r.body, /Sign-in with Mock failed/, what);
        assert.match(r.body, reason, what);
      } finally {
        tamper = null;
      }
    }
    const eddsa = await signIn(server, p, "Edwards");
    assert.equal(eddsa.status, 400);
    assert.match(eddsa.body, /ID token rejected \(not an acceptable token\)/);
    // The detail is for the operator's log; the page names no verifier internals.
    assert.doesNotMatch(eddsa.body, /Malformed|EdDSA|\{ now/);

    // The provider's answer in a browser that didn't start the sign-in.
    const unbound = await signIn(server, p, "Mock", { sendCookie: false });
    assert.equal(unbound.status, 400);
    assert.match(unbound.body, /does not belong to a sign-in started in this browser/);

    const users = await p.idp.send(new ListUsersCommand({ UserPoolId: p.poolId }));
    assert.deepEqual(users.Users, []);

    // The same provider untampered signs in; its answer can't be used twice.
    const ok = await signIn(server, p, "Mock");
    assert.equal(ok.status, 302, ok.body);
    const to = new URL(ok.location);
    assert.equal(`${to.origin}${to.pathname}`, CALLBACK);
    assert.equal(to.searchParams.get("state"), "app-state");
    assert.ok(to.searchParams.get("code"));
    const replay = await fetch(ok.back, { redirect: "manual", headers: { cookie: ok.cookie } });
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /unknown or expired state/);
    const after = await p.idp.send(new ListUsersCommand({ UserPoolId: p.poolId }));
    assert.deepEqual(after.Users.map((u) => [u.Username, u.UserStatus]), [["Mock_johndoe", "EXTERNAL_PROVIDER"]]);
  });

  test("a provider on a private address is refused unless the operator allows it", async () => {
    const guarded = await startServer({ args: ["--dev"] });
    try {
      const p = await pool(guarded, { Mock: mock.issuer.url, Loopback: "https://127.0.0.1:9" });
      const plain = await signIn(guarded, p, "Mock");
      assert.equal(plain.status, 400);
      assert.match(plain.body, /not an https URL/);
      const loopback = await signIn(guarded, p, "Loopback");
      assert.equal(loopback.status, 400);
      assert.match(loopback.body, /refusing internal address/);
    } finally {
      await guarded.stop();
    }
  });
});

/** The ID token a code from the callback redeems for (public client: no secret). */
async function idTokenClaims(srv, p, location) {
  const code = new URL(location).searchParams.get("code");
  const r = await fetch(`${srv.endpoint}/domain/${p.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: CALLBACK, client_id: p.clientId }),
  });
  assert.equal(r.status, 200);
  const { id_token } = await r.json();
  return JSON.parse(Buffer.from(id_token.split(".")[1], "base64url").toString());
}

async function rejects(promise, name, message) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe("linking provider identities to users", () => {
  test("an email never merges accounts; AdminLinkProviderForUser does, until disabled", async () => {
    const p = await pool(server, { Mock: mock.issuer.url });
    const nina = "nina";
    await p.idp.send(
      new AdminCreateUserCommand({
        UserPoolId: p.poolId,
        Username: nina,
        MessageAction: "SUPPRESS",
        UserAttributes: [{ Name: "email", Value: "nina@example.com" }, { Name: "email_verified", Value: "true" }],
      }),
    );
    const ninaSub = (await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: nina })))
      .UserAttributes.find((a) => a.Name === "sub").Value;

    // "eve" at the provider claims nina's address: she gets a user of her own.
    tamper = (t) => Object.assign(t, { sub: "eve", email: "nina@example.com" });
    subject = "eve";
    try {
      const eve = await signIn(server, p, "Mock");
      assert.equal(eve.status, 302, eve.body);
      const claims = await idTokenClaims(server, p, eve.location);
      assert.equal(claims["cognito:username"], "Mock_eve");
      assert.notEqual(claims.sub, ninaSub);
    } finally {
      tamper = null;
      subject = null;
    }

    const link = (destination, source) =>
      p.idp.send(new AdminLinkProviderForUserCommand({ UserPoolId: p.poolId, DestinationUser: destination, SourceUser: source }));
    const native = { ProviderName: "Cognito", ProviderAttributeValue: nina };
    const johndoe = { ProviderName: "Mock", ProviderAttributeName: "Cognito_Subject", ProviderAttributeValue: "johndoe" };
    await rejects(
      link(native, { ...johndoe, ProviderAttributeValue: "eve" }),
      "InvalidParameterException",
      /Merging is not currently supported/,
    );
    await rejects(link({ ProviderName: "Cognito", ProviderAttributeValue: "Mock_eve" }, johndoe), "InvalidParameterException");
    await rejects(link(native, { ...johndoe, ProviderName: "Cognito" }), "InvalidParameterException");
    await rejects(link(native, { ...johndoe, ProviderAttributeName: "email" }), "InvalidParameterException", /Cognito_Subject/);
    await rejects(link(native, { ...johndoe, ProviderName: "Nobody" }), "InvalidParameterException", /does not exist/);
    await rejects(link({ ProviderName: "Cognito", ProviderAttributeValue: "ghost" }, johndoe), "UserNotFoundException");

    await link(native, johndoe);
    await rejects(link(native, johndoe), "AliasExistsException");
    const linked = await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: nina }));
    const identities = JSON.parse(linked.UserAttributes.find((a) => a.Name === "identities").Value);
    assert.deepEqual(
      identities.map((i) => [i.providerName, i.userId, i.primary]),
      [["Mock", "johndoe", false]],
    );
    assert.equal(linked.UserStatus, "FORCE_CHANGE_PASSWORD");

    // johndoe now signs in as nina.
    const asNina = await signIn(server, p, "Mock");
    assert.equal(asNina.status, 302, asNina.body);
    let claims = await idTokenClaims(server, p, asNina.location);
    assert.equal(claims.sub, ninaSub);
    assert.equal(claims["cognito:username"], nina);

    // Unlinked, johndoe's next sign-in makes a user of its own.
    await p.idp.send(new AdminDisableProviderForUserCommand({ UserPoolId: p.poolId, User: johndoe }));
    const own = await signIn(server, p, "Mock");
    claims = await idTokenClaims(server, p, own.location);
    assert.equal(claims["cognito:username"], "Mock_johndoe");
    assert.notEqual(claims.sub, ninaSub);
    const after = await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: nina }));
    assert.equal(after.UserAttributes.find((a) => a.Name === "identities"), undefined);

    // Disabling a provider identity that signed in on its own disables that user.
    await p.idp.send(new AdminDisableProviderForUserCommand({ UserPoolId: p.poolId, User: johndoe }));
    const refused = await signIn(server, p, "Mock");
    assert.equal(refused.status, 400);
    assert.match(refused.body, /User is disabled/);
  });
});

describe("the pool's functions on federated sign-in", () => {
  test("PreSignUp_ExternalProvider may refuse; PostConfirmation, PostAuthentication and PreTokenGeneration run", async () => {
    const functions = await startLambdaHost();
    const srv = await startServer({ args: ["--dev", "--allow-private-oidc", ...functions.serverArgs()] });
    try {
      const p = await pool(
        srv,
        { Mock: mock.issuer.url },
        {
          PreSignUp: arn("pre-sign-up"),
          PostAuthentication: arn("post-authentication"),
          PreTokenGeneration: arn("pre-token-generation"),
        },
      );
      // pre-sign-up.mjs refuses addresses at blocked.test.
      tamper = (t) => Object.assign(t, { sub: "blocky", email: "blocky@blocked.test" });
      subject = "blocky";
      try {
        const blocked = await signIn(srv, p, "Mock");
        assert.equal(blocked.status, 400);
        assert.match(blocked.body, /Registration from this domain is not allowed/);
      } finally {
        tamper = null;
        subject = null;
      }
      assert.deepEqual((await p.idp.send(new ListUsersCommand({ UserPoolId: p.poolId }))).Users, []);

      const first = await signIn(srv, p, "Mock");
      assert.equal(first.status, 302, first.body);
      const claims = await idTokenClaims(srv, p, first.location);
      assert.equal(claims.signed_in_by, "TokenGeneration_HostedAuth");
      assert.equal(claims.tenant, "acme");
      await signIn(srv, p, "Mock");

      const signUps = functions.events("pre-sign-up", p.poolId);
      assert.deepEqual(signUps.map((e) => [e.triggerSource, e.userName]), [
        ["PreSignUp_ExternalProvider", "Mock_blocky"],
        ["PreSignUp_ExternalProvider", "Mock_johndoe"],
      ]);
      assert.ok(JSON.parse(signUps[1].request.userAttributes.identities)[0].providerName === "Mock");
      const auths = functions.events("post-authentication", p.poolId);
      assert.deepEqual(auths.map((e) => e.triggerSource), [
        "PostAuthentication_Authentication",
        "PostAuthentication_Authentication",
      ]);
    } finally {
      await srv.stop();
      await functions.stop();
    }
  });

  test("InboundFederation rewrites the mapped attributes; login_hint and prompt=login reach the provider", async () => {
    const functions = await startLambdaHost();
    const srv = await startServer({ args: ["--dev", "--allow-private-oidc", ...functions.serverArgs()] });
    try {
      const p = await pool(srv, { Mock: mock.issuer.url }, { InboundFederation: { LambdaVersion: "V1_0", LambdaArn: arn("inbound-federation") } });
      const described = await p.idp.send(new DescribeUserPoolCommand({ UserPoolId: p.poolId }));
      assert.equal(described.UserPool.LambdaConfig.InboundFederation.LambdaArn, arn("inbound-federation"));
      tamper = (t) => Object.assign(t, { sub: "inbound1", email: "Mixed.Case@Example.TEST" });
      subject = "inbound1";
      let first;
      try {
        first = await signIn(srv, p, "Mock", { extra: { login_hint: "mixed.case@example.test", prompt: "login" } });
      } finally {
        tamper = null;
        subject = null;
      }
      assert.equal(first.status, 302, first.body);
      assert.equal(first.authorizeUrl.searchParams.get("login_hint"), "mixed.case@example.test");
      assert.equal(first.authorizeUrl.searchParams.get("prompt"), "login");
      const [event] = functions.events("inbound-federation", p.poolId);
      assert.equal(event.triggerSource, "InboundFederation_ExternalProvider");
      assert.equal(event.userName, "Mock_inbound1");
      assert.equal(event.request.providerName, "Mock");
      assert.equal(event.request.providerType, "OIDC");
      assert.equal(event.request.attributes.idToken.sub, "inbound1");
      assert.equal(event.request.attributes.idToken.iss, mock.issuer.url);
      assert.equal(event.request.attributes.userInfo.sub, "inbound1");
      // The token response is shown without the tokens themselves.
      assert.equal(event.request.attributes.tokenResponse.token_type, "Bearer");
      assert.equal(event.request.attributes.tokenResponse.access_token, undefined);
      assert.equal(event.request.attributes.tokenResponse.id_token, undefined);
      const user = await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: "Mock_inbound1" }));
      const attrs = Object.fromEntries(user.UserAttributes.map((a) => [a.Name, a.Value]));
      assert.equal(attrs.email, "mixed.case@example.test");
      assert.equal(attrs.nickname, "via-Mock-OIDC");
      assert.equal(attrs["custom:not_in_schema"], undefined);
    } finally {
      await srv.stop();
      await functions.stop();
    }
  });
});
