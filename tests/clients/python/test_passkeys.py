"""Passkeys through boto3 with a software authenticator (passkey_support.py: real P-256 keys, CBOR
and signatures): the pool's WebAuthnConfiguration through Set/GetUserPoolMfaConfig,
Start/CompleteWebAuthnRegistration (attestation none and packed), ListWebAuthnCredentials,
DeleteWebAuthnCredential, and WEB_AUTHN as a USER_AUTH first factor; origins, relying-party ids,
user verification, single-use challenges, sign counters, and one user's passkey useless to
another."""

from __future__ import annotations

import json

import pytest

from mailroom import email_address, provisioned_user
from passkey_support import SoftAuthenticator
from mfa_support import answer, start_user_auth as start, tokens_of
from support import aws_error, create_client, create_pool, unique

RP = "localhost"
EXTRA_ORIGIN = "http://localhost:8443"
INCORRECT = "Incorrect username or password."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tessera_server import TesseraServer  # noqa: PLC0415

    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-passkeys") / "data",
        extra_env={"TESSERA_WEBAUTHN_ORIGINS": EXTRA_ORIGIN},
    ).start()
    yield s
    s.stop()


def passkey_pool(idp, *, uv="preferred", factors=("PASSWORD", "WEB_AUTHN")) -> str:
    pool_id = create_pool(idp, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": list(factors)}})
    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id, WebAuthnConfiguration={"RelyingPartyId": RP, "UserVerification": uv}
    )
    return pool_id


def passkey_client(idp, pool_id, *, hide=False) -> dict:
    return create_client(
        idp,
        pool_id,
        ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED" if hide else "LEGACY",
    )


@pytest.fixture(scope="module")
def pool(idp):
    return passkey_pool(idp)


@pytest.fixture(scope="module")
def client(idp, pool):
    return passkey_client(idp, pool)


def signed_in(idp, public_idp, pool_id, client) -> tuple[str, dict]:
    """A fresh user signed in with their password: (username, tokens)."""
    username, pw = provisioned_user(idp, pool_id, email=email_address())
    return username, tokens_of(start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw))


def register(public_idp, access_token, authenticator, **create_kwargs) -> str:
    options = public_idp.start_web_authn_registration(AccessToken=access_token)["CredentialCreationOptions"]
    credential = authenticator.create(options, **create_kwargs)
    public_idp.complete_web_authn_registration(AccessToken=access_token, Credential=credential)
    return credential["id"]


def passkey_sign_in(public_idp, client, username, authenticator, **get_kwargs) -> dict:
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="WEB_AUTHN")
    assert r["ChallengeName"] == "WEB_AUTHN", r
    options = r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]
    credential = authenticator.get(options, **get_kwargs)
    return answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username, CREDENTIAL=json.dumps(credential))


# -- configuration -----------------------------------------------------------------------------


def test_the_pools_webauthn_configuration(idp):
    pool_id = create_pool(idp)
    config = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert config["WebAuthnConfiguration"] == {"UserVerification": "preferred"}
    out = idp.set_user_pool_mfa_config(
        UserPoolId=pool_id, WebAuthnConfiguration={"RelyingPartyId": "auth.example.com", "UserVerification": "required"}
    )
    want = {"RelyingPartyId": "auth.example.com", "UserVerification": "required"}
    assert out["WebAuthnConfiguration"] == want
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["WebAuthnConfiguration"] == want
    # UpdateUserPool doesn't wipe it.
    idp.update_user_pool(UserPoolId=pool_id)
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["WebAuthnConfiguration"] == want


def test_passkeys_need_the_pool_to_allow_them(idp, public_idp):
    pool_id = passkey_pool(idp, factors=("PASSWORD",))
    client = passkey_client(idp, pool_id)
    _, tokens = signed_in(idp, public_idp, pool_id, client)
    with aws_error("WebAuthnNotEnabledException"):
        public_idp.start_web_authn_registration(AccessToken=tokens["AccessToken"])

    # Allowed, but no relying party id and no domain to stand for one.
    bare = create_pool(idp, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}})
    client = passkey_client(idp, bare)
    _, tokens = signed_in(idp, public_idp, bare, client)
    with aws_error("WebAuthnConfigurationMissingException"):
        public_idp.start_web_authn_registration(AccessToken=tokens["AccessToken"])


