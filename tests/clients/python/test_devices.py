"""Remembered devices with boto3 and pycognito: NewDeviceMetadata after an SRP sign-in,
ConfirmDevice with a verifier the client computes itself (pycognito's `generate_hash_device`),
pycognito's own remembered-device sign-in (`AWSSRP(..., device_key=, device_group_key=,
device_password=).authenticate_user()`, whose DEVICE_SRP_AUTH / DEVICE_PASSWORD_VERIFIER carry no
Session) skipping MFA on a remembered device, the device's secret alone refused, the device_key
claim, device-bound refresh tokens, and the device APIs for the user (ListDevices, GetDevice,
UpdateDeviceStatus, ForgetDevice) and the administrator."""

from __future__ import annotations

import datetime

import pytest
from pycognito.aws_srp import long_to_hex

from mfa_support import (
    INCORRECT,
    Device,
    answer,
    claims,
    confirm_device,
    enrol_totp,
    mfa_client,
    mfa_pool,
    srp,
    srp_sign_in,
    tokens_of,
)
from support import attrs_of, aws_error, confirmed_user, create_pool, password_auth, unique

NO_DEVICE = "Device does not exist."
MISSING_SESSION = "Missing required parameter Session"
EXPIRED_SESSION = "Invalid session for the user, session is expired."


