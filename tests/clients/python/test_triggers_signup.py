"""Lambda triggers around sign-up and messages, with boto3 against the real binary: PreSignUp,
PostConfirmation, CustomMessage and CustomEmailSender. The functions are ordinary Python Lambda
handlers (functions/*.py) served by an Invoke-API host (lambda_host.py) that Tessera reaches with
`--lambda-endpoint`; codes travel by real SMTP (aiosmtpd)."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from conftest import MAIL_FROM
from lambda_host import LambdaHost, arn, triggered_pool
from mailroom import delivery_args, mask_email, user_attributes
from support import attrs_of, aws_error, password, password_auth, sign_up, unique
from tessera_server import TesseraServer


@pytest.fixture(scope="module")
def functions():
    host = LambdaHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions, smtp_sink):
    """`tessera serve --lambda-endpoint <host> --lambda-allow-private --smtp-url <sink> …`."""
    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-triggers") / "data",
        extra_args=functions.server_args() + delivery_args(smtp_sink, None, MAIL_FROM),
    ).start()
    yield s
    s.stop()


def address(prefix: str, domain: str = "example.com") -> str:
    return f"{unique(prefix)}@{domain}"


# -- PreSignUp ----------------------------------------------------------------------------------


def test_pre_sign_up_refuses_by_email_domain(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")}, AutoVerifiedAttributes=["email"])
    name, to = unique("mallory"), address("mallory", "blocked.test")
    with aws_error(
        "UserLambdaValidationException",
        "PreSignUp failed with error Registration from this domain is not allowed.",
    ):
        sign_up(public_idp, client, name, password(), {"email": to})
    # Nothing half-done: no user, no code sent.
    with aws_error("UserNotFoundException", "User does not exist."):
        idp.admin_get_user(UserPoolId=pool_id, Username=name)
    smtp_sink.assert_nothing_to(to, settle=0.5)
    [call] = functions.calls("pre-sign-up", pool_id)
    assert call.error == "Registration from this domain is not allowed"
    # The name is still free for a sign-up the function accepts.
    sign_up(public_idp, client, name, password(), {"email": address("mallory")})


def test_the_invocation_is_lambdas_invoke_api(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")})
    sign_up(public_idp, client, unique("wire"), password(), {"email": address("wire")})
    [call] = functions.calls("pre-sign-up", pool_id)
    # FunctionName is the ARN from LambdaConfig, percent-encoded as one path segment.
    assert call.path == (
        "/2015-03-31/functions/"
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Apre-sign-up/invocations"
    )
    assert urllib.parse.unquote(call.path.split("/")[3]) == arn("pre-sign-up")
    assert call.invocation_type == "RequestResponse"
    assert call.headers["content-type"].startswith("application/json")
    assert call.status == 200 and call.error is None


def test_pre_sign_up_confirms_and_verifies(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(
        idp,
        {"PreSignUp": arn("pre-sign-up"), "PostConfirmation": arn("post-confirmation")},
        AutoVerifiedAttributes=["email"],
    )
    name, pw, to = unique("ann"), password(), address("ann", "trusted.test")
    resp = public_idp.sign_up(
        ClientId=client["ClientId"],
        Username=name,
        Password=pw,
        UserAttributes=[{"Name": "email", "Value": to}, {"Name": "custom:tier", "Value": "gold"}],
        ValidationData=[{"Name": "captcha", "Value": "ok"}],
        ClientMetadata={"source": "web"},
    )
    assert resp["UserConfirmed"] is True
    assert "CodeDeliveryDetails" not in resp  # confirmed: no code to send
    status, attrs = user_attributes(idp, pool_id, name)
    assert status == "CONFIRMED"
    assert attrs["email_verified"] == "true"
    assert attrs["sub"] == resp["UserSub"]
    smtp_sink.assert_nothing_to(to, settle=0.5)
    # Usable at once.
    assert password_auth(public_idp, client, name, pw)["AccessToken"]

    [event] = functions.events("pre-sign-up", pool_id)
    assert event["version"] == "1"
    assert event["triggerSource"] == "PreSignUp_SignUp"
    assert event["region"] == "us-east-1"
    assert event["userPoolId"] == pool_id
    assert event["userName"] == name
    assert event["callerContext"]["clientId"] == client["ClientId"]
    assert isinstance(event["callerContext"]["awsSdkVersion"], str)
    attrs = event["request"]["userAttributes"]
    assert attrs["email"] == to and attrs["custom:tier"] == "gold"
    assert attrs["cognito:user_status"] == "UNCONFIRMED"
    assert all(isinstance(v, str) for v in attrs.values())
    assert event["request"]["validationData"] == {"captcha": "ok"}
    assert event["request"]["clientMetadata"] == {"source": "web"}
    assert event["response"] == {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}

    # The auto-confirmed user is welcomed by PostConfirmation, as Cognito does.
    [post] = functions.events("post-confirmation", pool_id)
    assert post["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert post["userName"] == name
    assert post["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    assert post["request"]["userAttributes"]["sub"] == resp["UserSub"]
    assert post["request"]["clientMetadata"] == {"source": "web"}


def test_without_the_trusted_domain_the_user_confirms_by_code(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(
        idp,
        {"PreSignUp": arn("pre-sign-up"), "PostConfirmation": arn("post-confirmation")},
        AutoVerifiedAttributes=["email"],
    )
    name, to = unique("bob"), address("bob")
    resp = sign_up(public_idp, client, name, password(), {"email": to})
    assert resp["UserConfirmed"] is False
    assert resp["CodeDeliveryDetails"]["Destination"] == mask_email(to)
    assert functions.events("post-confirmation", pool_id) == []

    code = smtp_sink.wait_for(to)[0].code
    public_idp.confirm_sign_up(
        ClientId=client["ClientId"], Username=name, ConfirmationCode=code, ClientMetadata={"step": "confirm"}
    )
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"
    [post] = functions.events("post-confirmation", pool_id)
    assert post["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert post["callerContext"]["clientId"] == client["ClientId"]
    assert post["request"]["clientMetadata"] == {"step": "confirm"}
    assert post["request"]["userAttributes"]["email_verified"] == "true"
    assert post["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"


def test_admin_confirm_sign_up_runs_post_confirmation(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PostConfirmation": arn("post-confirmation")})
    name = unique("cy")
    sign_up(public_idp, client, name, password(), {"email": address("cy")})
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=name, ClientMetadata={"by": "admin"})
    [post] = functions.events("post-confirmation", pool_id)
    assert post["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert post["userName"] == name
    assert post["request"]["clientMetadata"] == {"by": "admin"}
    assert post["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"


def test_confirm_forgot_password_runs_post_confirmation(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(idp, {"PostConfirmation": arn("post-confirmation")})
    name, to = unique("dee"), address("dee")
    old = password()
    sign_up(public_idp, client, name, old, {"email": to})
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=name)
    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username=name, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    public_idp.forgot_password(ClientId=client["ClientId"], Username=name)
    code = smtp_sink.wait_for(to)[0].code
    new = password()
    public_idp.confirm_forgot_password(
        ClientId=client["ClientId"], Username=name, ConfirmationCode=code, Password=new,
        ClientMetadata={"flow": "reset"},
    )
    events = functions.events("post-confirmation", pool_id)
    assert [e["triggerSource"] for e in events] == [
        "PostConfirmation_ConfirmSignUp",
        "PostConfirmation_ConfirmForgotPassword",
    ]
    assert events[1]["request"]["clientMetadata"] == {"flow": "reset"}
    assert events[1]["callerContext"]["clientId"] == client["ClientId"]
    assert password_auth(public_idp, client, name, new)["AccessToken"]


def test_a_failing_post_confirmation_is_reported_but_the_user_is_confirmed(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(
        idp, {"PostConfirmation": arn("post-confirmation-fails")}, AutoVerifiedAttributes=["email"]
    )
    name, pw, to = unique("eve"), password(), address("eve")
    sign_up(public_idp, client, name, pw, {"email": to})
    code = smtp_sink.wait_for(to)[0].code
    with aws_error(
        "UserLambdaValidationException", "PostConfirmation failed with error Welcome service unavailable."
    ):
        public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=name, ConfirmationCode=code)
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"
    assert password_auth(public_idp, client, name, pw)["AccessToken"]


def test_pre_sign_up_for_admin_create_user(idp, functions):
    pool_id, _ = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")})
    name = unique("inv")
    user = idp.admin_create_user(
        UserPoolId=pool_id,
        Username=name,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": address("inv", "trusted.test")}],
        ValidationData=[{"Name": "ticket", "Value": "T-1"}],
        ClientMetadata={"by": "ops"},
    )["User"]
    # Auto-confirmation is the self-service sign-up's: an invitation keeps its status.
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    [event] = functions.events("pre-sign-up", pool_id)
    assert event["triggerSource"] == "PreSignUp_AdminCreateUser"
    assert event["userName"] == name
    assert event["callerContext"]["clientId"] == "CLIENT_ID_NOT_APPLICABLE"
    assert event["request"]["validationData"] == {"ticket": "T-1"}
    assert event["request"]["clientMetadata"] == {"by": "ops"}

    refused = unique("inv")
    with aws_error(
        "UserLambdaValidationException",
        "PreSignUp failed with error Registration from this domain is not allowed.",
    ):
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=refused,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": address("inv", "blocked.test")}],
        )
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool_id, Username=refused)


# -- the pool's configuration ----------------------------------------------------------------------


def test_describe_user_pool_shows_the_lambda_config(idp):
    """Cognito returns the pool's LambdaConfig from CreateUserPool, DescribeUserPool and
    ListUserPools (tools that describe, edit and UpdateUserPool depend on it to keep the
    triggers)."""
    config = {
        "PreSignUp": arn("pre-sign-up"),
        "CustomMessage": arn("custom-message"),
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": arn("pre-token-v2")},
        **custom_sender_config(),
    }
    created = idp.create_user_pool(PoolName=unique("described"), LambdaConfig=config)["UserPool"]
    described = idp.describe_user_pool(UserPoolId=created["Id"])["UserPool"]
    for pool in (created, described):
        got = pool["LambdaConfig"]
        assert got.get("PreSignUp") == arn("pre-sign-up"), got
        assert got.get("CustomMessage") == arn("custom-message"), got
        assert got.get("PreTokenGenerationConfig") == {"LambdaVersion": "V2_0", "LambdaArn": arn("pre-token-v2")}, got
        assert got.get("CustomEmailSender") == {"LambdaVersion": "V1_0", "LambdaArn": arn("custom-email-sender")}, got
        assert got.get("KMSKeyID") == config["KMSKeyID"], got
    pages = idp.get_paginator("list_user_pools").paginate(MaxResults=60)
    listed = [p for page in pages for p in page["UserPools"] if p["Id"] == created["Id"]]
    assert len(listed) == 1
    assert listed[0].get("LambdaConfig", {}).get("PreSignUp") == arn("pre-sign-up"), listed[0]


# -- CustomMessage --------------------------------------------------------------------------------


def test_custom_message_words_the_sign_up_email(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(
        idp, {"CustomMessage": arn("custom-message")}, AutoVerifiedAttributes=["email"]
    )
    name, to = unique("fay"), address("fay")
    public_idp.sign_up(
        ClientId=client["ClientId"], Username=name, Password=password(),
        UserAttributes=[{"Name": "email", "Value": to}], ClientMetadata={"tier": "gold"},
    )
    mail = smtp_sink.wait_for(to)[0]
    assert mail.subject == f"[CustomMessage_SignUp] for {name}"
    m = re.fullmatch(rf"Hello {re.escape(name)}, your code is (\d{{6}})\. Tier: gold", mail.text)
    assert m, mail.text
    assert mail.header("From") == MAIL_FROM

    [event] = functions.events("custom-message", pool_id)
    assert event["triggerSource"] == "CustomMessage_SignUp"
    assert event["request"]["codeParameter"] == "{####}"  # the function never sees the code
    assert event["request"]["userAttributes"]["email"] == to
    assert event["request"]["clientMetadata"] == {"tier": "gold"}
    assert event["response"] == {"smsMessage": None, "emailMessage": None, "emailSubject": None}

    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=name, ConfirmationCode=m.group(1))
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"


def test_custom_message_words_resent_codes_and_password_resets(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(
        idp, {"CustomMessage": arn("custom-message")}, AutoVerifiedAttributes=["email"]
    )
    name, to, pw = unique("gus"), address("gus"), password()
    sign_up(public_idp, client, name, pw, {"email": to})
    public_idp.resend_confirmation_code(ClientId=client["ClientId"], Username=name)
    resent = smtp_sink.wait_for(to, 2)[1]
    assert resent.subject == f"[CustomMessage_ResendCode] for {name}"
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=name, ConfirmationCode=resent.code)

    public_idp.forgot_password(ClientId=client["ClientId"], Username=name)
    reset = smtp_sink.wait_for(to, 3)[2]
    assert reset.subject == f"Reset for {name}"
    assert reset.text == f"Reset code for {name}: {reset.code}"
    new = password()
    public_idp.confirm_forgot_password(
        ClientId=client["ClientId"], Username=name, ConfirmationCode=reset.code, Password=new
    )
    assert password_auth(public_idp, client, name, new)["AccessToken"]
    sources = [e["triggerSource"] for e in functions.events("custom-message", pool_id)]
    assert sources == ["CustomMessage_SignUp", "CustomMessage_ResendCode", "CustomMessage_ForgotPassword"]


def test_custom_message_words_invitations(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(idp, {"CustomMessage": arn("custom-message")})
    name, to = unique("hal"), address("hal")
    idp.admin_create_user(
        UserPoolId=pool_id, Username=name, DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": to}],
    )
    mail = smtp_sink.wait_for(to)[0]
    assert mail.subject == "Welcome aboard"
    m = re.fullmatch(rf"Hi! Sign in as {re.escape(name)} with (.+) before it expires\.", mail.text)
    assert m, mail.text
    [event] = functions.events("custom-message", pool_id)
    assert event["triggerSource"] == "CustomMessage_AdminCreateUser"
    assert event["request"]["usernameParameter"] == "{username}"
    assert event["request"]["codeParameter"] == "{####}"
    r = public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": m.group(1)},
    )
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


# -- CustomEmailSender --------------------------------------------------------------------------


def custom_sender_config() -> dict:
    return {
        "CustomEmailSender": {"LambdaVersion": "V1_0", "LambdaArn": arn("custom-email-sender")},
        "KMSKeyID": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }


def test_custom_email_sender_gets_the_code(idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(idp, custom_sender_config(), AutoVerifiedAttributes=["email"])
    name, to = unique("ivy"), address("ivy")
    resp = sign_up(public_idp, client, name, password(), {"email": to})
    assert resp["CodeDeliveryDetails"] == {"Destination": mask_email(to), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    [call] = functions.wait_for("custom-email-sender", 1, pool_id)
    # Custom senders are invoked asynchronously, as Cognito does.
    assert call.invocation_type == "Event"
    assert call.status == 202
    event = call.event
    assert event["triggerSource"] == "CustomEmailSender_SignUp"
    assert event["userName"] == name
    assert event["request"]["type"] == "customEmailSenderRequestV1"
    assert event["request"]["userAttributes"]["email"] == to
    # Tessera hands over the code in plaintext (Cognito encrypts it with KMSKeyID).
    code = event["request"]["code"]
    assert re.fullmatch(r"\d{6}", code), code
    # The pool's own sender replaces ours: nothing went out by SMTP.
    smtp_sink.assert_nothing_to(to, settle=0.5)
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=name, ConfirmationCode=code)
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"

    # Password resets go the same way.
    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username=name, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    public_idp.forgot_password(ClientId=client["ClientId"], Username=name)
    reset = functions.wait_for("custom-email-sender", 2, pool_id)[1].event
    assert reset["triggerSource"] == "CustomEmailSender_ForgotPassword"
    new = password()
    public_idp.confirm_forgot_password(
        ClientId=client["ClientId"], Username=name, ConfirmationCode=reset["request"]["code"], Password=new
    )
    assert password_auth(public_idp, client, name, new)["AccessToken"]
    assert attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"])["email"] == to
