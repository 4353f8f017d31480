// Identity pools with the AWS SDK for JavaScript v3: `fromCognitoIdentityPool` (the credential
// provider browser and Node apps use) as a guest and with a user pool's ID token, then STS
// GetCallerIdentity signed with the credentials it produced.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  SetIdentityPoolRolesCommand,
} from "@aws-sdk/client-cognito-identity";
import { fromCognitoIdentityPool } from "@aws-sdk/credential-providers";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  REGION,
  ROOT_ACCESS_KEY_ID,
  ROOT_SECRET_ACCESS_KEY,
  startServer,
  unique,
  password,
} from "../lib/server.mjs";

const ACCOUNT = "000000000000";

let server;
let identityPoolId;
let loginKey;
let idToken;

describe("identity pools with aws-sdk-js-v3", () => {
  before(async () => {
    server = await startServer();
    const idp = server.client();
    const pool = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("ip") }))).UserPool;
    const client = (
      await idp.send(
        new CreateUserPoolClientCommand({
          UserPoolId: pool.Id,
          ClientName: "web",
          ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        }),
      )
    ).UserPoolClient;
    const username = unique("node");
    const pw = password();
    await idp.send(
      new SignUpCommand({
        ClientId: client.ClientId,
        Username: username,
        Password: pw,
        UserAttributes: [{ Name: "email", Value: `${username}@example.com` }],
      }),
    );
    await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: pool.Id, Username: username }));
    const auth = await idp.send(
      new InitiateAuthCommand({
        ClientId: client.ClientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: username, PASSWORD: pw },
      }),
    );
    idToken = auth.AuthenticationResult.IdToken;
    // The Logins key of a Tessera user pool: its issuer without the scheme.
    loginKey = server.issuer(pool.Id).replace(/^https?:\/\//, "");

    const ci = new CognitoIdentityClient({
      region: REGION,
      endpoint: server.endpoint,
      credentials: { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    identityPoolId = (
      await ci.send(
        new CreateIdentityPoolCommand({
          IdentityPoolName: "node_pool",
          AllowUnauthenticatedIdentities: true,
          CognitoIdentityProviders: [{ ProviderName: loginKey, ClientId: client.ClientId }],
        }),
      )
    ).IdentityPoolId;
    // GetCredentialsForIdentity assumes these roles as STS would: they must exist in IAM and
    // trust the identity pool.
    const iam = new IAMClient({
      region: REGION,
      endpoint: server.endpoint,
      credentials: { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    for (const [name, amr] of [
      ["NodeAuth", "authenticated"],
      ["NodeGuest", "unauthenticated"],
    ]) {
      await iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Federated: "cognito-identity.amazonaws.com" },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                  StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
                  "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": amr },
                },
              },
            ],
          }),
        }),
      );
    }
    await ci.send(
      new SetIdentityPoolRolesCommand({
        IdentityPoolId: identityPoolId,
        Roles: {
          authenticated: `arn:aws:iam::${ACCOUNT}:role/NodeAuth`,
          unauthenticated: `arn:aws:iam::${ACCOUNT}:role/NodeGuest`,
        },
      }),
    );
  });

  after(async () => {
    await server?.stop();
  });

  async function callerWith(logins) {
    const credentials = fromCognitoIdentityPool({
      identityPoolId,
      logins,
      clientConfig: { region: REGION, endpoint: server.endpoint },
    });
    const creds = await credentials();
    assert.match(creds.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.ok(creds.expiration > new Date());
    const sts = new STSClient({ region: REGION, endpoint: server.endpoint, credentials, maxAttempts: 1 });
    return await sts.send(new GetCallerIdentityCommand({}));
  }

  test("a guest gets credentials that STS accepts", async () => {
    const who = await callerWith(undefined);
    assert.equal(who.Account, ACCOUNT);
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/NodeGuest/CognitoIdentityCredentials`);
  });

  test("a signed-in user gets the authenticated role", async () => {
    const who = await callerWith({ [loginKey]: idToken });
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/NodeAuth/CognitoIdentityCredentials`);
  });

  test("a tampered token is refused", async () => {
    const [h, p, s] = idToken.split(".");
    const forged = `${h}.${p}.${s.slice(0, -4)}AAAA`;
    await assert.rejects(callerWith({ [loginKey]: forged }), (err) => {
      assert.equal(err.name, "NotAuthorizedException");
      assert.equal(err.message, "Invalid login token. Couldn't verify signed token.");
      return true;
    });
  });
});
