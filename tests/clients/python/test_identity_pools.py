"""Identity pools with boto3 (cognito-identity) and STS: pool administration, identities,
user-pool logins verified for real, role mappings, and credentials proven by calling STS
GetCallerIdentity signed with them."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from support import aws_error, confirmed_user, create_client, create_pool, password_auth, unique
from tessera_server import REGION

ACCOUNT = "000000000000"
AUTH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Cognito_Auth"
GUEST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Cognito_Guest"


def cognito_trust(amr: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        "Condition": {"StringLike": {"cognito-identity.amazonaws.com:aud": "*"},
                      "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})


@pytest.fixture(scope="module")
def ci(server):
    # GetCredentialsForIdentity assumes the pool's roles as STS would: they must exist in IAM
    # and their trust policies must let the identity pool in.
    iam = server.client("iam")
    for name, amr in (("Cognito_Auth", "authenticated"), ("Cognito_Guest", "unauthenticated"),
                      ("Gold", "authenticated")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=cognito_trust(amr))
    return server.client("cognito-identity")


@pytest.fixture(scope="module")
def public_ci(server):
    return server.client("cognito-identity", unsigned=True)


@pytest.fixture(scope="module")
def user_pool(idp):
    pool = create_pool(idp)
    client = create_client(idp, pool)
    return pool, client


def login_key(server, pool_id: str) -> str:
    """A Tessera user pool's Logins key: its issuer without the scheme."""
    return server.issuer(pool_id).split("://", 1)[1]


def sts_for(server, creds: dict | None, *, unsigned: bool = False):
    kwargs = {}
    if creds is not None:
        kwargs = dict(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretKey"],
            aws_session_token=creds["SessionToken"],
        )
    return boto3.session.Session().client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=REGION,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version=UNSIGNED if unsigned else None,
        ),
        **kwargs,
    )


def make_pool(ci, server, user_pool, *, guests=True, **kwargs) -> str:
    pool_id, client = user_pool
    params = dict(
        IdentityPoolName=unique("ip").replace("-", "_"),
        AllowUnauthenticatedIdentities=guests,
        CognitoIdentityProviders=[
            {"ProviderName": login_key(server, pool_id), "ClientId": client["ClientId"]}
        ],
    )
    params.update(kwargs)
    ip = ci.create_identity_pool(**params)["IdentityPoolId"]
    ci.set_identity_pool_roles(
        IdentityPoolId=ip, Roles={"authenticated": AUTH_ROLE, "unauthenticated": GUEST_ROLE}
    )
    return ip


def signed_in(idp, user_pool, attributes=None) -> str:
    pool_id, client = user_pool
    username, pw = confirmed_user(idp, pool_id, client, attributes)
    return password_auth(idp, client, username, pw)["IdToken"]


# -- administration ----------------------------------------------------------------------------


