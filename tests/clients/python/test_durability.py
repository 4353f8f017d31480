"""Durability of the embedded store: kill -9 the server, start it again on the same data dir (and
port: the issuer embeds it), and everything acknowledged before the kill is still there."""

from __future__ import annotations

import jwt
import requests

from support import (
    attrs_of,
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    password_auth,
    unique,
)


def verify(server, pool, token, audience=None):
    disc = requests.get(f"{server.endpoint}/{pool}/.well-known/openid-configuration", timeout=10).json()
    key = jwt.PyJWKClient(disc["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=disc["issuer"], audience=audience,
        options={"verify_aud": audience is not None},
    )


def test_kill9_and_restart_keeps_everything(spawn):
    s = spawn()
    idp = s.client()
    pool = create_pool(idp, unique("durable"))
    public = create_client(idp, pool)
    secret = create_client(idp, pool, secret=True)
    alice, alice_pw = confirmed_user(idp, pool, public, {"custom:tier": "gold"})
    tokens = password_auth(idp, public, alice, alice_pw)
    signed_out, so_pw = confirmed_user(idp, pool, public)
    so_tokens = password_auth(idp, public, signed_out, so_pw)
    idp.global_sign_out(AccessToken=so_tokens["AccessToken"])
    jwks_before = requests.get(f"{s.endpoint}/{pool}/.well-known/jwks.json", timeout=10).json()
    # The last write right before the kill must survive it too.
    idp.admin_update_user_attributes(UserPoolId=pool, Username=alice,
                                     UserAttributes=[{"Name": "custom:tier", "Value": "platinum"}])

    endpoint = s.endpoint
    s.restart(hard=True)
    assert s.endpoint == endpoint
    idp = s.client()

    assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Id"] == pool
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=secret["ClientId"])["UserPoolClient"]
    assert d["ClientSecret"] == secret["ClientSecret"]
    got = idp.admin_get_user(UserPoolId=pool, Username=alice)
    assert got["UserStatus"] == "CONFIRMED"
    assert attrs_of(got["UserAttributes"])["custom:tier"] == "platinum"
    assert requests.get(f"{s.endpoint}/{pool}/.well-known/jwks.json", timeout=10).json() == jwks_before

    # Tokens issued before the crash: still accepted, still verifiable, refreshable.
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == alice
    assert verify(s, pool, tokens["AccessToken"])["username"] == alice
    assert verify(s, pool, tokens["IdToken"], public["ClientId"])["cognito:username"] == alice
    r = idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})
    assert idp.get_user(AccessToken=r["AuthenticationResult"]["AccessToken"])["Username"] == alice
    # Passwords still verify; revocations are still in force.
    assert password_auth(idp, public, alice, alice_pw)["AccessToken"]
    with aws_error("NotAuthorizedException", "Access Token has been revoked"):
        idp.get_user(AccessToken=so_tokens["AccessToken"])

    # Work goes on after the restart, and survives a graceful restart too.
    bob, bob_pw = confirmed_user(idp, pool, public)
    s.restart()
    idp = s.client()
    assert {u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"]} == {alice, signed_out, bob}
    assert password_auth(idp, public, bob, bob_pw)["AccessToken"]
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == alice


def test_generated_secrets_survive_restart(spawn):
    """Without TESSERA_MASTER_KEY the server generates one into the data dir; a restart must reuse
    it, or client secrets and signing keys sealed with it would be unreadable."""
    s = spawn()
    idp = s.client()
    pool = create_pool(idp)
    client = create_client(idp, pool, secret=True)
    s.restart(hard=True)
    idp = s.client()
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=client["ClientId"])["UserPoolClient"]
    assert d["ClientSecret"] == client["ClientSecret"]
    user, pw = unique(), password()
    from support import sign_up, secret_hash
    sign_up(idp, d, user, pw)
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=user)
    r = idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": pw,
                        "SECRET_HASH": secret_hash(user, client["ClientId"], client["ClientSecret"])},
    )
    assert r["AuthenticationResult"]["AccessToken"]
