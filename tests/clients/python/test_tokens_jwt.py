"""The tokens, verified as a resource server would with PyJWT: discovery document -> issuer and
jwks_uri -> PyJWKClient -> RS256 signature and claims."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import requests

from support import (
    attrs_of,
    confirmed_user,
    create_client,
    create_pool,
    password_auth,
    unique,
)


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return create_client(idp, pool)


@pytest.fixture(scope="module")
def discovery(server, pool):
    r = requests.get(f"{server.endpoint}/{pool}/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def jwks_client(discovery):
    return jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=True)


@pytest.fixture(scope="module")
def session(idp, pool, client):
    user, pw = confirmed_user(
        idp, pool, client, {"custom:tier": "gold", "custom:level": "12", "name": "Jay Dub"}
    )
    idp.admin_update_user_attributes(
        UserPoolId=pool, Username=user, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    tokens = password_auth(idp, client, user, pw)
    return user, pw, tokens


def verify_id(jwks_client, discovery, token, audience):
    key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


def verify_access(jwks_client, discovery, token):
    key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
    )


def test_discovery_document(server, pool, discovery):
    issuer = f"{server.endpoint}/{pool}"
    assert discovery["issuer"] == issuer
    assert discovery["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert discovery.get("subject_types_supported", ["public"]) == ["public"]


def test_jwks_document(discovery):
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    assert len(jwks["keys"]) >= 2  # one key signs ID tokens, another access tokens
    for k in jwks["keys"]:
        assert k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" and k["e"] == "AQAB"
        assert k["kid"] and k["n"]
        assert "d" not in k and "p" not in k  # public halves only
    assert len({k["kid"] for k in jwks["keys"]}) == len(jwks["keys"])


def test_unknown_pool_has_no_jwks(server):
    r = requests.get(f"{server.endpoint}/us-east-1_NoSuchPool0/.well-known/jwks.json", timeout=10)
    assert r.status_code == 404


def test_id_token(idp, pool, client, discovery, jwks_client, session):
    user, _, tokens = session
    header = jwt.get_unverified_header(tokens["IdToken"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = verify_id(jwks_client, discovery, tokens["IdToken"], client["ClientId"])
    got = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=user)["UserAttributes"])
    assert claims["token_use"] == "id"
    assert claims["aud"] == client["ClientId"]
    assert claims["iss"] == discovery["issuer"]
    assert claims["sub"] == got["sub"]
    assert claims["cognito:username"] == user
    assert claims["email"] == f"{user}@example.com"
    assert claims["email_verified"] is True  # a JSON boolean, not "true"
    assert claims["name"] == "Jay Dub"
    assert claims["custom:tier"] == "gold"
    assert claims["custom:level"] == "12"  # custom attributes are strings, even Number ones
    for name in ("origin_jti", "event_id", "jti"):
        assert len(claims[name]) == 36, name
    for name in ("auth_time", "iat", "exp"):
        assert isinstance(claims[name], int), name
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] <= claims["iat"]


def test_access_token(client, discovery, jwks_client, session):
    user, _, tokens = session
    claims = verify_access(jwks_client, discovery, tokens["AccessToken"])
    id_claims = verify_id(jwks_client, discovery, tokens["IdToken"], client["ClientId"])
    assert claims["token_use"] == "access"
    assert "aud" not in claims
    assert claims["client_id"] == client["ClientId"]
    assert claims["username"] == user
    assert claims["scope"] == "aws.cognito.signin.user.admin"
    assert claims["sub"] == id_claims["sub"]
    assert claims["origin_jti"] == id_claims["origin_jti"]
    assert claims["event_id"] == id_claims["event_id"]
    assert claims["auth_time"] == id_claims["auth_time"]
    assert claims["jti"] != id_claims["jti"]
    assert claims["exp"] - claims["iat"] == 3600
    for name in ("email", "custom:tier", "cognito:username"):
        assert name not in claims


def test_id_and_access_tokens_use_different_keys(session):
    _, _, tokens = session
    assert jwt.get_unverified_header(tokens["IdToken"])["kid"] != jwt.get_unverified_header(tokens["AccessToken"])["kid"]


def test_refreshed_tokens_keep_session_claims(idp, client, discovery, jwks_client, session):
    _, _, tokens = session
    r = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})["AuthenticationResult"]
    old = verify_id(jwks_client, discovery, tokens["IdToken"], client["ClientId"])
    new = verify_id(jwks_client, discovery, r["IdToken"], client["ClientId"])
    assert new["origin_jti"] == old["origin_jti"]
    assert new["auth_time"] == old["auth_time"]
    assert new["jti"] != old["jti"]
    assert new["iat"] >= old["iat"]
    new_access = verify_access(jwks_client, discovery, r["AccessToken"])
    assert new_access["origin_jti"] == old["origin_jti"]


def test_a_new_sign_in_is_a_new_origin(idp, client, discovery, jwks_client, session):
    user, pw, tokens = session
    again = password_auth(idp, client, user, pw)
    a = verify_id(jwks_client, discovery, tokens["IdToken"], client["ClientId"])
    b = verify_id(jwks_client, discovery, again["IdToken"], client["ClientId"])
    assert a["origin_jti"] != b["origin_jti"] and a["event_id"] != b["event_id"]


def test_tampered_token_fails(discovery, jwks_client, session):
    _, _, tokens = session
    head, body, sig = tokens["AccessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["username"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify_access(jwks_client, discovery, f"{head}.{forged}.{sig}")


def test_wrong_audience_fails(discovery, jwks_client, session):
    _, _, tokens = session
    with pytest.raises(jwt.InvalidAudienceError):
        verify_id(jwks_client, discovery, tokens["IdToken"], "some-other-client")


def test_token_validity_settings(idp, pool, discovery, jwks_client):
    short = create_client(
        idp, pool, AccessTokenValidity=5, IdTokenValidity=10,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes"},
    )
    user, pw = confirmed_user(idp, pool, short)
    tokens = password_auth(idp, short, user, pw)
    assert tokens["ExpiresIn"] == 300
    access = verify_access(jwks_client, discovery, tokens["AccessToken"])
    ident = verify_id(jwks_client, discovery, tokens["IdToken"], short["ClientId"])
    assert access["exp"] - access["iat"] == 300
    assert ident["exp"] - ident["iat"] == 600


def test_pools_do_not_share_keys(idp, server, discovery, session):
    other = create_pool(idp, unique("other"))
    other_jwks = requests.get(f"{server.endpoint}/{other}/.well-known/jwks.json", timeout=10).json()
    _, _, tokens = session
    kid = jwt.get_unverified_header(tokens["AccessToken"])["kid"]
    assert kid not in {k["kid"] for k in other_jwks["keys"]}
    other_discovery = requests.get(f"{server.endpoint}/{other}/.well-known/openid-configuration", timeout=10).json()
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(other_discovery["jwks_uri"]).get_signing_key_from_jwt(tokens["AccessToken"])


def test_token_ids_are_v4_uuids(session):
    import uuid

    _, _, tokens = session
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        claims = jwt.decode(token, options={"verify_signature": False})
        for name in ("jti", "origin_jti", "event_id"):
            u = uuid.UUID(claims[name])
            assert (u.version, u.variant) == (4, uuid.RFC_4122), f"{name}={claims[name]}"


def test_access_token_version_claim(discovery, jwks_client, session):
    _, _, tokens = session
    assert verify_access(jwks_client, discovery, tokens["AccessToken"])["version"] == 2
