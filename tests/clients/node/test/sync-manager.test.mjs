// Cognito Sync with the official JavaScript sync manager: amazon-cognito-js's CognitoSyncManager
// over aws-sdk v2, two "devices" of one identity (each with its own local store), offline edits
// on both, then synchronize() on each. The conflict callback sees both versions and the
// resolution sticks; a dataset deleted on the server and datasets merged from another identity
// reach their callbacks.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
  MergeDeveloperIdentitiesCommand,
  SetIdentityPoolRolesCommand,
} from "@aws-sdk/client-cognito-identity";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, startServer, unique } from "../lib/server.mjs";

const require = createRequire(import.meta.url);
const AWS = require("aws-sdk");
require("amazon-cognito-js"); // attaches AWS.CognitoSyncManager

const ACCOUNT = "000000000000";
const DEV = "login.tessera.sync";

let server;
let poolId;
// Administration with aws-sdk v3 (aws-sdk v2 leaves Content-Type unsigned, which Tessera's JSON
// 1.1 and Query verifiers require); Cognito Sync with v2, as the sync manager uses it.
let admin;
const call = (client, op, params) =>
  new Promise((resolve, reject) => client[op](params, (e, d) => (e ? reject(e) : resolve(d))));

/// An identity of the pool for developer user `user`, and credentials for it in AWS.config.
async function signIn(user) {
  const { IdentityId, Token } = await admin.identity.send(
    new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: poolId, Logins: { [DEV]: user } }),
  );
  AWS.config.credentials = new AWS.CognitoIdentityCredentials({
    IdentityPoolId: poolId,
    IdentityId,
    Logins: { "cognito-identity.amazonaws.com": Token },
  });
  await AWS.config.credentials.getPromise();
  return IdentityId;
}

/// A device: its own sync manager and local store.
function newDevice() {
  return new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
}

const open = (device, name) =>
  new Promise((resolve, reject) =>
    device.openOrCreateDataset(name, (e, ds) => (e ? reject(e) : resolve(ds))),
  );
const put = (ds, k, v) => new Promise((res, rej) => ds.put(k, v, (e, r) => (e ? rej(e) : res(r))));
const getAll = (ds) => new Promise((res, rej) => ds.getAll((e, r) => (e ? rej(e) : res(r))));

/// Runs synchronize() and records which callbacks fired with what.
function synchronize(ds, handlers = {}) {
  const seen = { conflicts: [], deleted: [], merged: [] };
  return new Promise((resolve) => {
    ds.synchronize({
      onSuccess: () => resolve({ ok: true, ...seen }),
      onFailure: (err) => resolve({ ok: false, err: String(err && (err.message || err)), ...seen }),
      onConflict: (dataset, conflicts, cb) => {
        seen.conflicts.push(
          ...conflicts.map((c) => ({
            key: c.getKey(),
            local: c.getLocalRecord().getValue(),
            remote: c.getRemoteRecord().getValue(),
          })),
        );
        if (!handlers.onConflict) return cb(false);
        dataset.resolve(conflicts.map(handlers.onConflict), () => cb(true));
      },
      onDatasetDeleted: (dataset, name, cb) => {
        seen.deleted.push(name);
        cb(false);
      },
      onDatasetsMerged: (dataset, names, cb) => {
        seen.merged.push(...names);
        cb(false);
      },
    });
  });
}

