// Sign in with Apple and Facebook through their endpoint overrides (`[federation.<Type>]`),
// against stand-ins on 127.0.0.1 that check what Tessera sends as the real providers do:
//  - Apple: the authorize request asks for `response_mode=form_post`; the answer comes back as a
//    cross-site form POST (code, state and the once-only `user` JSON) to /oauth2/idpresponse; the
//    token request's client_secret must be an ES256 JWT signed with the registered private key
//    (kid = key_id, iss = team_id, sub = the services id, aud = Apple's issuer, short-lived);
//    the ID token is RS256, checked against Apple's key set, with the nonce Tessera sent.
//  - Facebook: the token endpoint is called with GET (its token_request_method), the profile
//    read from the Graph API's /me with the access token.
// The browser is fetch with manual redirects, each hop checked.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync, sign, verify, randomUUID } from "node:crypto";
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

const CALLBACK = "http://127.0.0.1:9/cb";
const b64url = (b) => Buffer.from(b).toString("base64url");
const json64 = (s) => JSON.parse(Buffer.from(s, "base64url").toString());
/** An attribute value as a browser reads it (the page's templates escape `&`, `/`, `=` …). */
const decodeEntities = (s) =>
  s.replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCharCode(parseInt(h, 16))).replaceAll("&amp;", "&");

