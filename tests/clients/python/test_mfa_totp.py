"""TOTP (software token) MFA with boto3, pyotp and pycognito: the pool's MFA configuration,
enrolment with an access token, sign-in by password and by SRP, wrong and replayed codes, the
MFA_SETUP walk-through of a pool that requires MFA, and the user and admin MFA preferences.

Codes come from pyotp with the secret the server hands out, on the real clock; see
`mfa_support.Authenticator` for how a test gets several codes without waiting.
"""

from __future__ import annotations

import base64
import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito import Cognito
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import SoftwareTokenMFAChallengeException

from mfa_support import (
    INCORRECT,
    MISMATCH,
    USED_ONCE,
    VERIFY_MISMATCH,
    Authenticator,
    answer,
    enrol_totp,
    mfa_client,
    mfa_pool,
    mfa_settings,
    start,
    tokens_of,
    wrong,
)
from support import aws_error, confirmed_user, create_client, create_pool, password_auth
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY


@pytest.fixture(autouse=True)
def _jwks_from_the_server(monkeypatch):
    # pycognito takes the JWKS from $COGNITO_JWKS when set; make sure it fetches it over HTTP.
    monkeypatch.delenv("COGNITO_JWKS", raising=False)


@pytest.fixture(scope="module")
def pool(idp):
    return mfa_pool(idp, "OPTIONAL")


@pytest.fixture(scope="module")
def client(idp, pool):
    return mfa_client(idp, pool)


@pytest.fixture(scope="module")
def required_pool(idp):
    return mfa_pool(idp, "ON")


@pytest.fixture(scope="module")
def required_client(idp, required_pool):
    return mfa_client(idp, required_pool)


def totp_user(idp, public_idp, pool, client, *, name: str | None = "phone"):
    """A confirmed user with a verified, preferred authenticator: (username, password, app)."""
    username, pw = confirmed_user(idp, pool, client)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    return username, pw, enrol_totp(public_idp, access, name=name)


def cognito(server, pool_id: str, client: dict, username: str) -> Cognito:
    return Cognito(
        pool_id,
        client["ClientId"],
        user_pool_region=REGION,
        username=username,
        access_key=ROOT_ACCESS_KEY_ID,
        secret_key=ROOT_SECRET_ACCESS_KEY,
        botocore_config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        boto3_client_kwargs={"endpoint_url": server.endpoint},
    )


# -- the pool's configuration ------------------------------------------------------------------


