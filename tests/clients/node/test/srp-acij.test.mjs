// USER_SRP_AUTH with amazon-cognito-identity-js, the client under Amplify-style apps, against
// the real Tessera binary. The library is pointed at the server with its `endpoint` option and
// runs unmodified: its own SRP maths, request shapes, error mapping and in-memory token storage.
// It has no client-secret support, so every app client here is public.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminUpdateUserAttributesCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  GetUserCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from "amazon-cognito-identity-js";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { startServer, unique, password } from "../lib/server.mjs";

const SRP_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
const INCORRECT = "Incorrect username or password.";

// aws-jwt-verify's default fetcher only speaks https (see cognito.test.mjs).
const httpFetcher = {
  async fetch(uri) {
    const res = await fetch(uri);
    if (res.status !== 200) throw new Error(`GET ${uri}: ${res.status}`);
    return await res.arrayBuffer();
  },
};

let server;
let idp;
const pools = {};

async function makePool(extra = {}, clientExtra = {}) {
  const poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("acij"), ...extra }))).UserPool.Id;
  const client = async (more = {}) =>
    (
      await idp.send(
        new CreateUserPoolClientCommand({
          UserPoolId: poolId,
          ClientName: unique("acij"),
          ExplicitAuthFlows: SRP_FLOWS,
          ...clientExtra,
          ...more,
        }),
      )
    ).UserPoolClient;
  const legacy = await client();
  return {
    poolId,
    client: legacy,
    enabledClient: await client({ PreventUserExistenceErrors: "ENABLED" }),
    // The library's view of the pool: what an app configures.
    pool: (c = legacy) => new CognitoUserPool({ UserPoolId: poolId, ClientId: c.ClientId, endpoint: `${server.endpoint}/` }),
  };
}

async function signUpConfirmed(p, attrs = {}, username = unique("acij")) {
  const pw = password();
  const out = await idp.send(
    new SignUpCommand({
      ClientId: p.client.ClientId,
      Username: username,
      Password: pw,
      UserAttributes: Object.entries({ email: `${username}@example.com`, ...attrs }).map(([Name, Value]) => ({ Name, Value })),
    }),
  );
  await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: p.poolId, Username: username }));
  return { username, pw, sub: out.UserSub };
}

/** authenticateUser as a promise: {user, session} on success, {user, newPasswordRequired} for
 * that challenge; rejects with what onFailure got. */
function signIn(userPool, username, pw) {
  const user = new CognitoUser({ Username: username, Pool: userPool });
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: pw }), {
      onSuccess: (session) => resolve({ user, session }),
      onFailure: reject,
      newPasswordRequired: (userAttributes, requiredAttributes) =>
        resolve({ user, newPasswordRequired: { userAttributes, requiredAttributes } }),
    });
  });
}

/** Node-style callback → promise. */
const call = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));

/** The error acij hands to onFailure: an Error whose code and name are the Cognito error type. */
async function expectFailure(promise, code, message) {
  const err = await promise.then(
    (ok) => assert.fail(`expected ${code}, got success ${JSON.stringify(Object.keys(ok))}`),
    (e) => e,
  );
  assert.ok(err instanceof Error, String(err));
  assert.equal(err.code, code, `${err.code}: ${err.message}`);
  assert.equal(err.name, code);
  assert.equal(err.message, message);
  return err;
}

const verifier = (poolId, audience, tokenUse) =>
  JwtRsaVerifier.create(
    {
      issuer: server.issuer(poolId),
      audience,
      jwksUri: `${server.issuer(poolId)}/.well-known/jwks.json`,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== tokenUse) throw new Error(`token_use is ${payload.token_use}, not ${tokenUse}`);
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher: httpFetcher }) },
  );

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  server = await startServer();
  idp = server.client();
  pools.plain = await makePool();
  pools.alias = await makePool({ AliasAttributes: ["email", "preferred_username"] });
  pools.email = await makePool({ UsernameAttributes: ["email"] });
});

after(async () => {
  idp?.destroy();
  await server?.stop();
});

