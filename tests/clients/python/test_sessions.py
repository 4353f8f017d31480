"""User sessions through boto3: the pool and client session configuration, ListUserSessions /
AdminListUserSessions (each sign-in's token family is a session; each hosted-UI sign-in an SSO
session), RevokeUserSession /
AdminRevokeUserSession (the revoked session's access and refresh tokens refused at once), the
pool's MaxPerUser evicting the least recently used session, and AdminDeleteSoftwareToken."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pyotp
import pytest
import requests

from hosted_ui import CALLBACK, Browser, callback_params, domain_base, oauth_pool
from support import aws_error, create_client, create_pool, password, unique

REVOKED_ACCESS = "Access Token has been revoked"
REVOKED_REFRESH = "Refresh Token has been revoked"


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return create_client(idp, pool)


def user(idp, pool_id) -> tuple[str, str]:
    username, pw = unique("user"), password()
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=pw, Permanent=True)
    return username, pw


def sign_in(public_idp, client, username, pw) -> dict:
    return public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw},
    )["AuthenticationResult"]


def refresh(public_idp, client, tokens) -> dict:
    return public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]


def current_session(public_idp, tokens) -> dict:
    sessions = public_idp.list_user_sessions(AccessToken=tokens["AccessToken"])["Sessions"]
    (mine,) = [s for s in sessions if s["IsCurrentSession"]]
    return mine


def test_session_configuration_round_trips(idp, pool, client):
    got = idp.get_user_pool_session_configuration(UserPoolId=pool)
    assert got["UserSessionTracking"] == "DISABLED"
    assert got["TokenSession"] == {"MaxPerUser": 20}
    out = idp.set_user_pool_session_configuration(
        UserPoolId=pool, UserSessionTracking="ENABLED", TokenSession={"MaxPerUser": 50}
    )
    assert out["UserSessionTracking"] == "ENABLED" and out["TokenSession"] == {"MaxPerUser": 50}
    got = idp.get_user_pool_session_configuration(UserPoolId=pool)
    assert (got["UserPoolId"], got["UserSessionTracking"], got["TokenSession"]) == (pool, "ENABLED", {"MaxPerUser": 50})

    out = idp.set_user_pool_client_session_configuration(
        UserPoolId=pool, ClientId=client["ClientId"], SSOSession={"MaxValidityMinutes": 120}
    )
    assert out["SSOSession"] == {"MaxValidityMinutes": 120}
    got = idp.get_user_pool_client_session_configuration(UserPoolId=pool, ClientId=client["ClientId"])
    assert got["SSOSession"] == {"MaxValidityMinutes": 120}
    with aws_error("ResourceNotFoundException"):
        idp.get_user_pool_client_session_configuration(UserPoolId=pool, ClientId="1" * 26)


def test_sessions_are_listed_and_revoked_with_their_tokens(idp, public_idp, pool, client):
    username, pw = user(idp, pool)
    a, b, c = (sign_in(public_idp, client, username, pw) for _ in range(3))
    b = refresh(public_idp, client, b) | {"RefreshToken": b["RefreshToken"]}

    sessions = public_idp.list_user_sessions(AccessToken=a["AccessToken"])["Sessions"]
    assert len(sessions) == 3
    assert [s["IsCurrentSession"] for s in sessions].count(True) == 1
    for s in sessions:
        assert s["SessionType"] == "TOKEN"
        assert s["SessionId"].startswith("tkn") and len(s["SessionId"]) == 28
        assert s["ClientId"] == client["ClientId"]
        assert s["LastActiveDate"] >= s["CreateDate"]
    mine = current_session(public_idp, a)
    b_session = current_session(public_idp, b)
    c_session = current_session(public_idp, c)
    assert len({mine["SessionId"], b_session["SessionId"], c_session["SessionId"]}) == 3

    # A can't revoke its own session this way.
    with aws_error("InvalidParameterException"):
        public_idp.revoke_user_session(AccessToken=a["AccessToken"], SessionId=mine["SessionId"])
    with aws_error("ResourceNotFoundException"):
        public_idp.revoke_user_session(AccessToken=a["AccessToken"], SessionId="tkn" + "0" * 25)

    public_idp.revoke_user_session(AccessToken=a["AccessToken"], SessionId=b_session["SessionId"])
    with aws_error("NotAuthorizedException", REVOKED_ACCESS):
        public_idp.get_user(AccessToken=b["AccessToken"])
    with aws_error("NotAuthorizedException", REVOKED_REFRESH):
        refresh(public_idp, client, b)
    # Revoked once is gone.
    with aws_error("ResourceNotFoundException"):
        public_idp.revoke_user_session(AccessToken=a["AccessToken"], SessionId=b_session["SessionId"])
    assert public_idp.get_user(AccessToken=a["AccessToken"])["Username"] == username

    # The administrator sees the rest (none "current"), and revokes C.
    admin = idp.admin_list_user_sessions(UserPoolId=pool, Username=username)["Sessions"]
    assert {s["SessionId"] for s in admin} == {mine["SessionId"], c_session["SessionId"]}
    assert not any(s["IsCurrentSession"] for s in admin)
    idp.admin_revoke_user_session(UserPoolId=pool, Username=username, SessionId=c_session["SessionId"])
    with aws_error("NotAuthorizedException", REVOKED_ACCESS):
        public_idp.get_user(AccessToken=c["AccessToken"])
    with aws_error("NotAuthorizedException", REVOKED_REFRESH):
        refresh(public_idp, client, c)
    assert [s["SessionId"] for s in public_idp.list_user_sessions(AccessToken=a["AccessToken"])["Sessions"]] == [
        mine["SessionId"]
    ]

    # One user's session id means nothing to another.
    other, other_pw = user(idp, pool)
    with aws_error("ResourceNotFoundException"):
        idp.admin_revoke_user_session(UserPoolId=pool, Username=other, SessionId=mine["SessionId"])
    assert public_idp.get_user(AccessToken=a["AccessToken"])["Username"] == username


def test_max_sessions_per_user_evicts_the_least_recently_used(idp, public_idp):
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    idp.set_user_pool_session_configuration(
        UserPoolId=pool_id, UserSessionTracking="ENABLED", TokenSession={"MaxPerUser": 2}
    )
    username, pw = user(idp, pool_id)
    first = sign_in(public_idp, client, username, pw)
    second = sign_in(public_idp, client, username, pw)
    third = sign_in(public_idp, client, username, pw)
    with aws_error("NotAuthorizedException", REVOKED_ACCESS):
        public_idp.get_user(AccessToken=first["AccessToken"])
    with aws_error("NotAuthorizedException", REVOKED_REFRESH):
        refresh(public_idp, client, first)
    for t in (second, third):
        assert public_idp.get_user(AccessToken=t["AccessToken"])["Username"] == username
    assert len(idp.admin_list_user_sessions(UserPoolId=pool_id, Username=username)["Sessions"]) == 2

    # Without tracking, nothing is evicted.
    idp.set_user_pool_session_configuration(
        UserPoolId=pool_id, UserSessionTracking="DISABLED", TokenSession={"MaxPerUser": 2}
    )
    sign_in(public_idp, client, username, pw)
    assert public_idp.get_user(AccessToken=second["AccessToken"])["Username"] == username


def test_admin_delete_software_token(idp, public_idp):
    pool = create_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=pool, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    client = create_client(idp, pool)
    username, pw = user(idp, pool)
    tokens = sign_in(public_idp, client, username, pw)
    secret = public_idp.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
    totp = pyotp.TOTP(secret)
    public_idp.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=totp.now(), FriendlyDeviceName="app")
    public_idp.set_user_mfa_preference(
        AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    got = idp.admin_get_user(UserPoolId=pool, Username=username)
    assert got["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]

    idp.admin_delete_software_token(UserPoolId=pool, Username=username)
    got = idp.admin_get_user(UserPoolId=pool, Username=username)
    assert "UserMFASettingList" not in got and "PreferredMfaSetting" not in got
    idp.admin_delete_software_token(UserPoolId=pool, Username=username)  # idempotent
    with aws_error("UserNotFoundException"):
        idp.admin_delete_software_token(UserPoolId=pool, Username=unique("nobody"))


def test_tessera_operations_counts_the_issue_18_operations():
    import subprocess  # noqa: PLC0415

    from tessera_server import tessera_bin  # noqa: PLC0415

    listed = set(subprocess.run([tessera_bin(), "operations"], capture_output=True, text=True, check=True)
                 .stdout.split())
    for op in ["GetUserAuthFactors", "AdminGetUserAuthFactors", "StartWebAuthnRegistration",
               "CompleteWebAuthnRegistration", "ListWebAuthnCredentials", "DeleteWebAuthnCredential",
               "SetUserPoolSessionConfiguration", "GetUserPoolSessionConfiguration",
               "SetUserPoolClientSessionConfiguration", "GetUserPoolClientSessionConfiguration",
               "ListUserSessions", "AdminListUserSessions", "RevokeUserSession", "AdminRevokeUserSession",
               "AdminDeleteSoftwareToken"]:
        assert f"cognito-idp.{op}" in listed, op


def test_sessions_are_listed_a_page_at_a_time(idp, public_idp):
    # A pool of its own: without session tracking nothing is evicted, so all 55 stay active.
    pool = create_pool(idp)
    client = create_client(idp, pool)
    username, pw = user(idp, pool)
    signed_in = [sign_in(public_idp, client, username, pw) for _ in range(55)]
    first = public_idp.list_user_sessions(AccessToken=signed_in[-1]["AccessToken"])
    assert len(first["Sessions"]) == 50 and first["NextToken"]
    second = public_idp.list_user_sessions(AccessToken=signed_in[-1]["AccessToken"],
                                           NextToken=first["NextToken"])
    assert len(second["Sessions"]) == 5 and "NextToken" not in second
    ids = [s["SessionId"] for s in first["Sessions"] + second["Sessions"]]
    assert len(set(ids)) == 55
    # The caller's own session is the newest: last, on the second page.
    assert second["Sessions"][-1]["IsCurrentSession"] is True
    # The admin listing pages the same way.
    admin = idp.admin_list_user_sessions(UserPoolId=pool, Username=username)
    assert [s["SessionId"] for s in admin["Sessions"]] == ids[:50]
    rest = idp.admin_list_user_sessions(UserPoolId=pool, Username=username, NextToken=admin["NextToken"])
    assert [s["SessionId"] for s in rest["Sessions"]] == ids[50:]
    with aws_error("InvalidParameterException", "Invalid pagination token provided."):
        idp.admin_list_user_sessions(UserPoolId=pool, Username=username, NextToken="bm90LWEtc2Vzc2lvbg")


def test_hosted_ui_sign_ins_are_sso_sessions(server, idp, public_idp):
    """A sign-in on the hosted pages is an SSO session beside the token session its code grant
    starts; revoking it ends the cookie's sign-ins at once, and its lifetime is the client's
    SSOSession MaxValidityMinutes."""
    pool_id, domain, client = oauth_pool(idp)
    idp.set_user_pool_client_session_configuration(
        UserPoolId=pool_id, ClientId=client["ClientId"], SSOSession={"MaxValidityMinutes": 10}
    )
    username, pw = user(idp, pool_id)
    authorize = f"{domain_base(server, domain)}/oauth2/authorize?" + urlencode({
        "client_id": client["ClientId"], "response_type": "code", "redirect_uri": CALLBACK,
        "scope": "openid aws.cognito.signin.user.admin",
    })
    b = Browser()
    b.get(authorize)
    r = b.submit({"username": username, "password": pw})
    cookie = next(c for c in b.http.cookies if c.name == "tessera-session")
    assert 590 <= cookie.expires - time.time() <= 601  # ten minutes
    code = callback_params(r)["code"]
    tokens = requests.post(f"{domain_base(server, domain)}/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
        "redirect_uri": CALLBACK,
    }, timeout=15).json()

    sessions = public_idp.list_user_sessions(AccessToken=tokens["access_token"])["Sessions"]
    assert sorted(s["SessionType"] for s in sessions) == ["SSO", "TOKEN"]
    (sso,) = [s for s in sessions if s["SessionType"] == "SSO"]
    assert sso["SessionId"].startswith("sso") and len(sso["SessionId"]) == 28
    assert sso["ClientId"] == client["ClientId"]
    assert sso["IsCurrentSession"] is False
    admin = idp.admin_list_user_sessions(UserPoolId=pool_id, Username=username)["Sessions"]
    assert sso["SessionId"] in [s["SessionId"] for s in admin]

    # While it lives, the cookie signs in again without the form.
    assert callback_params(b.get(authorize))["code"]
    public_idp.revoke_user_session(AccessToken=tokens["access_token"], SessionId=sso["SessionId"])
    again = b.get(authorize)
    assert again.status_code == 200 and "/login?" in again.url  # the form again
    left = public_idp.list_user_sessions(AccessToken=tokens["access_token"])["Sessions"]
    assert [s["SessionType"] for s in left] == ["TOKEN"]
    with aws_error("ResourceNotFoundException", "Session not found."):
        idp.admin_revoke_user_session(UserPoolId=pool_id, Username=username, SessionId=sso["SessionId"])
