"""Threat protection with boto3 against the real binary: UserPoolAddOns and the risk
configuration (pool and client, Cognito's errors), compromised passwords refused (ENFORCED) or
recorded (AUDIT) from the embedded list, from a filter built by `tessera breach import` out of
an HIBP-format file, and from a local k-anonymity range server; BlockedIPRangeList through a
trusted proxy's X-Forwarded-For; and adaptive authentication: a sign-in from a new network owes
a second factor (MFA_REQUIRED) and mails a notification whose feedback link, once followed,
lowers the risk of the next sign-in from there.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mailroom import delivery_args, email_address
from support import ALL_FLOWS, aws_error, create_client, create_pool, unique
from tessera_server import tessera_bin

SECURITY = "Provided password cannot be used for security reasons."
BLOCKED = "Unable to login because of security reasons."
INCORRECT = "Incorrect username or password."
LAX = {"PasswordPolicy": {"MinimumLength": 6, "RequireUppercase": False, "RequireLowercase": False,
                          "RequireNumbers": False, "RequireSymbols": False}}


def threat_pool(idp, mode: str, **kwargs) -> str:
    return create_pool(idp, UserPoolAddOns={"AdvancedSecurityMode": mode}, **kwargs)


def strong() -> str:
    return f"Aa1!{secrets.token_hex(8)}"


def with_forwarded_for(client, address: str | None):
    """Every request of `client` carries `X-Forwarded-For: address` (as a proxy in front would
    add it); None removes it again."""
    handlers = getattr(client, "_xff_handlers", [])
    for h in handlers:
        client.meta.events.unregister("before-send.cognito-idp.*", h)
    client._xff_handlers = []
    if address is None:
        return client

    def add(request, **_):
        request.headers["X-Forwarded-For"] = address

    client.meta.events.register("before-send.cognito-idp.*", add)
    client._xff_handlers.append(add)
    return client


def password_user(idp, pool_id: str, client: dict) -> tuple[str, str, dict]:
    """A confirmed user with a permanent password, and the InitiateAuth arguments that sign it in
    with USER_PASSWORD_AUTH through `client`."""
    name, pw = unique("u"), strong()
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=pw, Permanent=True)
    auth = {"ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": name, "PASSWORD": pw}}
    return name, pw, auth


def events_of(idp, pool_id: str, username: str, kind: str | None = None) -> list[dict]:
    events = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username=username)["AuthEvents"]
    return [e for e in events if kind is None or e["EventType"] == kind]


# -- configuration -----------------------------------------------------------------------------


def test_risk_configuration_needs_the_add_on_and_a_client_of_the_pool(idp):
    off = create_pool(idp)
    with aws_error("UserPoolAddOnNotEnabledException"):
        idp.set_risk_configuration(UserPoolId=off, RiskExceptionConfiguration={"BlockedIPRangeList": []})
    with aws_error("UserPoolAddOnNotEnabledException"):
        idp.describe_risk_configuration(UserPoolId=off)

    pool = threat_pool(idp, "ENFORCED")
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    with aws_error("ResourceNotFoundException"):
        idp.set_risk_configuration(UserPoolId=pool, ClientId="1" * 26)
    with aws_error("InvalidParameterException", contains="CIDR"):
        idp.set_risk_configuration(UserPoolId=pool, RiskExceptionConfiguration={"BlockedIPRangeList": ["10.0.0.0/33"]})
    with aws_error("InvalidParameterException", contains="NotifyConfiguration"):
        idp.set_risk_configuration(
            UserPoolId=pool,
            AccountTakeoverRiskConfiguration={"Actions": {"HighAction": {"EventAction": "BLOCK", "Notify": True}}},
        )

    pool_config = {
        "CompromisedCredentialsRiskConfiguration": {"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}},
        "AccountTakeoverRiskConfiguration": {
            "NotifyConfiguration": {"SourceArn": "arn:aws:ses:us-east-1:000000000000:identity/x@example.com",
                                    "From": "security@example.com",
                                    "MfaEmail": {"Subject": "Check", "TextBody": "Was it you? {one-click-link-valid}"}},
            "Actions": {"LowAction": {"EventAction": "NO_ACTION", "Notify": False},
                        "MediumAction": {"EventAction": "MFA_IF_CONFIGURED", "Notify": True},
                        "HighAction": {"EventAction": "BLOCK", "Notify": True}},
        },
        "RiskExceptionConfiguration": {"BlockedIPRangeList": ["203.0.113.0/24"], "SkippedIPRangeList": ["192.0.2.1"]},
    }
    set_ = idp.set_risk_configuration(UserPoolId=pool, **pool_config)["RiskConfiguration"]
    assert set_["UserPoolId"] == pool and "ClientId" not in set_
    got = idp.describe_risk_configuration(UserPoolId=pool)["RiskConfiguration"]
    for key, value in pool_config.items():
        assert got[key] == value, key
    assert "LastModifiedDate" in got

    # A client without its own configuration is described with the pool's; its own replaces it.
    client = create_client(idp, pool)
    inherited = idp.describe_risk_configuration(UserPoolId=pool, ClientId=client["ClientId"])["RiskConfiguration"]
    assert inherited["ClientId"] == client["ClientId"]
    assert inherited["RiskExceptionConfiguration"] == pool_config["RiskExceptionConfiguration"]
    own = {"CompromisedCredentialsRiskConfiguration": {"Actions": {"EventAction": "NO_ACTION"}}}
    idp.set_risk_configuration(UserPoolId=pool, ClientId=client["ClientId"], **own)
    mine = idp.describe_risk_configuration(UserPoolId=pool, ClientId=client["ClientId"])["RiskConfiguration"]
    assert mine["CompromisedCredentialsRiskConfiguration"] == own["CompromisedCredentialsRiskConfiguration"]
    assert "RiskExceptionConfiguration" not in mine
    # Only the ids: the client inherits again; the pool returns to the defaults.
    idp.set_risk_configuration(UserPoolId=pool, ClientId=client["ClientId"])
    again = idp.describe_risk_configuration(UserPoolId=pool, ClientId=client["ClientId"])["RiskConfiguration"]
    assert again["RiskExceptionConfiguration"] == pool_config["RiskExceptionConfiguration"]
    idp.set_risk_configuration(UserPoolId=pool)
    reset = idp.describe_risk_configuration(UserPoolId=pool)["RiskConfiguration"]
    assert "RiskExceptionConfiguration" not in reset and "AccountTakeoverRiskConfiguration" not in reset

    # UpdateUserPool keeps the risk configuration (it belongs to SetRiskConfiguration).
    idp.set_risk_configuration(UserPoolId=pool, **pool_config)
    idp.update_user_pool(UserPoolId=pool, UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"})
    kept = idp.describe_risk_configuration(UserPoolId=pool)["RiskConfiguration"]
    assert kept["RiskExceptionConfiguration"] == pool_config["RiskExceptionConfiguration"]

    with aws_error("UserPoolAddOnNotEnabledException"):
        idp.admin_list_user_auth_events(UserPoolId=off, Username="nobody")


# -- compromised credentials: the embedded list ------------------------------------------------


def test_a_common_breached_password_is_refused_when_enforced_and_recorded_in_audit(idp, public_idp):
    enforced = threat_pool(idp, "ENFORCED", Policies=LAX)
    client = create_client(idp, enforced)
    # "qwertyuiop" is among the most common passwords of every breach corpus.
    with aws_error("InvalidPasswordException", SECURITY):
        public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password="qwertyuiop")
    ok = unique("u")
    public_idp.sign_up(ClientId=client["ClientId"], Username=ok, Password=strong())
    # The other ways a password is set are screened too.
    with aws_error("InvalidPasswordException", SECURITY):
        idp.admin_set_user_password(UserPoolId=enforced, Username=ok, Password="qwertyuiop", Permanent=True)
    recorded = events_of(idp, enforced, ok)
    assert [e["EventType"] for e in recorded] == ["PasswordChange", "SignUp"]
    assert recorded[0]["EventRisk"]["RiskDecision"] == "Block"
    assert recorded[0]["EventRisk"]["CompromisedCredentialsDetected"] is True
    assert recorded[1]["EventRisk"]["CompromisedCredentialsDetected"] is False

    audit = threat_pool(idp, "AUDIT", Policies=LAX)
    client = create_client(idp, audit)
    name = unique("u")
    public_idp.sign_up(ClientId=client["ClientId"], Username=name, Password="qwertyuiop")
    (event,) = events_of(idp, audit, name)
    assert event["EventType"] == "SignUp"
    assert event["EventResponse"] == "Pass"
    assert event["EventRisk"]["CompromisedCredentialsDetected"] is True

    # With the add-on off nothing is looked up or recorded.
    off = create_pool(idp, Policies=LAX)
    client = create_client(idp, off)
    public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password="qwertyuiop")


# -- compromised credentials: an imported filter ----------------------------------------------


def hibp_lines(passwords: list[str], crlf: bool) -> bytes:
    end = "\r\n" if crlf else "\n"
    lines = sorted(f"{hashlib.sha1(p.encode()).hexdigest().upper()}:{i + 3}" for i, p in enumerate(passwords))
    return (end.join(lines) + end).encode()


def test_a_filter_imported_from_an_hibp_file_blocks_its_passwords(tmp_path, spawn):
    leaked = [f"Leaked-{secrets.token_hex(6)}-9!" for _ in range(3)]
    noise = [f"noise-{i}" for i in range(500)]
    source = tmp_path / "pwned-passwords-sha1.txt"
    source.write_bytes(hibp_lines(leaked[:2] + noise, crlf=True) + hibp_lines(leaked[2:], crlf=False))
    data_dir = tmp_path / "data"
    done = subprocess.run([tessera_bin(), "breach", "import", str(source), "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "503 distinct entries" in done.stderr, done.stderr
    assert (data_dir / "breach-filter.bin").exists()
    bad = subprocess.run([tessera_bin(), "breach", "import", str(tmp_path / "missing.txt"),
                          "--data-dir", str(tmp_path / "other")], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0

    server = spawn(data_dir=data_dir)
    idp, public_idp = server.client(), server.client(unsigned=True)
    pool = threat_pool(idp, "ENFORCED")
    client = create_client(idp, pool)
    for password in leaked:
        with aws_error("InvalidPasswordException", SECURITY):
            public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password=password)
    public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password=strong())

    # Looked for at sign-in only: a user who has the password already is refused once proven,
    # and a wrong password says only that it is wrong.
    signin_only = threat_pool(idp, "ENFORCED")
    idp.set_risk_configuration(
        UserPoolId=signin_only,
        CompromisedCredentialsRiskConfiguration={"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}},
    )
    client = create_client(idp, signin_only)
    name = unique("u")
    public_idp.sign_up(ClientId=client["ClientId"], Username=name, Password=leaked[0])
    idp.admin_confirm_sign_up(UserPoolId=signin_only, Username=name)
    auth = {"ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH"}
    with aws_error("NotAuthorizedException", INCORRECT):
        public_idp.initiate_auth(**auth, AuthParameters={"USERNAME": name, "PASSWORD": leaked[1]})
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(**auth, AuthParameters={"USERNAME": name, "PASSWORD": leaked[0]})
    blocked, wrong, signed_up = events_of(idp, signin_only, name)
    assert blocked["EventRisk"] == {"RiskDecision": "Block", "CompromisedCredentialsDetected": True}
    assert blocked["EventResponse"] == "Fail"
    assert {"ChallengeName": "Password", "ChallengeResponse": "Success"} in blocked["ChallengeResponses"]
    assert wrong["ChallengeResponses"] == [{"ChallengeName": "Password", "ChallengeResponse": "Failure"}]
    assert signed_up["EventType"] == "SignUp"


# -- compromised credentials: the range API ---------------------------------------------------


class RangeServer:
    """A k-anonymity range endpoint on 127.0.0.1 (`GET /range/{prefix}`), recording what it was
    asked; `delay` makes it slow."""

    def __init__(self, breached: list[str], delay: float = 0.0):
        self.asked: list[str] = []
        self.padding: list[str | None] = []
        hashes = [hashlib.sha1(p.encode()).hexdigest().upper() for p in breached]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.asked.append(self.path)
                outer.padding.append(self.headers.get("Add-Padding"))
                time.sleep(delay)
                prefix = self.path.rsplit("/", 1)[-1]
                lines = [f"{h[5:]}:42" for h in hashes if h.startswith(prefix)]
                lines.append("0" * 35 + ":0")  # padding
                body = "\r\n".join(lines).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/range/"

    def stop(self):
        self.httpd.shutdown()


def test_the_range_api_sees_only_five_hex_digits_and_its_failures_never_block(spawn):
    breached = f"Online-{secrets.token_hex(6)}-7!"
    good = RangeServer([breached])
    slow = RangeServer([breached], delay=5.0)
    try:
        env = {"TESSERA_THREAT_HIBP_RANGE_URL": good.url, "TESSERA_ALLOW_PRIVATE_WEBHOOKS": "true"}
        server = spawn(extra_env=env)
        idp, public_idp = server.client(), server.client(unsigned=True)
        pool = threat_pool(idp, "ENFORCED")
        client = create_client(idp, pool)
        with aws_error("InvalidPasswordException", SECURITY):
            public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password=breached)
        public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password=strong())
        assert len(good.asked) == 2
        for path in good.asked:
            assert re.fullmatch(r"/range/[0-9A-F]{5}", path), path
        assert good.padding == ["true", "true"]
        assert good.asked[0] == "/range/" + hashlib.sha1(breached.encode()).hexdigest().upper()[:5]

        env = {"TESSERA_THREAT_HIBP_RANGE_URL": slow.url, "TESSERA_ALLOW_PRIVATE_WEBHOOKS": "true",
               "TESSERA_THREAT_HIBP_TIMEOUT_MS": "300"}
        server = spawn(extra_env=env)
        idp, public_idp = server.client(), server.client(unsigned=True)
        pool = threat_pool(idp, "ENFORCED")
        client = create_client(idp, pool)
        started = time.monotonic()
        public_idp.sign_up(ClientId=client["ClientId"], Username=unique("u"), Password=breached)
        assert time.monotonic() - started < 3.0
        assert slow.asked, "the slow server was asked"
    finally:
        good.stop()
        slow.stop()


# -- IP exceptions through a trusted proxy -----------------------------------------------------


def test_blocked_ranges_apply_to_the_address_a_trusted_proxy_forwards(spawn):
    server = spawn(extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32, ::1"})
    idp = server.client()
    pool = threat_pool(idp, "ENFORCED")
    client = create_client(idp, pool, ExplicitAuthFlows=ALL_FLOWS + ["ALLOW_USER_SRP_AUTH"])
    idp.set_risk_configuration(UserPoolId=pool,
                               RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"]})
    name, pw, auth = password_user(idp, pool, client)

    public_idp = with_forwarded_for(server.client(unsigned=True), "203.0.113.7")
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(**auth)
    # A wrong password from there gets the same answer: nothing is checked from a blocked range.
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(**{**auth, "AuthParameters": {"USERNAME": name, "PASSWORD": "wrong-Aa1!"}})
    # SRP is refused before it starts.
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                                 AuthParameters={"USERNAME": name, "SRP_A": "abcd"})

    # The client's own entry at the left of the header is not believed: the proxy's is.
    with_forwarded_for(public_idp, "203.0.113.7, 198.51.100.20")
    assert "AuthenticationResult" in public_idp.initiate_auth(**auth)
    events = events_of(idp, pool, name)
    assert events[0]["EventContextData"]["IpAddress"] == "198.51.100.20"
    assert events[0]["EventResponse"] == "Pass"

    # Without trusted proxies the header means nothing: the peer address (127.0.0.1) is used.
    plain = spawn()
    idp2 = plain.client()
    pool2 = threat_pool(idp2, "ENFORCED")
    client2 = create_client(idp2, pool2)
    idp2.set_risk_configuration(UserPoolId=pool2,
                                RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"]})
    idp2.admin_create_user(UserPoolId=pool2, Username=name, MessageAction="SUPPRESS")
    idp2.admin_set_user_password(UserPoolId=pool2, Username=name, Password=pw, Permanent=True)
    spoofing = with_forwarded_for(plain.client(unsigned=True), "203.0.113.7")
    spoofing.initiate_auth(**{**auth, "ClientId": client2["ClientId"]})
    assert events_of(idp2, pool2, name)[0]["EventContextData"]["IpAddress"] == "127.0.0.1"


def test_user_context_data_gives_the_address_only_for_clients_that_propagate_it(spawn):
    """A public call's UserContextData.IpAddress (an app server signing users in on their
    behalf) is believed only from an app client with a secret and
    EnablePropagateAdditionalUserContextData, as Cognito does; from any other client it is
    ignored and the request's own address counts."""
    from support import secret_hash

    server = spawn()
    idp = server.client()
    pool = threat_pool(idp, "ENFORCED")
    idp.set_risk_configuration(UserPoolId=pool,
                               RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"]})
    name, pw = unique("u"), strong()
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=pw, Permanent=True)
    propagating = create_client(idp, pool, GenerateSecret=True, EnablePropagateAdditionalUserContextData=True)
    plain = create_client(idp, pool, GenerateSecret=True)

    def sign_in(client):
        return server.client(unsigned=True).initiate_auth(
            ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": pw,
                            "SECRET_HASH": secret_hash(name, client["ClientId"], client["ClientSecret"])},
            UserContextData={"IpAddress": "203.0.113.44", "EncodedData": "opaque"})

    with aws_error("NotAuthorizedException", BLOCKED):
        sign_in(propagating)
    assert "AuthenticationResult" in sign_in(plain)
    assert events_of(idp, pool, name)[0]["EventContextData"]["IpAddress"] == "127.0.0.1"


