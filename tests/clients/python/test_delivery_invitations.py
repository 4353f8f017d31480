"""Invitations (AdminCreateUser) delivered over a real SMTP server and an SMS webhook, with boto3:
the default medium (SMS), DesiredDeliveryMediums, InviteMessageTemplate and its placeholder rules,
MessageAction RESEND and SUPPRESS, and the pool's EmailConfiguration From / ReplyToEmailAddress."""

from __future__ import annotations

import re

import pytest
from conftest import MAIL_FROM
from mailroom import email_address, phone_number, user_attributes, verifying_pool
from support import aws_error, create_pool, password, unique

DEFAULT_INVITE = re.compile(r"Your username is (.+) and temporary password is (.+)\. ", re.S)


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


def attrs(**kw) -> list[dict]:
    return [{"Name": k, "Value": v} for k, v in kw.items()]


def sign_in(public_idp, client, username, pw) -> dict:
    return public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw},
    )


def test_default_invitation_goes_by_sms(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp, auto=())
    username, address, phone = unique("inv"), email_address("inv"), phone_number()
    created = idp.admin_create_user(
        UserPoolId=pool_id, Username=username, UserAttributes=attrs(email=address, phone_number=phone)
    )["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    sms = sms_sink.wait_for(phone)[0]
    assert sms["pool_id"] == pool_id
    m = DEFAULT_INVITE.fullmatch(sms["message"])
    assert m, sms["message"]
    assert m.group(1) == username
    temporary = m.group(2)
    smtp_sink.assert_nothing_to(address, settle=0.3)

    challenge = sign_in(public_idp, client, username, temporary)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = public_idp.respond_to_auth_challenge(
        ClientId=client["ClientId"],
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password()},
    )
    assert done["AuthenticationResult"]["AccessToken"]
    assert user_attributes(idp, pool_id, username)[0] == "CONFIRMED"


TEMPLATE = {
    "EmailSubject": "Welcome to Acme",
    "EmailMessage": "Hello {username}! Your first password: [{####}]",
    "SMSMessage": "Acme: {username} / [{####}]",
}


def test_invitation_template_and_mediums(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp, auto=(), AdminCreateUserConfig={"InviteMessageTemplate": TEMPLATE})

    # EMAIL only.
    username, address, phone = unique("tpl"), email_address("tpl"), phone_number()
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=attrs(email=address, phone_number=phone),
    )
    mail = smtp_sink.wait_for(address)[0]
    assert mail.subject == "Welcome to Acme"
    assert mail.header("From") == MAIL_FROM
    m = re.fullmatch(rf"Hello {re.escape(username)}! Your first password: \[(.+)\]", mail.text, re.S)
    assert m, mail.text
    assert sign_in(public_idp, client, username, m.group(1))["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    sms_sink.assert_nothing_to(phone, settle=0.3)

    # Both mediums, with the administrator's temporary password.
    username, address, phone = unique("two"), email_address("two"), phone_number()
    temporary = password()
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        TemporaryPassword=temporary,
        DesiredDeliveryMediums=["EMAIL", "SMS"],
        UserAttributes=attrs(email=address, phone_number=phone),
    )
    assert smtp_sink.wait_for(address)[0].text == f"Hello {username}! Your first password: [{temporary}]"
    assert sms_sink.wait_for(phone)[0]["message"] == f"Acme: {username} / [{temporary}]"


def test_resend_issues_a_new_temporary_password(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(idp, auto=(), AdminCreateUserConfig={"InviteMessageTemplate": TEMPLATE})
    username, address = unique("res"), email_address("res")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=attrs(email=address),
    )
    first = re.search(r"\[(.+)\]", smtp_sink.wait_for(address)[0].text).group(1)

    resent = idp.admin_create_user(
        UserPoolId=pool_id, Username=username, MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"]
    )["User"]
    assert resent["Username"] == username and resent["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    second = re.search(r"\[(.+)\]", smtp_sink.last(address, 2).text).group(1)
    assert second != first
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        sign_in(public_idp, client, username, first)
    assert sign_in(public_idp, client, username, second)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_create_user(UserPoolId=pool_id, Username="nobody-here", MessageAction="RESEND")


def test_suppress_sends_nothing(idp, public_idp, smtp_sink, sms_sink):
    pool_id, client = verifying_pool(idp, auto=())
    username, address, phone = unique("sup"), email_address("sup"), phone_number()
    temporary = password()
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        TemporaryPassword=temporary,
        MessageAction="SUPPRESS",
        DesiredDeliveryMediums=["EMAIL", "SMS"],
        UserAttributes=attrs(email=address, phone_number=phone),
    )
    smtp_sink.assert_nothing_to(address, settle=1.0)
    assert sms_sink.to(phone) == []
    assert sign_in(public_idp, client, username, temporary)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


