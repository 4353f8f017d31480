// The AWS SDK for JavaScript v3 and aws-jwt-verify against the real Tessera binary.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DeleteUserPoolCommand,
  DescribeUserPoolCommand,
  GetTokensFromRefreshTokenCommand,
  GetUserCommand,
  GlobalSignOutCommand,
  InitiateAuthCommand,
  ListUserPoolsCommand,
  ListUsersCommand,
  NotAuthorizedException,
  RespondToAuthChallengeCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { JwtInvalidClaimError, JwtInvalidSignatureError } from "aws-jwt-verify/error";
import { startServer, secretHash, unique, password } from "../lib/server.mjs";

// aws-jwt-verify's default fetcher only speaks https; a test server speaks http, so hand it a
// fetcher built on Node's fetch (its documented extension point). Everything else (JWKS caching,
// kid selection, signature and claim checks) is the library's own.
const httpFetcher = {
  async fetch(uri) {
    const res = await fetch(uri);
    if (res.status !== 200) throw new Error(`GET ${uri}: ${res.status}`);
    return await res.arrayBuffer();
  },
};

let server;
let idp;
let poolId;
let publicClient;
let secretClient;
let rotatingClient;

async function expectError(promise, name, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

async function signUpConfirmed(client, attrs = {}) {
  const username = unique("node");
  const pw = password();
  const params = {
    ClientId: client.ClientId,
    Username: username,
    Password: pw,
    UserAttributes: Object.entries({ email: `${username}@example.com`, ...attrs }).map(([Name, Value]) => ({ Name, Value })),
  };
  if (client.ClientSecret) params.SecretHash = secretHash(username, client.ClientId, client.ClientSecret);
  const out = await idp.send(new SignUpCommand(params));
  assert.equal(out.UserConfirmed, false);
  await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: poolId, Username: username }));
  return { username, pw, sub: out.UserSub };
}

async function passwordAuth(client, username, pw) {
  const AuthParameters = { USERNAME: username, PASSWORD: pw };
  if (client.ClientSecret) AuthParameters.SECRET_HASH = secretHash(username, client.ClientId, client.ClientSecret);
  const out = await idp.send(
    new InitiateAuthCommand({ ClientId: client.ClientId, AuthFlow: "USER_PASSWORD_AUTH", AuthParameters }),
  );
  assert.equal(out.ChallengeName, undefined);
  return out.AuthenticationResult;
}

const FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];

before(async () => {
  server = await startServer();
  idp = server.client();
  const pool = await idp.send(
    new CreateUserPoolCommand({
      PoolName: unique("node-pool"),
      Schema: [{ Name: "tier", AttributeDataType: "String", Mutable: true }],
    }),
  );
  poolId = pool.UserPool.Id;
  const mk = async (extra) =>
    (
      await idp.send(
        new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: unique("c"), ExplicitAuthFlows: FLOWS, ...extra }),
      )
    ).UserPoolClient;
  publicClient = await mk({});
  secretClient = await mk({ GenerateSecret: true });
  rotatingClient = await mk({ RefreshTokenRotation: { Feature: "ENABLED", RetryGracePeriodSeconds: 0 } });
});

after(async () => {
  idp?.destroy();
  await server?.stop();
});

describe("admin operations (SigV4)", () => {
  test("pool and clients exist", async () => {
    const d = await idp.send(new DescribeUserPoolCommand({ UserPoolId: poolId }));
    assert.equal(d.UserPool.Id, poolId);
    assert.ok(d.UserPool.SchemaAttributes.some((a) => a.Name === "custom:tier"));
    assert.ok(d.UserPool.CreationDate instanceof Date);
    const pools = await idp.send(new ListUserPoolsCommand({ MaxResults: 60 }));
    assert.ok(pools.UserPools.some((p) => p.Id === poolId));
    assert.ok(secretClient.ClientSecret);
    assert.equal(publicClient.ClientSecret, undefined);
  });

  test("unknown credentials are refused", async () => {
    const intruder = server.client({ accessKeyId: "AKIAUNKNOWNUNKNOWN01", secretAccessKey: "nope" });
    await expectError(
      intruder.send(new ListUserPoolsCommand({ MaxResults: 1 })),
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
    );
    intruder.destroy();
  });

  test("missing pool", async () => {
    await expectError(
      idp.send(new DescribeUserPoolCommand({ UserPoolId: "us-east-1_NoSuchPool0" })),
      "ResourceNotFoundException",
      "User pool us-east-1_NoSuchPool0 does not exist.",
    );
  });
});

