"""USER_SRP_AUTH with pycognito, the Python client Amplify-style back ends and scripts use.

`pycognito.Cognito` is pointed at the server through `boto3_client_kwargs={"endpoint_url": ...}`.
With that, pycognito takes `{endpoint_url}/{pool_id}` as the pool URL: it fetches the JWKS from
`{endpoint_url}/{pool_id}/.well-known/jwks.json` with `requests` and checks every token it gets
(RS256 signature, `iss` = the pool URL, `aud` = the client for ID tokens, `token_use`, `at_hash`)
before it keeps it. That is exactly Tessera's issuer, so the library's own verification runs
unmodified. `pycognito.aws_srp.AWSSRP` (the SRP maths and the two-step exchange) is used directly
for the secret-client, admin and replay cases.
"""

from __future__ import annotations

import contextlib
import time

import pytest
import requests
from botocore.config import Config
from pycognito import Cognito
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import ForceChangePasswordException, TokenVerificationException

from support import (
    attrs_of,
    aws_error,
    confirmed_user,
    create_client,
    create_pool,
    password,
    sign_up,
    unique,
)
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

SRP_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
# Lockout is counted across flows, so one client also allows the plain password flow.
SRP_AND_PASSWORD_FLOWS = SRP_FLOWS + ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"]

INCORRECT = "Incorrect username or password."


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _jwks_from_the_server(monkeypatch):
    # pycognito takes the JWKS from $COGNITO_JWKS when set; make sure it fetches it over HTTP.
    monkeypatch.delenv("COGNITO_JWKS", raising=False)


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    """A public client with SRP (LEGACY user-existence errors, the API default)."""
    return create_client(idp, pool, ExplicitAuthFlows=SRP_AND_PASSWORD_FLOWS)


@pytest.fixture(scope="module")
def enabled_client(idp, pool):
    return create_client(idp, pool, ExplicitAuthFlows=SRP_FLOWS, PreventUserExistenceErrors="ENABLED")


@pytest.fixture(scope="module")
def secret_client(idp, pool):
    return create_client(idp, pool, secret=True, ExplicitAuthFlows=SRP_AND_PASSWORD_FLOWS)


@pytest.fixture(scope="module")
def alias_pool(idp):
    return create_pool(idp, AliasAttributes=["email", "preferred_username"])


@pytest.fixture(scope="module")
def alias_client(idp, alias_pool):
    return create_client(idp, alias_pool, ExplicitAuthFlows=SRP_FLOWS)


@pytest.fixture(scope="module")
def alias_secret_client(idp, alias_pool):
    return create_client(idp, alias_pool, secret=True, ExplicitAuthFlows=SRP_FLOWS)


@pytest.fixture(scope="module")
def email_pool(idp):
    return create_pool(idp, UsernameAttributes=["email"])


@pytest.fixture(scope="module")
def email_client(idp, email_pool):
    return create_client(idp, email_pool, ExplicitAuthFlows=SRP_FLOWS)


# -- helpers ----------------------------------------------------------------------------------


def cognito(server, pool_id: str, client: dict, username: str, *, endpoint: str | None = None) -> Cognito:
    """A pycognito `Cognito` for `username`, talking to `server` (or to `endpoint`)."""
    return Cognito(
        pool_id,
        client["ClientId"],
        user_pool_region=REGION,
        username=username,
        client_secret=client.get("ClientSecret"),
        access_key=ROOT_ACCESS_KEY_ID,
        secret_key=ROOT_SECRET_ACCESS_KEY,
        botocore_config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        boto3_client_kwargs={"endpoint_url": endpoint or server.endpoint},
    )


def awssrp(public_idp, pool_id: str, client: dict, username: str, pw: str, *, secret: bool = True) -> AWSSRP:
    return AWSSRP(
        username,
        pw,
        pool_id,
        client["ClientId"],
        client=public_idp,
        client_secret=client.get("ClientSecret") if secret else None,
    )


