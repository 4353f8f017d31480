"""Benchmark (not a test): user import jobs at scale.

    TESSERA_BIN=target/release/tessera tests/clients/python/.venv/bin/python \\
        tests/clients/python/bench_import.py [--rows 1000000]

In one run: a CSV of `rows` users without password hashes, then one with a `cognito:password_hash`
column (a bcrypt and an argon2id PHC string, alternating: parsed and stored, as an import does;
they are checked at sign-in, not here), each imported through CreateUserImportJob's PreSignedUrl (in files under the 100 MB a job takes)
and StartUserImportJob into a fresh pool of the release binary (an import hashes nothing, so the
harness's hashing setting doesn't matter), with progress
printed from DescribeUserImportJob; and, as the baseline, the same rows inserted with plain SQL
into a SQLite table of the same shape (one indexed users table, batches of 500 per transaction,
WAL, synchronous=FULL as Tessera's store) by Python's sqlite3 on the same machine.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

import argon2  # noqa: E402
import bcrypt  # noqa: E402
import requests  # noqa: E402

from tessera_server import TesseraServer  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/CognitoImport"


def csv_file(header: list[str], rows: int, hashes: list[str] | None, offset: int = 0) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    at = {h: i for i, h in enumerate(header)}
    for i in range(offset, offset + rows):
        row = [""] * len(header)
        row[at["cognito:username"]] = f"user{i:07d}"
        row[at["email"]] = f"user{i}@example.com"
        row[at["email_verified"]] = "true"
        row[at["cognito:mfa_enabled"]] = "false"
        if hashes:
            row[at["cognito:password_hash"]] = hashes[i % len(hashes)]
        w.writerow(row)
    return out.getvalue().encode()


def import_rows(server: TesseraServer, files: list[tuple[bytes, int]], label: str) -> float:
    """Imports the files (each under the 100 MB a job takes, as on Cognito) one job after the
    other into one new pool; returns the seconds from the first upload to the last row."""
    idp = server.client()
    pool = idp.create_user_pool(PoolName=f"bench-{label}")["UserPool"]["Id"]
    started = time.monotonic()
    for n, (data, rows) in enumerate(files, 1):
        job = idp.create_user_import_job(JobName=f"{label}-{n}", UserPoolId=pool,
                                         CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
        put = requests.put(job["PreSignedUrl"], data=data, timeout=600)
        assert put.status_code == 200, put.text
        idp.start_user_import_job(UserPoolId=pool, JobId=job["JobId"])
        last = 0.0
        while True:
            j = idp.describe_user_import_job(UserPoolId=pool, JobId=job["JobId"])["UserImportJob"]
            now = time.monotonic()
            if now - last >= 5 or j["Status"] in ("Succeeded", "Failed", "Stopped"):
                print(f"  {label} job {n}/{len(files)}: {j['Status']:<10} {j['ImportedUsers']:>9} imported, "
                      f"{j['FailedUsers']} failed, {now - started:6.1f} s", flush=True)
                last = now
            if j["Status"] in ("Succeeded", "Failed", "Stopped"):
                break
            time.sleep(0.5)
        assert j["Status"] == "Succeeded" and j["ImportedUsers"] == rows, j
    return time.monotonic() - started


def files_of(header: list[str], rows: int, hashes: list[str] | None, per_file: int) -> list[tuple[bytes, int]]:
    out = []
    for start in range(0, rows, per_file):
        n = min(per_file, rows - start)
        out.append((csv_file(header, n, hashes, offset=start), n))
    return out


def sql_baseline(rows: int, directory: Path) -> float:
    db = sqlite3.connect(directory / "baseline.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE users (pool_id TEXT NOT NULL, sub TEXT NOT NULL, username TEXT NOT NULL, "
               "status TEXT NOT NULL, attributes TEXT NOT NULL, password_hash TEXT, created_at INTEGER NOT NULL, "
               "PRIMARY KEY (pool_id, sub))")
    db.execute("CREATE UNIQUE INDEX users_username ON users (pool_id, username)")
    started = time.monotonic()
    batch = []
    for i in range(rows):
        attrs = json.dumps({"email": f"user{i}@example.com", "email_verified": "true"})
        batch.append(("pool", str(uuid.uuid4()), f"user{i:07d}", "RESET_REQUIRED", attrs, None, i))
        if len(batch) == 500 or i == rows - 1:
            db.execute("BEGIN")
            db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            db.execute("COMMIT")
            batch.clear()
    elapsed = time.monotonic() - started
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = TesseraServer(tmp / "data").start()
        try:
            header = server.client().get_csv_header(UserPoolId=server.client().create_user_pool(
                PoolName="header")["UserPool"]["Id"])["CSVHeader"]
            hashes = [bcrypt.hashpw(b"Imported-Passw0rd", bcrypt.gensalt(rounds=10)).decode(),
                      argon2.PasswordHasher().hash("Imported-Passw0rd")]
            print(f"user import, {args.rows} rows per run (binary {server.binary}):", flush=True)
            # Files under the 100 MB a job accepts: about 1.3 M plain rows fit one, 500 k with hashes.
            plain = files_of(header, args.rows, None, 1_000_000)
            t_plain = import_rows(server, plain, "plain")
            with_hashes = files_of(header, args.rows, hashes, 500_000)
            t_hashes = import_rows(server, with_hashes, "hashes")
        finally:
            server.stop()
        t_sql = sql_baseline(args.rows, tmp)
    rate = lambda t: args.rows / t  # noqa: E731
    print(f"\n  {'run':<34} {'seconds':>8} {'rows/s':>10} {'vs SQL':>7}")
    for label, t in [("import job, no hashes", t_plain), ("import job, bcrypt/argon2id hashes", t_hashes),
                     ("plain SQL insert (baseline)", t_sql)]:
        print(f"  {label:<34} {t:>8.1f} {rate(t):>10.0f} {t_sql / t:>7.2f}")
    size = lambda files: sum(len(d) for d, _ in files) / 1e6  # noqa: E731
    print(f"\n  CSV: {size(plain):.1f} MB in {len(plain)} file(s); with hashes {size(with_hashes):.1f} MB in "
          f"{len(with_hashes)} file(s)")


if __name__ == "__main__":
    main()
