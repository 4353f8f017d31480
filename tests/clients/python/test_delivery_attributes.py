"""Verifying email addresses and phone numbers with codes delivered over a real SMTP server and an
SMS webhook, with boto3: GetUserAttributeVerificationCode / VerifyUserAttribute, codes sent when
UpdateUserAttributes changes an auto-verified attribute, and UserAttributeUpdateSettings keeping
the old value until the new one is proven."""

from __future__ import annotations

import time

import pytest
from mailroom import (
    code_in,
    email_address,
    mask_email,
    mask_phone,
    phone_number,
    provisioned_user,
    user_attributes,
    verifying_pool,
    wrong_code,
)
from support import attrs_of, aws_error, password_auth

MISMATCH = "Invalid verification code provided, please try again."


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


def me(public_idp, access: str) -> dict:
    return attrs_of(public_idp.get_user(AccessToken=access)["UserAttributes"])


@pytest.mark.parametrize("attribute", ["email", "phone_number"])
def test_verification_code_on_request(idp, public_idp, smtp_sink, sms_sink, attribute):
    pool_id, client = verifying_pool(idp, auto=())
    address, phone = email_address("ver"), phone_number()
    username, pw = provisioned_user(
        idp, pool_id, email=address, phone=phone, email_verified=False, phone_verified=False
    )
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    flag = f"{attribute}_verified"
    assert me(public_idp, access)[flag] == "false"

    sent = public_idp.get_user_attribute_verification_code(AccessToken=access, AttributeName=attribute)
    if attribute == "email":
        assert sent["CodeDeliveryDetails"] == {
            "Destination": mask_email(address),
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        }
        mail = smtp_sink.wait_for(address)[0]
        assert mail.subject == "Your verification code"
        assert mail.text == f"Your verification code is {mail.code}. "
        code = mail.code
    else:
        assert sent["CodeDeliveryDetails"] == {
            "Destination": mask_phone(phone),
            "DeliveryMedium": "SMS",
            "AttributeName": "phone_number",
        }
        message = sms_sink.wait_for(phone)[0]["message"]
        code = code_in(message)
        assert message == f"Your verification code is {code}. "

    with aws_error("CodeMismatchException", MISMATCH):
        public_idp.verify_user_attribute(AccessToken=access, AttributeName=attribute, Code=wrong_code(code))
    public_idp.verify_user_attribute(AccessToken=access, AttributeName=attribute, Code=code)
    got = me(public_idp, access)
    assert got[flag] == "true"
    other = "phone_number_verified" if attribute == "email" else "email_verified"
    assert got[other] == "false"
    with aws_error("CodeMismatchException", MISMATCH):  # used up
        public_idp.verify_user_attribute(AccessToken=access, AttributeName=attribute, Code=code)


def test_a_new_code_replaces_the_old_one(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    address = email_address("rep")
    username, pw = provisioned_user(idp, pool_id, email=address, email_verified=False)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    public_idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    first = smtp_sink.wait_for(address)[0].code
    public_idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    second = smtp_sink.last(address, 2).code
    if first != second:
        with aws_error("CodeMismatchException", MISMATCH):
            public_idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=first)
    public_idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=second)
    assert me(public_idp, access)["email_verified"] == "true"


@pytest.mark.parametrize("attribute", ["email", "phone_number"])
def test_changing_an_auto_verified_attribute_sends_a_code(idp, public_idp, smtp_sink, sms_sink, attribute):
    pool_id, client = verifying_pool(idp, auto=(attribute,))
    old_address, old_phone = email_address("chg"), phone_number()
    username, pw = provisioned_user(idp, pool_id, email=old_address, phone=old_phone)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    new = email_address("new") if attribute == "email" else phone_number()
    resp = public_idp.update_user_attributes(
        AccessToken=access, UserAttributes=[{"Name": attribute, "Value": new}]
    )
    if attribute == "email":
        expected = {"Destination": mask_email(new), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    else:
        expected = {"Destination": mask_phone(new), "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    assert resp["CodeDeliveryDetailsList"] == [expected]

    got = me(public_idp, access)
    assert got[attribute] == new
    assert got[f"{attribute}_verified"] == "false"
    if attribute == "email":
        code = smtp_sink.wait_for(new)[0].code
        assert smtp_sink.to(old_address) == []
    else:
        code = code_in(sms_sink.wait_for(new)[0]["message"])
        assert sms_sink.to(old_phone) == []
    public_idp.verify_user_attribute(AccessToken=access, AttributeName=attribute, Code=code)
    got = me(public_idp, access)
    assert got[attribute] == new and got[f"{attribute}_verified"] == "true"


def test_changes_to_other_attributes_send_nothing(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp)
    address = email_address("oth")
    username, pw = provisioned_user(idp, pool_id, email=address)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    resp = public_idp.update_user_attributes(
        AccessToken=access,
        UserAttributes=[{"Name": "given_name", "Value": "Olive"}, {"Name": "email", "Value": address}],
    )
    assert resp.get("CodeDeliveryDetailsList", []) == []
    assert me(public_idp, access)["email_verified"] == "true"
    smtp_sink.assert_nothing_to(address, settle=0.5)


def test_the_old_email_stands_until_the_new_one_is_verified(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(
        idp, UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]}
    )
    old, new = email_address("dee"), email_address("dee-new")
    username, pw = provisioned_user(idp, pool_id, email=old)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]

    resp = public_idp.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "email", "Value": new}])
    assert resp["CodeDeliveryDetailsList"] == [
        {"Destination": mask_email(new), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    ]
    got = me(public_idp, access)
    assert (got["email"], got["email_verified"]) == (old, "true")
    assert user_attributes(idp, pool_id, username)[1]["email"] == old
    first = smtp_sink.wait_for(new)[0].code
    time.sleep(0.2)
    assert smtp_sink.to(old) == []

    # Asking again sends a fresh code to the address waiting for verification.
    sent = public_idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    assert sent["CodeDeliveryDetails"]["Destination"] == mask_email(new)
    code = smtp_sink.last(new, 2).code
    if code != first:
        with aws_error("CodeMismatchException", MISMATCH):
            public_idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=first)
    assert me(public_idp, access)["email"] == old

    public_idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=code)
    got = me(public_idp, access)
    assert (got["email"], got["email_verified"]) == (new, "true")
