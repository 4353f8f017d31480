"""Sign-up confirmation codes over a real SMTP server (aiosmtpd) and an SMS webhook, with boto3:
CodeDeliveryDetails, ConfirmSignUp, ResendConfirmationCode and its hourly limit, the
verification templates, CONFIRM_WITH_LINK, SMS preferred over email, no channel configured, and
an SMTP outage that delays the code but loses nothing."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import MAIL_FROM
from mailroom import (
    SmtpSink,
    code_in,
    email_address,
    free_port,
    mask_email,
    mask_phone,
    phone_number,
    user_attributes,
    verifying_pool,
    wrong_code,
)
from support import aws_error, create_client, create_pool, password, password_auth, sign_up, unique

MISMATCH = "Invalid verification code provided, please try again."
LIMIT = "Attempt limit exceeded, please try after some time."


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


def email_details(address: str) -> dict:
    return {"Destination": mask_email(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def sms_details(phone: str) -> dict:
    return {"Destination": mask_phone(phone), "DeliveryMedium": "SMS", "AttributeName": "phone_number"}


def test_sign_up_code_by_email_confirms_the_user(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    username, pw, address = unique("ann"), password(), email_address("ann")
    resp = sign_up(public_idp, client, username, pw, {"email": address})
    assert resp["UserConfirmed"] is False
    assert resp["CodeDeliveryDetails"] == email_details(address)
    assert resp["CodeDeliveryDetails"]["Destination"] == "a***@e***"

    mail = smtp_sink.wait_for(address)[0]
    assert mail.rcpt_tos == [address]
    assert mail.header("To") == address
    assert mail.subject == "Your verification code"
    assert mail.header("From") == MAIL_FROM
    assert mail.mail_from == "tests@tessera.test"
    assert mail.header("Reply-To") is None
    assert mail.header("Message-ID") and mail.header("Date")
    code = mail.code

    status, attrs = user_attributes(idp, pool_id, username)
    assert status == "UNCONFIRMED" and attrs.get("email_verified") != "true"
    with aws_error("UserNotConfirmedException", "User is not confirmed."):
        password_auth(public_idp, client, username, pw)

    with aws_error("CodeMismatchException", MISMATCH):
        public_idp.confirm_sign_up(
            ClientId=client["ClientId"], Username=username, ConfirmationCode=wrong_code(code)
        )
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)
    status, attrs = user_attributes(idp, pool_id, username)
    assert status == "CONFIRMED"
    assert attrs["email_verified"] == "true"
    with aws_error("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"):
        public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)
    assert password_auth(public_idp, client, username, pw)["AccessToken"]
    assert len(smtp_sink.to(address)) == 1


@pytest.mark.parametrize(
    "template, expected",
    [
        ({}, "Your verification code is {code}. "),
        (
            {"VerificationMessageTemplate": {"EmailMessage": "Your Acme code: {####}", "EmailSubject": "Acme"}},
            "Your Acme code: {code}",
        ),
    ],
    ids=["default", "custom"],
)
def test_sign_up_email_carries_the_code(idp, public_idp, smtp_sink, template, expected):
    _, client = verifying_pool(idp, **template)
    address = email_address("body")
    sign_up(public_idp, client, unique("body"), password(), {"email": address})
    mail = smtp_sink.wait_for(address)[0]
    code = code_in(mail.text)
    assert "confirmUser" not in mail.raw.decode(errors="replace")
    assert mail.text == expected.format(code=code)


def test_sms_is_preferred_when_both_are_auto_verified(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp, auto=("email", "phone_number"))
    username, address, phone = unique("sam"), email_address("sam"), phone_number()
    resp = sign_up(public_idp, client, username, password(), {"email": address, "phone_number": phone})
    assert resp["CodeDeliveryDetails"] == sms_details(phone)
    assert re.fullmatch(r"\+\*{7}\d{4}", resp["CodeDeliveryDetails"]["Destination"])

    sms = sms_sink.wait_for(phone)[0]
    assert sms["_path"] == "/sms" and sms["_content_type"].startswith("application/json")
    assert {"id", "pool_id", "destination", "message"} <= set(sms)
    assert sms["pool_id"] == pool_id and sms["destination"] == phone
    assert re.fullmatch(r"[0-9a-f-]{36}", sms["id"])
    code = code_in(sms["message"])
    assert sms["message"] == f"Your verification code is {code}. "
    time.sleep(0.3)
    assert smtp_sink.to(address) == []

    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)
    status, attrs = user_attributes(idp, pool_id, username)
    assert status == "CONFIRMED"
    assert attrs["phone_number_verified"] == "true"
    assert attrs.get("email_verified") != "true"


@pytest.mark.parametrize(
    "templates",
    [
        {
            "VerificationMessageTemplate": {
                "SmsMessage": "Acme SMS code {####}",
                "EmailMessage": "Acme email code {####}",
                "EmailSubject": "Acme: confirm your address",
            }
        },
        {
            "SmsVerificationMessage": "Acme SMS code {####}",
            "EmailVerificationMessage": "Acme email code {####}",
            "EmailVerificationSubject": "Acme: confirm your address",
        },
    ],
    ids=["VerificationMessageTemplate", "legacy-fields"],
)
def test_verification_templates_are_honoured(idp, public_idp, smtp_sink, sms_sink, templates):
    # Sign-up by SMS, then an email verification code on request: both use the pool's templates.
    pool_id, client = verifying_pool(idp, auto=("phone_number",), **templates)
    username, pw, address, phone = unique("tim"), password(), email_address("tim"), phone_number()
    sign_up(public_idp, client, username, pw, {"email": address, "phone_number": phone})
    sms = sms_sink.wait_for(phone)[0]
    assert sms["message"] == f"Acme SMS code {code_in(sms['message'])}"
    code = code_in(sms["message"])
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)

    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    sent = public_idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    assert sent["CodeDeliveryDetails"] == email_details(address)
    mail = smtp_sink.wait_for(address)[0]
    assert mail.subject == "Acme: confirm your address"
    assert mail.text == f"Acme email code {mail.code}"
    public_idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=mail.code)
    assert user_attributes(idp, pool_id, username)[1]["email_verified"] == "true"


@pytest.mark.parametrize(
    "template",
    [
        {"VerificationMessageTemplate": {"EmailMessage": "No code here"}},
        {"VerificationMessageTemplate": {"SmsMessage": "No code here"}},
        {"EmailVerificationMessage": "No code here"},
    ],
    ids=["EmailMessage", "SmsMessage", "EmailVerificationMessage"],
)
def test_verification_templates_need_the_code_placeholder(idp, template):
    # Cognito's answer is its model's validation message, naming the field and the pattern.
    with aws_error("InvalidParameterException", contains="\\{####\\}") as info:
        create_pool(idp, **template)
    assert "failed to satisfy constraint" in info.value.response["Error"]["Message"]


def test_resend_replaces_the_code_and_is_limited_to_five_an_hour(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    username, address = unique("bob"), email_address("bob")
    sign_up(public_idp, client, username, password(), {"email": address})
    first = smtp_sink.wait_for(address)[0].code

    def resend():
        return public_idp.resend_confirmation_code(ClientId=client["ClientId"], Username=username)

    assert resend()["CodeDeliveryDetails"] == email_details(address)
    second = smtp_sink.last(address, 2).code
    if second != first:  # 1 in a million they coincide
        with aws_error("CodeMismatchException", MISMATCH):
            public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=first)

    for _ in range(3):  # the sign-up's code counts: five sends in all
        resend()
    with aws_error("LimitExceededException", LIMIT):
        resend()
    mails = smtp_sink.wait_for(address, 5)
    time.sleep(0.3)
    assert len(smtp_sink.to(address)) == 5, "the refused resend sent nothing"

    # The newest code still confirms.
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=mails[-1].code)
    assert user_attributes(idp, pool_id, username)[0] == "CONFIRMED"
    with aws_error("InvalidParameterException", "User is already confirmed."):
        resend()


@pytest.mark.parametrize(
    "link_template, subject, label",
    [
        ({}, "Your verification link", "Verify Email"),
        (
            {"EmailSubjectByLink": "Welcome to Acme", "EmailMessageByLink": "<p>Hi! {##Confirm my account##}</p>"},
            "Welcome to Acme",
            "Confirm my account",
        ),
    ],
    ids=["default", "custom"],
)
def test_confirm_with_link(idp, public_idp, server, smtp_sink, link_template, subject, label):
    pool_id, client = verifying_pool(
        idp, VerificationMessageTemplate={"DefaultEmailOption": "CONFIRM_WITH_LINK", **link_template}
    )
    username, pw, address = unique("lin"), password(), email_address("lin")
    resp = sign_up(public_idp, client, username, pw, {"email": address})
    assert resp["CodeDeliveryDetails"] == email_details(address)

    mail = smtp_sink.wait_for(address)[0]
    assert mail.subject == subject
    html = mail.html
    assert html is not None, mail.raw
    m = re.search(r'<a href="([^"]+)">([^<]*)</a>', html)
    assert m, html
    url, text = m.groups()
    assert text == label
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == server.endpoint
    assert parts.path == "/confirmUser"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == client["ClientId"] and query["user_name"] == username
    assert re.fullmatch(r"\d{6}", query["confirmation_code"])
    assert url in mail.text, "the text alternative keeps the link"
    assert user_attributes(idp, pool_id, username)[0] == "UNCONFIRMED"

    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    status, attrs = user_attributes(idp, pool_id, username)
    assert status == "CONFIRMED" and attrs["email_verified"] == "true"
    assert password_auth(public_idp, client, username, pw)["AccessToken"]


def test_confirm_link_with_a_wrong_code_confirms_nothing(idp, public_idp, server, smtp_sink):
    pool_id, client = verifying_pool(idp, VerificationMessageTemplate={"DefaultEmailOption": "CONFIRM_WITH_LINK"})
    username, address = unique("lnk"), email_address("lnk")
    sign_up(public_idp, client, username, password(), {"email": address})
    url = re.search(r'href="([^"]+)"', smtp_sink.wait_for(address)[0].html).group(1)
    code = parse_qs(urlsplit(url).query)["confirmation_code"][0]
    r = requests.get(url.replace(f"confirmation_code={code}", f"confirmation_code={wrong_code(code)}"), timeout=10)
    assert r.status_code == 400
    assert user_attributes(idp, pool_id, username)[0] == "UNCONFIRMED"


def test_the_dev_outbox_listing_is_off_outside_dev(server):
    assert requests.get(f"{server.endpoint}/_tessera/outbox", timeout=10).status_code == 404


def test_without_a_channel_sign_up_fails_and_creates_nobody(spawn, smtp_sink):
    # Email only: a pool that verifies phone numbers can't send its code.
    email_only = spawn(extra_args=["--smtp-url", smtp_sink.url])
    idp, public = email_only.client(), email_only.client(unsigned=True)
    pool_id, client = verifying_pool(idp, auto=("phone_number",))
    username = unique("nop")
    with aws_error("CodeDeliveryFailureException"):
        sign_up(public, client, username, password(), {"phone_number": phone_number(), "email": email_address()})
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool_id, Username=username)
    _, email_client = verifying_pool(idp)
    address = email_address("ok")
    assert sign_up(public, email_client, unique("ok"), password(), {"email": address})["CodeDeliveryDetails"]
    assert smtp_sink.wait_for(address)

    # No channel at all (and no --dev).
    bare = spawn()
    idp, public = bare.client(), bare.client(unsigned=True)
    pool_id, client = verifying_pool(idp)
    with aws_error("CodeDeliveryFailureException"):
        sign_up(public, client, username, password(), {"email": email_address()})
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool_id, Username=username)
    # A pool that verifies nothing still signs people up.
    plain = create_pool(idp)
    resp = sign_up(public, create_client(idp, plain), username, password(), {"email": email_address()})
    assert resp["UserConfirmed"] is False and "CodeDeliveryDetails" not in resp


def test_an_smtp_outage_delays_the_code_but_loses_nothing(spawn):
    port = free_port()  # nothing listens here yet
    s = spawn(extra_args=["--smtp-url", f"smtp://127.0.0.1:{port}"])
    idp, public = s.client(), s.client(unsigned=True)
    pool_id, client = verifying_pool(idp)
    username, address = unique("gus"), email_address("gus")
    resp = sign_up(public, client, username, password(), {"email": address})
    assert resp["CodeDeliveryDetails"] == email_details(address)
    assert user_attributes(idp, pool_id, username)[0] == "UNCONFIRMED"

    # The first attempt fails against the closed port; the message waits for its retry.
    deadline = time.monotonic() + 10
    while True:
        out = s.cli("outbox")
        assert out.returncode == 0, out.stderr
        line = next((ln for ln in out.stdout.splitlines() if address in ln), "")
        if "pending" in line and "error:" in line:
            break
        assert time.monotonic() < deadline, out.stdout
        time.sleep(0.1)
    assert re.search(r"attempts=[1-9]", line), line

    sink = SmtpSink(port).start()
    try:
        mails = sink.wait_for(address, timeout=12)  # retries back off 2 s, 4 s, 8 s…
        time.sleep(0.5)
        assert len(sink.all()) == 1, "delivered exactly once"
        out = s.cli("outbox").stdout
        line = next(ln for ln in out.splitlines() if address in ln)
        assert "delivered" in line, out
        public.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=mails[0].code)
        assert user_attributes(idp, pool_id, username)[0] == "CONFIRMED"
    finally:
        sink.stop()
