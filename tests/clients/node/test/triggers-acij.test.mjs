// Lambda triggers through amazon-cognito-identity-js (and the AWS SDK for JavaScript v3 for the
// administration), against the real Tessera binary. The functions are ordinary Node.js Lambda
// handlers (functions/*.mjs) served by an Invoke-API host (lib/lambda-host.mjs) that Tessera
// reaches with `--lambda-endpoint`.
//
// CUSTOM_AUTH through `authenticateUser` is SRP inside custom auth: the library sends
// CHALLENGE_NAME=SRP_A with SRP_A, so DefineAuthChallenge answers PASSWORD_VERIFIER first and
// CUSTOM_CHALLENGE after the password proof. `initiateAuth` is custom auth without a password.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  AdminGetUserCommand,
  CreateGroupCommand,
  AdminAddUserToGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  GetUserCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserAttribute,
  CognitoUserPool,
} from "amazon-cognito-identity-js";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { startServer, unique, password } from "../lib/server.mjs";
import { startLambdaHost, arn } from "../lib/lambda-host.mjs";

const FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
const INCORRECT = "Incorrect username or password.";
const CUSTOM = {
  DefineAuthChallenge: arn("define-auth-challenge"),
  CreateAuthChallenge: arn("create-auth-challenge"),
  VerifyAuthChallengeResponse: arn("verify-auth-challenge"),
};

// aws-jwt-verify's default fetcher only speaks https (see cognito.test.mjs).
const httpFetcher = {
  async fetch(uri) {
    const res = await fetch(uri);
    if (res.status !== 200) throw new Error(`GET ${uri}: ${res.status}`);
    return await res.arrayBuffer();
  },
};

let functions;
let server;
let idp;

before(async () => {
  functions = await startLambdaHost();
  server = await startServer({ args: functions.serverArgs() });
  idp = server.client();
});

after(async () => {
  idp?.destroy();
  await server?.stop();
  await functions?.stop();
});

async function makePool(LambdaConfig) {
  const poolId = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("trig"), LambdaConfig }))).UserPool.Id;
  const client = (
    await idp.send(new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: unique("acij"), ExplicitAuthFlows: FLOWS }))
  ).UserPoolClient;
  return {
    poolId,
    client,
    pool: () => new CognitoUserPool({ UserPoolId: poolId, ClientId: client.ClientId, endpoint: `${server.endpoint}/` }),
  };
}

async function confirmedUser(p, username = unique("acij")) {
  const pw = password();
  await idp.send(
    new SignUpCommand({
      ClientId: p.client.ClientId,
      Username: username,
      Password: pw,
      UserAttributes: [{ Name: "email", Value: `${username}@example.com` }],
    }),
  );
  await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: p.poolId, Username: username }));
  return { username, pw };
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

/** userPool.signUp as a promise. */
function signUp(userPool, username, pw, attrs = {}, validationData = null, clientMetadata = undefined) {
  const attributes = Object.entries(attrs).map(([Name, Value]) => new CognitoUserAttribute({ Name, Value }));
  const validation = validationData && Object.entries(validationData).map(([Name, Value]) => new CognitoUserAttribute({ Name, Value }));
  return new Promise((resolve, reject) =>
    userPool.signUp(username, pw, attributes, validation, (err, result) => (err ? reject(err) : resolve(result)), clientMetadata),
  );
}

/**
 * Drives a sign-in with callbacks to the end: `start(callbacks)` begins it; each
 * customChallenge is answered with the next of `answers` (recording the parameters).
 * Resolves {session, challenges}; rejects with onFailure's error (carrying .challenges).
 */
function drive(user, start, answers = [], clientMetadata = undefined) {
  const challenges = [];
  return new Promise((resolve, reject) => {
    const callbacks = {
      onSuccess: (session) => resolve({ session, challenges }),
      onFailure: (err) => {
        err.challenges = challenges;
        reject(err);
      },
      customChallenge: (params) => {
        challenges.push(params);
        if (challenges.length > answers.length) {
          return reject(Object.assign(new Error("more challenges than answers"), { challenges }));
        }
        user.sendCustomChallengeAnswer(answers[challenges.length - 1], callbacks, clientMetadata);
      },
    };
    start(callbacks);
  });
}

async function expectFailure(promise, code, message) {
  const err = await promise.then(
    (ok) => assert.fail(`expected ${code}, got success ${JSON.stringify(Object.keys(ok))}`),
    (e) => e,
  );
  assert.equal(err.code, code, `${err.code}: ${err.message}`);
  assert.equal(err.message, message);
  return err;
}

