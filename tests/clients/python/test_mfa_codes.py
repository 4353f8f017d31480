"""SMS_MFA and EMAIL_OTP with codes read from what was delivered (a real SMTP server and an SMS
webhook receiver, see mailroom.py), SELECT_MFA_TYPE between several factors, and the user and
admin MFA preferences (which need a server that can deliver SMS and email codes)."""

from __future__ import annotations

import json
import re

import pytest

from mailroom import code_in, email_address, mask_email, mask_phone, phone_number, provisioned_user
from mfa_support import MISMATCH, answer, enrol_totp, mfa_client, mfa_pool, mfa_settings, start, tokens_of, wrong
from support import aws_error, confirmed_user, unique


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


@pytest.fixture(scope="module")
def pool(idp):
    """Optional MFA with all three factors."""
    return mfa_pool(idp, "OPTIONAL", sms=True, email=True)


@pytest.fixture(scope="module")
def client(idp, pool):
    return mfa_client(idp, pool)


def user_with(idp, pool_id, *, phone=True, email=True):
    """A confirmed user with a fresh phone number and email address: (username, pw, phone, email)."""
    p = phone_number() if phone else None
    e = email_address() if email else None
    username, pw = provisioned_user(idp, pool_id, email=e, phone=p)
    return username, pw, p, e


def sms_code(sms_sink, phone: str, count: int) -> str:
    sms = sms_sink.last(phone, count)
    assert sms["message"].startswith("Sign-in code "), sms
    return code_in(sms["message"])


def mail_code(smtp_sink, address: str, count: int) -> str:
    mail = smtp_sink.last(address, count)
    assert mail.subject == "Sign-in code"
    assert mail.text.startswith("Your sign-in code is "), mail.text
    return mail.code


# -- SMS_MFA and EMAIL_OTP ---------------------------------------------------------------------


def test_sms_mfa_sign_in(idp, public_idp, pool, client, sms_sink, smtp_sink):
    username, pw, phone, address = user_with(idp, pool)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username, SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SMS_MFA"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_phone(phone)
    code = sms_code(sms_sink, phone, 1)

    with aws_error("CodeMismatchException", MISMATCH):
        answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=wrong(code))
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code)
    tokens = tokens_of(answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=code))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    assert smtp_sink.to(address) == []  # the code went by SMS only

    # A code belongs to its sign-in: the next one sends a new code and takes only that.
    first = start(public_idp, client, username, pw)
    old = sms_code(sms_sink, phone, 2)
    second = start(public_idp, client, username, pw)
    new = sms_code(sms_sink, phone, 3)
    if old != new:
        with aws_error("CodeMismatchException", MISMATCH):
            answer(public_idp, client, "SMS_MFA", second["Session"], USERNAME=username, SMS_MFA_CODE=old)
    tokens_of(answer(public_idp, client, "SMS_MFA", second["Session"], USERNAME=username, SMS_MFA_CODE=new))
    tokens_of(answer(public_idp, client, "SMS_MFA", first["Session"], USERNAME=username, SMS_MFA_CODE=old))


def test_email_otp_sign_in(idp, public_idp, pool, client, smtp_sink, sms_sink):
    username, pw, phone, address = user_with(idp, pool)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username, EmailMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert mfa_settings(idp, pool, username) == (["EMAIL_OTP"], "EMAIL_OTP")
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "EMAIL_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_email(address)
    code = mail_code(smtp_sink, address, 1)
    assert smtp_sink.last(address, 1).rcpt_tos == [address]

    with aws_error("CodeMismatchException", MISMATCH):
        answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=wrong(code))
    tokens = tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    assert sms_sink.to(phone) == []


def test_three_wrong_codes_end_the_session(idp, public_idp, pool, client, sms_sink):
    username, pw, phone, _ = user_with(idp, pool)
    idp.admin_set_user_mfa_preference(UserPoolId=pool, Username=username, SMSMfaSettings={"Enabled": True})
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SMS_MFA"
    code = sms_code(sms_sink, phone, 1)
    for _ in range(3):
        with aws_error("CodeMismatchException", MISMATCH):
            answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=wrong(code))
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=code)