# -- registration and sign-in ------------------------------------------------------------------


@pytest.mark.parametrize("attestation", ["none", "packed"])
def test_register_then_sign_in_with_the_passkey(idp, public_idp, pool, client, attestation):
    username, tokens = signed_in(idp, public_idp, pool, client)
    key = SoftAuthenticator(attestation=attestation)
    options = public_idp.start_web_authn_registration(AccessToken=tokens["AccessToken"])["CredentialCreationOptions"]
    assert options["rp"]["id"] == RP
    assert options["user"]["name"] == username
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["challenge"]
    credential = key.create(options)
    public_idp.complete_web_authn_registration(AccessToken=tokens["AccessToken"], Credential=credential)

    listed = public_idp.list_web_authn_credentials(AccessToken=tokens["AccessToken"])["Credentials"]
    assert len(listed) == 1
    assert listed[0]["CredentialId"] == credential["id"]
    assert listed[0]["RelyingPartyId"] == RP
    assert listed[0]["AuthenticatorAttachment"] == "platform"
    assert listed[0]["AuthenticatorTransports"] == ["internal"]
    factors = public_idp.get_user_auth_factors(AccessToken=tokens["AccessToken"])["ConfiguredUserAuthFactors"]
    assert factors == ["PASSWORD", "WEB_AUTHN"]

    # Through SELECT_CHALLENGE …
    r = start(public_idp, client, username)
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "WEB_AUTHN"]
    r = answer(public_idp, client, "SELECT_CHALLENGE", r["Session"], USERNAME=username, ANSWER="WEB_AUTHN")
    assert r["ChallengeName"] == "WEB_AUTHN"
    options = json.loads(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    assert options["rpId"] == RP
    assert [c["id"] for c in options["allowCredentials"]] == [credential["id"]]
    signed = tokens_of(answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username,
                              CREDENTIAL=json.dumps(key.get(options))))
    assert public_idp.get_user(AccessToken=signed["AccessToken"])["Username"] == username
    # … and as the preferred challenge.
    tokens_of(passkey_sign_in(public_idp, client, username, key))


def test_registration_checks_origin_relying_party_and_challenge(idp, public_idp, pool, client):
    username, pw = provisioned_user(idp, pool, email=email_address())
    access = tokens_of(start(public_idp, client, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw))["AccessToken"]
    key = SoftAuthenticator()
    with aws_error("WebAuthnChallengeNotFoundException"):
        public_idp.complete_web_authn_registration(AccessToken=access, Credential=key.create(
            {"rp": {"id": RP}, "challenge": "AAAA", "user": {"id": "AAAA", "name": "x"}}))

    options = public_idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    with aws_error("WebAuthnOriginNotAllowedException"):
        public_idp.complete_web_authn_registration(
            AccessToken=access, Credential=SoftAuthenticator().create(options, origin="https://evil.example"))
    # The attempt used the registration up.
    with aws_error("WebAuthnChallengeNotFoundException"):
        public_idp.complete_web_authn_registration(AccessToken=access, Credential=SoftAuthenticator().create(options))

    options = public_idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    with aws_error("WebAuthnRelyingPartyMismatchException"):
        public_idp.complete_web_authn_registration(
            AccessToken=access, Credential=SoftAuthenticator().create(options, rp_id="evil.example"))

    # Another app client's token can't finish what this one started.
    other = passkey_client(idp, pool)
    options = public_idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    other_tokens = tokens_of(start(public_idp, other, username, PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pw))
    with aws_error("WebAuthnClientMismatchException"):
        public_idp.complete_web_authn_registration(
            AccessToken=other_tokens["AccessToken"], Credential=SoftAuthenticator().create(options))

    # The deployment's extra origin is accepted.
    register(public_idp, access, SoftAuthenticator(origin=EXTRA_ORIGIN))
    assert len(public_idp.list_web_authn_credentials(AccessToken=access)["Credentials"]) == 1


def test_user_verification_as_the_pool_requires(idp, public_idp):
    pool_id = passkey_pool(idp, uv="required")
    client = passkey_client(idp, pool_id)
    _, tokens = signed_in(idp, public_idp, pool_id, client)
    with aws_error("InvalidParameterException", contains="user verification"):
        register(public_idp, tokens["AccessToken"], SoftAuthenticator(uv=False))
    register(public_idp, tokens["AccessToken"], SoftAuthenticator(uv=True))