describe("users and tokens", () => {
  test("sign up, admin confirm, sign in, GetUser", async () => {
    const { username, pw, sub } = await signUpConfirmed(publicClient, { "custom:tier": "gold" });
    const got = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    assert.equal(got.UserStatus, "CONFIRMED");
    const tokens = await passwordAuth(publicClient, username, pw);
    assert.equal(tokens.TokenType, "Bearer");
    assert.equal(tokens.ExpiresIn, 3600);
    const me = await idp.send(new GetUserCommand({ AccessToken: tokens.AccessToken }));
    assert.equal(me.Username, username);
    const attrs = Object.fromEntries(me.UserAttributes.map((a) => [a.Name, a.Value]));
    assert.equal(attrs.sub, sub);
    assert.equal(attrs["custom:tier"], "gold");
  });

  test("REFRESH_TOKEN_AUTH", async () => {
    const { username, pw } = await signUpConfirmed(publicClient);
    const tokens = await passwordAuth(publicClient, username, pw);
    const out = await idp.send(
      new InitiateAuthCommand({
        ClientId: publicClient.ClientId,
        AuthFlow: "REFRESH_TOKEN_AUTH",
        AuthParameters: { REFRESH_TOKEN: tokens.RefreshToken },
      }),
    );
    assert.equal(out.AuthenticationResult.RefreshToken, undefined);
    const me = await idp.send(new GetUserCommand({ AccessToken: out.AuthenticationResult.AccessToken }));
    assert.equal(me.Username, username);
  });

  test("GetTokensFromRefreshToken with rotation", async () => {
    const { username, pw } = await signUpConfirmed(rotatingClient);
    const first = await passwordAuth(rotatingClient, username, pw);
    const out = await idp.send(
      new GetTokensFromRefreshTokenCommand({ ClientId: rotatingClient.ClientId, RefreshToken: first.RefreshToken }),
    );
    const rotated = out.AuthenticationResult;
    assert.ok(rotated.RefreshToken);
    assert.notEqual(rotated.RefreshToken, first.RefreshToken);
    const me = await idp.send(new GetUserCommand({ AccessToken: rotated.AccessToken }));
    assert.equal(me.Username, username);
    await expectError(
      idp.send(new GetTokensFromRefreshTokenCommand({ ClientId: rotatingClient.ClientId, RefreshToken: first.RefreshToken })),
      "RefreshTokenReuseException",
    );
  });

  // Cognito: rotation is incompatible with REFRESH_TOKEN_AUTH, so rotating clients leave
  // ALLOW_REFRESH_TOKEN_AUTH off and still refresh through GetTokensFromRefreshToken.
  test("rotating client without ALLOW_REFRESH_TOKEN_AUTH", async () => {
    const client = (
      await idp.send(
        new CreateUserPoolClientCommand({
          UserPoolId: poolId,
          ClientName: unique("rot"),
          ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH"],
          RefreshTokenRotation: { Feature: "ENABLED", RetryGracePeriodSeconds: 0 },
        }),
      )
    ).UserPoolClient;
    const { username, pw } = await signUpConfirmed(client);
    const first = await passwordAuth(client, username, pw);
    const out = await idp.send(new GetTokensFromRefreshTokenCommand({ ClientId: client.ClientId, RefreshToken: first.RefreshToken }));
    assert.notEqual(out.AuthenticationResult.RefreshToken, first.RefreshToken);
  });

  test("GetTokensFromRefreshToken without rotation, with client secret", async () => {
    const { username, pw } = await signUpConfirmed(secretClient);
    const tokens = await passwordAuth(secretClient, username, pw);
    const out = await idp.send(
      new GetTokensFromRefreshTokenCommand({
        ClientId: secretClient.ClientId,
        ClientSecret: secretClient.ClientSecret,
        RefreshToken: tokens.RefreshToken,
      }),
    );
    assert.equal(out.AuthenticationResult.RefreshToken, undefined);
    assert.ok(out.AuthenticationResult.AccessToken);
    await expectError(
      idp.send(new GetTokensFromRefreshTokenCommand({ ClientId: secretClient.ClientId, RefreshToken: tokens.RefreshToken })),
      "NotAuthorizedException",
      `Client ${secretClient.ClientId} is configured for secret but secret was not received`,
    );
  });

  test("SECRET_HASH is checked", async () => {
    const { username, pw } = await signUpConfirmed(secretClient);
    await expectError(
      idp.send(
        new InitiateAuthCommand({
          ClientId: secretClient.ClientId,
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: username, PASSWORD: pw, SECRET_HASH: secretHash(username, secretClient.ClientId, "wrong") },
        }),
      ),
      "NotAuthorizedException",
      `Unable to verify secret hash for client ${secretClient.ClientId}`,
    );
    assert.ok((await passwordAuth(secretClient, username, pw)).AccessToken);
  });

  test("NEW_PASSWORD_REQUIRED", async () => {
    const username = unique("invited");
    const temp = password();
    await idp.send(
      new AdminCreateUserCommand({
        UserPoolId: poolId,
        Username: username,
        TemporaryPassword: temp,
        MessageAction: "SUPPRESS",
        UserAttributes: [{ Name: "email", Value: `${username}@example.com` }],
      }),
    );
    const challenge = await idp.send(
      new InitiateAuthCommand({
        ClientId: publicClient.ClientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: username, PASSWORD: temp },
      }),
    );
    assert.equal(challenge.ChallengeName, "NEW_PASSWORD_REQUIRED");
    assert.equal(JSON.parse(challenge.ChallengeParameters.userAttributes).email, `${username}@example.com`);
    assert.ok(Array.isArray(JSON.parse(challenge.ChallengeParameters.requiredAttributes)));
    const done = await idp.send(
      new RespondToAuthChallengeCommand({
        ClientId: publicClient.ClientId,
        ChallengeName: "NEW_PASSWORD_REQUIRED",
        Session: challenge.Session,
        ChallengeResponses: { USERNAME: username, NEW_PASSWORD: password() },
      }),
    );
    const me = await idp.send(new GetUserCommand({ AccessToken: done.AuthenticationResult.AccessToken }));
    assert.equal(me.Username, username);
  });

  test("ListUsers with a filter", async () => {
    const { username } = await signUpConfirmed(publicClient);
    const out = await idp.send(new ListUsersCommand({ UserPoolId: poolId, Filter: `username = "${username}"` }));
    assert.deepEqual(out.Users.map((u) => u.Username), [username]);
  });

  test("GlobalSignOut revokes the access token", async () => {
    const { username, pw } = await signUpConfirmed(publicClient);
    const tokens = await passwordAuth(publicClient, username, pw);
    await idp.send(new GlobalSignOutCommand({ AccessToken: tokens.AccessToken }));
    await expectError(
      idp.send(new GetUserCommand({ AccessToken: tokens.AccessToken })),
      "NotAuthorizedException",
      "Access Token has been revoked",
    );
  });
});

