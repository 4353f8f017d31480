"""Signing-key rotation as resource servers see it: PyJWT's PyJWKClient, holding a cached JWKS,
verifies every token across rotations made by `tessera keys rotate` (another process, on the same
store, while the server runs) and by the schedule (the server's clock moved with libfaketime);
`tessera keys revoke` withdraws a key at once; a node with the wrong master key refuses to start."""

from __future__ import annotations

import json
import subprocess
import time

import jwt
import pytest
import requests

from mailroom import FakeClock
from botocore.exceptions import ClientError

from support import confirmed_user, create_client, create_pool, error_of, password_auth
from tessera_server import new_master_key

DAY = 86_400


class CountingJwkClient(jwt.PyJWKClient):
    """A PyJWKClient that counts its JWKS downloads."""

    def __init__(self, uri: str):
        super().__init__(uri, cache_jwk_set=True, lifespan=3600)
        self.fetches = 0

    def fetch_data(self):
        self.fetches += 1
        return super().fetch_data()


def verify(jwks: jwt.PyJWKClient, issuer: str, token: str, *, fake_clock: bool = False) -> dict:
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        issuer=issuer,
        options={"verify_aud": False, "verify_exp": not fake_clock, "verify_iat": not fake_clock},
    )


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def jwks_kids(server, pool_id: str) -> set[str]:
    doc = requests.get(f"{server.issuer(pool_id)}/.well-known/jwks.json", timeout=10).json()
    return {k["kid"] for k in doc["keys"]}


def keys_cli(server, *args: str) -> list[dict]:
    run = server.cli(*args)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def by_state(keys: list[dict]) -> dict[str, set[str]]:
    states: dict[str, set[str]] = {}
    for k in keys:
        states.setdefault(k["state"], set()).add(k["kid"])
    return states


