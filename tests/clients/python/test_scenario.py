"""The user-pool journey end to end with boto3: pools, clients, sign-up, sign-in, refresh,
self-service, admin operations, listing, sign-out and deletion."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import (
    ALL_FLOWS,
    attrs_of,
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    password_auth,
    run_core_scenario,
    secret_hash,
    sign_up,
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


@pytest.fixture(scope="module")
def rotating(idp, pool):
    return create_client(idp, pool, rotation=True)


def test_core_scenario(idp):
    created = run_core_scenario(idp)
    pool_id = created["pool_id"]
    idp.delete_user_pool(UserPoolId=pool_id)
    with aws_error("ResourceNotFoundException", f"User pool {pool_id} does not exist."):
        idp.describe_user_pool(UserPoolId=pool_id)


def test_pool_and_clients_are_described_and_listed(idp, pool, public, confidential):
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described["Id"] == pool
    schema = {a["Name"]: a for a in described["SchemaAttributes"]}
    assert schema["custom:tier"]["AttributeDataType"] == "String"
    assert schema["custom:level"]["AttributeDataType"] == "Number"
    assert "email" in schema and "sub" in schema
    policy = described["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 8
    assert all(policy[k] for k in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"))

    pools = []
    token = None
    while True:
        kw = {"MaxResults": 60}
        if token:
            kw["NextToken"] = token
        page = idp.list_user_pools(**kw)
        pools += page["UserPools"]
        token = page.get("NextToken")
        if not token:
            break
    assert pool in {p["Id"] for p in pools}

    clients = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
    assert {public["ClientId"], confidential["ClientId"]} <= {c["ClientId"] for c in clients}
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=confidential["ClientId"])["UserPoolClient"]
    assert d["ClientSecret"] == confidential["ClientSecret"]
    assert set(d["ExplicitAuthFlows"]) == set(ALL_FLOWS)
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=public["ClientId"])["UserPoolClient"]
    assert "ClientSecret" not in d


def test_update_pool_and_client_and_add_custom_attribute(idp):
    pool = create_pool(idp)
    idp.add_custom_attributes(
        UserPoolId=pool,
        CustomAttributes=[{"Name": "team", "AttributeDataType": "String", "Mutable": True}],
    )
    schema = {a["Name"] for a in idp.describe_user_pool(UserPoolId=pool)["UserPool"]["SchemaAttributes"]}
    assert "custom:team" in schema
    idp.update_user_pool(
        UserPoolId=pool,
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": False,
                                     "RequireLowercase": True, "RequireNumbers": False,
                                     "RequireSymbols": False}},
    )
    policy = idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12 and policy["RequireUppercase"] is False
    client = create_client(idp, pool)
    with aws_error("InvalidPasswordException", "Password did not conform with policy: Password not long enough"):
        sign_up(idp, client, unique(), "short1!A")
    sign_up(idp, client, unique(), "onlylowercaseletters")

    updated = idp.update_user_pool_client(
        UserPoolId=pool, ClientId=client["ClientId"], ClientName="renamed",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    assert updated["ClientName"] == "renamed"
    user, pw = unique(), "longenough-password"
    sign_up(idp, create_client(idp, pool), user, pw)
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=user)
    with aws_error("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"):
        password_auth(idp, updated, user, pw)

    idp.delete_user_pool_client(UserPoolId=pool, ClientId=client["ClientId"])
    with aws_error("ResourceNotFoundException", contains=client["ClientId"]):
        idp.describe_user_pool_client(UserPoolId=pool, ClientId=client["ClientId"])
    idp.delete_user_pool(UserPoolId=pool)
    with aws_error("ResourceNotFoundException", f"User pool {pool} does not exist."):
        idp.delete_user_pool(UserPoolId=pool)


def test_sign_up_is_unconfirmed_until_admin_confirms(idp, public_idp, pool, public):
    user, pw = unique(), password()
    resp = sign_up(public_idp, public, user, pw, {"email": f"{user}@example.com", "custom:tier": "silver"})
    assert resp["UserConfirmed"] is False
    got = idp.admin_get_user(UserPoolId=pool, Username=user)
    assert got["UserStatus"] == "UNCONFIRMED" and got["Enabled"] is True
    assert attrs_of(got["UserAttributes"])["sub"] == resp["UserSub"]
    with aws_error("UserNotConfirmedException", "User is not confirmed."):
        password_auth(public_idp, public, user, pw)
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=user)
    assert idp.admin_get_user(UserPoolId=pool, Username=user)["UserStatus"] == "CONFIRMED"
    tokens = password_auth(public_idp, public, user, pw)
    assert tokens["TokenType"] == "Bearer" and tokens["ExpiresIn"] == 3600
    assert tokens["AccessToken"] and tokens["IdToken"] and tokens["RefreshToken"]


def test_admin_password_flows(idp, pool, public, confidential):
    user, pw = confirmed_user(idp, pool, public)
    r = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=public["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": pw},
    )["AuthenticationResult"]
    assert idp.get_user(AccessToken=r["AccessToken"])["Username"] == user
    r = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=confidential["ClientId"], AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": pw,
                        "SECRET_HASH": secret_hash(user, confidential["ClientId"], confidential["ClientSecret"])},
    )["AuthenticationResult"]
    assert idp.get_user(AccessToken=r["AccessToken"])["Username"] == user
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        idp.admin_initiate_auth(
            UserPoolId=pool, ClientId=public["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": pw + "x"},
        )


def test_get_user_with_access_token(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public, {"custom:tier": "gold", "custom:level": "7", "name": "Ann"})
    tokens = password_auth(public_idp, public, user, pw)
    me = public_idp.get_user(AccessToken=tokens["AccessToken"])
    assert me["Username"] == user
    attrs = attrs_of(me["UserAttributes"])
    assert attrs["email"] == f"{user}@example.com"
    assert attrs["custom:tier"] == "gold" and attrs["custom:level"] == "7" and attrs["name"] == "Ann"
    assert len(attrs["sub"]) == 36


def test_refresh_token_auth(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    tokens = password_auth(public_idp, public, user, pw)
    r = public_idp.initiate_auth(
        ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    assert "RefreshToken" not in r
    assert r["AccessToken"] != tokens["AccessToken"] and r["IdToken"] != tokens["IdToken"]
    assert public_idp.get_user(AccessToken=r["AccessToken"])["Username"] == user
    # The legacy REFRESH_TOKEN spelling and the admin variant work too.
    r = public_idp.initiate_auth(
        ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    assert public_idp.get_user(AccessToken=r["AccessToken"])["Username"] == user
    r = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    assert public_idp.get_user(AccessToken=r["AccessToken"])["Username"] == user
    with aws_error("NotAuthorizedException", "Invalid Refresh Token"):
        public_idp.initiate_auth(
            ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": "not-a-refresh-token"},
        )


def test_refresh_token_of_another_client_is_refused(idp, public_idp, pool, public):
    other = create_client(idp, pool)
    user, pw = confirmed_user(idp, pool, public)
    tokens = password_auth(public_idp, public, user, pw)
    with aws_error("NotAuthorizedException", "Invalid Refresh Token"):
        public_idp.initiate_auth(
            ClientId=other["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )


def test_get_tokens_from_refresh_token_without_rotation(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    tokens = password_auth(public_idp, public, user, pw)
    for _ in range(2):  # without rotation the same refresh token keeps working
        r = public_idp.get_tokens_from_refresh_token(
            ClientId=public["ClientId"], RefreshToken=tokens["RefreshToken"]
        )["AuthenticationResult"]
        assert "RefreshToken" not in r
        assert public_idp.get_user(AccessToken=r["AccessToken"])["Username"] == user


def test_get_tokens_from_refresh_token_rotates(idp, public_idp, pool, rotating):
    d = idp.describe_user_pool_client(UserPoolId=pool, ClientId=rotating["ClientId"])["UserPoolClient"]
    assert d["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 0}
    user, pw = confirmed_user(idp, pool, rotating)
    first = password_auth(public_idp, rotating, user, pw)
    second = public_idp.get_tokens_from_refresh_token(
        ClientId=rotating["ClientId"], RefreshToken=first["RefreshToken"]
    )["AuthenticationResult"]
    assert second["RefreshToken"] and second["RefreshToken"] != first["RefreshToken"]
    assert public_idp.get_user(AccessToken=second["AccessToken"])["Username"] == user
    # Grace period 0: the rotated-out token is dead at once ...
    with aws_error("RefreshTokenReuseException"):
        public_idp.get_tokens_from_refresh_token(
            ClientId=rotating["ClientId"], RefreshToken=first["RefreshToken"]
        )
    # ... and presenting it ends its whole family (two holders of one family means one stole
    # it): the newest refresh token and the family's access tokens are refused too.
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.get_tokens_from_refresh_token(
            ClientId=rotating["ClientId"], RefreshToken=second["RefreshToken"]
        )
    with aws_error("NotAuthorizedException", "Access Token has been revoked"):
        public_idp.get_user(AccessToken=second["AccessToken"])
    # A family nobody reused rotates on.
    fresh = password_auth(public_idp, rotating, user, pw)
    third = public_idp.get_tokens_from_refresh_token(
        ClientId=rotating["ClientId"], RefreshToken=fresh["RefreshToken"]
    )["AuthenticationResult"]
    assert third["RefreshToken"] not in (first["RefreshToken"], second["RefreshToken"], fresh["RefreshToken"])
    assert public_idp.get_user(AccessToken=third["AccessToken"])["Username"] == user


def test_rotation_grace_period_allows_a_retry(idp, public_idp, pool):
    client = create_client(
        idp, pool, RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 60}
    )
    user, pw = confirmed_user(idp, pool, client)
    first = password_auth(public_idp, client, user, pw)
    a = public_idp.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=first["RefreshToken"])
    b = public_idp.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=first["RefreshToken"])
    for r in (a, b):
        assert public_idp.get_user(AccessToken=r["AuthenticationResult"]["AccessToken"])["Username"] == user


def test_rotation_client_without_refresh_token_auth_flow(idp, public_idp, pool):
    # Cognito's guide: refresh-token rotation isn't compatible with REFRESH_TOKEN_AUTH, so a
    # rotating client leaves ALLOW_REFRESH_TOKEN_AUTH off and refreshes with
    # GetTokensFromRefreshToken only.
    client = create_client(
        idp, pool, rotation=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    )
    user, pw = confirmed_user(idp, pool, client)
    first = password_auth(public_idp, client, user, pw)
    r = public_idp.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=first["RefreshToken"])
    assert r["AuthenticationResult"]["RefreshToken"] != first["RefreshToken"]


def test_change_password(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    tokens = password_auth(public_idp, public, user, pw)
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        public_idp.change_password(PreviousPassword=pw + "x", ProposedPassword=password(),
                                   AccessToken=tokens["AccessToken"])
    with aws_error("InvalidPasswordException", "Password did not conform with policy: Password not long enough"):
        public_idp.change_password(PreviousPassword=pw, ProposedPassword="Ab1!", AccessToken=tokens["AccessToken"])
    new_pw = password()
    public_idp.change_password(PreviousPassword=pw, ProposedPassword=new_pw, AccessToken=tokens["AccessToken"])
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(public_idp, public, user, pw)
    assert password_auth(public_idp, public, user, new_pw)["AccessToken"]


def test_update_and_delete_attributes(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public, {"custom:tier": "bronze"})
    at = password_auth(public_idp, public, user, pw)["AccessToken"]
    resp = public_idp.update_user_attributes(
        AccessToken=at,
        UserAttributes=[
            {"Name": "given_name", "Value": "Grace"},
            {"Name": "family_name", "Value": "Hopper"},
            {"Name": "custom:tier", "Value": "gold"},
            {"Name": "custom:level", "Value": "42"},
        ],
    )
    assert resp.get("CodeDeliveryDetailsList", []) == []
    got = attrs_of(public_idp.get_user(AccessToken=at)["UserAttributes"])
    assert (got["given_name"], got["family_name"], got["custom:tier"], got["custom:level"]) == (
        "Grace", "Hopper", "gold", "42")
    public_idp.delete_user_attributes(AccessToken=at, UserAttributeNames=["given_name", "custom:level"])
    got = attrs_of(public_idp.get_user(AccessToken=at)["UserAttributes"])
    assert "given_name" not in got and "custom:level" not in got and got["family_name"] == "Hopper"

    idp.admin_update_user_attributes(
        UserPoolId=pool, Username=user,
        UserAttributes=[{"Name": "nickname", "Value": "amazing"}, {"Name": "email_verified", "Value": "true"}],
    )
    got = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=user)["UserAttributes"])
    assert got["nickname"] == "amazing" and got["email_verified"] == "true"
    idp.admin_delete_user_attributes(UserPoolId=pool, Username=user, UserAttributeNames=["nickname"])
    got = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=user)["UserAttributes"])
    assert "nickname" not in got


def test_list_users_filters_and_pagination(idp, pool):
    # A pool of its own, so counts are exact.
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    prefix = unique("list")
    confirmed = [confirmed_user(idp, pool_id, client, username=f"{prefix}-c{i}")[0] for i in range(3)]
    pending = f"{prefix}-pending"
    sign_up(idp, client, pending, password(), {"email": "pending@example.com"})
    other = unique("zed")
    sign_up(idp, client, other, password(), {"email": "zed@example.org"})
    everyone = set(confirmed) | {pending, other}

    def names(**kw):
        return {u["Username"] for u in idp.list_users(UserPoolId=pool_id, **kw)["Users"]}

    assert names() == everyone
    assert names(Filter=f'username = "{confirmed[1]}"') == {confirmed[1]}
    assert names(Filter='email = "zed@example.org"') == {other}
    assert names(Filter=f'username ^= "{prefix}"') == set(confirmed) | {pending}
    assert names(Filter='email ^= "pending@"') == {pending}
    assert names(Filter='cognito:user_status = "UNCONFIRMED"') == {pending, other}
    assert names(Filter='cognito:user_status = "CONFIRMED"') == set(confirmed)
    idp.admin_disable_user(UserPoolId=pool_id, Username=other)
    assert names(Filter='status = "Disabled"') == {other}
    assert names(Filter='status = "Enabled"') == everyone - {other}
    assert names(Filter='username = "nobody-at-all"') == set()

    only_email = idp.list_users(UserPoolId=pool_id, AttributesToGet=["email"], Filter=f'username = "{other}"')
    (u,) = only_email["Users"]
    assert u["Attributes"] == [{"Name": "email", "Value": "zed@example.org"}]
    assert u["UserStatus"] == "UNCONFIRMED" and u["Enabled"] is False

    seen, token, pages = [], None, 0
    while True:
        kw = {"UserPoolId": pool_id, "Limit": 1}
        if token:
            kw["PaginationToken"] = token
        page = idp.list_users(**kw)
        pages += 1
        assert len(page["Users"]) <= 1
        seen += [x["Username"] for x in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            break
        assert pages <= len(everyone) + 1
    assert sorted(seen) == sorted(everyone)  # every user once, none twice

    seen, token = [], None
    while True:  # filtered pagination
        kw = {"UserPoolId": pool_id, "Limit": 2, "Filter": f'username ^= "{prefix}"'}
        if token:
            kw["PaginationToken"] = token
        page = idp.list_users(**kw)
        seen += [x["Username"] for x in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            break
    assert sorted(seen) == sorted(set(confirmed) | {pending})

    paginator = idp.get_paginator("list_users")
    assert {x["Username"] for p in paginator.paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 2})
            for x in p["Users"]} == everyone


def test_global_sign_out(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s1 = password_auth(public_idp, public, user, pw)
    s2 = password_auth(public_idp, public, user, pw)
    public_idp.global_sign_out(AccessToken=s1["AccessToken"])
    for s in (s1, s2):
        with aws_error("NotAuthorizedException", "Access Token has been revoked"):
            public_idp.get_user(AccessToken=s["AccessToken"])
        with aws_error("NotAuthorizedException"):
            public_idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                     AuthParameters={"REFRESH_TOKEN": s["RefreshToken"]})
    # Signing in again works.
    s3 = password_auth(public_idp, public, user, pw)
    assert public_idp.get_user(AccessToken=s3["AccessToken"])["Username"] == user


def test_global_sign_out_refresh_message(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s = password_auth(public_idp, public, user, pw)
    public_idp.global_sign_out(AccessToken=s["AccessToken"])
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": s["RefreshToken"]})


def test_revoke_token(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s1 = password_auth(public_idp, public, user, pw)
    s2 = password_auth(public_idp, public, user, pw)
    refreshed = public_idp.initiate_auth(
        ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": s1["RefreshToken"]},
    )["AuthenticationResult"]
    public_idp.revoke_token(Token=s1["RefreshToken"], ClientId=public["ClientId"])
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": s1["RefreshToken"]})
    # Every access token of that session (the original and the refreshed one) is refused ...
    for at in (s1["AccessToken"], refreshed["AccessToken"]):
        with aws_error("NotAuthorizedException", "Access Token has been revoked"):
            public_idp.get_user(AccessToken=at)
    # ... while the user's other session is untouched.
    assert public_idp.get_user(AccessToken=s2["AccessToken"])["Username"] == user
    # Revoking again (or an unknown token) is accepted silently, as OAuth revocation requires.
    public_idp.revoke_token(Token=s1["RefreshToken"], ClientId=public["ClientId"])


def test_revoke_token_refuses_access_tokens(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s = password_auth(public_idp, public, user, pw)
    with aws_error("UnsupportedTokenTypeException"):
        public_idp.revoke_token(Token=s["AccessToken"], ClientId=public["ClientId"])


def test_admin_user_global_sign_out(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s = password_auth(public_idp, public, user, pw)
    idp.admin_user_global_sign_out(UserPoolId=pool, Username=user)
    with aws_error("NotAuthorizedException", "Access Token has been revoked"):
        public_idp.get_user(AccessToken=s["AccessToken"])
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.get_tokens_from_refresh_token(ClientId=public["ClientId"], RefreshToken=s["RefreshToken"])
    assert password_auth(public_idp, public, user, pw)["AccessToken"]


def test_admin_disable_and_enable_user(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    s = password_auth(public_idp, public, user, pw)
    idp.admin_disable_user(UserPoolId=pool, Username=user)
    assert idp.admin_get_user(UserPoolId=pool, Username=user)["Enabled"] is False
    with aws_error("NotAuthorizedException", "User is disabled."):
        password_auth(public_idp, public, user, pw)
    # AdminDisableUser also revokes the user's tokens (Cognito: "revokes all access tokens").
    with aws_error("NotAuthorizedException"):
        public_idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": s["RefreshToken"]})
    with aws_error("NotAuthorizedException"):
        public_idp.get_user(AccessToken=s["AccessToken"])
    idp.admin_enable_user(UserPoolId=pool, Username=user)
    assert idp.admin_get_user(UserPoolId=pool, Username=user)["Enabled"] is True
    assert password_auth(public_idp, public, user, pw)["AccessToken"]


def test_admin_set_user_password(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    permanent = password()
    idp.admin_set_user_password(UserPoolId=pool, Username=user, Password=permanent, Permanent=True)
    assert idp.admin_get_user(UserPoolId=pool, Username=user)["UserStatus"] == "CONFIRMED"
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(public_idp, public, user, pw)
    assert password_auth(public_idp, public, user, permanent)["AccessToken"]

    temporary = password()
    idp.admin_set_user_password(UserPoolId=pool, Username=user, Password=temporary, Permanent=False)
    assert idp.admin_get_user(UserPoolId=pool, Username=user)["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    r = public_idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": user, "PASSWORD": temporary})
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    with aws_error("InvalidPasswordException", "Password did not conform with policy: Password not long enough"):
        idp.admin_set_user_password(UserPoolId=pool, Username=user, Password="Sh0rt!", Permanent=True)
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_set_user_password(UserPoolId=pool, Username=unique("ghost"), Password=password(), Permanent=True)


def test_delete_user_self_and_admin(idp, public_idp, pool, public):
    user, pw = confirmed_user(idp, pool, public)
    at = password_auth(public_idp, public, user, pw)["AccessToken"]
    public_idp.delete_user(AccessToken=at)
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool, Username=user)
    with pytest.raises(ClientError) as e:  # the deleted user's token is worthless
        public_idp.get_user(AccessToken=at)
    assert e.value.response["Error"]["Code"] in ("NotAuthorizedException", "UserNotFoundException")

    user2, _ = confirmed_user(idp, pool, public)
    idp.admin_delete_user(UserPoolId=pool, Username=user2)
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool, Username=user2)
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_delete_user(UserPoolId=pool, Username=user2)
    # The name is free again.
    sign_up(idp, public, user2, password())


def test_delete_pool_removes_everything(idp):
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    user, pw = confirmed_user(idp, pool_id, client)
    at = password_auth(idp, client, user, pw)["AccessToken"]
    idp.delete_user_pool(UserPoolId=pool_id)
    with aws_error("ResourceNotFoundException", f"User pool {pool_id} does not exist."):
        idp.describe_user_pool(UserPoolId=pool_id)
    with aws_error("ResourceNotFoundException", f"User pool {pool_id} does not exist."):
        idp.list_users(UserPoolId=pool_id)
    with aws_error("ResourceNotFoundException"):
        password_auth(idp, client, user, pw)
    with aws_error("NotAuthorizedException"):
        idp.get_user(AccessToken=at)


def test_client_defaults(idp, pool):
    c = idp.create_user_pool_client(UserPoolId=pool, ClientName=unique("defaults"))["UserPoolClient"]
    assert "ClientSecret" not in c
    assert c["EnableTokenRevocation"] is True  # "automatically activated for the new user pool client"
    assert c["RefreshTokenValidity"] == 30
    assert c["AuthSessionValidity"] == 3
    assert c["PreventUserExistenceErrors"] == "LEGACY"
    # Default flows are ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH and ALLOW_CUSTOM_AUTH:
    # plain-password sign-in must be enabled explicitly.
    user, pw = confirmed_user(idp, pool, create_client(idp, pool))
    with aws_error("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"):
        password_auth(idp, c, user, pw)
