"""Groups with boto3, pycognito, the AWS CLI and PyJWT against the real binary: administration
(Create/Get/Update/Delete/ListGroups with pagination), membership both ways, and the group claims
in tokens (cognito:groups in both tokens; cognito:roles and cognito:preferred_role — the role of
the group with the lowest precedence — in the ID token only), verified against the pool's JWKS."""

from __future__ import annotations

import datetime

import jwt
import pytest
import requests
from botocore.config import Config
from pycognito import Cognito
from support import aws_error, confirmed_user, create_client, create_pool, password_auth
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

ADMIN_ROLE = "arn:aws:iam::123456789012:role/admin"
READER_ROLE = "arn:aws:iam::123456789012:role/reader"
NOT_FOUND = "Group not found."


@pytest.fixture
def pool(idp):
    pool_id = create_pool(idp)
    return pool_id, create_client(idp, pool_id)


def verified(server, pool_id: str, token: str, audience: str | None = None) -> dict:
    discovery = requests.get(f"{server.issuer(pool_id)}/.well-known/openid-configuration", timeout=10).json()
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=discovery["issuer"], audience=audience,
        options={"verify_aud": audience is not None},
    )


def tokens_of(server, pool_id, client, name, pw) -> tuple[dict, dict, dict]:
    """(ID claims, access claims, AuthenticationResult) of a fresh password sign-in."""
    result = password_auth(server.client(unsigned=True), client, name, pw)
    return (
        verified(server, pool_id, result["IdToken"], client["ClientId"]),
        verified(server, pool_id, result["AccessToken"]),
        result,
    )


def group_names(groups) -> list[str]:
    return [g["GroupName"] for g in groups]


# -- administration ----------------------------------------------------------------------------


def test_create_get_update_delete(idp, pool):
    pool_id, _ = pool
    created = idp.create_group(
        UserPoolId=pool_id, GroupName="admins", Description="Administrators", RoleArn=ADMIN_ROLE, Precedence=1
    )["Group"]
    assert created["GroupName"] == "admins"
    assert created["UserPoolId"] == pool_id
    assert created["Description"] == "Administrators"
    assert created["RoleArn"] == ADMIN_ROLE
    assert created["Precedence"] == 1
    assert isinstance(created["CreationDate"], datetime.datetime)
    assert isinstance(created["LastModifiedDate"], datetime.datetime)

    with aws_error("GroupExistsException", "A group with the name admins already exists."):
        idp.create_group(UserPoolId=pool_id, GroupName="admins")

    # UpdateGroup changes what it is given and keeps the rest.
    updated = idp.update_group(UserPoolId=pool_id, GroupName="admins", Precedence=3)["Group"]
    assert updated["Precedence"] == 3
    assert updated["RoleArn"] == ADMIN_ROLE
    assert updated["Description"] == "Administrators"
    assert updated["LastModifiedDate"] >= created["LastModifiedDate"]
    got = idp.get_group(UserPoolId=pool_id, GroupName="admins")["Group"]
    assert got == updated

    # Names are case-sensitive.
    assert idp.create_group(UserPoolId=pool_id, GroupName="Admins")["Group"]["GroupName"] == "Admins"
    bare = idp.get_group(UserPoolId=pool_id, GroupName="Admins")["Group"]
    assert "Precedence" not in bare and "RoleArn" not in bare and "Description" not in bare

    idp.delete_group(UserPoolId=pool_id, GroupName="Admins")
    with aws_error("ResourceNotFoundException", NOT_FOUND):
        idp.get_group(UserPoolId=pool_id, GroupName="Admins")
    with aws_error("ResourceNotFoundException", NOT_FOUND):
        idp.delete_group(UserPoolId=pool_id, GroupName="Admins")
    with aws_error("ResourceNotFoundException", NOT_FOUND):
        idp.update_group(UserPoolId=pool_id, GroupName="Admins", Description="x")
    with aws_error("ResourceNotFoundException"):
        idp.list_groups(UserPoolId="us-east-1_NoSuchPool0")
    # The same name in another pool is another group.
    other = create_pool(idp)
    idp.create_group(UserPoolId=other, GroupName="admins")
    assert idp.get_group(UserPoolId=pool_id, GroupName="admins")["Group"]["Precedence"] == 3


