"""Helpers for the hosted-UI suites: a browser-like HTTP client (requests with a cookie jar and a
stdlib HTML form parser — the pages work without JavaScript), PKCE, and a pool set up the way a
web app's is (domain, resource server, OAuth app client)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from support import create_client, create_pool, unique

CALLBACK = "https://app.example.com/callback"
LOGOUT = "https://app.example.com/signed-out"


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.text: list[str] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            if a.get("type") == "radio" and "checked" not in a:
                return
            self._current["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Browser:
    """Follows the hosted UI's redirects itself, stopping at the app's callback (never fetched)."""

    def __init__(self):
        self.http = requests.Session()
        self.page: requests.Response | None = None

    def get(self, url: str) -> requests.Response:
        return self._follow(self.http.get(url, allow_redirects=False, timeout=15))

    def _follow(self, r: requests.Response) -> requests.Response:
        while r.status_code in (301, 302, 303) and not r.headers["Location"].startswith(CALLBACK) \
                and not r.headers["Location"].startswith(LOGOUT):
            r = self.http.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=15)
        self.page = r
        return r

    def forms(self, r: requests.Response | None = None) -> list[dict]:
        p = _Forms()
        p.feed((r or self.page).text)
        return p.forms

    def text(self, r: requests.Response | None = None) -> str:
        p = _Forms()
        p.feed((r or self.page).text)
        return " ".join(p.text)

    def submit(self, values: dict, index: int = 0, drop_csrf: bool = False) -> requests.Response:
        form = self.forms()[index]
        fields = dict(form["fields"])
        fields.update(values)
        if drop_csrf:
            fields.pop("_csrf", None)
        url = urljoin(self.page.url, form["action"])
        return self._follow(self.http.post(url, data=fields, allow_redirects=False, timeout=15))


def callback_params(r: requests.Response) -> dict:
    """The query (or, for the implicit grant, the fragment) the app's callback received."""
    assert r.status_code == 302, (r.status_code, r.text[:500])
    location = r.headers["Location"]
    assert location.startswith(CALLBACK), location
    parts = urlsplit(location)
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def oauth_pool(idp, *, mfa: str | None = None, **pool_args):
    """A pool with a prefix domain, a resource server and a public code+implicit client; returns
    (pool_id, domain, client)."""
    pool_id = create_pool(idp, **pool_args)
    domain = unique("auth").lower()
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=domain)
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="https://api.example.com",
        Name="api",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "read things"}],
    )
    client = create_client(
        idp,
        pool_id,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthScopes=["openid", "email", "profile", "aws.cognito.signin.user.admin",
                            "https://api.example.com/read"],
        CallbackURLs=[CALLBACK],
        LogoutURLs=[LOGOUT],
        SupportedIdentityProviders=["COGNITO"],
    )
    return pool_id, domain, client


def domain_base(server, domain: str) -> str:
    return f"{server.endpoint}/domain/{domain}"
