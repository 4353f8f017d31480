"""The PostgreSQL store: the core scenario with --database-url, and two servers sharing one
database (same master key and root credentials) acting as one service.

Each test session creates its own database (tessera_client_<random>) and drops it at the end.
Skipped when PostgreSQL isn't reachable (TESSERA_TEST_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), unless TESSERA_REQUIRE_POSTGRES=1 (as in CI): then they fail."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from support import (
    attrs_of,
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    password_auth,
    run_core_scenario,
    sign_up,
    unique,
)
from tessera_server import new_master_key

pytestmark = pytest.mark.postgres

BASE_URL = os.environ.get("TESSERA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def _unavailable(reason: str):
    if os.environ.get("TESSERA_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (and TESSERA_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def database_url():
    if not _reachable(BASE_URL):
        _unavailable(f"PostgreSQL is not reachable at {BASE_URL}")
    import psycopg

    name = f"tessera_client_{secrets.token_hex(6)}"
    admin = BASE_URL.rstrip("/") + "/postgres"
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        _unavailable(f"cannot connect to PostgreSQL at {admin}: {e}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{BASE_URL.rstrip('/')}/{name}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def master_key():
    """One deployment, one master key: every node on the module's database uses it (a node
    with another key refuses to start, as test_key_rotation shows)."""
    return new_master_key()


def test_core_scenario_on_postgres(spawn, database_url, master_key):
    s = spawn(database_url=database_url, master_key=master_key)
    idp = s.client()
    created = run_core_scenario(idp)
    pool = created["pool_id"]

    # kill -9 and restart: the data lives in PostgreSQL.
    s.restart(hard=True)
    idp = s.client()
    assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == created["pool_name"]
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=created["confidential"]["ClientId"])
    assert d["UserPoolClient"]["ClientSecret"] == created["confidential"]["ClientSecret"]
    assert idp.admin_get_user(UserPoolId=pool, Username=created["bob"])["UserStatus"] == "CONFIRMED"
    idp.delete_user_pool(UserPoolId=pool)
    with aws_error("ResourceNotFoundException", f"User pool {pool} does not exist."):
        idp.describe_user_pool(UserPoolId=pool)


@pytest.fixture
def two_nodes(spawn, database_url, master_key):
    key = master_key
    a = spawn(database_url=database_url, master_key=key)
    # One service, one issuer: both nodes present A's URL (as behind a load balancer).
    b = spawn(database_url=database_url, master_key=key, public_url=a.endpoint)
    return a, b


def test_two_nodes_share_one_database(two_nodes):
    a, b = two_nodes
    ia, ib = a.client(), b.client()
    pool = create_pool(ia, unique("shared"))
    assert ib.describe_user_pool(UserPoolId=pool)["UserPool"]["Id"] == pool
    client = create_client(ia, pool, rotation=True)
    secret_client = create_client(ia, pool, secret=True)
    d = ib.describe_user_pool_client(UserPoolId=pool, ClientId=secret_client["ClientId"])["UserPoolClient"]
    assert d["ClientSecret"] == secret_client["ClientSecret"]  # sealed with the shared master key

    # Sign up on B, confirm on A, sign in on A.
    user, pw = unique("shared"), password()
    sign_up(ib, client, user, pw, {"email": f"{user}@example.com"})
    ia.admin_confirm_sign_up(UserPoolId=pool, Username=user)
    tokens = password_auth(ia, client, user, pw)

    # A's token works on B; both publish the same keys.
    assert ib.get_user(AccessToken=tokens["AccessToken"])["Username"] == user
    ja = requests.get(f"{a.endpoint}/{pool}/.well-known/jwks.json", timeout=10).json()
    jb = requests.get(f"{b.endpoint}/{pool}/.well-known/jwks.json", timeout=10).json()
    assert ja == jb

    # Refresh on B; the refreshed access token works on A.
    r = ib.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                         AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})["AuthenticationResult"]
    assert ia.get_user(AccessToken=r["AccessToken"])["Username"] == user

    # Rotation on B makes the old refresh token dead on A.
    rotated = ib.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=tokens["RefreshToken"])
    new_rt = rotated["AuthenticationResult"]["RefreshToken"]
    with aws_error("RefreshTokenReuseException"):
        ia.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=tokens["RefreshToken"])
    # The reuse on A ended the family B rotated: its new token is refused on B too.
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        ib.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=new_rt)
    tokens = password_auth(ia, client, user, pw)
    assert ib.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=tokens["RefreshToken"])

    # Writes on one node are read on the other.
    ib.admin_update_user_attributes(UserPoolId=pool, Username=user,
                                    UserAttributes=[{"Name": "custom:tier", "Value": "shared"}])
    assert attrs_of(ia.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"])["custom:tier"] == "shared"

    # Sign-out on B (from another sign-in) is honoured on A.
    other = password_auth(ib, client, user, pw)
    ib.global_sign_out(AccessToken=other["AccessToken"])
    with aws_error("NotAuthorizedException", "Access Token has been revoked"):
        ia.get_user(AccessToken=tokens["AccessToken"])


def test_two_nodes_race_for_the_same_username(two_nodes):
    a, b = two_nodes
    ia = a.client()
    pool = create_pool(ia)
    client = create_client(ia, pool)
    clients = [a.client(unsigned=True), b.client(unsigned=True)]
    for _ in range(5):
        name = unique("race")
        outcomes: list[str] = []
        barrier = threading.Barrier(len(clients))

        def attempt(c):
            barrier.wait()
            try:
                sign_up(c, client, name, password())
                outcomes.append("ok")
            except c.exceptions.UsernameExistsException:
                outcomes.append("exists")

        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["exists", "ok"], outcomes
    assert len(ia.list_users(UserPoolId=pool)["Users"]) == 5


def test_two_nodes_pool_created_on_one_signs_in_on_the_other(two_nodes):
    a, b = two_nodes
    ia, ib = a.client(), b.client()
    pool = create_pool(ia)
    client = create_client(ia, pool)
    # The pool's signing keys are first needed on B.
    user, pw = confirmed_user(ib, pool, client)
    tokens = password_auth(ib, client, user, pw)
    assert ia.get_user(AccessToken=tokens["AccessToken"])["Username"] == user
    tokens_a = password_auth(ia, client, user, pw)
    assert ib.get_user(AccessToken=tokens_a["AccessToken"])["Username"] == user


def test_two_nodes_share_provisioned_limits_and_split_the_rate(spawn, database_url, master_key):
    """With quota_nodes=2 each node enforces half a category's rate: behind an even balancer the
    pair admits the whole rate. A limit raised on one node is enforced by the other."""
    env = {"TESSERA_QUOTAS": "true", "TESSERA_QUOTA_NODES": "2"}
    a = spawn(database_url=database_url, master_key=master_key, extra_env=env)
    b = spawn(database_url=database_url, master_key=master_key, public_url=a.endpoint, extra_env=env)
    ia, ib = a.client(connections=100, retry=False), b.client(connections=100, retry=False)
    creation = {"LimitClass": "API_CATEGORY", "Attributes": {"Category": "UserCreation"}}
    ia.update_provisioned_limit(LimitDefinition=creation, RequestedLimitValue=80)
    assert ib.get_provisioned_limit(LimitDefinition=creation)["Limit"]["ProvisionedLimitValue"] == 80
    pool = ia.create_user_pool(PoolName=f"quota-{secrets.token_hex(4)}")["UserPool"]["Id"]
    time.sleep(5.5)  # every node re-reads the provisioned limits within 5 s

    from test_quotas import burst  # noqa: PLC0415

    def create(i):
        (ia if i % 2 else ib).admin_create_user(UserPoolId=pool, Username=f"u-{i}", MessageAction="SUPPRESS")

    started = time.monotonic()
    ok, throttled, other = burst(create, 240)
    elapsed = time.monotonic() - started
    assert other == []
    # Each node admits its share, ⌈80 / 2⌉ = 40, plus what refills while the burst runs.
    assert 80 <= ok <= 80 + int(80 * elapsed) + 2 and throttled >= 1, (ok, throttled, elapsed)
