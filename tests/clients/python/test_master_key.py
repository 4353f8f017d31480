"""`tessera master-key rotate`: every secret at rest moves to a new master key while the server
runs, and afterwards the old key is not needed. Client secrets (SECRET_HASH), SRP verifiers, TOTP
secrets and signing keys keep working; values derived from the master key (an unknown user's fake
SRP salt) don't change; the raw database holds no value sealed with the old key; a node given an
unrelated key still refuses to start."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3

import jwt
import pytest
from pycognito.aws_srp import AWSSRP

from mfa_support import answer, enrol_totp, mfa_client, mfa_pool, srp_sign_in, tokens_of
from support import confirmed_user, create_client, password_auth, secret_hash
from tessera_server import new_master_key


def key_id(b64_key: str) -> bytes:
    """The id sealed values carry: HMAC-SHA256(key, "tessera-master-key-id-v1")[:4]."""
    key = base64.b64decode(b64_key)
    return hmac.new(key, b"tessera-master-key-id-v1", hashlib.sha256).digest()[:4]


def sealed_values(db_path) -> list[tuple[str, bytes]]:
    """Every sealed value kept at rest, read from the raw SQLite file, with where it was found."""
    out: list[tuple[str, bytes]] = []
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        for table, column in [
            ("signing_keys", "sealed_private"),
            ("app_clients", "sealed_secret"),
            ("app_clients", "sealed_secret_2"),
            ("users", "srp_verifier"),
            ("identity_signing_keys", "sealed_private"),
            ("sts_sessions", "sealed_secret"),
            ("iam_role_sessions", "sealed_secret"),
        ]:
            for (v,) in con.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                out.append((f"{table}.{column}", bytes(v)))
        for (name, v) in con.execute(
            "SELECT name, value FROM deployment_meta WHERE name IN ('master-key-check', 'master-key-derive-secret')"
        ):
            out.append((f"deployment_meta.{name}", bytes(v)))

        def mfa_of(where: str, doc: dict) -> None:
            for field in ("totp_secret", "pending_totp_secret"):
                if doc.get("mfa", {}).get(field):
                    out.append((f"{where}.{field}", bytes(doc["mfa"][field])))

        for (data,) in con.execute("SELECT data FROM users"):
            mfa_of("users.data", json.loads(data))
        for (data,) in con.execute("SELECT data FROM devices"):
            d = json.loads(data)
            if d.get("sealed_verifier"):
                out.append(("devices.data", bytes(d["sealed_verifier"])))
        for (image,) in con.execute(
            "SELECT before_image FROM pool_history WHERE entity = 'user' AND before_image IS NOT NULL"
        ):
            u = json.loads(image)
            mfa_of("pool_history", u)
            if u.get("srp"):
                out.append(("pool_history.srp", bytes(u["srp"]["sealed_verifier"])))
    finally:
        con.close()
    return out


def assert_all_under(values, b64_key: str) -> None:
    wanted = key_id(b64_key)
    wrong = [(where, v[:5].hex()) for where, v in values if v[0] != 2 or v[1:5] != wanted]
    assert not wrong, f"not sealed with {wanted.hex()}: {wrong}"


def fake_salt(public_idp, pool_id: str, client: dict) -> str:
    """The SALT an unknown user's SRP challenge carries (derived from the deployment's secret)."""
    a = AWSSRP("nobody-here", "x", pool_id, client["ClientId"], client=public_idp).get_auth_params()
    resp = public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": "nobody-here", "SRP_A": a["SRP_A"]},
    )
    return resp["ChallengeParameters"]["SALT"]


def srp_totp_sign_in(public_idp, pool_id, client, username, pw, app) -> dict:
    """USER_SRP_AUTH (pycognito) → SOFTWARE_TOKEN_MFA answered with the authenticator."""
    challenge = srp_sign_in(public_idp, pool_id, client, username, pw)
    assert challenge.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", challenge
    resp = answer(
        public_idp, client, "SOFTWARE_TOKEN_MFA", challenge["Session"],
        USERNAME=username, SOFTWARE_TOKEN_MFA_CODE=app.code(),
    )
    return tokens_of(resp)


def refuses_to_start(server) -> None:
    """The server exits at start, saying the master key doesn't match (anywhere in its stderr:
    a RUST_BACKTRACE in the environment may follow the message with a backtrace)."""
    with pytest.raises(RuntimeError):
        server.start()
    assert "master key doesn't match" in server.log_path.read_text(errors="replace")


def verify(server, pool_id: str, token: str) -> dict:
    jwks = jwt.PyJWKClient(f"{server.issuer(pool_id)}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], issuer=server.issuer(pool_id),
        options={"verify_aud": False},
    )


def test_rotation_of_the_data_directory_key_is_online_and_complete(spawn):
    s = spawn()
    idp, public_idp = s.client(), s.client(unsigned=True)
    old_key = (s.data_dir / "master.key").read_text().strip()
    pool_id = mfa_pool(idp, "OPTIONAL")
    client = mfa_client(idp, pool_id, PreventUserExistenceErrors="ENABLED")
    secret_client = create_client(idp, pool_id, secret=True)
    username, pw = confirmed_user(idp, pool_id, client)
    app = enrol_totp(public_idp, password_auth(public_idp, client, username, pw)["AccessToken"])
    first = srp_totp_sign_in(public_idp, pool_id, client, username, pw, app)
    plain, plain_pw = confirmed_user(idp, pool_id, secret_client)
    before_secret = password_auth(public_idp, secret_client, plain, plain_pw)
    salt = fake_salt(public_idp, pool_id, client)
    # The SRP sign-in saved a verifier for the second user too.
    srp_sign_in(public_idp, pool_id, client, plain, plain_pw)
    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username=username, UserAttributes=[{"Name": "name", "Value": "Journaled"}]
    )
    db = s.data_dir / "tessera.db"
    before = sealed_values(db)
    kinds = {where for where, _ in before}
    for expected in ["signing_keys.sealed_private", "app_clients.sealed_secret", "users.srp_verifier",
                     "users.data.totp_secret", "deployment_meta.master-key-check",
                     "deployment_meta.master-key-derive-secret", "pool_history.srp",
                     "pool_history.totp_secret"]:
        assert expected in kinds, (expected, kinds)
    assert_all_under(before, old_key)

    # Rotate while the server runs.
    run = s.cli("master-key rotate", timeout=180)
    assert run.returncode == 0, run.stderr
    new_key = (s.data_dir / "master.key").read_text().strip()
    assert new_key != old_key
    assert (s.data_dir / "master.key.previous").read_text().split() == [old_key]
    counts = {c["place"]: c for c in map(json.loads, run.stdout.splitlines())}
    assert counts["signing keys"]["resealed"] >= 2, counts
    assert counts["client secrets"]["resealed"] == 1, counts
    assert counts["user credentials (SRP verifiers, TOTP secrets)"]["resealed"] == 3, counts
    assert all(c["unopenable"] == 0 and c["changed_meanwhile"] == 0 for c in counts.values()), counts
    assert_all_under(sealed_values(db), new_key)
    assert key_id(new_key).hex() in run.stderr

    # The running server never stopped working: it picked up both keys.
    during = srp_totp_sign_in(public_idp, pool_id, client, username, pw, app)
    assert verify(s, pool_id, during["IdToken"])["cognito:username"] == username
    password_auth(public_idp, secret_client, plain, plain_pw)
    assert fake_salt(public_idp, pool_id, client) == salt

    # Rotating to the key in use is refused before anything changes.
    again = s.cli("master-key rotate", "--new-key-file", str(s.data_dir / "master.key"), timeout=60)
    assert again.returncode != 0 and "is the current one" in again.stderr

    # Without the old key at all.
    s.stop()
    (s.data_dir / "master.key.previous").unlink()
    s.start_on_same_port()
    after = srp_totp_sign_in(public_idp, pool_id, client, username, pw, app)
    assert verify(s, pool_id, after["AccessToken"])["username"] == username
    assert verify(s, pool_id, first["IdToken"])["sub"] == verify(s, pool_id, after["IdToken"])["sub"]
    tokens = public_idp.initiate_auth(
        ClientId=secret_client["ClientId"],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={
            "REFRESH_TOKEN": before_secret["RefreshToken"],
            "SECRET_HASH": secret_hash(plain, secret_client["ClientId"], secret_client["ClientSecret"]),
        },
    )["AuthenticationResult"]
    assert verify(s, pool_id, tokens["IdToken"])["cognito:username"] == plain
    assert fake_salt(public_idp, pool_id, client) == salt
    s.stop()

    # A node with an unrelated key refuses, and says why.
    s.master_key = new_master_key()
    refuses_to_start(s)


def test_rotation_of_a_configured_key_reseals_with_the_previous_key_configured(spawn):
    old_key, new_key = new_master_key(), new_master_key()
    s = spawn(master_key=old_key)
    idp, public_idp = s.client(), s.client(unsigned=True)
    pool_id = mfa_pool(idp, "OFF")
    client = create_client(idp, pool_id, secret=True)
    username, pw = confirmed_user(idp, pool_id, client)
    password_auth(public_idp, client, username, pw)
    s.stop()

    # The new key alone, before any rotation: refused.
    s.master_key = new_key
    refuses_to_start(s)

    # New key plus the previous one: serves, and the rotation only re-seals.
    s.extra_env["TESSERA_PREVIOUS_MASTER_KEYS"] = f"{new_master_key()}, {old_key}"
    s.start_on_same_port()
    password_auth(public_idp, client, username, pw)
    run = s.cli("master-key rotate", timeout=120)
    assert run.returncode == 0, run.stderr
    assert not (s.data_dir / "master.key.previous").exists()
    assert_all_under(sealed_values(s.data_dir / "tessera.db"), new_key)
    # Harmless to repeat: everything is under the new key already.
    again = s.cli("master-key rotate", timeout=120)
    assert again.returncode == 0, again.stderr
    assert all(json.loads(line)["resealed"] == 0 for line in again.stdout.splitlines()), again.stdout
    s.stop()

    del s.extra_env["TESSERA_PREVIOUS_MASTER_KEYS"]
    s.start_on_same_port()
    tokens = password_auth(public_idp, client, username, pw)
    assert verify(s, pool_id, tokens["IdToken"])["cognito:username"] == username