def srp_sign_in(public_idp, pool_id, client, username, pw) -> dict:
    return awssrp(public_idp, pool_id, client, username, pw).authenticate_user()["AuthenticationResult"]


@contextlib.contextmanager
def expect_client_error(code: str, message: str, operation: str | None = None):
    """support.aws_error, also checking which call of the two-step exchange failed."""
    with aws_error(code, message) as info:
        yield info
    if operation is not None:
        assert info.value.operation_name == operation, info.value


def initiate(public_idp, srp: AWSSRP) -> dict:
    """The first half of the exchange, by hand: InitiateAuth USER_SRP_AUTH with AWSSRP's SRP_A."""
    auth_params = srp.get_auth_params()
    r = public_idp.initiate_auth(ClientId=srp.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=auth_params)
    assert r["ChallengeName"] == "PASSWORD_VERIFIER", r
    return {"auth_params": auth_params, "response": r}


def respond(public_idp, srp: AWSSRP, started: dict) -> dict:
    responses = srp.process_challenge(started["response"]["ChallengeParameters"], started["auth_params"])
    return public_idp.respond_to_auth_challenge(
        ClientId=srp.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )


# -- 1. sign in; the tokens verify against the JWKS and are usable -----------------------------


def test_sign_in_verifies_tokens_against_the_server_jwks(server, idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    sub = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=username)["UserAttributes"])["sub"]
    u = cognito(server, pool, client, username)
    assert u.user_pool_url == server.issuer(pool)
    u.authenticate(password=pw)

    # pycognito fetched the JWKS from the server and verified both tokens with it.
    jwks = requests.get(f"{server.issuer(pool)}/.well-known/jwks.json", timeout=10).json()
    assert u.pool_jwk == jwks and jwks["keys"]
    assert u.id_claims["iss"] == u.access_claims["iss"] == server.issuer(pool)
    assert u.id_claims["token_use"] == "id" and u.access_claims["token_use"] == "access"
    assert u.id_claims["aud"] == client["ClientId"]
    assert u.access_claims["client_id"] == client["ClientId"]
    assert u.id_claims["cognito:username"] == u.access_claims["username"] == username
    assert u.id_claims["sub"] == u.access_claims["sub"] == sub
    assert u.id_claims["email"] == f"{username}@example.com"
    assert u.token_type == "Bearer" and u.refresh_token
    u.verify_tokens()  # again, on demand

    # The tokens are usable: through pycognito and through plain boto3.
    me = u.get_user()
    assert me.username == username and me.sub == sub and me.email == f"{username}@example.com"
    assert idp.get_user(AccessToken=u.access_token)["Username"] == username
    assert u.check_token(renew=False) is False


def test_token_verification_is_real(server, idp, pool, client):
    """The same sign-in through `localhost` instead of `127.0.0.1`: the tokens' issuer no longer
    matches the pool URL pycognito expects, so it refuses them. The check above is not vacuous."""
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username, endpoint=f"http://localhost:{server.port}")
    with pytest.raises(TokenVerificationException, match="Invalid issuer"):
        u.authenticate(password=pw)
    assert u.access_token is None and u.id_token is None


def test_session_lifecycle(server, idp, public_idp, pool, client):
    """Refresh, change password, global sign-out: the rest of what an app does after SRP sign-in."""
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username)
    u.authenticate(password=pw)
    first_access = u.access_token

    u.renew_access_token()  # REFRESH_TOKEN_AUTH; the new tokens are verified again
    assert u.access_claims["username"] == username
    assert idp.get_user(AccessToken=u.access_token)["Username"] == username

    new_pw = password()
    u.change_password(pw, new_pw)
    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge"):
        srp_sign_in(public_idp, pool, client, username, pw)
    assert srp_sign_in(public_idp, pool, client, username, new_pw)["AccessToken"]

    current_access = u.access_token
    u.logout()  # GlobalSignOut
    assert u.access_token is None and u.refresh_token is None
    for token in (first_access, current_access):
        with aws_error("NotAuthorizedException", "Access Token has been revoked"):
            idp.get_user(AccessToken=token)


