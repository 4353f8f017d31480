"""Soak (a script you run and report, not a test): mixed load against the release binary for a
while, sampling the server's memory and open file descriptors.

    TESSERA_BIN=target/release/tessera tests/clients/python/.venv/bin/python \\
        tests/clients/python/soak.py [--minutes 30] [--workers 8]

Each worker loops over: a password sign-in, a refresh, GetUser, an admin attribute update and,
every tenth round, a user created, given a password, sent a ForgotPassword code (e-mailed
through the outbox to a real SMTP sink) and deleted. Every
`--sample` seconds the server's RSS (VmRSS, and the anonymous part of it, RssAnon) and open
descriptors (/proc/PID/fd) are recorded.
The report: calls and errors per operation, the samples, and memory growth from the end of the
warm-up (the first fifth of the run) to the end — the goal is under 5 % with 0 errors. The
server hashes with the harness's cheap setting so that the load is the service, not argon2.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))

from mailroom import SmtpSink, delivery_args  # noqa: E402
from support import confirmed_user, create_client, create_pool, password_auth  # noqa: E402
from tessera_server import TesseraServer  # noqa: E402


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) in KiB: all resident memory, and the part that is the process's own
    (heap, stacks) rather than pages of files (the binary's code as it is first run, the
    database's mapped WAL index), which the kernel can drop and read again."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                values[name] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("RssAnon", 0)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample", type=float, default=10)
    args = parser.parse_args()

    sink = SmtpSink().start()
    data = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tessera-soak-{os.getpid()}")
    server = TesseraServer(data, extra_args=delivery_args(sink, None, "soak@example.com")).start()
    idp = server.client(connections=args.workers * 2)
    public = server.client(unsigned=True, connections=args.workers * 2)
    pool = create_pool(idp, AutoVerifiedAttributes=["email"])
    client = create_client(idp, pool)
    users = [confirmed_user(idp, pool, client) for _ in range(args.workers)]
    for username, _ in users:
        idp.admin_update_user_attributes(UserPoolId=pool, Username=username,
                                         UserAttributes=[{"Name": "email_verified", "Value": "true"}])

    calls: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    last_error: dict[str, str] = {}
    lock = threading.Lock()
    stop = time.time() + args.minutes * 60

    def timed(name, fn):
        try:
            out = fn()
            with lock:
                calls[name] += 1
            return out
        except Exception as e:  # noqa: BLE001 (counted and reported)
            with lock:
                errors[name] += 1
                last_error[name] = repr(e)[:300]
            return None

    def worker(i: int) -> None:
        username, pw = users[i]
        n = 0
        while time.time() < stop:
            n += 1
            tokens = timed("InitiateAuth", lambda: password_auth(public, client, username, pw))
            if tokens is None:
                continue
            timed("REFRESH_TOKEN_AUTH", lambda: public.initiate_auth(
                ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}))
            timed("GetUser", lambda: public.get_user(AccessToken=tokens["AccessToken"]))
            timed("AdminUpdateUserAttributes", lambda: idp.admin_update_user_attributes(
                UserPoolId=pool, Username=username,
                UserAttributes=[{"Name": "given_name", "Value": f"round {n}"}]))
            if n % 10 == 0:
                # A fresh user each time (ForgotPassword is rate-limited per user, as Cognito's):
                # created, given a password, sent a reset code through the outbox, deleted.
                temp = f"soak-{i}-{n}"
                timed("AdminCreateUser", lambda: idp.admin_create_user(
                    UserPoolId=pool, Username=temp, MessageAction="SUPPRESS",
                    UserAttributes=[{"Name": "email", "Value": f"{temp}@example.com"},
                                    {"Name": "email_verified", "Value": "true"}]))
                timed("AdminSetUserPassword", lambda: idp.admin_set_user_password(
                    UserPoolId=pool, Username=temp, Password=pw, Permanent=True))
                timed("ForgotPassword", lambda: public.forgot_password(
                    ClientId=client["ClientId"], Username=temp))
                timed("AdminDeleteUser", lambda: idp.admin_delete_user(UserPoolId=pool, Username=temp))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    started = time.time()
    for t in threads:
        t.start()
    pid = server.proc.pid
    samples: list[tuple[float, int, int, int]] = []

    def sample() -> None:
        rss, anon = rss_kib(pid)
        samples.append((time.time() - started, rss, open_fds(pid), anon))

    while time.time() < stop:
        sample()
        print(f"{samples[-1][0]:7.0f} s  rss {samples[-1][1] / 1024:6.1f} MiB  anon {samples[-1][3] / 1024:6.1f} MiB  "
              f"fds {samples[-1][2]:4d}  calls {sum(calls.values()):8d}  errors {sum(errors.values())}", flush=True)
        time.sleep(args.sample)
    for t in threads:
        t.join()
    sample()
    mails = len(sink.all())
    server.stop()
    sink.stop()

    warm = [s for s in samples if s[0] >= args.minutes * 60 / 5]
    base, end = warm[0], samples[-1]
    peak = max(s[1] for s in warm)
    print()
    print(f"run: {args.minutes} min, {args.workers} workers, {sum(calls.values())} calls, "
          f"{sum(errors.values())} errors, {mails} e-mails delivered")
    for name in sorted(calls.keys() | errors.keys()):
        print(f"  {name:28s} {calls[name]:9d} ok  {errors[name]:6d} errors  {last_error.get(name, '')}")
    print(f"RSS after warm-up {base[1] / 1024:.1f} MiB, at the end {end[1] / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB: "
          f"growth {100.0 * (end[1] - base[1]) / base[1]:+.1f} %")
    print(f"of it anonymous (RssAnon: heap, stacks) after warm-up {base[3] / 1024:.1f} MiB, at the end "
          f"{end[3] / 1024:.1f} MiB, peak {max(s[3] for s in warm) / 1024:.1f} MiB: "
          f"growth {100.0 * (end[3] - base[3]) / base[3]:+.1f} %")
    print(f"open descriptors after warm-up {base[2]}, at the end {end[2]}, max {max(s[2] for s in warm)}")


if __name__ == "__main__":
    main()
