"""User-pool domains and resource servers with boto3 and the AWS CLI against the real binary, as
provisioning scripts (Terraform, CDK, Pulumi) call them right after creating a pool: prefix and
custom domains (one of each per pool, names unique across pools, Cognito's refusals),
DescribeUserPool showing them, resource servers with pagination, and app clients refused custom
scopes that no resource server defines."""

from __future__ import annotations

import pytest
from support import aws_error, create_client, create_pool, unique

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
INVALID_CHARACTER = (
    "The domain name contains an invalid character. Domain names can only contain lower-case "
    "letters, numbers, and hyphens. Please enter a different name that follows this format: "
    "^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$"
)
NO_SUCH_DOMAIN = "No such domain or user pool exists."


@pytest.fixture
def pool_id(idp):
    return create_pool(idp)


def scopes(*names: str) -> list[dict]:
    return [{"ScopeName": n, "ScopeDescription": f"{n} access"} for n in names]


# -- domains -----------------------------------------------------------------------------------


def test_prefix_and_custom_domains(idp, server, pool_id):
    prefix, custom = unique("login"), f"{unique('auth')}.example.com"
    created = idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    assert created["ManagedLoginVersion"] == 1
    assert "CloudFrontDomain" not in created
    created = idp.create_user_pool_domain(
        UserPoolId=pool_id, Domain=custom, CustomDomainConfig={"CertificateArn": CERT},
        ManagedLoginVersion=2,
    )
    # The DNS alias target of a custom domain: the host Tessera serves on.
    assert created["CloudFrontDomain"] == "127.0.0.1"
    assert created["ManagedLoginVersion"] == 2

    desc = idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]
    assert desc["UserPoolId"] == pool_id and desc["Domain"] == prefix
    assert desc["Status"] == "ACTIVE" and desc["ManagedLoginVersion"] == 1
    assert desc["AWSAccountId"] and "CustomDomainConfig" not in desc
    desc = idp.describe_user_pool_domain(Domain=custom)["DomainDescription"]
    assert desc["CustomDomainConfig"] == {"CertificateArn": CERT}
    assert desc["CloudFrontDistribution"] == "127.0.0.1"

    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Domain"] == prefix and pool["CustomDomain"] == custom

    # An unknown domain is an empty description, not an error.
    assert idp.describe_user_pool_domain(Domain=unique("nobody"))["DomainDescription"] == {}

    idp.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=2)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["ManagedLoginVersion"] == 2
    renewed = CERT.replace("1111", "9999")
    updated = idp.update_user_pool_domain(
        UserPoolId=pool_id, Domain=custom,
        CustomDomainConfig={"CertificateArn": renewed, "SecurityPolicy": "TLS_V1_2_2021"},
    )
    assert updated["CloudFrontDomain"] == "127.0.0.1"
    desc = idp.describe_user_pool_domain(Domain=custom)["DomainDescription"]
    assert desc["CustomDomainConfig"] == {"CertificateArn": renewed, "SecurityPolicy": "TLS_V1_2_2021"}

    for name in (prefix, custom):
        idp.delete_user_pool_domain(UserPoolId=pool_id, Domain=name)
        assert idp.describe_user_pool_domain(Domain=name)["DomainDescription"] == {}
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "Domain" not in pool and "CustomDomain" not in pool


