"""CUSTOM_AUTH with boto3 (and pycognito's SRP for a password proof inside it) against the real
binary: Define/Create/VerifyAuthChallengeResponse handlers (functions/*.py) implementing a
question-and-answer challenge with three tries, behind an Invoke-API host.

pycognito has no custom-auth API of its own; its AWSSRP class does the SRP half of "SRP inside
custom auth" (CHALLENGE_NAME=SRP_A, then PASSWORD_VERIFIER) and its Cognito class verifies the
tokens that come out."""

from __future__ import annotations

import jwt
import pytest
import requests
from botocore.config import Config
from lambda_host import LambdaHost, arn, triggered_pool
from pycognito import Cognito
from pycognito.aws_srp import AWSSRP
from support import aws_error, confirmed_user, create_client, secret_hash, unique
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, TesseraServer

INCORRECT = "Incorrect username or password."

CUSTOM = {
    "DefineAuthChallenge": arn("define-auth-challenge"),
    "CreateAuthChallenge": arn("create-auth-challenge"),
    "VerifyAuthChallengeResponse": arn("verify-auth-challenge"),
    "PostAuthentication": arn("post-authentication"),
}


@pytest.fixture(scope="module")
def functions():
    host = LambdaHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    s = TesseraServer(tmp_path_factory.mktemp("tessera-custom") / "data", extra_args=functions.server_args()).start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _jwks_from_the_server(monkeypatch):
    monkeypatch.delenv("COGNITO_JWKS", raising=False)


def start(public_idp, client, name, **kwargs):
    return public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": name}, **kwargs
    )


def answer(public_idp, client, name, session, text, **kwargs):
    return public_idp.respond_to_auth_challenge(
        ClientId=client["ClientId"],
        ChallengeName="CUSTOM_CHALLENGE",
        Session=session,
        ChallengeResponses={"USERNAME": name, "ANSWER": text},
        **kwargs,
    )


def verified_access(server, pool_id, token) -> dict:
    jwks = jwt.PyJWKClient(f"{server.issuer(pool_id)}/.well-known/jwks.json")
    return jwt.decode(
        token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"], issuer=server.issuer(pool_id)
    )


