"""Choice-based sign-in (USER_AUTH) through boto3: SELECT_CHALLENGE and AvailableChallenges as
the pool's AllowedFirstAuthFactors and the user's own factors allow, each first factor answered
(PASSWORD, PASSWORD_SRP, EMAIL_OTP and SMS_OTP with codes read from the mail and SMS sinks), MFA
after a password but not after a passwordless factor, no user enumeration, lockout,
GetUserAuthFactors / AdminGetUserAuthFactors, and passwordless sign-up.

WEB_AUTHN (passkeys) is in test_passkeys.py."""

from __future__ import annotations

import pytest
from pycognito.aws_srp import AWSSRP

from mailroom import code_in, email_address, mask_email, mask_phone, phone_number, provisioned_user
from mfa_support import answer, start_user_auth as start, tokens_of
from support import aws_error, create_client, create_pool, password, unique

INCORRECT = "Incorrect username or password."
MISMATCH = "Invalid code or auth state for the user."
ALL_FACTORS = ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]


@pytest.fixture(scope="module")
def server(mail_server):
    return mail_server


def choice_pool(idp, factors=ALL_FACTORS, **kwargs) -> str:
    return create_pool(
        idp,
        Policies={"SignInPolicy": {"AllowedFirstAuthFactors": factors}},
        AutoVerifiedAttributes=["email"],
        **kwargs,
    )


def choice_client(idp, pool_id, *, hide=False, flows=None) -> dict:
    return create_client(
        idp,
        pool_id,
        ExplicitAuthFlows=flows or ["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED" if hide else "LEGACY",
    )


@pytest.fixture(scope="module")
def pool(idp):
    return choice_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return choice_client(idp, pool)


@pytest.fixture(scope="module")
def hiding_client(idp, pool):
    return choice_client(idp, pool, hide=True)


def mail_code(smtp_sink, address, count) -> str:
    return code_in(smtp_sink.wait_for(address, count)[-1].text)


def sms_code(sms_sink, phone, count) -> str:
    return code_in(sms_sink.wait_for(phone, count)[-1]["message"])


# -- SELECT_CHALLENGE --------------------------------------------------------------------------


def test_select_challenge_offers_what_the_pool_allows_and_the_user_holds(idp, public_idp, pool, client):
    address = email_address()
    username, _ = provisioned_user(idp, pool, email=address)
    r = start(public_idp, client, username)
    assert r["ChallengeName"] == "SELECT_CHALLENGE"
    assert r["ChallengeParameters"] == {}
    assert r["Session"]
    # No phone number: no SMS_OTP. The password comes plainly and through SRP.
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]

    # An unverified email address doesn't count.
    other, _ = provisioned_user(idp, pool, email=email_address(), email_verified=False, phone=phone_number())
    assert start(public_idp, client, other)["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "SMS_OTP"]

    # The answer must be one of them, once.
    with aws_error("InvalidParameterException", contains="Invalid ANSWER"):
        answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="SMS_OTP")


def test_the_password_factor_with_and_without_a_preference(idp, public_idp, pool, client):
    username, pw = provisioned_user(idp, pool, email=email_address())
    r = start(public_idp, client, username)
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="PASSWORD",
               PASSWORD=pw + "x")
    # The selection was used up by that attempt.
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="PASSWORD",
               PASSWORD=pw)
    r = start(public_idp, client, username)
    tokens = tokens_of(answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username,
                              ANSWER="PASSWORD", PASSWORD=pw))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    assert tokens["RefreshToken"]

    # PREFERRED_CHALLENGE=PASSWORD signs in at once.
    tokens = tokens_of(start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    # A preference the user can't use falls back to the choice.
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="SMS_OTP")
    assert r["ChallengeName"] == "SELECT_CHALLENGE"


def test_the_password_srp_factor(idp, public_idp, pool, client):
    username, pw = provisioned_user(idp, pool, email=email_address())
    srp = AWSSRP(username, pw, pool, client["ClientId"], client=public_idp)
    params = srp.get_auth_params()
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD_SRP", SRP_A=params["SRP_A"])
    assert r["ChallengeName"] == "PASSWORD_VERIFIER"
    responses = srp.process_challenge(r["ChallengeParameters"], params)
    tokens = tokens_of(answer(public_idp, client, "PASSWORD_VERIFIER", r.get("Session"), **responses))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username

    # Through SELECT_CHALLENGE too.
    r = start(public_idp, client, username)
    params = srp.get_auth_params()
    v = answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="PASSWORD_SRP",
               SRP_A=params["SRP_A"])
    assert v["ChallengeName"] == "PASSWORD_VERIFIER"
    responses = srp.process_challenge(v["ChallengeParameters"], params)
    tokens_of(answer(public_idp, client, "PASSWORD_VERIFIER", None, **responses))


