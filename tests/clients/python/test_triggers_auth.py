"""Lambda triggers around sign-in, with boto3, pycognito and PyJWT against the real binary:
PreAuthentication, PostAuthentication, PreTokenGeneration (V1 and V2_0, tokens verified against
the pool's JWKS) and UserMigration (at USER_PASSWORD_AUTH and at ForgotPassword). The functions
are ordinary Python Lambda handlers (functions/*.py) behind an Invoke-API host."""

from __future__ import annotations

import jwt
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import MAIL_FROM
from lambda_host import LambdaHost, arn, triggered_pool
from mailroom import delivery_args, user_attributes
from pycognito import Cognito
from support import aws_error, confirmed_user, create_client, password, password_auth, secret_hash, unique
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, TesseraServer

ADMIN_SCOPE = "aws.cognito.signin.user.admin"
V1_ROLE = "arn:aws:iam::123456789012:role/v1-reader"
STAFF_ROLE = "arn:aws:iam::123456789012:role/staff"


@pytest.fixture(scope="module")
def functions():
    host = LambdaHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions, smtp_sink):
    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-triggers") / "data",
        extra_args=functions.server_args() + delivery_args(smtp_sink, None, MAIL_FROM),
    ).start()
    yield s
    s.stop()


def verified(server, pool_id: str, token: str, audience: str | None = None) -> dict:
    """The claims of `token`, verified as a resource server would: the pool's discovery document,
    its JWKS, RS256, issuer (and audience for ID tokens)."""
    discovery = requests.get(f"{server.issuer(pool_id)}/.well-known/openid-configuration", timeout=10).json()
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        issuer=discovery["issuer"],
        audience=audience,
        options={"verify_aud": audience is not None, "require": ["exp", "iat", "iss", "sub", "token_use"]},
    )


def sign_in(public_idp, client, name, pw, **kwargs):
    return public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": pw},
        **kwargs,
    )


def pycognito_user(server, pool_id, client, name) -> Cognito:
    return Cognito(
        pool_id,
        client["ClientId"],
        user_pool_region=REGION,
        username=name,
        access_key=ROOT_ACCESS_KEY_ID,
        secret_key=ROOT_SECRET_ACCESS_KEY,
        botocore_config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        boto3_client_kwargs={"endpoint_url": server.endpoint},
    )


@pytest.fixture(autouse=True)
def _jwks_from_the_server(monkeypatch):
    monkeypatch.delenv("COGNITO_JWKS", raising=False)


# -- PreAuthentication / PostAuthentication -------------------------------------------------


