"""GetClientToken (machine-to-machine access tokens through the API) and GetDerivedToken
(RFC 8693 token exchange) with boto3; every issued token is verified by PyJWT against the
pool's JWKS."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from support import aws_error, confirmed_user, create_client, create_pool, password_auth

USER_FLOWS = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


@pytest.fixture(scope="module")
def pool(idp):
    pool = create_pool(idp)
    idp.create_resource_server(
        UserPoolId=pool, Identifier="api", Name="API",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                {"ScopeName": "write", "ScopeDescription": "w"}],
    )
    idp.create_resource_server(
        UserPoolId=pool, Identifier="billing", Name="Billing",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}],
    )
    return pool


@pytest.fixture(scope="module")
def discovery(server, pool):
    return requests.get(f"{server.endpoint}/{pool}/.well-known/openid-configuration", timeout=10).json()


@pytest.fixture(scope="module")
def jwks(discovery):
    return jwt.PyJWKClient(discovery["jwks_uri"])


def verify(jwks, discovery, token, audience=None):
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=discovery["issuer"], audience=audience,
        options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": audience is not None},
    )


@pytest.fixture(scope="module")
def m2m(idp, pool):
    return create_client(
        idp, pool, secret=True, ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH"],
        AllowedOAuthScopes=["api/read", "api/write"],
    )


@pytest.fixture(scope="module")
def public(server):
    return server.client(unsigned=True)


def test_client_token_for_a_client_with_allow_client_token_auth(public, m2m, jwks, discovery):
    resp = public.get_client_token(ClientId=m2m["ClientId"], Secret=m2m["ClientSecret"])
    result = resp["ClientAuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["ExpiresIn"] == 3600
    claims = verify(jwks, discovery, result["AccessToken"])
    assert claims["sub"] == m2m["ClientId"] == claims["client_id"]
    assert claims["token_use"] == "access"
    assert claims["scope"].split() == ["api/read", "api/write"]
    assert claims["exp"] - claims["iat"] == 3600

    narrowed = public.get_client_token(
        ClientId=m2m["ClientId"], Secret=m2m["ClientSecret"], Scopes=["api/read"]
    )["ClientAuthenticationResult"]["AccessToken"]
    assert verify(jwks, discovery, narrowed)["scope"] == "api/read"


def test_client_token_for_a_client_credentials_client(idp, public, pool, jwks, discovery):
    c = create_client(
        idp, pool, secret=True, AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["billing/read"],
    )
    token = public.get_client_token(ClientId=c["ClientId"], Secret=c["ClientSecret"])[
        "ClientAuthenticationResult"]["AccessToken"]
    assert verify(jwks, discovery, token)["scope"] == "billing/read"


def test_client_token_errors(idp, public, pool, m2m):
    with aws_error("NotAuthorizedException"):
        public.get_client_token(ClientId=m2m["ClientId"], Secret="x" * 40)
    with aws_error("InvalidParameterException", contains="scope"):
        public.get_client_token(ClientId=m2m["ClientId"], Secret=m2m["ClientSecret"], Scopes=["billing/read"])
    with aws_error("ResourceNotFoundException"):
        public.get_client_token(ClientId="nosuchclient", Secret="x" * 40)
    # A secret-bearing client without the flow.
    plain = create_client(idp, pool, secret=True)
    with aws_error("InvalidParameterException", "ALLOW_CLIENT_TOKEN_AUTH flow not enabled for this client"):
        public.get_client_token(ClientId=plain["ClientId"], Secret=plain["ClientSecret"])
    # A client without a secret can't have M2M tokens.
    nosecret = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH"])
    with aws_error("NotAuthorizedException"):
        public.get_client_token(ClientId=nosecret["ClientId"], Secret="x" * 40)
    # The flow excludes every user flow (Cognito: it must be the only one).
    with aws_error("InvalidParameterException"):
        create_client(idp, pool, secret=True,
                      ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"])


@pytest.fixture(scope="module")
def exchanger(idp, pool):
    """A user-facing client allowed both kinds of token exchange."""
    return create_client(
        idp, pool, secret=True,
        ExplicitAuthFlows=USER_FLOWS + ["ALLOW_TOKEN_EXCHANGE_IMPERSONATION", "ALLOW_TOKEN_EXCHANGE_DELEGATION"],
        AllowedOAuthScopes=["api/read", "openid"],
    )


@pytest.fixture
def user_tokens(idp, pool, exchanger):
    user, pw = confirmed_user(idp, pool, exchanger)
    return user, password_auth(idp, exchanger, user, pw)


def derive(public, client, **kwargs):
    return public.get_derived_token(
        ClientId=client["ClientId"], ClientSecret=client["ClientSecret"], **kwargs
    )


def test_derived_access_token_is_audience_bound_and_in_the_subject_family(
    public, exchanger, user_tokens, jwks, discovery
):
    user, tokens = user_tokens
    subject = verify(jwks, discovery, tokens["AccessToken"])
    resp = derive(public, exchanger, SubjectToken=tokens["AccessToken"],
                  SubjectTokenType="ACCESS_TOKEN", Resources=["api"])
    assert resp["IssuedTokenType"] == "ACCESS_TOKEN" and resp["TokenType"] == "Bearer"
    assert resp["Scopes"] == ["aws.cognito.signin.user.admin"]
    claims = verify(jwks, discovery, resp["IssuedToken"], audience="api")
    assert claims["aud"] == "api"
    assert claims["sub"] == subject["sub"] and claims["username"] == user
    assert claims["origin_jti"] == subject["origin_jti"]
    assert claims["client_id"] == exchanger["ClientId"]
    assert "act" not in claims
    assert claims["exp"] <= subject["exp"]
    assert 0 < resp["ExpiresIn"] <= 3600
    # It is a real access token of the user: the user API accepts it.
    assert public.get_user(AccessToken=resp["IssuedToken"])["Username"] == user

    # A named audience; scopes narrowed to what the subject holds.
    aud = derive(public, exchanger, SubjectToken=tokens["AccessToken"], SubjectTokenType="ACCESS_TOKEN",
                 Audiences=["reports-service"], Scopes=["aws.cognito.signin.user.admin", "api/write"])
    assert aud["Scopes"] == ["aws.cognito.signin.user.admin"]
    assert verify(jwks, discovery, aud["IssuedToken"], audience="reports-service")["aud"] == "reports-service"

    # Signing the user out revokes the family: the derived token and further exchanges die.
    public.global_sign_out(AccessToken=tokens["AccessToken"])
    with aws_error("NotAuthorizedException"):
        public.get_user(AccessToken=resp["IssuedToken"])
    with aws_error("NotAuthorizedException"):
        derive(public, exchanger, SubjectToken=tokens["AccessToken"], SubjectTokenType="ACCESS_TOKEN")


def test_delegation_carries_the_actor(public, exchanger, m2m, user_tokens, jwks, discovery):
    _, tokens = user_tokens
    actor = public.get_client_token(ClientId=m2m["ClientId"], Secret=m2m["ClientSecret"])[
        "ClientAuthenticationResult"]["AccessToken"]
    resp = derive(public, exchanger, SubjectToken=tokens["AccessToken"], SubjectTokenType="ACCESS_TOKEN",
                  ActorToken=actor, ActorTokenType="ACCESS_TOKEN", Audiences=["downstream"])
    claims = verify(jwks, discovery, resp["IssuedToken"], audience="downstream")
    assert claims["act"] == {"sub": m2m["ClientId"], "client_id": m2m["ClientId"]}


def test_derived_id_token(public, exchanger, user_tokens, jwks, discovery):
    user, tokens = user_tokens
    resp = derive(public, exchanger, SubjectToken=tokens["IdToken"], SubjectTokenType="ID_TOKEN",
                  RequestedTokenType="ID_TOKEN", Audiences=["partner"])
    assert resp["IssuedTokenType"] == "ID_TOKEN" and resp["TokenType"] == "N_A"
    claims = verify(jwks, discovery, resp["IssuedToken"], audience="partner")
    assert claims["aud"] == [exchanger["ClientId"], "partner"]
    assert claims["token_use"] == "id" and claims["cognito:username"] == user


def test_derived_token_errors(idp, public, pool, exchanger, user_tokens):
    _, tokens = user_tokens
    subject = {"SubjectToken": tokens["AccessToken"], "SubjectTokenType": "ACCESS_TOKEN"}
    with aws_error("InvalidParameterException", "You can't request both Audiences and Resources."):
        derive(public, exchanger, Audiences=["a"], Resources=["api"], **subject)
    with aws_error("ResourceNotFoundException"):
        derive(public, exchanger, Resources=["nosuchserver"], **subject)
    with aws_error("InvalidParameterException", contains="SAML2"):
        derive(public, exchanger, SubjectToken="abc", SubjectTokenType="SAML2")
    with aws_error("NotAuthorizedException", "Invalid subject token."):
        derive(public, exchanger, SubjectToken="a.b.c", SubjectTokenType="ACCESS_TOKEN")
    # An ID token presented as an access token doesn't verify as one.
    with aws_error("NotAuthorizedException", "Invalid subject token."):
        derive(public, exchanger, SubjectToken=tokens["IdToken"], SubjectTokenType="ACCESS_TOKEN")
    with aws_error("NotAuthorizedException"):
        public.get_derived_token(ClientId=exchanger["ClientId"], ClientSecret="y" * 40, **subject)
    with aws_error("NotAuthorizedException"):
        public.get_derived_token(ClientId=exchanger["ClientId"], **subject)
    # Impersonation only: delegation (an actor) is refused.
    imp = create_client(idp, pool, secret=True,
                        ExplicitAuthFlows=USER_FLOWS + ["ALLOW_TOKEN_EXCHANGE_IMPERSONATION"])
    with aws_error("InvalidParameterException", "ALLOW_TOKEN_EXCHANGE_DELEGATION flow not enabled for this client"):
        derive(public, imp, ActorToken=tokens["AccessToken"], ActorTokenType="ACCESS_TOKEN", **subject)
    derive(public, imp, **subject)
    plain = create_client(idp, pool, secret=True)
    with aws_error("InvalidParameterException", "ALLOW_TOKEN_EXCHANGE_IMPERSONATION flow not enabled for this client"):
        derive(public, plain, **subject)
    # A token of another pool is not this pool's subject.
    other_pool = create_pool(idp)
    other_client = create_client(idp, other_pool, secret=True,
                                 ExplicitAuthFlows=USER_FLOWS + ["ALLOW_TOKEN_EXCHANGE_IMPERSONATION"])
    with aws_error("NotAuthorizedException", "Invalid subject token."):
        derive(public, other_client, **subject)