def test_email_otp_signs_in_with_the_code_sent(idp, public_idp, pool, client, smtp_sink):
    address = email_address()
    username, _ = provisioned_user(idp, pool, email=address)
    r = start(public_idp, client, username)
    r = answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="EMAIL_OTP")
    assert r["ChallengeName"] == "EMAIL_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_email(address)
    code = mail_code(smtp_sink, address, 1)
    with aws_error("CodeMismatchException", MISMATCH):
        answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username,
               EMAIL_OTP_CODE="000000" if code != "000000" else "111111")
    tokens = tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    # Single use.
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code)
    # PREFERRED_CHALLENGE sends the code straight away.
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="EMAIL_OTP")
    assert r["ChallengeName"] == "EMAIL_OTP"
    code = mail_code(smtp_sink, address, 2)
    tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))


def test_sms_otp_signs_in_with_the_code_sent(idp, public_idp, pool, client, sms_sink):
    phone = phone_number()
    username, _ = provisioned_user(idp, pool, phone=phone)
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="SMS_OTP")
    assert r["ChallengeName"] == "SMS_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == mask_phone(phone)
    code = sms_code(sms_sink, phone, 1)
    # The answer is SMS_OTP_CODE (not SMS_MFA_CODE).
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "SMS_OTP", r["Session"], USERNAME=username, SMS_MFA_CODE=code)
    tokens = tokens_of(answer(public_idp, client, "SMS_OTP", r["Session"], USERNAME=username, SMS_OTP_CODE=code))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username


def test_mfa_follows_a_password_but_not_a_passwordless_factor(idp, public_idp, smtp_sink, sms_sink):
    pool_id = choice_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        MfaConfiguration="ON",
        EmailMfaConfiguration={"Subject": "Sign-in code", "Message": "Your sign-in code is {####}"},
    )
    client = choice_client(idp, pool_id)
    address, phone = email_address(), phone_number()
    username, pw = provisioned_user(idp, pool_id, email=address, phone=phone)
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username,
                                      EmailMfaSettings={"Enabled": True, "PreferredMfa": True})

    r = start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw)
    assert r["ChallengeName"] == "EMAIL_OTP"  # the second factor
    code = mail_code(smtp_sink, address, 1)
    tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))

    # An SMS code as the first factor is the whole sign-in, MFA ON or not.
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="SMS_OTP")
    code = sms_code(sms_sink, phone, 1)
    tokens_of(answer(public_idp, client, "SMS_OTP", r["Session"], USERNAME=username, SMS_OTP_CODE=code))


def test_unknown_names_get_the_same_shape_when_hidden(idp, public_idp, pool, client, hiding_client, smtp_sink):
    username, _ = provisioned_user(idp, pool, email=email_address())
    nobody = unique("nobody")
    known = start(public_idp, hiding_client, username)
    unknown = start(public_idp, hiding_client, nobody)
    for r in (known, unknown):
        assert r["ChallengeName"] == "SELECT_CHALLENGE"
        assert r["ChallengeParameters"] == {}
        # Hiding who exists: everything the pool allows, for everyone.
        assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]
    r = answer(public_idp, hiding_client, "SELECT_CHALLENGE", unknown["Session"], USERNAME=nobody, ANSWER="EMAIL_OTP")
    assert r["ChallengeName"] == "EMAIL_OTP"
    assert set(r["ChallengeParameters"]) == {"CODE_DELIVERY_DELIVERY_MEDIUM", "CODE_DELIVERY_DESTINATION",
                                             "USER_ID_FOR_SRP"}
    with aws_error("CodeMismatchException", MISMATCH):
        answer(public_idp, hiding_client, "EMAIL_OTP", r["Session"], USERNAME=nobody, EMAIL_OTP_CODE="123456")
    # A known user picking a factor they don't hold gets the same simulated challenge.
    r = answer(public_idp, hiding_client, "SELECT_CHALLENGE", known["Session"], USERNAME=username, ANSWER="SMS_OTP")
    assert r["ChallengeName"] == "SMS_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"


def test_unknown_password_answers_look_like_wrong_passwords(idp, public_idp, pool, hiding_client, client):
    nobody = unique("nobody")
    r = start(public_idp, hiding_client, nobody)
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, hiding_client, "SELECT_CHALLENGE", r["Session"], USERNAME=nobody, ANSWER="PASSWORD",
               PASSWORD=password())
    # Without hiding, the name is reported unknown.
    with aws_error("UserNotFoundException"):
        start(public_idp, client, nobody)


def test_flow_and_factor_refusals(idp, public_idp, pool):
    no_user_auth = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    username, pw = provisioned_user(idp, pool, email=email_address())
    with aws_error("InvalidParameterException", "USER_AUTH flow not enabled for this client"):
        start(public_idp, no_user_auth, username)
    # A pool that allows passwords only offers nothing else.
    password_pool = choice_pool(idp, ["PASSWORD"])
    client = choice_client(idp, password_pool)
    username, pw = provisioned_user(idp, password_pool, email=email_address())
    r = start(public_idp, client, username)
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP"]
    with aws_error("InvalidParameterException", contains="Invalid ANSWER"):
        answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="EMAIL_OTP")
    with aws_error("InvalidParameterException", contains="PREFERRED_CHALLENGE"):
        start(public_idp, client, username, PREFERRED_CHALLENGE="SOMETHING")


