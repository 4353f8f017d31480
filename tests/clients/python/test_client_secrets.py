"""Client secret rotation with boto3: AddUserPoolClientSecret, ListUserPoolClientSecrets,
DeleteUserPoolClientSecret; while two secrets are live, SECRET_HASH from either signs in."""

from __future__ import annotations

import secrets

from support import aws_error, confirmed_user, create_client, create_pool, secret_hash


def sign_in(idp, client_id: str, secret: str, username: str, pw: str) -> dict:
    return idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw,
                        "SECRET_HASH": secret_hash(username, client_id, secret)},
    )["AuthenticationResult"]


def test_rotation_accepts_either_secret_then_only_the_survivor(idp, public_idp):
    pool = create_pool(idp)
    client = create_client(idp, pool, secret=True)
    cid, first = client["ClientId"], client["ClientSecret"]
    username, pw = confirmed_user(idp, pool, client)

    listed = idp.list_user_pool_client_secrets(UserPoolId=pool, ClientId=cid)
    assert "NextToken" not in listed
    (only,) = listed["ClientSecrets"]
    first_id = only["ClientSecretId"]
    assert first_id.startswith(f"{cid}--")
    assert "ClientSecretValue" not in only

    added = idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid)["ClientSecretDescriptor"]
    second, second_id = added["ClientSecretValue"], added["ClientSecretId"]
    assert second != first and second_id != first_id
    assert added["ClientSecretCreateDate"] >= only["ClientSecretCreateDate"]

    listed = idp.list_user_pool_client_secrets(UserPoolId=pool, ClientId=cid)["ClientSecrets"]
    assert [s["ClientSecretId"] for s in listed] == [first_id, second_id]
    assert all("ClientSecretValue" not in s for s in listed)
    with aws_error("LimitExceededException"):
        idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid)

    # Either secret's SECRET_HASH signs in; a hash from neither doesn't.
    for secret in (first, second):
        tokens = sign_in(public_idp, cid, secret, username, pw)
        assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        sign_in(public_idp, cid, first + "x", username, pw)
    # Describe keeps the original until it is deleted.
    described = idp.describe_user_pool_client(UserPoolId=pool, ClientId=cid)["UserPoolClient"]
    assert described["ClientSecret"] == first

    idp.delete_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecretId=first_id)
    with aws_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}"):
        sign_in(public_idp, cid, first, username, pw)
    sign_in(public_idp, cid, second, username, pw)
    described = idp.describe_user_pool_client(UserPoolId=pool, ClientId=cid)["UserPoolClient"]
    assert described["ClientSecret"] == second

    with aws_error("InvalidParameterException", "Cannot delete the last remaining client secret."):
        idp.delete_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecretId=second_id)
    sign_in(public_idp, cid, second, username, pw)


def test_chosen_secret_is_not_echoed_and_works(idp, public_idp):
    pool = create_pool(idp)
    client = create_client(idp, pool, secret=True)
    cid = client["ClientId"]
    username, pw = confirmed_user(idp, pool, client)
    chosen = "Chosen_secret_" + secrets.token_hex(12)  # [\w+]+, 24 to 64 long
    added = idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecret=chosen)
    assert "ClientSecretValue" not in added["ClientSecretDescriptor"]
    sign_in(public_idp, cid, chosen, username, pw)
    sign_in(public_idp, cid, client["ClientSecret"], username, pw)


def test_public_clients_and_unknown_ids(idp):
    pool = create_pool(idp)
    public = create_client(idp, pool)
    with aws_error("InvalidParameterException"):
        idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=public["ClientId"])
    assert idp.list_user_pool_client_secrets(
        UserPoolId=pool, ClientId=public["ClientId"])["ClientSecrets"] == []
    confidential = create_client(idp, pool, secret=True)
    with aws_error("ResourceNotFoundException"):
        idp.delete_user_pool_client_secret(
            UserPoolId=pool, ClientId=confidential["ClientId"],
            ClientSecretId=f"{confidential['ClientId']}--1")
