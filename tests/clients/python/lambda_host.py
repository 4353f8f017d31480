"""A small AWS Lambda Invoke API host for the trigger suites: what Tessera calls when a pool's
LambdaConfig names a function and `tessera serve --lambda-endpoint` points here.

    POST /2015-03-31/functions/{FunctionName}/invocations
    X-Amz-Invocation-Type: RequestResponse | Event

`FunctionName` is the ARN from LambdaConfig, URL-encoded as one path segment. The function's
name (the ARN's last segment after `function:`, without a qualifier) picks a handler module in
`functions/` (`pre-sign-up` -> `functions/pre_sign_up.py`), called as Lambda's Python runtime
calls it: `handler(event, context)`. Its return value is the answer (JSON); an exception it
raises becomes Lambda's function error: 200 with `X-Amz-Function-Error: Unhandled` and
`{"errorMessage", "errorType", "stackTrace"}`. `Event` invocations are answered 202 at once and
run afterwards, as Lambda queues them.

Every invocation is recorded (path, headers, event, outcome) for the tests to assert on; a test
may also make a function answer something raw (`respond_raw`), which no real handler can do.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import secrets
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parent / "functions"
ACCOUNT = "123456789012"
REGION = "us-east-1"
WAIT = 10.0


def arn(name: str) -> str:
    """The ARN a pool's LambdaConfig uses for function `name`."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def function_name(function: str) -> str:
    """`pre-sign-up` from `arn:aws:lambda:…:function:pre-sign-up[:qualifier]` (or a plain name)."""
    if ":function:" in function:
        return function.split(":function:", 1)[1].split(":", 1)[0]
    return function