def tracking(prompt: bool) -> dict:
    return {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": prompt}


@pytest.fixture(scope="module")
def pool(idp):
    """Tracks devices and remembers them without asking; TOTP MFA optional."""
    return mfa_pool(idp, "OPTIONAL", DeviceConfiguration=tracking(False))


@pytest.fixture(scope="module")
def client(idp, pool):
    return mfa_client(idp, pool)


@pytest.fixture(scope="module")
def prompt_pool(idp):
    """Tracks devices, remembered only when the user says so; TOTP MFA optional."""
    return mfa_pool(idp, "OPTIONAL", DeviceConfiguration=tracking(True))


@pytest.fixture(scope="module")
def prompt_client(idp, prompt_pool):
    return mfa_client(idp, prompt_pool)


@pytest.fixture(scope="module")
def plain_pool(idp):
    """Tracks devices, no MFA: for the device APIs themselves."""
    return create_pool(idp, DeviceConfiguration=tracking(False))


@pytest.fixture(scope="module")
def plain_client(idp, plain_pool):
    return mfa_client(idp, plain_pool)


class Ctx:
    """One user of one pool, signing in by SRP."""

    def __init__(self, idp, public_idp, pool_id, client, *, totp: bool):
        self.idp, self.public, self.pool_id, self.client = idp, public_idp, pool_id, client
        self.username, self.pw = confirmed_user(idp, pool_id, client)
        self.app = None
        if totp:
            access = password_auth(public_idp, client, self.username, self.pw)["AccessToken"]
            self.app = enrol_totp(public_idp, access)

    def sign_in(self, device: Device | None = None, trace: list | None = None) -> dict:
        return srp_sign_in(self.public, self.pool_id, self.client, self.username, self.pw, device, trace=trace)

    def totp(self, r: dict) -> dict:
        """Answers the SOFTWARE_TOKEN_MFA challenge `r` with the next code; returns the tokens."""
        assert r.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", r
        return tokens_of(answer(self.public, self.client, "SOFTWARE_TOKEN_MFA", r["Session"],
                                USERNAME=self.username, SOFTWARE_TOKEN_MFA_CODE=self.app.code()))

    def signed_in(self, device: Device | None = None) -> dict:
        """Tokens, through MFA if asked."""
        r = self.sign_in(device)
        return self.totp(r) if r.get("ChallengeName") else tokens_of(r)

    def new_device(self, name: str | None = "laptop") -> tuple[Device, dict]:
        """Signs in without a device and confirms the one the pool starts tracking."""
        tokens = self.signed_in()
        device, _ = confirm_device(self.public, tokens, name)
        return device, tokens


def device_attrs(device: dict) -> dict:
    return attrs_of(device["DeviceAttributes"])


# -- tracking and remembering ------------------------------------------------------------------


def test_srp_sign_in_tracks_the_device_and_a_remembered_one_skips_mfa(idp, public_idp, pool, client):
    u = Ctx(idp, public_idp, pool, client, totp=True)
    trace: list = []
    r = u.sign_in(trace=trace)
    assert trace == ["PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA"]
    tokens = u.totp(r)
    meta = tokens["NewDeviceMetadata"]
    key, group = meta["DeviceKey"], meta["DeviceGroupKey"]
    assert key.startswith("us-east-1_") and group
    assert claims(tokens["AccessToken"])["device_key"] == key

    device, confirmed = confirm_device(public_idp, tokens, "laptop")
    assert confirmed["UserConfirmationNecessary"] is False
    got = public_idp.get_device(AccessToken=tokens["AccessToken"], DeviceKey=key)["Device"]
    assert got["DeviceKey"] == key
    assert device_attrs(got)["device_name"] == "laptop"
    assert device_attrs(got)["dev:device_remembered_status"] == "remembered"
    for field in ("DeviceCreateDate", "DeviceLastModifiedDate", "DeviceLastAuthenticatedDate"):
        assert isinstance(got[field], datetime.datetime), field

    # Next sign-in on this device: the device proves itself and MFA is skipped.
    trace = []
    r = u.sign_in(device, trace=trace)
    assert trace == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", None]
    tokens = tokens_of(r)
    assert "NewDeviceMetadata" not in tokens
    assert claims(tokens["AccessToken"])["device_key"] == key
    assert claims(tokens["AccessToken"])["username"] == u.username
    assert public_idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == u.username


def test_a_device_not_remembered_still_proves_itself_then_mfa(idp, public_idp, pool, client):
    u = Ctx(idp, public_idp, pool, client, totp=True)
    device, tokens = u.new_device()
    public_idp.update_device_status(
        AccessToken=tokens["AccessToken"], DeviceKey=device.key, DeviceRememberedStatus="not_remembered"
    )
    got = public_idp.get_device(AccessToken=tokens["AccessToken"], DeviceKey=device.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "not_remembered"

    trace: list = []
    r = u.sign_in(device, trace=trace)
    assert trace == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA"]
    tokens = u.totp(r)
    assert "NewDeviceMetadata" not in tokens  # still the same, known device
    assert claims(tokens["AccessToken"])["device_key"] == device.key

    # Remembered again: no MFA.
    public_idp.update_device_status(
        AccessToken=tokens["AccessToken"], DeviceKey=device.key, DeviceRememberedStatus="remembered"
    )
    assert tokens_of(u.sign_in(device))["AccessToken"]


def test_remembered_only_on_user_prompt(idp, public_idp, prompt_pool, prompt_client):
    u = Ctx(idp, public_idp, prompt_pool, prompt_client, totp=True)
    tokens = u.totp(u.sign_in())
    device, confirmed = confirm_device(public_idp, tokens, "tablet")
    assert confirmed["UserConfirmationNecessary"] is True
    got = public_idp.get_device(AccessToken=tokens["AccessToken"], DeviceKey=device.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "not_remembered"

    # Confirmed but not remembered: the device is known, MFA is still asked.
    trace: list = []
    r = u.sign_in(device, trace=trace)
    assert trace[-1] == "SOFTWARE_TOKEN_MFA" and "DEVICE_PASSWORD_VERIFIER" in trace
    tokens = u.totp(r)

    # The user says "remember this device".
    public_idp.update_device_status(
        AccessToken=tokens["AccessToken"], DeviceKey=device.key, DeviceRememberedStatus="remembered"
    )
    trace = []
    assert tokens_of(u.sign_in(device, trace=trace))["AccessToken"]
    assert trace == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", None]


def test_a_wrong_device_secret_is_refused(idp, public_idp, plain_pool, plain_client):
    u = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    device, _ = u.new_device()
    impostor = Device(device.key, device.group_key, "not-the-device-password")
    with aws_error("NotAuthorizedException", INCORRECT) as info:
        u.sign_in(impostor)
    assert info.value.operation_name == "RespondToAuthChallenge"
    # The real device still works.
    assert tokens_of(u.sign_in(device))["AccessToken"]


def test_the_device_secret_alone_signs_no_one_in(idp, public_idp, plain_pool, plain_client):
    """Someone holding the device's key, group key and secret but not the password: the device
    steps never stand in for the password step, with or without a Session."""
    u = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    device, _ = u.new_device()
    thief = srp(public_idp, plain_pool, plain_client, u.username, "Not-the-passw0rd!", device)
    device_srp = {"USERNAME": u.username, "DEVICE_KEY": device.key, "SRP_A": long_to_hex(thief.large_a_value)}

    def device_step(**session):
        return public_idp.respond_to_auth_challenge(
            ClientId=plain_client["ClientId"], ChallengeName="DEVICE_SRP_AUTH",
            ChallengeResponses=device_srp, **session,
        )

    with aws_error("InvalidParameterException", MISSING_SESSION):
        device_step()
    with aws_error("NotAuthorizedException", EXPIRED_SESSION):
        device_step(Session="AYABeB" * 40)
    # pycognito's whole sign-in with a wrong password stops at PASSWORD_VERIFIER ...
    with aws_error("NotAuthorizedException", INCORRECT):
        thief.authenticate_user()
    # ... and leaves nothing for a device step to continue.
    with aws_error("InvalidParameterException", MISSING_SESSION):
        device_step()

    # The real user's sign-in uses up its pending device steps: nothing is left to replay.
    trace: list = []
    assert tokens_of(u.sign_in(device, trace=trace))["AccessToken"]
    assert trace == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", None]
    with aws_error("InvalidParameterException", MISSING_SESSION):
        device_step()


def test_no_tracking_no_device_metadata(idp, public_idp):
    pool_id = create_pool(idp)
    client = mfa_client(idp, pool_id)
    u = Ctx(idp, public_idp, pool_id, client, totp=False)
    tokens = tokens_of(u.sign_in())
    assert "NewDeviceMetadata" not in tokens
    assert "device_key" not in claims(tokens["AccessToken"])


# -- refresh tokens bound to a device ----------------------------------------------------------


def test_refresh_needs_the_device_key(idp, public_idp, plain_pool, plain_client):
    u = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    device, _ = u.new_device()
    tokens = tokens_of(u.sign_in(device))
    refresh = tokens["RefreshToken"]

    def refresh_auth(**extra):
        return public_idp.initiate_auth(
            ClientId=plain_client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh, **extra},
        )

    with aws_error("NotAuthorizedException", "Invalid Refresh Token"):
        refresh_auth()
    with aws_error("NotAuthorizedException"):
        refresh_auth(DEVICE_KEY="us-east-1_00000000-0000-0000-0000-000000000000")
    refreshed = refresh_auth(DEVICE_KEY=device.key)["AuthenticationResult"]
    assert claims(refreshed["AccessToken"])["device_key"] == device.key
    assert public_idp.get_user(AccessToken=refreshed["AccessToken"])["Username"] == u.username

    with aws_error("NotAuthorizedException", "Invalid Refresh Token"):
        public_idp.get_tokens_from_refresh_token(ClientId=plain_client["ClientId"], RefreshToken=refresh)
    again = public_idp.get_tokens_from_refresh_token(
        ClientId=plain_client["ClientId"], RefreshToken=refresh, DeviceKey=device.key
    )["AuthenticationResult"]
    assert claims(again["AccessToken"])["device_key"] == device.key


# -- the device APIs ---------------------------------------------------------------------------


def test_user_device_apis(idp, public_idp, plain_pool, plain_client):
    u = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    first, _ = u.new_device("first")
    second, tokens = u.new_device("second")
    assert first.key != second.key
    access = tokens["AccessToken"]

    listed = public_idp.list_devices(AccessToken=access)
    assert {d["DeviceKey"] for d in listed["Devices"]} == {first.key, second.key}
    assert {device_attrs(d)["device_name"] for d in listed["Devices"]} == {"first", "second"}
    assert "PaginationToken" not in listed

    # One at a time.
    page = public_idp.list_devices(AccessToken=access, Limit=1)
    assert len(page["Devices"]) == 1 and page["PaginationToken"]
    rest = public_idp.list_devices(AccessToken=access, Limit=1, PaginationToken=page["PaginationToken"])
    assert len(rest["Devices"]) == 1 and "PaginationToken" not in rest
    assert {page["Devices"][0]["DeviceKey"], rest["Devices"][0]["DeviceKey"]} == {first.key, second.key}

    got = public_idp.get_device(AccessToken=access, DeviceKey=first.key)["Device"]
    assert got["DeviceKey"] == first.key and device_attrs(got)["device_name"] == "first"

    public_idp.update_device_status(AccessToken=access, DeviceKey=first.key, DeviceRememberedStatus="not_remembered")
    got = public_idp.get_device(AccessToken=access, DeviceKey=first.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "not_remembered"

    public_idp.forget_device(AccessToken=access, DeviceKey=first.key)
    with aws_error("ResourceNotFoundException", NO_DEVICE):
        public_idp.get_device(AccessToken=access, DeviceKey=first.key)
    with aws_error("ResourceNotFoundException", NO_DEVICE):
        public_idp.forget_device(AccessToken=access, DeviceKey=first.key)
    assert [d["DeviceKey"] for d in public_idp.list_devices(AccessToken=access)["Devices"]] == [second.key]

    # A forgotten device's key doesn't skip anything: the sign-in starts over, like a new device.
    trace: list = []
    r = u.sign_in(first, trace=trace)
    assert "DEVICE_SRP_AUTH" not in trace
    assert tokens_of(r)["NewDeviceMetadata"]["DeviceKey"] not in (first.key, second.key)

    # The remaining device signs in as itself; an unknown key is not found.
    current = tokens_of(u.sign_in(second))
    assert claims(current["AccessToken"])["device_key"] == second.key
    with aws_error("ResourceNotFoundException", NO_DEVICE):
        public_idp.get_device(AccessToken=current["AccessToken"], DeviceKey="us-east-1_" + "0" * 8)


def test_another_users_device_is_not_found(idp, public_idp, plain_pool, plain_client):
    ann = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    bob = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    ann_device, _ = ann.new_device()
    _, bob_tokens = bob.new_device()
    bob_access = bob_tokens["AccessToken"]
    for call in (
        lambda: public_idp.get_device(AccessToken=bob_access, DeviceKey=ann_device.key),
        lambda: public_idp.forget_device(AccessToken=bob_access, DeviceKey=ann_device.key),
        lambda: public_idp.update_device_status(
            AccessToken=bob_access, DeviceKey=ann_device.key, DeviceRememberedStatus="not_remembered"
        ),
        lambda: idp.admin_get_device(UserPoolId=plain_pool, Username=bob.username, DeviceKey=ann_device.key),
    ):
        with aws_error("ResourceNotFoundException", NO_DEVICE):
            call()
    # Untouched.
    got = idp.admin_get_device(UserPoolId=plain_pool, Username=ann.username, DeviceKey=ann_device.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "remembered"
    # Bob can't confirm Ann's device either.
    with aws_error("ResourceNotFoundException", NO_DEVICE):
        public_idp.confirm_device(
            AccessToken=bob_access, DeviceKey=ann_device.key,
            DeviceSecretVerifierConfig={"PasswordVerifier": "AAAA", "Salt": "AAAA"},
        )


def test_admin_device_apis(idp, public_idp, plain_pool, plain_client):
    u = Ctx(idp, public_idp, plain_pool, plain_client, totp=False)
    first, _ = u.new_device("first")
    second, _ = u.new_device("second")
    pool = plain_pool

    listed = idp.admin_list_devices(UserPoolId=pool, Username=u.username)
    assert {d["DeviceKey"] for d in listed["Devices"]} == {first.key, second.key}
    page = idp.admin_list_devices(UserPoolId=pool, Username=u.username, Limit=1)
    assert len(page["Devices"]) == 1 and page["PaginationToken"]
    rest = idp.admin_list_devices(UserPoolId=pool, Username=u.username, Limit=1, PaginationToken=page["PaginationToken"])
    assert {page["Devices"][0]["DeviceKey"], rest["Devices"][0]["DeviceKey"]} == {first.key, second.key}

    got = idp.admin_get_device(UserPoolId=pool, Username=u.username, DeviceKey=second.key)["Device"]
    assert got["DeviceKey"] == second.key and device_attrs(got)["device_name"] == "second"

    idp.admin_update_device_status(
        UserPoolId=pool, Username=u.username, DeviceKey=second.key, DeviceRememberedStatus="not_remembered"
    )
    got = idp.admin_get_device(UserPoolId=pool, Username=u.username, DeviceKey=second.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "not_remembered"

    idp.admin_forget_device(UserPoolId=pool, Username=u.username, DeviceKey=second.key)
    with aws_error("ResourceNotFoundException", NO_DEVICE):
        idp.admin_get_device(UserPoolId=pool, Username=u.username, DeviceKey=second.key)
    assert [d["DeviceKey"] for d in idp.admin_list_devices(UserPoolId=pool, Username=u.username)["Devices"]] == [first.key]

    with aws_error("UserNotFoundException"):
        idp.admin_list_devices(UserPoolId=pool, Username=unique("ghost"))
    with aws_error("UserNotFoundException"):
        idp.admin_get_device(UserPoolId=pool, Username=unique("ghost"), DeviceKey=first.key)
    with aws_error("ResourceNotFoundException"):
        idp.admin_list_devices(UserPoolId="us-east-1_doesNotExist", Username=u.username)


def test_admin_forgetting_the_remembered_device_brings_mfa_back(idp, public_idp, pool, client):
    u = Ctx(idp, public_idp, pool, client, totp=True)
    device, _ = u.new_device()
    assert tokens_of(u.sign_in(device))["AccessToken"]  # remembered: no MFA
    idp.admin_forget_device(UserPoolId=pool, Username=u.username, DeviceKey=device.key)
    trace: list = []
    r = u.sign_in(device, trace=trace)
    assert trace == ["PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA"]
    assert u.totp(r)["NewDeviceMetadata"]["DeviceKey"] != device.key


def test_without_challenge_required_on_new_device_mfa_is_not_skipped(idp, public_idp):
    """DeviceConfiguration.ChallengeRequiredOnNewDevice, as Cognito documents it: "When true, a
    remembered device can sign in with device authentication instead of SMS and TOTP factors
    for MFA." When false, a remembered device still owes the second factor."""
    pool_id = mfa_pool(
        idp, "OPTIONAL",
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": False},
    )
    client = mfa_client(idp, pool_id)
    u = Ctx(idp, public_idp, pool_id, client, totp=True)
    device, tokens = u.new_device()
    got = public_idp.get_device(AccessToken=tokens["AccessToken"], DeviceKey=device.key)["Device"]
    assert device_attrs(got)["dev:device_remembered_status"] == "remembered"

    trace: list = []
    r = u.sign_in(device, trace=trace)
    assert trace[-1] == "SOFTWARE_TOKEN_MFA", trace
    tokens = u.totp(r)
    assert claims(tokens["AccessToken"])["device_key"] == device.key
