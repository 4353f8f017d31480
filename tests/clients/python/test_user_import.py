"""User import jobs with boto3: CreateUserImportJob's PreSignedUrl takes the CSV by an HTTP PUT
(as S3's would), StartUserImportJob imports it in the background, Describe/List report progress,
Stop stops it; rows follow Cognito's CSV rules, refused rows go to the job's error log
(`tessera users import-log`). Beyond Cognito: a `cognito:password_hash` column holding hashes
made by other systems — bcrypt, argon2, scrypt, PBKDF2 (made here with the `bcrypt` and
`argon2-cffi` packages and Python's hashlib) and Firebase's modified scrypt — so imported users
sign in with their old passwords (rehashed to argon2id on the way), and `tessera users export`
writes a pool's users with their hashes. A job killed mid-run (kill -9) resumes from its last
committed batch without importing a row twice.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import time

import argon2
import bcrypt
import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from support import aws_error, create_client, password_auth, unique

ROLE = "arn:aws:iam::000000000000:role/CognitoImport"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def scrypt_phc(pw: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(pw.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    return f"$scrypt$ln=10,r=8,p=1${b64(salt)}${b64(dk)}"


def pbkdf2_phc(pw: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, 10_000, 32)
    return f"$pbkdf2-sha256$i=10000,l=32${b64(salt)}${b64(dk)}"


def firebase_hash(pw: str) -> str:
    """Firebase's modified scrypt, computed here from its published description: the key
    scrypt(password, salt + separator, N=2^mem_cost, r=rounds, p=1, 32 bytes) encrypts the
    project's signer key with AES-256-CTR and a zero IV."""
    signer_key, separator, salt = os.urandom(64), b"\x07", os.urandom(12)
    key = hashlib.scrypt(pw.encode(), salt=salt + separator, n=2**14, r=8, p=1, dklen=32, maxmem=64 * 1024 * 1024)
    enc = Cipher(algorithms.AES(key), modes.CTR(b"\0" * 16)).encryptor()
    hashed = enc.update(signer_key) + enc.finalize()
    std = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return (
        f"$firebase-scrypt$rounds=8,mem_cost=14,salt_separator={std(separator)},signer_key={std(signer_key)}"
        f"${std(salt)}${std(hashed)}"
    )


