"""Log delivery with boto3 against the real binary: a pool's user-notification errors (an SMS
that could not be delivered) and user auth events (threat protection) reach the destinations
its LogDeliveryConfiguration names — ARNs that `log_delivery_destinations` maps to a JSON-lines
file and to an HTTP endpoint, and an unmapped ARN's default file in the data directory."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support import create_client, create_pool, unique
from test_threat import password_user

NOTIFY_ARN = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/cognito/notifications"
EVENTS_ARN = "arn:aws:s3:::tessera-auth-events"
UNMAPPED_ARN = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/cognito/unmapped"


class Collector:
    """An HTTP endpoint on 127.0.0.1 keeping every JSON record POSTed to it."""

    def __init__(self):
        self.records: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.records.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ingest"


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_notification_errors_and_auth_events_reach_their_destinations(tmp_path, spawn):
    collector = Collector()
    events_file = tmp_path / "auth-events.jsonl"
    server = spawn(extra_env={
        "TESSERA_LOG_DELIVERY_DESTINATIONS": f"{NOTIFY_ARN}={collector.url}, {EVENTS_ARN}=file://{events_file}",
        "TESSERA_ALLOW_PRIVATE_WEBHOOKS": "true",
        # Nothing listens there: every SMS delivery fails and is retried.
        "TESSERA_SMS_WEBHOOK": "http://127.0.0.1:9/sms",
        "TESSERA_OUTBOX_POLL_MS": "100",
    })
    idp = server.client()
    pool = create_pool(idp, UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"})
    client = create_client(idp, pool)
    idp.set_log_delivery_configuration(UserPoolId=pool, LogConfigurations=[
        {"LogLevel": "ERROR", "EventSource": "userNotification",
         "CloudWatchLogsConfiguration": {"LogGroupArn": NOTIFY_ARN}},
        {"LogLevel": "INFO", "EventSource": "userAuthEvents", "S3Configuration": {"BucketArn": EVENTS_ARN}},
    ])

    # An invitation by SMS that can't be delivered: a user-notification error at the endpoint.
    idp.admin_create_user(UserPoolId=pool, Username=unique("sms"), DesiredDeliveryMediums=["SMS"],
                          UserAttributes=[{"Name": "phone_number", "Value": "+15555550100"}])
    record = wait_for(lambda: collector.records[:1])
    assert record, "no user-notification record arrived"
    (first,) = record
    assert first["eventSource"] == "USER_NOTIFICATION" and first["logLevel"] == "ERROR"
    assert first["logSourceId"]["userPoolId"] == pool
    assert first["logSourceId"]["userPoolArn"].endswith(f":userpool/{pool}")
    assert first["message"]["deliveryMedium"] == "sms"
    assert first["message"]["details"]
    assert "+15555550100" not in json.dumps(first), "the recipient's number is not logged"

    # A failed and a successful sign-in: their events, as recorded, in the file.
    name, pw, auth = password_user(idp, pool, client)
    public = server.client(unsigned=True)
    try:
        public.initiate_auth(**{**auth, "AuthParameters": {"USERNAME": name, "PASSWORD": "wrong-Aa1!x"}})
    except public.exceptions.NotAuthorizedException:
        pass
    else:
        raise AssertionError("a wrong password signed in")
    assert "AuthenticationResult" in public.initiate_auth(**auth)
    sub = idp.admin_get_user(UserPoolId=pool, Username=name)["UserAttributes"]
    sub = next(a["Value"] for a in sub if a["Name"] == "sub")

    def sign_ins():
        got = [r for r in lines(events_file) if r["message"]["eventType"] == "SignIn"]
        return got if any(r["message"]["eventResponse"] == "Pass" for r in got) else None

    records = wait_for(sign_ins)
    assert records, lines(events_file)
    assert all(r["eventSource"] == "USER_AUTH_EVENTS" and r["logLevel"] == "INFO" for r in records)
    assert all(r["message"]["userSub"] == sub for r in records)
    by_event: dict[str, list[dict]] = {}
    for r in records:
        by_event.setdefault(r["message"]["eventId"], []).append(r["message"])
    outcomes = sorted(states[-1]["eventResponse"] for states in by_event.values())
    assert outcomes == ["Fail", "Pass"], by_event
    listed = {e["EventId"] for e in idp.admin_list_user_auth_events(UserPoolId=pool, Username=name)["AuthEvents"]}
    assert set(by_event) <= listed
    passed = next(states[-1] for states in by_event.values() if states[-1]["eventResponse"] == "Pass")
    assert passed["ipAddress"] == "127.0.0.1"
    assert {"challengeName": "Password", "challengeResponse": "Success"} in passed["challengeResponses"]
    assert pw not in events_file.read_text()


def test_an_unmapped_arn_is_written_under_the_data_directory(spawn):
    server = spawn(extra_env={"TESSERA_SMS_WEBHOOK": "http://127.0.0.1:9/sms",
                              "TESSERA_ALLOW_PRIVATE_WEBHOOKS": "true", "TESSERA_OUTBOX_POLL_MS": "100"})
    idp = server.client()
    pool = create_pool(idp)
    idp.set_log_delivery_configuration(UserPoolId=pool, LogConfigurations=[
        {"LogLevel": "ERROR", "EventSource": "userNotification",
         "CloudWatchLogsConfiguration": {"LogGroupArn": UNMAPPED_ARN}}])
    idp.admin_create_user(UserPoolId=pool, Username=unique("sms"), DesiredDeliveryMediums=["SMS"],
                          UserAttributes=[{"Name": "phone_number", "Value": "+15555550101"}])
    expected = server.data_dir / "log-delivery" / (
        "arn_aws_logs_us-east-1_000000000000_log-group__aws_cognito_unmapped.jsonl")
    found = wait_for(lambda: lines(expected))
    assert found and found[0]["eventSource"] == "USER_NOTIFICATION"
    assert found[0]["logSourceId"]["userPoolId"] == pool
