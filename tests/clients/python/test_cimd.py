"""Client ID Metadata Document policies with boto3: Create/Describe/Update/Delete/ListCIMDPolicies,
ListClientMetadataURLs and UpdateClientMetadataURLState, with their errors; and a client that
names itself by an https URL signing a user in through the hosted UI's code flow with PKCE.

The metadata documents are served over HTTPS from 127.0.0.1 by a small server here (a test CA
and a leaf certificate for 127.0.0.1; Tessera trusts the CA through SSL_CERT_FILE, and reaches
loopback because of --allow-private-oidc, the operator switch for outbound fetches)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hosted_ui import CALLBACK, Browser, callback_params, domain_base, oauth_pool, pkce
from support import aws_error, create_client, create_pool, password, unique
from tessera_server import TesseraServer


def _cert(subject, issuer_name, key, issuer_key, ca: bool):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return b.sign(issuer_key, hashes.SHA256())


def write_ca_and_leaf(d):
    """A CA (trusted by Tessera) and a leaf for 127.0.0.1 it signed (served by the host)."""
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cimd test CA")])
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, leaf_key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (d / "leaf.key").write_bytes(leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(d / "ca.pem"), str(d / "leaf.pem"), str(d / "leaf.key")


class MetadataHost:
    """Serves `documents[path]` as JSON over HTTPS and counts the fetches per path."""

    def __init__(self, cert: str, key: str):
        self.documents: dict[str, dict] = {}
        self.hits: dict[str, int] = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                host.hits[self.path] = host.hits.get(self.path, 0) + 1
                doc = host.documents.get(self.path)
                if doc is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("cache-control", "public, max-age=172800")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, path: str, **fields) -> str:
        url = self.url(path)
        self.documents[path] = {"client_id": url, "client_name": "Example app",
                                "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none",
                                **fields}
        return url


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return write_ca_and_leaf(tmp_path_factory.mktemp("cimd-tls"))


@pytest.fixture(scope="module")
def host(tls_files):
    _, cert, key = tls_files
    h = MetadataHost(cert, key)
    yield h
    h.httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tls_files):
    ca, _, _ = tls_files
    s = TesseraServer(
        tmp_path_factory.mktemp("tessera") / "data",
        extra_args=["--allow-private-oidc"],
        extra_env={"SSL_CERT_FILE": ca},
    ).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def setup(idp):
    return oauth_pool(idp)


def create_policy(idp, pool_id, client_id, patterns, **kw):
    return idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName=unique("p"),
                                  URLPatterns=patterns, **kw)["CIMDPolicy"]


def test_policies_round_trip(idp, setup, host):
    pool_id, _, client = setup
    policy = create_policy(idp, pool_id, client["ClientId"], [host.url("/apps/*.json")])
    assert policy["CacheDuration"] == 86400
    assert policy["ClientId"] == client["ClientId"] and policy["UserPoolId"] == pool_id
    assert policy["URLPatterns"] == [host.url("/apps/*.json")]
    pid = policy["CIMDPolicyId"]
    assert pid.isalnum() and pid == pid.lower()
    assert idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)["CIMDPolicy"] == policy

    other_client = create_client(idp, pool_id)["ClientId"]
    updated = idp.update_cimd_policy(
        UserPoolId=pool_id, CIMDPolicyId=pid, ClientId=other_client, PolicyName="renamed",
        CacheDuration=172800, URLPatterns=[host.url("/apps/*"), "https://*.clients.example/c.json"],
    )["CIMDPolicy"]
    assert (updated["ClientId"], updated["PolicyName"], updated["CacheDuration"]) == (other_client, "renamed", 172800)
    assert updated["CreationDate"] == policy["CreationDate"]

    listed = idp.list_cimd_policies(UserPoolId=pool_id)["CIMDPolicies"]
    assert [p["CIMDPolicyId"] for p in listed] == [pid]
    assert "URLPatterns" not in listed[0]

    # The policy outlives its app client, which Describe then omits (as Cognito does).
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=other_client)
    assert "ClientId" not in idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)["CIMDPolicy"]

    idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)
    with aws_error("ResourceNotFoundException"):
        idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)
    with aws_error("ResourceNotFoundException"):
        idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)


def test_policy_errors(idp, setup):
    pool_id, _, client = setup
    with aws_error("ResourceNotFoundException"):
        create_policy(idp, pool_id, "nosuchclient", ["https://c.example/m.json"])
    with aws_error("ResourceNotFoundException"):
        create_policy(idp, "us-east-1_nopool", client["ClientId"], ["https://c.example/m.json"])
    # No path, a query: refused by the draft's rules; http by the model's pattern.
    for bad in ["https://c.example", "https://c.example/m?x=1", "http://c.example/m.json"]:
        with aws_error("InvalidParameterException"):
            create_policy(idp, pool_id, client["ClientId"], [bad])
    with aws_error("ResourceNotFoundException"):
        idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId="nosuchpolicy")
    with aws_error("InvalidParameterException"):
        idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId="Not-Lower")


def test_a_metadata_url_client_signs_in_with_the_code_flow(server, idp, setup, host):
    pool_id, domain, client = setup
    url = host.publish("/apps/app.json", scope="openid email")
    unlisted = host.publish("/elsewhere/app.json")
    policy = create_policy(idp, pool_id, client["ClientId"], [host.url("/apps/*.json")])
    pid = policy["CIMDPolicyId"]
    username, pw = unique("cimd"), password()
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=pw, Permanent=True)

    base = domain_base(server, domain)
    verifier, challenge = pkce()
    query = {"client_id": url, "response_type": "code", "redirect_uri": CALLBACK, "state": "s1",
             "scope": "openid email", "code_challenge": challenge, "code_challenge_method": "S256"}
    b = Browser()
    page = b.get(f"{base}/oauth2/authorize?{requests.compat.urlencode(query)}")
    assert page.status_code == 200 and "/login?" in page.url, page.text[:300]
    assert host.hits["/apps/app.json"] == 1
    params = callback_params(b.submit({"username": username, "password": pw}))
    assert params["state"] == "s1"

    # The document was cached once, with the answer's max-age (two days).
    cached = idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=pid)["ClientMetadataURLs"]
    assert [c["URL"] for c in cached] == [url]
    assert (cached[0]["ExpirationDate"] - cached[0]["CachedDate"]).total_seconds() == 172800
    assert host.hits["/apps/app.json"] == 1

    # A public client: the URL and the PKCE verifier redeem the code; nothing else does.
    token_url = f"{base}/oauth2/token"
    grant = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK,
             "code_verifier": verifier}
    assert requests.post(token_url, data={**grant, "client_id": client["ClientId"]}, timeout=15).json() == {
        "error": "invalid_grant"}
    resp = requests.post(token_url, data={**grant, "client_id": url}, timeout=15)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # The document doesn't list the refresh_token grant: no refresh token.
    assert "refresh_token" not in body
    issuer = server.issuer(pool_id)
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    id_token = body["id_token"]
    claims = jwt.decode(id_token, jwks.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                        issuer=issuer, audience=client["ClientId"])
    assert claims["cognito:username"] == username
    # The same code is spent.
    assert requests.post(token_url, data={**grant, "client_id": url}, timeout=15).status_code == 400

    # A URL no policy admits, and a document naming another URL, are no clients.
    for bad in [unlisted, host.publish("/apps/liar.json", client_id="https://evil.example/x.json")]:
        r = Browser().get(f"{base}/oauth2/authorize?{requests.compat.urlencode({**query, 'client_id': bad})}")
        assert r.status_code == 400, (bad, r.status_code)
    # A redirect URI the document doesn't list is refused.
    r = Browser().get(f"{base}/oauth2/authorize?{requests.compat.urlencode({**query, 'redirect_uri': 'https://evil.example/cb'})}")
    assert r.status_code == 400

    # The cache: REFRESH fetches again, INVALIDATE drops it, then the URL isn't cached.
    idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=pid, URL=url, Action="REFRESH")
    assert host.hits["/apps/app.json"] == 2
    idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=pid, URL=url, Action="INVALIDATE")
    assert idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=pid)["ClientMetadataURLs"] == []
    with aws_error("CachedCIMDURLDoesNotExistException"):
        idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=pid, URL=url, Action="REFRESH")
    # The next authorize fetches it anew.
    Browser().get(f"{base}/oauth2/authorize?{requests.compat.urlencode(query)}")
    assert host.hits["/apps/app.json"] == 3
    idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=pid)


def test_client_credentials_and_secrets_are_refused_for_metadata_url_clients(server, idp, setup, host):
    pool_id, domain, client = setup
    url = host.publish("/m2m/app.json")
    policy = create_policy(idp, pool_id, client["ClientId"], [host.url("/m2m/*")])
    token_url = f"{domain_base(server, domain)}/oauth2/token"
    r = requests.post(token_url, data={"grant_type": "client_credentials", "client_id": url}, timeout=15)
    assert r.json() == {"error": "unauthorized_client"}
    r = requests.post(token_url, data={"grant_type": "authorization_code", "client_id": url,
                                       "client_secret": "s" * 30, "code": "x", "redirect_uri": CALLBACK},
                      timeout=15)
    assert r.json() == {"error": "invalid_client"}
    idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy["CIMDPolicyId"])


def test_a_document_listing_refresh_token_gets_and_uses_one(server, idp, setup, host):
    pool_id, domain, client = setup
    url = host.publish("/refresh/app.json", grant_types=["authorization_code", "refresh_token"])
    policy = create_policy(idp, pool_id, client["ClientId"], [host.url("/refresh/*")])
    username, pw = unique("cimd"), password()
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=pw, Permanent=True)
    base = domain_base(server, domain)
    verifier, challenge = pkce()
    query = {"client_id": url, "response_type": "code", "redirect_uri": CALLBACK,
             "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"}
    b = Browser()
    b.get(f"{base}/oauth2/authorize?{requests.compat.urlencode(query)}")
    params = callback_params(b.submit({"username": username, "password": pw}))
    body = requests.post(f"{base}/oauth2/token", timeout=15, data={
        "grant_type": "authorization_code", "client_id": url, "code": params["code"],
        "redirect_uri": CALLBACK, "code_verifier": verifier}).json()
    refreshed = requests.post(f"{base}/oauth2/token", timeout=15, data={
        "grant_type": "refresh_token", "client_id": url, "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert "access_token" in refreshed.json()
    idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy["CIMDPolicyId"])
