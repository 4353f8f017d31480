"""App clients with a secret: SECRET_HASH / SecretHash / ClientSecret are required and checked."""

from __future__ import annotations

import pytest

from support import aws_error, create_client, create_pool, password, secret_hash, unique


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    c = create_client(idp, pool, secret=True)
    assert len(c["ClientSecret"]) >= 40
    return c


@pytest.fixture(scope="module")
def user(idp, pool, client):
    username, pw = unique("sh"), password()
    idp.sign_up(
        ClientId=client["ClientId"], Username=username, Password=pw,
        SecretHash=secret_hash(username, client["ClientId"], client["ClientSecret"]),
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
    )
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=username)
    return username, pw


def auth(idp, client, username, pw, **extra):
    return idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw, **extra},
    )


def test_missing_secret_hash(public_idp, client, user):
    cid = client["ClientId"]
    with aws_error("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"):
        auth(public_idp, client, *user)


def test_wrong_secret_hash(public_idp, client, user):
    cid = client["ClientId"]
    wrong = secret_hash(user[0], cid, client["ClientSecret"] + "x")
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        auth(public_idp, client, *user, SECRET_HASH=wrong)
    # A hash computed for another username doesn't do either.
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        auth(public_idp, client, *user, SECRET_HASH=secret_hash("someone-else", cid, client["ClientSecret"]))


def test_right_secret_hash(public_idp, client, user):
    username, pw = user
    r = auth(public_idp, client, username, pw,
             SECRET_HASH=secret_hash(username, client["ClientId"], client["ClientSecret"]))
    tokens = r["AuthenticationResult"]
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username


def test_sign_up_needs_secret_hash(public_idp, client):
    cid = client["ClientId"]
    username = unique("sh")
    with aws_error("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"):
        public_idp.sign_up(ClientId=cid, Username=username, Password=password())
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        public_idp.sign_up(ClientId=cid, Username=username, Password=password(), SecretHash="bm9wZQ==")


def test_refresh_with_secret(public_idp, client, user):
    username, pw = user
    cid, sec = client["ClientId"], client["ClientSecret"]
    tokens = auth(public_idp, client, username, pw, SECRET_HASH=secret_hash(username, cid, sec))["AuthenticationResult"]
    rt = tokens["RefreshToken"]
    with aws_error("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"):
        public_idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": rt})
    r = public_idp.initiate_auth(
        ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": rt, "SECRET_HASH": secret_hash(username, cid, sec)},
    )["AuthenticationResult"]
    assert public_idp.get_user(AccessToken=r["AccessToken"])["Username"] == username

    with aws_error("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"):
        public_idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=rt)
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        public_idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=rt, ClientSecret=sec + "x")
    r = public_idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=rt, ClientSecret=sec)
    assert public_idp.get_user(AccessToken=r["AuthenticationResult"]["AccessToken"])["Username"] == username

    with aws_error("NotAuthorizedException"):
        public_idp.revoke_token(ClientId=cid, Token=rt)
    with aws_error("NotAuthorizedException"):
        public_idp.revoke_token(ClientId=cid, Token=rt, ClientSecret=sec + "x")
    public_idp.revoke_token(ClientId=cid, Token=rt, ClientSecret=sec)
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=rt, ClientSecret=sec)


def test_admin_initiate_auth_with_secret(idp, pool, client, user):
    username, pw = user
    cid, sec = client["ClientId"], client["ClientSecret"]
    with aws_error("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"):
        idp.admin_initiate_auth(UserPoolId=pool, ClientId=cid, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": pw})
    r = idp.admin_initiate_auth(UserPoolId=pool, ClientId=cid, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": pw,
                                                "SECRET_HASH": secret_hash(username, cid, sec)})
    assert r["AuthenticationResult"]["AccessToken"]