def test_pre_authentication_rejects_and_post_authentication_sees(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(
        idp,
        {"PreAuthentication": arn("pre-authentication"), "PostAuthentication": arn("post-authentication")},
    )
    ann, ann_pw = confirmed_user(idp, pool_id, client)
    blocked, blocked_pw = confirmed_user(idp, pool_id, client, username=unique("blocked"))

    with aws_error("UserLambdaValidationException", "PreAuthentication failed with error Sign-in is suspended."):
        sign_in(public_idp, client, blocked, blocked_pw)
    # SRP sign-in (pycognito) is refused the same way, after the password proof.
    with aws_error("UserLambdaValidationException", "PreAuthentication failed with error Sign-in is suspended."):
        pycognito_user(server, pool_id, client, blocked).authenticate(password=blocked_pw)
    assert functions.events("post-authentication", pool_id) == []

    tokens = sign_in(public_idp, client, ann, ann_pw, ClientMetadata={"app": "web"})["AuthenticationResult"]
    assert verified(server, pool_id, tokens["AccessToken"])["username"] == ann

    pre = [e for e in functions.events("pre-authentication", pool_id) if e["userName"] == ann]
    assert len(pre) == 1
    e = pre[0]
    assert e["triggerSource"] == "PreAuthentication_Authentication"
    assert e["callerContext"]["clientId"] == client["ClientId"]
    assert e["request"]["userAttributes"]["email"] == f"{ann}@example.com"
    assert e["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    # InitiateAuth's ClientMetadata reaches PreAuthentication as validationData.
    assert e["request"]["validationData"] == {"app": "web"}
    assert e["request"].get("userNotFound", False) is False

    [post] = functions.events("post-authentication", pool_id)
    assert post["triggerSource"] == "PostAuthentication_Authentication"
    assert post["userName"] == ann
    assert post["request"]["newDeviceUsed"] is False
    assert post["request"]["userAttributes"]["sub"] == verified(server, pool_id, tokens["AccessToken"])["sub"]
    # ...but not past it.
    assert "clientMetadata" not in post["request"]

    # SRP sign-in through pycognito runs both hooks too.
    u = pycognito_user(server, pool_id, client, ann)
    u.authenticate(password=ann_pw)
    assert u.access_claims["username"] == ann
    assert len(functions.events("post-authentication", pool_id)) == 2


def test_pre_authentication_sees_unknown_users_when_they_are_hidden(idp, public_idp, functions):
    pool_id, _ = triggered_pool(idp, {"PreAuthentication": arn("pre-authentication")})
    client = create_client(idp, pool_id, PreventUserExistenceErrors="ENABLED")
    ghost = unique("ghost")
    with aws_error("NotAuthorizedException", "Incorrect username or password."):
        sign_in(public_idp, client, ghost, password())
    [event] = functions.events("pre-authentication", pool_id)
    assert event["userName"] == ghost
    assert event["request"]["userNotFound"] is True


# -- PreTokenGeneration ------------------------------------------------------------------------


def test_pre_token_generation_v1_customises_the_id_token(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreTokenGeneration": arn("pre-token-v1")})
    idp.create_group(UserPoolId=pool_id, GroupName="staff", RoleArn=STAFF_ROLE, Precedence=3)
    name, pw = confirmed_user(idp, pool_id, client)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName="staff")
    sub = user_attributes(idp, pool_id, name)[1]["sub"]

    tokens = password_auth(public_idp, client, name, pw)
    id_claims = verified(server, pool_id, tokens["IdToken"], client["ClientId"])
    assert id_claims["tenant"] == "acme"
    assert "email" not in id_claims, "suppressed"
    assert "plan" not in id_claims, "suppression beats addition"
    assert id_claims["sub"] == sub, "protected claims stay"
    assert id_claims["cognito:username"] == name
    assert id_claims["cognito:groups"] == ["v1-readers", "staff"]
    assert id_claims["cognito:roles"] == [V1_ROLE]
    assert id_claims["cognito:preferred_role"] == V1_ROLE
    access = verified(server, pool_id, tokens["AccessToken"])
    assert "tenant" not in access, "V1 customises the ID token only"
    assert access["scope"] == ADMIN_SCOPE

    [event] = functions.events("pre-token-v1", pool_id)
    assert event["version"] == "1"
    assert event["triggerSource"] == "TokenGeneration_Authentication"
    assert event["callerContext"]["clientId"] == client["ClientId"]
    assert event["request"]["userAttributes"]["email"] == f"{name}@example.com"
    assert event["request"]["groupConfiguration"] == {
        "groupsToOverride": ["staff"],
        "iamRolesToOverride": [STAFF_ROLE],
        "preferredRole": STAFF_ROLE,
    }
    assert "scopes" not in event["request"]
    assert event["response"] == {"claimsOverrideDetails": None}


def test_pre_token_generation_v2_customises_both_tokens(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(
        idp, {"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": arn("pre-token-v2")}}
    )
    name, pw = confirmed_user(idp, pool_id, client)
    tokens = sign_in(public_idp, client, name, pw, ClientMetadata={"app": "web"})["AuthenticationResult"]

    id_claims = verified(server, pool_id, tokens["IdToken"], client["ClientId"])
    assert id_claims["tenant"] == "acme"
    assert id_claims["tiers"] == ["gold", "silver"]  # V2 claims may be any JSON
    assert id_claims["limits"] == {"seats": 5}
    assert "email" not in id_claims
    assert id_claims["sub"] != "forged"
    assert id_claims["cognito:groups"] == ["vip"]
    access = verified(server, pool_id, tokens["AccessToken"])
    assert access["tenant"] == "acme"
    assert access["client_id"] == client["ClientId"], "protected in access tokens"
    assert access["scope"] == f"{ADMIN_SCOPE} api/read"  # api/write added, then suppressed
    assert access["cognito:groups"] == ["vip"]
    # The customised access token is still good for the user-pool API.
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == name

    [event] = functions.events("pre-token-v2", pool_id)
    assert event["version"] == "2"
    assert event["triggerSource"] == "TokenGeneration_Authentication"
    assert event["request"]["scopes"] == [ADMIN_SCOPE]
    assert event["request"]["groupConfiguration"]["groupsToOverride"] == []
    # InitiateAuth's ClientMetadata isn't forwarded to PreTokenGeneration.
    assert "clientMetadata" not in event["request"]
    assert event["response"] == {"claimsAndScopeOverrideDetails": None}

    refreshed = public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    again = verified(server, pool_id, refreshed["IdToken"], client["ClientId"])
    assert again["tenant"] == "acme" and again["origin_jti"] == id_claims["origin_jti"]
    assert verified(server, pool_id, refreshed["AccessToken"])["scope"] == f"{ADMIN_SCOPE} api/read"
    assert functions.events("pre-token-v2", pool_id)[1]["triggerSource"] == "TokenGeneration_RefreshTokens"


def test_pre_token_generation_runs_for_srp_and_pycognito_verifies_the_tokens(server, idp, functions):
    pool_id, client = triggered_pool(
        idp, {"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": arn("pre-token-v2")}}
    )
    name, pw = confirmed_user(idp, pool_id, client)
    u = pycognito_user(server, pool_id, client, name)
    u.authenticate(password=pw)  # pycognito verifies both tokens against the JWKS itself
    assert u.id_claims["tenant"] == "acme" and u.id_claims["tiers"] == ["gold", "silver"]
    assert u.access_claims["scope"] == f"{ADMIN_SCOPE} api/read"
    assert functions.events("pre-token-v2", pool_id)[0]["triggerSource"] == "TokenGeneration_Authentication"


# -- UserMigration -----------------------------------------------------------------------------


def test_user_migration_at_sign_in(server, idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"UserMigration": arn("user-migration")})
    name = unique("legacy")

    with aws_error("UserLambdaValidationException", "UserMigration failed with error Bad password."):
        sign_in(public_idp, client, name, "Wrong0ne!")
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool_id, Username=name)

    tokens = sign_in(public_idp, client, name, "OldPassw0rd!", ClientMetadata={"from": "v1"})["AuthenticationResult"]
    claims = verified(server, pool_id, tokens["IdToken"], client["ClientId"])
    assert claims["cognito:username"] == name
    assert claims["email"] == f"{name}@old.example"
    assert claims["email_verified"] is True
    assert claims["name"] == "Legacy User"
    status, attrs = user_attributes(idp, pool_id, name)
    assert status == "CONFIRMED"
    assert attrs["email"] == f"{name}@old.example"

    events = functions.events("user-migration", pool_id)
    assert len(events) == 2
    e = events[1]
    assert e["triggerSource"] == "UserMigration_Authentication"
    assert e["userName"] == name
    assert e["callerContext"]["clientId"] == client["ClientId"]
    assert e["request"]["password"] == "OldPassw0rd!"
    assert e["request"]["validationData"] == {"from": "v1"}
    assert "userAttributes" not in e["request"]

    # Migrated once: the next sign-ins are the pool's alone, including SRP.
    sign_in(public_idp, client, name, "OldPassw0rd!")
    u = pycognito_user(server, pool_id, client, name)
    u.authenticate(password="OldPassw0rd!")
    assert u.id_claims["email"] == f"{name}@old.example"
    assert len(functions.events("user-migration", pool_id)) == 2

    # A name the function doesn't vouch for stays unknown (LEGACY client).
    with aws_error("UserNotFoundException", f"Exception migrating user in app client {client['ClientId']}"):
        sign_in(public_idp, client, unique("stranger"), "Whatever1!")


