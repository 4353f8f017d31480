"""Fixtures: the real `tessera` binary on port 0, with a temporary data dir and fixed root
credentials, plus boto3 clients pointed at it.

- `server` (module scope): one server per test module.
- `idp`: a SigV4-signing boto3 cognito-idp client for `server`.
- `spawn`: a factory for extra servers (durability, PostgreSQL, multi-node); all are stopped at
  the end of the test that made them. A server can be `restart()`ed (graceful or `hard=True` for
  kill -9) on the same data dir and port.
- `aws` (module scope): runs the AWS CLI (`python -m awscli cognito-idp …`) against `server` with
  the root credentials in a clean environment; returns the parsed JSON output, or with
  `check=False` the completed process.
- `smtp_sink`, `sms_sink` (module scope): a real SMTP server (aiosmtpd) and an SMS webhook
  receiver on 127.0.0.1; `mail_server` (module scope): a server delivering to both. A delivery
  module overrides `server` with `mail_server`, so `idp` and `public_idp` talk to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from tessera_server import (  # noqa: E402
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    TesseraServer,
)

MAIL_FROM = "Tessera Tests <tests@tessera.test>"


def _dump_on_failure(servers, request):
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for s in servers:
            print(f"\n--- tessera stderr ({s.log_path}) ---\n{s.stderr_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = TesseraServer(tmp_path_factory.mktemp("tessera") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def idp(server):
    return server.client()


@pytest.fixture(scope="module")
def public_idp(server):
    """An unsigned client: what a browser or mobile app would use for public operations."""
    return server.client(unsigned=True)


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("awshome")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_PAGER="",
        HOME=str(home),
    )

    def run(*args, check=True):
        cmd = [sys.executable, "-m", "awscli", "cognito-idp", *args,
               "--endpoint-url", server.endpoint, "--output", "json"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, f"{cmd}\nstdout: {p.stdout}\nstderr: {p.stderr}"
            return json.loads(p.stdout) if p.stdout.strip() else {}
        return p

    return run


@pytest.fixture
def spawn(tmp_path, request):
    servers: list[TesseraServer] = []
    counter = iter(range(1000))

    def make(**kwargs) -> TesseraServer:
        data_dir = kwargs.pop("data_dir", None) or tmp_path / f"node{next(counter)}"
        s = TesseraServer(data_dir, **kwargs).start()
        servers.append(s)
        return s

    yield make
    _dump_on_failure(servers, request)
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def smtp_sink():
    from mailroom import SmtpSink  # noqa: PLC0415 (aiosmtpd is only needed by delivery suites)

    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def sms_sink():
    from mailroom import SmsSink  # noqa: PLC0415

    sink = SmsSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory, smtp_sink, sms_sink):
    """`tessera serve --smtp-url … --sms-webhook … --allow-private-webhooks --email-from …`."""
    from mailroom import delivery_args  # noqa: PLC0415

    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-mail") / "data",
        extra_args=delivery_args(smtp_sink, sms_sink, MAIL_FROM),
    ).start()
    yield s
    s.stop()