def test_wrong_codes_count_towards_lockout(idp, public_idp, pool, client, smtp_sink):
    address = email_address()
    username, pw = provisioned_user(idp, pool, email=address)
    wrong = lambda code: "000000" if code != "000000" else "111111"  # noqa: E731
    # Three wrong answers use up one session; two more on a second make five failures.
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="EMAIL_OTP")
    code = mail_code(smtp_sink, address, 1)
    for _ in range(3):
        with aws_error("CodeMismatchException"):
            answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=wrong(code))
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="EMAIL_OTP")
    code = mail_code(smtp_sink, address, 2)
    for _ in range(2):
        with aws_error("CodeMismatchException"):
            answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=wrong(code))
    # At once after the fifth failure (the lock lasts a second), even the right code meets it.
    with aws_error("NotAuthorizedException", "Password attempts exceeded"):
        answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code)


# -- GetUserAuthFactors ------------------------------------------------------------------------


def test_user_auth_factors(idp, public_idp, pool, client):
    username, pw = provisioned_user(idp, pool, email=email_address(), phone=phone_number())
    tokens = tokens_of(start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw))
    mine = public_idp.get_user_auth_factors(AccessToken=tokens["AccessToken"])
    assert mine["Username"] == username
    assert mine["ConfiguredUserAuthFactors"] == ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]
    admin = idp.admin_get_user_auth_factors(UserPoolId=pool, Username=username)
    assert admin["ConfiguredUserAuthFactors"] == mine["ConfiguredUserAuthFactors"]
    with aws_error("UserNotFoundException"):
        idp.admin_get_user_auth_factors(UserPoolId=pool, Username=unique("nobody"))


# -- Passwordless sign-up ----------------------------------------------------------------------


def test_passwordless_sign_up_then_an_email_code(idp, public_idp, pool, client, smtp_sink):
    address = email_address()
    username = unique("pwless")
    r = public_idp.sign_up(ClientId=client["ClientId"], Username=username,
                           UserAttributes=[{"Name": "email", "Value": address}])
    assert r["UserConfirmed"] is False
    code = mail_code(smtp_sink, address, 1)
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)

    r = start(public_idp, client, username)
    assert r["AvailableChallenges"] == ["EMAIL_OTP"]  # no password, no phone
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="EMAIL_OTP")
    code = mail_code(smtp_sink, address, 2)
    tokens = tokens_of(answer(public_idp, client, "EMAIL_OTP", r["Session"], USERNAME=username, EMAIL_OTP_CODE=code))
    factors = public_idp.get_user_auth_factors(AccessToken=tokens["AccessToken"])
    assert factors["ConfiguredUserAuthFactors"] == ["EMAIL_OTP"]
    # There is no password to try.
    r = start(public_idp, client, username)
    with aws_error("InvalidParameterException", contains="Invalid ANSWER"):
        answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="PASSWORD",
               PASSWORD=password())


def test_confirm_sign_up_session_signs_the_user_straight_in(idp, public_idp, pool, client, hiding_client,
                                                             smtp_sink):
    address = email_address()
    username = unique("straight")
    public_idp.sign_up(ClientId=client["ClientId"], Username=username,
                       UserAttributes=[{"Name": "email", "Value": address}])
    code = mail_code(smtp_sink, address, 1)
    session = public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username,
                                         ConfirmationCode=code)["Session"]
    # Another client, or another user's name, can't spend it.
    with aws_error("NotAuthorizedException", contains="Invalid session"):
        public_idp.initiate_auth(ClientId=hiding_client["ClientId"], AuthFlow="USER_AUTH",
                                 AuthParameters={"USERNAME": username}, Session=session)
    with aws_error("NotAuthorizedException", contains="Invalid session"):
        public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                 AuthParameters={"USERNAME": unique("other")}, Session=session)
    # The code just given is the first factor: tokens at once, without a second code.
    r = public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                 AuthParameters={"USERNAME": username}, Session=session)
    tokens = r["AuthenticationResult"]
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    assert len(smtp_sink.to(address)) == 1  # the confirmation code only: no sign-in code was sent
    # Once only.
    with aws_error("NotAuthorizedException", contains="Invalid session"):
        public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                 AuthParameters={"USERNAME": username}, Session=session)
    # A client that doesn't allow USER_AUTH gets no session from ConfirmSignUp.
    plain = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    other = email_address()
    name = unique("plain")
    public_idp.sign_up(ClientId=plain["ClientId"], Username=name, Password=password(),
                       UserAttributes=[{"Name": "email", "Value": other}])
    r = public_idp.confirm_sign_up(ClientId=plain["ClientId"], Username=name,
                                   ConfirmationCode=mail_code(smtp_sink, other, 1))
    assert "Session" not in r


def test_a_pool_without_passwordless_factors_requires_a_password(idp, public_idp):
    pool_id = choice_pool(idp, ["PASSWORD"])
    client = choice_client(idp, pool_id)
    with aws_error("InvalidParameterException", "Password is required for this user pool."):
        public_idp.sign_up(ClientId=client["ClientId"], Username=unique("pwless"),
                           UserAttributes=[{"Name": "email", "Value": email_address()}])