def test_user_migration_through_admin_password_auth_but_not_srp(server, idp, functions):
    pool_id, public = triggered_pool(idp, {"UserMigration": arn("user-migration")})
    client = create_client(idp, pool_id, secret=True)
    name = unique("legacy")
    # SRP never shows the server the password: nothing to migrate with.
    with aws_error("UserNotFoundException", "User does not exist."):
        pycognito_user(server, pool_id, public, name).authenticate(password="OldPassw0rd!")
    assert functions.events("user-migration", pool_id) == []

    r = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client["ClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": name,
            "PASSWORD": "OldPassw0rd!",
            "SECRET_HASH": secret_hash(name, client["ClientId"], client["ClientSecret"]),
        },
    )
    assert r["AuthenticationResult"]["AccessToken"]
    assert functions.events("user-migration", pool_id)[0]["triggerSource"] == "UserMigration_Authentication"
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"


def test_user_migration_at_forgot_password(server, idp, public_idp, functions, smtp_sink):
    pool_id, client = triggered_pool(idp, {"UserMigration": arn("user-migration")})
    name = unique("legacy")
    to = f"{name}@old.example"
    sent = public_idp.forgot_password(
        ClientId=client["ClientId"], Username=name, ClientMetadata={"from": "reset-page"}
    )["CodeDeliveryDetails"]
    assert sent == {"Destination": "l***@o***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    assert user_attributes(idp, pool_id, name)[0] == "RESET_REQUIRED"
    [event] = functions.events("user-migration", pool_id)
    assert event["triggerSource"] == "UserMigration_ForgotPassword"
    assert "password" not in event["request"]
    assert event["request"]["clientMetadata"] == {"from": "reset-page"}

    # Until the reset, the old password is no way in (the function was never shown it).
    with pytest.raises(ClientError):
        sign_in(public_idp, client, name, "OldPassw0rd!")
    code = smtp_sink.wait_for(to)[0].code
    new = password()
    public_idp.confirm_forgot_password(
        ClientId=client["ClientId"], Username=name, ConfirmationCode=code, Password=new
    )
    assert user_attributes(idp, pool_id, name)[0] == "CONFIRMED"
    assert password_auth(public_idp, client, name, new)["AccessToken"]
    assert len(functions.events("user-migration", pool_id)) == 1


def test_hosted_ui_sign_ins_run_the_same_triggers(server, idp, functions):
    """The hosted UI is another door onto the same flow: PreAuthentication, PostAuthentication
    and PreTokenGeneration run, the last with TokenGeneration_HostedAuth and the granted scopes."""
    from hosted_ui import CALLBACK, Browser, callback_params, domain_base, pkce  # noqa: PLC0415
    from urllib.parse import urlencode  # noqa: PLC0415

    pool_id, client = triggered_pool(
        idp,
        {
            "PreAuthentication": arn("pre-authentication"),
            "PostAuthentication": arn("post-authentication"),
            "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": arn("pre-token-v2")},
        },
        client_args={
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": ["openid", "email"],
            "CallbackURLs": [CALLBACK],
            "SupportedIdentityProviders": ["COGNITO"],
        },
    )
    domain = unique("trig").lower()
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=domain)
    name, pw = confirmed_user(idp, pool_id, client)
    verifier, challenge = pkce()
    b = Browser()
    query = urlencode({"client_id": client["ClientId"], "response_type": "code", "redirect_uri": CALLBACK,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    b.get(f"{domain_base(server, domain)}/oauth2/authorize?{query}")
    code = callback_params(b.submit({"username": name, "password": pw}))["code"]
    tokens = requests.post(f"{domain_base(server, domain)}/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
        "redirect_uri": CALLBACK, "code_verifier": verifier,
    }, timeout=10).json()
    id_claims = verified(server, pool_id, tokens["id_token"], client["ClientId"])
    assert id_claims["tenant"] == "acme"
    access = verified(server, pool_id, tokens["access_token"])
    assert access["scope"] == "openid email api/read"
    [pre] = functions.events("pre-authentication", pool_id)
    assert pre["triggerSource"] == "PreAuthentication_Authentication"
    [post] = functions.events("post-authentication", pool_id)
    assert post["triggerSource"] == "PostAuthentication_Authentication"
    [event] = functions.events("pre-token-v2", pool_id)
    assert event["triggerSource"] == "TokenGeneration_HostedAuth"
    assert event["request"]["scopes"] == ["openid", "email"]
