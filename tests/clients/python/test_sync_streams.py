"""Cognito Streams and push sync, delivered for real: kinesalite (npm) as the Kinesis endpoint,
read back with boto3's kinesis client, and a webhook sink receiving push notifications. Both go
through a durable outbox: an outage of either loses nothing."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from support import aws_error
from tessera_server import REGION, TesseraServer
# The identity-pool fixtures (ci, public_ci, dev) resolve `server` to this module's own.
from test_sync import ci, dev, device, new_pool, public_ci, records, write  # noqa: F401

ACCOUNT = "000000000000"
KINESALITE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "kinesalite" / "cli.js"
STREAM = "cognito-changes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kinesalite:
    """kinesalite on a port of its own, (re)startable to simulate an outage."""

    def __init__(self):
        assert KINESALITE.exists(), f"{KINESALITE} missing: tests/clients/run.sh installs it (npm ci)"
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["node", str(KINESALITE), "--port", str(self.port), "--createStreamMs", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("kinesalite did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.client("kinesis", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")

    def records(self, stream: str, count: int, timeout: float = 15.0) -> list[dict]:
        """The first `count` records of the stream's shards, decoded, waiting for them."""
        k = self.client()
        deadline = time.time() + timeout
        while True:
            out = []
            for shard in k.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]:
                it = k.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                got = k.get_records(ShardIterator=it, Limit=1000)
                out += [dict(json.loads(r["Data"]), _key=r["PartitionKey"]) for r in got["Records"]]
            if len(out) >= count or time.time() > deadline:
                return sorted(out, key=lambda r: (r["lastModifiedDate"], r["syncCount"]))
            time.sleep(0.2)


class PushSink:
    """Receives the push webhook; answers `fail_with` while `failing`."""

    def __init__(self):
        self.received: list[dict] = []
        self.cond = threading.Condition()
        self.failing = False
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.cond:
                    status = 503 if sink.failing else 200
                    if not sink.failing:
                        sink.received.append(json.loads(body))
                        sink.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/push"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture(scope="module")
def kinesis():
    k = Kinesalite().start()
    k.client().create_stream(StreamName=STREAM, ShardCount=1)
    yield k
    k.stop()


@pytest.fixture(scope="module")
def push():
    sink = PushSink()
    yield sink
    sink.httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, kinesis, push):
    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-sync-streams") / "data",
        extra_args=["--allow-private-webhooks"],
        extra_env={
            "TESSERA_SYNC_KINESIS_ENDPOINT": kinesis.endpoint,
            "TESSERA_SYNC_KINESIS_ACCESS_KEY_ID": "local",
            "TESSERA_SYNC_KINESIS_SECRET_ACCESS_KEY": "local",
            "TESSERA_SYNC_PUSH_WEBHOOK": push.url,
            "TESSERA_OUTBOX_POLL_MS": "200",
        },
    ).start()
    yield s
    s.stop()


def test_every_change_streams_once_and_survives_an_outage(server, kinesis, ci, public_ci, dev):
    pool = new_pool(ci)
    me, cs = device(server, public_ci, pool)
    with aws_error("InvalidParameterException", contains="not enabled"):
        dev.bulk_publish(IdentityPoolId=pool)
    dev.set_identity_pool_configuration(IdentityPoolId=pool, CognitoStreams={
        "StreamName": STREAM, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/streams",
        "StreamingStatus": "ENABLED"})
    write(cs, pool, me, "prefs", [{"Op": "replace", "Key": "a", "Value": "1", "SyncCount": 0},
                                  {"Op": "replace", "Key": "b", "Value": "2", "SyncCount": 0}])
    first = [r for r in kinesis.records(STREAM, 1) if r["identityPoolId"] == pool]
    assert len(first) == 1
    r = first[0]
    assert (r["identityId"], r["datasetName"], r["dataSetName"]) == (me, "prefs", "prefs")
    assert r["operation"] == "replace" and r["payloadType"] == "Inline" and r["syncCount"] == 1
    assert r["_key"] == me
    assert sorted((x["key"], x["value"], x["op"], x["syncCount"]) for x in r["kinesisSyncRecords"]) == [
        ("a", "1", "replace", 1), ("b", "2", "replace", 1)]

    # Kinesis down: the change is kept and delivered when it is back.
    kinesis.stop()
    write(cs, pool, me, "prefs", [{"Op": "remove", "Key": "a", "Value": "", "SyncCount": 1}])
    cs.delete_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs")
    time.sleep(1.0)
    kinesis.start()  # memdown: the restarted kinesalite is empty
    kinesis.client().create_stream(StreamName=STREAM, ShardCount=1)
    later = kinesis.records(STREAM, 2, timeout=30)
    later = [x for x in later if x["identityPoolId"] == pool]
    assert [(x["operation"], x["syncCount"]) for x in later] == [("replace", 2), ("remove", 3)]
    assert later[0]["kinesisSyncRecords"][0]["op"] == "remove"
    assert "value" not in later[0]["kinesisSyncRecords"][0] or later[0]["kinesisSyncRecords"][0]["value"] is None
    assert later[1]["kinesisSyncRecords"] == []