def test_required_mfa_uses_the_phone_on_file(idp, public_idp, sms_sink):
    """MFA ON with SMS: a user with a phone number and no MFA settings gets SMS_MFA."""
    pool_id = mfa_pool(idp, "ON", totp=False, sms=True)
    client = mfa_client(idp, pool_id)
    username, pw, phone, _ = user_with(idp, pool_id, email=False)
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SMS_MFA"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_phone(phone)
    code = sms_code(sms_sink, phone, 1)
    assert tokens_of(answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=code))


def test_required_email_mfa_uses_the_address_on_file(idp, public_idp, smtp_sink):
    pool_id = mfa_pool(idp, "ON", totp=False, email=True)
    client = mfa_client(idp, pool_id)
    username, pw, _, address = user_with(idp, pool_id, phone=False)
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "EMAIL_OTP"
    code = mail_code(smtp_sink, address, 1)
    assert tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))


# -- SELECT_MFA_TYPE ---------------------------------------------------------------------------


def test_select_mfa_type(idp, public_idp, pool, client, smtp_sink, sms_sink):
    username, pw, phone, address = user_with(idp, pool)
    access = tokens_of(start(public_idp, client, username, pw))["AccessToken"]
    app = enrol_totp(public_idp, access, prefer=False)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool,
        Username=username,
        SMSMfaSettings={"Enabled": True},
        SoftwareTokenMfaSettings={"Enabled": True},
        EmailMfaSettings={"Enabled": True},
    )
    listed, preferred = mfa_settings(idp, pool, username)
    assert sorted(listed) == ["EMAIL_OTP", "SMS_MFA", "SOFTWARE_TOKEN_MFA"] and preferred is None

    def choose(factor: str) -> dict:
        r = start(public_idp, client, username, pw)
        assert r["ChallengeName"] == "SELECT_MFA_TYPE"
        choices = json.loads(r["ChallengeParameters"]["MFAS_CAN_CHOOSE"])
        assert sorted(choices) == ["EMAIL_OTP", "SMS_MFA", "SOFTWARE_TOKEN_MFA"]
        nxt = answer(public_idp, client, "SELECT_MFA_TYPE", r["Session"], USERNAME=username, ANSWER=factor)
        assert nxt["ChallengeName"] == factor
        assert nxt["Session"]
        return nxt

    # By email: the code is sent once chosen, and only there.
    nxt = choose("EMAIL_OTP")
    assert nxt["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    code = mail_code(smtp_sink, address, 1)
    tokens_of(answer(public_idp, client, "EMAIL_OTP", nxt["Session"], USERNAME=username, EMAIL_OTP_CODE=code))
    assert sms_sink.to(phone) == []

    # By the authenticator app.
    nxt = choose("SOFTWARE_TOKEN_MFA")
    tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", nxt["Session"], USERNAME=username,
                     SOFTWARE_TOKEN_MFA_CODE=app.code()))

    # By SMS.
    nxt = choose("SMS_MFA")
    assert nxt["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_phone(phone)
    code = sms_code(sms_sink, phone, 1)
    tokens_of(answer(public_idp, client, "SMS_MFA", nxt["Session"], USERNAME=username, SMS_MFA_CODE=code))
    assert len(smtp_sink.to(address)) == 1

    # Not one of the choices.
    r = start(public_idp, client, username, pw)
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "SELECT_MFA_TYPE", r["Session"], USERNAME=username, ANSWER="PASSWORD")

    # A preference skips the choice.
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username, SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SMS_MFA"
    code = sms_code(sms_sink, phone, 2)
    tokens_of(answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=code))


