"""Password recovery with codes delivered over a real SMTP server and an SMS webhook, with boto3:
ForgotPassword (legacy channel order, AccountRecoverySetting, admin_only, no verified channel,
unknown users with and without PreventUserExistenceErrors), ConfirmForgotPassword (attempt
limit, password policy, revocation of earlier sessions), AdminResetUserPassword, and code expiry
on a server whose clock is moved with libfaketime."""

from __future__ import annotations

import re
import time

import pytest
from mailroom import (
    FakeClock,
    code_in,
    delivery_args,
    email_address,
    mask_email,
    mask_phone,
    phone_number,
    provisioned_user,
    user_attributes,
    verifying_pool,
    wrong_code,
)
from support import aws_error, create_client, password, password_auth, sign_up, unique

MISMATCH = "Invalid verification code provided, please try again."
LIMIT = "Attempt limit exceeded, please try after some time."
EXPIRED = "Invalid code provided, please request a code again."
NO_CHANNEL = "Cannot reset password for the user as there is no registered/verified email or phone_number"
WEAK = "Password did not conform with policy: Password not long enough"


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


def forgot(public_idp, client, username):
    return public_idp.forgot_password(ClientId=client["ClientId"], Username=username)["CodeDeliveryDetails"]


def confirm_forgot(public_idp, client, username, code, new_pw):
    return public_idp.confirm_forgot_password(
        ClientId=client["ClientId"], Username=username, ConfirmationCode=code, Password=new_pw
    )


def test_reset_by_sms_first_then_sessions_end(idp, public_idp, smtp_sink, sms_sink):
    # No AccountRecoverySetting: Cognito's legacy order, a verified phone before a verified email.
    pool_id, client = verifying_pool(idp)
    address, phone = email_address("rae"), phone_number()
    username, old_pw = provisioned_user(idp, pool_id, email=address, phone=phone)
    before = password_auth(public_idp, client, username, old_pw)

    details = forgot(public_idp, client, username)
    assert details == {"Destination": mask_phone(phone), "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    sms = sms_sink.wait_for(phone)[0]
    assert sms["pool_id"] == pool_id
    code = code_in(sms["message"])
    assert sms["message"] == f"Your verification code is {code}. "
    time.sleep(0.3)
    assert smtp_sink.to(address) == []

    new_pw = password()
    confirm_forgot(public_idp, client, username, code, new_pw)
    assert password_auth(public_idp, client, username, new_pw)["AccessToken"]
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        password_auth(public_idp, client, username, old_pw)
    # The reset ended the sessions from before it.
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": before["RefreshToken"]},
        )
    # A code works once.
    with aws_error("CodeMismatchException", MISMATCH):
        confirm_forgot(public_idp, client, username, code, password())


