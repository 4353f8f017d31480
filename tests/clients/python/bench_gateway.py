"""Benchmark (not a test): the policy gateway's overhead and the forward-auth endpoint's rate.

    TESSERA_BIN=target/release/tessera tests/clients/python/.venv/bin/python \\
        tests/clients/python/bench_gateway.py [--requests 300] [--seconds 5] [--threads 8]

In one run, against one moto server: DynamoDB GetItem and S3 GetObject (1 KiB) p50/p99 straight
to moto with the backend's key, and through the gateway with identity-pool credentials (SigV4
verified, the seed's policies evaluated, re-signed); then forward-auth checks per second at a
fixed concurrency beside the bound its cryptography sets (one RSA-2048 verify of the token and
one ES256 sign of `x-amzn-oidc-data` per check), timed here with OpenSSL on the same machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

import requests  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402

import test_gateway as tg  # noqa: E402
from support import confirmed_user, create_client, create_pool, password_auth  # noqa: E402


class Factory:
    """Stands in for pytest's tmp_path_factory."""

    def __init__(self, root: Path):
        self.root = root
        self.n = 0

    def mktemp(self, name: str) -> Path:
        self.n += 1
        p = self.root / f"{name}{self.n}"
        p.mkdir()
        return p


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1000, s[min(len(s) - 1, int(len(s) * 0.99))] * 1000


def timed(n: int, call) -> list[float]:
    call()  # warm up connections
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stream_memory(server, s3, ident: str, mib: int, tmp: Path) -> None:
    """One PutObject of `mib` MiB (hex payload hash: checked as it streams) and its download,
    with the server's peak resident memory before and after."""
    path = tmp / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)
    pid = server.proc.pid
    before = peak_rss_mib(pid)
    t = time.perf_counter()
    with open(path, "rb") as f:
        s3.put_object(Bucket=tg.BUCKET, Key=f"{ident}/big.bin", Body=f)
    up = time.perf_counter() - t
    t = time.perf_counter()
    got = 0
    for chunk in s3.get_object(Bucket=tg.BUCKET, Key=f"{ident}/big.bin")["Body"].iter_chunks(1 << 20):
        got += len(chunk)
    down = time.perf_counter() - t
    assert got == mib * 1024 * 1024
    after = peak_rss_mib(pid)
    print(
        f"{mib} MiB through the gateway: up {mib / up:.0f} MiB/s, down {mib / down:.0f} MiB/s; "
        f"server peak RSS {before:.0f} MiB before, {after:.0f} MiB after"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--upload-mib", type=int, default=256, help="size of the streamed upload/download (0: skip)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        factory = Factory(Path(d))
        moto_gen = tg.moto.__wrapped__()
        moto = next(moto_gen)
        backend = tg.backend.__wrapped__(moto)
        server = tg.start_server(factory, moto)
        try:
            ids = tg.make_identities(server)
            ident, creds = ids["user"]
            s3_direct, ddb_direct = backend
            s3_gw = tg.gw(server, "s3", creds)
            ddb_gw = tg.gw(server, "dynamodb", creds)
            ddb_gw.put_item(TableName=tg.TABLE, Item=tg.item(ident, "a", v="x" * 100))
            s3_gw.put_object(Bucket=tg.BUCKET, Key=f"{ident}/1k.bin", Body=b"k" * 1024)

            print(f"{'operation':<34}{'p50 ms':>9}{'p99 ms':>9}")
            rows = [
                ("DynamoDB GetItem, direct", lambda: ddb_direct.get_item(TableName=tg.TABLE, Key=tg.key(ident))),
                ("DynamoDB GetItem, via gateway", lambda: ddb_gw.get_item(TableName=tg.TABLE, Key=tg.key(ident))),
                ("S3 GetObject 1 KiB, direct",
                 lambda: s3_direct.get_object(Bucket=tg.BUCKET, Key=f"{ident}/1k.bin")["Body"].read()),
                ("S3 GetObject 1 KiB, via gateway",
                 lambda: s3_gw.get_object(Bucket=tg.BUCKET, Key=f"{ident}/1k.bin")["Body"].read()),
            ]
            results = {}
            for name, call in rows:
                p50, p99 = percentiles(timed(args.requests, call))
                results[name] = (p50, p99)
                print(f"{name:<34}{p50:>9.2f}{p99:>9.2f}")
            for svc in ("DynamoDB GetItem", "S3 GetObject 1 KiB"):
                direct, via = results[f"{svc}, direct"], results[f"{svc}, via gateway"]
                print(f"{svc} overhead: p50 +{via[0] - direct[0]:.2f} ms, p99 +{via[1] - direct[1]:.2f} ms")

            if args.upload_mib:
                stream_memory(server, s3_gw, ident, args.upload_mib, Path(d))

            # Forward auth.
            idp = server.client()
            pool = create_pool(idp)
            app = create_client(idp, pool)
            username, pw = confirmed_user(idp, pool, app)
            token = password_auth(idp, app, username, pw)["AccessToken"]
            url = f"{server.endpoint}/forward-auth/{pool}?client_id={app['ClientId']}"
            headers = {"Authorization": f"Bearer {token}"}
            assert requests.get(url, headers=headers, timeout=10).status_code == 200
            done = 0
            lock = threading.Lock()
            stop = time.perf_counter() + args.seconds

            def worker():
                nonlocal done
                session = requests.Session()
                n = 0
                while time.perf_counter() < stop:
                    r = session.get(url, headers=headers, timeout=10)
                    assert r.status_code == 200
                    n += 1
                with lock:
                    done += n

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool_:
                for _ in range(args.threads):
                    pool_.submit(worker)
            elapsed = time.perf_counter() - t0
            rate = done / elapsed

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            sig = key.sign(b"m" * 800, padding.PKCS1v15(), hashes.SHA256())
            pub = key.public_key()
            ec_key = ec.generate_private_key(ec.SECP256R1())
            n = 2000
            t = time.perf_counter()
            for _ in range(n):
                pub.verify(sig, b"m" * 800, padding.PKCS1v15(), hashes.SHA256())
            verify = (time.perf_counter() - t) / n
            t = time.perf_counter()
            for _ in range(n):
                ec_key.sign(b"m" * 400, ec.ECDSA(hashes.SHA256()))
            es_sign = (time.perf_counter() - t) / n
            cores = os.cpu_count() or 1
            bound = cores / (verify + es_sign)
            print(
                f"forward-auth: {rate:.0f} checks/s at {args.threads} clients "
                f"(RSA-2048 verify {verify * 1e6:.0f} µs + ES256 sign {es_sign * 1e6:.0f} µs per check; "
                f"bound {bound:.0f}/s on {cores} cores; {100 * rate / bound:.1f}% of it; "
                f"the load generator shares the cores)"
            )
        finally:
            server.stop()
            try:
                next(moto_gen)
            except StopIteration:
                pass


if __name__ == "__main__":
    main()