def test_select_between_two_factors(idp, public_idp, pool, client, smtp_sink, sms_sink):
    username, pw, phone, address = user_with(idp, pool)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username,
        SMSMfaSettings={"Enabled": True}, EmailMfaSettings={"Enabled": True},
    )
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SELECT_MFA_TYPE"
    assert sorted(json.loads(r["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == ["EMAIL_OTP", "SMS_MFA"]
    # The app isn't set up: choosing it is refused.
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "SELECT_MFA_TYPE", r["Session"], USERNAME=username, ANSWER="SOFTWARE_TOKEN_MFA")
    nxt = answer(public_idp, client, "SELECT_MFA_TYPE", r["Session"], USERNAME=username, ANSWER="SMS_MFA")
    assert nxt["ChallengeName"] == "SMS_MFA"
    code = sms_code(sms_sink, phone, 1)
    tokens_of(answer(public_idp, client, "SMS_MFA", nxt["Session"], USERNAME=username, SMS_MFA_CODE=code))
    assert smtp_sink.to(address) == []
# -- preferences: user and admin ---------------------------------------------------------------


def test_admin_mfa_preferences_show_in_admin_get_user(idp, public_idp):
    pool_id = mfa_pool(idp, "OPTIONAL", sms=True, email=True)
    client = mfa_client(idp, pool_id)
    username, pw = confirmed_user(idp, pool_id, client)
    no_phone = unique("nophone")
    idp.admin_create_user(UserPoolId=pool_id, Username=no_phone, MessageAction="SUPPRESS", TemporaryPassword="Tmp1!" + unique())

    # Each factor needs what it uses.
    with aws_error("InvalidParameterException", "User has not verified software token mfa"):
        idp.admin_set_user_mfa_preference(
            UserPoolId=pool_id, Username=username, SoftwareTokenMfaSettings={"Enabled": True}
        )
    with aws_error("InvalidParameterException"):
        idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=no_phone, SMSMfaSettings={"Enabled": True})
    with aws_error("InvalidParameterException"):
        idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=no_phone, EmailMfaSettings={"Enabled": True})
    with aws_error("UserNotFoundException"):
        idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=unique("ghost"), SMSMfaSettings={"Enabled": True})
    assert mfa_settings(idp, pool_id, username) == (None, None)

    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username=username, UserAttributes=[{"Name": "phone_number", "Value": phone_number()}]
    )
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username, SMSMfaSettings={"Enabled": True})
    assert mfa_settings(idp, pool_id, username) == (["SMS_MFA"], None)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username=username, SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert mfa_settings(idp, pool_id, username) == (["SMS_MFA"], "SMS_MFA")

    # The SMS preference is in force, for the public and the admin sign-in alike.
    assert start(public_idp, client, username, pw)["ChallengeName"] == "SMS_MFA"
    admin = idp.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw},
    )
    assert admin["ChallengeName"] == "SMS_MFA" and admin["Session"]
    # Switch SMS off to get tokens; the user enrols TOTP without touching the preferences; then
    # the admin arranges all three factors, the app preferred.
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username, SMSMfaSettings={"Enabled": False})
    assert mfa_settings(idp, pool_id, username)[1] is None
    access = tokens_of(start(public_idp, client, username, pw))["AccessToken"]
    app = enrol_totp(public_idp, access, prefer=False)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool_id,
        Username=username,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        EmailMfaSettings={"Enabled": True, "PreferredMfa": False},
    )
    listed, preferred = mfa_settings(idp, pool_id, username)
    assert sorted(listed) == ["EMAIL_OTP", "SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert preferred == "SOFTWARE_TOKEN_MFA"
    me = public_idp.get_user(AccessToken=access)
    assert sorted(me["UserMFASettingList"]) == sorted(listed) and me["PreferredMfaSetting"] == preferred

    # The preferred factor is the one asked for.
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                     SOFTWARE_TOKEN_MFA_CODE=app.code()))

    # Disabling the preferred factor drops the preference.
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username=username, SoftwareTokenMfaSettings={"Enabled": False}
    )
    listed, preferred = mfa_settings(idp, pool_id, username)
    assert sorted(listed) == ["EMAIL_OTP", "SMS_MFA"] and preferred is None


