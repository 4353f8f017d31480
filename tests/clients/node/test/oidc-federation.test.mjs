// Logins from a third-party OpenID Connect provider: `oauth2-mock-server` is the provider (its
// own keys, discovery document and JWKS on 127.0.0.1), registered in Tessera's IAM with
// CreateOpenIDConnectProvider and listed in an identity pool's OpenIdConnectProviderARNs.
// Tessera fetches the provider's keys itself (started with --allow-private-oidc, since the
// provider is on loopback). Then: `fromCognitoIdentityPool` with its ID token + STS
// GetCallerIdentity, role mapping Rules on its claims, AssumeRoleWithWebIdentity with the same
// token, and the refusals (wrong audience, expired, signed by another key, unregistered issuer).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createSign, generateKeyPairSync } from "node:crypto";
import { OAuth2Server } from "oauth2-mock-server";
import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetIdCommand,
  GetCredentialsForIdentityCommand,
  GetOpenIdTokenCommand,
  SetIdentityPoolRolesCommand,
} from "@aws-sdk/client-cognito-identity";
import { fromCognitoIdentityPool } from "@aws-sdk/credential-providers";
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  IAMClient,
} from "@aws-sdk/client-iam";
import { REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, startServer } from "../lib/server.mjs";

const ACCOUNT = "000000000000";
const CLIENT_ID = "tessera-node-app";
const root = { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY };

let server;
let provider; // the registered third-party OIDC provider
let stranger; // a provider nobody registered
let loginKey; // "127.0.0.1:PORT/realm"
let providerArn;
let identityPoolId;
let ci;
let sts;

// An oauth2-mock-server on 127.0.0.1 whose issuer is `http://127.0.0.1:PORT/realm` (a path, as
// Keycloak's realms have: IAM condition keys are `{host/path}:aud`, and a policy key may hold
// only one colon before its first `/`, so a bare `127.0.0.1:PORT:aud` couldn't be written).
async function startProvider() {
  const s = new OAuth2Server(undefined, undefined, {
    endpoints: { wellKnownDocument: "/realm/.well-known/openid-configuration" },
  });
  await s.issuer.keys.generate("RS256");
  await s.start(0, "127.0.0.1");
  const origin = `http://127.0.0.1:${s.address().port}`;
  s.issuer.url = `${origin}/realm`;
  // The key set stays at /jwks; the discovery document says so.
  s.service.on("beforeWellKnownOpenIdConfiguration", (response) => {
    response.body.jwks_uri = `${origin}/jwks`;
  });
  return s;
}

// An ID token of `s`; `claims` overrides the defaults (aud = CLIENT_ID).
function idToken(s, claims = {}, kid = undefined) {
  return s.issuer.buildToken({
    kid,
    scopesOrTransform: (_header, payload) => {
      payload.aud = CLIENT_ID;
      payload.sub = "third-party-user-1";
      payload.email = "someone@example.com";
      Object.assign(payload, claims);
    },
  });
}

function b64url(v) {
  return Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
}

// A token that claims to be the provider's (its issuer and its key's kid) but is signed with a
// key the provider never published.
async function forgedToken() {
  const genuine = await idToken(provider);
  const [header, payload] = genuine.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url");
  return `${input}.${signature}`;
}

function trust(federated, conditions) {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: federated },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: conditions,
      },
    ],
  });
}

async function expectError(promise, name, message) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (message instanceof RegExp) assert.match(e.message, message);
    else if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