# -- adaptive authentication -------------------------------------------------------------------


def test_a_new_network_owes_mfa_and_an_email_and_feedback_lowers_the_next_risk(spawn, smtp_sink):
    server = spawn(extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32"},
                   extra_args=delivery_args(smtp_sink, None, "Tessera Tests <tests@tessera.test>"))
    idp = server.client()
    pool = threat_pool(idp, "ENFORCED")
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                 EmailMfaConfiguration={"Subject": "Sign-in code", "Message": "Your code is {####}"})
    idp.set_risk_configuration(
        UserPoolId=pool,
        AccountTakeoverRiskConfiguration={
            "NotifyConfiguration": {
                "SourceArn": "arn:aws:ses:us-east-1:000000000000:identity/security@example.com",
                "From": "security@example.com",
                "MfaEmail": {"Subject": "Was this you?",
                             "TextBody": "Sign-in to {username} from {ip-address}. Yes: {one-click-link-valid} No: {one-click-link-invalid}"},
            },
            "Actions": {"LowAction": {"EventAction": "NO_ACTION", "Notify": False},
                        "MediumAction": {"EventAction": "MFA_REQUIRED", "Notify": True},
                        "HighAction": {"EventAction": "BLOCK", "Notify": True}},
        },
    )
    client = create_client(idp, pool)
    name, pw, address = unique("u"), strong(), email_address("risk")
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": address},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=pw, Permanent=True)
    public_idp = server.client(unsigned=True)
    auth = {"ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": name, "PASSWORD": pw}}

    # The first sign-in, from home: nothing to compare with, no risk.
    with_forwarded_for(public_idp, "198.51.100.10")
    assert "AuthenticationResult" in public_idp.initiate_auth(**auth)

    # From a network never seen: medium risk, a second factor owed (the user has none set up
    # but has an email address), and a notification with feedback links.
    with_forwarded_for(public_idp, "203.0.113.50")
    challenge = public_idp.initiate_auth(**auth)
    assert challenge["ChallengeName"] == "EMAIL_OTP", challenge
    mails = smtp_sink.wait_for(address, count=2)
    notice = next(m for m in mails if m.subject == "Was this you?")
    otp = next(m for m in mails if m.subject == "Sign-in code")
    assert "203.0.113.50" in notice.text and name in notice.text
    done = public_idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="EMAIL_OTP", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": name, "EMAIL_OTP_CODE": otp.code})
    assert "AuthenticationResult" in done
    risky, first = events_of(idp, pool, name, "SignIn")
    assert risky["EventRisk"] == {"RiskDecision": "AccountTakeover", "RiskLevel": "Medium",
                                  "CompromisedCredentialsDetected": False}
    assert risky["EventResponse"] == "Pass"
    assert {"ChallengeName": "Mfa", "ChallengeResponse": "Success"} in risky["ChallengeResponses"]
    assert first["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}

    # The "it was me" link: a page whose form posts the feedback; the token is bound to the event.
    links = re.findall(r"https?://\S+auth-event-feedback\?\S+", notice.text)
    valid = next(link for link in links if "feedback_value=Valid" in link)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(valid).query))
    assert query["event_id"] == risky["EventId"]
    with aws_error("NotAuthorizedException"):
        public_idp.update_auth_event_feedback(UserPoolId=pool, Username=name, EventId=first["EventId"],
                                              FeedbackToken=query["feedback_token"], FeedbackValue="Valid")
    page = urllib.request.urlopen(valid, timeout=10).read().decode()
    assert 'method="post"' in page
    form = urllib.parse.urlencode(query).encode()
    posted = urllib.request.urlopen(urllib.request.Request(valid.split("?")[0], data=form), timeout=10)
    assert posted.status == 200
    (feedback,) = [e for e in events_of(idp, pool, name, "SignIn") if e["EventId"] == risky["EventId"]]
    assert feedback["EventFeedback"]["FeedbackValue"] == "Valid"
    assert feedback["EventFeedback"]["Provider"] == "User"

    # The same network again: confirmed as the user's, so low risk and no challenge.
    again = public_idp.initiate_auth(**auth)
    assert "AuthenticationResult" in again, again
    latest = events_of(idp, pool, name, "SignIn")[0]
    assert latest["EventRisk"]["RiskLevel"] == "Low"

    # An administrator's "not me" for that network makes the next attempt from it high risk.
    idp.admin_update_auth_event_feedback(UserPoolId=pool, Username=name, EventId=latest["EventId"],
                                         FeedbackValue="Invalid")
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(**auth)
    assert events_of(idp, pool, name, "SignIn")[0]["EventRisk"]["RiskLevel"] == "High"

    # Pages of events, newest first: four sign-ins and the password the administrator set.
    pages, token = [], None
    while True:
        page = idp.admin_list_user_auth_events(UserPoolId=pool, Username=name, MaxResults=2,
                                               **({"NextToken": token} if token else {}))
        pages.append(page["AuthEvents"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [e for p in pages for e in p]
    assert [e["EventType"] for e in listed] == ["SignIn"] * 4 + ["PasswordChange"]
    assert len({e["EventId"] for e in listed}) == 5
    assert listed == sorted(listed, key=lambda e: e["CreationDate"], reverse=True)
    with aws_error("UserNotFoundException"):
        idp.admin_list_user_auth_events(UserPoolId=pool, Username="nobody-here")

    # The other link's token through the API itself (public, unsigned): the user changes their
    # answer about the risky sign-in.
    invalid = next(link for link in links if "feedback_value=Invalid" in link)
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(invalid).query))["feedback_token"]
    with aws_error("NotAuthorizedException"):
        public_idp.update_auth_event_feedback(UserPoolId=pool, Username=name, EventId=risky["EventId"],
                                              FeedbackToken=token[:-4] + "AAAA", FeedbackValue="Invalid")
    public_idp.update_auth_event_feedback(UserPoolId=pool, Username=name, EventId=risky["EventId"],
                                          FeedbackToken=token, FeedbackValue="Invalid")
    (changed,) = [e for e in events_of(idp, pool, name) if e["EventId"] == risky["EventId"]]
    assert changed["EventFeedback"]["FeedbackValue"] == "Invalid"
    assert changed["EventFeedback"]["Provider"] == "User"