describe("errors", () => {
  test("wrong password is NotAuthorizedException", async () => {
    const { username, pw } = await signUpConfirmed(publicClient);
    const err = await passwordAuth(publicClient, username, pw + "x").then(
      () => assert.fail("sign-in with a wrong password succeeded"),
      (e) => e,
    );
    assert.equal(err.name, "NotAuthorizedException");
    assert.equal(err.message, "Incorrect username or password.");
    assert.ok(err instanceof NotAuthorizedException);
    assert.equal(err.$fault, "client");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(err.$metadata.requestId);
  });

  test("existing username", async () => {
    const { username } = await signUpConfirmed(publicClient);
    await expectError(
      idp.send(new SignUpCommand({ ClientId: publicClient.ClientId, Username: username, Password: password() })),
      "UsernameExistsException",
      "User already exists",
    );
  });

  test("weak password", async () => {
    await expectError(
      idp.send(new SignUpCommand({ ClientId: publicClient.ClientId, Username: unique(), Password: "Ab1!" })),
      "InvalidPasswordException",
      "Password did not conform with policy: Password not long enough",
    );
  });

  test("unknown user and unconfirmed user", async () => {
    await expectError(
      idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: unique("ghost") })),
      "UserNotFoundException",
      "User does not exist.",
    );
    const username = unique();
    const pw = password();
    await idp.send(new SignUpCommand({ ClientId: publicClient.ClientId, Username: username, Password: pw }));
    await expectError(passwordAuth(publicClient, username, pw), "UserNotConfirmedException", "User is not confirmed.");
  });

  test("invalid access token", async () => {
    await expectError(
      idp.send(new GetUserCommand({ AccessToken: "garbage" })),
      "NotAuthorizedException",
      "Invalid Access Token",
    );
  });
});

