// Federated sign-ins that must fail, each with an error page and no user: an ID token with a
// wrong nonce, audience or issuer, an expired one, one signed with an algorithm outside
// RS256/ES256, a provider answer replayed or carried to another browser (no binding cookie), and
// a provider on a private address when the operator hasn't allowed it. The provider is
// oauth2-mock-server on 127.0.0.1, whose tokens are tampered with through its beforeTokenSigning
// hook; the browser is plain fetch with manual redirects (each hop checked).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { OAuth2Server } from "oauth2-mock-server";
import {
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  ListUsersCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";

const CALLBACK = "http://127.0.0.1:9/cb";
const PROVIDER_CLIENT = "tessera-at-mock";

let server;
let mock;
let edwards;
let tamper = null;

async function mockProvider(alg) {
  const s = new OAuth2Server();
  await s.issuer.keys.generate(alg);
  await s.start(0, "127.0.0.1");
  s.issuer.url = `http://127.0.0.1:${s.address().port}`;
  s.service.on("beforeTokenSigning", (token) => tamper?.(token.payload));
  return s;
}

/** A pool with a domain, the given providers (name → issuer) and a client offering them. */
async function pool(srv, providers) {
  const idp = srv.client();
  const poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("refuse") }))).UserPool.Id;
  const domain = unique("refuse").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  for (const [name, issuer] of Object.entries(providers)) {
    await idp.send(
      new CreateIdentityProviderCommand({
        UserPoolId: poolId,
        ProviderName: name,
        ProviderType: "OIDC",
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
async function signIn(srv, p, provider, { sendCookie = true } = {}) {
  const q = new URLSearchParams({
    client_id: p.clientId,
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid",
    identity_provider: provider,
    state: "app-state",
  });
  const start = await fetch(`${srv.endpoint}/domain/${p.domain}/oauth2/authorize?${q}`, { redirect: "manual" });
  if (start.status !== 302) return { status: start.status, body: await start.text() };
  const cookie = start.headers.get("set-cookie").split(";")[0];
  assert.match(cookie, /^tessera-federation=/);
  const atProvider = await fetch(start.headers.get("location"), { redirect: "manual" });
  assert.equal(atProvider.status, 302);
  const back = atProvider.headers.get("location");
  assert.ok(back.startsWith(`${srv.endpoint}/domain/${p.domain}/oauth2/idpresponse?`), back);
  const headers = sendCookie ? { cookie } : {};
  const r = await fetch(back, { redirect: "manual", headers });
  return { status: r.status, location: r.headers.get("location"), body: await r.text(), back, cookie };
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
      ["another audience", (t) => t.aud && (t.aud = "someone-else"), /Audience/],
      ["another issuer", (t) => (t.iss = "https://evil.example"), /Issuer/],
      ["an expired token", (t) => (t.exp = Math.floor(Date.now() / 1000) - 3600), /Expired/],
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
    assert.match(eddsa.body, /ID token rejected \(Malformed\)/);

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
