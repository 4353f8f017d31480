// SAML federation to "AWS" with unmodified AWS SDK for JavaScript v3 clients: a samlify IdP
// (npm, not ours) set up exactly as for AWS (audience `urn:amazon:webservices`, recipient
// https://signin.aws.amazon.com/saml, the `…/SAML/Attributes/Role` and `RoleSessionName`
// attributes), registered in Tessera's IAM with CreateSAMLProvider. Then:
// - STS AssumeRoleWithSAML: the role's trust policy checked with the `SAML:*` keys, the
//   assertion's signature, audience, recipient and time window checked, session tags from
//   `PrincipalTag:` attributes, and STS's own answers (Subject, SubjectType, Issuer, Audience,
//   NameQualifier);
// - identity pools: the provider's ARN as the Logins key of GetId / GetCredentialsForIdentity
//   and `fromCognitoIdentityPool`, the role picked from the assertion's Role attribute with
//   CustomRoleArn, or by a Rules role mapping on its attributes.
// The credentials are then used: STS GetCallerIdentity signed with them.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AssumeRoleWithSAMLCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { CreateRoleCommand, CreateSAMLProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  SetIdentityPoolRolesCommand,
} from "@aws-sdk/client-cognito-identity";
import { fromCognitoIdentityPool } from "@aws-sdk/credential-providers";
import { REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, startServer, unique } from "../lib/server.mjs";
import { awsServiceProvider, startSamlIdp } from "../lib/saml-idp.mjs";

const ACCOUNT = "000000000000";
const ROLE = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_NAME = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const role = (name) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let server;
let idp;
let otherIdp;
let iam;
let providerArn;
const aws = awsServiceProvider();

const root = () => ({
  region: REGION,
  endpoint: server.endpoint,
  credentials: { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY },
  maxAttempts: 1,
});
const unsignedSts = () => new STSClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1 });

async function createRole(name, statement) {
  await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }),
    }),
  );
}

/** A signed response for AWS from `from` (the registered IdP by default). */
async function assertion(login, overrides = {}, from = idp) {
  return (await from.response(login, { sp: aws, overrides })).samlResponse;
}

async function callerWith(credentials) {
  const sts = new STSClient({ region: REGION, endpoint: server.endpoint, credentials, maxAttempts: 1 });
  return sts.send(new GetCallerIdentityCommand({}));
}

/** The error's wire code (`Code` in STS's XML; the SDK's class name may add "Exception"). */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return { name: e.Code ?? e.name, message: e.message };
  }
  assert.fail("the call was accepted");
}

before(async () => {
  server = await startServer();
  const users = new Map([
    [
      "alice",
      {
        password: "pw",
        attributes: {
          [SESSION_NAME]: "alice@corp.example",
          [ROLE]: [
            // Both orders of the pair appear in IdP set-up guides.
            `${role("SamlReader")},arn:aws:iam::${ACCOUNT}:saml-provider/Corp`,
            `arn:aws:iam::${ACCOUNT}:saml-provider/Corp,${role("SamlAdmin")}`,
            `${role("IdReader")},arn:aws:iam::${ACCOUNT}:saml-provider/Corp`,
            `${role("IdWriter")},arn:aws:iam::${ACCOUNT}:saml-provider/Corp`,
            `${role("SamlAnyEndpoint")},arn:aws:iam::${ACCOUNT}:saml-provider/Corp`,
          ],
          "https://aws.amazon.com/SAML/Attributes/PrincipalTag:team": "blue",
          "urn:oid:2.5.4.3": "Alice Corp",
          department: ["R&D", "Ops"],
        },
      },
    ],
    [
      "mallory",
      {
        password: "pw",
        attributes: { [ROLE]: [`${role("IdReader")},arn:aws:iam::${ACCOUNT}:saml-provider/Corp`], department: "Sales" },
      },
    ],
  ]);
  idp = await startSamlIdp({ users });
  otherIdp = await startSamlIdp({ users });
  iam = new IAMClient(root());
  providerArn = (
    await iam.send(new CreateSAMLProviderCommand({ Name: "Corp", SAMLMetadataDocument: idp.metadata() }))
  ).SAMLProviderArn;
  assert.equal(providerArn, `arn:aws:iam::${ACCOUNT}:saml-provider/Corp`);
  const samlTrust = (conditions, actions = "sts:AssumeRoleWithSAML") => ({
    Effect: "Allow",
    Principal: { Federated: providerArn },
    Action: actions,
    Condition: conditions,
  });
  await createRole(
    "SamlReader",
    samlTrust(
      {
        StringEquals: { "SAML:aud": "https://signin.aws.amazon.com/saml", "SAML:cn": "Alice Corp" },
        StringLike: { "SAML:iss": `${idp.base}/*` },
      },
      ["sts:AssumeRoleWithSAML", "sts:TagSession"],
    ),
  );
  // Offered to alice, but its trust policy wants another subject.
  await createRole("SamlAdmin", samlTrust({ StringEquals: { "SAML:sub": "bob" } }, ["sts:AssumeRoleWithSAML", "sts:TagSession"]));
  // Any of AWS's sign-in endpoints (a trust policy sees the recipient as SAML:aud).
  await createRole(
    "SamlAnyEndpoint",
    samlTrust({ StringLike: { "SAML:aud": "https://*signin.aws.amazon.com/saml" } }, ["sts:AssumeRoleWithSAML", "sts:TagSession"]),
  );
  // Trusts the provider but not session tags: alice's PrincipalTag attribute is refused.
  await createRole("SamlUntagged", samlTrust({ StringEquals: { "SAML:aud": "https://signin.aws.amazon.com/saml" } }));
});

