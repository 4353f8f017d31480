"""The audit trail (`--audit-log FILE`): one JSON line per operation with request id, source
address, caller (the signing access key), the user concerned and the outcome; key rotation by the
CLI lands there too. And, with every log at debug, no password, code, token or secret appears in
the log stream or the audit file."""

from __future__ import annotations

import json
import re

from mailroom import delivery_args, email_address, provisioned_user
from mfa_support import Authenticator, mfa_pool
from support import (
    create_client,
    error_of,
    password,
    password_auth,
    secret_hash,
)
from tessera_server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY


def lines_of(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_audit_trail_and_no_secret_in_any_log(spawn, tmp_path, smtp_sink):
    smtp = smtp_sink
    audit = tmp_path / "audit.jsonl"
    s = spawn(
        extra_args=["--audit-log", str(audit), *delivery_args(smtp)],
        extra_env={"TESSERA_LOG": "debug"},
    )
    idp, public = s.client(), s.client(unsigned=True)
    pool_id = mfa_pool(idp, "OPTIONAL", totp=True)
    client = create_client(idp, pool_id, secret=True)
    address = email_address("audit")
    username, first_pw = provisioned_user(idp, pool_id, email=address)
    sub = next(
        a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
        if a["Name"] == "sub"
    )
    secrets_seen = {first_pw, client["ClientSecret"], ROOT_SECRET_ACCESS_KEY}

    def sign_in(pw):
        return password_auth(public, client, username, pw)

    tokens = sign_in(first_pw)
    secrets_seen |= {tokens["AccessToken"], tokens["IdToken"], tokens["RefreshToken"]}
    second_pw = password()
    secrets_seen.add(second_pw)
    public.change_password(
        PreviousPassword=first_pw, ProposedPassword=second_pw, AccessToken=tokens["AccessToken"]
    )
    totp_secret = public.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
    secrets_seen.add(totp_secret)
    app = Authenticator(totp_secret)
    totp_code = app.code()
    public.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=totp_code)
    public.set_user_mfa_preference(
        AccessToken=tokens["AccessToken"],
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    public.global_sign_out(AccessToken=tokens["AccessToken"])
    public.forgot_password(
        ClientId=client["ClientId"],
        Username=username,
        SecretHash=secret_hash(username, client["ClientId"], client["ClientSecret"]),
    )
    reset_code = smtp.wait_for(address)[0].code
    third_pw = password()
    secrets_seen.add(third_pw)
    public.confirm_forgot_password(
        ClientId=client["ClientId"],
        Username=username,
        ConfirmationCode=reset_code,
        Password=third_pw,
        SecretHash=secret_hash(username, client["ClientId"], client["ClientSecret"]),
    )
    wrong_pw = password()
    secrets_seen.add(wrong_pw)
    for _ in range(6):
        try:
            sign_in(wrong_pw)
        except Exception as e:  # noqa: BLE001 (the error is what the audit line records)
            last = error_of(e)
    assert last == ("NotAuthorizedException", "Password attempts exceeded")
    rotated = s.cli("keys rotate", "--pool", pool_id, "--audit-log", str(audit))
    assert rotated.returncode == 0, rotated.stderr
    s.stop()

    lines = lines_of(audit)
    for line in lines:
        assert line["target"] == "tessera::audit"
    requests = [line for line in lines if "operation" in line]
    for line in requests:
        assert line["source_ip"] == "127.0.0.1", line
        assert re.fullmatch(r"[0-9a-f-]{36}", line["request_id"]), line

    def find(operation, **fields):
        matching = [
            line for line in requests
            if line["operation"] == operation and all(line.get(k) == v for k, v in fields.items())
        ]
        assert matching, f"no audit line for {operation} {fields}: {requests}"
        return matching

    # Admin operations name the access key that signed them, and the user they touched.
    find("cognito-idp.CreateUserPool", caller=ROOT_ACCESS_KEY_ID, outcome="ok")
    find("cognito-idp.AdminGetUser", caller=ROOT_ACCESS_KEY_ID, pool=pool_id, sub=sub, outcome="ok")
    # Sign-ins: success with the user, failures, then the lockout.
    find("cognito-idp.InitiateAuth", pool=pool_id, sub=sub, outcome="tokens")
    find("cognito-idp.InitiateAuth", pool=pool_id, sub=sub, outcome="NotAuthorizedException")
    find("cognito-idp.InitiateAuth", pool=pool_id, sub=sub, outcome="locked_out")
    # Security changes by the user, under the user's sub.
    for op in ("ChangePassword", "AssociateSoftwareToken", "VerifySoftwareToken",
               "SetUserMFAPreference", "GlobalSignOut"):
        find(f"cognito-idp.{op}", pool=pool_id, sub=sub, outcome="ok")
    find("cognito-idp.ForgotPassword", pool=pool_id, sub=sub, outcome="ok")
    find("cognito-idp.ConfirmForgotPassword", pool=pool_id, sub=sub, outcome="ok")
    # The CLI's key rotation.
    assert any(
        line.get("event") == "signing_keys_rotated" and line.get("pool") == pool_id for line in lines
    ), lines

    # No secret anywhere: not in the audit file, not in the debug log stream.
    texts = {"audit": audit.read_text()}
    for log in sorted(s.data_dir.parent.glob(f"{s.data_dir.name}.stderr.*.log")):
        texts[log.name] = log.read_text(errors="replace")
    assert len(texts["audit"]) > 0
    for name, text in texts.items():
        for secret in secrets_seen:
            assert secret not in text, f"a secret ({secret[:4]}…) is in {name}"
        for code in (totp_code, reset_code):
            assert not re.search(rf"(?<![0-9.]){code}(?![0-9])", text), f"code {code} is in {name}"


def test_silent_sign_ins_are_audited_with_the_address_a_trusted_proxy_forwarded(spawn, tmp_path):
    from hosted_ui import Browser, callback_params, oauth_pool  # noqa: PLC0415
    from test_hosted_ui import authorize_url, sign_in, user_in  # noqa: PLC0415

    audit = tmp_path / "audit.jsonl"
    s = spawn(extra_args=["--audit-log", str(audit)], extra_env={"TESSERA_TRUSTED_PROXIES": "127.0.0.1/32"})
    idp = s.client()
    pool_id, domain, client = oauth_pool(idp)
    username, pw = user_in(idp, pool_id)
    sub = next(a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
               if a["Name"] == "sub")
    b = Browser()
    b.http.headers["X-Forwarded-For"] = "198.51.100.7, 203.0.113.50"
    callback_params(sign_in(b, s, domain, client["ClientId"], username, pw))
    # The second authorize signs in on the hosted session alone, with a GET.
    again = callback_params(b.get(authorize_url(s, domain, client["ClientId"])))
    assert again["code"]
    s.stop()
    silent = [line for line in lines_of(audit)
              if line.get("operation") == "GET /oauth2/authorize (hosted session)"]
    assert len(silent) == 1, lines_of(audit)
    (line,) = silent
    assert (line["pool"], line["sub"], line["outcome"]) == (pool_id, sub, "ok")
    # The proxy (127.0.0.1, trusted) vouches for the rightmost entry only.
    assert line["source_ip"] == "203.0.113.50"