def test_domain_refusals(idp, pool_id):
    prefix = unique("taken")
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    with aws_error("InvalidParameterException", "User pool already has a domain configured."):
        idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("second"))
    other = create_pool(idp)
    with aws_error("InvalidParameterException", "Domain already associated with another user pool."):
        idp.create_user_pool_domain(UserPoolId=other, Domain=prefix)
    for word, name in (("aws", "my-aws-app"), ("amazon", "amazon-login"), ("cognito", "xcognitox")):
        with aws_error("InvalidParameterException", f"Domain cannot contain reserved word: {word}"):
            idp.create_user_pool_domain(UserPoolId=other, Domain=name)
    # A dotted name is a custom domain only with a certificate.
    with aws_error("InvalidParameterException", INVALID_CHARACTER):
        idp.create_user_pool_domain(UserPoolId=other, Domain="auth.example.net")
    # The request validator still applies the model to everything else (botocore checks only
    # lengths, so this reaches the server).
    with aws_error("InvalidParameterException", contains="certificateArn"):
        idp.create_user_pool_domain(UserPoolId=other, Domain="auth.example.net", CustomDomainConfig={
            "CertificateArn": "certainly-not-an-arn-at-all"})
    with aws_error("InvalidParameterException", NO_SUCH_DOMAIN):
        idp.delete_user_pool_domain(UserPoolId=other, Domain=prefix)
    with aws_error("InvalidParameterException", NO_SUCH_DOMAIN):
        idp.update_user_pool_domain(UserPoolId=other, Domain=prefix, ManagedLoginVersion=2)
    with aws_error("InvalidParameterException", NO_SUCH_DOMAIN):
        idp.delete_user_pool_domain(UserPoolId="us-east-1_NoSuchPool", Domain=prefix)
    with aws_error("ResourceNotFoundException", "User pool us-east-1_NoSuchPool does not exist."):
        idp.create_user_pool_domain(UserPoolId="us-east-1_NoSuchPool", Domain=unique("free"))

    # A pool keeps its domain until the caller deletes it; then the name is free for anyone.
    with aws_error(
        "InvalidParameterException",
        "User pool cannot be deleted. It has a domain configured that should be deleted first.",
    ):
        idp.delete_user_pool(UserPoolId=pool_id)
    idp.delete_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    idp.delete_user_pool(UserPoolId=pool_id)
    idp.create_user_pool_domain(UserPoolId=other, Domain=prefix)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["UserPoolId"] == other


def test_domains_with_the_aws_cli(aws, pool_id):
    prefix = unique("cli")
    out = aws("create-user-pool-domain", "--user-pool-id", pool_id, "--domain", prefix)
    assert out["ManagedLoginVersion"] == 1
    out = aws("create-user-pool-domain", "--user-pool-id", pool_id, "--domain", "sso.cli.example.com",
              "--custom-domain-config", f"CertificateArn={CERT}")
    assert out["CloudFrontDomain"] == "127.0.0.1"
    desc = aws("describe-user-pool-domain", "--domain", prefix)["DomainDescription"]
    assert desc["UserPoolId"] == pool_id and desc["Status"] == "ACTIVE"
    pool = aws("describe-user-pool", "--user-pool-id", pool_id)["UserPool"]
    assert pool["Domain"] == prefix and pool["CustomDomain"] == "sso.cli.example.com"
    p = aws("create-user-pool-domain", "--user-pool-id", create_pool_cli(aws), "--domain", prefix,
            check=False)
    assert p.returncode != 0
    assert "InvalidParameterException" in p.stderr
    assert "Domain already associated with another user pool." in p.stderr
    aws("delete-user-pool-domain", "--user-pool-id", pool_id, "--domain", prefix)
    aws("delete-user-pool-domain", "--user-pool-id", pool_id, "--domain", "sso.cli.example.com")
    assert aws("describe-user-pool-domain", "--domain", prefix)["DomainDescription"] == {}


def create_pool_cli(aws) -> str:
    return aws("create-user-pool", "--pool-name", unique("cli-pool"))["UserPool"]["Id"]


# -- resource servers --------------------------------------------------------------------------


