// The policy gateway with the AWS SDK for JavaScript v3: S3 and DynamoDB clients with
// credentials from `fromCognitoIdentityPool` (a signed-in user), `endpoint` = the gateway,
// moto's server (from the Python suite's venv) as the backend. Allowed requests reach moto;
// denied ones get AWS's errors and never reach it. The SDK's defaults are kept, including its
// flexible checksums on PutObject.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import {
  REGION,
  ROOT_ACCESS_KEY_ID,
  ROOT_SECRET_ACCESS_KEY,
  startServer,
  unique,
  password,
} from "../lib/server.mjs";

const ACCOUNT = "000000000000";
const here = dirname(fileURLToPath(import.meta.url));
const MOTO = process.env.MOTO_SERVER || join(here, "..", "..", "python", ".venv", "bin", "moto_server");
const backendCreds = { accessKeyId: "backendkey", secretAccessKey: "backendsecret" };

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not answer`);
}

let moto, motoUrl, server, gateway, creds, identityId;

describe("policy gateway with aws-sdk-js-v3 S3 and DynamoDB clients", () => {
  before(async () => {
    assert.ok(existsSync(MOTO), `moto_server not found at ${MOTO} (the Python suite's venv installs it)`);
    const motoPort = await freePort();
    motoUrl = `http://127.0.0.1:${motoPort}`;
    moto = spawn(MOTO, ["-H", "127.0.0.1", "-p", String(motoPort)], { stdio: "ignore" });
    await waitFor(`${motoUrl}/moto-api/`);
    const gwPort = await freePort();
    gateway = `http://127.0.0.1:${gwPort}`;
    server = await startServer({
      env: {
        TESSERA_GATEWAY_LISTEN: `127.0.0.1:${gwPort}`,
        TESSERA_GATEWAY_S3_ENDPOINT: motoUrl,
        TESSERA_GATEWAY_S3_ACCESS_KEY_ID: backendCreds.accessKeyId,
        TESSERA_GATEWAY_S3_SECRET_ACCESS_KEY: backendCreds.secretAccessKey,
        TESSERA_GATEWAY_DYNAMODB_ENDPOINT: motoUrl,
        TESSERA_GATEWAY_DYNAMODB_ACCESS_KEY_ID: backendCreds.accessKeyId,
        TESSERA_GATEWAY_DYNAMODB_SECRET_ACCESS_KEY: backendCreds.secretAccessKey,
      },
    });
    const direct = { region: REGION, endpoint: motoUrl, credentials: backendCreds, forcePathStyle: true };
    await new S3Client(direct).send(new CreateBucketCommand({ Bucket: "jsbucket" }));
    await new DynamoDBClient(direct).send(
      new CreateTableCommand({
        TableName: "JsTable",
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );

    const root = { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY };
    const iam = new IAMClient({ region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 });
    await iam.send(
      new CreateRoleCommand({
        RoleName: "JsAuth",
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { Federated: "cognito-identity.amazonaws.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" } },
          }],
        }),
      }),
    );
    const sub = "${cognito-identity.amazonaws.com:sub}";
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "JsAuth",
        PolicyName: "own-data",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::jsbucket",
              Condition: { StringLike: { "s3:prefix": [`${sub}/*`] } } },
            { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `arn:aws:s3:::jsbucket/${sub}/*` },
            { Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
              Resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/JsTable`,
              Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [sub] } } },
          ],
        }),
      }),
    );

    const idp = server.client();
    const pool = (await idp.send(new CreateUserPoolCommand({ PoolName: unique("gw") }))).UserPool;
    const app = (
      await idp.send(new CreateUserPoolClientCommand({
        UserPoolId: pool.Id, ClientName: "web", ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      }))
    ).UserPoolClient;
    const username = unique("js");
    const pw = password();
    await idp.send(new SignUpCommand({ ClientId: app.ClientId, Username: username, Password: pw,
      UserAttributes: [{ Name: "email", Value: `${username}@example.com` }] }));
    await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: pool.Id, Username: username }));
    const auth = await idp.send(new InitiateAuthCommand({
      ClientId: app.ClientId, AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: username, PASSWORD: pw },
    }));
    const loginKey = server.issuer(pool.Id).replace(/^https?:\/\//, "");
    const ci = new CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 });
    const identityPoolId = (await ci.send(new CreateIdentityPoolCommand({
      IdentityPoolName: "js_gateway", AllowUnauthenticatedIdentities: false,
      CognitoIdentityProviders: [{ ProviderName: loginKey, ClientId: app.ClientId }],
    }))).IdentityPoolId;
    await ci.send(new SetIdentityPoolRolesCommand({
      IdentityPoolId: identityPoolId, Roles: { authenticated: `arn:aws:iam::${ACCOUNT}:role/JsAuth` },
    }));
    const provider = fromCognitoIdentityPool({
      identityPoolId,
      logins: { [loginKey]: auth.AuthenticationResult.IdToken },
      clientConfig: { region: REGION, endpoint: server.endpoint },
    });
    creds = await provider();
    identityId = creds.identityId;
    assert.match(creds.accessKeyId, /^ASIA/);
  });

  after(async () => {
    await server?.stop();
    moto?.kill("SIGTERM");
  });

  const s3 = () => new S3Client({ region: REGION, endpoint: gateway, credentials: creds, forcePathStyle: true, maxAttempts: 1 });
  const ddb = () => new DynamoDBClient({ region: REGION, endpoint: gateway, credentials: creds, maxAttempts: 1 });
  const motoS3 = () => new S3Client({ region: REGION, endpoint: motoUrl, credentials: backendCreds, forcePathStyle: true });

  test("S3: own prefix allowed (SDK default checksums), others denied and never stored", async () => {
    const body = "x".repeat(200_000);
    await s3().send(new PutObjectCommand({ Bucket: "jsbucket", Key: `${identityId}/a.txt`, Body: body }));
    const back = await motoS3().send(new GetObjectCommand({ Bucket: "jsbucket", Key: `${identityId}/a.txt` }));
    assert.equal(await back.Body.transformToString(), body);
    const got = await s3().send(new GetObjectCommand({ Bucket: "jsbucket", Key: `${identityId}/a.txt` }));
    assert.equal(await got.Body.transformToString(), body);
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: "jsbucket", Prefix: `${identityId}/` }));
    assert.deepEqual(listed.Contents.map((o) => o.Key), [`${identityId}/a.txt`]);

    await assert.rejects(
      s3().send(new PutObjectCommand({ Bucket: "jsbucket", Key: "someone-else/a.txt", Body: "x" })),
      (e) => e.name === "AccessDenied" && e.$metadata.httpStatusCode === 403,
    );
    await assert.rejects(
      s3().send(new ListObjectsV2Command({ Bucket: "jsbucket" })),
      (e) => e.name === "AccessDenied",
    );
    const all = await motoS3().send(new ListObjectsV2Command({ Bucket: "jsbucket" }));
    assert.deepEqual(all.Contents.map((o) => o.Key), [`${identityId}/a.txt`]);
  });

  test("DynamoDB: own partition allowed, others denied with AWS's message", async () => {
    await ddb().send(new PutItemCommand({ TableName: "JsTable", Item: { pk: { S: identityId }, v: { S: "1" } } }));
    const got = await ddb().send(new GetItemCommand({ TableName: "JsTable", Key: { pk: { S: identityId } } }));
    assert.equal(got.Item.v.S, "1");
    const q = await ddb().send(new QueryCommand({
      TableName: "JsTable", KeyConditionExpression: "pk = :p", ExpressionAttributeValues: { ":p": { S: identityId } },
    }));
    assert.equal(q.Count, 1);
    await assert.rejects(
      ddb().send(new PutItemCommand({ TableName: "JsTable", Item: { pk: { S: "other" } } })),
      (e) =>
        e.name === "AccessDeniedException" &&
        e.$metadata.httpStatusCode === 400 &&
        e.message.startsWith(
          `User: arn:aws:sts::${ACCOUNT}:assumed-role/JsAuth/CognitoIdentityCredentials is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/JsTable`,
        ),
    );
    await assert.rejects(ddb().send(new ScanCommand({ TableName: "JsTable" })), (e) => e.name === "AccessDeniedException");
    const direct = new DynamoDBClient({ region: REGION, endpoint: motoUrl, credentials: backendCreds });
    const other = await direct.send(new GetItemCommand({ TableName: "JsTable", Key: { pk: { S: "other" } } }));
    assert.equal(other.Item, undefined);
  });
});
