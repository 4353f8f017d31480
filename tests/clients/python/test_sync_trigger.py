"""Cognito Events: SetCognitoEvents {"SyncTrigger": function} runs the function through the Lambda
invoker on each UpdateRecords by an identity, with Cognito's event; what it returns replaces the
update. Failures: InvalidLambdaFunctionOutputException, LambdaThrottledException; nothing is
written either way. Developer credentials skip the trigger, as in Cognito."""

from __future__ import annotations

import pytest

from lambda_host import LambdaHost, arn
from support import aws_error
from tessera_server import TesseraServer
# The identity-pool fixtures (ci, public_ci, dev) resolve `server` to this module's own.
from test_sync import ci, dev, device, new_pool, public_ci, records, write  # noqa: F401


@pytest.fixture(scope="module")
def functions():
    host = LambdaHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    s = TesseraServer(tmp_path_factory.mktemp("tessera-sync-trigger") / "data",
                      extra_args=functions.server_args()).start()
    yield s
    s.stop()


def test_the_trigger_sees_the_dataset_and_its_answer_is_written(server, functions, ci, public_ci, dev):
    pool = new_pool(ci)
    me, cs = device(server, public_ci, pool)
    write(cs, pool, me, "profile", [{"Op": "replace", "Key": "color", "Value": "red", "SyncCount": 0}])
    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": arn("sync_trigger")})

    out = write(cs, pool, me, "profile", [
        {"Op": "replace", "Key": "nickname", "Value": "ada", "SyncCount": 0},
        {"Op": "replace", "Key": "motto", "Value": "forbidden", "SyncCount": 0},
    ])
    # The function's answer is the update: upper-cased, the refused value gone, its own record
    # added, all at one new count. `motto` never existed, so removing it writes a tombstone.
    assert records(out) == {"nickname": ("ADA", 2), "motto": (None, 2), "checked": ("yes", 2)}
    event = functions.events("sync_trigger")[-1]
    assert event["version"] == 2 and event["eventType"] == "SyncTrigger"
    assert (event["identityPoolId"], event["identityId"], event["datasetName"]) == (pool, me, "profile")
    assert event["region"] == "us-east-1"
    # Every live record of the dataset, overlaid by the patches.
    assert event["datasetRecords"] == {
        "color": {"oldValue": "red", "newValue": "red", "op": "replace"},
        "nickname": {"oldValue": None, "newValue": "ada", "op": "replace"},
        "motto": {"oldValue": None, "newValue": "forbidden", "op": "replace"},
    }
    stored = cs.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="profile")
    assert {k: v for k, (v, _) in records(stored).items() if v is not None} == {
        "color": "red", "nickname": "ADA", "checked": "yes"}

    # Developer credentials don't run the trigger.
    before = len(functions.calls("sync_trigger"))
    out = write(dev, pool, me, "profile", [{"Op": "replace", "Key": "color", "Value": "blue",
                                            "SyncCount": 1}])
    assert records(out) == {"color": ("blue", 3)}
    assert len(functions.calls("sync_trigger")) == before


def test_trigger_failures_write_nothing(server, functions, ci, public_ci, dev):
    pool = new_pool(ci)
    me, cs = device(server, public_ci, pool)
    patch = [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}]

    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": arn("raises")})
    with aws_error("InvalidLambdaFunctionOutputException") as info:
        write(cs, pool, me, "d", patch)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": arn("sync_wrong_pool")})
    with aws_error("InvalidLambdaFunctionOutputException", contains="identityId is read-only"):
        write(cs, pool, me, "d", patch)

    dev.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": arn("sync_trigger")})
    functions.fail_next("sync_trigger", 10, status=429)
    with aws_error("LambdaThrottledException") as info:
        write(cs, pool, me, "d", patch)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    functions.reset("sync_trigger")

    assert cs.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"] == []
    out = write(cs, pool, me, "d", patch)
    assert records(out) == {"k": ("v", 1), "checked": ("yes", 1)}