describe("tokens verified with aws-jwt-verify", () => {
  let discovery;
  let tokens;
  let user;

  before(async () => {
    discovery = await (await fetch(`${server.endpoint}/${poolId}/.well-known/openid-configuration`)).json();
    user = await signUpConfirmed(publicClient, { "custom:tier": "silver" });
    tokens = await passwordAuth(publicClient, user.username, user.pw);
  });

  const verifier = (audience, tokenUse) =>
    JwtRsaVerifier.create(
      {
        issuer: discovery.issuer,
        audience,
        jwksUri: discovery.jwks_uri,
        customJwtCheck: ({ payload }) => {
          if (payload.token_use !== tokenUse) throw new Error(`token_use is ${payload.token_use}, not ${tokenUse}`);
        },
      },
      { jwksCache: new SimpleJwksCache({ fetcher: httpFetcher }) },
    );

  test("discovery", () => {
    assert.equal(discovery.issuer, server.issuer(poolId));
    assert.equal(discovery.jwks_uri, `${server.issuer(poolId)}/.well-known/jwks.json`);
  });

  test("ID token", async () => {
    const payload = await verifier(publicClient.ClientId, "id").verify(tokens.IdToken);
    assert.equal(payload.token_use, "id");
    assert.equal(payload.aud, publicClient.ClientId);
    assert.equal(payload.iss, server.issuer(poolId));
    assert.equal(payload.sub, user.sub);
    assert.equal(payload["cognito:username"], user.username);
    assert.equal(payload.email, `${user.username}@example.com`);
    assert.equal(payload["custom:tier"], "silver");
    assert.equal(payload.exp - payload.iat, 3600);
    for (const k of ["origin_jti", "event_id", "jti"]) assert.equal(typeof payload[k], "string", k);
    assert.equal(typeof payload.auth_time, "number");
  });

  test("access token", async () => {
    const payload = await verifier(null, "access").verify(tokens.AccessToken);
    assert.equal(payload.token_use, "access");
    assert.equal(payload.aud, undefined);
    assert.equal(payload.client_id, publicClient.ClientId);
    assert.equal(payload.username, user.username);
    assert.equal(payload.scope, "aws.cognito.signin.user.admin");
    assert.equal(payload.sub, user.sub);
  });

  test("an access token is not an ID token", async () => {
    await assert.rejects(verifier(publicClient.ClientId, "id").verify(tokens.AccessToken));
    await assert.rejects(verifier(null, "access").verify(tokens.IdToken));
  });

  test("wrong audience and tampering are rejected", async () => {
    await assert.rejects(verifier("another-client", "id").verify(tokens.IdToken), (e) => e instanceof JwtInvalidClaimError && /Audience not allowed/.test(e.message));
    const [h, p, s] = tokens.AccessToken.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    claims.username = "mallory";
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    await assert.rejects(verifier(null, "access").verify(forged), (e) => e instanceof JwtInvalidSignatureError);
  });

  test("refreshed tokens verify too", async () => {
    const out = await idp.send(
      new GetTokensFromRefreshTokenCommand({ ClientId: publicClient.ClientId, RefreshToken: tokens.RefreshToken }),
    );
    const id = await verifier(publicClient.ClientId, "id").verify(out.AuthenticationResult.IdToken);
    const first = await verifier(publicClient.ClientId, "id").verify(tokens.IdToken);
    assert.equal(id.origin_jti, first.origin_jti);
    assert.equal(id.auth_time, first.auth_time);
    await verifier(null, "access").verify(out.AuthenticationResult.AccessToken);
  });
});

describe("clean-up", () => {
  test("delete the pool", async () => {
    const pool = await idp.send(new CreateUserPoolCommand({ PoolName: unique("doomed") }));
    await idp.send(new DeleteUserPoolCommand({ UserPoolId: pool.UserPool.Id }));
    await expectError(
      idp.send(new DescribeUserPoolCommand({ UserPoolId: pool.UserPool.Id })),
      "ResourceNotFoundException",
      `User pool ${pool.UserPool.Id} does not exist.`,
    );
  });
});
