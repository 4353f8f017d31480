// MFA and remembered devices with amazon-cognito-identity-js, the client under Amplify-style
// apps, against the real Tessera binary: the library runs unmodified, with its own callbacks
// (totpRequired, mfaSetup, selectMFAType), its own TOTP set-up calls, and its own device handling
// (it confirms a new device itself and keeps the device secret in its storage). TOTP codes come
// from lib/totp.mjs (RFC 6238 with node:crypto) on the real clock.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminConfirmSignUpCommand,
  AdminGetDeviceCommand,
  AdminGetUserCommand,
  AdminListDevicesCommand,
  AdminSetUserMFAPreferenceCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  GetUserCommand,
  SetUserPoolMfaConfigCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from "amazon-cognito-identity-js";
import { startServer, unique, password } from "../lib/server.mjs";
import { Authenticator, wrongCode } from "../lib/totp.mjs";

const FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
const MISMATCH = "Invalid code or auth state for the user.";

let server;
let idp;

/** An app's storage (what localStorage is in a browser): one per "browser". */
class AppStorage {
  constructor() {
    this.data = {};
  }
  setItem(key, value) {
    this.data[key] = String(value);
  }
  getItem(key) {
    return Object.prototype.hasOwnProperty.call(this.data, key) ? this.data[key] : undefined;
  }
  removeItem(key) {
    delete this.data[key];
  }
  clear() {
    this.data = {};
  }
}

/** A pool with MFA `mode` (TOTP, plus SMS when `sms`), optional device tracking, and a public
 * client. */
async function makePool({ mode = "OPTIONAL", sms = false, devices = null } = {}) {
  const poolId = (
    await idp.send(
      new CreateUserPoolCommand({
        PoolName: unique("mfa"),
        ...(devices ? { DeviceConfiguration: devices } : {}),
      }),
    )
  ).UserPool.Id;
  await idp.send(
    new SetUserPoolMfaConfigCommand({
      UserPoolId: poolId,
      MfaConfiguration: mode,
      SoftwareTokenMfaConfiguration: { Enabled: true },
      ...(sms ? { SmsMfaConfiguration: { SmsAuthenticationMessage: "Code {####}" } } : {}),
    }),
  );
  const client = (
    await idp.send(
      new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: unique("mfa"), ExplicitAuthFlows: FLOWS }),
    )
  ).UserPoolClient;
  return {
    poolId,
    client,
    pool: () => new CognitoUserPool({ UserPoolId: poolId, ClientId: client.ClientId, endpoint: `${server.endpoint}/` }),
  };
}

async function signUpConfirmed(p, attrs = {}) {
  const username = unique("acij");
  const pw = password();
  await idp.send(
    new SignUpCommand({
      ClientId: p.client.ClientId,
      Username: username,
      Password: pw,
      UserAttributes: Object.entries({ email: `${username}@example.com`, ...attrs }).map(([Name, Value]) => ({ Name, Value })),
    }),
  );
  await idp.send(new AdminConfirmSignUpCommand({ UserPoolId: p.poolId, Username: username }));
  return { username, pw };
}

/** Every callback authenticateUser / sendMFACode / sendMFASelectionAnswer may end in, as one
 * promise: {kind, ...}. Rejects with what onFailure got. */
function outcome(resolve, reject) {
  const step = (kind) => (challengeName, params) => resolve({ kind, challengeName, params });
  return {
    onSuccess: (session, userConfirmationNecessary) => resolve({ kind: "success", session, userConfirmationNecessary }),
    onFailure: reject,
    totpRequired: step("totpRequired"),
    mfaRequired: step("mfaRequired"),
    selectMFAType: step("selectMFAType"),
    mfaSetup: step("mfaSetup"),
    newPasswordRequired: () => resolve({ kind: "newPasswordRequired" }),
    customChallenge: () => resolve({ kind: "customChallenge" }),
  };
}

function user(p, username, storage = new AppStorage()) {
  return new CognitoUser({ Username: username, Pool: p.pool(), Storage: storage });
}

function authenticate(u, pw) {
  return new Promise((resolve, reject) =>
    u.authenticateUser(new AuthenticationDetails({ Username: u.getUsername(), Password: pw }), outcome(resolve, reject)),
  );
}

function sendMFACode(u, code, type = "SOFTWARE_TOKEN_MFA") {
  return new Promise((resolve, reject) => u.sendMFACode(code, outcome(resolve, reject), type));
}

function selectMFAType(u, answer) {
  return new Promise((resolve, reject) => u.sendMFASelectionAnswer(answer, outcome(resolve, reject)));
}

function associateSoftwareToken(u) {
  return new Promise((resolve, reject) => u.associateSoftwareToken({ associateSecretCode: resolve, onFailure: reject }));
}

function verifySoftwareToken(u, code, name) {
  return new Promise((resolve, reject) => u.verifySoftwareToken(code, name, { onSuccess: resolve, onFailure: reject }));
}

const call = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
const cb = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));

