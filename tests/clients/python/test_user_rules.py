"""Cognito's rules around users, attributes and sign-in, as boto3 sees them."""

from __future__ import annotations

import pytest

from support import (
    attrs_of,
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    password_auth,
    sign_up,
    unique,
)


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return create_client(idp, pool)


def test_lockout_after_five_failures(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    for _ in range(5):
        with aws_error("NotAuthorizedException", "Incorrect username or password."):
            password_auth(idp, client, user, pw + "x")
    # Locked for a while: even the right password is refused.
    with aws_error("NotAuthorizedException", "Password attempts exceeded"):
        password_auth(idp, client, user, pw)


def test_successful_sign_in_resets_the_failure_count(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    for _ in range(3):
        with aws_error("NotAuthorizedException", "Incorrect username or password."):
            password_auth(idp, client, user, pw + "x")
    password_auth(idp, client, user, pw)
    for _ in range(4):
        with aws_error("NotAuthorizedException", "Incorrect username or password."):
            password_auth(idp, client, user, pw + "x")
    assert password_auth(idp, client, user, pw)["AccessToken"]


def test_unconfirmed_user_with_wrong_password(idp, client):
    user, pw = unique(), password()
    sign_up(idp, client, user, pw)
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(idp, client, user, pw + "x")


def test_confirming_twice(idp, pool, client):
    user, _ = confirmed_user(idp, pool, client)
    with aws_error("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"):
        idp.admin_confirm_sign_up(UserPoolId=pool, Username=user)


def test_custom_attribute_constraints(idp, client):
    with aws_error("InvalidParameterException",
                   "Attributes did not conform to the schema: custom:tier: String must be no longer than 32 characters"):
        sign_up(idp, client, unique(), password(), {"custom:tier": "x" * 33})
    with aws_error("InvalidParameterException", "Attributes did not conform to the schema: custom:level: Number expected"):
        sign_up(idp, client, unique(), password(), {"custom:level": "many"})


def test_invalid_email(idp, client):
    with aws_error("InvalidParameterException", "Invalid email address format."):
        sign_up(idp, client, unique(), password(), {"email": "not-an-email"})


def test_admin_create_user_checks_the_temporary_password(idp, pool):
    with aws_error("InvalidPasswordException", "Password did not conform with policy: Password not long enough"):
        idp.admin_create_user(UserPoolId=pool, Username=unique(), TemporaryPassword="Sh0rt!", MessageAction="SUPPRESS")


def test_changing_email_unverifies_it(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    idp.admin_update_user_attributes(UserPoolId=pool, Username=user,
                                     UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    at = password_auth(idp, client, user, pw)["AccessToken"]
    idp.update_user_attributes(AccessToken=at, UserAttributes=[{"Name": "email", "Value": f"new-{user}@example.com"}])
    got = attrs_of(idp.get_user(AccessToken=at)["UserAttributes"])
    assert got["email"] == f"new-{user}@example.com"
    assert got["email_verified"] == "false"


def test_users_cannot_write_protected_attributes(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client)
    at = password_auth(idp, client, user, pw)["AccessToken"]
    for name, value in (("email_verified", "true"), ("sub", "0f0f0f0f-0000-4000-8000-000000000000")):
        with aws_error("NotAuthorizedException", "A client attempted to write unauthorized attribute"):
            idp.update_user_attributes(AccessToken=at, UserAttributes=[{"Name": name, "Value": value}])


def test_user_attributes_shape(idp, pool, client):
    user, _ = confirmed_user(idp, pool, client, {"name": "Shape"})
    got = idp.admin_get_user(UserPoolId=pool, Username=user)
    assert got["Username"] == user and got["Enabled"] is True and got["UserStatus"] == "CONFIRMED"
    assert got["UserCreateDate"] <= got["UserLastModifiedDate"]
    attrs = attrs_of(got["UserAttributes"])
    assert attrs["name"] == "Shape" and attrs["email"] == f"{user}@example.com"


def test_case_insensitive_pool(idp):
    pool = create_pool(idp, UsernameConfiguration={"CaseSensitive": False})
    client = create_client(idp, pool)
    user, pw = confirmed_user(idp, pool, client, username=f"Mixed-{unique()}")
    assert password_auth(idp, client, user.lower(), pw)["AccessToken"]
    assert idp.admin_get_user(UserPoolId=pool, Username=user.upper())["Username"] == user
    with aws_error("UsernameExistsException", "User already exists"):
        sign_up(idp, client, user.upper(), password())


def test_case_sensitive_pool(idp, pool, client):
    user, pw = confirmed_user(idp, pool, client, username=f"Mixed-{unique()}")
    with aws_error("UserNotFoundException", "User does not exist."):
        password_auth(idp, client, user.lower(), pw)
    sign_up(idp, client, user.lower(), password())  # a different user


def test_list_users_filter_errors(idp, pool):
    with aws_error("InvalidParameterException", "Error while parsing filter."):
        idp.list_users(UserPoolId=pool, Filter="username ==")
    with aws_error("InvalidParameterException"):  # custom attributes aren't searchable
        idp.list_users(UserPoolId=pool, Filter='custom:tier = "gold"')


def test_list_users_by_sub_and_name(idp, pool, client):
    user, _ = confirmed_user(idp, pool, client, {"given_name": f"Given{user_tag()}"})
    got = idp.admin_get_user(UserPoolId=pool, Username=user)
    attrs = attrs_of(got["UserAttributes"])
    by_sub = idp.list_users(UserPoolId=pool, Filter=f'sub = "{attrs["sub"]}"')["Users"]
    assert [u["Username"] for u in by_sub] == [user]
    by_name = idp.list_users(UserPoolId=pool, Filter=f'given_name = "{attrs["given_name"]}"')["Users"]
    assert [u["Username"] for u in by_name] == [user]


def user_tag() -> str:
    return unique("g").split("-")[1]


def test_token_revocation_disabled_on_client(idp, pool):
    client = create_client(idp, pool, EnableTokenRevocation=False)
    user, pw = confirmed_user(idp, pool, client)
    tokens = password_auth(idp, client, user, pw)
    with aws_error("UnsupportedOperationException"):
        idp.revoke_token(Token=tokens["RefreshToken"], ClientId=client["ClientId"])


def test_deletion_protection(idp):
    pool = create_pool(idp, DeletionProtection="ACTIVE")
    with aws_error("InvalidParameterException", contains="deletion protection"):
        idp.delete_user_pool(UserPoolId=pool)
    idp.update_user_pool(UserPoolId=pool, DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool)
