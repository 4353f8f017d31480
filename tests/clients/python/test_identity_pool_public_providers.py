"""Identity-pool logins from the public providers (Google, Sign in with Apple, Facebook, Login
with Amazon) through boto3's cognito-identity client.

The providers live on 127.0.0.1, reached through the deployment's `[federation.<Type>]`
endpoint overrides (as an air-gapped deployment or a mirror would): a key set and ID tokens
signed with the provider's own key for Google (RS256) and Apple (ES256), the Graph API's `/app`
and `/me` for Facebook, and Amazon's token info. Tessera must verify each token for real: the
signature against the provider's key set, the issuer, the pool's app id, expiry; and for the
opaque Facebook and Amazon tokens, what the provider says about them.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from support import aws_error, unique
from tessera_server import REGION, TesseraServer

ACCOUNT = "000000000000"
AUTH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Public_Auth"
GUEST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Public_Guest"
GOOGLE_CLIENT = "1234-web.apps.googleusercontent.example"
APPLE_SERVICE = "com.example.app.signin"
FB_APP = "1900000000000001"
AMAZON_APP = "amzn1.application.0123456789abcdef"
AMAZON_CLIENT = "amzn1.application-oa2-client.fedcba9876543210"


class Providers:
    """The four providers' endpoints: keys, and the verdicts Facebook and Amazon give on
    their opaque access tokens (token -> app and user)."""

    def __init__(self):
        self.google_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.apple_key = ec.generate_private_key(ec.SECP256R1())
        self.facebook: dict[str, tuple[str, str]] = {}
        self.amazon: dict[str, tuple[str, str, str]] = {}
        self.calls: list[str] = []
        providers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                providers.calls.append(url.path)
                bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                if url.path == "/google/jwks":
                    return self.answer(200, {"keys": [providers.jwk(providers.google_key, "g1", "RS256")]})
                if url.path == "/apple/auth/keys":
                    return self.answer(200, {"keys": [providers.jwk(providers.apple_key, "a1", "ES256")]})
                if url.path in ("/graph/v17.0/app", "/graph/v17.0/me"):
                    if bearer not in providers.facebook:
                        return self.answer(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
                    app, user = providers.facebook[bearer]
                    if url.path.endswith("/app"):
                        return self.answer(200, {"id": app, "name": "Example"})
                    return self.answer(200, {"id": user, "name": "Fay Book"})
                if url.path == "/amazon/auth/o2/tokeninfo":
                    token = parse_qs(url.query).get("access_token", [""])[0]
                    if token not in providers.amazon:
                        return self.answer(400, {"error": "invalid_token", "error_description": "The request has an invalid parameter : access_token"})
                    app, client, user = providers.amazon[token]
                    return self.answer(200, {"iss": "https://www.amazon.com", "user_id": user, "aud": client, "app_id": app, "exp": 3597, "iat": int(time.time())})
                self.answer(404, {"error": "not found"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def jwk(key, kid: str, alg: str) -> dict:
        algo = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algo.to_jwk(key.public_key()))
        jwk.update(kid=kid, alg=alg, use="sig")
        return jwk

    def google_token(self, sub: str, *, aud: str = GOOGLE_CLIENT, exp_in: int = 3600, key=None, iss: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": iss or f"{self.base}/google", "aud": aud, "sub": sub, "email": f"{sub}@gmail.example",
                  "email_verified": True, "iat": now, "exp": now + exp_in}
        return jwt.encode(claims, key or self.google_key, algorithm="RS256", headers={"kid": "g1"})

    def apple_token(self, sub: str, *, aud: str = APPLE_SERVICE) -> str:
        now = int(time.time())
        claims = {"iss": f"{self.base}/apple", "aud": aud, "sub": sub, "iat": now, "exp": now + 600}
        return jwt.encode(claims, self.apple_key, algorithm="ES256", headers={"kid": "a1"})

    def config(self) -> str:
        return "\n".join([
            "[federation.Google]",
            f'issuer = "{self.base}/google"',
            f'jwks_uri = "{self.base}/google/jwks"',
            "[federation.SignInWithApple]",
            f'issuer = "{self.base}/apple"',
            f'jwks_uri = "{self.base}/apple/auth/keys"',
            "[federation.Facebook]",
            f'userinfo_url = "{self.base}/graph/v17.0/me?fields="',
            "[federation.LoginWithAmazon]",
            f'token_url = "{self.base}/amazon/auth/o2/token"',
            "",
        ])


@pytest.fixture(scope="module")
def providers():
    p = Providers()
    yield p
    p.httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, providers):
    base = tmp_path_factory.mktemp("tessera-public")
    config = base / "tessera.toml"
    config.write_text(providers.config())
    s = TesseraServer(base / "data", extra_args=["--allow-private-oidc", "--config", str(config)]).start()
    yield s
    s.stop()


def trust(amr: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})


@pytest.fixture(scope="module")
def ci(server):
    iam = server.client("iam")
    iam.create_role(RoleName="Public_Auth", AssumeRolePolicyDocument=trust("authenticated"))
    iam.create_role(RoleName="Public_Guest", AssumeRolePolicyDocument=trust("unauthenticated"))
    return server.client("cognito-identity")


@pytest.fixture(scope="module")
def public_ci(server):
    return server.client("cognito-identity", unsigned=True)


@pytest.fixture(scope="module")
def pool(ci):
    ip = ci.create_identity_pool(
        IdentityPoolName=unique("public").replace("-", "_"),
        AllowUnauthenticatedIdentities=True,
        SupportedLoginProviders={
            "accounts.google.com": f"other-client.apps.example;{GOOGLE_CLIENT}",
            "appleid.apple.com": APPLE_SERVICE,
            "graph.facebook.com": FB_APP,
            "www.amazon.com": AMAZON_APP,
        },
    )["IdentityPoolId"]
    ci.set_identity_pool_roles(IdentityPoolId=ip, Roles={"authenticated": AUTH_ROLE, "unauthenticated": GUEST_ROLE})
    return ip


def credentials(public_ci, pool: str, logins: dict) -> tuple[str, dict]:
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    creds = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    assert creds["IdentityId"] == identity
    return identity, creds["Credentials"]


def caller(server, creds: dict) -> dict:
    sts = boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"])
    return sts.get_caller_identity()


def test_google_id_token_gets_credentials_and_the_same_identity_each_time(server, public_ci, ci, pool, providers):
    token = providers.google_token("108000000000000000001")
    identity, creds = credentials(public_ci, pool, {"accounts.google.com": token})
    assert creds["AccessKeyId"].startswith("ASIA")
    # The credentials work: STS knows them as the pool's authenticated role.
    assert caller(server, creds)["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/Public_Auth/")
    # A fresh token of the same Google user finds the same identity.
    again, _ = credentials(public_ci, pool, {"accounts.google.com": providers.google_token("108000000000000000001")})
    assert again == identity
    described = ci.describe_identity(IdentityId=identity)
    assert described["Logins"] == ["accounts.google.com"]


def test_apple_es256_id_token(public_ci, pool, providers):
    identity, creds = credentials(public_ci, pool, {"appleid.apple.com": providers.apple_token("001234.abcdef.0001")})
    assert identity.startswith("us-east-1:") and creds["SecretKey"]


def test_google_refusals(public_ci, pool, providers):
    key = "accounts.google.com"
    with aws_error("NotAuthorizedException", "Token is not from a supported provider of this identity pool."):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: providers.google_token("1", aud="someone-else")})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with aws_error("NotAuthorizedException", "Invalid login token. Couldn't verify signed token."):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: providers.google_token("1", key=stranger)})
    with aws_error("NotAuthorizedException", contains="Invalid login token. Token expired: "):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: providers.google_token("1", exp_in=-3600)})
    with aws_error("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName"):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: providers.google_token("1", iss="https://evil.example")})
    with aws_error("NotAuthorizedException", "Invalid login token. Not a valid OpenId Connect identity token."):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: "EAAB-an-opaque-facebook-style-token"})
    # An Apple token under Google's key: its issuer isn't Google's.
    with aws_error("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName"):
        public_ci.get_id(IdentityPoolId=pool, Logins={key: providers.apple_token("1")})


def test_facebook_access_token_is_checked_with_the_graph_api(server, public_ci, ci, pool, providers):
    providers.facebook["EAAGood"] = (FB_APP, "10150000000000001")
    providers.facebook["EAAOtherApp"] = ("1900000000000999", "10150000000000002")
    identity, creds = credentials(public_ci, pool, {"graph.facebook.com": "EAAGood"})
    assert caller(server, creds)["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/Public_Auth/")
    assert "/graph/v17.0/app" in providers.calls and "/graph/v17.0/me" in providers.calls
    with aws_error("NotAuthorizedException", "Token is not from a supported provider of this identity pool."):
        public_ci.get_id(IdentityPoolId=pool, Logins={"graph.facebook.com": "EAAOtherApp"})
    with aws_error("NotAuthorizedException", "Invalid login token. Invalid Facebook token."):
        public_ci.get_id(IdentityPoolId=pool, Logins={"graph.facebook.com": "EAARevoked"})
    # The same Facebook user later: the same identity.
    providers.facebook["EAAGood2"] = (FB_APP, "10150000000000001")
    assert public_ci.get_id(IdentityPoolId=pool, Logins={"graph.facebook.com": "EAAGood2"})["IdentityId"] == identity


def test_amazon_access_token_is_checked_with_token_info(server, public_ci, pool, providers):
    providers.amazon["Atza|good"] = (AMAZON_APP, AMAZON_CLIENT, "amzn1.account.AAAA")
    providers.amazon["Atza|other"] = ("amzn1.application.other", "amzn1.application-oa2-client.other", "amzn1.account.BBBB")
    identity, creds = credentials(public_ci, pool, {"www.amazon.com": "Atza|good"})
    assert caller(server, creds)["Account"] == ACCOUNT
    with aws_error("NotAuthorizedException", "Token is not from a supported provider of this identity pool."):
        public_ci.get_id(IdentityPoolId=pool, Logins={"www.amazon.com": "Atza|other"})
    with aws_error("NotAuthorizedException", "Invalid login token. Invalid Amazon token."):
        public_ci.get_id(IdentityPoolId=pool, Logins={"www.amazon.com": "Atza|unknown"})


def test_a_guest_becomes_authenticated_and_one_login_per_provider(public_ci, ci, pool, providers):
    guest = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    token = providers.google_token("108000000000000000077")
    creds = public_ci.get_credentials_for_identity(IdentityId=guest, Logins={"accounts.google.com": token})
    assert creds["IdentityId"] == guest
    assert ci.describe_identity(IdentityId=guest)["Logins"] == ["accounts.google.com"]
    # Another Google user can't be linked to it too: one login per provider per identity.
    other = providers.google_token("108000000000000000078")
    with aws_error("ResourceConflictException", "A login for this provider is already linked to the identity."):
        public_ci.get_credentials_for_identity(IdentityId=guest, Logins={"accounts.google.com": other})


def test_a_provider_the_pool_does_not_list_is_refused(ci, public_ci, providers):
    ip = ci.create_identity_pool(
        IdentityPoolName=unique("googleonly").replace("-", "_"),
        AllowUnauthenticatedIdentities=False,
        SupportedLoginProviders={"accounts.google.com": GOOGLE_CLIENT},
    )["IdentityPoolId"]
    providers.facebook["EAAElsewhere"] = (FB_APP, "10150000000000003")
    with aws_error("NotAuthorizedException"):
        public_ci.get_id(IdentityPoolId=ip, Logins={"graph.facebook.com": "EAAElsewhere"})


def test_an_unreachable_provider_is_an_external_service_error(tmp_path, providers):
    config = tmp_path / "tessera.toml"
    config.write_text("[federation.Facebook]\nuserinfo_url = \"http://127.0.0.1:9/graph/me\"\n")
    s = TesseraServer(tmp_path / "data", extra_args=["--allow-private-oidc", "--config", str(config)]).start()
    try:
        ci = s.client("cognito-identity")
        ip = ci.create_identity_pool(IdentityPoolName="down", AllowUnauthenticatedIdentities=False,
                                     SupportedLoginProviders={"graph.facebook.com": FB_APP})["IdentityPoolId"]
        with aws_error("ExternalServiceException", "graph.facebook.com is not responding."):
            s.client("cognito-identity", unsigned=True).get_id(IdentityPoolId=ip, Logins={"graph.facebook.com": "EAAx"})
    finally:
        s.stop()