def test_resource_servers(idp, pool_id):
    identifier = "https://api.example.com"
    created = idp.create_resource_server(
        UserPoolId=pool_id, Identifier=identifier, Name="Example API", Scopes=scopes("read", "write"),
    )["ResourceServer"]
    assert created == {
        "UserPoolId": pool_id, "Identifier": identifier, "Name": "Example API",
        "Scopes": scopes("read", "write"),
    }
    assert idp.describe_resource_server(UserPoolId=pool_id, Identifier=identifier)["ResourceServer"] == created
    with aws_error("InvalidParameterException", f"{identifier} already exists in user pool {pool_id}."):
        idp.create_resource_server(UserPoolId=pool_id, Identifier=identifier, Name="Again")
    # ScopeName can't hold "/", which separates it from the identifier in a token's scope.
    with aws_error("InvalidParameterException", contains="scopeName"):
        idp.create_resource_server(UserPoolId=pool_id, Identifier="other", Name="Other",
                                   Scopes=scopes("read/all"))

    updated = idp.update_resource_server(
        UserPoolId=pool_id, Identifier=identifier, Name="Renamed", Scopes=scopes("admin"),
    )["ResourceServer"]
    assert updated["Name"] == "Renamed" and updated["Scopes"] == scopes("admin")

    for ident in ("orders", "billing", "catalog", "zeta"):
        idp.create_resource_server(UserPoolId=pool_id, Identifier=ident, Name=ident)
    seen, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = idp.list_resource_servers(UserPoolId=pool_id, MaxResults=2, **kwargs)
        assert len(page["ResourceServers"]) <= 2
        seen += [r["Identifier"] for r in page["ResourceServers"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["billing", "catalog", identifier, "orders", "zeta"]
    # boto3's paginator follows the same tokens.
    paginator = idp.get_paginator("list_resource_servers")
    pages = list(paginator.paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 3}))
    assert [r["Identifier"] for p in pages for r in p["ResourceServers"]] == seen
    with aws_error("InvalidParameterException", contains="maxResults"):
        idp.list_resource_servers(UserPoolId=pool_id, MaxResults=51)

    idp.delete_resource_server(UserPoolId=pool_id, Identifier="zeta")
    with aws_error("ResourceNotFoundException", "Resource server zeta does not exist."):
        idp.describe_resource_server(UserPoolId=pool_id, Identifier="zeta")
    with aws_error("ResourceNotFoundException", "Resource server zeta does not exist."):
        idp.update_resource_server(UserPoolId=pool_id, Identifier="zeta", Name="zeta")
    with aws_error("ResourceNotFoundException", "Resource server zeta does not exist."):
        idp.delete_resource_server(UserPoolId=pool_id, Identifier="zeta")


def test_clients_name_only_scopes_that_exist(idp, pool_id):
    idp.create_resource_server(UserPoolId=pool_id, Identifier="orders", Name="Orders",
                               Scopes=scopes("read", "write"))
    standard = ["phone", "email", "openid", "profile", "aws.cognito.signin.user.admin"]
    client = create_client(idp, pool_id, AllowedOAuthScopes=[*standard, "orders/read"])
    assert client["AllowedOAuthScopes"] == [*standard, "orders/read"]
    client_id = client["ClientId"]
    for bad in ("orders/delete", "billing/read", "Cognito", "orders"):
        with aws_error("ScopeDoesNotExistException", f"Invalid scope requested: {bad}"):
            create_client(idp, pool_id, AllowedOAuthScopes=["openid", bad])
        with aws_error("ScopeDoesNotExistException", f"Invalid scope requested: {bad}"):
            idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, AllowedOAuthScopes=[bad])
    updated = idp.update_user_pool_client(
        UserPoolId=pool_id, ClientId=client_id, AllowedOAuthScopes=["orders/write"],
    )["UserPoolClient"]
    assert updated["AllowedOAuthScopes"] == ["orders/write"]
    # Scopes of another pool's resource server don't count.
    other = create_pool(idp)
    with aws_error("ScopeDoesNotExistException", "Invalid scope requested: orders/read"):
        create_client(idp, other, AllowedOAuthScopes=["orders/read"])
    # Deleting a pool takes its resource servers with it.
    idp.delete_user_pool(UserPoolId=pool_id)
    with aws_error("ResourceNotFoundException", f"User pool {pool_id} does not exist."):
        idp.list_resource_servers(UserPoolId=pool_id, MaxResults=10)