describe("amazon-cognito-identity-js with Lambda triggers", () => {
  test("PreSignUp auto-confirms through userPool.signUp; PreTokenGeneration claims in the ID token", async () => {
    const p = await makePool({
      PreSignUp: arn("pre-sign-up"),
      PreTokenGeneration: arn("pre-token-generation"),
      PostAuthentication: arn("post-authentication"),
    });
    await idp.send(new CreateGroupCommand({ UserPoolId: p.poolId, GroupName: "staff", Precedence: 1 }));
    const username = unique("ann");
    const pw = password();
    const email = `${username}@trusted.test`;
    const result = await signUp(p.pool(), username, pw, { email }, { captcha: "ok" }, { source: "acij" });
    assert.equal(result.userConfirmed, true);
    assert.equal(result.codeDeliveryDetails, undefined);
    assert.match(result.userSub, /^[0-9a-f-]{36}$/);
    assert.equal(result.user.getUsername(), username);

    const got = await idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: username }));
    assert.equal(got.UserStatus, "CONFIRMED");
    const attrs = Object.fromEntries(got.UserAttributes.map((a) => [a.Name, a.Value]));
    assert.equal(attrs.email_verified, "true");

    const [pre] = functions.events("pre-sign-up", p.poolId);
    assert.equal(pre.triggerSource, "PreSignUp_SignUp");
    assert.equal(pre.userName, username);
    assert.equal(pre.callerContext.clientId, p.client.ClientId);
    assert.deepEqual(pre.request.validationData, { captcha: "ok" });
    assert.deepEqual(pre.request.clientMetadata, { source: "acij" });

    await idp.send(new AdminAddUserToGroupCommand({ UserPoolId: p.poolId, Username: username, GroupName: "staff" }));
    const user = new CognitoUser({ Username: username, Pool: p.pool() });
    const { session } = await drive(user, (cb) =>
      user.authenticateUser(new AuthenticationDetails({ Username: username, Password: pw }), cb),
    );
    const payload = session.getIdToken().payload;
    assert.equal(payload.tenant, "acme");
    assert.equal(payload.signed_in_by, "TokenGeneration_Authentication");
    assert.equal(payload.email, undefined, "suppressed");
    assert.deepEqual(payload["cognito:groups"], ["staff", "node-users"]);
    assert.equal(payload["cognito:username"], username);
    // The customised token still verifies against the pool's JWKS.
    const verified = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(verified.tenant, "acme");
    assert.equal(session.getAccessToken().payload.tenant, undefined, "V1 customises the ID token only");

    const [tokenEvent] = functions.events("pre-token-generation", p.poolId);
    assert.equal(tokenEvent.version, "1");
    assert.deepEqual(tokenEvent.request.groupConfiguration.groupsToOverride, ["staff"]);
    // A callback-style handler ran too.
    const [post] = functions.events("post-authentication", p.poolId);
    assert.equal(post.triggerSource, "PostAuthentication_Authentication");

    // refreshSession goes through PreTokenGeneration again.
    const refreshed = await new Promise((resolve, reject) =>
      user.refreshSession(session.getRefreshToken(), (err, s) => (err ? reject(err) : resolve(s))),
    );
    assert.equal(refreshed.getIdToken().payload.tenant, "acme");
    assert.equal(refreshed.getIdToken().payload.signed_in_by, "TokenGeneration_RefreshTokens");
  });

  test("PreSignUp rejection surfaces in signUp's callback", async () => {
    const p = await makePool({ PreSignUp: arn("pre-sign-up") });
    const username = unique("mallory");
    await expectFailure(
      signUp(p.pool(), username, password(), { email: `${username}@blocked.test` }),
      "UserLambdaValidationException",
      "PreSignUp failed with error Registration from this domain is not allowed.",
    );
    await assert.rejects(
      idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: username })),
      (e) => e.name === "UserNotFoundException",
    );
    const [call] = functions.calls("pre-sign-up", p.poolId);
    assert.equal(call.answer.errorType, "Error");
    assert.equal(call.answer.errorMessage, "Registration from this domain is not allowed");
  });

  test("a PreAuthentication rejection is onFailure's error", async () => {
    const p = await makePool({ PreAuthentication: arn("pre-authentication") });
    const { username, pw } = await confirmedUser(p, unique("blocked"));
    const user = new CognitoUser({ Username: username, Pool: p.pool() });
    const err = await expectFailure(
      drive(user, (cb) => user.authenticateUser(new AuthenticationDetails({ Username: username, Password: pw }), cb)),
      "UserLambdaValidationException",
      "PreAuthentication failed with error Sign-in is suspended.",
    );
    assert.equal(err.name, "UserLambdaValidationException");
    assert.equal(p.pool().getCurrentUser(), null);
    const [event] = functions.events("pre-authentication", p.poolId);
    assert.equal(event.triggerSource, "PreAuthentication_Authentication");
    assert.equal(event.userName, username);

    // Someone else signs in.
    const ok = await confirmedUser(p);
    const other = new CognitoUser({ Username: ok.username, Pool: p.pool() });
    const { session } = await drive(other, (cb) =>
      other.authenticateUser(new AuthenticationDetails({ Username: ok.username, Password: ok.pw }), cb),
    );
    assert.ok(session.isValid());
  });

  test("CUSTOM_AUTH with authenticateUser: SRP password proof, then the custom challenge", async () => {
    const p = await makePool(CUSTOM);
    const { username, pw } = await confirmedUser(p);
    const user = new CognitoUser({ Username: username, Pool: p.pool() });
    user.setAuthenticationFlowType("CUSTOM_AUTH");
    const { session, challenges } = await drive(
      user,
      (cb) => user.authenticateUser(new AuthenticationDetails({ Username: username, Password: pw }), cb),
      ["green", "Blue"],
      { device: "laptop" },
    );
    assert.deepEqual(challenges, [
      { question: "What colour is the sky?", attempt: "1", USERNAME: username },
      { question: "What colour is the sky?", attempt: "2", USERNAME: username },
    ]);
    assert.ok(session.isValid());
    const access = await verifier(p.poolId, null, "access").verify(session.getAccessToken().getJwtToken());
    assert.equal(access.username, username);
    const me = await idp.send(new GetUserCommand({ AccessToken: session.getAccessToken().getJwtToken() }));
    assert.equal(me.Username, username);
    assert.equal(p.pool().getCurrentUser().getUsername(), username);

    const sessions = functions.events("define-auth-challenge", p.poolId).map((e) => e.request.session);
    assert.deepEqual(sessions[0], [{ challengeName: "SRP_A", challengeResult: true }]);
    assert.deepEqual(sessions[1], [
      { challengeName: "SRP_A", challengeResult: true },
      { challengeName: "PASSWORD_VERIFIER", challengeResult: true },
    ]);
    assert.deepEqual(sessions.at(-1).slice(2), [
      { challengeName: "CUSTOM_CHALLENGE", challengeResult: false, challengeMetadata: "SKY" },
      { challengeName: "CUSTOM_CHALLENGE", challengeResult: true, challengeMetadata: "SKY" },
    ]);
    const verifies = functions.events("verify-auth-challenge", p.poolId);
    assert.deepEqual(verifies.map((v) => v.request.challengeAnswer), ["green", "Blue"]);
    assert.deepEqual(verifies[0].request.clientMetadata, { device: "laptop" });
    assert.deepEqual(verifies[0].request.privateChallengeParameters, { answer: "blue" });
  });

  test("CUSTOM_AUTH with authenticateUser and a wrong password", async () => {
    const p = await makePool(CUSTOM);
    const { username, pw } = await confirmedUser(p);
    const user = new CognitoUser({ Username: username, Pool: p.pool() });
    user.setAuthenticationFlowType("CUSTOM_AUTH");
    const err = await expectFailure(
      drive(user, (cb) => user.authenticateUser(new AuthenticationDetails({ Username: username, Password: pw + "x" }), cb), ["blue"]),
      "NotAuthorizedException",
      INCORRECT,
    );
    assert.deepEqual(err.challenges, []);
    assert.deepEqual(functions.events("create-auth-challenge", p.poolId), []);
  });

  test("CUSTOM_AUTH with initiateAuth (no password), three tries", async () => {
    const p = await makePool(CUSTOM);
    const { username } = await confirmedUser(p);
    const user = new CognitoUser({ Username: username, Pool: p.pool() });
    user.setAuthenticationFlowType("CUSTOM_AUTH");
    const { session, challenges } = await drive(
      user,
      (cb) => user.initiateAuth(new AuthenticationDetails({ Username: username }), cb),
      ["red", "blue"],
    );
    assert.equal(challenges.length, 2);
    assert.ok(session.isValid());
    const id = await verifier(p.poolId, p.client.ClientId, "id").verify(session.getIdToken().getJwtToken());
    assert.equal(id["cognito:username"], username);
    const sessions = functions.events("define-auth-challenge", p.poolId).map((e) => e.request.session);
    assert.deepEqual(sessions[0], [], "no SRP step without a password");

    // Three wrong answers: Define fails the sign-in.
    const again = new CognitoUser({ Username: username, Pool: p.pool() });
    again.setAuthenticationFlowType("CUSTOM_AUTH");
    const err = await expectFailure(
      drive(again, (cb) => again.initiateAuth(new AuthenticationDetails({ Username: username }), cb), ["a", "b", "c"]),
      "NotAuthorizedException",
      INCORRECT,
    );
    assert.equal(err.challenges.length, 3);
  });

  test("the host sees Lambda's Invoke API", async () => {
    const p = await makePool({ PreSignUp: arn("pre-sign-up") });
    await signUp(p.pool(), unique("wire"), password(), { email: `${unique("wire")}@example.com` });
    const [call] = functions.calls("pre-sign-up", p.poolId);
    assert.equal(
      call.path,
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Apre-sign-up/invocations",
    );
    assert.equal(call.invocationType, "RequestResponse");
    assert.equal(call.function, arn("pre-sign-up"));
  });
});