async function expectFailure(promise, code, message) {
  const err = await promise.then(
    (ok) => assert.fail(`expected ${code}, got ${JSON.stringify(ok.kind ?? ok)}`),
    (e) => e,
  );
  assert.equal(err.code, code, `${err.code}: ${err.message}`);
  if (message !== undefined) assert.equal(err.message, message);
  return err;
}

async function mfaSettings(p, username) {
  const u = await idp.send(new AdminGetUserCommand({ UserPoolId: p.poolId, Username: username }));
  return [u.UserMFASettingList, u.PreferredMfaSetting];
}

/** Signs in (no MFA yet) and enrols an authenticator through the library; returns the app. */
async function enrol(p, username, pw, { name = "node phone", prefer = true } = {}) {
  const u = user(p, username);
  assert.equal((await authenticate(u, pw)).kind, "success");
  const app = new Authenticator(await associateSoftwareToken(u));
  await expectFailure(verifySoftwareToken(u, wrongCode(app.now()), name), "EnableSoftwareTokenMFAException");
  const verified = await verifySoftwareToken(u, await app.code(), name);
  assert.equal(verified.Status, "SUCCESS");
  assert.equal(
    await call((done) => u.setUserMfaPreference(null, { Enabled: true, PreferredMfa: prefer }, done)),
    "SUCCESS",
  );
  return app;
}

async function username_of(session) {
  return (await idp.send(new GetUserCommand({ AccessToken: session.getAccessToken().getJwtToken() }))).Username;
}

before(async () => {
  server = await startServer();
  idp = server.client();
});

after(async () => {
  idp?.destroy();
  await server?.stop();
});

describe("amazon-cognito-identity-js: MFA", () => {
  test("totpRequired → sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA'), SRP and password flows", async () => {
    const p = await makePool();
    const { username, pw } = await signUpConfirmed(p);
    const app = await enrol(p, username, pw);
    assert.deepEqual(await mfaSettings(p, username), [["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA"]);

    // SRP (the library's default flow).
    const u = user(p, username);
    const challenge = await authenticate(u, pw);
    assert.equal(challenge.kind, "totpRequired");
    assert.equal(challenge.challengeName, "SOFTWARE_TOKEN_MFA");
    assert.equal(challenge.params.FRIENDLY_DEVICE_NAME, "node phone");
    const code = await app.code();
    await expectFailure(sendMFACode(u, wrongCode(code)), "CodeMismatchException", MISMATCH);
    const done = await sendMFACode(u, code); // same session, after a wrong code
    assert.equal(done.kind, "success");
    assert.ok(done.session.isValid());
    assert.equal(done.session.getAccessToken().decodePayload().username, username);
    assert.equal(done.session.getIdToken().decodePayload()["cognito:username"], username);
    assert.equal(await username_of(done.session), username);

    // USER_PASSWORD_AUTH: the same challenge; the code already used is refused as Cognito
    // refuses it (ExpiredCodeException), the next works.
    const v = user(p, username);
    v.setAuthenticationFlowType("USER_PASSWORD_AUTH");
    assert.equal((await authenticate(v, pw)).kind, "totpRequired");
    await expectFailure(
      sendMFACode(v, code),
      "ExpiredCodeException",
      "Your software token has already been used once.",
    );
    const again = await sendMFACode(v, await app.code());
    assert.equal(again.kind, "success");
    assert.equal(await username_of(again.session), username);
  });

  test("mfaSetup → associateSoftwareToken → verifySoftwareToken on a pool that requires MFA", async () => {
    const p = await makePool({ mode: "ON" });
    const { username, pw } = await signUpConfirmed(p);
    const u = user(p, username);
    const setup = await authenticate(u, pw);
    assert.equal(setup.kind, "mfaSetup");
    assert.equal(setup.challengeName, "MFA_SETUP");
    assert.deepEqual(JSON.parse(setup.params.MFAS_CAN_SETUP), ["SOFTWARE_TOKEN_MFA"]);

    // Not signed in yet: the library uses the challenge's Session for both calls.
    const app = new Authenticator(await associateSoftwareToken(u));
    await expectFailure(verifySoftwareToken(u, wrongCode(app.now()), "setup phone"), "EnableSoftwareTokenMFAException");
    const session = await verifySoftwareToken(u, await app.code(), "setup phone"); // then answers MFA_SETUP
    assert.ok(session.isValid());
    assert.equal(await username_of(session), username);
    assert.deepEqual(await mfaSettings(p, username), [["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA"]);

    const next = user(p, username);
    const challenge = await authenticate(next, pw);
    assert.equal(challenge.kind, "totpRequired");
    assert.equal(challenge.params.FRIENDLY_DEVICE_NAME, "setup phone");
    assert.equal((await sendMFACode(next, await app.code())).kind, "success");
  });

  test("selectMFAType → sendMFASelectionAnswer('SOFTWARE_TOKEN_MFA') → totpRequired", async () => {
    const p = await makePool({ sms: true });
    const { username, pw } = await signUpConfirmed(p, { phone_number: "+15555550123" });
    const app = await enrol(p, username, pw, { prefer: false });
    await idp.send(
      new AdminSetUserMFAPreferenceCommand({ UserPoolId: p.poolId, Username: username, SMSMfaSettings: { Enabled: true } }),
    );
    const [listed, preferred] = await mfaSettings(p, username);
    assert.deepEqual([...listed].sort(), ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]);
    assert.equal(preferred, undefined);

    const u = user(p, username);
    const select = await authenticate(u, pw);
    assert.equal(select.kind, "selectMFAType");
    assert.deepEqual(JSON.parse(select.params.MFAS_CAN_CHOOSE).sort(), ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]);
    const chosen = await selectMFAType(u, "SOFTWARE_TOKEN_MFA");
    assert.equal(chosen.kind, "totpRequired");
    assert.equal(chosen.challengeName, "SOFTWARE_TOKEN_MFA");
    const done = await sendMFACode(u, await app.code());
    assert.equal(done.kind, "success");
    assert.equal(await username_of(done.session), username);
  });
});