after(async () => {
  await idp?.close();
  await otherIdp?.close();
  await server?.stop();
});

describe("STS AssumeRoleWithSAML", () => {
  test("a signed assertion for AWS gets credentials for a role it offers, as STS answers", async () => {
    const SAMLAssertion = await assertion("alice");
    const out = await unsignedSts().send(
      new AssumeRoleWithSAMLCommand({ RoleArn: role("SamlReader"), PrincipalArn: providerArn, SAMLAssertion }),
    );
    assert.equal(out.Subject, "alice");
    assert.equal(out.SubjectType, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");
    assert.equal(out.Issuer, idp.entityId);
    assert.equal(out.Audience, "https://signin.aws.amazon.com/saml");
    const qualifier = createHash("sha1").update(`${idp.entityId}${ACCOUNT}/Corp`).digest("base64");
    assert.equal(out.NameQualifier, qualifier);
    assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/SamlReader/alice@corp.example`);
    assert.match(out.Credentials.AccessKeyId, /^ASIA/);
    const lifetime = out.Credentials.Expiration.getTime() - Date.now();
    assert.ok(lifetime > 3500e3 && lifetime <= 3600e3, `default session is an hour, got ${lifetime} ms`);
    const who = await callerWith({
      accessKeyId: out.Credentials.AccessKeyId,
      secretAccessKey: out.Credentials.SecretAccessKey,
      sessionToken: out.Credentials.SessionToken,
    });
    assert.equal(who.Arn, out.AssumedRoleUser.Arn);
    // As on AWS, one assertion may be redeemed again within its validity (tools assume
    // several roles with one sign-in).
    const again = await unsignedSts().send(
      new AssumeRoleWithSAMLCommand({ RoleArn: role("SamlReader"), PrincipalArn: providerArn, SAMLAssertion, DurationSeconds: 900 }),
    );
    assert.notEqual(again.Credentials.AccessKeyId, out.Credentials.AccessKeyId);
  });

  test("an assertion addressed to the region's sign-in endpoint is accepted too", async () => {
    const acs = `https://${REGION}.signin.aws.amazon.com/saml`;
    const SAMLAssertion = (await idp.response("alice", { sp: awsServiceProvider(acs) })).samlResponse;
    const out = await unsignedSts().send(
      new AssumeRoleWithSAMLCommand({ RoleArn: role("SamlAnyEndpoint"), PrincipalArn: providerArn, SAMLAssertion }),
    );
    assert.equal(out.Audience, acs);
    // A trust policy that names the global endpoint doesn't take it.
    const refused = await refusal(
      unsignedSts().send(new AssumeRoleWithSAMLCommand({ RoleArn: role("SamlReader"), PrincipalArn: providerArn, SAMLAssertion })),
    );
    assert.equal(refused.name, "AccessDenied");
  });

  test("roles the assertion doesn't offer, or whose trust policy says no, are refused", async () => {
    const SAMLAssertion = await assertion("alice");
    const denied = { name: "AccessDenied", message: "Not authorized to perform sts:AssumeRoleWithSAML" };
    for (const RoleArn of [role("NotOffered"), role("SamlAdmin"), role("SamlUntagged")]) {
      assert.deepEqual(
        await refusal(unsignedSts().send(new AssumeRoleWithSAMLCommand({ RoleArn, PrincipalArn: providerArn, SAMLAssertion }))),
        denied,
        RoleArn,
      );
    }
  });

  test("forged, misaddressed, expired and unknown-provider assertions get STS's errors", async () => {
    const send = async (SAMLAssertion, PrincipalArn = providerArn) =>
      refusal(unsignedSts().send(new AssumeRoleWithSAMLCommand({ RoleArn: role("SamlReader"), PrincipalArn, SAMLAssertion })));
    const good = Buffer.from(await assertion("alice"), "base64").toString("utf8");
    const tampered = Buffer.from(good.replace("alice@corp.example", "admin@corp.example")).toString("base64");
    assert.deepEqual(await send(tampered), { name: "InvalidIdentityToken", message: "Response signature invalid" });
    // Signed by another IdP's key, claiming to be ours.
    const impostor = await assertion("alice", { Issuer: idp.entityId }, otherIdp);
    assert.deepEqual(await send(impostor), { name: "InvalidIdentityToken", message: "Response signature invalid" });
    // Another audience (a Cognito user pool's SP), and another recipient.
    const elsewhere = await assertion("alice", { Audience: "urn:amazon:cognito:sp:us-east-1_abc" });
    assert.equal((await send(elsewhere)).name, "InvalidIdentityToken");
    const misaddressed = await assertion("alice", {
      Recipient: "https://evil.example/saml",
      Destination: "https://evil.example/saml",
    });
    assert.equal((await send(misaddressed)).name, "InvalidIdentityToken");
    const past = new Date(Date.now() - 20 * 60e3).toISOString();
    const expired = await assertion("alice", { NotOnOrAfter: past, SubjectNotOnOrAfter: past, IssueInstant: past, NotBefore: past });
    assert.deepEqual(await send(expired), {
      name: "ExpiredTokenException",
      message: "Token must be redeemed within 5 minutes of issuance",
    });
    assert.deepEqual(await send(await assertion("alice"), `arn:aws:iam::${ACCOUNT}:saml-provider/Nobody`), {
      name: "InvalidIdentityToken",
      message: "Specified provider doesn't exist",
    });
  });

  test("an assertion without a RoleSessionName is refused as STS refuses it", async () => {
    const out = await refusal(
      unsignedSts().send(
        new AssumeRoleWithSAMLCommand({
          RoleArn: role("IdReader"),
          PrincipalArn: providerArn,
          SAMLAssertion: await assertion("mallory"),
        }),
      ),
    );
    assert.deepEqual(out, {
      name: "InvalidIdentityToken",
      message: "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
    });
  });
});

describe("identity pools with a SAML provider", () => {
  let ci;
  let identityPoolId;

  before(async () => {
    ci = new CognitoIdentityClient(root());
    identityPoolId = (
      await ci.send(
        new CreateIdentityPoolCommand({
          IdentityPoolName: unique("saml_pool"),
          AllowUnauthenticatedIdentities: false,
          SamlProviderARNs: [providerArn],
        }),
      )
    ).IdentityPoolId;
    // GetCredentialsForIdentity assumes the role for the identity as Cognito does: the role
    // must trust the identity pool (not the SAML provider).
    const poolTrust = {
      Effect: "Allow",
      Principal: { Federated: "cognito-identity.amazonaws.com" },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
        "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
      },
    };
    for (const name of ["IdReader", "IdWriter", "IdOps", "IdDefault"]) await createRole(name, poolTrust);
    await ci.send(new SetIdentityPoolRolesCommand({ IdentityPoolId: identityPoolId, Roles: { authenticated: role("IdDefault") } }));
  });

  const identityClient = () => new CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1 });

  test("the Role attribute offers the roles and CustomRoleArn picks one", async () => {
    const Logins = { [providerArn]: await assertion("alice") };
    const { IdentityId } = await identityClient().send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins }));
    assert.match(IdentityId, /^us-east-1:[0-9a-f-]{36}$/);
    // Several roles offered: the caller must choose.
    const ambiguous = await refusal(identityClient().send(new GetCredentialsForIdentityCommand({ IdentityId, Logins })));
    assert.equal(ambiguous.name, "NotAuthorizedException");
    const notOffered = await refusal(
      identityClient().send(new GetCredentialsForIdentityCommand({ IdentityId, Logins, CustomRoleArn: role("IdOps") })),
    );
    assert.equal(notOffered.name, "NotAuthorizedException");
    const out = await identityClient().send(
      new GetCredentialsForIdentityCommand({ IdentityId, Logins, CustomRoleArn: role("IdWriter") }),
    );
    assert.equal(out.IdentityId, IdentityId);
    const who = await callerWith({
      accessKeyId: out.Credentials.AccessKeyId,
      secretAccessKey: out.Credentials.SecretKey,
      sessionToken: out.Credentials.SessionToken,
    });
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/IdWriter/CognitoIdentityCredentials`);
    // The same user from a later sign-in is the same identity.
    const later = await identityClient().send(
      new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [providerArn]: await assertion("alice") } }),
    );
    assert.equal(later.IdentityId, IdentityId);
  });

  test("fromCognitoIdentityPool: one role offered is the role", async () => {
    const credentials = fromCognitoIdentityPool({
      identityPoolId,
      logins: { [providerArn]: await assertion("mallory") },
      clientConfig: { region: REGION, endpoint: server.endpoint },
    });
    const who = await callerWith(credentials);
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/IdReader/CognitoIdentityCredentials`);
  });

  test("a Rules role mapping on the assertion's attributes chooses the role", async () => {
    await ci.send(
      new SetIdentityPoolRolesCommand({
        IdentityPoolId: identityPoolId,
        Roles: { authenticated: role("IdDefault") },
        RoleMappings: {
          [providerArn]: {
            Type: "Rules",
            AmbiguousRoleResolution: "Deny",
            RulesConfiguration: { Rules: [{ Claim: "department", MatchType: "Contains", Value: "Ops", RoleARN: role("IdOps") }] },
          },
        },
      }),
    );
    try {
      const ops = fromCognitoIdentityPool({
        identityPoolId,
        logins: { [providerArn]: await assertion("alice") },
        clientConfig: { region: REGION, endpoint: server.endpoint },
      });
      assert.equal((await callerWith(ops)).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/IdOps/CognitoIdentityCredentials`);
      const Logins = { [providerArn]: await assertion("mallory") };
      const { IdentityId } = await identityClient().send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins }));
      const denied = await refusal(identityClient().send(new GetCredentialsForIdentityCommand({ IdentityId, Logins })));
      assert.equal(denied.name, "NotAuthorizedException");
    } finally {
      await ci.send(new SetIdentityPoolRolesCommand({ IdentityPoolId: identityPoolId, Roles: { authenticated: role("IdDefault") } }));
    }
  });

  test("a forged or foreign assertion is refused", async () => {
    const good = Buffer.from(await assertion("alice"), "base64").toString("utf8");
    const tampered = Buffer.from(good.replace("Alice Corp", "Mallory")).toString("base64");
    const forged = await refusal(
      identityClient().send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [providerArn]: tampered } })),
    );
    assert.deepEqual(forged, {
      name: "NotAuthorizedException",
      message: "Invalid login token. Couldn't verify signed SAML response.",
    });
    const foreign = await refusal(
      identityClient().send(
        new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [providerArn]: await assertion("alice", {}, otherIdp) } }),
      ),
    );
    assert.equal(foreign.name, "NotAuthorizedException");
  });
});
