"""Helpers shared by the boto3 suites: names, passwords, SECRET_HASH, pool/client/user set-up,
error assertions and the core end-to-end scenario (run against SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets

import pytest
from botocore.exceptions import ClientError

ALL_FLOWS = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def password() -> str:
    """A fresh password that satisfies the default policy (8+, upper, lower, digit, symbol)."""
    return f"Pw1!{secrets.token_urlsafe(9)}aZ9"


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@contextlib.contextmanager
def aws_error(code: str, message: str | None = None, *, contains: str | None = None):
    """Expects a botocore ClientError with exactly `code` (and `message`, if given)."""
    with pytest.raises(ClientError) as info:
        yield info
    err = info.value.response["Error"]
    assert err["Code"] == code, f"expected {code}, got {err}"
    if message is not None:
        assert err["Message"] == message, f"expected message {message!r}, got {err}"
    if contains is not None:
        assert contains in err["Message"], f"expected {contains!r} in {err}"


def create_pool(idp, name: str | None = None, **kwargs) -> str:
    params = {
        "PoolName": name or unique("pool"),
        "Schema": [
            {
                "Name": "tier",
                "AttributeDataType": "String",
                "Mutable": True,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "32"},
            },
            {
                "Name": "level",
                "AttributeDataType": "Number",
                "Mutable": True,
                "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "100"},
            },
        ],
    }
    params.update(kwargs)
    return idp.create_user_pool(**params)["UserPool"]["Id"]


def create_client(idp, pool_id: str, *, secret: bool = False, rotation: bool = False, **kwargs) -> dict:
    params = {
        "UserPoolId": pool_id,
        "ClientName": unique("client"),
        "GenerateSecret": secret,
        "ExplicitAuthFlows": ALL_FLOWS,
    }
    if rotation:
        params["RefreshTokenRotation"] = {"Feature": "ENABLED", "RetryGracePeriodSeconds": 0}
    params.update(kwargs)
    return idp.create_user_pool_client(**params)["UserPoolClient"]


def sign_up(idp, client: dict, username: str, pw: str, attributes: dict | None = None) -> dict:
    params = {
        "ClientId": client["ClientId"],
        "Username": username,
        "Password": pw,
        "UserAttributes": [{"Name": k, "Value": v} for k, v in (attributes or {}).items()],
    }
    if client.get("ClientSecret"):
        params["SecretHash"] = secret_hash(username, client["ClientId"], client["ClientSecret"])
    return idp.sign_up(**params)


def confirmed_user(idp, pool_id: str, client: dict, attributes: dict | None = None, username=None):
    """Signs up a user through `client` and admin-confirms it; returns (username, password)."""
    username = username or unique("user")
    pw = password()
    attrs = {"email": f"{username}@example.com"}
    attrs.update(attributes or {})
    sign_up(idp, client, username, pw, attrs)
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    return username, pw


def password_auth(idp, client: dict, username: str, pw: str) -> dict:
    params = {"USERNAME": username, "PASSWORD": pw}
    if client.get("ClientSecret"):
        params["SECRET_HASH"] = secret_hash(username, client["ClientId"], client["ClientSecret"])
    resp = idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
    )
    assert "ChallengeName" not in resp, resp
    return resp["AuthenticationResult"]


def attrs_of(entries) -> dict:
    return {a["Name"]: a["Value"] for a in entries}


def error_of(exc: ClientError) -> tuple[str, str]:
    return exc.response["Error"]["Code"], exc.response["Error"]["Message"]


def run_core_scenario(idp) -> dict:
    """The core journey, used verbatim against every store: pool with a custom attribute, two
    clients, sign-up, admin confirm, both password flows, GetUser, both refresh paths, password
    change, attribute updates, ListUsers, sign-out, deletion. Returns what it created."""
    pool_name = unique("core")
    pool_id = create_pool(idp, pool_name)
    assert pool_id.startswith("us-east-1_")
    public = create_client(idp, pool_id, rotation=True)
    confidential = create_client(idp, pool_id, secret=True)
    assert "ClientSecret" not in public and confidential["ClientSecret"]

    username, pw = unique("alice"), password()
    resp = sign_up(idp, public, username, pw, {"email": f"{username}@example.com", "custom:tier": "gold"})
    assert resp["UserConfirmed"] is False and resp["UserSub"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "UNCONFIRMED"
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"

    tokens = password_auth(idp, public, username, pw)
    admin_tokens = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=confidential["ClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": username,
            "PASSWORD": pw,
            "SECRET_HASH": secret_hash(username, confidential["ClientId"], confidential["ClientSecret"]),
        },
    )["AuthenticationResult"]
    assert admin_tokens["AccessToken"] and admin_tokens["RefreshToken"]

    me = idp.get_user(AccessToken=tokens["AccessToken"])
    assert me["Username"] == username
    assert attrs_of(me["UserAttributes"])["custom:tier"] == "gold"
    assert attrs_of(me["UserAttributes"])["sub"] == resp["UserSub"]

    # REFRESH_TOKEN_AUTH on the non-rotating client (Cognito steers rotating clients to
    # GetTokensFromRefreshToken).
    refreshed = idp.initiate_auth(
        ClientId=confidential["ClientId"],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={
            "REFRESH_TOKEN": admin_tokens["RefreshToken"],
            "SECRET_HASH": secret_hash(username, confidential["ClientId"], confidential["ClientSecret"]),
        },
    )["AuthenticationResult"]
    assert "RefreshToken" not in refreshed
    assert idp.get_user(AccessToken=refreshed["AccessToken"])["Username"] == username

    rotated = idp.get_tokens_from_refresh_token(
        ClientId=public["ClientId"], RefreshToken=tokens["RefreshToken"]
    )["AuthenticationResult"]
    assert rotated["RefreshToken"] and rotated["RefreshToken"] != tokens["RefreshToken"]
    with aws_error("RefreshTokenReuseException"):  # grace period 0
        idp.get_tokens_from_refresh_token(ClientId=public["ClientId"], RefreshToken=tokens["RefreshToken"])
    # The reuse ended the whole family, the newest refresh token with it: sign in again.
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        idp.get_tokens_from_refresh_token(ClientId=public["ClientId"], RefreshToken=rotated["RefreshToken"])
    fresh = password_auth(idp, public, username, pw)
    again = idp.get_tokens_from_refresh_token(
        ClientId=public["ClientId"], RefreshToken=fresh["RefreshToken"]
    )["AuthenticationResult"]
    assert idp.get_user(AccessToken=again["AccessToken"])["Username"] == username

    new_pw = password()
    idp.change_password(PreviousPassword=pw, ProposedPassword=new_pw, AccessToken=again["AccessToken"])
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(idp, public, username, pw)
    tokens = password_auth(idp, public, username, new_pw)

    idp.update_user_attributes(
        AccessToken=tokens["AccessToken"],
        UserAttributes=[{"Name": "given_name", "Value": "Alice"}, {"Name": "custom:tier", "Value": "platinum"}],
    )
    got = attrs_of(idp.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"])
    assert got["given_name"] == "Alice" and got["custom:tier"] == "platinum"
    idp.delete_user_attributes(AccessToken=tokens["AccessToken"], UserAttributeNames=["given_name"])
    got = attrs_of(idp.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"])
    assert "given_name" not in got

    bob, _ = confirmed_user(idp, pool_id, public)
    listed = idp.list_users(UserPoolId=pool_id, Filter=f'username = "{username}"')["Users"]
    assert [u["Username"] for u in listed] == [username]
    names = set()
    token = None
    pages = 0
    while True:
        kw = {"UserPoolId": pool_id, "Limit": 1}
        if token:
            kw["PaginationToken"] = token
        page = idp.list_users(**kw)
        pages += 1
        assert len(page["Users"]) <= 1
        names.update(u["Username"] for u in page["Users"])
        token = page.get("PaginationToken")
        if not token:
            break
        assert pages < 10
    assert names == {username, bob}

    idp.global_sign_out(AccessToken=tokens["AccessToken"])
    with aws_error("NotAuthorizedException", "Access Token has been revoked"):
        idp.get_user(AccessToken=tokens["AccessToken"])

    idp.admin_delete_user(UserPoolId=pool_id, Username=username)
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool_id, Username=username)
    return {
        "pool_id": pool_id,
        "pool_name": pool_name,
        "public": public,
        "confidential": confidential,
        "bob": bob,
    }


def challenge_json(resp: dict, name: str):
    return json.loads(resp["ChallengeParameters"][name])