def test_question_and_answer_with_a_retry(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, CUSTOM)
    name, _ = confirmed_user(idp, pool_id, client)

    c = start(public_idp, client, name, ClientMetadata={"step": "initiate"})
    assert c["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert c["ChallengeParameters"] == {"question": "6 x 7", "attempt": "1", "USERNAME": name}
    assert c["Session"]
    assert "AuthenticationResult" not in c

    # A wrong answer: Define asks again, with a new session.
    again = answer(public_idp, client, name, c["Session"], "41")
    assert again["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert again["ChallengeParameters"]["attempt"] == "2"
    assert again["Session"] != c["Session"]
    # The spent session can't be answered twice.
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, name, c["Session"], "42")

    done = answer(public_idp, client, name, again["Session"], " 42 ", ClientMetadata={"step": "respond"})
    result = done["AuthenticationResult"]
    assert "ChallengeName" not in done
    assert result["TokenType"] == "Bearer" and result["RefreshToken"]
    assert verified_access(server, pool_id, result["AccessToken"])["username"] == name
    assert public_idp.get_user(AccessToken=result["AccessToken"])["Username"] == name

    defines = functions.events("define-auth-challenge", pool_id)
    assert [len(d["request"]["session"]) for d in defines] == [0, 1, 2]
    first = defines[0]
    assert first["triggerSource"] == "DefineAuthChallenge_Authentication"
    assert first["userName"] == name
    assert first["callerContext"]["clientId"] == client["ClientId"]
    assert first["request"]["userAttributes"]["email"] == f"{name}@example.com"
    # userNotFound is populated for clients with PreventUserExistenceErrors=ENABLED.
    assert first["request"].get("userNotFound", False) is False
    # InitiateAuth's ClientMetadata isn't forwarded to Define/Create; RespondToAuthChallenge's is.
    assert "clientMetadata" not in first["request"]
    assert defines[-1]["request"]["session"] == [
        {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": False, "challengeMetadata": "ARITHMETIC"},
        {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": True, "challengeMetadata": "ARITHMETIC"},
    ]
    assert defines[-1]["request"]["clientMetadata"] == {"step": "respond"}

    creates = functions.events("create-auth-challenge", pool_id)
    assert len(creates) == 2
    assert creates[0]["triggerSource"] == "CreateAuthChallenge_Authentication"
    assert creates[0]["request"]["challengeName"] == "CUSTOM_CHALLENGE"
    assert creates[0]["request"]["session"] == []
    assert "clientMetadata" not in creates[0]["request"]

    verifies = functions.events("verify-auth-challenge", pool_id)
    assert [v["request"]["challengeAnswer"] for v in verifies] == ["41", " 42 "]
    assert verifies[0]["triggerSource"] == "VerifyAuthChallengeResponse_Authentication"
    assert verifies[0]["request"]["privateChallengeParameters"] == {"answer": "42"}
    assert verifies[1]["request"]["clientMetadata"] == {"step": "respond"}

    [post] = functions.events("post-authentication", pool_id)
    assert post["triggerSource"] == "PostAuthentication_Authentication"
    assert post["request"]["clientMetadata"] == {"step": "respond"}


def test_three_wrong_answers_fail_the_sign_in(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, CUSTOM)
    name, _ = confirmed_user(idp, pool_id, client)
    session = start(public_idp, client, name)["Session"]
    for attempt in ("2", "3"):
        r = answer(public_idp, client, name, session, "0")
        assert r["ChallengeParameters"]["attempt"] == attempt
        session = r["Session"]
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, client, name, session, "0")
    assert len(functions.events("define-auth-challenge", pool_id)) == 4
    assert functions.events("post-authentication", pool_id) == []
    # A new attempt starts over.
    c = start(public_idp, client, name)
    assert answer(public_idp, client, name, c["Session"], "42")["AuthenticationResult"]["IdToken"]


def test_srp_password_proof_inside_custom_auth_with_pycognito(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, CUSTOM)
    name, pw = confirmed_user(idp, pool_id, client)
    srp = AWSSRP(name, pw, pool_id, client["ClientId"], client=public_idp)
    auth = srp.get_auth_params()
    c = public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="CUSTOM_AUTH",
        AuthParameters={**auth, "CHALLENGE_NAME": "SRP_A"},
    )
    assert c["ChallengeName"] == "PASSWORD_VERIFIER"
    params = c["ChallengeParameters"]
    assert {"SALT", "SRP_B", "SECRET_BLOCK", "USER_ID_FOR_SRP"} <= params.keys()
    proof = srp.process_challenge(params, auth)
    r = public_idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=proof,
        **({"Session": c["Session"]} if c.get("Session") else {}),
    )
    assert r["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert r["ChallengeParameters"]["question"] == "6 x 7"
    done = answer(public_idp, client, name, r["Session"], "42")["AuthenticationResult"]

    sessions = [d["request"]["session"] for d in functions.events("define-auth-challenge", pool_id)]
    assert sessions[0] == [{"challengeName": "SRP_A", "challengeResult": True}]
    assert sessions[1] == [
        {"challengeName": "SRP_A", "challengeResult": True},
        {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True},
    ]
    assert sessions[2][-1] == {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": True, "challengeMetadata": "ARITHMETIC"}

    # pycognito verifies the tokens against the pool's JWKS, as it does its own.
    u = Cognito(
        pool_id, client["ClientId"], user_pool_region=REGION, username=name,
        id_token=done["IdToken"], access_token=done["AccessToken"], refresh_token=done["RefreshToken"],
        access_key=ROOT_ACCESS_KEY_ID, secret_key=ROOT_SECRET_ACCESS_KEY,
        botocore_config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        boto3_client_kwargs={"endpoint_url": server.endpoint},
    )
    u.verify_tokens()
    assert u.id_claims["cognito:username"] == name
    assert u.access_claims["username"] == name
    assert u.get_user().username == name


def test_a_wrong_password_inside_custom_auth_is_refused(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, CUSTOM)
    name, pw = confirmed_user(idp, pool_id, client)
    srp = AWSSRP(name, pw + "x", pool_id, client["ClientId"], client=public_idp)
    auth = srp.get_auth_params()
    c = public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={**auth, "CHALLENGE_NAME": "SRP_A"}
    )
    proof = srp.process_challenge(c["ChallengeParameters"], auth)
    with aws_error("NotAuthorizedException", INCORRECT):
        public_idp.respond_to_auth_challenge(
            ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=proof,
            **({"Session": c["Session"]} if c.get("Session") else {}),
        )
    assert functions.events("create-auth-challenge", pool_id) == []
    assert functions.events("post-authentication", pool_id) == []


def test_custom_auth_with_a_client_secret(idp, public_idp, functions):
    pool_id, _ = triggered_pool(idp, CUSTOM)
    client = create_client(idp, pool_id, secret=True, ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    name, _ = confirmed_user(idp, pool_id, create_client(idp, pool_id))
    proof = secret_hash(name, client["ClientId"], client["ClientSecret"])
    with aws_error("NotAuthorizedException", f"Client {client['ClientId']} is configured for secret but secret was not received"):
        start(public_idp, client, name)
    c = public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": name, "SECRET_HASH": proof}
    )
    done = public_idp.respond_to_auth_challenge(
        ClientId=client["ClientId"],
        ChallengeName="CUSTOM_CHALLENGE",
        Session=c["Session"],
        ChallengeResponses={"USERNAME": name, "ANSWER": "42", "SECRET_HASH": proof},
    )
    assert done["AuthenticationResult"]["AccessToken"]


def test_unknown_users_are_hidden_when_the_client_asks(idp, public_idp, functions):
    pool_id, _ = triggered_pool(idp, CUSTOM)
    client = create_client(
        idp, pool_id, ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )
    ghost = unique("ghost")
    c = start(public_idp, client, ghost)
    assert c["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert c["ChallengeParameters"]["USERNAME"] == ghost
    [define] = functions.events("define-auth-challenge", pool_id)
    assert define["request"]["userNotFound"] is True
    assert define["userName"] == ghost
    # Even a right answer can't make a user who doesn't exist.
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, client, ghost, c["Session"], "42")


def test_unknown_users_under_legacy_errors(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, CUSTOM)
    with aws_error("UserNotFoundException", "User does not exist."):
        start(public_idp, client, unique("ghost"))
    assert functions.events("define-auth-challenge", pool_id) == []


def test_the_flow_must_be_allowed(idp, public_idp, functions):
    pool_id, _ = triggered_pool(idp, CUSTOM)
    client = create_client(idp, pool_id, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    name, _ = confirmed_user(idp, pool_id, create_client(idp, pool_id))
    with aws_error("InvalidParameterException"):
        start(public_idp, client, name)
    assert functions.events("define-auth-challenge", pool_id) == []


def test_discovery_and_jwks_serve_custom_auth_tokens(server, idp, public_idp):
    pool_id, client = triggered_pool(idp, CUSTOM)
    name, _ = confirmed_user(idp, pool_id, client)
    c = start(public_idp, client, name)
    tokens = answer(public_idp, client, name, c["Session"], "42")["AuthenticationResult"]
    discovery = requests.get(f"{server.issuer(pool_id)}/.well-known/openid-configuration", timeout=10).json()
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(tokens["IdToken"])
    claims = jwt.decode(tokens["IdToken"], key.key, algorithms=["RS256"], audience=client["ClientId"], issuer=discovery["issuer"])
    assert claims["token_use"] == "id" and claims["cognito:username"] == name


# -- threat protection in custom sign-ins (AdvancedSecurityAdditionalFlows) ---------------------


def test_threat_protection_judges_custom_sign_ins_only_when_custom_auth_mode_is_set(tmp_path, functions):
    from test_threat import BLOCKED, events_of, with_forwarded_for  # noqa: PLC0415

    s = TesseraServer(tmp_path / "data", extra_args=functions.server_args(),
                      extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32, ::1"}).start()
    try:
        idp = s.client()
        add_ons = {"AdvancedSecurityMode": "ENFORCED",
                   "AdvancedSecurityAdditionalFlows": {"CustomAuthMode": "ENFORCED"}}
        pool_id, client = triggered_pool(idp, CUSTOM, UserPoolAddOns=add_ons)
        assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolAddOns"] == add_ons
        idp.set_risk_configuration(
            UserPoolId=pool_id,
            RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"]},
            AccountTakeoverRiskConfiguration={"Actions": {
                "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
                "MediumAction": {"Notify": False, "EventAction": "BLOCK"},
                "HighAction": {"Notify": False, "EventAction": "BLOCK"},
            }},
        )
        name, _ = confirmed_user(idp, pool_id, client)
        public_idp = with_forwarded_for(s.client(unsigned=True), "198.51.100.20")

        # The first custom sign-in from a network is judged and recorded as a pass.
        c = start(public_idp, client, name)
        assert "AuthenticationResult" in answer(public_idp, client, name, c["Session"], "42")
        # Three wrong answers: a failed sign-in, recorded.
        c = start(public_idp, client, name)
        for _ in range(2):
            c = answer(public_idp, client, name, c["Session"], "7")
        with aws_error("NotAuthorizedException", INCORRECT):
            answer(public_idp, client, name, c["Session"], "7")
        # A blocked range is refused before any challenge is created.
        with_forwarded_for(public_idp, "203.0.113.5")
        with aws_error("NotAuthorizedException", BLOCKED):
            start(public_idp, client, name)
        # A new network after a trusted history is medium risk: blocked when tokens would issue.
        with_forwarded_for(public_idp, "192.0.2.44")
        c = start(public_idp, client, name)
        with aws_error("NotAuthorizedException", BLOCKED):
            answer(public_idp, client, name, c["Session"], "42")

        new_network, failed, passed = events_of(idp, pool_id, name, "SignIn")
        assert passed["EventResponse"] == "Pass"
        assert passed["EventContextData"]["IpAddress"] == "198.51.100.20"
        assert passed["EventRisk"]["RiskDecision"] == "NoRisk"
        assert failed["EventResponse"] == "Fail"
        assert new_network["EventRisk"]["RiskDecision"] == "Block"
        assert new_network["EventRisk"]["RiskLevel"] == "Medium"
        assert new_network["EventContextData"]["IpAddress"] == "192.0.2.44"

        # Without CustomAuthMode the pool's threat protection leaves custom sign-ins alone.
        plain_pool, plain_client = triggered_pool(idp, CUSTOM,
                                                  UserPoolAddOns={"AdvancedSecurityMode": "ENFORCED"})
        idp.set_risk_configuration(UserPoolId=plain_pool,
                                   RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"]})
        other, _ = confirmed_user(idp, plain_pool, plain_client)
        with_forwarded_for(public_idp, "203.0.113.5")
        c = start(public_idp, plain_client, other)
        assert "AuthenticationResult" in answer(public_idp, plain_client, other, c["Session"], "42")
        assert events_of(idp, plain_pool, other, "SignIn") == []
    finally:
        s.stop()