describe("amazon-cognito-identity-js: remembered devices", () => {
  test("the library confirms the device, setDeviceStatusRemembered, the same storage skips MFA", async () => {
    const p = await makePool({ devices: { ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: true } });
    const { username, pw } = await signUpConfirmed(p);
    const app = await enrol(p, username, pw);

    // The laptop: MFA, then tokens with NewDeviceMetadata, which acij confirms with its own
    // device verifier. The pool remembers devices only when asked.
    const laptop = new AppStorage();
    const first = user(p, username, laptop);
    assert.equal((await authenticate(first, pw)).kind, "totpRequired");
    const signedIn = await sendMFACode(first, await app.code());
    assert.equal(signedIn.kind, "success");
    assert.equal(signedIn.userConfirmationNecessary, true);
    const deviceKey = first.deviceKey;
    assert.match(deviceKey, /^us-east-1_/);
    assert.equal(signedIn.session.getAccessToken().decodePayload().device_key, deviceKey);
    const stored = Object.entries(laptop.data).filter(([k]) => k.endsWith(".deviceKey"));
    assert.deepEqual(stored.map(([, v]) => v), [deviceKey]);

    const before = (await cb((c) => first.getDevice(c))).Device;
    assert.equal(before.DeviceKey, deviceKey);
    const attr = (d, name) => d.DeviceAttributes.find((a) => a.Name === name)?.Value;
    assert.equal(attr(before, "dev:device_remembered_status"), "not_remembered");
    assert.equal(await cb((c) => first.setDeviceStatusRemembered(c)), "SUCCESS");
    const admin = await idp.send(new AdminGetDeviceCommand({ UserPoolId: p.poolId, Username: username, DeviceKey: deviceKey }));
    assert.equal(attr(admin.Device, "dev:device_remembered_status"), "remembered");

    // Same storage, new sign-in: DEVICE_SRP_AUTH with the stored secret instead of MFA.
    const second = user(p, username, laptop);
    const skipped = await authenticate(second, pw);
    assert.equal(skipped.kind, "success", "a remembered device should skip MFA");
    assert.equal(skipped.session.getAccessToken().decodePayload().device_key, deviceKey);
    assert.equal(await username_of(skipped.session), username);

    // Its refresh token is bound to the device: acij sends DEVICE_KEY from its storage.
    const refreshed = await call((done) => second.refreshSession(skipped.session.getRefreshToken(), done));
    assert.ok(refreshed.isValid());
    assert.notEqual(refreshed.getAccessToken().getJwtToken(), skipped.session.getAccessToken().getJwtToken());
    assert.equal(refreshed.getAccessToken().decodePayload().device_key, deviceKey);

    // Another browser (empty storage) is a new device: MFA again, and a device of its own.
    const phone = user(p, username, new AppStorage());
    assert.equal((await authenticate(phone, pw)).kind, "totpRequired");
    const other = await sendMFACode(phone, await app.code());
    assert.equal(other.kind, "success");
    assert.ok(phone.deviceKey && phone.deviceKey !== deviceKey);

    const listed = await cb((c) => second.listDevices(10, null, c));
    const keys = listed.Devices.map((d) => d.DeviceKey);
    assert.ok(keys.includes(deviceKey) && keys.includes(phone.deviceKey), JSON.stringify(keys));

    // forgetDevice: gone from the server and from the library's storage.
    assert.equal(await cb((c) => second.forgetDevice(c)), "SUCCESS");
    assert.equal(Object.keys(laptop.data).filter((k) => k.endsWith(".deviceKey")).length, 0);
    const after = await idp.send(new AdminListDevicesCommand({ UserPoolId: p.poolId, Username: username }));
    assert.ok(!after.Devices.some((d) => d.DeviceKey === deviceKey));
    assert.ok(after.Devices.some((d) => d.DeviceKey === phone.deviceKey));
  });
});
