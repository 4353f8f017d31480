"""User-pool identity providers with boto3 and the AWS CLI against the real binary, as
provisioning tools create them: ProviderDetails checked per ProviderType with Cognito's
messages, the derived keys Describe adds, secrets (client_secret returned, Apple's private_key
never), IdpIdentifiers unique in the pool and resolved by GetIdentityProviderByIdentifier,
pagination, and app clients refused providers that don't exist."""

from __future__ import annotations

import pytest
from support import aws_error, create_client, create_pool, unique

GOOGLE = {
    "client_id": "1234-abc.apps.googleusercontent.com",
    "client_secret": "google-secret",
    "authorize_scopes": "email profile openid",
}
OIDC = {
    "client_id": "tessera-rp",
    "client_secret": "oidc-secret",
    "authorize_scopes": "openid email",
    "attributes_request_method": "GET",
    "oidc_issuer": "https://login.example.com",
}
METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.example.com/saml"/>'
)
APPLE_KEY = "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n-----END PRIVATE KEY-----"


@pytest.fixture
def pool_id(idp):
    return create_pool(idp, Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}])


def test_google_round_trip_with_derived_details(idp, pool_id):
    created = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Google", ProviderType="Google",
        ProviderDetails=GOOGLE, AttributeMapping={"email": "email"},
    )["IdentityProvider"]
    assert created["ProviderName"] == "Google" and created["ProviderType"] == "Google"
    details = created["ProviderDetails"]
    # What was sent, plus what Cognito derives for the type.
    assert {k: details[k] for k in GOOGLE} == GOOGLE
    assert details["authorize_url"] == "https://accounts.google.com/o/oauth2/v2/auth"
    assert details["token_url"] == "https://www.googleapis.com/oauth2/v4/token"
    assert details["oidc_issuer"] == "https://accounts.google.com"
    assert details["token_request_method"] == "POST"
    assert details["attributes_url_add_attributes"] == "true"
    # The subject becomes the username unless mapped otherwise.
    assert created["AttributeMapping"] == {"email": "email", "username": "sub"}
    assert created["CreationDate"] and created["LastModifiedDate"]

    described = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="Google")
    assert described["IdentityProvider"]["ProviderDetails"] == details

    # Terraform sends Describe's details back on update: the derived keys are accepted.
    updated = idp.update_identity_provider(
        UserPoolId=pool_id, ProviderName="Google",
        ProviderDetails={**details, "authorize_scopes": "openid email"},
    )["IdentityProvider"]
    assert updated["ProviderDetails"]["authorize_scopes"] == "openid email"
    assert updated["ProviderDetails"]["client_secret"] == "google-secret"

    idp.delete_identity_provider(UserPoolId=pool_id, ProviderName="Google")
    with aws_error("ResourceNotFoundException", "Identity provider Google does not exist."):
        idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="Google")
    with aws_error("ResourceNotFoundException"):
        idp.delete_identity_provider(UserPoolId=pool_id, ProviderName="Google")


def test_provider_details_are_checked_per_type(idp, pool_id):
    def create(name, ptype, details, **kw):
        return idp.create_identity_provider(
            UserPoolId=pool_id, ProviderName=name, ProviderType=ptype, ProviderDetails=details, **kw
        )

    required = "client_id, client_secret and authorize_scopes are all required idp details"
    with aws_error("InvalidParameterException", required):
        create("Google", "Google", {"client_id": "x", "authorize_scopes": "email"})
    with aws_error("InvalidParameterException", required):
        create("Facebook", "Facebook", {"client_id": "x", "client_secret": "", "authorize_scopes": "email"})
    with aws_error("InvalidParameterException", contains="ProviderName must be Google"):
        create("MyGoogle", "Google", GOOGLE)
    with aws_error("InvalidParameterException", contains="team_id is not a valid provider detail"):
        create("Google", "Google", {**GOOGLE, "team_id": "T"})
    with aws_error("InvalidParameterException", contains="GET or POST"):
        create("Corp", "OIDC", {**OIDC, "attributes_request_method": "PATCH"})
    with aws_error("InvalidParameterException", contains="must not end with a slash"):
        create("Corp", "OIDC", {**OIDC, "oidc_issuer": "https://login.example.com/"})
    with aws_error("InvalidParameterException", contains="are all required idp details"):
        create("Corp", "OIDC", {k: v for k, v in OIDC.items() if k != "oidc_issuer"})
    with aws_error("InvalidParameterException", contains="Exactly one of MetadataFile and MetadataURL"):
        create("Okta", "SAML", {"IDPSignout": "true"})
    with aws_error("InvalidParameterException", contains="true or false"):
        create("Okta", "SAML", {"MetadataFile": METADATA, "IDPInit": "yes"})
    with aws_error("InvalidParameterException", contains="not part of the user pool schema"):
        create("Corp", "OIDC", OIDC, AttributeMapping={"custom:nope": "x"})
    # The model's own constraints come first: a name starting with '_' breaks its pattern.
    with aws_error("InvalidParameterException", contains="failed to satisfy constraint"):
        create("_Corp", "OIDC", OIDC)
    with aws_error("InvalidParameterException", contains="failed to satisfy constraint"):
        create("Corp", "Twitter", OIDC)

    create("Corp", "OIDC", OIDC, AttributeMapping={"custom:tier": "tier", "email": "email"})
    with aws_error("DuplicateProviderException"):
        create("Corp", "OIDC", OIDC)


