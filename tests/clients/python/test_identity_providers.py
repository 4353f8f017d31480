"""User-pool identity providers with boto3 and the AWS CLI against the real binary, as
provisioning tools create them: ProviderDetails checked per ProviderType with Cognito's
messages, the derived keys Describe adds, secrets (client_secret returned, Apple's private_key
never), IdpIdentifiers unique in the pool and resolved by GetIdentityProviderByIdentifier,
pagination, and app clients refused providers that don't exist."""

from __future__ import annotations

import base64
import ssl

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
# An IdP's metadata as Okta or Keycloak publish it: a signing certificate (self-signed, made
# for this file) and the SSO and SLO endpoints, which Describe shows as derived keys.
IDP_CERT = (
    "MIIDFTCCAf2gAwIBAgIUY9o5g7mxPfkHqVxCByW32+toKFUwDQYJKoZIhvcNAQEL"
    "BQAwGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTIwNjIwMDIwMFoX"
    "DTM2MTIwMzIwMDIwMFowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMIIBIjAN"
    "BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtBIfDuGc4YSrogO6wd/Nkq8AnUIW"
    "wZ2I0CcJNH0T8e65hcESB1VJcZKYPpGtoG1n/ae5m4ILMNLKhAJiF3HxXNSlOHkx"
    "eHiYX/IGmFLMx2pHgy6W+PZQrBp1eJvxvt0+N8bjrwIazbluRGTP8togv9WXIbJr"
    "pL/Ta25CVLnKr6xhJNKDgxrEsOqcVu7b2soOVb36B/8Tom9KFXrpJePvLyeFjS92"
    "TWMjh9o7BPUqXa8067FexZVeaSexP4cUAGlQeYKGMQl+T1CQFP8OhqgNtPW002WR"
    "ERkv3qKKkpm5Wl3AB+Piv86KHqIG/sJHLQ3DJU9HDStF90xc1LdSWUgIXQIDAQAB"
    "o1MwUTAdBgNVHQ4EFgQUmDJsyn9WIwyF32DkmEMrsOs3F7gwHwYDVR0jBBgwFoAU"
    "mDJsyn9WIwyF32DkmEMrsOs3F7gwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B"
    "AQsFAAOCAQEAk61OxcrXO5H+65CJQV/FQBCUAWumX2xu4TneCXCCX4GZs0KJBDgO"
    "ss4HbkFXM4Zfl9JCi+qv48EbgAQTJs5/6Zenl/h9a8EBVV1EX3shV57V7cFsI8EM"
    "AKJbxznrbcSIbjvA0aJD3dThItraoVnjNEKcLwXQzmyGSeY9zma+0sGoKoFjjvMY"
    "7I6+DoKzJAH3j0kEW8uNGk+/3/14jU4QeK9QbJdNAC+Ru9Gr9qRLghbD3eiJBRCm"
    "Yu04JpVe58uvlO9wE8Sb+ob5mydyZidkvglPaVQ5cJejqOYmMh59n991TyhKIa5g"
    "ec+q/0pM4lVyZl0lwLFQhfHmCpoFpoM1Ow=="
)
METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
    + IDP_CERT
    + '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
    '<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example.com/saml/slo"/>'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example.com/saml/sso"/>'
    '</md:IDPSSODescriptor></md:EntityDescriptor>'
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


def test_saml_provider_derives_endpoints_and_the_pool_has_a_signing_certificate(idp, aws, pool_id):
    created = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Okta", ProviderType="SAML",
        ProviderDetails={
            "MetadataFile": METADATA, "IDPSignout": "true", "EncryptedResponses": "true",
            "RequestSigningAlgorithm": "rsa-sha256",
        },
        AttributeMapping={"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
    )["IdentityProvider"]
    details = created["ProviderDetails"]
    # Read from the metadata, as Cognito derives them.
    assert details["SSORedirectBindingURI"] == "https://idp.example.com/saml/sso"
    assert details["SLORedirectBindingURI"] == "https://idp.example.com/saml/slo"
    assert details["MetadataFile"] == METADATA
    assert details["IDPSignout"] == "true" and details["RequestSigningAlgorithm"] == "rsa-sha256"
    # The pool's encryption certificate, which the IdP encrypts assertions to.
    encryption = base64.b64decode(details["ActiveEncryptionCertificate"])
    assert encryption[0] == 0x30  # DER: a SEQUENCE

    # GetSigningCertificate: the pool's own X.509 certificate (base64 DER), the same every time
    # and not the encryption one; aws-cli gets the same.
    cert = idp.get_signing_certificate(UserPoolId=pool_id)["Certificate"]
    der = base64.b64decode(cert)
    pem = ssl.DER_cert_to_PEM_cert(der)
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert idp.get_signing_certificate(UserPoolId=pool_id)["Certificate"] == cert
    assert aws("get-signing-certificate", "--user-pool-id", pool_id)["Certificate"] == cert
    assert der != encryption
    other = create_pool(idp)
    assert idp.get_signing_certificate(UserPoolId=other)["Certificate"] != cert
    with aws_error("ResourceNotFoundException"):
        idp.get_signing_certificate(UserPoolId="us-east-1_NoSuchPool")

    # Terraform sends Describe's details back: the derived keys are accepted and recomputed.
    updated = idp.update_identity_provider(
        UserPoolId=pool_id, ProviderName="Okta",
        ProviderDetails={**details, "IDPSignout": "false"},
    )["IdentityProvider"]["ProviderDetails"]
    assert updated["IDPSignout"] == "false"
    assert updated["SSORedirectBindingURI"] == "https://idp.example.com/saml/sso"
    assert updated["ActiveEncryptionCertificate"] == details["ActiveEncryptionCertificate"]


def test_saml_metadata_must_be_usable(idp, pool_id):
    def create(details):
        return idp.create_identity_provider(
            UserPoolId=pool_id, ProviderName="Broken", ProviderType="SAML", ProviderDetails=details,
        )

    without_cert = METADATA.split("<md:KeyDescriptor")[0] + METADATA.split("</md:KeyDescriptor>")[1]
    with aws_error("InvalidParameterException", contains="no signing certificate"):
        create({"MetadataFile": without_cert})
    without_sso = METADATA.split("<md:SingleSignOnService")[0] + "</md:IDPSSODescriptor></md:EntityDescriptor>"
    with aws_error("InvalidParameterException", contains="no SingleSignOnService"):
        create({"MetadataFile": without_sso})
    doctype = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + METADATA
    with aws_error("InvalidParameterException", contains="Invalid SAML metadata"):
        create({"MetadataFile": doctype})
    # A MetadataURL on a private address is refused unless the operator allowed it.
    with aws_error("InvalidParameterException", contains="Unable to retrieve metadata"):
        create({"MetadataURL": "https://127.0.0.1:9/metadata"})
    with aws_error("ResourceNotFoundException"):
        idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="Broken")