class LambdaContext:
    """The parts of the Python runtime's context object handlers use."""

    def __init__(self, function: str, timeout_s: float = 5.0):
        name = function_name(function)
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function if function.startswith("arn:") else arn(name)
        self.memory_limit_in_mb = "128"
        self.aws_request_id = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + secrets.token_hex(16)
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One call as it arrived, and what the host answered."""

    path: str  # the raw request path, percent-encoding and all
    function: str  # FunctionName, decoded (the ARN)
    name: str  # the function's short name
    invocation_type: str | None
    headers: dict
    event: object
    status: int = 0
    error: str | None = None  # the errorMessage, when the handler raised
    answer: object = None
    done: threading.Event = field(default_factory=threading.Event)


class LambdaHost:
    def __init__(self, functions_dir: Path = FUNCTIONS_DIR):
        self.functions_dir = Path(functions_dir)
        self.invocations: list[Invocation] = []
        self._raw: dict[str, tuple[int, dict, bytes]] = {}
        self._failures: dict[str, list[int]] = {}
        self._modules: dict[str, object] = {}
        self._cond = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "LambdaHost":
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's name)
                host._serve(self)

            def log_message(self, *args):  # keep pytest's output clean
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A caller that gave up (Tessera's timeout) leaves a broken pipe: not our error.
                pass

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server_args(self) -> list[str]:
        """`tessera serve` flags sending every trigger here."""
        return ["--lambda-endpoint", self.endpoint, "--lambda-allow-private"]

    # -- what tests configure and read ----------------------------------------------------------

    def respond_raw(self, name: str, body: bytes | str, status: int = 200, headers: dict | None = None) -> None:
        """From now on, function `name` answers exactly this (status, headers, body)."""
        if isinstance(body, str):
            body = body.encode()
        self._raw[name] = (status, dict(headers or {}), body)

    def fail_next(self, name: str, count: int, status: int = 503) -> None:
        """The next `count` invocations of `name` are answered `status` (a throttled or failing
        Lambda service) without running the function."""
        with self._cond:
            self._failures[name] = [status] * count

    def reset(self, name: str) -> None:
        """Back to the handler module."""
        self._raw.pop(name, None)
        with self._cond:
            self._failures.pop(name, None)

    def calls(self, name: str | None = None, pool_id: str | None = None) -> list[Invocation]:
        with self._cond:
            return [
                i
                for i in self.invocations
                if (name is None or i.name == name)
                and (pool_id is None or (isinstance(i.event, dict) and i.event.get("userPoolId") == pool_id))
            ]

    def events(self, name: str, pool_id: str | None = None) -> list[dict]:
        return [i.event for i in self.calls(name, pool_id)]

    def wait_for(self, name: str, count: int = 1, pool_id: str | None = None, timeout: float = WAIT) -> list[Invocation]:
        """The first `count` completed invocations of `name` (for `pool_id`), waiting for them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [
                    i
                    for i in self.invocations
                    if i.name == name
                    and (pool_id is None or (isinstance(i.event, dict) and i.event.get("userPoolId") == pool_id))
                    and i.done.is_set()
                ]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                assert left > 0, f"{len(got)} of {count} invocations of {name} after {timeout}s"
                self._cond.wait(min(left, 0.1))

    # -- serving --------------------------------------------------------------------------------

    _PATH_PREFIX = "/2015-03-31/functions/"
    _PATH_SUFFIX = "/invocations"

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        raw_path = req.path.split("?", 1)[0]
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if not (raw_path.startswith(self._PATH_PREFIX) and raw_path.endswith(self._PATH_SUFFIX)):
            return _reply(req, 404, {"x-amzn-ErrorType": "ResourceNotFoundException"},
                          {"Type": "User", "message": f"No route {raw_path}"})
        segment = raw_path[len(self._PATH_PREFIX):-len(self._PATH_SUFFIX)]
        function = urllib.parse.unquote(segment)
        name = function_name(function)
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            return _reply(req, 400, {"x-amzn-ErrorType": "InvalidRequestContentException"},
                          {"Type": "User", "message": "Could not parse request body into json"})
        kind = req.headers.get("X-Amz-Invocation-Type")
        inv = Invocation(raw_path, function, name, kind, {k.lower(): v for k, v in req.headers.items()}, event)
        with self._cond:
            self.invocations.append(inv)

        with self._cond:
            failures = self._failures.get(name)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            inv.status = failure
            self._finish(inv)
            return _reply(req, failure, {"x-amzn-ErrorType": "ServiceException"},
                          {"Type": "Service", "message": "Service unavailable"})

        if name in self._raw:
            status, headers, raw = self._raw[name]
            inv.status = status
            self._finish(inv)
            return _reply_bytes(req, status, headers, raw)

        try:
            module = self._module(name)
        except FileNotFoundError:
            inv.status = 404
            self._finish(inv)
            return _reply(req, 404, {"x-amzn-ErrorType": "ResourceNotFoundException"},
                          {"Type": "User", "message": f"Function not found: {function}"})

        if kind == "Event":
            inv.status = 202
            _reply_bytes(req, 202, {}, b"")
            threading.Thread(target=self._run, args=(module, inv), daemon=True).start()
            return None
        self._run(module, inv)
        if inv.error is not None:
            return _reply(req, 200, {"X-Amz-Function-Error": "Unhandled"}, inv.answer)
        return _reply(req, 200, {}, inv.answer)

    def _run(self, module, inv: Invocation) -> None:
        try:
            # The handler gets its own copy: the record keeps the event as it arrived.
            inv.answer = module.handler(copy.deepcopy(inv.event), LambdaContext(inv.function))
            inv.status = inv.status or 200
            json.dumps(inv.answer)  # what the runtime would fail to marshal
        except Exception as e:  # noqa: BLE001 (any exception is the function's error)
            inv.error = str(e)
            inv.status = inv.status or 200
            inv.answer = {
                "errorMessage": str(e),
                "errorType": type(e).__name__,
                "requestId": "",
                "stackTrace": traceback.format_tb(e.__traceback__),
            }
        self._finish(inv)

    def _finish(self, inv: Invocation) -> None:
        inv.done.set()
        with self._cond:
            self._cond.notify_all()

    def _module(self, name: str):
        with self._cond:
            if name in self._modules:
                return self._modules[name]
        path = self.functions_dir / f"{name.replace('-', '_')}.py"
        if not path.is_file():
            raise FileNotFoundError(path)
        spec = importlib.util.spec_from_file_location(f"lambda_functions.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with self._cond:
            self._modules.setdefault(name, module)
            return self._modules[name]


def _reply(req, status: int, headers: dict, payload) -> None:
    _reply_bytes(req, status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode())


def _reply_bytes(req, status: int, headers: dict, body: bytes) -> None:
    try:
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("X-Amzn-RequestId", secrets.token_hex(16))
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)
    except OSError:
        pass  # the caller gave up waiting


# -- pools whose triggers call this host ------------------------------------------------------

TRIGGER_FLOWS = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


def triggered_pool(idp, lambda_config: dict, *, client_args: dict | None = None, **pool_args):
    """A pool with `lambda_config` as its LambdaConfig and a public client allowing password,
    SRP, custom and refresh sign-in; returns (pool_id, client)."""
    from support import create_client, create_pool  # noqa: PLC0415

    pool_id = create_pool(idp, LambdaConfig=lambda_config, **pool_args)
    client = create_client(idp, pool_id, ExplicitAuthFlows=TRIGGER_FLOWS, **(client_args or {}))
    return pool_id, client