def test_pool_crud_and_listing(ci, server, user_pool):
    ip = ci.create_identity_pool(
        IdentityPoolName="crud pool",
        AllowUnauthenticatedIdentities=False,
        SupportedLoginProviders={"accounts.google.com": "google-client"},
        DeveloperProviderName="login.tessera.test",
        IdentityPoolTags={"team": "blue"},
    )
    pool_id = ip["IdentityPoolId"]
    assert pool_id.startswith(f"{REGION}:")
    assert ip["IdentityPoolName"] == "crud pool"
    assert ip["AllowUnauthenticatedIdentities"] is False
    assert ip["SupportedLoginProviders"] == {"accounts.google.com": "google-client"}
    assert ip["IdentityPoolTags"] == {"team": "blue"}

    described = ci.describe_identity_pool(IdentityPoolId=pool_id)
    described.pop("ResponseMetadata")
    ip.pop("ResponseMetadata")
    assert described == ip

    # UpdateIdentityPool replaces the whole configuration.
    updated = ci.update_identity_pool(
        IdentityPoolId=pool_id,
        IdentityPoolName="renamed",
        AllowUnauthenticatedIdentities=True,
        DeveloperProviderName="login.tessera.test",
    )
    assert updated["IdentityPoolName"] == "renamed"
    assert updated["AllowUnauthenticatedIdentities"] is True
    assert "SupportedLoginProviders" not in updated
    with aws_error("InvalidParameterException"):
        ci.update_identity_pool(
            IdentityPoolId=pool_id,
            IdentityPoolName="renamed",
            AllowUnauthenticatedIdentities=True,
            DeveloperProviderName="another.provider",
        )

    ids = []
    for _ in range(3):
        ids.append(
            ci.create_identity_pool(
                IdentityPoolName=unique("p").replace("-", "_"), AllowUnauthenticatedIdentities=True
            )["IdentityPoolId"]
        )
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = ci.list_identity_pools(**kwargs)
        assert len(page["IdentityPools"]) <= 2
        seen += [p["IdentityPoolId"] for p in page["IdentityPools"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids + [pool_id]) <= set(seen)
    assert len(seen) == len(set(seen))

    ci.delete_identity_pool(IdentityPoolId=pool_id)
    with aws_error("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found."):
        ci.describe_identity_pool(IdentityPoolId=pool_id)
    with aws_error("ResourceNotFoundException"):
        ci.delete_identity_pool(IdentityPoolId=pool_id)


def test_model_constraints_and_signing(ci, server):
    with aws_error("InvalidParameterException"):
        ci.create_identity_pool(IdentityPoolName="bad/name", AllowUnauthenticatedIdentities=True)
    with aws_error("InvalidParameterException"):
        ci.list_identity_pools(MaxResults=61)
    # Administration is IAM-signed; a wrong secret is refused.
    wrong = server.client("cognito-identity", secret_key="not-the-secret")
    with aws_error("InvalidSignatureException"):
        wrong.list_identity_pools(MaxResults=5)


def test_tags(ci):
    pool_id = ci.create_identity_pool(
        IdentityPoolName="tagged", AllowUnauthenticatedIdentities=True, IdentityPoolTags={"a": "1"}
    )["IdentityPoolId"]
    arn = f"arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{pool_id}"
    ci.tag_resource(ResourceArn=arn, Tags={"b": "2", "a": "one"})
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "one", "b": "2"}
    ci.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert ci.describe_identity_pool(IdentityPoolId=pool_id)["IdentityPoolTags"] == {"b": "2"}
    with aws_error("ResourceNotFoundException"):
        ci.list_tags_for_resource(
            ResourceArn=f"arn:aws:cognito-identity:{REGION}:111122223333:identitypool/{pool_id}"
        )


