"""Request-rate quotas with boto3: Cognito's categories and default rates per user pool,
TooManyRequestsException for the excess only (counted in /metrics), GetProvisionedLimit /
UpdateProvisionedLimit kept in the store (two nodes on one PostgreSQL database:
test_postgres.py). The clients here never retry, so each throttle is seen."""

from __future__ import annotations

import threading
import time

from support import aws_error, create_client, create_pool, unique

ON = {"TESSERA_QUOTAS": "true"}


def category(name: str) -> dict:
    return {"LimitClass": "API_CATEGORY", "Attributes": {"Category": name}}


THROTTLES: list[Exception] = []


def burst(call, n: int) -> tuple[int, int, list[str]]:
    """Makes `n` calls at once from `n` threads; returns (succeeded, throttled, other errors).
    The last throttle seen is kept in THROTTLES."""
    ok, throttled, other = [0], [0], []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        try:
            call(i)
            with lock:
                ok[0] += 1
        except Exception as e:  # noqa: BLE001 (sorted below)
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            with lock:
                if code == "TooManyRequestsException":
                    throttled[0] += 1
                    THROTTLES[:] = [e]
                else:
                    other.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok[0], throttled[0], other


def test_a_burst_over_a_category_is_refused_for_the_excess_only(spawn):
    server = spawn(extra_env=ON)
    idp = server.client(connections=100, retry=False)
    pool = create_pool(idp)
    other_pool = create_pool(idp)
    client = create_client(idp, pool)
    # UserList is 30 requests per second per pool, with a burst of one second's worth: of 80
    # ListUsers calls at once, 30 (and what refills while the burst runs) get through and the
    # rest are throttled; none fails otherwise.
    started = time.monotonic()
    ok, throttled, other = burst(lambda i: idp.list_users(UserPoolId=pool, Limit=1), 80)
    elapsed = time.monotonic() - started
    assert other == []
    assert ok + throttled == 80
    assert 30 <= ok <= 30 + int(30 * elapsed) + 1, (ok, elapsed)
    # The exception is Cognito's, with HTTP 429.
    (e,) = THROTTLES
    assert isinstance(e, idp.exceptions.TooManyRequestsException)
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert e.response["Error"]["Message"] == "Rate exceeded"
    # The refusals are counted by category.
    from test_operations import scrape  # noqa: PLC0415

    assert scrape(server)[("tessera_throttled_requests_total", frozenset({("category", "UserList")}))] == throttled
    # Another pool has its own allowance, and another category on the same pool its own.
    idp.list_users(UserPoolId=other_pool, Limit=1)
    idp.describe_user_pool_client(UserPoolId=pool, ClientId=client["ClientId"])
    # A second later the bucket has refilled.
    time.sleep(1.1)
    idp.list_users(UserPoolId=pool, Limit=1)

    # A throttled write writes nothing: UserCreation (50 per second) under 150 AdminCreateUser.
    ok, throttled, other = burst(
        lambda i: idp.admin_create_user(UserPoolId=pool, Username=f"burst-{i}", MessageAction="SUPPRESS"), 150)
    assert other == []
    assert ok >= 50 and throttled >= 1, (ok, throttled)
    listed, token = 0, None
    time.sleep(1.1)
    while True:
        page = idp.list_users(UserPoolId=pool, **({"PaginationToken": token} if token else {}))
        listed += len(page["Users"])
        token = page.get("PaginationToken")
        if not token:
            break
    assert listed == ok

    # Public operations count against the pool of the client they name.
    public = server.client(unsigned=True, connections=100, retry=False)
    time.sleep(1.1)
    ok, throttled, other = burst(
        lambda i: public.sign_up(ClientId=client["ClientId"], Username=f"signup-{i}", Password="Passw0rd!x"), 150)
    assert other == []
    assert ok >= 50 and throttled >= 1, (ok, throttled)


def test_provisioned_limits_are_read_raised_and_kept_in_the_store(spawn):
    server = spawn(extra_env=ON)
    idp = server.client(connections=100, retry=False)
    got = idp.get_provisioned_limit(LimitDefinition=category("UserCreation"))["Limit"]
    assert got == {"LimitDefinition": category("UserCreation"), "ProvisionedLimitValue": 50, "FreeLimitValue": 50}
    assert idp.get_provisioned_limit(LimitDefinition=category("UserList"))["Limit"]["FreeLimitValue"] == 30

    # Only adjustable categories, only between the default and the maximum.
    with aws_error("InvalidParameterException", "Only adjustable quota categories support provisioning."):
        idp.update_provisioned_limit(LimitDefinition=category("UserUpdate"), RequestedLimitValue=100)
    with aws_error("InvalidParameterException"):
        idp.update_provisioned_limit(LimitDefinition=category("UserCreation"), RequestedLimitValue=10)
    with aws_error("ServiceQuotaExceededException"):
        idp.update_provisioned_limit(LimitDefinition=category("UserCreation"), RequestedLimitValue=10**6)
    with aws_error("InvalidParameterException"):
        idp.get_provisioned_limit(LimitDefinition=category("NoSuchCategory"))

    raised = idp.update_provisioned_limit(LimitDefinition=category("UserCreation"), RequestedLimitValue=80)["Limit"]
    assert raised["ProvisionedLimitValue"] == 80 and raised["FreeLimitValue"] == 50
    pool = create_pool(idp)
    ok, throttled, other = burst(
        lambda i: idp.admin_create_user(UserPoolId=pool, Username=f"u-{i}", MessageAction="SUPPRESS"), 200)
    assert other == [] and ok >= 80 and throttled >= 1, (ok, throttled)

    # The value lives in the store: a restarted node (or any other node) enforces it.
    server.restart()
    idp = server.client()
    assert idp.get_provisioned_limit(LimitDefinition=category("UserCreation"))["Limit"]["ProvisionedLimitValue"] == 80


def test_quotas_are_off_in_dev_mode_and_when_turned_off(spawn):
    server = spawn(extra_env={"TESSERA_QUOTAS": "false"})
    idp = server.client(connections=100, retry=False)
    pool = create_pool(idp)
    ok, throttled, other = burst(
        lambda i: idp.list_users(UserPoolId=pool, Limit=1), 80)
    assert (ok, throttled, other) == (80, 0, [])