describe("Cognito Sync with amazon-cognito-js CognitoSyncManager", () => {
  before(async () => {
    server = await startServer();
    AWS.config.update({
      region: REGION,
      maxRetries: 0,
      cognitoidentity: { endpoint: server.endpoint },
      cognitosync: { endpoint: server.endpoint },
    });
    const root = { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY };
    const v3 = { region: REGION, endpoint: server.endpoint, credentials: root, maxAttempts: 1 };
    admin = {
      identity: new CognitoIdentityClient(v3),
      iam: new IAMClient(v3),
      sync: new AWS.CognitoSync({
        credentials: new AWS.Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
      }),
    };
    await admin.iam.send(new CreateRoleCommand({
      RoleName: "Sync_Auth",
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { Federated: "cognito-identity.amazonaws.com" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" } },
        }],
      }),
    }));
    poolId = (
      await admin.identity.send(new CreateIdentityPoolCommand({
        IdentityPoolName: unique("sync").replace(/-/g, "_"),
        AllowUnauthenticatedIdentities: false,
        DeveloperProviderName: DEV,
      }))
    ).IdentityPoolId;
    await admin.identity.send(new SetIdentityPoolRolesCommand({
      IdentityPoolId: poolId,
      Roles: { authenticated: `arn:aws:iam::${ACCOUNT}:role/Sync_Auth` },
    }));
  });

  after(async () => {
    await server?.stop();
  });

  test("two devices edit offline, conflict, and converge on the resolution", async () => {
    const identityId = await signIn("alice");
    const [a, b] = [newDevice(), newDevice()];
    const dsA = await open(a, "prefs");
    await put(dsA, "theme", "dark");
    await put(dsA, "lang", "en");
    assert.deepEqual(await synchronize(dsA), { ok: true, conflicts: [], deleted: [], merged: [] });

    const dsB = await open(b, "prefs");
    assert.equal((await synchronize(dsB)).ok, true);
    assert.deepEqual(await getAll(dsB), { theme: "dark", lang: "en" });

    // Offline, both change the theme; B also changes something A didn't touch.
    await put(dsA, "theme", "light");
    await put(dsB, "theme", "blue");
    await put(dsB, "font", "serif");
    assert.equal((await synchronize(dsA)).ok, true);

    // B's sync sees A's theme: the callback gets both versions; B keeps its own.
    const resolved = await synchronize(dsB, { onConflict: (c) => c.resolveWithLocalRecord() });
    assert.equal(resolved.ok, true, resolved.err);
    assert.deepEqual(resolved.conflicts, [{ key: "theme", local: "blue", remote: "light" }]);
    assert.deepEqual(await getAll(dsB), { theme: "blue", lang: "en", font: "serif" });

    // A pulls the resolution; nothing conflicts because A has no unsynced edits.
    const pulled = await synchronize(dsA);
    assert.equal(pulled.ok, true, pulled.err);
    assert.deepEqual(pulled.conflicts, []);
    assert.deepEqual(await getAll(dsA), { theme: "blue", lang: "en", font: "serif" });

    // The server holds exactly that, at one count per accepted push.
    const server_ = await call(admin.sync, "listRecords", {
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: "prefs",
    });
    const values = Object.fromEntries(server_.Records.map((r) => [r.Key, r.Value]));
    assert.deepEqual(values, { theme: "blue", lang: "en", font: "serif" });
    assert.equal(server_.DatasetSyncCount, 3);

    // A conflict the app refuses to resolve cancels the sync and leaves the server alone.
    await put(dsA, "lang", "fr");
    await put(dsB, "lang", "de");
    assert.equal((await synchronize(dsA)).ok, true);
    const refused = await synchronize(dsB);
    assert.equal(refused.ok, false);
    assert.match(refused.err, /Conflict callback returned false/);
    assert.deepEqual(refused.conflicts, [{ key: "lang", local: "de", remote: "fr" }]);
  });

  test("a dataset deleted on the server reaches onDatasetDeleted", async () => {
    const identityId = await signIn("bob");
    const device = newDevice();
    const ds = await open(device, "notes");
    await put(ds, "n1", "hello");
    assert.equal((await synchronize(ds)).ok, true);
    await call(admin.sync, "deleteDataset", {
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: "notes",
    });
    const after = await synchronize(ds);
    assert.deepEqual(after.deleted, ["notes"]);
    assert.equal(after.ok, false);
    assert.match(after.err, /onDatasetDeleted/);
  });

  test("datasets of a merged identity reach onDatasetsMerged", async () => {
    // Dave's data, written with developer credentials, then Dave merges into Carol.
    const dave = (await admin.identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({
      IdentityPoolId: poolId, Logins: { [DEV]: "dave" },
    }))).IdentityId;
    const t = await call(admin.sync, "listRecords", {
      IdentityPoolId: poolId, IdentityId: dave, DatasetName: "game",
    });
    await call(admin.sync, "updateRecords", {
      IdentityPoolId: poolId, IdentityId: dave, DatasetName: "game",
      SyncSessionToken: t.SyncSessionToken,
      RecordPatches: [{ Op: "replace", Key: "level", Value: "7", SyncCount: 0 }],
    });
    const carol = await signIn("carol");
    await admin.identity.send(new MergeDeveloperIdentitiesCommand({
      SourceUserIdentifier: "dave", DestinationUserIdentifier: "carol",
      DeveloperProviderName: DEV, IdentityPoolId: poolId,
    }));
    const device = newDevice();
    const ds = await open(device, "game");
    await put(ds, "level", "1");
    const merged = await synchronize(ds);
    assert.deepEqual(merged.merged, [`game.${dave}`]);
    assert.equal(merged.ok, false, "the default answer cancels the sync, as in Cognito");
    // The merged dataset is Carol's now, records and count kept.
    const theirs = await call(admin.sync, "listRecords", {
      IdentityPoolId: poolId, IdentityId: carol, DatasetName: `game.${dave}`,
    });
    assert.deepEqual(theirs.Records.map((r) => [r.Key, r.Value, r.SyncCount]), [["level", "7", 1]]);
  });
});