describe("amazon-cognito-identity-js: SRP sign-in", () => {
  test("sign in; the tokens verify against the JWKS and are usable", async () => {
    const p = pools.plain;
    const { username, pw, sub } = await signUpConfirmed(p, { name: "Ada" });
    const userPool = p.pool();
    const { user, session } = await signIn(userPool, username, pw);
    assert.equal(user.getUsername(), username);
    assert.ok(session.isValid());

    const id = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(id.iss, server.issuer(p.poolId));
    assert.equal(id["cognito:username"], username);
    assert.equal(id.sub, sub);
    assert.equal(id.name, "Ada");
    const access = await verifier(p.poolId, null, "access").verify(session.getAccessToken().getJwtToken());
    assert.equal(access.client_id, p.client.ClientId);
    assert.equal(access.username, username);
    // The library's own decoding of the same tokens.
    assert.equal(session.getIdToken().decodePayload()["cognito:username"], username);
    assert.equal(session.getAccessToken().decodePayload().username, username);

    const attrs = Object.fromEntries((await call((cb) => user.getUserAttributes(cb))).map((a) => [a.getName(), a.getValue()]));
    assert.equal(attrs.sub, sub);
    assert.equal(attrs.email, `${username}@example.com`);
    assert.equal(attrs.name, "Ada");
  });

  test("getSession from storage, refreshSession, changePassword, globalSignOut", async () => {
    const p = pools.plain;
    const { username, pw } = await signUpConfirmed(p);
    const userPool = p.pool();
    const { session: first } = await signIn(userPool, username, pw);

    // An app restart: the user and the session come back from the library's storage.
    const current = userPool.getCurrentUser();
    assert.equal(current.getUsername(), username);
    const restored = await call((cb) => current.getSession(cb));
    assert.ok(restored.isValid());
    assert.equal(restored.getAccessToken().getJwtToken(), first.getAccessToken().getJwtToken());

    const refreshed = await call((cb) => current.refreshSession(restored.getRefreshToken(), cb));
    assert.notEqual(refreshed.getAccessToken().getJwtToken(), first.getAccessToken().getJwtToken());
    assert.equal(refreshed.getRefreshToken().getToken(), first.getRefreshToken().getToken());
    await verifier(p.poolId, p.client.ClientId, "id").verify(refreshed.getIdToken().getJwtToken());
    const me = await idp.send(new GetUserCommand({ AccessToken: refreshed.getAccessToken().getJwtToken() }));
    assert.equal(me.Username, username);

    const newPw = password();
    assert.equal(await call((cb) => current.changePassword(pw, newPw, cb)), "SUCCESS");
    await expectFailure(signIn(p.pool(), username, pw), "NotAuthorizedException", INCORRECT);
    const { user: again } = await signIn(p.pool(), username, newPw);

    const accessTokens = [first, refreshed].map((s) => s.getAccessToken().getJwtToken());
    const out = await new Promise((resolve, reject) => again.globalSignOut({ onSuccess: resolve, onFailure: reject }));
    assert.equal(out, "SUCCESS");
    assert.equal(p.pool().getCurrentUser(), null); // the library forgot the user
    for (const AccessToken of accessTokens) {
      await assert.rejects(idp.send(new GetUserCommand({ AccessToken })), (e) => {
        assert.equal(e.name, "NotAuthorizedException");
        assert.equal(e.message, "Access Token has been revoked");
        return true;
      });
    }
    await assert.rejects(
      idp.send(
        new InitiateAuthCommand({
          ClientId: p.client.ClientId,
          AuthFlow: "REFRESH_TOKEN_AUTH",
          AuthParameters: { REFRESH_TOKEN: first.getRefreshToken().getToken() },
        }),
      ),
      (e) => e.name === "NotAuthorizedException",
    );
  });

  test("wrong password", async () => {
    const p = pools.plain;
    const { username, pw } = await signUpConfirmed(p);
    const err = await expectFailure(signIn(p.pool(), username, pw + "x"), "NotAuthorizedException", INCORRECT);
    assert.equal(err.statusCode, undefined); // a service error, not a transport one
    assert.equal(p.pool().getCurrentUser(), null);
  });

  test("unknown user under LEGACY and ENABLED", async () => {
    const p = pools.plain;
    const ghost = unique("ghost");
    await expectFailure(signIn(p.pool(p.client), ghost, password()), "UserNotFoundException", "User does not exist.");
    await expectFailure(signIn(p.pool(p.enabledClient), ghost, password()), "NotAuthorizedException", INCORRECT);
    const { username, pw } = await signUpConfirmed(p);
    await expectFailure(signIn(p.pool(p.enabledClient), username, pw + "x"), "NotAuthorizedException", INCORRECT);
    const { user } = await signIn(p.pool(p.enabledClient), username, pw);
    assert.equal(user.getUsername(), username);
  });

  test("lockout after five failures, 1 s, not extended by attempts during it", async () => {
    const p = pools.plain;
    const { username, pw } = await signUpConfirmed(p);
    for (let i = 0; i < 5; i++) {
      await expectFailure(signIn(p.pool(), username, pw + "x"), "NotAuthorizedException", INCORRECT);
    }
    const fifthFailure = performance.now();
    await expectFailure(signIn(p.pool(), username, pw), "NotAuthorizedException", "Password attempts exceeded");
    await expectFailure(signIn(p.pool(), username, pw + "x"), "NotAuthorizedException", "Password attempts exceeded");
    assert.ok(performance.now() - fifthFailure < 1000, "the attempts during the lock came too late");

    await sleep(Math.max(0, fifthFailure + 1300 - performance.now()));
    const { session } = await signIn(p.pool(), username, pw);
    assert.ok(session.isValid());
    // The success reset the count.
    await expectFailure(signIn(p.pool(), username, pw + "x"), "NotAuthorizedException", INCORRECT);
    await signIn(p.pool(), username, pw);
  });

  test("sign in with the preferred_username alias", async () => {
    const p = pools.alias;
    const nick = unique("nick");
    const { username, pw } = await signUpConfirmed(p, { preferred_username: nick });
    const userPool = p.pool();
    const { user, session } = await signIn(userPool, nick, pw);
    assert.equal(user.getUsername(), username); // acij adopts USER_ID_FOR_SRP
    assert.equal(userPool.getCurrentUser().getUsername(), username);
    const id = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(id["cognito:username"], username);
    assert.equal(id.preferred_username, nick);
    const access = await verifier(p.poolId, null, "access").verify(session.getAccessToken().getJwtToken());
    assert.equal(access.username, username);
    const attrs = Object.fromEntries((await call((cb) => user.getUserAttributes(cb))).map((a) => [a.getName(), a.getValue()]));
    assert.equal(attrs.preferred_username, nick);
  });

  test("sign in with the email alias once it is verified", async () => {
    const p = pools.alias;
    const { username, pw } = await signUpConfirmed(p);
    const email = `${username}@example.com`;
    await expectFailure(signIn(p.pool(), email, pw), "UserNotFoundException", "User does not exist.");
    await idp.send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: p.poolId,
        Username: username,
        UserAttributes: [{ Name: "email_verified", Value: "true" }],
      }),
    );
    const { user, session } = await signIn(p.pool(), email, pw);
    assert.equal(user.getUsername(), username);
    const id = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(id["cognito:username"], username);
    assert.equal(id.email, email);
    assert.equal(id.email_verified, true);
  });

  test("email as username: the user is its sub", async () => {
    const p = pools.email;
    const email = `${unique("mail")}@example.com`;
    const { pw, sub } = await signUpConfirmed(p, {}, email);
    const { user, session } = await signIn(p.pool(), email, pw);
    assert.match(sub, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(user.getUsername(), sub);
    const id = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(id["cognito:username"], sub);
    assert.equal(id.email, email);
  });

  test("newPasswordRequired → completeNewPasswordChallenge", async () => {
    const p = pools.plain;
    const username = unique("invited");
    const temp = password();
    await idp.send(
      new AdminCreateUserCommand({
        UserPoolId: p.poolId,
        Username: username,
        TemporaryPassword: temp,
        MessageAction: "SUPPRESS",
        UserAttributes: [
          { Name: "email", Value: `${username}@example.com` },
          { Name: "email_verified", Value: "true" },
        ],
      }),
    );
    const { user, newPasswordRequired } = await signIn(p.pool(), username, temp);
    assert.ok(newPasswordRequired, "expected the NEW_PASSWORD_REQUIRED challenge");
    assert.equal(newPasswordRequired.userAttributes.email, `${username}@example.com`);
    assert.ok(Array.isArray(newPasswordRequired.requiredAttributes));

    const newPw = password();
    // What Amplify's docs tell apps to do: send back no read-only attributes.
    const session = await new Promise((resolve, reject) =>
      user.completeNewPasswordChallenge(newPw, {}, { onSuccess: resolve, onFailure: reject }),
    );
    assert.ok(session.isValid());
    const access = await verifier(p.poolId, null, "access").verify(session.getAccessToken().getJwtToken());
    assert.equal(access.username, username);
    const got = await idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: username }));
    assert.equal(got.UserStatus, "CONFIRMED");

    await expectFailure(signIn(p.pool(), username, temp), "NotAuthorizedException", INCORRECT);
    const again = await signIn(p.pool(), username, newPw);
    assert.ok(again.session.isValid());
  });
});