def test_pool_mfa_configuration_round_trip(idp):
    pool_id = create_pool(idp)
    got = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "OFF"
    assert got.get("SoftwareTokenMfaConfiguration", {}).get("Enabled", False) is False

    out = idp.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        MfaConfiguration="OPTIONAL",
        SoftwareTokenMfaConfiguration={"Enabled": True},
        SmsMfaConfiguration={"SmsAuthenticationMessage": "Code {####}"},
        EmailMfaConfiguration={"Subject": "Your code", "Message": "Code: {####}"},
    )
    assert out["MfaConfiguration"] == "OPTIONAL"
    assert out["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    got = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "OPTIONAL"
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert got["SmsMfaConfiguration"]["SmsAuthenticationMessage"] == "Code {####}"
    assert got["EmailMfaConfiguration"] == {"Subject": "Your code", "Message": "Code: {####}"}
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL"

    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    got = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "ON"
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert "SmsMfaConfiguration" not in got and "EmailMfaConfiguration" not in got
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "ON"

    # MFA on (or optional) with no factor at all is refused, and changes nothing.
    for mode in ("ON", "OPTIONAL"):
        with aws_error("InvalidParameterException"):
            idp.set_user_pool_mfa_config(
                UserPoolId=pool_id, MfaConfiguration=mode, SoftwareTokenMfaConfiguration={"Enabled": False}
            )
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "ON"

    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF")
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"

    with aws_error("ResourceNotFoundException"):
        idp.get_user_pool_mfa_config(UserPoolId="us-east-1_doesNotExist")


def test_pool_without_totp_refuses_software_tokens(idp, public_idp):
    """Cognito's documented refusal: SoftwareTokenMFANotFoundException."""
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    username, pw = confirmed_user(idp, pool_id, client)
    access = password_auth(public_idp, client, username, pw)["AccessToken"]
    with aws_error("SoftwareTokenMFANotFoundException", "Software Token MFA has not been enabled by the userPool"):
        public_idp.associate_software_token(AccessToken=access)


# -- enrolment and sign-in ---------------------------------------------------------------------


def test_enrol_and_sign_in_with_password(idp, public_idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    # Optional MFA and no factor: straight to tokens.
    access = tokens_of(start(public_idp, client, username, pw))["AccessToken"]
    assert mfa_settings(idp, pool, username) == (None, None)

    secret = public_idp.associate_software_token(AccessToken=access)["SecretCode"]
    assert len(secret) >= 16
    base64.b32decode(secret + "=" * (-len(secret) % 8))  # an authenticator app can read it
    app = Authenticator(secret)

    # A preference for an unverified token is refused.
    with aws_error("InvalidParameterException", "User has not verified software token mfa"):
        public_idp.set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
    # A wrong code doesn't verify it.
    with aws_error("EnableSoftwareTokenMFAException", VERIFY_MISMATCH):
        public_idp.verify_software_token(AccessToken=access, UserCode=wrong(app.now()))
    verified = public_idp.verify_software_token(AccessToken=access, UserCode=app.code(), FriendlyDeviceName="phone")
    assert verified["Status"] == "SUCCESS"
    assert "Session" not in verified

    # Verified, but not on until the preference says so.
    assert tokens_of(start(public_idp, client, username, pw))["AccessToken"]
    public_idp.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert mfa_settings(idp, pool, username) == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA")
    me = public_idp.get_user(AccessToken=access)
    assert me["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert me["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"

    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert r["Session"]
    assert "AuthenticationResult" not in r
    assert r["ChallengeParameters"]["FRIENDLY_DEVICE_NAME"] == "phone"
    assert r["ChallengeParameters"]["USER_ID_FOR_SRP"] == username
    tokens = tokens_of(
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=app.code())
    )
    assert tokens["AccessToken"] and tokens["IdToken"] and tokens["RefreshToken"]
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username

    # A wrong password never reaches MFA.
    with aws_error("NotAuthorizedException", INCORRECT):
        start(public_idp, client, username, pw + "x")


def test_enrol_and_sign_in_with_pycognito_srp(server, idp, public_idp, pool, client):
    """pycognito end to end: authenticate, associate/verify the token and set the preference
    through the library; the next authenticate raises SoftwareTokenMFAChallengeException and
    respond_to_software_token_mfa_challenge finishes it (tokens verified against the JWKS)."""
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username)
    u.authenticate(password=pw)
    app = Authenticator(u.associate_software_token())
    assert u.verify_software_token(app.code(), "pycognito phone") is True
    u.set_user_mfa_preference(sms_mfa=False, software_token_mfa=True, preferred="SOFTWARE_TOKEN")
    assert mfa_settings(idp, pool, username) == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA")

    again = cognito(server, pool, client, username)
    with pytest.raises(SoftwareTokenMFAChallengeException) as info:
        again.authenticate(password=pw)
    challenge = info.value.get_tokens()
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert challenge["ChallengeParameters"]["FRIENDLY_DEVICE_NAME"] == "pycognito phone"
    assert again.access_token is None

    again.respond_to_software_token_mfa_challenge(app.code())
    assert again.access_claims["username"] == username
    assert again.id_claims["cognito:username"] == username
    assert again.access_claims["iss"] == server.issuer(pool)
    assert idp.get_user(AccessToken=again.access_token)["Username"] == username


def test_wrong_code_then_right_code(idp, public_idp, pool, client):
    username, pw, app = totp_user(idp, public_idp, pool, client)
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    code = app.code()
    # Wrong codes keep the session usable…
    for _ in range(2):
        with aws_error("CodeMismatchException", MISMATCH):
            answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                   SOFTWARE_TOKEN_MFA_CODE=wrong(code))
    # … answering it as another challenge is refused…
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "SMS_MFA", r["Session"], USERNAME=username, SMS_MFA_CODE=code)
    # … and the right code still goes through.
    tokens = tokens_of(
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=code)
    )
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    # A session is spent once answered.
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=code)