def test_legacy_user_settings_switch_sms_mfa(idp, public_idp):
    """SetUserSettings / AdminSetUserSettings (MFAOptions): the legacy switch for SMS MFA."""
    pool_id = mfa_pool(idp, "OPTIONAL", sms=True)
    client = mfa_client(idp, pool_id)
    username, pw = confirmed_user(idp, pool_id, client, {"phone_number": phone_number()})
    sms_option = [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]

    idp.admin_set_user_settings(UserPoolId=pool_id, Username=username, MFAOptions=sms_option)
    assert mfa_settings(idp, pool_id, username)[0] == ["SMS_MFA"]
    assert start(public_idp, client, username, pw)["ChallengeName"] == "SMS_MFA"

    idp.admin_set_user_settings(UserPoolId=pool_id, Username=username, MFAOptions=[])
    listed, _ = mfa_settings(idp, pool_id, username)
    assert not listed
    access = tokens_of(start(public_idp, client, username, pw))["AccessToken"]

    public_idp.set_user_settings(AccessToken=access, MFAOptions=sms_option)
    assert mfa_settings(idp, pool_id, username)[0] == ["SMS_MFA"]
    assert public_idp.get_user(AccessToken=access)["UserMFASettingList"] == ["SMS_MFA"]
    public_idp.set_user_settings(AccessToken=access, MFAOptions=[])
    assert not mfa_settings(idp, pool_id, username)[0]


def test_hosted_pages_choose_and_answer_email_and_sms_mfa(server, idp, public_idp, pool, smtp_sink, sms_sink):
    """The hosted UI asks SELECT_MFA_TYPE with one radio button per factor, then sends the code by
    the chosen channel (real SMTP and SMS receivers) and takes it on the next page."""
    from hosted_ui import CALLBACK, Browser, callback_params, domain_base  # noqa: PLC0415
    from urllib.parse import urlencode  # noqa: PLC0415

    domain = unique("mfa").lower()
    idp.create_user_pool_domain(UserPoolId=pool, Domain=domain)
    web = mfa_client(idp, pool, AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
                     AllowedOAuthScopes=["openid"], CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"])
    username, pw, phone, address = user_with(idp, pool)
    access = tokens_of(start(public_idp, web, username, pw))["AccessToken"]
    enrol_totp(public_idp, access, prefer=False)
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username, SMSMfaSettings={"Enabled": True},
        SoftwareTokenMfaSettings={"Enabled": True}, EmailMfaSettings={"Enabled": True},
    )
    query = urlencode({"client_id": web["ClientId"], "response_type": "code", "redirect_uri": CALLBACK})
    for factor, count in (("EMAIL_OTP", 1), ("SMS_MFA", 1)):
        b = Browser()
        b.get(f"{domain_base(server, domain)}/oauth2/authorize?{query}")
        b.submit({"username": username, "password": pw})
        fields = b.forms()[0]["fields"]
        assert fields["challenge"] == "SELECT_MFA_TYPE"
        options = re.findall(r'name="answer" value="([A-Z_]+)"', b.page.text)
        assert sorted(options) == ["EMAIL_OTP", "SMS_MFA", "SOFTWARE_TOKEN_MFA"]
        page = b.submit({"answer": factor})
        assert b.forms()[0]["fields"]["challenge"] == factor
        if factor == "EMAIL_OTP":
            assert mask_email(address) in b.text(page)
            code = mail_code(smtp_sink, address, count)
        else:
            code = sms_code(sms_sink, phone, count)
        wrong_page = b.submit({"code": wrong(code)})
        assert "Invalid code or auth state for the user." in b.text(wrong_page)
        assert "code" in callback_params(b.submit({"code": code}))