def test_bulk_publish_streams_existing_data_once_a_day(server, kinesis, ci, public_ci, dev):
    pool = new_pool(ci)
    stream = "bulk-" + pool.split(":")[1][:8]
    kinesis.client().create_stream(StreamName=stream, ShardCount=1)
    people = [device(server, public_ci, pool) for _ in range(2)]
    for i, (me, cs) in enumerate(people):
        write(cs, pool, me, "game", [{"Op": "replace", "Key": "score", "Value": str(i), "SyncCount": 0}])
    dev.set_identity_pool_configuration(IdentityPoolId=pool, CognitoStreams={
        "StreamName": stream, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/streams",
        "StreamingStatus": "ENABLED"})
    assert dev.bulk_publish(IdentityPoolId=pool)["IdentityPoolId"] == pool
    details = dev.get_bulk_publish_details(IdentityPoolId=pool)
    assert details["BulkPublishStatus"] == "SUCCEEDED"
    assert details["BulkPublishStartTime"] <= details["BulkPublishCompleteTime"]
    got = kinesis.records(stream, 2)
    assert sorted((x["identityId"], x["kinesisSyncRecords"][0]["value"]) for x in got) == sorted(
        (me, str(i)) for i, (me, _) in enumerate(people))
    with aws_error("AlreadyStreamedException"):
        dev.bulk_publish(IdentityPoolId=pool)