/** The stand-ins for appleid.apple.com and graph.facebook.com, on one port. */
async function startProviders() {
  const apple = generateKeyPairSync("ec", { namedCurve: "P-256" }); // the developer's .p8 key
  const signing = generateKeyPairSync("rsa", { modulusLength: 2048 }); // Apple's ID-token key
  const codes = new Map(); // code -> { nonce, sub, client_id }
  const seen = { authorize: [], tokenRequests: [], secrets: [], fbToken: [], fbMe: [] };
  let base;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, base);
    const body = await new Promise((ok) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => ok(data));
    });
    const answer = (status, obj) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname === "/apple/auth/authorize") {
      seen.authorize.push(Object.fromEntries(url.searchParams));
      const code = randomUUID();
      codes.set(code, { nonce: url.searchParams.get("nonce"), sub: "001234.apple.0001", client_id: url.searchParams.get("client_id") });
      // Apple's form_post: a page that POSTs these fields to redirect_uri (the test submits it).
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ action: url.searchParams.get("redirect_uri"), code, state: url.searchParams.get("state") }));
    }
    if (url.pathname === "/apple/auth/token" && req.method === "POST") {
      const form = Object.fromEntries(new URLSearchParams(body));
      seen.tokenRequests.push(form);
      const [h, c, s] = form.client_secret.split(".");
      const header = json64(h);
      const claims = json64(c);
      seen.secrets.push({ header, claims });
      const good = verify("sha256", Buffer.from(`${h}.${c}`), { key: apple.publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
      const now = Math.floor(Date.now() / 1000);
      if (!good || header.alg !== "ES256" || header.kid !== "KEY123ABCD" || claims.iss !== "TEAM123456"
          || claims.sub !== form.client_id || claims.aud !== `${base}/apple` || !(claims.exp > now && claims.exp - claims.iat <= 15777000)) {
        return answer(400, { error: "invalid_client" });
      }
      const grant = codes.get(form.code);
      codes.delete(form.code);
      if (!grant) return answer(400, { error: "invalid_grant" });
      const idClaims = { iss: `${base}/apple`, aud: grant.client_id, sub: grant.sub, nonce: grant.nonce, email: "fan@privaterelay.example",
        email_verified: "true", iat: now, exp: now + 600 };
      const idHeader = { alg: "RS256", kid: "apple-1" };
      const input = `${b64url(JSON.stringify(idHeader))}.${b64url(JSON.stringify(idClaims))}`;
      const idToken = `${input}.${b64url(sign("sha256", Buffer.from(input), signing.privateKey))}`;
      return answer(200, { access_token: "a.apple", token_type: "Bearer", expires_in: 3600, refresh_token: "r.apple", id_token: idToken });
    }
    if (url.pathname === "/apple/auth/keys") {
      const jwk = signing.publicKey.export({ format: "jwk" });
      return answer(200, { keys: [{ ...jwk, kid: "apple-1", alg: "RS256", use: "sig" }] });
    }
    if (url.pathname === "/fb/v17.0/dialog/oauth") {
      const code = randomUUID();
      codes.set(code, { sub: "10150000000000042" });
      res.writeHead(302, { location: `${url.searchParams.get("redirect_uri")}?code=${code}&state=${url.searchParams.get("state")}` });
      return res.end();
    }
    if (url.pathname === "/fb/v17.0/oauth/access_token") {
      seen.fbToken.push({ method: req.method, params: Object.fromEntries(url.searchParams) });
      if (req.method !== "GET" || url.searchParams.get("client_secret") !== "fb-secret") return answer(400, { error: { message: "bad" } });
      const grant = codes.get(url.searchParams.get("code"));
      if (!grant) return answer(400, { error: { message: "code" } });
      return answer(200, { access_token: `fb.${grant.sub}`, token_type: "bearer", expires_in: 5183944 });
    }
    if (url.pathname === "/fb/v17.0/me") {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      seen.fbMe.push(token);
      if (!token.startsWith("fb.")) return answer(400, { error: { message: "token" } });
      return answer(200, { id: token.slice(3), name: "Fay Book", email: "fay@facebook.example" });
    }
    answer(404, {});
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${server.address().port}`;
  const privatePem = apple.privateKey.export({ format: "pem", type: "pkcs8" });
  return { base, seen, privatePem, close: () => server.close() };
}

let providers;
let server;

before(async () => {
  providers = await startProviders();
  const dir = mkdtempSync(join(tmpdir(), "tessera-social-"));
  const config = join(dir, "tessera.toml");
  const b = providers.base;
  writeFileSync(config, [
    "[federation.SignInWithApple]",
    `issuer = "${b}/apple"`,
    `authorize_url = "${b}/apple/auth/authorize"`,
    `token_url = "${b}/apple/auth/token"`,
    `jwks_uri = "${b}/apple/auth/keys"`,
    "[federation.Facebook]",
    `authorize_url = "${b}/fb/v17.0/dialog/oauth"`,
    `token_url = "${b}/fb/v17.0/oauth/access_token"`,
    `userinfo_url = "${b}/fb/v17.0/me?fields="`,
    "",
  ].join("\n"));
  server = await startServer({ args: ["--dev", "--allow-private-oidc", "--config", config] });
});

after(async () => {
  await server?.stop();
  providers?.close();
});

async function socialPool(name, type, details, mapping) {
  const idp = server.client();
  const poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("social") }))).UserPool.Id;
  const domain = unique("social").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  await idp.send(new CreateIdentityProviderCommand({ UserPoolId: poolId, ProviderName: name, ProviderType: type, ProviderDetails: details, AttributeMapping: mapping }));
  const client = await idp.send(new CreateUserPoolClientCommand({
    UserPoolId: poolId, ClientName: "web", AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ["code"],
    AllowedOAuthScopes: ["openid"], CallbackURLs: [CALLBACK], SupportedIdentityProviders: [name],
  }));
  return { idp, poolId, domain, clientId: client.UserPoolClient.ClientId };
}

function authorizeUrl(p, provider) {
  const q = new URLSearchParams({ client_id: p.clientId, response_type: "code", redirect_uri: CALLBACK, scope: "openid", identity_provider: provider, state: "app" });
  return `${server.endpoint}/domain/${p.domain}/oauth2/authorize?${q}`;
}

describe("social providers through their endpoint overrides", () => {
  test("Sign in with Apple: form_post answer, ES256 client secret, the name from the posted user", async () => {
    const p = await socialPool("SignInWithApple", "SignInWithApple", {
      client_id: "com.example.web", team_id: "TEAM123456", key_id: "KEY123ABCD", private_key: providers.privatePem, authorize_scopes: "email name",
    }, { email: "email", name: "name", given_name: "firstName" });
    const start = await fetch(authorizeUrl(p, "SignInWithApple"), { redirect: "manual" });
    assert.equal(start.status, 302, await start.text());
    const cookie = start.headers.get("set-cookie").split(";")[0];
    const toApple = new URL(start.headers.get("location"));
    assert.equal(toApple.origin + toApple.pathname, `${providers.base}/apple/auth/authorize`);
    assert.equal(toApple.searchParams.get("response_mode"), "form_post");
    assert.equal(toApple.searchParams.get("scope"), "email name");
    const atApple = await (await fetch(toApple)).json();
    assert.equal(atApple.action, `${server.endpoint}/domain/${p.domain}/oauth2/idpresponse`);
    // Apple's form post is cross-site: the browser sends no cookie with it.
    const user = JSON.stringify({ name: { firstName: "Fan", lastName: "Apple" }, email: "fan@privaterelay.example" });
    const posted = await fetch(atApple.action, {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ code: atApple.code, state: atApple.state, user }),
    });
    assert.equal(posted.status, 200);
    const page = await posted.text();
    const next = decodeEntities(page.match(/url=([^"]+)"/)[1]);
    assert.ok(next.startsWith(`${atApple.action}?`), next);
    // The page's own navigation is same-site: the binding cookie comes along.
    const back = await fetch(next, { redirect: "manual", headers: { cookie } });
    assert.equal(back.status, 302, (await back.text()).match(/<p[^>]*>([^<]*failed[^<]*)</)?.[1]);
    assert.ok(back.headers.get("location").startsWith(`${CALLBACK}?code=`));
    const [secret] = providers.seen.secrets;
    assert.equal(secret.header.alg, "ES256");
    assert.equal(secret.claims.sub, "com.example.web");
    const got = await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: "SignInWithApple_001234.apple.0001" }));
    const attrs = Object.fromEntries(got.UserAttributes.map((a) => [a.Name, a.Value]));
    assert.equal(got.UserStatus, "EXTERNAL_PROVIDER");
    assert.equal(attrs.email, "fan@privaterelay.example");
    assert.equal(attrs.name, "Fan Apple");
    assert.equal(attrs.given_name, "Fan");

    // The same post without a cookie-carrying follow-up is refused: the answer is bound to
    // the browser that started the sign-in.
    const replay = await fetch(next, { redirect: "manual" });
    assert.equal(replay.status, 400);
  });

  test("Facebook: the token endpoint is called with GET, the profile read from /me", async () => {
    const p = await socialPool("Facebook", "Facebook", {
      client_id: "1900000000000001", client_secret: "fb-secret", authorize_scopes: "public_profile, email", api_version: "v17.0",
    }, { email: "email", name: "name" });
    const start = await fetch(authorizeUrl(p, "Facebook"), { redirect: "manual" });
    const cookie = start.headers.get("set-cookie").split(";")[0];
    const atFb = await fetch(start.headers.get("location"), { redirect: "manual" });
    assert.equal(atFb.status, 302);
    const back = await fetch(atFb.headers.get("location"), { redirect: "manual", headers: { cookie } });
    assert.equal(back.status, 302, await back.text());
    assert.deepEqual(providers.seen.fbToken.map((t) => [t.method, t.params.client_id, t.params.grant_type]), [["GET", "1900000000000001", "authorization_code"]]);
    assert.deepEqual(providers.seen.fbMe, ["fb.10150000000000042"]);
    const got = await p.idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: "Facebook_10150000000000042" }));
    const attrs = Object.fromEntries(got.UserAttributes.map((a) => [a.Name, a.Value]));
    assert.equal(attrs.email, "fay@facebook.example");
    assert.equal(attrs.name, "Fay Book");
  });
});