def test_roles_and_role_mappings_are_validated(ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    provider = f"{login_key(server, user_pool[0])}:{user_pool[1]['ClientId']}"
    mapping = {
        "Type": "Rules",
        "AmbiguousRoleResolution": "AuthenticatedRole",
        "RulesConfiguration": {
            "Rules": [
                {"Claim": "custom:tier", "MatchType": "Equals", "Value": "gold",
                 "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/Gold"}
            ]
        },
    }
    ci.set_identity_pool_roles(
        IdentityPoolId=ip,
        Roles={"authenticated": AUTH_ROLE, "unauthenticated": GUEST_ROLE},
        RoleMappings={provider: mapping},
    )
    got = ci.get_identity_pool_roles(IdentityPoolId=ip)
    assert got["Roles"] == {"authenticated": AUTH_ROLE, "unauthenticated": GUEST_ROLE}
    assert got["RoleMappings"] == {provider: mapping}

    # Past botocore's own checks, so the server's answer is what is tested.
    loose = server.client("cognito-identity", validate=False)

    def refused(roles=None, mappings=None):
        with aws_error("InvalidParameterException"):
            loose.set_identity_pool_roles(
                IdentityPoolId=ip, Roles=roles or {"authenticated": AUTH_ROLE},
                RoleMappings=mappings or {},
            )

    refused(roles={"authenticated": "not-an-arn"})
    refused(roles={"authenticated": "arn:aws:s3:::bucket/not-a-role"})
    refused(roles={"admins": AUTH_ROLE})  # the model allows only (un)authenticated
    refused(mappings={"unknown.provider": {"Type": "Token", "AmbiguousRoleResolution": "Deny"}})
    refused(mappings={provider: {"Type": "Token"}})
    refused(mappings={provider: {"Type": "Rules", "AmbiguousRoleResolution": "Deny"}})
    # Nothing was changed by the refusals.
    assert ci.get_identity_pool_roles(IdentityPoolId=ip)["RoleMappings"] == {provider: mapping}


def test_principal_tag_attribute_map(ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    name = login_key(server, user_pool[0])
    got = ci.set_principal_tag_attribute_map(
        IdentityPoolId=ip, IdentityProviderName=name, UseDefaults=False,
        PrincipalTags={"dept": "custom:tier"},
    )
    assert got["PrincipalTags"] == {"dept": "custom:tier"}
    got = ci.get_principal_tag_attribute_map(IdentityPoolId=ip, IdentityProviderName=name)
    assert got["UseDefaults"] is False
    assert got["PrincipalTags"] == {"dept": "custom:tier"}


# -- identities and credentials ----------------------------------------------------------------


def test_guest_flow_gets_working_credentials(ci, public_ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    assert identity.startswith(f"{REGION}:")
    creds = public_ci.get_credentials_for_identity(IdentityId=identity)
    assert creds["IdentityId"] == identity
    c = creds["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20
    assert len(c["SecretKey"]) == 40
    who = sts_for(server, c).get_caller_identity()
    assert who["Account"] == ACCOUNT
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Cognito_Guest/CognitoIdentityCredentials"
    assert who["UserId"].startswith("AROA") and who["UserId"].endswith(":CognitoIdentityCredentials")

    described = ci.describe_identity(IdentityId=identity)
    assert described["Logins"] == []

    # Without guests, GetId needs logins.
    closed = make_pool(ci, server, user_pool, guests=False)
    with aws_error("NotAuthorizedException",
                   "Unauthenticated access is not supported for this identity pool."):
        public_ci.get_id(IdentityPoolId=closed)


def test_signed_in_user_gets_the_authenticated_role(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    key = login_key(server, user_pool[0])
    token = signed_in(idp, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"]
    # The same login finds the same identity.
    assert public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"] == identity
    creds = public_ci.get_credentials_for_identity(IdentityId=identity, Logins={key: token})
    who = sts_for(server, creds["Credentials"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Cognito_Auth/CognitoIdentityCredentials"
    assert ci.describe_identity(IdentityId=identity)["Logins"] == [key]
    # An authenticated identity can't get guest credentials.
    with aws_error("NotAuthorizedException"):
        public_ci.get_credentials_for_identity(IdentityId=identity)


def test_a_guest_that_signs_in_keeps_its_id(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    key = login_key(server, user_pool[0])
    guest = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    token = signed_in(idp, user_pool)
    creds = public_ci.get_credentials_for_identity(IdentityId=guest, Logins={key: token})
    assert creds["IdentityId"] == guest
    assert public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"] == guest
    assert ci.describe_identity(IdentityId=guest)["Logins"] == [key]


def tampered(token: str) -> str:
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{sig}"


def test_bad_tokens_are_refused_with_cognitos_messages(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    key = login_key(server, user_pool[0])
    pool_id, client = user_pool
    username, pw = confirmed_user(idp, pool_id, client)
    tokens = password_auth(idp, client, username, pw)

    with aws_error("NotAuthorizedException", "Invalid login token. Couldn't verify signed token."):
        public_ci.get_id(IdentityPoolId=ip, Logins={key: tampered(tokens["IdToken"])})
    with aws_error("NotAuthorizedException", "Invalid login token. Missing a required claim: aud"):
        public_ci.get_id(IdentityPoolId=ip, Logins={key: tokens["AccessToken"]})
    # A token of another client of the same user pool: not this identity pool's audience.
    other = create_client(idp, pool_id)
    other_token = password_auth(idp, other, username, pw)["IdToken"]
    with aws_error("NotAuthorizedException",
                   "Token is not from a supported provider of this identity pool."):
        public_ci.get_id(IdentityPoolId=ip, Logins={key: other_token})
    # A token of another user pool presented under this pool's key.
    pool2 = create_pool(idp)
    client2 = create_client(idp, pool2)
    u2, pw2 = confirmed_user(idp, pool2, client2)
    token2 = password_auth(idp, client2, u2, pw2)["IdToken"]
    with aws_error("NotAuthorizedException", "Invalid login token. Couldn't verify signed token."):
        public_ci.get_id(IdentityPoolId=ip, Logins={key: token2})
    # A provider the identity pool doesn't have.
    with aws_error("NotAuthorizedException", contains="Logins don't match"):
        public_ci.get_id(IdentityPoolId=ip, Logins={login_key(server, pool2): token2})


def test_rules_role_mapping_chooses_by_claim(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    pool_id, client = user_pool
    key = login_key(server, pool_id)
    gold = f"arn:aws:iam::{ACCOUNT}:role/Gold"
    ci.set_identity_pool_roles(
        IdentityPoolId=ip,
        Roles={"authenticated": AUTH_ROLE, "unauthenticated": GUEST_ROLE},
        RoleMappings={
            f"{key}:{client['ClientId']}": {
                "Type": "Rules",
                "AmbiguousRoleResolution": "Deny",
                "RulesConfiguration": {"Rules": [
                    {"Claim": "custom:tier", "MatchType": "Equals", "Value": "gold", "RoleARN": gold}
                ]},
            }
        },
    )
    ci.set_principal_tag_attribute_map(
        IdentityPoolId=ip, IdentityProviderName=key, UseDefaults=True
    )
    gold_token = signed_in(idp, user_pool, {"custom:tier": "gold"})
    ident = public_ci.get_id(IdentityPoolId=ip, Logins={key: gold_token})["IdentityId"]
    creds = public_ci.get_credentials_for_identity(IdentityId=ident, Logins={key: gold_token})
    who = sts_for(server, creds["Credentials"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Gold/CognitoIdentityCredentials"

    plain_token = signed_in(idp, user_pool, {"custom:tier": "tin"})
    ident = public_ci.get_id(IdentityPoolId=ip, Logins={key: plain_token})["IdentityId"]
    with aws_error("NotAuthorizedException", "The ambiguous role mapping rules denied this request"):
        public_ci.get_credentials_for_identity(IdentityId=ident, Logins={key: plain_token})


def test_missing_roles_are_a_configuration_error(ci, public_ci, server, user_pool):
    pool_id = ci.create_identity_pool(
        IdentityPoolName="roleless", AllowUnauthenticatedIdentities=True
    )["IdentityPoolId"]
    identity = public_ci.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with aws_error("InvalidIdentityPoolConfigurationException",
                   "Invalid identity pool configuration. Check assigned IAM roles for this pool."):
        public_ci.get_credentials_for_identity(IdentityId=identity)


def test_list_delete_and_unlink_identities(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    key = login_key(server, user_pool[0])
    guests = [public_ci.get_id(IdentityPoolId=ip)["IdentityId"] for _ in range(3)]
    token = signed_in(idp, user_pool)
    member = public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"]

    seen, next_token = [], None
    while True:
        kwargs = {"IdentityPoolId": ip, "MaxResults": 2, "HideDisabled": True}
        if next_token:
            kwargs["NextToken"] = next_token
        page = ci.list_identities(**kwargs)
        seen += [i["IdentityId"] for i in page["Identities"]]
        next_token = page.get("NextToken")
        if not next_token:
            break
    assert sorted(seen) == sorted(guests + [member])

    # Credentials die with their identity.
    creds = public_ci.get_credentials_for_identity(IdentityId=guests[0])["Credentials"]
    sts_for(server, creds).get_caller_identity()
    missing = f"{REGION}:00000000-0000-4000-8000-000000000000"
    out = ci.delete_identities(IdentityIdsToDelete=[guests[0], missing])
    assert out["UnprocessedIdentityIds"] == [{"IdentityId": missing, "ErrorCode": "AccessDenied"}]
    with aws_error("ResourceNotFoundException"):
        ci.describe_identity(IdentityId=guests[0])
    with aws_error("InvalidClientTokenId"):
        sts_for(server, creds).get_caller_identity()

    public_ci.unlink_identity(IdentityId=member, Logins={key: token}, LoginsToRemove=[key])
    assert ci.describe_identity(IdentityId=member)["Logins"] == []
    # The login is free again: next time it is a new identity.
    again = public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"]
    assert again != member


def test_deleting_the_pool_revokes_credentials(ci, public_ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    creds = public_ci.get_credentials_for_identity(IdentityId=identity)["Credentials"]
    sts_for(server, creds).get_caller_identity()
    ci.delete_identity_pool(IdentityPoolId=ip)
    with aws_error("InvalidClientTokenId"):
        sts_for(server, creds).get_caller_identity()


# -- STS ---------------------------------------------------------------------------------------


def test_sts_checks_signature_and_session_token(ci, public_ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    c = public_ci.get_credentials_for_identity(IdentityId=identity)["Credentials"]
    with aws_error("SignatureDoesNotMatch"):
        sts_for(server, dict(c, SecretKey="x" * 40)).get_caller_identity()
    with aws_error("InvalidClientTokenId"):
        sts_for(server, dict(c, SessionToken=c["SessionToken"][:-2] + "AA")).get_caller_identity()
    no_token = boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretKey"],
    )
    with aws_error("InvalidClientTokenId"):
        no_token.get_caller_identity()
    with aws_error("MissingAuthenticationToken"):
        sts_for(server, None, unsigned=True).get_caller_identity()


def test_sts_answers_the_root_credentials(server):
    who = server.client("sts").get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert who["Account"] == ACCOUNT


def test_aws_cli_identity_pools(server, tmp_path):
    import os
    import subprocess
    import sys

    from tessera_server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(tmp_path / "c"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "s"), HOME=str(tmp_path), AWS_PAGER="",
    )

    def cli(*args):
        p = subprocess.run(
            [sys.executable, "-m", "awscli", *args, "--endpoint-url", server.endpoint,
             "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else {}

    created = cli("cognito-identity", "create-identity-pool", "--identity-pool-name", "cli_pool",
                  "--allow-unauthenticated-identities")
    listed = cli("cognito-identity", "list-identity-pools", "--max-results", "60")
    assert created["IdentityPoolId"] in [p["IdentityPoolId"] for p in listed["IdentityPools"]]
    assert cli("sts", "get-caller-identity")["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


# -- OpenID tokens and developer identities ----------------------------------------------------


def verified_claims(server, token: str, audience: str) -> dict:
    """Verifies an identity-pool token as a relying party would: discovery, JWKS, RS256."""
    import jwt
    import requests

    issuer = f"{server.endpoint}/cognito-identity"
    conf = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert conf["issuer"] == issuer
    key = jwt.PyJWKClient(conf["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer)


def test_get_open_id_token_for_guests_and_classic_flow_switch(ci, public_ci, server, user_pool):
    ip = make_pool(ci, server, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    out = public_ci.get_open_id_token(IdentityId=identity)
    assert out["IdentityId"] == identity
    claims = verified_claims(server, out["Token"], ip)
    assert claims["sub"] == identity
    assert claims["amr"] == ["unauthenticated"]
    assert claims["exp"] - claims["iat"] == 600

    closed = make_pool(ci, server, user_pool, AllowClassicFlow=False)
    guest = public_ci.get_id(IdentityPoolId=closed)["IdentityId"]
    with aws_error("InvalidParameterException",
                   "Basic (classic) flow is not enabled, please use enhanced flow."):
        public_ci.get_open_id_token(IdentityId=guest)


def test_open_id_token_of_a_signed_in_user(ci, public_ci, server, idp, user_pool):
    ip = make_pool(ci, server, user_pool)
    key = login_key(server, user_pool[0])
    token = signed_in(idp, user_pool)
    identity = public_ci.get_id(IdentityPoolId=ip, Logins={key: token})["IdentityId"]
    out = public_ci.get_open_id_token(IdentityId=identity, Logins={key: token})
    claims = verified_claims(server, out["Token"], ip)
    assert claims["amr"][:2] == ["authenticated", key]
    # Presented back under cognito-identity.amazonaws.com, it proves the identity.
    creds = public_ci.get_credentials_for_identity(
        IdentityId=identity, Logins={"cognito-identity.amazonaws.com": out["Token"]}
    )["Credentials"]
    who = sts_for(server, creds).get_caller_identity()
    assert who["Arn"].endswith(":assumed-role/Cognito_Auth/CognitoIdentityCredentials")
    # ... and only that identity.
    other = public_ci.get_id(IdentityPoolId=ip)["IdentityId"]
    with aws_error("NotAuthorizedException", f"Access to Identity '{other}' is forbidden."):
        public_ci.get_credentials_for_identity(
            IdentityId=other, Logins={"cognito-identity.amazonaws.com": out["Token"]}
        )


def test_developer_identities(ci, public_ci, server, user_pool):
    dev = "login.tessera.test"
    ip = make_pool(ci, server, user_pool, DeveloperProviderName=dev)
    first = ci.get_open_id_token_for_developer_identity(
        IdentityPoolId=ip, Logins={dev: "user-1"}, TokenDuration=3600
    )
    identity = first["IdentityId"]
    claims = verified_claims(server, first["Token"], ip)
    assert claims["sub"] == identity
    assert claims["amr"][:2] == ["authenticated", dev]
    assert claims["exp"] - claims["iat"] == 3600
    again = ci.get_open_id_token_for_developer_identity(IdentityPoolId=ip, Logins={dev: "user-1"})
    assert again["IdentityId"] == identity

    found = ci.lookup_developer_identity(IdentityPoolId=ip, DeveloperUserIdentifier="user-1")
    assert found["IdentityId"] == identity
    assert found["DeveloperUserIdentifierList"] == ["user-1"]
    assert ci.lookup_developer_identity(IdentityPoolId=ip, IdentityId=identity)[
        "DeveloperUserIdentifierList"] == ["user-1"]

    # The developer token works in the enhanced flow.
    creds = public_ci.get_credentials_for_identity(
        IdentityId=identity, Logins={"cognito-identity.amazonaws.com": first["Token"]}
    )["Credentials"]
    assert sts_for(server, creds).get_caller_identity()["Arn"].endswith(
        ":assumed-role/Cognito_Auth/CognitoIdentityCredentials")

    second = ci.get_open_id_token_for_developer_identity(IdentityPoolId=ip, Logins={dev: "user-2"})
    assert second["IdentityId"] != identity
    with aws_error("DeveloperUserAlreadyRegisteredException"):
        ci.get_open_id_token_for_developer_identity(
            IdentityPoolId=ip, IdentityId=second["IdentityId"], Logins={dev: "user-1"}
        )
    merged = ci.merge_developer_identities(
        SourceUserIdentifier="user-2", DestinationUserIdentifier="user-1",
        DeveloperProviderName=dev, IdentityPoolId=ip,
    )
    assert merged["IdentityId"] == identity
    hidden = ci.list_identities(IdentityPoolId=ip, MaxResults=60, HideDisabled=True)
    assert second["IdentityId"] not in [i["IdentityId"] for i in hidden["Identities"]]

    ci.unlink_developer_identity(
        IdentityId=identity, IdentityPoolId=ip, DeveloperProviderName=dev,
        DeveloperUserIdentifier="user-1",
    )
    with aws_error("ResourceNotFoundException"):
        ci.lookup_developer_identity(IdentityPoolId=ip, DeveloperUserIdentifier="user-1")
    with aws_error("NotAuthorizedException"):
        ci.get_open_id_token_for_developer_identity(IdentityPoolId=ip, Logins={"other.dev": "x"})
