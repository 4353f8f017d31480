"""The forward-auth endpoint behind a real nginx (Debian's package, `auth_request`), in front of
a tiny upstream that echoes the identity headers nginx passed on: allowed, missing, foreign,
wrong client, wrong scope, ID token for an access-only location, revoked (refused within 5 s),
expired (the server's clock moved with libfaketime); and the ALB-format `x-amzn-oidc-data` JWT
verified with PyJWT against the PEM published at `/forward-auth/keys/{kid}`.

nginx runs unprivileged-style: its own config, pid, logs and temp dirs in a temp directory,
`daemon off`, on a free port.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time

import jwt
import pytest
import requests
from mailroom import FakeClock
from support import confirmed_user, create_client, create_pool, password_auth
from tessera_server import TesseraServer

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Echo(http.server.BaseHTTPRequestHandler):
    """The protected API: answers with the identity headers it was given."""

    def do_GET(self):  # noqa: N802
        body = json.dumps(
            {k.lower(): v for k, v in self.headers.items() if k.lower().startswith(("x-auth", "x-amzn"))}
            | {"path": self.path}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def clock(tmp_path_factory):
    return FakeClock(tmp_path_factory.mktemp("clock"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, clock):
    s = TesseraServer(tmp_path_factory.mktemp("tessera") / "data", extra_env=clock.env).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def setup(server):
    idp = server.client()
    pool = create_pool(idp)
    client = create_client(idp, pool)
    other_client = create_client(idp, pool)
    return idp, pool, client, other_client


@pytest.fixture(scope="module")
def upstream():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, server, setup, upstream):
    if not shutil.which(NGINX) and not shutil.os.path.exists(NGINX):
        pytest.fail("nginx is not installed (tests/clients/run.sh installs Debian's nginx)")
    _, pool, client, _ = setup
    d = tmp_path_factory.mktemp("nginx")
    port = free_port()
    auth = f"http://127.0.0.1:{server.port}/forward-auth/{pool}"
    cid = client["ClientId"]
    locations = {
        # path: the forward-auth query
        "/api/": f"client_id={cid}",
        "/admin/": f"client_id={cid}&scope=aws.cognito.signin.user.admin",
        "/orders/": f"client_id={cid}&scope=orders/read%20aws.cognito.signin.user.admin",
        "/profile/": f"client_id={cid}&token_use=id",
    }
    blocks = []
    for i, (path, query) in enumerate(locations.items()):
        blocks.append(f"""
        location {path} {{
            auth_request /_auth{i};
            auth_request_set $sub $upstream_http_x_auth_sub;
            auth_request_set $user $upstream_http_x_auth_username;
            auth_request_set $scope $upstream_http_x_auth_scope;
            auth_request_set $client $upstream_http_x_auth_client_id;
            auth_request_set $oidc $upstream_http_x_amzn_oidc_data;
            auth_request_set $oidc_identity $upstream_http_x_amzn_oidc_identity;
            proxy_set_header X-Auth-Sub $sub;
            proxy_set_header X-Auth-Username $user;
            proxy_set_header X-Auth-Scope $scope;
            proxy_set_header X-Auth-Client-Id $client;
            proxy_set_header X-Amzn-Oidc-Data $oidc;
            proxy_set_header X-Amzn-Oidc-Identity $oidc_identity;
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location = /_auth{i} {{
            internal;
            proxy_pass {auth}?{query};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}""")
    temp = "\n".join(
        f"    {kind}_temp_path {d}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (d / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
{temp}
    server {{
        listen 127.0.0.1:{port};
        {"".join(blocks)}
    }}
}}
""")
    proc = subprocess.Popen(
        [NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/api/", timeout=2)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {proc.stderr.read().decode()}")
            time.sleep(0.05)
    yield base
    proc.terminate()
    proc.wait(10)


def tokens(setup, client=None):
    idp, pool, default_client, _ = setup
    client = client or default_client
    username, pw = confirmed_user(idp, pool, client)
    return username, password_auth(idp, client, username, pw)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_access_token_reaches_the_api_with_identity_headers(nginx, setup, server):
    username, t = tokens(setup)
    r = requests.get(nginx + "/api/things", headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 200, r.text
    seen = r.json()
    claims = jwt.decode(t["AccessToken"], options={"verify_signature": False})
    assert seen["path"] == "/api/things"
    assert seen["x-auth-sub"] == claims["sub"]
    assert seen["x-auth-username"] == username
    assert seen["x-auth-scope"] == "aws.cognito.signin.user.admin"
    assert seen["x-auth-client-id"] == setup[2]["ClientId"]
    assert seen["x-amzn-oidc-identity"] == claims["sub"]

    # x-amzn-oidc-data: ES256, kid and signer in the header, key as PEM by kid (ALB's format).
    data = seen["x-amzn-oidc-data"]
    header = jwt.get_unverified_header(data)
    assert header["alg"] == "ES256"
    assert header["signer"].startswith("arn:aws:elasticloadbalancing:us-east-1:")
    assert header["client"] == setup[2]["ClientId"]
    assert header["iss"] == server.issuer(setup[1])
    pem = requests.get(f"{server.endpoint}/forward-auth/keys/{header['kid']}", timeout=10)
    assert pem.status_code == 200
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    payload = jwt.decode(data, pem.text, algorithms=["ES256"])
    assert payload["sub"] == claims["sub"]
    assert payload["username"] == username
    assert payload["exp"] == claims["exp"]
    # A tampered payload doesn't verify.
    h, p, s = data.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(payload | {"sub": "someone-else"}).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{h}.{forged}.{s}", pem.text, algorithms=["ES256"])
    assert requests.get(f"{server.endpoint}/forward-auth/keys/not-a-kid", timeout=10).status_code == 404


def test_missing_and_malformed_tokens_are_401(nginx, server, setup):
    r = requests.get(nginx + "/api/x", timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = requests.get(nginx + "/api/x", headers=bearer("not.a.jwt"), timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    # Directly: the endpoint itself.
    direct = requests.get(f"{server.endpoint}/forward-auth/{setup[1]}", timeout=10)
    assert direct.status_code == 401 and direct.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_of_another_client_or_pool_is_invalid(nginx, setup, server):
    _, t = tokens(setup, client=setup[3])
    r = requests.get(nginx + "/api/x", headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    # Another pool's token, asked about this pool.
    idp = setup[0]
    pool2 = create_pool(idp)
    client2 = create_client(idp, pool2)
    username, pw = confirmed_user(idp, pool2, client2)
    foreign = password_auth(idp, client2, username, pw)["AccessToken"]
    r = requests.get(nginx + "/api/x", headers=bearer(foreign), timeout=10)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_required_scopes_all_present_or_403(nginx, setup):
    _, t = tokens(setup)
    assert requests.get(nginx + "/admin/x", headers=bearer(t["AccessToken"]), timeout=10).status_code == 200
    r = requests.get(nginx + "/orders/x", headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 403


def test_insufficient_scope_challenge_from_the_endpoint(server, setup):
    _, t = tokens(setup)
    r = requests.get(
        f"{server.endpoint}/forward-auth/{setup[1]}",
        params={"scope": "orders/read"},
        headers=bearer(t["AccessToken"]),
        timeout=10,
    )
    assert r.status_code == 403
    assert r.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


def test_token_use_is_enforced(nginx, setup):
    _, t = tokens(setup)
    # An ID token where access tokens are expected, and the other way round.
    r = requests.get(nginx + "/api/x", headers=bearer(t["IdToken"]), timeout=10)
    assert r.status_code == 401
    r = requests.get(nginx + "/profile/x", headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 401
    r = requests.get(nginx + "/profile/x", headers=bearer(t["IdToken"]), timeout=10)
    assert r.status_code == 200
    assert r.json()["x-auth-username"]


def test_a_revoked_token_is_refused_within_5_seconds(nginx, setup):
    idp = setup[0]
    _, t = tokens(setup)
    assert requests.get(nginx + "/api/x", headers=bearer(t["AccessToken"]), timeout=10).status_code == 200
    idp.global_sign_out(AccessToken=t["AccessToken"])
    start = time.monotonic()
    while True:
        r = requests.get(nginx + "/api/x", headers=bearer(t["AccessToken"]), timeout=10)
        if r.status_code == 401:
            break
        assert time.monotonic() - start < 5, "revoked token still accepted after 5 s"
        time.sleep(0.2)
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_an_expired_token_is_invalid(nginx, setup, server, clock):
    _, t = tokens(setup)
    assert requests.get(nginx + "/api/x", headers=bearer(t["AccessToken"]), timeout=10).status_code == 200
    if not clock.works_on(server.endpoint):
        pytest.skip("libfaketime does not load here")
    clock.advance(3601)
    try:
        r = requests.get(nginx + "/api/x", headers=bearer(t["AccessToken"]), timeout=10)
        assert r.status_code == 401
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        assert "expired" in r.headers["WWW-Authenticate"]
    finally:
        clock.set(0)


def test_envoy_style_path_suffix_and_any_method(server, setup):
    """Envoy's ext_authz appends the original path to the prefix and keeps the method."""
    _, t = tokens(setup)
    base = f"{server.endpoint}/forward-auth/{setup[1]}"
    r = requests.post(f"{base}/orders/42?x=1", headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 200
    assert r.headers["X-Auth-Client-Id"] == setup[2]["ClientId"]
    assert r.headers["x-amzn-oidc-accesstoken"] == t["AccessToken"]
    r = requests.delete(f"{base}/orders/42", timeout=10)
    assert r.status_code == 401
    r = requests.get(base, params={"token_use": "refresh"}, headers=bearer(t["AccessToken"]), timeout=10)
    assert r.status_code == 400