def test_three_wrong_codes_end_the_session(idp, public_idp, pool, client):
    username, pw, app = totp_user(idp, public_idp, pool, client)
    r = start(public_idp, client, username, pw)
    code = app.code()
    for _ in range(3):
        with aws_error("CodeMismatchException", MISMATCH):
            answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                   SOFTWARE_TOKEN_MFA_CODE=wrong(code))
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=code)
    # A new sign-in works with the same (never accepted) code.
    r = start(public_idp, client, username, pw)
    assert tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                            SOFTWARE_TOKEN_MFA_CODE=code))["AccessToken"]


def test_a_code_is_accepted_once(idp, public_idp, pool, client):
    username, pw, app = totp_user(idp, public_idp, pool, client)
    verify_code = app.totp.at(app.last_step * 30)  # the code VerifySoftwareToken accepted
    r = start(public_idp, client, username, pw)
    code = app.code()
    tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                     SOFTWARE_TOKEN_MFA_CODE=code))

    # The same code (same time step) again, on a new sign-in: refused as Cognito does, with
    # ExpiredCodeException. So is the older one (as used, or as outside the window by now).
    r = start(public_idp, client, username, pw)
    with aws_error("ExpiredCodeException", USED_ONCE):
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=code)
    r = start(public_idp, client, username, pw)
    with pytest.raises(ClientError) as info:
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=verify_code)
    assert info.value.response["Error"]["Code"] in ("ExpiredCodeException", "CodeMismatchException")
    # The next step's code is fine.
    r = start(public_idp, client, username, pw)
    assert tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                            SOFTWARE_TOKEN_MFA_CODE=app.code()))["AccessToken"]


def test_turning_totp_off(idp, public_idp, pool, client):
    username, pw, app = totp_user(idp, public_idp, pool, client)
    r = start(public_idp, client, username, pw)
    access = tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                              SOFTWARE_TOKEN_MFA_CODE=app.code()))["AccessToken"]
    public_idp.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
    )
    listed, preferred = mfa_settings(idp, pool, username)
    assert not listed and preferred is None
    assert tokens_of(start(public_idp, client, username, pw))["AccessToken"]
    # The verified token is still there: turning it back on needs no new enrolment.
    public_idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True})
    assert mfa_settings(idp, pool, username)[0] == ["SOFTWARE_TOKEN_MFA"]
    assert start(public_idp, client, username, pw)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_pool_mfa_off_asks_for_nothing(idp, public_idp):
    pool_id = mfa_pool(idp, "OPTIONAL")
    client = mfa_client(idp, pool_id)
    username, pw, _ = totp_user(idp, public_idp, pool_id, client)
    assert start(public_idp, client, username, pw)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF")
    assert tokens_of(start(public_idp, client, username, pw))["AccessToken"]


# -- MFA required: MFA_SETUP -------------------------------------------------------------------


def setup_challenge(public_idp, client, username, pw) -> dict:
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "MFA_SETUP", r
    return r


def test_required_mfa_walks_through_setup(idp, public_idp, required_pool, required_client):
    pool, client = required_pool, required_client
    username, pw = confirmed_user(idp, pool, client)
    r = setup_challenge(public_idp, client, username, pw)
    assert json.loads(r["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA"]
    assert "AuthenticationResult" not in r
    session = r["Session"]

    # Nothing set up yet: MFA_SETUP can't be answered.
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "MFA_SETUP", session, USERNAME=username)

    associated = public_idp.associate_software_token(Session=session)
    app = Authenticator(associated["SecretCode"])
    session = associated["Session"]
    assert session

    with aws_error("EnableSoftwareTokenMFAException", VERIFY_MISMATCH):
        public_idp.verify_software_token(Session=session, UserCode=wrong(app.now()))
    verified = public_idp.verify_software_token(Session=session, UserCode=app.code(), FriendlyDeviceName="setup phone")
    assert verified["Status"] == "SUCCESS"
    assert verified["Session"]

    tokens = tokens_of(answer(public_idp, client, "MFA_SETUP", verified["Session"], USERNAME=username))
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username
    assert mfa_settings(idp, pool, username) == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA")

    # From now on the app is asked for.
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert r["ChallengeParameters"]["FRIENDLY_DEVICE_NAME"] == "setup phone"
    assert tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                            SOFTWARE_TOKEN_MFA_CODE=app.code()))["AccessToken"]