@pytest.mark.parametrize(
    "template",
    [
        {"EmailMessage": "Your password is {####}"},
        {"EmailMessage": "Hello {username}"},
        {"SMSMessage": "Your password is {####}"},
        {"SMSMessage": "Hello {username}"},
    ],
    ids=["email-no-username", "email-no-code", "sms-no-username", "sms-no-code"],
)
def test_invitation_templates_need_both_placeholders(idp, template):
    with aws_error("InvalidParameterException"):
        create_pool(idp, AdminCreateUserConfig={"InviteMessageTemplate": template})
    pool_id = create_pool(idp)
    with aws_error("InvalidParameterException"):
        idp.update_user_pool(UserPoolId=pool_id, AdminCreateUserConfig={"InviteMessageTemplate": template})
    assert "InviteMessageTemplate" not in idp.describe_user_pool(UserPoolId=pool_id)["UserPool"].get(
        "AdminCreateUserConfig", {}
    )


def test_pool_email_configuration_sets_from_and_reply_to(idp, public_idp, smtp_sink):
    pool_id, client = verifying_pool(
        idp,
        auto=(),
        EmailConfiguration={"From": "Acme Support <support@acme.test>", "ReplyToEmailAddress": "help@acme.test"},
    )
    username, address = unique("frm"), email_address("frm")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=attrs(email=address),
    )
    mail = smtp_sink.wait_for(address)[0]
    assert mail.subject == "Your temporary password"
    assert DEFAULT_INVITE.fullmatch(mail.text), mail.text
    assert mail.header("From") == "Acme Support <support@acme.test>"
    assert mail.header("Reply-To") == "help@acme.test"
    assert mail.mail_from == "support@acme.test"

    # A Reply-To alone keeps the deployment's sender.
    pool_id, _ = verifying_pool(idp, auto=(), EmailConfiguration={"ReplyToEmailAddress": "help@acme.test"})
    address = email_address("rto")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=unique("rto"),
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=attrs(email=address),
    )
    mail = smtp_sink.wait_for(address)[0]
    assert mail.header("From") == MAIL_FROM
    assert mail.header("Reply-To") == "help@acme.test"


def test_a_user_with_nowhere_to_send_is_still_created(idp, public_idp, smtp_sink, sms_sink):
    """Cognito creates a user that has no email or phone number (the API reference: a user may
    have no attributes but the username) and just sends no invitation; by default (SMS) a user
    with only an email address gets nothing either."""
    pool_id, client = verifying_pool(idp, auto=())
    bare, temporary = unique("bare"), password()
    created = idp.admin_create_user(UserPoolId=pool_id, Username=bare, TemporaryPassword=temporary)
    assert created["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert sign_in(public_idp, client, bare, temporary)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    # Without a TemporaryPassword too: one is generated and nobody is told (an admin resets it).
    generated = unique("nopw")
    assert idp.admin_create_user(UserPoolId=pool_id, Username=generated)["User"]["Username"] == generated

    address = email_address("only-mail")
    only_mail = unique("mailonly")
    idp.admin_create_user(UserPoolId=pool_id, Username=only_mail, UserAttributes=attrs(email=address))
    assert idp.admin_get_user(UserPoolId=pool_id, Username=only_mail)["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    smtp_sink.assert_nothing_to(address, settle=0.3)


def test_a_requested_medium_needs_its_destination(idp, smtp_sink, sms_sink):
    pool_id, _ = verifying_pool(idp, auto=())
    phone = phone_number()
    with aws_error("InvalidParameterException", "No email provided but desired delivery medium was Email"):
        idp.admin_create_user(UserPoolId=pool_id, Username=unique("nomail"), DesiredDeliveryMediums=["EMAIL"],
                              UserAttributes=attrs(phone_number=phone))
    with aws_error("InvalidParameterException",
                   "No phone_number provided but desired delivery medium was Sms"):
        idp.admin_create_user(UserPoolId=pool_id, Username=unique("nophone"), DesiredDeliveryMediums=["SMS"],
                              UserAttributes=attrs(email=email_address("nophone")))
    # Both requested and only one destination: refused, and nothing was created or sent.
    name = unique("half")
    with aws_error("InvalidParameterException", "No email provided but desired delivery medium was Email"):
        idp.admin_create_user(UserPoolId=pool_id, Username=name, DesiredDeliveryMediums=["EMAIL", "SMS"],
                              UserAttributes=attrs(phone_number=phone))
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool_id, Username=name)
    sms_sink.assert_nothing_to(phone, settle=0.3)