def eventually(check, timeout: float = 15.0):
    """Servers re-read keys every few seconds; a change from another process shows within that."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


@pytest.fixture
def rotating(spawn):
    s = spawn()
    idp, public = s.client(), s.client(unsigned=True)
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    user, pw = confirmed_user(idp, pool_id, client)
    return s, idp, public, pool_id, client, user, pw


def test_rotation_by_command_keeps_every_token_verifiable(rotating):
    s, _idp, public, pool_id, client, user, pw = rotating
    issuer = s.issuer(pool_id)
    first = password_auth(public, client, user, pw)
    before = keys_cli(s, "keys list", "--pool", pool_id)
    assert by_state(before) == {"active": {kid(first["IdToken"]), kid(first["AccessToken"])}}
    assert jwks_kids(s, pool_id) == by_state(before)["active"]

    # A pool with no next key yet: the rotation makes new keys sign at once and publishes next
    # keys beside them; the old keys stay published (retired) for their tokens.
    rotated = by_state(keys_cli(s, "keys rotate", "--pool", pool_id))
    assert rotated["retired"] == by_state(before)["active"]
    assert len(rotated["active"]) == 2 and len(rotated["next"]) == 2

    def signs_with_new_keys():
        tokens = password_auth(public, client, user, pw)
        assert {kid(tokens["IdToken"]), kid(tokens["AccessToken"])} == rotated["active"]
        return tokens

    second = eventually(signs_with_new_keys)
    assert jwks_kids(s, pool_id) == rotated["retired"] | rotated["active"] | rotated["next"]

    # A resource server caches the JWKS now; the next rotation signs with keys it already holds.
    cached = CountingJwkClient(f"{issuer}/.well-known/jwks.json")
    for tokens in (first, second):
        assert verify(cached, issuer, tokens["IdToken"])["cognito:username"] == user
        assert verify(cached, issuer, tokens["AccessToken"])["username"] == user
    assert cached.fetches == 1

    again = by_state(keys_cli(s, "keys rotate", "--pool", pool_id))
    assert again["active"] == rotated["next"]
    assert again["retired"] == rotated["retired"] | rotated["active"]

    def signs_with_published_next_keys():
        tokens = password_auth(public, client, user, pw)
        assert {kid(tokens["IdToken"]), kid(tokens["AccessToken"])} == rotated["next"]
        return tokens

    third = eventually(signs_with_published_next_keys)
    for tokens in (first, second, third):
        verify(cached, issuer, tokens["IdToken"])
        verify(cached, issuer, tokens["AccessToken"])
        # The server itself still accepts the older tokens.
        assert public.get_user(AccessToken=tokens["AccessToken"])["Username"] == user
    assert cached.fetches == 1, "the signing key was in the JWKS before it signed"


def test_revoked_key_leaves_the_jwks_and_its_tokens_fail(rotating):
    s, _idp, public, pool_id, client, user, pw = rotating
    old = password_auth(public, client, user, pw)
    old_access = kid(old["AccessToken"])
    # Used once before the revocation, so the server has it among its verified tokens: the
    # revocation must reach it there too.
    assert public.get_user(AccessToken=old["AccessToken"])["Username"] == user

    # Revoking the signing access key: its use's next key (a new one here) takes over.
    revoked = keys_cli(s, "keys revoke", old_access)
    assert revoked == [
        {**revoked[0], "kid": old_access, "state": "revoked", "use": "access", "pool_id": pool_id}
    ]

    def refused():
        try:
            public.get_user(AccessToken=old["AccessToken"])
        except ClientError as e:
            return e
        raise AssertionError("the token of a revoked key is still accepted")

    assert error_of(eventually(refused)) == ("NotAuthorizedException", "Invalid Access Token")
    assert old_access not in jwks_kids(s, pool_id)
    fresh = password_auth(public, client, user, pw)
    assert kid(fresh["AccessToken"]) != old_access
    # The ID key wasn't revoked: it still signs.
    assert kid(fresh["IdToken"]) == kid(old["IdToken"])
    assert public.get_user(AccessToken=fresh["AccessToken"])["Username"] == user
    states = by_state(keys_cli(s, "keys list", "--pool", pool_id))
    assert states["revoked"] == {old_access}
    assert len(states["active"]) == 2 and len(states["next"]) == 1

    # Revoking again, or a key that doesn't exist, is an error that says so.
    again = s.cli("keys revoke", old_access)
    assert again.returncode != 0 and "already revoked" in again.stderr
    missing = s.cli("keys revoke", "no-such-kid")
    assert missing.returncode != 0 and "No signing key no-such-kid" in missing.stderr


def test_schedule_publishes_next_keys_then_rotates_and_drops_expired_keys(spawn, tmp_path):
    pytest.importorskip("libfaketime", reason="libfaketime moves the server's clock")
    clock = FakeClock(tmp_path)
    s = spawn(extra_env=clock.env)
    if not clock.works_on(s.endpoint):
        pytest.skip("libfaketime could not move the server's clock on this platform")
    idp, public = s.client(), s.client(unsigned=True)
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    user, pw = confirmed_user(idp, pool_id, client)
    issuer = s.issuer(pool_id)
    first = password_auth(public, client, user, pw)
    signing = {kid(first["IdToken"]), kid(first["AccessToken"])}
    assert jwks_kids(s, pool_id) == signing

    # The upkeep runs at start and every few minutes: ten minutes on, the pool gets next keys.
    clock.advance(11 * 60)
    s.restart()

    def next_keys_published():
        kids = jwks_kids(s, pool_id)
        assert len(kids) == 4 and signing < kids
        return kids - signing

    upcoming = eventually(next_keys_published)
    cached = CountingJwkClient(f"{issuer}/.well-known/jwks.json")
    verify(cached, issuer, first["IdToken"], fake_clock=True)

    # 90 days on (the default key_rotation_days), the next keys sign.
    clock.advance(91 * DAY)
    s.restart()

    def rotated():
        tokens = password_auth(public, client, user, pw)
        assert {kid(tokens["IdToken"]), kid(tokens["AccessToken"])} == upcoming
        return tokens

    second = eventually(rotated)
    # Issued on the server's clock, three months ahead of ours.
    verify(cached, issuer, second["IdToken"], fake_clock=True)
    verify(cached, issuer, second["AccessToken"], fake_clock=True)
    assert cached.fetches == 1
    kids = jwks_kids(s, pool_id)
    assert len(kids) == 6 and signing | upcoming < kids

    # A day and more after the rotation no token of the old keys can be live: they leave the JWKS.
    clock.advance(DAY + 600)

    def old_keys_dropped():
        assert jwks_kids(s, pool_id) == kids - signing

    eventually(old_keys_dropped)


def test_a_node_with_another_master_key_refuses_to_start(spawn):
    key = new_master_key()
    s = spawn(master_key=key)
    pool_id = create_pool(s.client())
    s.stop()
    s.master_key = new_master_key()
    run = subprocess.run(
        [s.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(s.data_dir)],
        env=s._env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode != 0
    assert "master key doesn't match" in run.stderr
    # With its own key it starts and serves the pool.
    s.master_key = key
    s.start()
    assert s.client().describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