def csv_bytes(header: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({h: r.get(h, "") for h in header})
    return out.getvalue().encode()


def wait_for(idp, pool_id, job_id, statuses=("Succeeded", "Failed", "Stopped"), timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job_id)["UserImportJob"]
        if job["Status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['Status']} after {timeout}s")


def new_job(idp, pool_id, **kwargs):
    return idp.create_user_import_job(
        JobName=unique("job"), UserPoolId=pool_id, CloudWatchLogsRoleArn=ROLE, **kwargs
    )["UserImportJob"]


@pytest.fixture(scope="module")
def pool(idp):
    pool_id = idp.create_user_pool(PoolName=unique("import"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client = create_client(
        idp, pool_id, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )
    header = idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]
    return pool_id, client, header


def test_imported_hashes_sign_in_and_rows_follow_cognitos_rules(server, idp, public_idp, pool):
    pool_id, client, header = pool
    # Cognito's columns, then Tessera's optional password-hash column.
    assert header[-3:] == ["cognito:mfa_enabled", "cognito:username", "cognito:password_hash"]
    passwords = {name: f"Old-{name}-Pw1!" for name in ["bc", "ar", "sc", "pb", "fb"]}
    hashes = {
        "bc": bcrypt.hashpw(passwords["bc"].encode(), bcrypt.gensalt(rounds=4)).decode(),
        "ar": argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(passwords["ar"]),
        "sc": scrypt_phc(passwords["sc"]),
        "pb": pbkdf2_phc(passwords["pb"]),
        "fb": firebase_hash(passwords["fb"]),
    }
    rows = [
        {"cognito:username": f"imp-{k}", "email": f"{k}@old.example", "email_verified": "true",
         "cognito:mfa_enabled": "false", "cognito:password_hash": h, "name": f"User {k}"}
        for k, h in hashes.items()
    ]
    rows += [
        # No hash: RESET_REQUIRED, as Cognito imports everyone.
        {"cognito:username": "imp-reset", "email": "reset@old.example", "email_verified": "true", "cognito:mfa_enabled": "false"},
        # Refused: no verified contact to reset with; MFA without a phone; a hash Tessera doesn't take.
        {"cognito:username": "imp-unverified", "email": "u@old.example", "email_verified": "false", "cognito:mfa_enabled": "false"},
        {"cognito:username": "imp-mfa", "email": "m@old.example", "email_verified": "true", "cognito:mfa_enabled": "true"},
        {"cognito:username": "imp-md5", "cognito:mfa_enabled": "false", "cognito:password_hash": "$1$abc$def"},
        # A duplicate of an earlier row.
        {"cognito:username": "imp-bc", "email": "dup@old.example", "email_verified": "true", "cognito:mfa_enabled": "false"},
    ]
    job = new_job(idp, pool_id)
    assert job["Status"] == "Created" and job["JobId"].startswith("import-")
    url = job["PreSignedUrl"]
    # The same curl -T the Cognito guide shows (with its header): a PUT of the file.
    put = requests.put(url, data=csv_bytes(header, rows), headers={"x-amz-server-side-encryption": "aws:kms"})
    assert put.status_code == 200, put.text
    # The URL is the credential: another token is refused as S3 would.
    bad = requests.put(url.split("?")[0] + "?token=nope", data=b"x")
    assert bad.status_code == 403 and "<Code>AccessDenied</Code>" in bad.text

    started = idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
    assert started["Status"] in ("Pending", "InProgress", "Succeeded")
    with aws_error("PreconditionNotMetException"):
        idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    done = wait_for(idp, pool_id, job["JobId"])
    assert done["Status"] == "Succeeded", done
    assert (done["ImportedUsers"], done["FailedUsers"], done["SkippedUsers"]) == (6, 4, 0), done
    assert done["CompletionMessage"] == "ImportCompleted"
    assert done["CompletionDate"] >= done["StartDate"] >= done["CreationDate"]
    # A finished job's upload URL takes nothing more.
    assert requests.put(url, data=csv_bytes(header, rows)).status_code == 409

    for k, pw in passwords.items():
        user = idp.admin_get_user(UserPoolId=pool_id, Username=f"imp-{k}")
        assert user["UserStatus"] == "CONFIRMED"
        with aws_error("NotAuthorizedException", "Incorrect username or password."):
            password_auth(public_idp, client, f"imp-{k}", pw + "x")
        tokens = password_auth(public_idp, client, f"imp-{k}", pw)
        assert tokens["AccessToken"]
        # Rehashed to argon2id on the way: SRP now works too (a verifier was made).
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(username=f"imp-{k}", password=pw, pool_id=pool_id, client_id=client["ClientId"], client=public_idp)
        assert srp.authenticate_user()["AuthenticationResult"]["IdToken"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username="imp-reset")["UserStatus"] == "RESET_REQUIRED"
    with aws_error("PasswordResetRequiredException"):
        password_auth(public_idp, client, "imp-reset", "Anything-1!")

    log = server.cli("users import-log", "--pool", pool_id, "--job", job["JobId"])
    assert log.returncode == 0, log.stderr
    lines = [json.loads(line) for line in log.stdout.splitlines()]
    assert [(e["row"], e["username"]) for e in lines] == [
        (7, "imp-unverified"), (8, "imp-mfa"), (9, "imp-md5"), (10, "imp-bc")
    ], lines
    assert "email_verified" in lines[0]["message"]
    assert "already exists" in lines[3]["message"]

    exported = server.cli("users export", "--pool", pool_id)
    assert exported.returncode == 0, exported.stderr
    users = {u["username"]: u for u in map(json.loads, exported.stdout.splitlines())}
    assert users["imp-bc"]["password_hash"].startswith("$argon2id$")  # upgraded at sign-in
    assert users["imp-reset"]["password_hash"] is None and users["imp-reset"]["status"] == "RESET_REQUIRED"
    assert users["imp-sc"]["attributes"]["email"] == "sc@old.example"


def test_jobs_are_listed_described_stopped_and_checked(idp, pool):
    pool_id, _, header = pool
    a = new_job(idp, pool_id, PasswordHashingAlgorithm="BCRYPT")
    assert a["PasswordHashingAlgorithm"] == "BCRYPT"
    b = new_job(idp, pool_id)
    listed = idp.list_user_import_jobs(UserPoolId=pool_id, MaxResults=1)
    assert listed["UserImportJobs"][0]["JobId"] == b["JobId"]
    more = idp.list_user_import_jobs(UserPoolId=pool_id, MaxResults=60, PaginationToken=listed["PaginationToken"])
    assert a["JobId"] in [j["JobId"] for j in more["UserImportJobs"]]
    described = idp.describe_user_import_job(UserPoolId=pool_id, JobId=a["JobId"])["UserImportJob"]
    assert described["PreSignedUrl"] == a["PreSignedUrl"]
    # A job declared BCRYPT refuses other hashes row by row.
    rows = [
        {"cognito:username": "typed-ok", "cognito:mfa_enabled": "false",
         "cognito:password_hash": bcrypt.hashpw(b"Pw-typed-1!", bcrypt.gensalt(rounds=4)).decode()},
        {"cognito:username": "typed-bad", "cognito:mfa_enabled": "false", "cognito:password_hash": scrypt_phc("x")},
    ]
    assert requests.put(a["PreSignedUrl"], data=csv_bytes(header, rows)).status_code == 200
    idp.start_user_import_job(UserPoolId=pool_id, JobId=a["JobId"])
    done = wait_for(idp, pool_id, a["JobId"])
    assert (done["ImportedUsers"], done["FailedUsers"]) == (1, 1)
    # Stopping a job that never started; stopping a finished one is refused.
    stopped = idp.stop_user_import_job(UserPoolId=pool_id, JobId=b["JobId"])["UserImportJob"]
    assert stopped["Status"] == "Stopped"
    with aws_error("PreconditionNotMetException"):
        idp.stop_user_import_job(UserPoolId=pool_id, JobId=a["JobId"])
    with aws_error("ResourceNotFoundException"):
        idp.describe_user_import_job(UserPoolId=pool_id, JobId="import-missing1")
    with aws_error("InvalidParameterException"):
        idp.describe_user_import_job(UserPoolId=pool_id, JobId="not-an-import-id")
    # A file whose header isn't the pool's fails the job with the reason in its log.
    c = new_job(idp, pool_id)
    requests.put(c["PreSignedUrl"], data=b"cognito:username,favourite_colour\nann,blue\n")
    idp.start_user_import_job(UserPoolId=pool_id, JobId=c["JobId"])
    failed = wait_for(idp, pool_id, c["JobId"])
    assert failed["Status"] == "Failed" and failed["CompletionMessage"] == "CsvFileInvalid"


def test_a_job_killed_mid_run_resumes_without_importing_a_row_twice(spawn):
    s = spawn()
    idp = s.client()
    pool_id = idp.create_user_pool(PoolName=unique("resume"))["UserPool"]["Id"]
    header = idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]
    n = 20_000
    rows = [
        {"cognito:username": f"r{i:05d}", "email": f"r{i}@example.com", "email_verified": "true", "cognito:mfa_enabled": "false"}
        for i in range(n)
    ]
    job = new_job(idp, pool_id)
    assert requests.put(job["PreSignedUrl"], data=csv_bytes(header, rows)).status_code == 200
    idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    # Kill the node as soon as some batches have committed, before the end.
    deadline = time.time() + 60
    while time.time() < deadline:
        j = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
        if j["ImportedUsers"] > 0:
            break
        time.sleep(0.02)
    assert j["Status"] == "InProgress" and j["ImportedUsers"] < n, j
    s.restart(hard=True)
    idp = s.client()
    # The restarted node took the job up where its last committed batch left it.
    assert "resuming user import job" in s.stderr_tail()
    done = wait_for(idp, pool_id, job["JobId"], timeout=120)
    assert done["Status"] == "Succeeded", done
    assert (done["ImportedUsers"], done["FailedUsers"], done["SkippedUsers"]) == (n, 0, 0), done
    count, token = 0, None
    while True:
        page = idp.list_users(UserPoolId=pool_id, Limit=60, **({"PaginationToken": token} if token else {}))
        count += len(page["Users"])
        token = page.get("PaginationToken")
        if not token:
            break
    assert count == n