def test_passwordless_sign_ins_are_judged_and_recorded(spawn, smtp_sink):
    """An EMAIL_OTP first factor (USER_AUTH) is a sign-in threat protection sees: its event is
    recorded with its risk; a level that asks for MFA is satisfied by the code itself; a blocked
    level stops it as it stops a password."""
    server = spawn(extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32"},
                   extra_args=delivery_args(smtp_sink, None, "Tessera Tests <tests@tessera.test>"))
    idp = server.client()
    pool = threat_pool(idp, "ENFORCED",
                       Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}})
    idp.set_risk_configuration(UserPoolId=pool, AccountTakeoverRiskConfiguration={
        "Actions": {"LowAction": {"EventAction": "NO_ACTION", "Notify": False},
                    "MediumAction": {"EventAction": "MFA_REQUIRED", "Notify": False},
                    "HighAction": {"EventAction": "BLOCK", "Notify": False}}})
    client = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    name, address = unique("otp"), email_address("otp")
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": address},
                                          {"Name": "email_verified", "Value": "true"}])
    public_idp = server.client(unsigned=True)
    sent = 0

    def sign_in_with_a_code() -> dict:
        nonlocal sent
        r = public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                     AuthParameters={"USERNAME": name, "PREFERRED_CHALLENGE": "EMAIL_OTP"})
        sent += 1
        code = smtp_sink.wait_for(address, count=sent)[-1].code
        return public_idp.respond_to_auth_challenge(
            ClientId=client["ClientId"], ChallengeName="EMAIL_OTP", Session=r["Session"],
            ChallengeResponses={"USERNAME": name, "EMAIL_OTP_CODE": code})

    with_forwarded_for(public_idp, "198.51.100.10")
    assert "AuthenticationResult" in sign_in_with_a_code()
    (home,) = events_of(idp, pool, name, "SignIn")
    assert home["EventResponse"] == "Pass"
    assert home["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}
    assert home["EventContextData"]["IpAddress"] == "198.51.100.10"

    # A network never seen: medium risk, MFA_REQUIRED — the emailed code already is a factor
    # the user holds, so no further challenge.
    with_forwarded_for(public_idp, "203.0.113.50")
    assert "AuthenticationResult" in sign_in_with_a_code()
    risky = events_of(idp, pool, name, "SignIn")[0]
    assert risky["EventRisk"]["RiskLevel"] == "Medium"
    assert risky["EventResponse"] == "Pass"

    # The administrator says that sign-in wasn't the user: the next from there is high risk,
    # and blocked like a password sign-in.
    idp.admin_update_auth_event_feedback(UserPoolId=pool, Username=name, EventId=risky["EventId"],
                                         FeedbackValue="Invalid")
    with aws_error("NotAuthorizedException", BLOCKED):
        sign_in_with_a_code()
    blocked = events_of(idp, pool, name, "SignIn")[0]
    assert blocked["EventRisk"]["RiskLevel"] == "High"
    assert blocked["EventResponse"] == "Fail"


# -- the temporary password an administrator chooses -------------------------------------------


def test_an_administrators_temporary_password_is_screened_like_a_sign_up(idp):
    enforced = threat_pool(idp, "ENFORCED", Policies=LAX)
    with aws_error("InvalidPasswordException", SECURITY):
        idp.admin_create_user(UserPoolId=enforced, Username=unique("u"), TemporaryPassword="qwertyuiop",
                              MessageAction="SUPPRESS")
    # A generated temporary password, or a strong chosen one, is fine; the creation is recorded.
    idp.admin_create_user(UserPoolId=enforced, Username=unique("u"), MessageAction="SUPPRESS")
    chosen = unique("u")
    idp.admin_create_user(UserPoolId=enforced, Username=chosen, TemporaryPassword=strong(),
                          MessageAction="SUPPRESS")
    (event,) = events_of(idp, enforced, chosen)
    assert event["EventType"] == "SignUp"
    assert event["EventRisk"]["CompromisedCredentialsDetected"] is False

    # AUDIT creates the user and records the hit; an EventFilter without SIGN_UP doesn't look.
    audit = threat_pool(idp, "AUDIT", Policies=LAX)
    name = unique("u")
    idp.admin_create_user(UserPoolId=audit, Username=name, TemporaryPassword="qwertyuiop",
                          MessageAction="SUPPRESS")
    (event,) = events_of(idp, audit, name)
    assert event["EventRisk"]["CompromisedCredentialsDetected"] is True
    signin_only = threat_pool(idp, "ENFORCED", Policies=LAX)
    idp.set_risk_configuration(
        UserPoolId=signin_only,
        CompromisedCredentialsRiskConfiguration={"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}},
    )
    idp.admin_create_user(UserPoolId=signin_only, Username=unique("u"), TemporaryPassword="qwertyuiop",
                          MessageAction="SUPPRESS")


# -- GeoIP -------------------------------------------------------------------------------------


def geoip_database(path) -> None:
    """A MaxMind DB in GeoLite2-City layout, written by mmdb-writer (PyPI): two documentation
    networks placed in Lisbon and Osaka."""
    from mmdb_writer import MMDBWriter  # noqa: PLC0415
    from netaddr import IPSet  # noqa: PLC0415

    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", languages=["en"],
                        description={"en": "Tessera test places"}, ipv4_compatible=True)
    writer.insert_network(IPSet(["198.51.100.0/24"]), {
        "city": {"names": {"en": "Lisbon"}},
        "country": {"iso_code": "PT", "names": {"en": "Portugal"}},
    })
    writer.insert_network(IPSet(["203.0.113.0/24"]), {
        "city": {"names": {"en": "Osaka"}},
        "country": {"iso_code": "JP", "names": {"en": "Japan"}},
    })
    writer.to_db_file(str(path))


def test_events_are_placed_by_a_geoip_database_and_a_new_country_raises_the_risk(tmp_path, spawn):
    db = tmp_path / "places.mmdb"
    geoip_database(db)
    server = spawn(extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32, ::1",
                              "TESSERA_THREAT_GEOIP_DATABASE": str(db)})
    idp = server.client()
    pool = threat_pool(idp, "ENFORCED")
    client = create_client(idp, pool)
    # Medium (a new network in a known country) is let through; high (a new network in a new
    # country) is blocked.
    idp.set_risk_configuration(UserPoolId=pool, AccountTakeoverRiskConfiguration={"Actions": {
        "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
        "MediumAction": {"Notify": False, "EventAction": "NO_ACTION"},
        "HighAction": {"Notify": False, "EventAction": "BLOCK"},
    }})
    name, pw, auth = password_user(idp, pool, client)
    public_idp = with_forwarded_for(server.client(unsigned=True), "198.51.100.20")
    assert "AuthenticationResult" in public_idp.initiate_auth(**auth)
    with_forwarded_for(public_idp, "198.51.100.77")
    assert "AuthenticationResult" in public_idp.initiate_auth(**auth)
    with_forwarded_for(public_idp, "203.0.113.9")
    with aws_error("NotAuthorizedException", BLOCKED):
        public_idp.initiate_auth(**auth)
    osaka, lisbon_again, lisbon = events_of(idp, pool, name, "SignIn")
    assert lisbon["EventContextData"]["City"] == "Lisbon"
    assert lisbon["EventContextData"]["Country"] == "Portugal"
    assert lisbon_again["EventRisk"]["RiskLevel"] == "Medium"
    assert lisbon_again["EventResponse"] == "Pass"
    assert osaka["EventContextData"]["City"] == "Osaka"
    assert osaka["EventContextData"]["Country"] == "Japan"
    assert osaka["EventRisk"] == {"RiskDecision": "Block", "RiskLevel": "High",
                                  "CompromisedCredentialsDetected": False}
    # An address the database doesn't know is not placed (and, a new network only, medium).
    with_forwarded_for(public_idp, "192.0.2.1")
    assert "AuthenticationResult" in public_idp.initiate_auth(**auth)
    unplaced = events_of(idp, pool, name, "SignIn")[0]
    assert "City" not in unplaced["EventContextData"]
    assert unplaced["EventContextData"]["IpAddress"] == "192.0.2.1"

    # A file that is not a MaxMind database stops the start with a message naming it.
    bogus = tmp_path / "not-a-database.mmdb"
    bogus.write_bytes(b"nothing to see")
    done = subprocess.run(
        [tessera_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "refused")],
        env={**os.environ, "TESSERA_THREAT_GEOIP_DATABASE": str(bogus)},
        capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "GeoIP database" in done.stderr and "not-a-database.mmdb" in done.stderr, done.stderr
