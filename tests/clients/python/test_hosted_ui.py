"""The hosted UI and the OAuth 2.0 / OIDC endpoints of a user-pool domain, driven the way a
browser and a relying party drive them: plain HTTP with a cookie jar and form posts (the pages
need no JavaScript), PyJWT against the pool's JWKS for the tokens, pyotp as the authenticator.
The browser suite (Node, Chromium) covers the same ground through a real browser."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from urllib.parse import urlencode

import jwt
import pytest
import requests
from hosted_ui import CALLBACK, LOGOUT, Browser, callback_params, domain_base, oauth_pool, pkce
from mailroom import code_in
from mfa_support import Authenticator, mfa_pool
from support import aws_error, create_client, password, unique
from tessera_server import TesseraServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tessera-hosted") / "data"
    s = TesseraServer(data_dir, extra_args=["--dev", "--outbox-http"]).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def setup(idp):
    return oauth_pool(idp)


def user_in(idp, pool_id, *, email_verified=True):
    username, pw = unique("ann"), password()
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[
            {"Name": "email", "Value": f"{username}@example.com"},
            {"Name": "email_verified", "Value": "true" if email_verified else "false"},
            {"Name": "name", "Value": "Ann Example"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=pw, Permanent=True)
    return username, pw


def authorize_url(server, domain, client_id, **extra):
    params = {"client_id": client_id, "response_type": "code", "redirect_uri": CALLBACK, "state": "st-1"}
    params.update(extra)
    return f"{domain_base(server, domain)}/oauth2/authorize?{urlencode(params)}"


def sign_in(browser, server, domain, client_id, username, pw, **extra):
    page = browser.get(authorize_url(server, domain, client_id, **extra))
    assert page.status_code == 200, page.text[:300]
    assert "/login?" in page.url
    return browser.submit({"username": username, "password": pw})


def token(server, domain, data, auth=None):
    return requests.post(f"{domain_base(server, domain)}/oauth2/token", data=data, auth=auth, timeout=15)


def verify(server, pool_id, token_str, **kw):
    jwks = jwt.PyJWKClient(f"{server.issuer(pool_id)}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(token_str)
    return jwt.decode(token_str, key.key, algorithms=["RS256"], issuer=server.issuer(pool_id), **kw)


def code_flow(server, idp, setup, *, scope="openid email profile", nonce="n-123"):
    pool_id, domain, client = setup
    username, pw = user_in(idp, pool_id)
    verifier, challenge = pkce()
    b = Browser()
    r = sign_in(b, server, domain, client["ClientId"], username, pw, scope=scope, nonce=nonce,
                code_challenge=challenge, code_challenge_method="S256")
    params = callback_params(r)
    assert params["state"] == "st-1"
    resp = token(server, domain, {
        "grant_type": "authorization_code", "client_id": client["ClientId"], "code": params["code"],
        "redirect_uri": CALLBACK, "code_verifier": verifier,
    })
    return b, username, params, verifier, resp


def test_discovery_names_the_domain_endpoints(server, setup):
    pool_id, domain, _ = setup
    doc = requests.get(f"{server.issuer(pool_id)}/.well-known/openid-configuration", timeout=10).json()
    base = domain_base(server, domain)
    assert doc["authorization_endpoint"] == f"{base}/oauth2/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{base}/oauth2/userInfo"
    assert doc["revocation_endpoint"] == f"{base}/oauth2/revoke"
    assert doc["end_session_endpoint"] == f"{base}/logout"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["issuer"] == server.issuer(pool_id)


def test_code_grant_with_pkce_gives_verified_tokens(server, idp, setup):
    pool_id, domain, client = setup
    _, username, params, _, resp = code_flow(server, idp, setup)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert resp.headers["Cache-Control"] == "no-store"
    id_claims = verify(server, pool_id, body["id_token"], audience=client["ClientId"])
    assert id_claims["nonce"] == "n-123"
    assert id_claims["cognito:username"] == username
    assert id_claims["email_verified"] is True
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    access = verify(server, pool_id, body["access_token"])
    assert access["scope"].split() == ["openid", "email", "profile"]
    assert access["token_use"] == "access" and access["client_id"] == client["ClientId"]
    assert access["origin_jti"] == id_claims["origin_jti"]
    assert abs(access["auth_time"] - time.time()) < 60
    # Without aws.cognito.signin.user.admin the token can't call the user API.
    with aws_error("NotAuthorizedException", "Access Token does not have required scopes"):
        idp.get_user(AccessToken=body["access_token"])


def test_userinfo_answers_as_cognito(server, idp, setup):
    pool_id, domain, _ = setup
    _, username, _, _, resp = code_flow(server, idp, setup, scope="openid email")
    access = resp.json()["access_token"]
    url = f"{domain_base(server, domain)}/oauth2/userInfo"
    info = requests.get(url, headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert info.status_code == 200, info.text
    claims = info.json()
    assert claims["email_verified"] == "true"  # a string, as Cognito sends it
    assert claims["username"] == username and claims["email"] == f"{username}@example.com"
    assert "name" not in claims  # profile not granted
    bad = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 400
    assert 'error="invalid_request"' in missing.headers["WWW-Authenticate"]


def test_codes_are_single_use_and_a_replay_revokes_what_they_issued(server, idp, setup):
    _, domain, client = setup
    _, _, params, verifier, resp = code_flow(server, idp, setup)
    refresh = resp.json()["refresh_token"]
    again = token(server, domain, {
        "grant_type": "authorization_code", "client_id": client["ClientId"], "code": params["code"],
        "redirect_uri": CALLBACK, "code_verifier": verifier,
    })
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    refreshed = token(server, domain, {"grant_type": "refresh_token", "client_id": client["ClientId"],
                                       "refresh_token": refresh})
    assert (refreshed.status_code, refreshed.json()) == (400, {"error": "invalid_grant"})


def test_codes_are_bound_to_verifier_and_redirect_uri(server, idp, setup):
    pool_id, domain, client = setup
    username, pw = user_in(idp, pool_id)
    for change in ({"code_verifier": pkce()[0]}, {"redirect_uri": CALLBACK + "/"}, {"code_verifier": None}):
        verifier, challenge = pkce()
        b = Browser()
        r = sign_in(b, server, domain, client["ClientId"], username, pw,
                    code_challenge=challenge, code_challenge_method="S256")
        data = {"grant_type": "authorization_code", "client_id": client["ClientId"],
                "code": callback_params(r)["code"], "redirect_uri": CALLBACK, "code_verifier": verifier}
        data.update(change)
        data = {k: v for k, v in data.items() if v is not None}
        resp = token(server, domain, data)
        assert (resp.status_code, resp.json()) == (400, {"error": "invalid_grant"}), change


def test_authorize_errors_redirect_only_to_registered_uris(server, setup):
    _, domain, client = setup
    b = Browser()
    r = b.http.get(authorize_url(server, domain, client["ClientId"], redirect_uri="https://evil.example.com/cb"),
                   allow_redirects=False, timeout=10)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("../error?error=redirect_mismatch")
    page = b.get(authorize_url(server, domain, client["ClientId"], redirect_uri="https://evil.example.com/cb"))
    assert page.status_code == 400
    assert "An error was encountered with the requested page." in b.text(page)
    assert "evil.example.com" not in page.headers.get("Location", "")
    plain = b.http.get(authorize_url(server, domain, client["ClientId"], code_challenge="x" * 43,
                                     code_challenge_method="plain"), allow_redirects=False, timeout=10)
    assert plain.headers["Location"].startswith(f"{CALLBACK}?error=invalid_request")
    assert plain.headers["Location"].endswith("&state=st-1")
    scope = b.http.get(authorize_url(server, domain, client["ClientId"], scope="openid phone"),
                       allow_redirects=False, timeout=10)
    assert scope.headers["Location"].startswith(f"{CALLBACK}?error=invalid_scope")
    none = b.http.get(authorize_url(server, domain, client["ClientId"], prompt="none"),
                      allow_redirects=False, timeout=10)
    assert none.headers["Location"] == f"{CALLBACK}?error=login_required&state=st-1"


def test_the_session_cookie_skips_the_form_until_prompt_login_or_logout(server, idp, setup):
    pool_id, domain, client = setup
    username, pw = user_in(idp, pool_id)
    b = Browser()
    first = sign_in(b, server, domain, client["ClientId"], username, pw)
    assert "code" in callback_params(first)
    cookie = [c for c in b.http.cookies if c.name == "tessera-session"][0]
    assert cookie.path == f"/domain/{domain}"
    assert cookie.has_nonstandard_attr("HttpOnly")
    second = b.get(authorize_url(server, domain, client["ClientId"]))
    assert "code" in callback_params(second)
    forced = b.get(authorize_url(server, domain, client["ClientId"], prompt="login"))
    assert forced.status_code == 200 and "/login?" in forced.url
    out = b.get(f"{domain_base(server, domain)}/logout?client_id={client['ClientId']}&logout_uri={LOGOUT}")
    assert out.status_code == 302 and out.headers["Location"] == LOGOUT
    assert "tessera-session=;" in out.headers["Set-Cookie"]
    again = b.get(authorize_url(server, domain, client["ClientId"]))
    assert again.status_code == 200 and "/login?" in again.url
    # A stolen cookie value is dead too, not only cleared from this browser.
    resp = requests.get(authorize_url(server, domain, client["ClientId"]),
                        cookies={"tessera-session": cookie.value}, allow_redirects=False, timeout=10)
    assert resp.headers["Location"].startswith("../login?")


def test_logout_never_redirects_to_an_unregistered_url(server, setup):
    _, domain, client = setup
    b = Browser()
    r = b.get(f"{domain_base(server, domain)}/logout?client_id={client['ClientId']}&logout_uri=https://evil.example.com/")
    assert r.status_code == 400
    assert "Required String parameter 'redirect_uri' is not present" in b.text(r)
    oidc = b.http.get(f"{domain_base(server, domain)}/logout?client_id={client['ClientId']}"
                      f"&post_logout_redirect_uri={LOGOUT}&state=bye", allow_redirects=False, timeout=10)
    assert oidc.headers["Location"] == f"{LOGOUT}?state=bye"


def test_rp_initiated_logout_with_only_an_id_token_hint(server, idp, setup):
    _, domain, _ = setup
    _, _, _, _, resp = code_flow(server, idp, setup)
    hint = resp.json()["id_token"]
    r = requests.get(f"{domain_base(server, domain)}/logout",
                     params={"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT}, allow_redirects=False,
                     timeout=10)
    assert (r.status_code, r.headers["Location"]) == (302, LOGOUT)
    bad = requests.get(f"{domain_base(server, domain)}/logout",
                       params={"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example.com/"},
                       allow_redirects=False, timeout=10)
    assert bad.status_code == 400


def test_implicit_grant_returns_tokens_in_the_fragment(server, idp, setup):
    pool_id, domain, client = setup
    username, pw = user_in(idp, pool_id)
    b = Browser()
    r = sign_in(b, server, domain, client["ClientId"], username, pw, response_type="token", nonce="imp")
    assert "#" in r.headers["Location"]
    params = callback_params(r)
    assert "refresh_token" not in params and params["token_type"] == "Bearer"
    claims = verify(server, pool_id, params["id_token"], audience=client["ClientId"])
    assert claims["nonce"] == "imp"
    verify(server, pool_id, params["access_token"])


def test_refresh_and_revoke_reach_the_access_tokens(server, idp, setup):
    pool_id, domain, client = setup
    _, _, _, _, resp = code_flow(server, idp, setup)
    body = resp.json()
    refreshed = token(server, domain, {"grant_type": "refresh_token", "client_id": client["ClientId"],
                                       "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert "refresh_token" not in new  # no rotation on this client
    assert verify(server, pool_id, new["id_token"], audience=client["ClientId"])["auth_time"] == \
        verify(server, pool_id, body["id_token"], audience=client["ClientId"])["auth_time"]
    revoke = requests.post(f"{domain_base(server, domain)}/oauth2/revoke",
                           data={"token": body["refresh_token"], "client_id": client["ClientId"]}, timeout=10)
    assert (revoke.status_code, revoke.text) == (200, "")
    info = requests.get(f"{domain_base(server, domain)}/oauth2/userInfo",
                        headers={"Authorization": f"Bearer {new['access_token']}"}, timeout=10)
    assert info.status_code == 401
    again = token(server, domain, {"grant_type": "refresh_token", "client_id": client["ClientId"],
                                   "refresh_token": body["refresh_token"]})
    assert again.json() == {"error": "invalid_grant"}
    unsupported = requests.post(f"{domain_base(server, domain)}/oauth2/revoke",
                                data={"token": body["access_token"], "client_id": client["ClientId"]}, timeout=10)
    assert (unsupported.status_code, unsupported.json()) == (400, {"error": "unsupported_token_type"})


def test_client_credentials_and_token_endpoint_errors(server, idp, setup):
    pool_id, domain, public = setup
    m2m = create_client(idp, pool_id, secret=True, AllowedOAuthFlowsUserPoolClient=True,
                        AllowedOAuthFlows=["client_credentials"],
                        AllowedOAuthScopes=["https://api.example.com/read"])
    auth = (m2m["ClientId"], m2m["ClientSecret"])
    ok = token(server, domain, {"grant_type": "client_credentials"}, auth=auth)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    claims = verify(server, pool_id, body["access_token"])
    assert claims["sub"] == m2m["ClientId"] and claims["scope"] == "https://api.example.com/read"
    assert "username" not in claims and "aud" not in claims
    posted = token(server, domain, {"grant_type": "client_credentials", "client_id": m2m["ClientId"],
                                    "client_secret": m2m["ClientSecret"], "scope": "https://api.example.com/read"})
    assert posted.status_code == 200
    cases = [
        ({"grant_type": "client_credentials", "scope": "openid"}, auth, "invalid_scope"),
        ({"grant_type": "client_credentials"}, (m2m["ClientId"], "wrong"), "invalid_client"),
        ({"grant_type": "password"}, auth, "unsupported_grant_type"),
        ({}, auth, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": public["ClientId"]}, None, "unauthorized_client"),
        ({"grant_type": "authorization_code", "client_id": public["ClientId"], "code": "nope",
          "redirect_uri": CALLBACK}, None, "invalid_grant"),
        ({"grant_type": "client_credentials", "client_id": "nope"}, None, "invalid_client"),
    ]
    for data, a, error in cases:
        r = token(server, domain, data, auth=a)
        assert (r.status_code, r.json()) == (400, {"error": error}), (data, r.text)
    as_json = requests.post(f"{domain_base(server, domain)}/oauth2/token", json={"grant_type": "client_credentials"},
                            auth=auth, timeout=10)
    assert as_json.json() == {"error": "invalid_request"}
    assert requests.get(f"{domain_base(server, domain)}/oauth2/token", timeout=10).status_code == 405


def test_client_oauth_settings_follow_cognitos_rules(idp, setup):
    pool_id, _, _ = setup
    with aws_error("InvalidOAuthFlowException",
                   "client_credentials flow can not be selected along with code flow or implicit flow."):
        create_client(idp, pool_id, secret=True, AllowedOAuthFlowsUserPoolClient=True,
                      AllowedOAuthFlows=["code", "client_credentials"], AllowedOAuthScopes=["openid"],
                      CallbackURLs=[CALLBACK])
    with aws_error("InvalidOAuthFlowException",
                   "client_credentials flow can not be selected if client does not have a client secret."):
        create_client(idp, pool_id, AllowedOAuthFlowsUserPoolClient=True,
                      AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["https://api.example.com/read"])


def test_forms_refuse_a_missing_csrf_token(server, idp, setup):
    pool_id, domain, client = setup
    username, pw = user_in(idp, pool_id)
    b = Browser()
    b.get(authorize_url(server, domain, client["ClientId"]))
    r = b.submit({"username": username, "password": pw}, drop_csrf=True)
    assert r.status_code == 403
    assert "csrf" in r.text


def test_pages_carry_security_headers_and_wrong_passwords_are_told_as_cognito_tells(server, idp, setup):
    pool_id, domain, client = setup
    username, _ = user_in(idp, pool_id)
    b = Browser()
    page = b.get(authorize_url(server, domain, client["ClientId"]))
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert re.search(r'name="_csrf"', page.text)
    assert '<label class="label-customizable" for="username">' in page.text
    r = b.submit({"username": username, "password": "Wrong-password-1"})
    assert r.status_code == 400
    assert "Incorrect username or password." in b.text(r)
    unknown = b.submit({"username": unique("nobody"), "password": "Wrong-password-1"})
    # The client keeps Cognito's default PreventUserExistenceErrors (LEGACY): an unknown name is told.
    assert "User does not exist." in b.text(unknown)


def test_new_password_required_is_answered_on_the_page(server, idp, setup):
    pool_id, domain, client = setup
    username, temp = unique("new"), "Temp-pass-1!"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword=temp,
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
                          MessageAction="SUPPRESS")
    b = Browser()
    r = sign_in(b, server, domain, client["ClientId"], username, temp)
    assert r.status_code == 200
    assert b.forms()[0]["fields"]["challenge"] == "NEW_PASSWORD_REQUIRED"
    done = b.submit({"new_password": password()})
    assert "code" in callback_params(done)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_totp_setup_at_first_sign_in_then_totp_mfa(server, idp):
    pool_id = mfa_pool(idp, "ON")
    domain = unique("mfa").lower()
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=domain)
    client = create_client(idp, pool_id, AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
                           AllowedOAuthScopes=["openid"], CallbackURLs=[CALLBACK],
                           SupportedIdentityProviders=["COGNITO"])
    username, pw = user_in(idp, pool_id)
    b = Browser()
    r = sign_in(b, server, domain, client["ClientId"], username, pw)
    fields = b.forms()[0]["fields"]
    assert fields["challenge"] == "MFA_SETUP"
    assert "<svg" in r.text  # the QR code
    secret = re.search(r'<code id="secret" class="secret">([A-Z2-7]+)</code>', r.text).group(1)
    app = Authenticator(secret)
    wrong = b.submit({"code": "000000"})
    assert wrong.status_code == 400 and b.forms()[0]["fields"]["challenge"] == "MFA_SETUP"
    done = b.submit({"code": app.code(), "device_name": "phone"})
    assert "code" in callback_params(done)
    # Next sign-in (new browser): SOFTWARE_TOKEN_MFA.
    b2 = Browser()
    sign_in(b2, server, domain, client["ClientId"], username, pw)
    assert b2.forms()[0]["fields"]["challenge"] == "SOFTWARE_TOKEN_MFA"
    bad = b2.submit({"code": "000000"})
    assert "Invalid code or auth state for the user." in b2.text(bad)
    ok = b2.submit({"code": app.code()})
    assert "code" in callback_params(ok)


def outbox_code(server, to):
    for _ in range(50):
        held = [m for m in requests.get(f"{server.endpoint}/_tessera/outbox", timeout=10).json() if m["to"] == to]
        if held:
            return code_in(held[-1]["body"])
        time.sleep(0.1)
    raise AssertionError(f"no message for {to}")


def test_sign_up_confirm_and_forgot_password_on_the_pages(server, idp, setup):
    pool_id, domain, client = setup
    idp.update_user_pool(UserPoolId=pool_id, AutoVerifiedAttributes=["email"])
    username, email, pw = unique("sue"), f"{unique('sue')}@example.com", password()
    b = Browser()
    b.get(authorize_url(server, domain, client["ClientId"]))
    signup = b.get(f"{domain_base(server, domain)}/signup?" + b.page.url.split("?", 1)[1])
    assert signup.status_code == 200
    names = set(b.forms()[0]["fields"])
    assert {"username", "password", "_csrf"} <= names
    r = b.submit({"username": username, "password": pw, "attr:email": email})
    assert r.status_code == 200, b.text(r)
    assert b.forms()[0]["action"].startswith("confirmUser?")
    wrong = b.submit({"code": "000000"})
    assert wrong.status_code == 400
    r = b.submit({"code": outbox_code(server, email)})
    assert "Your account is confirmed" in b.text(r)
    done = b.submit({"username": username, "password": pw})
    assert "code" in callback_params(done)
    # Forgotten password.
    b2 = Browser()
    b2.get(authorize_url(server, domain, client["ClientId"]))
    b2.get(f"{domain_base(server, domain)}/forgotPassword?" + b2.page.url.split("?", 1)[1])
    seen = {m["id"] for m in requests.get(f"{server.endpoint}/_tessera/outbox", timeout=10).json()}
    r = b2.submit({"username": username})
    assert b2.forms()[0]["action"].startswith("confirmForgotPassword?")
    for _ in range(50):
        new = [m for m in requests.get(f"{server.endpoint}/_tessera/outbox", timeout=10).json()
               if m["to"] == email and m["id"] not in seen]
        if new:
            break
        time.sleep(0.1)
    code = code_in(new[0]["body"])
    new_pw = password()
    r = b2.submit({"code": code, "password": new_pw})
    assert "Your password has been reset" in b2.text(r)
    done = b2.submit({"username": username, "password": new_pw})
    assert "code" in callback_params(done)


def test_pages_speak_german_and_french(server, setup):
    _, domain, client = setup
    b = Browser()
    de = b.get(authorize_url(server, domain, client["ClientId"], lang="de"))
    assert "Anmelden" in b.text(de) and 'lang="de"' in de.text
    fr = Browser()
    fr.http.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    page = fr.get(authorize_url(server, domain, client["ClientId"]))
    assert "Se connecter" in fr.text(page)


def test_domains_answer_on_their_own_hosts(tmp_path_factory, idp):
    """`{prefix}.{domain_base}` and a custom domain reach the same endpoints at Cognito's own
    paths (a TLS proxy in front keeps the Host header); cookies are then scoped to `/`."""
    s = TesseraServer(tmp_path_factory.mktemp("tessera-hosts") / "data",
                      extra_args=["--dev", "--domain-base", "auth.example.test"]).start()
    try:
        admin = s.client()
        pool_id, domain, client = oauth_pool(admin)
        admin.create_user_pool_domain(
            UserPoolId=pool_id, Domain="login.example.test",
            CustomDomainConfig={"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
        )
        username, pw = user_in(admin, pool_id)
        doc = requests.get(f"{s.issuer(pool_id)}/.well-known/openid-configuration", timeout=10).json()
        assert doc["authorization_endpoint"] == "https://login.example.test/oauth2/authorize"
        query = urlencode({"client_id": client["ClientId"], "response_type": "code", "redirect_uri": CALLBACK})
        for host in (f"{domain}.auth.example.test", "login.example.test"):
            b = Browser()
            b.http.headers["Host"] = host
            page = b.get(f"{s.endpoint}/oauth2/authorize?{query}")
            assert page.status_code == 200 and page.url.startswith(f"{s.endpoint}/login?"), page.url
            r = b.submit({"username": username, "password": pw})
            assert "code" in callback_params(r)
            assert "Path=/;" in r.headers["Set-Cookie"]
        unknown = requests.get(f"{s.endpoint}/oauth2/authorize?{query}",
                               headers={"Host": "nobody.auth.example.test"}, allow_redirects=False, timeout=10)
        assert unknown.status_code == 404
    finally:
        s.stop()


def test_confidential_clients_authenticate_at_the_token_endpoint(server, idp, setup):
    """A client with a secret redeems its codes with client_secret_basic or client_secret_post;
    without the secret, or with a wrong one, the answer is invalid_client."""
    pool_id, domain, _ = setup
    web = create_client(idp, pool_id, secret=True, AllowedOAuthFlowsUserPoolClient=True,
                        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email"],
                        CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"])
    username, pw = user_in(idp, pool_id)
    b = Browser()

    def code():
        r = b.get(authorize_url(server, domain, web["ClientId"]))
        if r.status_code == 200:
            r = b.submit({"username": username, "password": pw})
        return callback_params(r)["code"]

    base = {"grant_type": "authorization_code", "redirect_uri": CALLBACK}
    basic = token(server, domain, {**base, "code": code()}, auth=(web["ClientId"], web["ClientSecret"]))
    assert basic.status_code == 200, basic.text
    assert verify(server, pool_id, basic.json()["id_token"], audience=web["ClientId"])["cognito:username"] == username
    posted = token(server, domain, {**base, "code": code(), "client_id": web["ClientId"],
                                    "client_secret": web["ClientSecret"]})
    assert posted.status_code == 200, posted.text
    for data, auth in (({"client_id": web["ClientId"]}, None), ({}, (web["ClientId"], "not-the-secret"))):
        r = token(server, domain, {**base, "code": code(), **data}, auth=auth)
        assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    # Refresh with the secret, as openid-client and Auth.js do.
    refreshed = token(server, domain, {"grant_type": "refresh_token", "refresh_token": basic.json()["refresh_token"]},
                      auth=(web["ClientId"], web["ClientSecret"]))
    assert refreshed.status_code == 200, refreshed.text