def test_list_groups_pages_in_name_order(idp, pool):
    pool_id, _ = pool
    names = ["writers", "Admins", "readers", "admins", "auditors"]
    for n in names:
        idp.create_group(UserPoolId=pool_id, GroupName=n)
    seen, token, pages = [], None, 0
    while True:
        page = idp.list_groups(UserPoolId=pool_id, Limit=2, **({"NextToken": token} if token else {}))
        assert len(page["Groups"]) <= 2
        seen += group_names(page["Groups"])
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert seen == sorted(names)
    # boto3's paginator follows NextToken by itself.
    paginated = idp.get_paginator("list_groups").paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 3})
    assert [n for p in paginated for n in group_names(p["Groups"])] == sorted(names)
    assert group_names(idp.list_groups(UserPoolId=pool_id)["Groups"]) == sorted(names)


def test_membership_both_ways(idp, pool):
    pool_id, client = pool
    for g in ("team", "other"):
        idp.create_group(UserPoolId=pool_id, GroupName=g)
    users = sorted(confirmed_user(idp, pool_id, client)[0] for _ in range(3))
    for u in users:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=u, GroupName="team")
    ann = users[0]
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=ann, GroupName="team")  # harmless twice
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=ann, GroupName="other")

    first = idp.list_users_in_group(UserPoolId=pool_id, GroupName="team", Limit=2)
    second = idp.list_users_in_group(UserPoolId=pool_id, GroupName="team", Limit=2, NextToken=first["NextToken"])
    assert "NextToken" not in second
    members = first["Users"] + second["Users"]
    assert sorted(u["Username"] for u in members) == users
    member = next(u for u in members if u["Username"] == ann)
    assert member["Enabled"] is True and member["UserStatus"] == "CONFIRMED"
    assert {a["Name"] for a in member["Attributes"]} >= {"sub", "email"}
    paginated = idp.get_paginator("list_users_in_group").paginate(
        UserPoolId=pool_id, GroupName="team", PaginationConfig={"PageSize": 1}
    )
    assert sorted(u["Username"] for p in paginated for u in p["Users"]) == users

    listed = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=ann)["Groups"]
    assert sorted(group_names(listed)) == ["other", "team"]
    assert all(g["UserPoolId"] == pool_id for g in listed)
    idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=ann, GroupName="team")
    assert group_names(idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=ann)["Groups"]) == ["other"]
    assert ann not in [u["Username"] for u in idp.list_users_in_group(UserPoolId=pool_id, GroupName="team")["Users"]]

    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="nobody", GroupName="team")
    with aws_error("ResourceNotFoundException", NOT_FOUND):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=ann, GroupName="nope")
    with aws_error("ResourceNotFoundException", NOT_FOUND):
        idp.list_users_in_group(UserPoolId=pool_id, GroupName="nope")
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="nobody")

    # Memberships go with the user, and with the group.
    gone = users[1]
    idp.admin_delete_user(UserPoolId=pool_id, Username=gone)
    left = [u["Username"] for u in idp.list_users_in_group(UserPoolId=pool_id, GroupName="team")["Users"]]
    assert left == [users[2]]
    confirmed_user(idp, pool_id, client, username=gone)
    assert idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=gone)["Groups"] == []
    idp.delete_group(UserPoolId=pool_id, GroupName="other")
    assert idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=ann)["Groups"] == []


def test_pycognito_group_helpers(server, idp, pool):
    pool_id, client = pool
    idp.create_group(UserPoolId=pool_id, GroupName="editors", Description="Edit things", Precedence=2)
    name, _ = confirmed_user(idp, pool_id, client)
    u = Cognito(
        pool_id, client["ClientId"], user_pool_region=REGION, username=name,
        access_key=ROOT_ACCESS_KEY_ID, secret_key=ROOT_SECRET_ACCESS_KEY,
        botocore_config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        boto3_client_kwargs={"endpoint_url": server.endpoint},
    )
    group = u.get_group("editors")
    assert group.group_name == "editors" and group.description == "Edit things" and group.precedence == 2
    assert [g.group_name for g in u.get_groups()] == ["editors"]
    u.admin_add_user_to_group(name, "editors")
    assert u.admin_list_groups_for_user(name) == ["editors"]
    u.admin_remove_user_from_group(name, "editors")
    assert u.admin_list_groups_for_user(name) == []


# -- group claims in tokens ----------------------------------------------------------------------