def test_apple_private_key_is_never_returned(idp, pool_id):
    created = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="SignInWithApple", ProviderType="SignInWithApple",
        ProviderDetails={
            "client_id": "com.example.web", "team_id": "TEAM123456", "key_id": "KEY1234567",
            "private_key": APPLE_KEY, "authorize_scopes": "email name",
        },
    )["IdentityProvider"]
    details = created["ProviderDetails"]
    assert "private_key" not in details
    assert details["team_id"] == "TEAM123456"
    assert details["authorize_url"] == "https://appleid.apple.com/auth/authorize"
    # An update without the key keeps it (the provider stays complete).
    idp.update_identity_provider(
        UserPoolId=pool_id, ProviderName="SignInWithApple",
        ProviderDetails={"authorize_scopes": "email"},
    )
    d = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="SignInWithApple")
    assert d["IdentityProvider"]["ProviderDetails"]["authorize_scopes"] == "email"


def test_identifiers_are_unique_and_resolve(idp, pool_id):
    idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Okta", ProviderType="SAML",
        ProviderDetails={"MetadataFile": METADATA, "IDPSignout": "false"},
        IdpIdentifiers=["example.com", "corp"],
    )
    found = idp.get_identity_provider_by_identifier(UserPoolId=pool_id, IdpIdentifier="corp")
    assert found["IdentityProvider"]["ProviderName"] == "Okta"
    assert found["IdentityProvider"]["ProviderDetails"]["MetadataFile"] == METADATA
    # SAML gets no default username mapping: the NameID is the subject.
    assert found["IdentityProvider"]["AttributeMapping"] == {}
    with aws_error("DuplicateProviderException"):
        idp.create_identity_provider(
            UserPoolId=pool_id, ProviderName="Corp", ProviderType="OIDC",
            ProviderDetails=OIDC, IdpIdentifiers=["corp"],
        )
    with aws_error("ResourceNotFoundException"):
        idp.get_identity_provider_by_identifier(UserPoolId=pool_id, IdpIdentifier="nobody")
    # Moving an identifier frees it.
    idp.update_identity_provider(UserPoolId=pool_id, ProviderName="Okta", IdpIdentifiers=["example.com"])
    idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Corp", ProviderType="OIDC",
        ProviderDetails=OIDC, IdpIdentifiers=["corp"],
    )
    found = idp.get_identity_provider_by_identifier(UserPoolId=pool_id, IdpIdentifier="corp")
    assert found["IdentityProvider"]["ProviderName"] == "Corp"


def test_list_pages_and_clients_need_existing_providers(idp, pool_id):
    for name in ["Corp1", "Corp2", "Corp3"]:
        idp.create_identity_provider(
            UserPoolId=pool_id, ProviderName=name, ProviderType="OIDC", ProviderDetails=OIDC
        )
    first = idp.list_identity_providers(UserPoolId=pool_id, MaxResults=2)
    assert [p["ProviderName"] for p in first["Providers"]] == ["Corp1", "Corp2"]
    assert all(p["ProviderType"] == "OIDC" for p in first["Providers"])
    rest = idp.list_identity_providers(UserPoolId=pool_id, MaxResults=2, NextToken=first["NextToken"])
    assert [p["ProviderName"] for p in rest["Providers"]] == ["Corp3"]
    assert "NextToken" not in rest
    paginated = idp.get_paginator("list_identity_providers").paginate(UserPoolId=pool_id, MaxResults=1)
    assert [p["ProviderName"] for page in paginated for p in page["Providers"]] == ["Corp1", "Corp2", "Corp3"]

    with aws_error("InvalidParameterException", f"The provider Google does not exist for User Pool {pool_id}"):
        create_client(idp, pool_id, SupportedIdentityProviders=["COGNITO", "Google"])
    client = create_client(idp, pool_id, SupportedIdentityProviders=["COGNITO", "Corp2"])
    assert client["SupportedIdentityProviders"] == ["COGNITO", "Corp2"]


def test_aws_cli_creates_an_oidc_provider(aws, pool_id):
    out = aws(
        "create-identity-provider", "--user-pool-id", pool_id, "--provider-name", "CliCorp",
        "--provider-type", "OIDC", "--provider-details",
        ",".join(f"{k}={v}" for k, v in OIDC.items()),
    )
    assert out["IdentityProvider"]["ProviderDetails"]["oidc_issuer"] == OIDC["oidc_issuer"]
    listed = aws("list-identity-providers", "--user-pool-id", pool_id, "--max-results", "10")
    assert [p["ProviderName"] for p in listed["Providers"]] == ["CliCorp"]