def test_push_notifies_the_other_subscribed_devices(server, push, ci, public_ci, dev):
    pool = new_pool(ci)
    dev.set_identity_pool_configuration(IdentityPoolId=pool, PushSync={
        "ApplicationArns": [f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/android",
                            f"arn:aws:sns:{REGION}:{ACCOUNT}:app/APNS/ios"],
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/push"})
    me, phone = device(server, public_ci, pool)
    _, tablet = device(server, public_ci, pool, me)
    phone_id = phone.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM",
                                     Token="fcm-token")["DeviceId"]
    tablet_id = tablet.register_device(IdentityPoolId=pool, IdentityId=me, Platform="APNS",
                                       Token="apns-token")["DeviceId"]
    for cs, d in ((phone, phone_id), (tablet, tablet_id)):
        cs.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs", DeviceId=d)
    before = len(push.received)
    # The phone writes: only the tablet is told.
    write(phone, pool, me, "prefs", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}],
          DeviceId=phone_id)
    got = push.wait_for(before + 1)[before:]
    assert len(got) == 1
    note = got[0]
    body = {"source": "cognito-sync", "identityPoolId": pool, "identityId": me,
            "datasetName": "prefs", "syncCount": "1"}
    assert (note["deviceId"], note["platform"], note["token"]) == (tablet_id, "APNS", "apns-token")
    assert note["applicationArn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:app/APNS/ios"
    assert note["message"] == body and note["apns"]["data"] == body
    assert note["apns"]["aps"] == {"content-available": 1} and note["gcm"] == {"data": body}

    # The webhook down: the notification waits and arrives after.
    push.failing = True
    write(tablet, pool, me, "prefs", [{"Op": "replace", "Key": "k", "Value": "w", "SyncCount": 1}],
          DeviceId=tablet_id)
    time.sleep(1.0)
    push.failing = False
    got = push.wait_for(before + 2, timeout=30)[before + 1:]
    assert [(n["deviceId"], n["message"]["syncCount"]) for n in got] == [(phone_id, "2")]


class EventFeed:
    """A server-sent events client for the sync change feed, SigV4-signed like any SDK call."""

    def __init__(self, server, creds, pool, identity, device_id=None, last_event_id=None):
        import http.client
        import queue
        import urllib.parse

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        path = f"/sync/v1/identitypools/{urllib.parse.quote(pool)}/identities/{urllib.parse.quote(identity)}/events"
        if device_id:
            path += f"?deviceId={urllib.parse.quote(device_id)}"
        request = AWSRequest(method="GET", url=server.endpoint + path)
        if last_event_id:
            request.headers["Last-Event-ID"] = last_event_id
        SigV4Auth(Credentials(*creds), "cognito-sync", REGION).add_auth(request)
        host = server.endpoint.split("://", 1)[1]
        self.conn = http.client.HTTPConnection(host, timeout=30)
        self.conn.request("GET", path, headers=dict(request.headers.items()))
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events = queue.Queue()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "data" in event:
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(":")
                    event[key] = value.lstrip(" ")
        except Exception:  # noqa: BLE001 - the connection closes at the end of the test
            pass

    def next(self, timeout=10.0):
        return self.events.get(timeout=timeout)

    def nothing(self, settle=1.5):
        import queue
        try:
            got = self.events.get(timeout=settle)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {got}")

    def close(self):
        # Shut the socket first: the reader thread's blocked read returns, and close() doesn't
        # wait for the buffered reader's lock.
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conn.close()


def credentials_for(public_ci, identity):
    c = public_ci.get_credentials_for_identity(IdentityId=identity)["Credentials"]
    return c["AccessKeyId"], c["SecretKey"], c["SessionToken"]


def test_server_sent_events_carry_the_push_message(server, ci, public_ci, dev):
    pool = new_pool(ci)
    dev.set_identity_pool_configuration(IdentityPoolId=pool, PushSync={
        "ApplicationArns": [f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/android"],
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/push"})
    me, phone = device(server, public_ci, pool)
    _, tablet = device(server, public_ci, pool, me)
    phone_id = phone.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM",
                                     Token="p")["DeviceId"]
    tablet_id = tablet.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM",
                                       Token="t")["DeviceId"]
    tablet.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs",
                                DeviceId=tablet_id)
    creds = credentials_for(public_ci, me)
    feed = EventFeed(server, creds, pool, me, device_id=tablet_id)
    everything = EventFeed(server, creds, pool, me)
    assert feed.status == 200 and everything.status == 200
    try:
        write(phone, pool, me, "prefs", [{"Op": "replace", "Key": "k", "Value": "1", "SyncCount": 0}],
              DeviceId=phone_id)
        event = feed.next()
        assert event["event"] == "dataset-changed"
        assert json.loads(event["data"]) == {"source": "cognito-sync", "identityPoolId": pool,
                                             "identityId": me, "datasetName": "prefs",
                                             "syncCount": "1"}
        # Not the tablet's own changes, nor datasets it didn't subscribe to.
        write(tablet, pool, me, "prefs", [{"Op": "replace", "Key": "k", "Value": "2", "SyncCount": 1}],
              DeviceId=tablet_id)
        write(phone, pool, me, "other", [{"Op": "replace", "Key": "k", "Value": "1", "SyncCount": 0}],
              DeviceId=phone_id)
        feed.nothing()
        # Without a device: every change of the identity, in order.
        seen = [json.loads(everything.next()["data"]) for _ in range(3)]
        assert [(e["datasetName"], e["syncCount"]) for e in seen] == [
            ("prefs", "1"), ("prefs", "2"), ("other", "1")]
    finally:
        feed.close()
        everything.close()
    # Resuming after the first event gives the rest.
    resumed = EventFeed(server, creds, pool, me, last_event_id=event["id"])
    try:
        assert json.loads(resumed.next()["data"])["syncCount"] == "2"
    finally:
        resumed.close()
    # Another identity's credentials don't reach this feed.
    other, _ = device(server, public_ci, pool)
    refused = EventFeed(server, credentials_for(public_ci, other), pool, me)
    assert refused.status == 403
    assert json.loads(refused.response.read())["__type"] == "NotAuthorizedException"
    refused.close()
