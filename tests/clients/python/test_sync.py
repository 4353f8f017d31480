"""Cognito Sync with boto3: all operations over REST-JSON on the main listener, signed with
credentials from GetCredentialsForIdentity (an identity's own data only) and with the admin
keys (developer credentials, every identity of the pool); sync counts, conflicts, tombstones,
limits, usage figures, and the exact errors."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from support import aws_error, unique
from tessera_server import REGION

ACCOUNT = "000000000000"
GUEST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Sync_Guest"
GUEST_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringLike": {"cognito-identity.amazonaws.com:aud": "*"}}}]})


@pytest.fixture(scope="module")
def ci(server):
    server.client("iam").create_role(RoleName="Sync_Guest", AssumeRolePolicyDocument=GUEST_TRUST)
    return server.client("cognito-identity")


@pytest.fixture(scope="module")
def public_ci(server):
    return server.client("cognito-identity", unsigned=True)


@pytest.fixture(scope="module")
def dev(server):
    """Developer credentials: the admin keys."""
    return server.client("cognito-sync")


def new_pool(ci) -> str:
    pool = ci.create_identity_pool(IdentityPoolName=unique("sync").replace("-", "_"),
                                   AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"unauthenticated": GUEST_ROLE})
    return pool


def device(server, public_ci, pool: str, identity: str | None = None):
    """A guest identity (new unless given) and a cognito-sync client with its credentials."""
    if identity is None:
        identity = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    c = public_ci.get_credentials_for_identity(IdentityId=identity)["Credentials"]
    client = boto3.session.Session().client(
        "cognito-sync", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretKey"],
        aws_session_token=c["SessionToken"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    return identity, client


@pytest.fixture(scope="module")
def pool(ci):
    return new_pool(ci)


def write(cs, pool, me, dataset, patches, **kw):
    """ListRecords for a token, then UpdateRecords with it."""
    token = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName=dataset)["SyncSessionToken"]
    return cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName=dataset,
                             SyncSessionToken=token, RecordPatches=patches, **kw)


def records(resp) -> dict:
    return {r["Key"]: (r.get("Value"), r["SyncCount"]) for r in resp["Records"]}


def test_a_first_sync_creates_the_dataset_and_counts_by_one(server, public_ci, pool):
    me, cs = device(server, public_ci, pool)
    first = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                            LastSyncCount=0)
    assert first["Records"] == [] and first["Count"] == 0
    assert first["DatasetExists"] is False and first["DatasetSyncCount"] == 0
    assert first["DatasetDeletedAfterRequestedSyncCount"] is False
    assert "MergedDatasetNames" not in first and first["SyncSessionToken"]

    out = cs.update_records(
        IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
        SyncSessionToken=first["SyncSessionToken"],
        RecordPatches=[{"Op": "replace", "Key": "theme", "Value": "dark", "SyncCount": 0},
                       {"Op": "replace", "Key": "size", "Value": "L", "SyncCount": 0}])
    assert records(out) == {"theme": ("dark", 1), "size": ("L", 1)}
    assert all(r["LastModifiedBy"] == me for r in out["Records"])

    again = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs")
    assert again["DatasetExists"] is True and again["DatasetSyncCount"] == 1
    assert records(again) == {"theme": ("dark", 1), "size": ("L", 1)}
    assert again["LastModifiedBy"] == me

    # Incremental: only what changed after the count the client holds.
    out = cs.update_records(
        IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
        SyncSessionToken=again["SyncSessionToken"],
        RecordPatches=[{"Op": "remove", "Key": "size", "Value": "", "SyncCount": 1}])
    assert records(out) == {"size": (None, 2)}
    since = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                            LastSyncCount=1)
    assert records(since) == {"size": (None, 2)}, "a removed record comes back as a tombstone"
    assert since["DatasetSyncCount"] == 2

    d = cs.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs")["Dataset"]
    assert d["NumRecords"] == 1 and d["DataStorage"] == len("theme") + len("dark")
    assert d["DatasetName"] == "prefs" and d["IdentityId"] == me
    assert d["CreationDate"] <= d["LastModifiedDate"]


def test_a_stale_sync_count_is_a_conflict_and_writes_nothing(server, public_ci, pool):
    me, a = device(server, public_ci, pool)
    _, b = device(server, public_ci, pool, me)  # the same identity on a second device
    ta = a.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["SyncSessionToken"]
    tb = b.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["SyncSessionToken"]
    a.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game", SyncSessionToken=ta,
                     RecordPatches=[{"Op": "replace", "Key": "level", "Value": "3", "SyncCount": 0}])
    with aws_error("ResourceConflictException",
                   "Current SyncCount for: level is: 1 not: 0") as info:
        b.update_records(
            IdentityPoolId=pool, IdentityId=me, DatasetName="game", SyncSessionToken=tb,
            RecordPatches=[{"Op": "replace", "Key": "other", "Value": "x", "SyncCount": 0},
                           {"Op": "replace", "Key": "level", "Value": "9", "SyncCount": 0}])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    got = b.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
    assert records(got) == {"level": ("3", 1)}, "all or nothing"
    # A patch of another record isn't stale: it goes through at the next count.
    out = b.update_records(
        IdentityPoolId=pool, IdentityId=me, DatasetName="game", SyncSessionToken=tb,
        RecordPatches=[{"Op": "replace", "Key": "other", "Value": "x", "SyncCount": 0}])
    assert records(out) == {"other": ("x", 2)}


def test_sync_session_tokens_are_bound_to_identity_and_dataset(server, public_ci, pool):
    me, cs = device(server, public_ci, pool)
    token = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="one")["SyncSessionToken"]
    patch = [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}]
    for bad in ("", "not-a-token", token[:-2] + "AA"):
        with aws_error("InvalidParameterException", "SyncSessionToken not valid for these inputs"):
            cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="one",
                              SyncSessionToken=bad, RecordPatches=patch)
    with aws_error("InvalidParameterException", "SyncSessionToken not valid for these inputs"):
        cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="two",
                          SyncSessionToken=token, RecordPatches=patch)
    assert cs.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"] == []


def test_identity_credentials_reach_only_their_own_identity(server, public_ci, ci, pool):
    me, mine = device(server, public_ci, pool)
    other, theirs = device(server, public_ci, pool)
    t = theirs.list_records(IdentityPoolId=pool, IdentityId=other, DatasetName="d")
    theirs.update_records(IdentityPoolId=pool, IdentityId=other, DatasetName="d",
                          SyncSessionToken=t["SyncSessionToken"],
                          RecordPatches=[{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    for call in (
        lambda: mine.list_records(IdentityPoolId=pool, IdentityId=other, DatasetName="d"),
        lambda: mine.list_datasets(IdentityPoolId=pool, IdentityId=other),
        lambda: mine.describe_dataset(IdentityPoolId=pool, IdentityId=other, DatasetName="d"),
        lambda: mine.delete_dataset(IdentityPoolId=pool, IdentityId=other, DatasetName="d"),
        lambda: mine.describe_identity_usage(IdentityPoolId=pool, IdentityId=other),
        lambda: mine.update_records(IdentityPoolId=pool, IdentityId=other, DatasetName="d",
                                    SyncSessionToken=t["SyncSessionToken"], RecordPatches=[]),
    ):
        with aws_error("NotAuthorizedException") as info:
            call()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Another pool, and developer-only operations, are out of reach too.
    other_pool = new_pool(ci)
    with aws_error("NotAuthorizedException"):
        mine.list_datasets(IdentityPoolId=other_pool, IdentityId=me)
    for call in (
        lambda: mine.describe_identity_pool_usage(IdentityPoolId=pool),
        lambda: mine.list_identity_pool_usage(),
        lambda: mine.get_cognito_events(IdentityPoolId=pool),
        lambda: mine.set_identity_pool_configuration(IdentityPoolId=pool, PushSync={}),
        lambda: mine.get_bulk_publish_details(IdentityPoolId=pool),
    ):
        with aws_error("NotAuthorizedException"):
            call()
    # A signature by unknown or forged credentials is refused outright.
    forged = boto3.session.Session().client(
        "cognito-sync", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id="ASIAFORGEDFORGED1234", aws_secret_access_key="x" * 40,
        aws_session_token="nope", config=Config(retries={"max_attempts": 1}))
    with aws_error("UnrecognizedClientException"):
        forged.list_datasets(IdentityPoolId=pool, IdentityId=me)
    unsigned = server.client("cognito-sync", unsigned=True)
    with aws_error("MissingAuthenticationTokenException"):
        unsigned.list_datasets(IdentityPoolId=pool, IdentityId=me)


def test_developer_credentials_reach_every_identity_of_the_pool(server, public_ci, dev, pool):
    me, cs = device(server, public_ci, pool)
    t = dev.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="admin")
    out = dev.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="admin",
                             SyncSessionToken=t["SyncSessionToken"],
                             RecordPatches=[{"Op": "replace", "Key": "plan", "Value": "gold",
                                             "SyncCount": 0}])
    assert out["Records"][0]["LastModifiedBy"] == f"arn:aws:iam::{ACCOUNT}:root"
    seen = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="admin")
    assert records(seen) == {"plan": ("gold", 1)}
    names = [d["DatasetName"] for d in dev.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"]]
    assert names == ["admin"]
    # Push-sync registration is the device's own business.
    with aws_error("NotAuthorizedException"):
        dev.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token="t")
    # An identity that isn't the pool's.
    with aws_error("ResourceNotFoundException"):
        dev.describe_identity_usage(IdentityPoolId=pool,
                                    IdentityId="us-east-1:00000000-0000-4000-8000-000000000000")


def test_deleting_a_dataset_leaves_a_count_clients_can_detect(server, public_ci, pool):
    me, cs = device(server, public_ci, pool)
    t = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone")["SyncSessionToken"]
    cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone", SyncSessionToken=t,
                      RecordPatches=[{"Op": "replace", "Key": "a", "Value": "1", "SyncCount": 0}])
    deleted = cs.delete_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="gone")["Dataset"]
    assert deleted["DatasetName"] == "gone" and deleted["NumRecords"] == 1
    with aws_error("ResourceNotFoundException") as info:
        cs.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="gone")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with aws_error("ResourceNotFoundException"):
        cs.delete_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="gone")
    # A device that synced at count 1 learns of the deletion; a fresh one just sees nothing.
    stale = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone", LastSyncCount=1)
    assert stale["DatasetDeletedAfterRequestedSyncCount"] is True
    assert stale["DatasetExists"] is False and stale["Records"] == []
    fresh = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone")
    assert fresh["DatasetDeletedAfterRequestedSyncCount"] is False
    # Re-created, it counts on above every count a client saw.
    out = cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone",
                            SyncSessionToken=fresh["SyncSessionToken"],
                            RecordPatches=[{"Op": "replace", "Key": "a", "Value": "2", "SyncCount": 0}])
    assert records(out) == {"a": ("2", 3)}
    with aws_error("InvalidParameterException", "No such SyncCount: 9 exists for this Dataset"):
        cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="gone", LastSyncCount=9)


def test_limits_and_model_constraints(server, public_ci, pool):
    me, cs = device(server, public_ci, pool)
    for i in range(20):
        name = f"ds{i:02d}"
        t = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName=name)["SyncSessionToken"]
        cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName=name, SyncSessionToken=t,
                          RecordPatches=[{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    t = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds20")["SyncSessionToken"]
    with aws_error("LimitExceededException"):
        cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds20", SyncSessionToken=t,
                          RecordPatches=[{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    page = cs.list_datasets(IdentityPoolId=pool, IdentityId=me, MaxResults=15)
    assert page["Count"] == 15 and page["NextToken"]
    rest = cs.list_datasets(IdentityPoolId=pool, IdentityId=me, NextToken=page["NextToken"])
    assert [d["DatasetName"] for d in page["Datasets"] + rest["Datasets"]] == \
        [f"ds{i:02d}" for i in range(20)]
    usage = cs.describe_identity_usage(IdentityPoolId=pool, IdentityId=me)["IdentityUsage"]
    assert usage["DatasetCount"] == 20 and usage["DataStorage"] == 40

    # 1 MB per dataset, counted in UTF-8 bytes of keys and values.
    t = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds00")["SyncSessionToken"]
    big = "é" * 300_000  # 600,000 bytes
    cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds00", SyncSessionToken=t,
                      RecordPatches=[{"Op": "replace", "Key": "big1", "Value": big, "SyncCount": 0}])
    with aws_error("LimitExceededException"):
        cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds00", SyncSessionToken=t,
                          RecordPatches=[{"Op": "replace", "Key": "big2", "Value": big, "SyncCount": 0}])

    raw = server.client("cognito-sync", validate=False)
    with aws_error("InvalidParameterException", contains="datasetName"):
        raw.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="bad/name!")
    with aws_error("InvalidParameterException", contains="128"):
        raw.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="x" * 129)
    with aws_error("InvalidParameterException", "Duplicate key in RecordPatches: k"):
        cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="ds00", SyncSessionToken=t,
                          RecordPatches=[{"Op": "replace", "Key": "k", "Value": "1", "SyncCount": 1},
                                         {"Op": "replace", "Key": "k", "Value": "2", "SyncCount": 1}])


def test_usage_figures_and_pool_settings(server, public_ci, dev, ci):
    pool = new_pool(ci)
    assert dev.describe_identity_pool_usage(IdentityPoolId=pool)["IdentityPoolUsage"] == {
        "IdentityPoolId": pool, "DataStorage": 0}
    me, cs = device(server, public_ci, pool)
    t = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="p")["SyncSessionToken"]
    cs.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="p", SyncSessionToken=t,
                      RecordPatches=[{"Op": "replace", "Key": "ab", "Value": "cde", "SyncCount": 0}])
    usage = dev.describe_identity_pool_usage(IdentityPoolId=pool)["IdentityPoolUsage"]
    assert usage["DataStorage"] == 5 and usage["SyncSessionsCount"] == 1
    assert usage["LastModifiedDate"]
    listed = dev.list_identity_pool_usage(MaxResults=60)
    assert any(u["IdentityPoolId"] == pool and u["DataStorage"] == 5
               for u in listed["IdentityPoolUsages"])
    assert listed["Count"] == len(listed["IdentityPoolUsages"])

    assert dev.get_cognito_events(IdentityPoolId=pool)["Events"] == {}
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sync-trigger"
    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": fn})
    assert dev.get_cognito_events(IdentityPoolId=pool)["Events"] == {"SyncTrigger": fn}
    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": ""})
    assert dev.get_cognito_events(IdentityPoolId=pool)["Events"] == {}
    with aws_error("InvalidParameterException"):
        dev.set_cognito_events(IdentityPoolId=pool, Events={"Other": fn})

    config = dev.get_identity_pool_configuration(IdentityPoolId=pool)
    assert config["IdentityPoolId"] == pool and "PushSync" not in config
    push = {"ApplicationArns": [f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/myapp"],
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/push"}
    streams = {"StreamName": "changes", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/streams",
               "StreamingStatus": "DISABLED"}
    out = dev.set_identity_pool_configuration(IdentityPoolId=pool, PushSync=push,
                                              CognitoStreams=streams)
    assert out["PushSync"] == push and out["CognitoStreams"] == streams
    got = dev.get_identity_pool_configuration(IdentityPoolId=pool)
    assert got["PushSync"] == push and got["CognitoStreams"] == streams
    with aws_error("InvalidParameterException", contains="applicationArns"):
        server.client("cognito-sync", validate=False).set_identity_pool_configuration(
            IdentityPoolId=pool, PushSync={"ApplicationArns": ["not-an-arn"]})
    details = dev.get_bulk_publish_details(IdentityPoolId=pool)
    assert details["BulkPublishStatus"] == "NOT_STARTED" and details["IdentityPoolId"] == pool
    missing = "us-east-1:00000000-0000-4000-8000-000000000000"
    for call in (lambda: dev.describe_identity_pool_usage(IdentityPoolId=missing),
                 lambda: dev.get_cognito_events(IdentityPoolId=missing),
                 lambda: dev.get_identity_pool_configuration(IdentityPoolId=missing)):
        with aws_error("ResourceNotFoundException", f"IdentityPool '{missing}' not found."):
            call()


def test_devices_register_and_subscribe(server, public_ci, dev, ci):
    pool = new_pool(ci)
    me, cs = device(server, public_ci, pool)
    with aws_error("InvalidConfigurationException"):
        cs.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token="tok")
    dev.set_identity_pool_configuration(
        IdentityPoolId=pool,
        PushSync={"ApplicationArns": [f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/myapp"],
                  "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/push"})
    device_id = cs.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM",
                                   Token="tok")["DeviceId"]
    assert cs.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM",
                              Token="tok")["DeviceId"] == device_id, "same token, same device"
    cs.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                            DeviceId=device_id)
    cs.unsubscribe_from_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                                DeviceId=device_id)
    with aws_error("ResourceNotFoundException"):
        cs.unsubscribe_from_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                                    DeviceId=device_id)
    with aws_error("ResourceNotFoundException"):
        cs.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                                DeviceId="no-such-device")
    other, theirs = device(server, public_ci, pool)
    with aws_error("ResourceNotFoundException"):
        theirs.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=other, DatasetName="prefs",
                                    DeviceId=device_id)


def test_deleting_identities_deletes_their_data(server, public_ci, dev, ci):
    pool = new_pool(ci)
    me, cs = device(server, public_ci, pool)
    other, theirs = device(server, public_ci, pool)
    for who, client in ((me, cs), (other, theirs)):
        t = client.list_records(IdentityPoolId=pool, IdentityId=who, DatasetName="d")
        client.update_records(IdentityPoolId=pool, IdentityId=who, DatasetName="d",
                              SyncSessionToken=t["SyncSessionToken"],
                              RecordPatches=[{"Op": "replace", "Key": "k", "Value": "vv",
                                              "SyncCount": 0}])
    assert dev.describe_identity_pool_usage(IdentityPoolId=pool)["IdentityPoolUsage"]["DataStorage"] == 6
    ci.delete_identities(IdentityIdsToDelete=[me])
    assert dev.describe_identity_pool_usage(IdentityPoolId=pool)["IdentityPoolUsage"]["DataStorage"] == 3
    with aws_error("ResourceNotFoundException"):
        dev.list_datasets(IdentityPoolId=pool, IdentityId=me)
    ci.delete_identity_pool(IdentityPoolId=pool)
    assert not any(u["IdentityPoolId"] == pool
                   for u in dev.list_identity_pool_usage()["IdentityPoolUsages"])


def test_aws_cli(server, public_ci, pool, tmp_path):
    """aws-cli with developer credentials: shorthand record patches, and the conflict message
    a stale retry prints."""
    import os
    import subprocess
    import sys

    from tessera_server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

    me = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(tmp_path / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"), AWS_PAGER="",
               HOME=str(tmp_path))

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "awscli", "cognito-sync", *args, "--endpoint-url",
             server.endpoint, "--output", "json", "--identity-pool-id", pool, "--identity-id", me,
             "--dataset-name", "cli"],
            env=env, capture_output=True, text=True, timeout=60)

    listed = cli("list-records")
    assert listed.returncode == 0, listed.stderr
    token = json.loads(listed.stdout)["SyncSessionToken"]
    patches = ["--record-patches", "Op=replace,Key=color,Value=blue,SyncCount=0",
               "Op=replace,Key=size,Value=L,SyncCount=0"]
    done = cli("update-records", "--sync-session-token", token, *patches)
    assert done.returncode == 0, done.stderr
    assert sorted((r["Key"], r["SyncCount"]) for r in json.loads(done.stdout)["Records"]) == [
        ("color", 1), ("size", 1)]
    again = cli("update-records", "--sync-session-token", token, *patches)
    assert again.returncode == 255
    assert ("An error occurred (ResourceConflictException) when calling the UpdateRecords "
            "operation: Current SyncCount for: color is: 1 not: 0") in again.stderr
    described = json.loads(cli("describe-dataset").stdout)["Dataset"]
    assert described["NumRecords"] == 2 and described["LastModifiedBy"] == f"arn:aws:iam::{ACCOUNT}:root"
