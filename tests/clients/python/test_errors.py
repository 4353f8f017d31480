"""Errors as real AWS clients see them: exception type (`__type`) and message, via boto3, plus the
raw wire shape for clients that read headers."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from support import (
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    password_auth,
    sign_up,
    unique,
)
from tessera_server import ROOT_ACCESS_KEY_ID


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return create_client(idp, pool, PreventUserExistenceErrors="LEGACY")


@pytest.fixture(scope="module")
def raw_idp(server):
    """Unsigned and without boto3's own parameter validation, so the server's shows."""
    return server.client(unsigned=True, validate=False)


@pytest.fixture(scope="module")
def raw_admin(server):
    return server.client(validate=False)


def test_incorrect_password(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(idp, client, user, pw + "!")
    # The exception class is modeled, so boto3 raises its typed exception.
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        password_auth(idp, client, user, "Wr0ng!password")


def test_unknown_user_legacy_and_prevented(idp, pool, client):
    with aws_error("UserNotFoundException", "User does not exist."):
        password_auth(idp, client, unique("ghost"), password())
    prevented = create_client(idp, pool, PreventUserExistenceErrors="ENABLED")
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(idp, prevented, unique("ghost"), password())


def test_username_exists(idp, pool, client):
    user, _ = confirmed_user(idp, pool, client)
    with aws_error("UsernameExistsException", "User already exists"):
        sign_up(idp, client, user, password())
    with pytest.raises(idp.exceptions.UsernameExistsException):
        sign_up(idp, client, user, password())


@pytest.mark.parametrize(
    "pw, message",
    [
        ("Ab1!", "Password did not conform with policy: Password not long enough"),
        ("lowercase1!", "Password did not conform with policy: Password must have uppercase characters"),
        ("UPPERCASE1!", "Password did not conform with policy: Password must have lowercase characters"),
        ("NoDigits!!", "Password did not conform with policy: Password must have numeric characters"),
        ("NoSymbols11", "Password did not conform with policy: Password must have symbol characters"),
    ],
)
def test_password_policy(idp, client, pw, message):
    with aws_error("InvalidPasswordException", message):
        sign_up(idp, client, unique(), pw)


def test_user_not_found(idp, pool):
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool, Username=unique("ghost"))
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_delete_user(UserPoolId=pool, Username=unique("ghost"))
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_confirm_sign_up(UserPoolId=pool, Username=unique("ghost"))


def test_pool_not_found(idp):
    missing = "us-east-1_NoSuchPool0"
    with aws_error("ResourceNotFoundException", f"User pool {missing} does not exist."):
        idp.describe_user_pool(UserPoolId=missing)
    with aws_error("ResourceNotFoundException", f"User pool {missing} does not exist."):
        idp.admin_get_user(UserPoolId=missing, Username="anyone")
    with aws_error("ResourceNotFoundException", f"User pool {missing} does not exist."):
        idp.create_user_pool_client(UserPoolId=missing, ClientName="x")


def test_client_not_found(idp, public_idp):
    missing = "1example23456789abcdefghij"
    with aws_error("ResourceNotFoundException", f"User pool client {missing} does not exist."):
        public_idp.initiate_auth(ClientId=missing, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": "a", "PASSWORD": "b"})
    with aws_error("ResourceNotFoundException", f"User pool client {missing} does not exist."):
        public_idp.sign_up(ClientId=missing, Username="someone", Password=password())


def test_user_not_confirmed(idp, client):
    user, pw = unique(), password()
    sign_up(idp, client, user, pw)
    with aws_error("UserNotConfirmedException", "User is not confirmed."):
        password_auth(idp, client, user, pw)


def test_flow_not_enabled(idp, pool):
    only_admin = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])
    user, pw = confirmed_user(idp, pool, only_admin)
    with aws_error("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"):
        password_auth(idp, only_admin, user, pw)
    tokens = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=only_admin["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": pw},
    )["AuthenticationResult"]
    with aws_error("InvalidParameterException", "Refresh Token Flow not enabled for this client"):
        idp.initiate_auth(ClientId=only_admin["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})


def test_admin_flow_on_public_operation_is_refused(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    with aws_error("InvalidParameterException"):
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": user, "PASSWORD": pw})


def test_invalid_access_token(public_idp):
    with aws_error("NotAuthorizedException", "Invalid Access Token"):
        public_idp.get_user(AccessToken="not.a.token")


def test_id_token_is_not_an_access_token(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    tokens = password_auth(idp, client, user, pw)
    with aws_error("NotAuthorizedException", "Invalid Access Token"):
        idp.get_user(AccessToken=tokens["IdToken"])


def test_missing_required_member(raw_idp):
    with aws_error(
        "InvalidParameterException",
        "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: "
        "Member must not be null",
    ):
        raw_idp.initiate_auth(AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "a", "PASSWORD": "b"})


def test_two_missing_members(raw_idp):
    with pytest.raises(ClientError) as e:
        raw_idp.initiate_auth(AuthParameters={"USERNAME": "a"})
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidParameterException"
    assert err["Message"].startswith("2 validation errors detected: ")
    assert "Value null at 'authFlow' failed to satisfy constraint: Member must not be null" in err["Message"]
    assert "Value null at 'clientId' failed to satisfy constraint: Member must not be null" in err["Message"]


def test_length_and_pattern_constraints(raw_admin, pool):
    with aws_error(
        "InvalidParameterException",
        "1 validation error detected: Value at 'username' failed to satisfy constraint: "
        "Member must have length less than or equal to 128",
    ):
        raw_admin.admin_get_user(UserPoolId=pool, Username="u" * 129)
    with aws_error(
        "InvalidParameterException",
        "1 validation error detected: Value 'not-a-pool' at 'userPoolId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+",
    ):
        raw_admin.describe_user_pool(UserPoolId="not-a-pool")
    with aws_error(
        "InvalidParameterException",
        "1 validation error detected: Value '61' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 60",
    ):
        raw_admin.list_users(UserPoolId=pool, Limit=61)


def test_nested_member_path(raw_admin):
    with pytest.raises(ClientError) as e:
        raw_admin.create_user_pool(
            PoolName=unique("pool"),
            Policies={"PasswordPolicy": {"MinimumLength": 2}},
        )
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidParameterException"
    assert err["Message"] == (
        "1 validation error detected: Value '2' at 'policies.passwordPolicy.minimumLength' failed to "
        "satisfy constraint: Member must have value greater than or equal to 6"
    )


def test_wrong_json_type_is_a_serialization_error(server):
    r = _post(server, "InitiateAuth", {"ClientId": 12, "AuthFlow": "USER_PASSWORD_AUTH"})
    assert r.status_code == 400
    assert r.json()["__type"].split("#")[-1] == "SerializationException"


def test_unknown_access_key_is_unrecognized(server):
    intruder = server.client(access_key="AKIAUNKNOWNUNKNOWN01", secret_key="whatever")
    with aws_error("UnrecognizedClientException", "The security token included in the request is invalid."):
        intruder.list_user_pools(MaxResults=10)


def test_wrong_secret_key_is_invalid_signature(server):
    wrong = server.client(access_key=ROOT_ACCESS_KEY_ID, secret_key="not-the-secret")
    with aws_error("InvalidSignatureException", contains="The request signature we calculated does not match"):
        wrong.list_user_pools(MaxResults=10)


def test_unsigned_admin_call_is_refused(server):
    anon = server.client(unsigned=True)
    with aws_error("MissingAuthenticationTokenException"):
        anon.list_user_pools(MaxResults=10)
    with aws_error("MissingAuthenticationTokenException"):
        anon.admin_get_user(UserPoolId="us-east-1_abc", Username="x")


def test_public_operations_work_unsigned_and_signed(server, idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    unsigned = server.client(unsigned=True)
    assert password_auth(unsigned, client, user, pw)["AccessToken"]
    assert password_auth(idp, client, user, pw)["AccessToken"]


# -- the raw wire ------------------------------------------------------------------------------

def _post(server, op, body, target_prefix="AWSCognitoIdentityProviderService"):
    return requests.post(
        server.endpoint + "/",
        data=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{target_prefix}.{op}",
        },
        timeout=10,
    )


def test_error_wire_shape(server):
    r = _post(server, "GetUser", {"AccessToken": "garbage"})
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/x-amz-json-1.1")
    assert r.headers.get("x-amzn-RequestId")
    assert r.headers["x-amzn-ErrorType"].split(":")[0] == "NotAuthorizedException"
    body = r.json()
    assert body["__type"].split("#")[-1] == "NotAuthorizedException"
    assert body["message"] == "Invalid Access Token"


def test_success_wire_shape(server, idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    r = _post(server, "InitiateAuth", {
        "ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": user, "PASSWORD": pw},
    })
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/x-amz-json-1.1")
    assert r.headers.get("x-amzn-RequestId")
    body = r.json()
    assert set(body) == {"AuthenticationResult", "ChallengeParameters"} or set(body) == {"AuthenticationResult"}
    assert None not in body["AuthenticationResult"].values()
    at = body["AuthenticationResult"]["AccessToken"]
    r = _post(server, "GlobalSignOut", {"AccessToken": at})
    assert r.status_code == 200 and r.json() == {}


def test_unknown_operation(server):
    r = _post(server, "NoSuchOperation", {})
    assert r.status_code == 400
    assert r.json()["__type"].split("#")[-1] == "UnknownOperationException"


def test_malformed_json(server):
    r = requests.post(
        server.endpoint + "/", data="{not json",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["__type"].split("#")[-1] == "SerializationException"