def test_default_client_allows_srp(server, idp, pool):
    """A client created without ExplicitAuthFlows gets Cognito's defaults, which include SRP."""
    bare = idp.create_user_pool_client(UserPoolId=pool, ClientName=unique("bare"))["UserPoolClient"]
    username, pw = confirmed_user(idp, pool, bare)
    u = cognito(server, pool, bare, username)
    u.authenticate(password=pw)
    assert u.access_claims["username"] == username


def test_client_without_srp_flow(public_idp, idp, pool):
    only_password = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    username, pw = confirmed_user(idp, pool, only_password)
    with expect_client_error("InvalidParameterException", "USER_SRP_AUTH is not enabled for the client.", "InitiateAuth"):
        srp_sign_in(public_idp, pool, only_password, username, pw)


# -- 2. wrong password ------------------------------------------------------------------------


def test_wrong_password(server, idp, public_idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username)
    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge") as info:
        u.authenticate(password=pw + "x")
    assert isinstance(info.value, u.client.exceptions.NotAuthorizedException)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert u.access_token is None
    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge"):
        srp_sign_in(public_idp, pool, client, username, "Another1!password")


# -- 3. unknown users: LEGACY vs ENABLED ------------------------------------------------------


def test_unknown_user_legacy(server, public_idp, pool, client):
    ghost = unique("ghost")
    with expect_client_error("UserNotFoundException", "User does not exist.", "InitiateAuth"):
        cognito(server, pool, client, ghost).authenticate(password=password())
    with expect_client_error("UserNotFoundException", "User does not exist.", "InitiateAuth"):
        srp_sign_in(public_idp, pool, client, ghost, password())


def test_unknown_user_enabled(server, idp, public_idp, pool, enabled_client):
    """Under ENABLED, an unknown user gets a challenge like anyone else and then exactly the
    error a wrong password gets."""
    ghost = unique("ghost")
    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge"):
        cognito(server, pool, enabled_client, ghost).authenticate(password=password())

    known, pw = confirmed_user(idp, pool, enabled_client)
    real = initiate(public_idp, awssrp(public_idp, pool, enabled_client, known, pw))["response"]
    fake = initiate(public_idp, awssrp(public_idp, pool, enabled_client, ghost, pw))["response"]
    assert set(fake["ChallengeParameters"]) == set(real["ChallengeParameters"])
    assert "Session" not in fake and "Session" not in real
    # A real user's salt is the same every time; a simulated one must be too, or it shows.
    real_again = initiate(public_idp, awssrp(public_idp, pool, enabled_client, known, pw))["response"]
    fake_again = initiate(public_idp, awssrp(public_idp, pool, enabled_client, ghost, pw))["response"]
    assert real_again["ChallengeParameters"]["SALT"] == real["ChallengeParameters"]["SALT"]
    assert fake_again["ChallengeParameters"]["SALT"] == fake["ChallengeParameters"]["SALT"]
    assert len(fake["ChallengeParameters"]["SRP_B"]) > 500 and fake["ChallengeParameters"]["SECRET_BLOCK"]

    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge"):
        srp_sign_in(public_idp, pool, enabled_client, ghost, pw)
    with expect_client_error("NotAuthorizedException", INCORRECT, "RespondToAuthChallenge"):
        srp_sign_in(public_idp, pool, enabled_client, known, pw + "x")


def test_unconfirmed_and_disabled_users(idp, public_idp, pool, client):
    username, pw = unique("unconf"), password()
    sign_up(idp, client, username, pw)
    with aws_error("UserNotConfirmedException", "User is not confirmed."):
        srp_sign_in(public_idp, pool, client, username, pw)

    username, pw = confirmed_user(idp, pool, client)
    idp.admin_disable_user(UserPoolId=pool, Username=username)
    with aws_error("NotAuthorizedException", "User is disabled."):
        srp_sign_in(public_idp, pool, client, username, pw)
    idp.admin_enable_user(UserPoolId=pool, Username=username)
    assert srp_sign_in(public_idp, pool, client, username, pw)["AccessToken"]


