"""AdminCreateUser with a temporary password, then the NEW_PASSWORD_REQUIRED challenge."""

from __future__ import annotations

import json

import pytest

from support import (
    attrs_of,
    aws_error,
    create_client,
    create_pool,
    password,
    password_auth,
    secret_hash,
    unique,
)


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def public(idp, pool):
    return create_client(idp, pool)


@pytest.fixture(scope="module")
def confidential(idp, pool):
    return create_client(idp, pool, secret=True)


def admin_create(idp, pool, username=None, temp=None, **attrs):
    username = username or unique("invited")
    temp = temp or password()
    attributes = {"email": f"{username}@example.com", "email_verified": "true"}
    attributes.update(attrs)
    resp = idp.admin_create_user(
        UserPoolId=pool,
        Username=username,
        TemporaryPassword=temp,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
    )
    return username, temp, resp["User"]


def test_admin_create_user_shape(idp, pool):
    username, _, user = admin_create(idp, pool, **{"custom:tier": "gold"})
    assert user["Username"] == username
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert user["Enabled"] is True
    attrs = attrs_of(user["Attributes"])
    assert attrs["email"] == f"{username}@example.com" and attrs["custom:tier"] == "gold"
    assert len(attrs["sub"]) == 36
    for k in ("UserCreateDate", "UserLastModifiedDate"):
        assert user[k].year >= 2024  # epoch numbers parsed by botocore into datetimes
    got = idp.admin_get_user(UserPoolId=pool, Username=username)
    assert got["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    with aws_error("UsernameExistsException", "User account already exists"):
        admin_create(idp, pool, username=username)


def test_new_password_required_challenge(idp, public_idp, pool, public):
    username, temp, _ = admin_create(idp, pool, name="Temp User")
    r = public_idp.initiate_auth(
        ClientId=public["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": temp},
    )
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert "AuthenticationResult" not in r
    assert len(r["Session"]) >= 20
    params = r["ChallengeParameters"]
    user_attributes = json.loads(params["userAttributes"])
    required = json.loads(params["requiredAttributes"])
    assert isinstance(user_attributes, dict) and isinstance(required, list)
    assert user_attributes["email"] == f"{username}@example.com"
    assert user_attributes["name"] == "Temp User"
    assert params["USER_ID_FOR_SRP"] == username

    with aws_error("InvalidPasswordException", "Password did not conform with policy: Password not long enough"):
        public_idp.respond_to_auth_challenge(
            ClientId=public["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED", Session=r["Session"],
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "Ab1!"},
        )

    new_pw = password()
    done = public_idp.respond_to_auth_challenge(
        ClientId=public["ClientId"],
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=r["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_pw, "userAttributes.given_name": "Tempo"},
    )
    tokens = done["AuthenticationResult"]
    assert tokens["AccessToken"] and tokens["IdToken"] and tokens["RefreshToken"]
    me = public_idp.get_user(AccessToken=tokens["AccessToken"])
    assert me["Username"] == username
    assert attrs_of(me["UserAttributes"])["given_name"] == "Tempo"
    assert idp.admin_get_user(UserPoolId=pool, Username=username)["UserStatus"] == "CONFIRMED"

    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(public_idp, public, username, temp)
    assert password_auth(public_idp, public, username, new_pw)["AccessToken"]


def test_admin_respond_to_auth_challenge_with_secret(idp, pool, confidential):
    username, temp, _ = admin_create(idp, pool)
    cid, sec = confidential["ClientId"], confidential["ClientSecret"]
    r = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=cid, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": temp, "SECRET_HASH": secret_hash(username, cid, sec)},
    )
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    json.loads(r["ChallengeParameters"]["userAttributes"])
    json.loads(r["ChallengeParameters"]["requiredAttributes"])
    with aws_error("NotAuthorizedException"):
        idp.admin_respond_to_auth_challenge(
            UserPoolId=pool, ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=r["Session"],
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password()},
        )
    done = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool, ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=r["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password(),
                            "SECRET_HASH": secret_hash(username, cid, sec)},
    )
    assert idp.get_user(AccessToken=done["AuthenticationResult"]["AccessToken"])["Username"] == username


def test_invalid_session_is_refused(idp, public_idp, pool, public):
    username, temp, _ = admin_create(idp, pool)
    with aws_error("NotAuthorizedException", contains="Invalid session for the user"):
        public_idp.respond_to_auth_challenge(
            ClientId=public["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
            Session="x" * 40,
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password()},
        )


def test_session_is_single_use(idp, public_idp, pool, public):
    username, temp, _ = admin_create(idp, pool)
    r = public_idp.initiate_auth(
        ClientId=public["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": temp},
    )
    public_idp.respond_to_auth_challenge(
        ClientId=public["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED", Session=r["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password()},
    )
    with aws_error("NotAuthorizedException"):
        public_idp.respond_to_auth_challenge(
            ClientId=public["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED", Session=r["Session"],
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password()},
        )


def test_wrong_temporary_password(idp, public_idp, pool, public):
    username, temp, _ = admin_create(idp, pool)
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(public_idp, public, username, temp + "x")


def test_admin_create_user_without_password_and_resend_suppressed(idp, pool):
    username = unique("nopw")
    resp = idp.admin_create_user(
        UserPoolId=pool, Username=username, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
    )
    assert resp["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"