def test_setup_session_is_spent_and_bound_to_the_challenge(idp, public_idp, required_pool, required_client):
    pool, client = required_pool, required_client
    username, pw = confirmed_user(idp, pool, client)
    session = setup_challenge(public_idp, client, username, pw)["Session"]
    app = Authenticator(public_idp.associate_software_token(Session=session)["SecretCode"])
    session = public_idp.verify_software_token(Session=session, UserCode=app.code())["Session"]
    # The session belongs to MFA_SETUP: answering it as a code challenge fails.
    with aws_error("InvalidParameterException"):
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", session, USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=app.now())
    tokens_of(answer(public_idp, client, "MFA_SETUP", session, USERNAME=username))
    # Spent: neither the challenge nor the token set-up takes it again.
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "MFA_SETUP", session, USERNAME=username)
    with aws_error("NotAuthorizedException"):
        public_idp.associate_software_token(Session=session)
    # A made-up session is no better.
    with aws_error("NotAuthorizedException"):
        public_idp.associate_software_token(Session="x" * 64)


def test_the_setup_code_cannot_be_replayed(idp, public_idp, required_pool, required_client):
    """The code that verified the authenticator during MFA_SETUP was accepted once; the very
    next sign-in must not accept it again (a later code is fine)."""
    pool, client = required_pool, required_client
    username, pw = confirmed_user(idp, pool, client)
    session = setup_challenge(public_idp, client, username, pw)["Session"]
    app = Authenticator(public_idp.associate_software_token(Session=session)["SecretCode"])
    setup_code = app.code()
    session = public_idp.verify_software_token(Session=session, UserCode=setup_code)["Session"]
    tokens_of(answer(public_idp, client, "MFA_SETUP", session, USERNAME=username))

    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with aws_error("ExpiredCodeException", USED_ONCE):
        answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
               SOFTWARE_TOKEN_MFA_CODE=setup_code)
    assert tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                            SOFTWARE_TOKEN_MFA_CODE=app.code()))["AccessToken"]


def test_required_mfa_with_srp_sign_in(server, idp, public_idp, required_pool, required_client):
    """SRP sign-in on a pool that requires MFA: pycognito's AWSSRP hands MFA_SETUP back (it has
    no support for it), the set-up continues with boto3, and the next pycognito authenticate
    raises the TOTP challenge."""
    pool, client = required_pool, required_client
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username)
    # pycognito has no MFA_SETUP support: its authenticate_user hands the challenge back.
    r = AWSSRP(username, pw, pool, client["ClientId"], client=public_idp).authenticate_user()
    assert r["ChallengeName"] == "MFA_SETUP"
    associated = public_idp.associate_software_token(Session=r["Session"])
    app = Authenticator(associated["SecretCode"])
    verified = public_idp.verify_software_token(Session=associated["Session"], UserCode=app.code())
    tokens_of(answer(public_idp, client, "MFA_SETUP", verified["Session"], USERNAME=username))

    with pytest.raises(SoftwareTokenMFAChallengeException):
        u.authenticate(password=pw)
    u.respond_to_software_token_mfa_challenge(app.code())
    assert u.access_claims["username"] == username


def test_setup_enrols_the_authenticator_before_mfa_setup_is_answered(
    idp, public_idp, required_pool, required_client
):
    """Cognito enrols the factor at VerifySoftwareToken: a client that verifies with the
    Session and then starts over (without answering MFA_SETUP) is asked SOFTWARE_TOKEN_MFA."""
    pool, client = required_pool, required_client
    username, pw = confirmed_user(idp, pool, client)
    session = setup_challenge(public_idp, client, username, pw)["Session"]
    app = Authenticator(public_idp.associate_software_token(Session=session)["SecretCode"])
    public_idp.verify_software_token(Session=session, UserCode=app.code())

    settings = idp.admin_get_user(UserPoolId=pool, Username=username)
    assert settings["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    assert settings["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    r = start(public_idp, client, username, pw)
    assert r["ChallengeName"] == "SOFTWARE_TOKEN_MFA", r
    assert tokens_of(answer(public_idp, client, "SOFTWARE_TOKEN_MFA", r["Session"], USERNAME=username,
                            SOFTWARE_TOKEN_MFA_CODE=app.code()))["AccessToken"]
