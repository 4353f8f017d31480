"""Benchmark (not a test): the admin console's user list in a large pool.

    TESSERA_BIN=target/release/tessera tests/clients/python/.venv/bin/python \\
        tests/clients/python/bench_console.py [--rows 1000000] [--samples 30]

One server, two pools filled through the real import path (CreateUserImportJob, the PreSignedUrl,
StartUserImportJob): the baseline with 1,000 users and the large one with `rows`. An operator
signs in to /console (the form, its CSRF token and the session cookie, as a browser does) and
each page is fetched `samples` times in each pool: the first page of users, the page after it,
and prefix searches by username and by email (the console's ListUsers `Filter`). Reports p50
and p99 per page and pool, and the large pool's p50 as a ratio of the baseline's.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

sys.path.insert(0, os.path.dirname(__file__))

import requests  # noqa: E402

from bench_import import files_of, import_rows  # noqa: E402
from tessera_server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, TesseraServer  # noqa: E402

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def sign_in(endpoint: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{endpoint}/console", timeout=30)
    token = CSRF.search(page.text).group(1)
    r = s.post(f"{endpoint}/console/sign-in", data={
        "_csrf": token, "access_key_id": ROOT_ACCESS_KEY_ID, "secret_access_key": ROOT_SECRET_ACCESS_KEY,
    }, timeout=30)
    assert r.status_code == 200 and "/console/sign-out" in r.text, r.text[:500]
    return s


def search_url(s: requests.Session, endpoint: str, pool: str, attr: str, q: str) -> str:
    """The URL the search form lands on (it posts, then redirects to a GET the page can repeat)."""
    users = s.get(f"{endpoint}/console/pools/{pool}/users", timeout=30)
    token = CSRF.search(users.text).group(1)
    r = s.post(f"{endpoint}/console/pools/{pool}/user-search",
               data={"_csrf": token, "attr": attr, "q": q}, allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    return urljoin(f"{endpoint}/console/", r.headers["Location"])


def timed(s: requests.Session, url: str, samples: int, expect: str) -> list[float]:
    out = []
    for _ in range(samples):
        t = time.perf_counter()
        r = s.get(url, timeout=60)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and expect in r.text, (url, r.status_code, r.text[:300])
    return out


def pages(s: requests.Session, endpoint: str, pool: str, rows: int) -> dict[str, tuple[str, str]]:
    first = f"{endpoint}/console/pools/{pool}/users"
    listing = s.get(first, timeout=60).text
    nxt = re.search(r'<a href="([^"]+)" rel="next">', listing)
    assert nxt, "no next page"
    middle = f"user{rows // 2:07d}"[:9]
    return {
        "users, first page": (first, "user"),
        "users, next page": (urljoin(first, html.unescape(nxt.group(1))), "user"),
        "username starts with": (search_url(s, endpoint, pool, "username", middle), middle),
        "email starts with": (search_url(s, endpoint, pool, "email", f"user{rows // 3}@"), f"user{rows // 3}@"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = TesseraServer(Path(tmp) / "data").start()
        try:
            idp = server.client()
            header = idp.get_csv_header(UserPoolId=idp.create_user_pool(
                PoolName="header")["UserPool"]["Id"])["CSVHeader"]
            print(f"console user list: {args.baseline} vs {args.rows} users (binary {server.binary})", flush=True)
            pools = {}
            for label, rows in (("baseline", args.baseline), ("large", args.rows)):
                import_rows(server, files_of(header, rows, None, 1_000_000), label)
                listed = idp.list_user_pools(MaxResults=60)["UserPools"]
                pools[label] = (next(p["Id"] for p in listed if p["Name"] == f"bench-{label}"), rows)
            s = sign_in(server.endpoint)
            results: dict[str, dict[str, list[float]]] = {}
            for label, (pool, rows) in pools.items():
                for name, (url, expect) in pages(s, server.endpoint, pool, rows).items():
                    timed(s, url, 3, expect)  # warm
                    results.setdefault(name, {})[label] = timed(s, url, args.samples, expect)
        finally:
            server.stop()
    p = lambda xs, q: statistics.quantiles(xs, n=100)[q - 1]  # noqa: E731
    print(f"\n  {'page':<24} {'1k p50':>8} {'1k p99':>8} {'large p50':>10} {'large p99':>10} {'ratio':>6}  (ms)")
    for name, by in results.items():
        b, l_ = by["baseline"], by["large"]
        print(f"  {name:<24} {p(b, 50):>8.1f} {p(b, 99):>8.1f} {p(l_, 50):>10.1f} {p(l_, 99):>10.1f} "
              f"{p(l_, 50) / p(b, 50):>6.2f}")


if __name__ == "__main__":
    main()
