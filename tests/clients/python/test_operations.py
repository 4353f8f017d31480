"""The operator's endpoints against the real binary: `/metrics` after a scripted boto3 workload
(parsed with prometheus_client's own text parser, counters checked against exactly what the
workload did), and the health probes, including /health/ready turning 503 while the PostgreSQL
database refuses connections and 200 again once it accepts them."""

from __future__ import annotations

import time

import pytest
import requests
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from support import confirmed_user, create_client, create_pool, error_of, password_auth, unique
from test_postgres import BASE_URL, database_url  # noqa: F401 (fixture)
from tessera_server import new_master_key


def scrape(server) -> dict:
    """Every sample as (name, frozenset of labels) -> value."""
    resp = requests.get(f"{server.endpoint}/metrics", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_of(samples: dict, operation: str, outcome: str) -> float:
    return value(
        samples,
        "tessera_requests_total",
        service="cognito-idp",
        operation=operation,
        outcome=outcome,
    )


def test_metrics_count_what_the_workload_did(server, idp, public_idp):
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    alice, alice_pw = confirmed_user(idp, pool_id, client)
    bob, _ = confirmed_user(idp, pool_id, client)

    # Three good sign-ins and one admin sign-in.
    for _ in range(3):
        tokens = password_auth(public_idp, client, alice, alice_pw)
    idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client["ClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": alice, "PASSWORD": alice_pw},
    )

    # Wrong passwords for bob until the lockout refuses one (five free failures, then locks
    # that double): count what the server answered.
    wrong, locked = 0, 0
    while locked < 2:
        try:
            public_idp.initiate_auth(
                ClientId=client["ClientId"],
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": bob, "PASSWORD": "Wrong-password-1"},
            )
            raise AssertionError("a wrong password signed in")
        except ClientError as e:
            code, message = error_of(e)
            assert code == "NotAuthorizedException", (code, message)
            if message == "Password attempts exceeded":
                locked += 1
            else:
                assert message == "Incorrect username or password.", message
                wrong += 1
        assert wrong + locked < 40, "never locked out"
    assert wrong >= 5

    # A name nobody has (the client's PreventUserExistenceErrors decides the answer).
    try:
        public_idp.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": unique("nobody"), "PASSWORD": "Whatever-password-1"},
        )
        raise AssertionError("an unknown user signed in")
    except ClientError as e:
        unknown_code = error_of(e)[0]

    # Token verifications: one good access token, one forged.
    public_idp.get_user(AccessToken=tokens["AccessToken"])
    try:
        public_idp.get_user(AccessToken="eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
        raise AssertionError("a forged token was accepted")
    except ClientError as e:
        assert error_of(e)[0] == "NotAuthorizedException"

    m = scrape(server)

    # Requests by operation and outcome.
    assert requests_of(m, "CreateUserPool", "ok") == 1
    assert requests_of(m, "CreateUserPoolClient", "ok") == 1
    assert requests_of(m, "SignUp", "ok") == 2
    assert requests_of(m, "AdminConfirmSignUp", "ok") == 2
    assert requests_of(m, "InitiateAuth", "ok") == 3
    failed_initiate = wrong + locked + (unknown_code == "NotAuthorizedException")
    assert requests_of(m, "InitiateAuth", "NotAuthorizedException") == failed_initiate
    if unknown_code != "NotAuthorizedException":
        assert requests_of(m, "InitiateAuth", unknown_code) == 1
    assert requests_of(m, "AdminInitiateAuth", "ok") == 1
    assert requests_of(m, "GetUser", "ok") == 1
    assert requests_of(m, "GetUser", "NotAuthorizedException") == 1
    # The latency histogram saw every InitiateAuth, and its buckets are cumulative.
    initiate = {"service": "cognito-idp", "operation": "InitiateAuth"}
    assert value(m, "tessera_request_duration_seconds_count", **initiate) == 3 + failed_initiate + (
        unknown_code != "NotAuthorizedException"
    )
    assert value(m, "tessera_request_duration_seconds_bucket", le="+Inf", **initiate) == value(
        m, "tessera_request_duration_seconds_count", **initiate
    )

    # Sign-ins by flow and result, and lockouts.
    assert value(m, "tessera_sign_ins_total", flow="USER_PASSWORD_AUTH", result="tokens") == 3
    assert value(m, "tessera_sign_ins_total", flow="ADMIN_USER_PASSWORD_AUTH", result="tokens") == 1
    assert (
        value(m, "tessera_sign_ins_total", flow="USER_PASSWORD_AUTH", result="NotAuthorizedException")
        == failed_initiate
    )
    assert value(m, "tessera_sign_in_lockouts_total") == locked

    # Token verifications.
    assert value(m, "tessera_token_verifications_total", result="valid") == 1
    assert value(m, "tessera_token_verifications_total", result="refused") == 1

    # The hashing pool is idle again, the outbox empty (no code was sent), and the build named.
    assert value(m, "tessera_password_hashes_in_flight") == 0
    assert value(m, "tessera_password_hashes_queued") == 0
    assert ("tessera_password_hashes_in_flight", frozenset()) in m
    assert value(m, "tessera_outbox_pending") == 0
    assert ("tessera_outbox_pending", frozenset()) in m
    builds = [labels for (name, labels) in m if name == "tessera_build_info"]
    assert len(builds) == 1 and m[("tessera_build_info", builds[0])] == 1
    assert dict(builds[0])["version"]

    # No label carries a username or a pool id.
    text = requests.get(f"{server.endpoint}/metrics", timeout=10).text
    for secret in (alice, bob, pool_id, client["ClientId"]):
        assert secret not in text


def test_triggers_and_deliveries_are_counted(spawn, smtp_sink):
    from lambda_host import LambdaHost, arn, triggered_pool  # noqa: PLC0415
    from mailroom import email_address, free_port, phone_number, verifying_pool  # noqa: PLC0415
    from support import password, sign_up  # noqa: PLC0415

    functions = LambdaHost().start()
    try:
        # Email goes to a real SMTP sink; SMS to a port nobody listens on (transient failures).
        s = spawn(
            extra_args=functions.server_args()
            + ["--smtp-url", smtp_sink.url, "--sms-webhook", f"http://127.0.0.1:{free_port()}/"]
            + ["--allow-private-webhooks"]
        )
        idp, public = s.client(), s.client(unsigned=True)
        _, client = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")}, AutoVerifiedAttributes=["email"])
        welcome = email_address("ok")
        sign_up(public, client, unique("ok"), password(), {"email": welcome})
        try:
            sign_up(public, client, unique("no"), password(), {"email": f"{unique('no')}@blocked.test"})
            raise AssertionError("PreSignUp let a blocked domain in")
        except ClientError as e:
            assert error_of(e)[0] == "UserLambdaValidationException"
        smtp_sink.wait_for(welcome)
        _, sms_client = verifying_pool(idp, auto=("phone_number",))
        sign_up(public, sms_client, unique("sms"), password(), {"phone_number": phone_number()})

        deadline = time.monotonic() + 15
        while True:
            m = scrape(s)
            if value(m, "tessera_outbox_deliveries_total", channel="sms", outcome="retry") >= 1:
                break
            assert time.monotonic() < deadline, "the SMS was never attempted"
            time.sleep(0.2)
    finally:
        functions.stop()

    assert value(m, "tessera_trigger_invocations_total", trigger="PreSignUp", outcome="ok") == 1
    assert value(m, "tessera_trigger_invocations_total", trigger="PreSignUp", outcome="function_error") == 1
    assert value(m, "tessera_trigger_duration_seconds_count", trigger="PreSignUp") == 2
    assert value(m, "tessera_outbox_deliveries_total", channel="email", outcome="delivered") == 1
    assert value(m, "tessera_outbox_deliveries_total", channel="sms", outcome="delivered") == 0
    # The SMS waits for its next attempt; the email is done.
    assert value(m, "tessera_outbox_pending") == 1


def test_metrics_on_their_own_listener(spawn):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = spawn(extra_env={"TESSERA_METRICS_LISTEN": f"127.0.0.1:{port}"})
    resp = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert resp.status_code == 200
    assert "tessera_build_info" in resp.text
    assert requests.get(f"{s.endpoint}/metrics", timeout=10).status_code != 200


def test_health_probes(server):
    live = requests.get(f"{server.endpoint}/health/live", timeout=10)
    assert (live.status_code, live.json()) == (200, {"status": "live"})
    ready = requests.get(f"{server.endpoint}/health/ready", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def _set_connections(database: str, allow: bool) -> None:
    """Lets the database accept connections or not; when not, ends the ones it has."""
    import psycopg

    admin = BASE_URL.rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.mark.postgres
def test_ready_fails_while_the_database_refuses_connections(spawn, database_url):  # noqa: F811
    s = spawn(database_url=database_url, master_key=new_master_key())
    ready = f"{s.endpoint}/health/ready"
    assert requests.get(ready, timeout=10).status_code == 200
    database = database_url.rsplit("/", 1)[1]
    _set_connections(database, allow=False)
    try:
        resp = requests.get(ready, timeout=10)
        assert resp.status_code == 503
        body = resp.json()
        assert body["status"] == "unavailable"
        assert body["reason"] in ("database unavailable", "database check timed out")
        # The process still serves: liveness doesn't depend on the database.
        assert requests.get(f"{s.endpoint}/health/live", timeout=10).status_code == 200
    finally:
        _set_connections(database, allow=True)
    deadline = time.monotonic() + 15
    while requests.get(ready, timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "never ready again"
        time.sleep(0.2)