def test_tokens_carry_groups_roles_and_the_preferred_role(server, idp, pool):
    pool_id, client = pool
    name, pw = confirmed_user(idp, pool_id, client)
    id_claims, access, _ = tokens_of(server, pool_id, client, name, pw)
    for claim in ("cognito:groups", "cognito:roles", "cognito:preferred_role"):
        assert claim not in id_claims and claim not in access

    idp.create_group(UserPoolId=pool_id, GroupName="readers", Precedence=5, RoleArn=READER_ROLE)
    idp.create_group(UserPoolId=pool_id, GroupName="admins", Precedence=1, RoleArn=ADMIN_ROLE)
    idp.create_group(UserPoolId=pool_id, GroupName="plain", Precedence=0)
    for g in ("readers", "admins", "plain"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=g)

    id_claims, access, result = tokens_of(server, pool_id, client, name, pw)
    assert id_claims["cognito:groups"] == ["plain", "admins", "readers"]  # by precedence
    assert id_claims["cognito:roles"] == [ADMIN_ROLE, READER_ROLE]
    # The lowest precedence with a role wins.
    assert id_claims["cognito:preferred_role"] == ADMIN_ROLE
    assert access["cognito:groups"] == ["plain", "admins", "readers"]
    assert "cognito:roles" not in access and "cognito:preferred_role" not in access

    # A tie at the best precedence leaves no preferred role; refreshed tokens see the change.
    idp.update_group(UserPoolId=pool_id, GroupName="readers", Precedence=1)
    refreshed = server.client(unsigned=True).initiate_auth(
        ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]
    again = verified(server, pool_id, refreshed["IdToken"], client["ClientId"])
    assert sorted(again["cognito:roles"]) == sorted([ADMIN_ROLE, READER_ROLE])
    assert "cognito:preferred_role" not in again

    # Deleting a group takes it out of the next tokens.
    idp.delete_group(UserPoolId=pool_id, GroupName="admins")
    id_claims, access, _ = tokens_of(server, pool_id, client, name, pw)
    assert id_claims["cognito:groups"] == ["plain", "readers"]
    assert id_claims["cognito:roles"] == [READER_ROLE]
    assert id_claims["cognito:preferred_role"] == READER_ROLE
    assert access["cognito:groups"] == ["plain", "readers"]

    # Removing the last membership removes the claims.
    for g in ("plain", "readers"):
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=name, GroupName=g)
    id_claims, access, _ = tokens_of(server, pool_id, client, name, pw)
    assert "cognito:groups" not in id_claims and "cognito:groups" not in access
    assert "cognito:roles" not in id_claims


def test_groups_without_precedence_come_after_ranked_ones(server, idp, pool):
    pool_id, client = pool
    name, pw = confirmed_user(idp, pool_id, client)
    idp.create_group(UserPoolId=pool_id, GroupName="unranked", RoleArn=ADMIN_ROLE)
    idp.create_group(UserPoolId=pool_id, GroupName="ranked", Precedence=10, RoleArn=READER_ROLE)
    for g in ("unranked", "ranked"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=g)
    id_claims, _, _ = tokens_of(server, pool_id, client, name, pw)
    assert set(id_claims["cognito:groups"]) == {"unranked", "ranked"}
    # A group without precedence never outranks one with it.
    assert id_claims["cognito:preferred_role"] == READER_ROLE


# -- the AWS CLI -----------------------------------------------------------------------------------


def test_groups_with_the_aws_cli(aws, idp, pool):
    pool_id, client = pool
    name, _ = confirmed_user(idp, pool_id, client)
    for g, precedence in (("ops", "2"), ("dev", "1"), ("qa", "3")):
        group = aws("create-group", "--user-pool-id", pool_id, "--group-name", g,
                    "--precedence", precedence, "--role-arn", READER_ROLE)["Group"]
        assert group["GroupName"] == g and group["Precedence"] == int(precedence)
    # The CLI follows NextToken itself with --page-size.
    listed = aws("list-groups", "--user-pool-id", pool_id, "--page-size", "1")["Groups"]
    assert group_names(listed) == ["dev", "ops", "qa"]
    aws("admin-add-user-to-group", "--user-pool-id", pool_id, "--username", name, "--group-name", "ops")
    mine = aws("admin-list-groups-for-user", "--user-pool-id", pool_id, "--username", name)["Groups"]
    assert group_names(mine) == ["ops"]
    p = aws("create-group", "--user-pool-id", pool_id, "--group-name", "ops", check=False)
    assert p.returncode != 0
    assert "GroupExistsException" in p.stderr and "A group with the name ops already exists." in p.stderr
    aws("delete-group", "--user-pool-id", pool_id, "--group-name", "qa")
    p = aws("get-group", "--user-pool-id", pool_id, "--group-name", "qa", check=False)
    assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr

