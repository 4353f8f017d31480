"""Helpers for the MFA and remembered-device suites: an authenticator app (pyotp) that never
hands out a time step twice, pools with MFA, the challenge round trips, and remembered-device
sign-in done by pycognito itself.

TOTP and the real clock: the server accepts RFC 6238 codes (SHA-1, 6 digits, 30 s) for the
current step ±1 and refuses any step at or before the last one it accepted for the user. An
`Authenticator` therefore starts at the previous step and moves one step forward per code, so a
fresh user gets three codes (previous, current, next) without any waiting; only a fourth code in
the same 30 s window has to wait for the clock (computed, never a blind 30 s sleep).
"""

from __future__ import annotations

import base64
import json
import time

import pyotp
from pycognito.aws_srp import AWSSRP, generate_hash_device
from pycognito.exceptions import MFAChallengeException

from support import ALL_FLOWS, create_client, create_pool

STEP = 30
SRP_FLOWS = ALL_FLOWS + ["ALLOW_USER_SRP_AUTH"]
MISMATCH = "Invalid code or auth state for the user."
VERIFY_MISMATCH = "Code mismatch and fail enable Software Token MFA"
USED_ONCE = "Your software token has already been used once."
INCORRECT = "Incorrect username or password."


class Authenticator:
    """An authenticator app holding a base32 `secret`: `code()` is the next code the server can
    accept, a later time step than any code handed out before."""

    def __init__(self, secret: str):
        self.secret = secret
        self.totp = pyotp.TOTP(secret)  # RFC 6238 defaults: SHA-1, 6 digits, 30 s
        self.last_step: int | None = None

    def code(self) -> str:
        while True:
            now = time.time()
            current = int(now // STEP)
            step = current - 1
            # The previous step stops being accepted when the clock crosses the next boundary;
            # near one, start at the current step instead.
            if (current + 1) * STEP - now < 2.0:
                step = current
            if self.last_step is not None:
                step = max(step, self.last_step + 1)
            if step <= current + 1:
                self.last_step = step
                return self.totp.at(step * STEP)
            # Previous, current and next step are all spent: wait for the window to move.
            time.sleep(max(0.05, (step - 1) * STEP - now + 0.05))

    def now(self) -> str:
        """The code the app shows right now (no bookkeeping): for replay tests."""
        return self.totp.now()


def wrong(code: str) -> str:
    """A six-digit code that is not `code`."""
    return "000000" if code != "000000" else "111111"


def mfa_pool(idp, mode: str = "OPTIONAL", *, totp: bool = True, sms: bool = False, email: bool = False,
             **pool_args) -> str:
    """A pool with MfaConfiguration `mode` and the given factors."""
    pool_id = create_pool(idp, **pool_args)
    config: dict = {"UserPoolId": pool_id, "MfaConfiguration": mode}
    config["SoftwareTokenMfaConfiguration"] = {"Enabled": totp}
    if sms:
        config["SmsMfaConfiguration"] = {"SmsAuthenticationMessage": "Sign-in code {####}"}
    if email:
        config["EmailMfaConfiguration"] = {"Subject": "Sign-in code", "Message": "Your sign-in code is {####}"}
    idp.set_user_pool_mfa_config(**config)
    return pool_id


def mfa_client(idp, pool_id: str, **kwargs) -> dict:
    return create_client(idp, pool_id, ExplicitAuthFlows=SRP_FLOWS, **kwargs)


def start(public_idp, client: dict, username: str, pw: str, **auth) -> dict:
    """InitiateAuth USER_PASSWORD_AUTH; returns the whole response (a challenge or tokens)."""
    return public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": pw, **auth},
    )


def start_user_auth(public_idp, client: dict, username: str, **params) -> dict:
    """InitiateAuth USER_AUTH (choice-based sign-in); `params` may name a PREFERRED_CHALLENGE."""
    return public_idp.initiate_auth(
        ClientId=client["ClientId"], AuthFlow="USER_AUTH", AuthParameters={"USERNAME": username, **params}
    )


def answer(public_idp, client: dict, name: str, session: str | None, **responses) -> dict:
    """RespondToAuthChallenge (without a Session when `session` is None, as PASSWORD_VERIFIER)."""
    kwargs = {"ClientId": client["ClientId"], "ChallengeName": name, "ChallengeResponses": responses}
    if session is not None:
        kwargs["Session"] = session
    return public_idp.respond_to_auth_challenge(**kwargs)


def tokens_of(resp: dict) -> dict:
    assert "ChallengeName" not in resp, {k: v for k, v in resp.items() if k != "ResponseMetadata"}
    return resp["AuthenticationResult"]


def enrol_totp(public_idp, access_token: str, *, name: str | None = "phone", prefer: bool = True) -> Authenticator:
    """AssociateSoftwareToken + VerifySoftwareToken with the access token (and, if `prefer`,
    SetUserMFAPreference making TOTP the preferred factor); returns the app."""
    secret = public_idp.associate_software_token(AccessToken=access_token)["SecretCode"]
    app = Authenticator(secret)
    kwargs = {"FriendlyDeviceName": name} if name else {}
    verified = public_idp.verify_software_token(AccessToken=access_token, UserCode=app.code(), **kwargs)
    assert verified["Status"] == "SUCCESS", verified
    if prefer:
        public_idp.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
    return app


def claims(jwt: str) -> dict:
    """A JWT's payload (already verified elsewhere; here only read)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def mfa_settings(idp, pool_id: str, username: str) -> tuple[list | None, str | None]:
    """(UserMFASettingList, PreferredMfaSetting) from AdminGetUser."""
    u = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    return u.get("UserMFASettingList"), u.get("PreferredMfaSetting")


# -- devices: the client's half, with pycognito's helpers ------------------------------------


class Device:
    """A device the client remembers: key, group key and the random password whose SRP verifier
    it registered with ConfirmDevice."""

    def __init__(self, key: str, group_key: str, password: str):
        self.key, self.group_key, self.password = key, group_key, password


def confirm_device(public_idp, tokens: dict, name: str | None = "laptop") -> tuple[Device, dict]:
    """ConfirmDevice for the NewDeviceMetadata in `tokens`, with a verifier made by pycognito's
    `generate_hash_device` (x = H(salt | H(groupKey + deviceKey + ":" + password)),
    verifier = g^x mod N); returns the device and ConfirmDevice's response."""
    meta = tokens["NewDeviceMetadata"]
    device_password, verifier_config = generate_hash_device(meta["DeviceGroupKey"], meta["DeviceKey"])
    kwargs = {"DeviceName": name} if name else {}
    resp = public_idp.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=verifier_config,
        **kwargs,
    )
    return Device(meta["DeviceKey"], meta["DeviceGroupKey"], device_password), resp


def srp(public_idp, pool_id: str, client: dict, username: str, pw: str, device: Device | None = None) -> AWSSRP:
    if device is None:
        return AWSSRP(username, pw, pool_id, client["ClientId"], client=public_idp)
    return AWSSRP(
        username, pw, pool_id, client["ClientId"], client=public_idp,
        device_key=device.key, device_group_key=device.group_key, device_password=device.password,
    )


class Recorder:
    """The boto3 client handed to pycognito, recording what pycognito does with it: the
    challenge each response asks for (`trace`) and the challenges it answered with a Session
    (`with_session`)."""

    def __init__(self, public_idp):
        self.idp = public_idp
        self.trace: list = []
        self.with_session: list[str] = []

    def initiate_auth(self, **kwargs):
        r = self.idp.initiate_auth(**kwargs)
        self.trace.append(r.get("ChallengeName"))
        return r

    def respond_to_auth_challenge(self, **kwargs):
        if kwargs.get("Session"):
            self.with_session.append(kwargs["ChallengeName"])
        r = self.idp.respond_to_auth_challenge(**kwargs)
        self.trace.append(r.get("ChallengeName"))
        return r


def srp_sign_in(public_idp, pool_id: str, client: dict, username: str, pw: str,
                device: Device | None = None, *, trace: list | None = None) -> dict:
    """pycognito's own remembered-device sign-in, end to end:
    `AWSSRP(..., device_key=, device_group_key=, device_password=).authenticate_user()` —
    USER_SRP_AUTH (with DEVICE_KEY) through PASSWORD_VERIFIER, then, if the server asks,
    DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER with the device's secret, which pycognito answers
    without a Session (as amazon-cognito-identity-js did before it passed one). Returns the last
    response: tokens, or the challenge (MFA) the sign-in stopped at (pycognito raises those
    before a device step and returns them after one). The challenge names met on the way are
    appended to `trace`."""
    recorder = Recorder(public_idp)
    try:
        return srp(recorder, pool_id, client, username, pw, device).authenticate_user()
    except MFAChallengeException as e:
        return e.get_tokens()
    finally:
        if trace is not None:
            trace.extend(recorder.trace)
        assert recorder.with_session == [], recorder.with_session