def test_reset_by_email_when_only_the_email_is_verified(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp)
    address, phone = email_address("eva"), phone_number()
    username, _ = provisioned_user(idp, pool_id, email=address, phone=phone, phone_verified=False)
    details = forgot(public_idp, client, username)
    assert details == {"Destination": mask_email(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    mail = smtp_sink.wait_for(address)[0]
    assert mail.subject == "Your verification code"
    assert mail.text == f"Your verification code is {mail.code}. "
    assert sms_sink.to(phone) == []
    new_pw = password()
    confirm_forgot(public_idp, client, username, mail.code, new_pw)
    assert password_auth(public_idp, client, username, new_pw)["AccessToken"]


@pytest.mark.parametrize(
    "mechanisms, verified, medium",
    [
        ([("verified_email", 1), ("verified_phone_number", 2)], {"email", "phone"}, "EMAIL"),
        ([("verified_phone_number", 1), ("verified_email", 2)], {"email", "phone"}, "SMS"),
        ([("verified_phone_number", 1), ("verified_email", 2)], {"email"}, "EMAIL"),
        ([("verified_email", 1)], {"phone"}, None),
    ],
    ids=["email-first", "phone-first", "phone-first-unverified", "email-only-unverified"],
)
def test_account_recovery_setting_orders_the_channels(
    idp, public_idp, smtp_sink, sms_sink, mechanisms, verified, medium
):
    pool_id, client = verifying_pool(
        idp,
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": n, "Priority": p} for n, p in mechanisms]},
    )
    address, phone = email_address("acc"), phone_number()
    username, _ = provisioned_user(
        idp,
        pool_id,
        email=address,
        phone=phone,
        email_verified="email" in verified,
        phone_verified="phone" in verified,
    )
    if medium is None:
        with aws_error("InvalidParameterException", NO_CHANNEL):
            forgot(public_idp, client, username)
        return
    details = forgot(public_idp, client, username)
    assert details["DeliveryMedium"] == medium
    if medium == "EMAIL":
        assert details["Destination"] == mask_email(address)
        assert smtp_sink.wait_for(address)[0].code
    else:
        assert details["Destination"] == mask_phone(phone)
        assert code_in(sms_sink.wait_for(phone)[0]["message"])


def test_admin_only_recovery_refuses_self_service(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(
        idp, AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]}
    )
    address = email_address("adm")
    username, _ = provisioned_user(idp, pool_id, email=address)
    with aws_error("NotAuthorizedException"):
        forgot(public_idp, client, username)
    smtp_sink.assert_nothing_to(address, settle=0.5)


def test_no_verified_channel(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp)
    address, phone = email_address("nov"), phone_number()
    username, _ = provisioned_user(
        idp, pool_id, email=address, phone=phone, email_verified=False, phone_verified=False
    )
    with aws_error("InvalidParameterException", NO_CHANNEL):
        forgot(public_idp, client, username)
    no_contact, _ = provisioned_user(idp, pool_id)
    with aws_error("InvalidParameterException", NO_CHANNEL):
        forgot(public_idp, client, no_contact)
    time.sleep(0.5)
    assert smtp_sink.to(address) == [] and sms_sink.to(phone) == []


def test_unknown_users_with_and_without_user_existence_errors(idp, public_idp):
    pool_id, legacy = verifying_pool(idp, client_args={"PreventUserExistenceErrors": "LEGACY"})
    with aws_error("UserNotFoundException", "User does not exist."):
        forgot(public_idp, legacy, "nobody-here")

    hiding = create_client(idp, pool_id, PreventUserExistenceErrors="ENABLED")
    fake = forgot(public_idp, hiding, "nobody-here")
    assert fake["DeliveryMedium"] == "EMAIL" and fake["AttributeName"] == "email"
    assert re.fullmatch(r"[a-z]\*\*\*@[a-z]\*\*\*", fake["Destination"]), fake
    assert forgot(public_idp, hiding, "nobody-here") == fake, "a simulated destination is stable"
    other = [forgot(public_idp, hiding, f"nobody-{i}")["Destination"] for i in range(6)]
    assert len(set(other)) > 1, "simulated destinations differ between names, like real ones"
    with aws_error("CodeMismatchException", MISMATCH):
        confirm_forgot(public_idp, hiding, "nobody-here", "123456", password())


def test_five_wrong_codes_spend_the_code(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    address = email_address("cat")
    username, old_pw = provisioned_user(idp, pool_id, email=address)
    forgot(public_idp, client, username)
    code = smtp_sink.wait_for(address)[0].code
    for _ in range(5):
        with aws_error("CodeMismatchException", MISMATCH):
            confirm_forgot(public_idp, client, username, wrong_code(code), password())
    with aws_error("LimitExceededException", LIMIT):
        confirm_forgot(public_idp, client, username, code, password())
    assert password_auth(public_idp, client, username, old_pw)["AccessToken"], "nothing changed"

    # A new code; a password the policy refuses doesn't spend it.
    forgot(public_idp, client, username)
    code = smtp_sink.last(address, 2).code
    with aws_error("InvalidPasswordException", WEAK):
        confirm_forgot(public_idp, client, username, code, "Ab1!")
    new_pw = password()
    confirm_forgot(public_idp, client, username, code, new_pw)
    assert password_auth(public_idp, client, username, new_pw)["AccessToken"]


def test_admin_reset_user_password(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    address = email_address("fay")
    username, old_pw = provisioned_user(idp, pool_id, email=address)
    before = password_auth(public_idp, client, username, old_pw)

    idp.admin_reset_user_password(UserPoolId=pool_id, Username=username)
    assert user_attributes(idp, pool_id, username)[0] == "RESET_REQUIRED"
    mail = smtp_sink.wait_for(address)[0]
    assert mail.text == f"Your verification code is {mail.code}. "
    with aws_error("PasswordResetRequiredException", "Password reset required for the user"):
        password_auth(public_idp, client, username, old_pw)
    with aws_error("NotAuthorizedException", "Refresh Token has been revoked"):
        public_idp.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": before["RefreshToken"]},
        )

    new_pw = password()
    confirm_forgot(public_idp, client, username, mail.code, new_pw)
    assert user_attributes(idp, pool_id, username)[0] == "CONFIRMED"
    assert password_auth(public_idp, client, username, new_pw)["AccessToken"]

    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_reset_user_password(UserPoolId=pool_id, Username="nobody-here")


@pytest.fixture
def clock(tmp_path):
    pytest.importorskip("libfaketime", reason="libfaketime moves the server's clock")
    return FakeClock(tmp_path)


def test_codes_expire_and_send_limits_reset(spawn, clock, smtp_sink):
    """Reset codes live an hour, sign-up codes a day, and the hourly send limit lets up after an
    hour. Signed (admin) calls come first: after the jumps the server's clock is hours ahead of
    the client's, so only public operations follow."""
    s = spawn(extra_env=clock.env, extra_args=delivery_args(smtp_sink))
    if not clock.works_on(s.endpoint):
        pytest.skip("libfaketime could not move the server's clock on this platform")
    idp, public = s.client(), s.client(unsigned=True)
    pool_id, client = verifying_pool(idp)
    address = email_address("exp")
    username, old_pw = provisioned_user(idp, pool_id, email=address)

    forgot(public, client, username)
    reset_code = smtp_sink.wait_for(address)[0].code

    signer, signer_address = unique("late"), email_address("late")
    sign_up(public, client, signer, password(), {"email": signer_address})
    for _ in range(4):
        public.resend_confirmation_code(ClientId=client["ClientId"], Username=signer)
    with aws_error("LimitExceededException", LIMIT):
        public.resend_confirmation_code(ClientId=client["ClientId"], Username=signer)
    smtp_sink.wait_for(signer_address, 5)

    clock.advance(3601)
    with aws_error("ExpiredCodeException", EXPIRED):
        confirm_forgot(public, client, username, reset_code, password())
    assert password_auth(public, client, username, old_pw)["AccessToken"], "nothing changed"
    forgot(public, client, username)
    fresh = smtp_sink.last(address, 2).code
    new_pw = password()
    confirm_forgot(public, client, username, fresh, new_pw)
    assert password_auth(public, client, username, new_pw)["AccessToken"]

    # An hour on, the sign-up's sender may send again; that code lives a day.
    public.resend_confirmation_code(ClientId=client["ClientId"], Username=signer)
    late_code = smtp_sink.last(signer_address, 6).code
    clock.advance(24 * 3600 + 1)
    with aws_error("ExpiredCodeException", EXPIRED):
        public.confirm_sign_up(ClientId=client["ClientId"], Username=signer, ConfirmationCode=late_code)
    public.resend_confirmation_code(ClientId=client["ClientId"], Username=signer)
    public.confirm_sign_up(
        ClientId=client["ClientId"], Username=signer, ConfirmationCode=smtp_sink.last(signer_address, 7).code
    )