def test_assertions_are_single_use_and_counters_move_forward(idp, public_idp, pool, client):
    username, tokens = signed_in(idp, public_idp, pool, client)
    key = SoftAuthenticator()
    register(public_idp, tokens["AccessToken"], key)
    stale = key.clone()  # a copy of the authenticator, counters and all

    r = start(public_idp, client, username, PREFERRED_CHALLENGE="WEB_AUTHN")
    credential = json.dumps(key.get(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]))
    tokens_of(answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username, CREDENTIAL=credential))
    # The session is spent; the same assertion on a new challenge is refused (wrong challenge).
    with aws_error("NotAuthorizedException"):
        answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username, CREDENTIAL=credential)
    r = start(public_idp, client, username, PREFERRED_CHALLENGE="WEB_AUTHN")
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username, CREDENTIAL=credential)

    # The clone's counter lags behind the stored one: refused as a possibly cloned key.
    tokens_of(passkey_sign_in(public_idp, client, username, key))
    with aws_error("NotAuthorizedException", INCORRECT):
        passkey_sign_in(public_idp, client, username, stale)
    # The origin is checked at sign-in too.
    with aws_error("NotAuthorizedException", INCORRECT):
        passkey_sign_in(public_idp, client, username, key, origin="https://evil.example")


def test_one_users_passkey_is_useless_to_another(idp, public_idp, pool, client):
    alice, alice_tokens = signed_in(idp, public_idp, pool, client)
    bob, bob_tokens = signed_in(idp, public_idp, pool, client)
    alice_key, bob_key = SoftAuthenticator(), SoftAuthenticator()
    alice_id = register(public_idp, alice_tokens["AccessToken"], alice_key)
    register(public_idp, bob_tokens["AccessToken"], bob_key)

    # Bob's challenge answered with Alice's passkey.
    r = start(public_idp, client, bob, PREFERRED_CHALLENGE="WEB_AUTHN")
    options = json.loads(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    forged = alice_key.get(options, credential_id=next(iter(alice_key.credentials)))
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=bob, CREDENTIAL=json.dumps(forged))
    # Bob can't delete it either.
    with aws_error("ResourceNotFoundException"):
        public_idp.delete_web_authn_credential(AccessToken=bob_tokens["AccessToken"], CredentialId=alice_id)

    # Alice can; then WEB_AUTHN is no longer hers to choose.
    public_idp.delete_web_authn_credential(AccessToken=alice_tokens["AccessToken"], CredentialId=alice_id)
    assert public_idp.list_web_authn_credentials(AccessToken=alice_tokens["AccessToken"])["Credentials"] == []
    assert start(public_idp, client, alice)["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP"]


def test_unknown_names_get_a_passkey_challenge_when_hidden(idp, public_idp, pool):
    hiding = passkey_client(idp, pool, hide=True)
    nobody = unique("nobody")
    r = start(public_idp, hiding, nobody, PREFERRED_CHALLENGE="WEB_AUTHN")
    assert r["ChallengeName"] == "WEB_AUTHN"
    options = json.loads(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    assert options["rpId"] == RP and len(options["allowCredentials"]) == 1
    key = SoftAuthenticator()
    key.create({"rp": {"id": RP}, "challenge": "AAAA", "user": {"id": "AAAA", "name": nobody}})
    forged = key.get(options, credential_id=next(iter(key.credentials)))
    with aws_error("NotAuthorizedException", INCORRECT):
        answer(public_idp, hiding, "WEB_AUTHN", r["Session"], USERNAME=nobody, CREDENTIAL=json.dumps(forged))


def test_list_pages(idp, public_idp, pool, client):
    _, tokens = signed_in(idp, public_idp, pool, client)
    ids = [register(public_idp, tokens["AccessToken"], SoftAuthenticator()) for _ in range(3)]
    first = public_idp.list_web_authn_credentials(AccessToken=tokens["AccessToken"], MaxResults=2)
    assert len(first["Credentials"]) == 2
    rest = public_idp.list_web_authn_credentials(AccessToken=tokens["AccessToken"], MaxResults=2,
                                                 NextToken=first["NextToken"])
    assert len(rest["Credentials"]) == 1
    assert "NextToken" not in rest
    assert {c["CredentialId"] for c in first["Credentials"] + rest["Credentials"]} == set(ids)
