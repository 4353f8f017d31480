"""Built-in TLS: `tessera serve --tls-cert --tls-key` (or TESSERA_TLS_CERT / TESSERA_TLS_KEY)
serves HTTPS with a self-signed certificate made here for 127.0.0.1; boto3 verifies it against
that certificate, tokens are issued by an https issuer, and their JWKS is fetched over TLS."""

from __future__ import annotations

import datetime
import signal
import time
import ipaddress
import json
import ssl
import urllib.request

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import confirmed_user, create_client, create_pool, password_auth
from tessera_server import REGION, TesseraServer


def write_self_signed(d, common_name: str = "tessera test") -> tuple[str, str]:
    """Writes a self-signed certificate for IP 127.0.0.1 and its key as PEM files in `d`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory):
    return write_self_signed(tmp_path_factory.mktemp("tls"))


def test_https_with_boto3_and_an_https_issuer(spawn, cert_files):
    cert, key = cert_files
    server = spawn(extra_args=["--tls-cert", cert, "--tls-key", key])
    assert server.endpoint.startswith("https://127.0.0.1:")
    # The banner's first line says https.
    assert server.stdout_lines[0].strip().endswith(f"listening on {server.endpoint}")
    idp = server.client(verify=cert)

    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    username, pw = confirmed_user(idp, pool_id, client)
    tokens = password_auth(idp, client, username, pw)

    issuer = f"{server.endpoint}/{pool_id}"
    assert issuer.startswith("https://")
    # The discovery document and JWKS are served over the same TLS listener, and the token
    # verifies against them.
    context = ssl.create_default_context(cafile=cert)
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", context=context) as r:
        discovery = json.load(r)
    assert discovery["issuer"] == issuer
    assert discovery["jwks_uri"].startswith("https://")
    with urllib.request.urlopen(discovery["jwks_uri"], context=context) as r:
        jwks = jwt.PyJWKSet.from_dict(json.load(r))
    header = jwt.get_unverified_header(tokens["IdToken"])
    claims = jwt.decode(
        tokens["IdToken"],
        key=jwks[header["kid"]].key,
        algorithms=["RS256"],
        audience=client["ClientId"],
        issuer=issuer,
    )
    assert claims["cognito:username"] == username


def test_the_certificate_is_really_checked(spawn, cert_files):
    cert, key = cert_files
    server = spawn(extra_args=["--tls-cert", cert, "--tls-key", key])
    # Without trusting our certificate, the handshake fails: this is TLS, not plain HTTP.
    untrusting = server.client(verify=True)
    with pytest.raises(SSLError):
        untrusting.list_user_pools(MaxResults=1)
    # Plain HTTP to the TLS port gets no Cognito answer.
    plain = boto3.session.Session().client(
        "cognito-idp",
        endpoint_url=server.endpoint.replace("https://", "http://"),
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=5),
    )
    with pytest.raises(Exception):
        plain.list_user_pools(MaxResults=1)


def test_tls_from_the_environment(spawn, cert_files):
    cert, key = cert_files
    server = spawn(extra_env={"TESSERA_TLS_CERT": cert, "TESSERA_TLS_KEY": key})
    assert server.endpoint.startswith("https://")
    idp = server.client(verify=cert)
    assert idp.list_user_pools(MaxResults=1)["UserPools"] == []


def test_cert_without_key_is_refused(tmp_path, cert_files):
    cert, _ = cert_files
    server = TesseraServer(tmp_path / "data", extra_args=["--tls-cert", cert])
    with pytest.raises(RuntimeError):
        server.start(timeout=20)
    assert "--tls-key" in server.stderr_tail(n=10_000)


def test_a_key_that_does_not_match_is_refused(tmp_path, cert_files):
    cert, _ = cert_files
    other = tmp_path / "other.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = TesseraServer(tmp_path / "data", extra_args=["--tls-cert", cert, "--tls-key", str(other)])
    with pytest.raises(RuntimeError):
        server.start(timeout=20)
    assert "does not match" in server.stderr_tail(n=10_000)


def served_common_name(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_sighup_reloads_a_renewed_certificate(spawn, tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    cert, key = write_self_signed(d, "first")
    server = spawn(extra_args=["--tls-cert", cert, "--tls-key", key])
    assert served_common_name(server.port) == "first"

    write_self_signed(d, "renewed")  # same paths, as certbot and friends do
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while served_common_name(server.port) != "renewed":
        assert time.monotonic() < deadline, "certificate not reloaded"
        time.sleep(0.1)
    assert server.client(verify=cert).list_user_pools(MaxResults=1)["UserPools"] == []

    # A broken pair is refused and the running certificate kept.
    (d / "key.pem").write_text("not a key")
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert server.proc.poll() is None
    assert served_common_name(server.port) == "renewed"
