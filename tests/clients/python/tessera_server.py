"""Start, stop, kill and restart the real `tessera` release binary for the client suites.

The server is started exactly as an operator would: `tessera serve --listen 127.0.0.1:0` with a
data directory, fixed root credentials in the environment and the cheap password-hashing cost.
The first stdout line (`Tessera <version> listening on http://127.0.0.1:<port>`) gives the port.
"""

from __future__ import annotations

import atexit
import base64
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import boto3
from botocore import UNSIGNED
from botocore.config import Config

REGION = "us-east-1"
ROOT_ACCESS_KEY_ID = "AKIATESTTESTTEST0001"
ROOT_SECRET_ACCESS_KEY = "tessera/client/tests/0123456789abcdefSECRET"

_LIVE: set[subprocess.Popen] = set()


@atexit.register
def _reap_all() -> None:
    """Never leave a server behind, even when pytest is interrupted."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()


_BANNER = re.compile(r"^Tessera \S+ listening on (https?://127\.0\.0\.1:(\d+))\s*$")


def tessera_bin() -> str:
    default = Path(__file__).resolve().parents[3] / "target" / "release" / "tessera"
    path = os.environ.get("TESSERA_BIN") or str(default)
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    return path


def new_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class TesseraServer:
    """One `tessera serve` process (re-startable on the same data dir and port)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        master_key: str | None = None,
        public_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        binary: str | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.master_key = master_key
        self.public_url = public_url
        self.extra_env = dict(extra_env or {})
        self.extra_args = list(extra_args or [])
        self.binary = binary or tessera_bin()
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.endpoint: str | None = None
        self.stdout_lines: list[str] = []
        self.starts = 0

    # -- process control -------------------------------------------------------------------

    def start(self, port: int = 0, timeout: float = 30.0) -> "TesseraServer":
        assert self.proc is None, "already running"
        if not os.path.exists(self.binary):
            raise RuntimeError(
                f"tessera binary not found at {self.binary}; build it with "
                "`cargo build --release -p tessera` or set TESSERA_BIN"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        args = [
            self.binary,
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(self.data_dir),
            "--hash-cost",
            "insecure-fast",
        ]
        if self.database_url:
            args += ["--database-url", self.database_url]
        if self.public_url:
            args += ["--public-url", self.public_url]
        args += self.extra_args
        self.starts += 1
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.stderr.{self.starts}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )
        log.close()
        _LIVE.add(self.proc)
        first_line: list[str] = []
        got = threading.Event()

        def pump(proc=self.proc):
            assert proc.stdout is not None
            for line in proc.stdout:
                self.stdout_lines.append(line)
                if not first_line:
                    first_line.append(line)
                    got.set()
            got.set()

        threading.Thread(target=pump, daemon=True).start()
        if not got.wait(timeout) or not first_line:
            self._reap()
            raise RuntimeError(f"tessera did not start: {self.stderr_tail()}")
        m = _BANNER.match(first_line[0])
        if not m:
            self._reap()
            raise RuntimeError(f"unexpected first stdout line {first_line[0]!r}: {self.stderr_tail()}")
        self.endpoint, self.port = m.group(1), int(m.group(2))
        if port:
            assert self.port == port
        return self

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Nothing from the developer's environment may leak into the server's settings.
        for k in list(env):
            if k.startswith("TESSERA_") and k != "TESSERA_LOG":
                del env[k]
        env.update(
            TESSERA_ROOT_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
            TESSERA_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
            # Suites create users and pools faster than Cognito's default rates allow; the
            # quota tests turn quotas back on.
            TESSERA_QUOTAS="false",
        )
        if self.master_key:
            env["TESSERA_MASTER_KEY"] = self.master_key
        env.update(self.extra_env)
        return env

    def start_on_same_port(self, attempts: int = 50) -> "TesseraServer":
        """Starts again on the port of the previous run (token issuers embed the port)."""
        assert self.port
        last: Exception | None = None
        for _ in range(attempts):
            try:
                return self.start(port=self.port)
            except RuntimeError as e:  # the port may linger for a moment
                last = e
                time.sleep(0.2)
        raise RuntimeError(f"could not restart on port {self.port}: {last}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """Graceful stop (SIGTERM)."""
        if self.proc is None:
            return None
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.proc = None
        return proc.returncode

    def kill9(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def restart(self, *, hard: bool = False) -> "TesseraServer":
        """Stops (gracefully, or with kill -9 when `hard`) and starts again on the same data dir
        and port."""
        if hard:
            self.kill9()
        else:
            self.stop()
        return self.start_on_same_port()

    def _reap(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stderr_tail(self, n: int = 40) -> str:
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "\n".join(lines[-n:])

    def cli(self, command: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs another `tessera` subcommand (e.g. `outbox`, `keys rotate`) on this server's data dir and store,
        as an operator on the same host would; the server may keep running."""
        argv = [self.binary, *command.split(), "--data-dir", str(self.data_dir)]
        if self.database_url:
            argv += ["--database-url", self.database_url]
        env = {k: v for k, v in self._env().items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))}
        return subprocess.run(
            argv + list(args), env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    # -- clients ---------------------------------------------------------------------------

    def client(
        self,
        service: str = "cognito-idp",
        *,
        access_key: str = ROOT_ACCESS_KEY_ID,
        secret_key: str = ROOT_SECRET_ACCESS_KEY,
        unsigned: bool = False,
        validate: bool = True,
        verify: str | bool | None = None,
        connections: int = 10,
        retry: bool = True,
    ):
        """A boto3 client of this server. Botocore's `max_attempts` counts retries: by default a
        call is retried once; `retry=False` makes every call exactly one request."""
        config = Config(
            region_name=REGION,
            max_pool_connections=connections,
            retries={"max_attempts": 1, "mode": "standard"} if retry else {"total_max_attempts": 1},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=30,
            signature_version=UNSIGNED if unsigned else None,
        )
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
            verify=verify,
        )

    def issuer(self, pool_id: str) -> str:
        base = self.public_url or self.endpoint
        return f"{base}/{pool_id}"
