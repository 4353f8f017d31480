// Signing-key rotation as aws-jwt-verify sees it: a verifier holding a cached JWKS keeps
// verifying every token across `tessera keys rotate` runs (another process, same store, while the
// server runs), and after the first rotation the key that signs next is already in its cache.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { startServer, unique, password } from "../lib/server.mjs";

let server;
let idp;
let poolId;
let clientId;
let user;
let fetches = 0;

// aws-jwt-verify's default fetcher only speaks https; this one uses Node's fetch and counts the
// JWKS downloads. Caching and kid selection are the library's own.
const countingFetcher = {
  async fetch(uri) {
    fetches += 1;
    const res = await fetch(uri);
    if (res.status !== 200) throw new Error(`GET ${uri}: ${res.status}`);
    return await res.arrayBuffer();
  },
};

const kid = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString()).kid;

async function signIn() {
  const out = await idp.send(
    new InitiateAuthCommand({
      ClientId: clientId,
      AuthFlow: "USER_PASSWORD_AUTH",
      AuthParameters: { USERNAME: user.username, PASSWORD: user.pw },
    }),
  );
  return out.AuthenticationResult;
}

// Servers re-read their keys every few seconds: sign in until the tokens carry `kids`.
async function signInWith(kids) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const tokens = await signIn();
    const got = new Set([kid(tokens.IdToken), kid(tokens.AccessToken)]);
    if ([...kids].every((k) => got.has(k))) return tokens;
    if (Date.now() > deadline) throw new Error(`tokens still signed with ${[...got]}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function rotate() {
  const keys = server
    .cli("keys", "rotate", "--pool", poolId)
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const state = (s) => new Set(keys.filter((k) => k.state === s).map((k) => k.kid));
  return { active: state("active"), next: state("next"), retired: state("retired") };
}

before(async () => {
  server = await startServer();
  idp = server.client();
  poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("rotation") }))).UserPool.Id;
  clientId = (
    await idp.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolId,
        ClientName: "rotation",
        ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      }),
    )
  ).UserPoolClient.ClientId;
  user = { username: unique("rot"), pw: password() };
  await idp.send(
    new SignUpCommand({
      ClientId: clientId,
      Username: user.username,
      Password: user.pw,
      UserAttributes: [{ Name: "email", Value: `${user.username}@example.com` }],
    }),
  );
  await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: poolId, Username: user.username }));
});

after(async () => {
  idp?.destroy();
  await server?.stop();
});

test("aws-jwt-verify with a cached JWKS verifies every token across rotations", async () => {
  const issuer = server.issuer(poolId);
  const cache = new SimpleJwksCache({ fetcher: countingFetcher });
  const verifier = (tokenUse) =>
    JwtRsaVerifier.create(
      { issuer, audience: tokenUse === "id" ? clientId : null, jwksUri: `${issuer}/.well-known/jwks.json` },
      { jwksCache: cache },
    );
  const verifyBoth = async (tokens) => {
    assert.equal((await verifier("id").verify(tokens.IdToken))["cognito:username"], user.username);
    assert.equal((await verifier("access").verify(tokens.AccessToken)).username, user.username);
  };

  const first = await signIn();
  await verifyBoth(first);
  assert.equal(fetches, 1);

  // A fresh pool has no next key: the first rotation signs with new keys at once (the verifier
  // fetches the JWKS again for the unknown kid) and publishes next keys beside them.
  const one = rotate();
  assert.equal(one.active.size, 2);
  assert.equal(one.next.size, 2);
  assert.deepEqual(one.retired, new Set([kid(first.IdToken), kid(first.AccessToken)]));
  const second = await signInWith(one.active);
  await verifyBoth(second);
  await verifyBoth(first);
  const afterFirstRotation = fetches;
  assert.ok(afterFirstRotation <= 2, `fetches: ${fetches}`);

  // From now on the key that signs next is in the verifier's cache before it signs.
  const two = rotate();
  assert.deepEqual(two.active, one.next);
  const third = await signInWith(one.next);
  for (const tokens of [first, second, third]) await verifyBoth(tokens);
  assert.equal(fetches, afterFirstRotation, "no download was needed for the rotated keys");
});