describe("logins from a third-party OIDC provider (oauth2-mock-server)", () => {
  before(async () => {
    provider = await startProvider();
    stranger = await startProvider();
    loginKey = provider.issuer.url.replace(/^https?:\/\//, "");
    server = await startServer({ args: ["--allow-private-oidc"] });
    const iam = new IAMClient({ region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 });
    ci = new CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 });
    sts = new STSClient({ region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 });

    providerArn = (
      await iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: provider.issuer.url,
          ClientIDList: [CLIENT_ID],
          ThumbprintList: ["0".repeat(40)],
        }),
      )
    ).OpenIDConnectProviderArn;
    assert.equal(providerArn, `arn:aws:iam::${ACCOUNT}:oidc-provider/${loginKey}`);

    identityPoolId = (
      await ci.send(
        new CreateIdentityPoolCommand({
          IdentityPoolName: "node_oidc_pool",
          AllowUnauthenticatedIdentities: false,
          OpenIdConnectProviderARNs: [providerArn],
        }),
      )
    ).IdentityPoolId;
    // The pool's roles: they trust the pool, and only for logins of this provider (its host in amr).
    for (const name of ["OidcAuth", "OidcAdmins"]) {
      await iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: trust("cognito-identity.amazonaws.com", {
            StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
            "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": loginKey },
          }),
        }),
      );
    }
    // A role for AssumeRoleWithWebIdentity straight from the provider's token.
    await iam.send(
      new CreateRoleCommand({
        RoleName: "OidcDirect",
        AssumeRolePolicyDocument: trust(providerArn, {
          StringEquals: { [`${loginKey}:aud`]: CLIENT_ID, [`${loginKey}:sub`]: "third-party-user-1" },
        }),
      }),
    );
    await ci.send(
      new SetIdentityPoolRolesCommand({
        IdentityPoolId: identityPoolId,
        Roles: { authenticated: `arn:aws:iam::${ACCOUNT}:role/OidcAuth` },
        RoleMappings: {
          [loginKey]: {
            Type: "Rules",
            AmbiguousRoleResolution: "AuthenticatedRole",
            RulesConfiguration: {
              Rules: [
                {
                  Claim: "group",
                  MatchType: "Equals",
                  Value: "admins",
                  RoleARN: `arn:aws:iam::${ACCOUNT}:role/OidcAdmins`,
                },
              ],
            },
          },
        },
      }),
    );
  });

  after(async () => {
    await server?.stop();
    await provider?.stop();
    await stranger?.stop();
  });

  async function callerWith(token) {
    const credentials = fromCognitoIdentityPool({
      identityPoolId,
      logins: { [loginKey]: token },
      clientConfig: { region: REGION, endpoint: server.endpoint },
    });
    const client = new STSClient({ region: REGION, endpoint: server.endpoint, credentials, maxAttempts: 1 });
    return client.send(new GetCallerIdentityCommand({}));
  }

  test("fromCognitoIdentityPool with the provider's ID token gets working credentials", async () => {
    const me = await callerWith(await idToken(provider));
    assert.equal(me.Account, ACCOUNT);
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/OidcAuth/CognitoIdentityCredentials`);
  });

  test("the same provider user always finds the same identity", async () => {
    const id = async () =>
      (
        await ci.send(
          new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [loginKey]: await idToken(provider) } }),
        )
      ).IdentityId;
    const first = await id();
    assert.equal(await id(), first);
    const other = (
      await ci.send(
        new GetIdCommand({
          IdentityPoolId: identityPoolId,
          Logins: { [loginKey]: await idToken(provider, { sub: "third-party-user-2" }) },
        }),
      )
    ).IdentityId;
    assert.notEqual(other, first);
  });

  test("GetOpenIdToken (classic flow) accepts the provider's login", async () => {
    const logins = { [loginKey]: await idToken(provider) };
    const { IdentityId } = await ci.send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: logins }));
    const out = await ci.send(new GetOpenIdTokenCommand({ IdentityId, Logins: logins }));
    assert.equal(out.IdentityId, IdentityId);
    const claims = JSON.parse(Buffer.from(out.Token.split(".")[1], "base64url"));
    assert.equal(claims.sub, IdentityId);
    assert.equal(claims.aud, identityPoolId);
    assert.ok(claims.amr.includes("authenticated") && claims.amr.includes(loginKey), JSON.stringify(claims.amr));
    await expectError(
      ci.send(new GetOpenIdTokenCommand({ IdentityId, Logins: { [loginKey]: await forgedToken() } })),
      "NotAuthorizedException",
      "Invalid login token. Couldn't verify signed token.",
    );
  });

  test("role mapping Rules read the provider token's claims", async () => {
    const me = await callerWith(await idToken(provider, { group: "admins" }));
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/OidcAdmins/CognitoIdentityCredentials`);
  });

  test("refusals carry Cognito's messages", async () => {
    const getId = async (token, key = loginKey) =>
      ci.send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [key]: token } }));
    await expectError(
      getId(await idToken(provider, { aud: "someone-else" })),
      "NotAuthorizedException",
      "Token is not from a supported provider of this identity pool.",
    );
    const now = Math.floor(Date.now() / 1000);
    await expectError(
      getId(await idToken(provider, { exp: now - 600, iat: now - 4200, nbf: now - 4200 })),
      "NotAuthorizedException",
      /^Invalid login token\. Token expired: \d+ >= \d+$/,
    );
    await expectError(
      getId(await forgedToken()),
      "NotAuthorizedException",
      "Invalid login token. Couldn't verify signed token.",
    );
    // The provider's key, but another provider's token: the issuer doesn't match the key.
    await expectError(
      getId(await idToken(stranger)),
      "NotAuthorizedException",
      "Invalid login token. Issuer doesn't match providerName",
    );
    // An issuer no IAM provider (and no pool setting) names.
    const strangerKey = stranger.issuer.url.replace(/^https?:\/\//, "");
    await expectError(
      getId(await idToken(stranger), strangerKey),
      "NotAuthorizedException",
      "Logins don't match. Please include at least one valid login for this identity or identity pool.",
    );
    // GetCredentialsForIdentity checks the token again.
    const { IdentityId } = await getId(await idToken(provider));
    await expectError(
      ci.send(
        new GetCredentialsForIdentityCommand({
          IdentityId,
          Logins: { [loginKey]: await forgedToken() },
        }),
      ),
      "NotAuthorizedException",
      "Invalid login token. Couldn't verify signed token.",
    );
  });

  test("AssumeRoleWithWebIdentity accepts the provider's token", async () => {
    const token = await idToken(provider);
    const out = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/OidcDirect`,
        RoleSessionName: "oidc-direct",
        WebIdentityToken: token,
      }),
    );
    assert.equal(out.SubjectFromWebIdentityToken, "third-party-user-1");
    assert.equal(out.Audience, CLIENT_ID);
    assert.equal(out.Provider, provider.issuer.url);
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
    const signed = new STSClient({
      region: REGION,
      endpoint: server.endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: out.Credentials.AccessKeyId,
        secretAccessKey: out.Credentials.SecretAccessKey,
        sessionToken: out.Credentials.SessionToken,
      },
    });
    const me = await signed.send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/OidcDirect/oidc-direct`);
  });

  test("AssumeRoleWithWebIdentity refusals", async () => {
    const assume = (token) =>
      sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/OidcDirect`,
          RoleSessionName: "oidc-direct",
          WebIdentityToken: token,
        }),
      );
    await expectError(
      assume(await idToken(provider, { aud: "someone-else" })),
      "InvalidIdentityTokenException",
      "Incorrect token audience",
    );
    const now = Math.floor(Date.now() / 1000);
    await expectError(
      assume(await idToken(provider, { exp: now - 600, iat: now - 4200, nbf: now - 4200 })),
      "ExpiredTokenException",
      /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
    );
    await expectError(
      assume(await forgedToken()),
      "InvalidIdentityTokenException",
      "Couldn't verify the signature of the ID Token.",
    );
    await expectError(
      assume(await idToken(stranger)),
      "InvalidIdentityTokenException",
      `No OpenIDConnect provider found in your account for ${stranger.issuer.url}`,
    );
    // Another subject: the trust policy's sub condition refuses it.
    await expectError(
      assume(await idToken(provider, { sub: "third-party-user-2" })),
      "AccessDenied",
      "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
  });

  test("without --allow-private-oidc the outbound guard keeps Tessera off loopback", async () => {
    const guarded = await startServer();
    try {
      const iam = new IAMClient({ region: REGION, endpoint: guarded.endpoint, credentials: root, maxAttempts: 1 });
      const arn = (
        await iam.send(
          new CreateOpenIDConnectProviderCommand({
            Url: provider.issuer.url,
            ClientIDList: [CLIENT_ID],
            ThumbprintList: ["0".repeat(40)],
          }),
        )
      ).OpenIDConnectProviderArn;
      await iam.send(new CreateRoleCommand({ RoleName: "OidcGuarded", AssumeRolePolicyDocument: trust(arn, {}) }));
      const guardedSts = new STSClient({ region: REGION, endpoint: guarded.endpoint, credentials: root, maxAttempts: 1 });
      await expectError(
        guardedSts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: `arn:aws:iam::${ACCOUNT}:role/OidcGuarded`,
            RoleSessionName: "guarded",
            WebIdentityToken: await idToken(provider),
          }),
        ),
        "IDPCommunicationErrorException",
        /^Couldn't retrieve verification key from your identity provider/,
      );
    } finally {
      await guarded.stop();
    }
  });

  test("a rotated-in ES256 key is found by refetching the key set on its unknown kid", async () => {
    // Tessera has the provider's key set cached; the provider now publishes a second key.
    await provider.issuer.keys.generate("ES256", { kid: "rotated-es256" });
    const token = await idToken(provider, {}, "rotated-es256");
    assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).alg, "ES256");
    // Refetches on unknown kids are spaced (10 s), so the first tries may still be refused.
    const deadline = Date.now() + 15000;
    let me;
    while (!me) {
      try {
        me = await callerWith(token);
      } catch (e) {
        assert.match(e.message, /Couldn't verify signed token/);
        assert.ok(Date.now() < deadline, "the new key was never fetched");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/OidcAuth/CognitoIdentityCredentials`);
  });
});