# -- 4. lockout -------------------------------------------------------------------------------


def test_lockout(server, idp, public_idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    u = cognito(server, pool, client, username)
    for _ in range(5):
        with expect_client_error("NotAuthorizedException", INCORRECT):
            u.authenticate(password=pw + "x")
    fifth_failure = time.monotonic()

    # Locked for 1 s: the right password is refused too, and so is a wrong one.
    with expect_client_error("NotAuthorizedException", "Password attempts exceeded"):
        u.authenticate(password=pw)
    with expect_client_error("NotAuthorizedException", "Password attempts exceeded"):
        srp_sign_in(public_idp, pool, client, username, pw + "x")
    assert time.monotonic() - fifth_failure < 1.0, "the attempts during the lock came too late"

    # Attempts during the lock don't extend it: 1 s after the fifth failure it is over.
    time.sleep(max(0.0, fifth_failure + 1.3 - time.monotonic()))
    u.authenticate(password=pw)
    assert u.access_claims["username"] == username

    # The success reset the count: the next failure is an ordinary one.
    with expect_client_error("NotAuthorizedException", INCORRECT):
        srp_sign_in(public_idp, pool, client, username, pw + "x")
    assert srp_sign_in(public_idp, pool, client, username, pw)["AccessToken"]


def test_lockout_counts_failures_of_every_flow(idp, public_idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    for _ in range(2):
        with aws_error("NotAuthorizedException", INCORRECT):
            public_idp.initiate_auth(
                ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": pw + "x"},
            )
    for _ in range(3):
        with aws_error("NotAuthorizedException", INCORRECT):
            srp_sign_in(public_idp, pool, client, username, pw + "x")
    fifth_failure = time.monotonic()
    with aws_error("NotAuthorizedException", "Password attempts exceeded"):
        srp_sign_in(public_idp, pool, client, username, pw)
    with aws_error("NotAuthorizedException", "Password attempts exceeded"):
        public_idp.initiate_auth(
            ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": pw},
        )
    assert time.monotonic() - fifth_failure < 1.0
    time.sleep(max(0.0, fifth_failure + 1.3 - time.monotonic()))
    assert srp_sign_in(public_idp, pool, client, username, pw)["AccessToken"]


# -- 5. aliases -------------------------------------------------------------------------------


def test_sign_in_with_preferred_username(server, idp, public_idp, alias_pool, alias_client):
    username, pw = confirmed_user(idp, alias_pool, alias_client, {"preferred_username": unique("nick")})
    nick = attrs_of(idp.admin_get_user(UserPoolId=alias_pool, Username=username)["UserAttributes"])[
        "preferred_username"
    ]
    u = cognito(server, alias_pool, alias_client, nick)
    u.authenticate(password=pw)
    assert u.id_claims["cognito:username"] == username
    assert u.access_claims["username"] == username
    assert u.id_claims["preferred_username"] == nick
    assert idp.get_user(AccessToken=u.access_token)["Username"] == username

    # The challenge names the canonical user, which is what the client signs over.
    started = initiate(public_idp, awssrp(public_idp, alias_pool, alias_client, nick, pw))
    params = started["response"]["ChallengeParameters"]
    assert params["USER_ID_FOR_SRP"] == params["USERNAME"] == username


def test_sign_in_with_email_once_verified(server, idp, public_idp, alias_pool, alias_client):
    username, pw = confirmed_user(idp, alias_pool, alias_client)
    email = f"{username}@example.com"
    with expect_client_error("UserNotFoundException", "User does not exist.", "InitiateAuth"):
        srp_sign_in(public_idp, alias_pool, alias_client, email, pw)

    idp.admin_update_user_attributes(
        UserPoolId=alias_pool, Username=username, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    u = cognito(server, alias_pool, alias_client, email)
    u.authenticate(password=pw)
    assert u.id_claims["cognito:username"] == u.access_claims["username"] == username
    assert u.id_claims["email"] == email and u.id_claims["email_verified"] is True
    started = initiate(public_idp, awssrp(public_idp, alias_pool, alias_client, email, pw))
    assert started["response"]["ChallengeParameters"]["USER_ID_FOR_SRP"] == username


def test_email_as_username_signs_in_as_the_sub(server, idp, public_idp, email_pool, email_client):
    email, pw = f"{unique('mail')}@example.com", password()
    sub = sign_up(idp, email_client, email, pw, {"email": email})["UserSub"]
    idp.admin_confirm_sign_up(UserPoolId=email_pool, Username=email)
    u = cognito(server, email_pool, email_client, email)
    u.authenticate(password=pw)
    assert u.id_claims["cognito:username"] == u.access_claims["username"] == sub
    assert u.id_claims["email"] == email
    started = initiate(public_idp, awssrp(public_idp, email_pool, email_client, email, pw))
    assert started["response"]["ChallengeParameters"]["USER_ID_FOR_SRP"] == sub


# -- 6. client secret, AdminInitiateAuth ------------------------------------------------------


def test_client_secret(server, idp, public_idp, pool, secret_client):
    username, pw = confirmed_user(idp, pool, secret_client)
    u = cognito(server, pool, secret_client, username)
    u.authenticate(password=pw)  # SECRET_HASH on both calls
    assert u.id_claims["aud"] == secret_client["ClientId"]
    assert srp_sign_in(public_idp, pool, secret_client, username, pw)["AccessToken"]

    cid = secret_client["ClientId"]
    with expect_client_error(
        "NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received", "InitiateAuth"
    ):
        awssrp(public_idp, pool, secret_client, username, pw, secret=False).authenticate_user()
    wrong = dict(secret_client, ClientSecret=secret_client["ClientSecret"] + "x")
    with expect_client_error("NotAuthorizedException", f"Unable to verify secret hash for client {cid}", "InitiateAuth"):
        awssrp(public_idp, pool, wrong, username, pw).authenticate_user()

    # The second step needs its own SECRET_HASH.
    srp = awssrp(public_idp, pool, secret_client, username, pw)
    started = initiate(public_idp, srp)
    responses = srp.process_challenge(started["response"]["ChallengeParameters"], started["auth_params"])
    del responses["SECRET_HASH"]
    with expect_client_error(
        "NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received"
    ):
        public_idp.respond_to_auth_challenge(
            ClientId=cid, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )


def test_client_secret_with_alias(server, idp, alias_pool, alias_secret_client):
    """pycognito hashes the alias for InitiateAuth and the canonical USERNAME from the challenge
    for RespondToAuthChallenge, as Cognito requires."""
    username, pw = confirmed_user(idp, alias_pool, alias_secret_client, {"preferred_username": unique("nick")})
    nick = attrs_of(idp.admin_get_user(UserPoolId=alias_pool, Username=username)["UserAttributes"])[
        "preferred_username"
    ]
    u = cognito(server, alias_pool, alias_secret_client, nick)
    u.authenticate(password=pw)
    assert u.access_claims["username"] == username


@pytest.mark.parametrize("with_secret", [False, True], ids=["public", "secret"])
def test_admin_initiate_auth_srp(idp, pool, client, secret_client, with_secret):
    """pycognito's AWSSRP has no admin flavour; its SRP maths drive AdminInitiateAuth /
    AdminRespondToAuthChallenge (SigV4-signed boto3)."""
    c = secret_client if with_secret else client
    username, pw = confirmed_user(idp, pool, c)
    srp = awssrp(idp, pool, c, username, pw)
    auth_params = srp.get_auth_params()
    r = idp.admin_initiate_auth(UserPoolId=pool, ClientId=c["ClientId"], AuthFlow="USER_SRP_AUTH", AuthParameters=auth_params)
    assert r["ChallengeName"] == "PASSWORD_VERIFIER"
    params = r["ChallengeParameters"]
    assert set(params) >= {"SALT", "SRP_B", "SECRET_BLOCK", "USERNAME", "USER_ID_FOR_SRP"}
    assert params["USERNAME"] == params["USER_ID_FOR_SRP"] == username
    done = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool, ClientId=c["ClientId"], ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=srp.process_challenge(params, auth_params),
    )
    tokens = done["AuthenticationResult"]
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == username

    wrong = awssrp(idp, pool, c, username, pw + "x")
    auth_params = wrong.get_auth_params()
    r = idp.admin_initiate_auth(UserPoolId=pool, ClientId=c["ClientId"], AuthFlow="USER_SRP_AUTH", AuthParameters=auth_params)
    with aws_error("NotAuthorizedException", INCORRECT):
        idp.admin_respond_to_auth_challenge(
            UserPoolId=pool, ClientId=c["ClientId"], ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=wrong.process_challenge(r["ChallengeParameters"], auth_params),
        )


def test_password_set_by_admin(server, idp, pool, client):
    """AdminSetUserPassword (permanent) leaves a user who can sign in with SRP."""
    username, _ = confirmed_user(idp, pool, client)
    pw = password()
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=pw, Permanent=True)
    u = cognito(server, pool, client, username)
    u.authenticate(password=pw)
    assert u.access_claims["username"] == username


# -- 7. NEW_PASSWORD_REQUIRED -----------------------------------------------------------------


def test_new_password_required(server, idp, pool, client):
    username, temp = unique("invited"), password()
    idp.admin_create_user(
        UserPoolId=pool, Username=username, TemporaryPassword=temp, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    u = cognito(server, pool, client, username)
    with pytest.raises(ForceChangePasswordException):
        u.authenticate(password=temp)
    assert u.access_token is None

    new_pw = password()
    u.new_password_challenge(temp, new_pw)  # SRP again, then NEW_PASSWORD_REQUIRED; tokens verified
    assert u.access_claims["username"] == username
    assert idp.admin_get_user(UserPoolId=pool, Username=username)["UserStatus"] == "CONFIRMED"

    again = cognito(server, pool, client, username)
    again.authenticate(password=new_pw)
    assert again.id_claims["cognito:username"] == username
    with expect_client_error("NotAuthorizedException", INCORRECT):
        cognito(server, pool, client, username).authenticate(password=temp)


# -- 8. a secret block is single use ----------------------------------------------------------


def test_secret_block_replay_is_refused(idp, public_idp, pool, client):
    username, pw = confirmed_user(idp, pool, client)
    srp = awssrp(public_idp, pool, client, username, pw)
    started = initiate(public_idp, srp)
    responses = srp.process_challenge(started["response"]["ChallengeParameters"], started["auth_params"])

    def send():
        return public_idp.respond_to_auth_challenge(
            ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )

    assert send()["AuthenticationResult"]["AccessToken"]
    with aws_error("NotAuthorizedException") as info:
        send()  # the very same, valid claim
    assert info.value.operation_name == "RespondToAuthChallenge"


def test_secret_block_is_spent_by_a_failed_claim(idp, public_idp, pool, client):
    """A wrong claim uses the block up too: guessing again needs a new InitiateAuth."""
    username, pw = confirmed_user(idp, pool, client)
    srp = awssrp(public_idp, pool, client, username, pw + "x")
    started = initiate(public_idp, srp)
    with aws_error("NotAuthorizedException", INCORRECT):
        respond(public_idp, srp, started)
    srp.password = pw  # same SRP_A and block, now the right password
    with aws_error("NotAuthorizedException"):
        respond(public_idp, srp, started)
    assert srp_sign_in(public_idp, pool, client, username, pw)["AccessToken"]
