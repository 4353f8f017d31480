"""Where Tessera's messages land in the delivery suites: a real SMTP server (aiosmtpd) and an SMS
webhook receiver (the standard library's http.server), both on 127.0.0.1, and helpers that read
codes, links and temporary passwords out of what arrived.

Each test uses its own addresses and phone numbers, so one pair of sinks (and one server) serves a
whole module: tests wait for the messages *to their own destination*.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

WAIT = 10.0  # seconds: delivery is ~immediate; an SMTP outage's first retry comes after 2 s

# Six digits standing alone: not part of a longer number nor of an identifier (a client id in a
# link may contain six digits in a row).
_CODE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(?![0-9A-Za-z])")


def code_in(text: str) -> str:
    """The six-digit code in a message."""
    m = _CODE.search(text)
    assert m, f"no six-digit code in {text!r}"
    return m.group(1)


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def free_port() -> int:
    """A loopback port nobody listens on (for now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def email_address(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def phone_number() -> str:
    """A fresh E.164 number in the fictional 555 range."""
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


def mask_phone(phone: str) -> str:
    """How Cognito shows a phone number in CodeDeliveryDetails: `+*******0123`."""
    digits = [c for c in phone if c.isdigit()]
    return "+" + "*" * (len(digits) - 4) + "".join(digits[-4:])


def mask_email(address: str) -> str:
    """How Cognito shows an email address in CodeDeliveryDetails: `j***@e***`."""
    local, domain = address.rsplit("@", 1)
    return f"{local[0]}***@{domain[0]}***"


# -- SMTP ------------------------------------------------------------------------------------


@dataclass
class Mail:
    """One message as the SMTP server received it."""

    mail_from: str  # the envelope sender
    rcpt_tos: list[str]  # the envelope recipients
    message: EmailMessage
    raw: bytes

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    @property
    def subject(self) -> str | None:
        return self.header("Subject")

    @property
    def text(self) -> str:
        """The text/plain body (or alternative), decoded, with the line breaks that frame it on
        the wire (CRLF line ends, the trailing ones) taken off: what the template rendered."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, f"no text/plain part in {self.raw!r}"
        return _unframe(part.get_content())

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else _unframe(part.get_content())

    @property
    def code(self) -> str:
        return code_in(self.text)


def _unframe(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


class _Collector:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.sink._add(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server (aiosmtpd, plain, no STARTTLS offered) on 127.0.0.1:`port`."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._controller: Controller | None = None
        self._mail: list[Mail] = []
        self._cond = threading.Condition()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        assert self._controller is None
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _add(self, mail: Mail) -> None:
        with self._cond:
            self._mail.append(mail)
            self._cond.notify_all()

    def all(self) -> list[Mail]:
        with self._cond:
            return list(self._mail)

    def to(self, address: str) -> list[Mail]:
        with self._cond:
            return [m for m in self._mail if address in m.rcpt_tos]

    def wait_for(self, address: str, count: int = 1, timeout: float = WAIT) -> list[Mail]:
        """The first `count` messages to `address`, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m for m in self._mail if address in m.rcpt_tos]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                assert left > 0, f"{len(got)} of {count} messages to {address} after {timeout}s"
                self._cond.wait(left)

    def last(self, address: str, count: int) -> Mail:
        """The `count`-th message to `address` (waiting for it)."""
        return self.wait_for(address, count)[-1]

    def assert_nothing_to(self, address: str, settle: float = 1.5) -> None:
        """Nothing arrives for `address` within `settle` seconds (longer than a delivery takes)."""
        time.sleep(settle)
        assert self.to(address) == [], [m.raw for m in self.to(address)]


# -- SMS webhook -----------------------------------------------------------------------------


@dataclass
class SmsSink:
    """Receives Tessera's SMS webhook: `POST /sms` with JSON {id, pool_id, destination, message}.
    Answers 200 (or `fail_with` for the next `fail_next` calls)."""

    _sms: list[dict] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    fail_next: int = 0
    fail_with: int = 503

    def start(self) -> "SmsSink":
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._cond:
                    status = 200
                    if sink.fail_next > 0:
                        sink.fail_next -= 1
                        status = sink.fail_with
                    else:
                        entry = json.loads(body)
                        entry["_path"] = self.path
                        entry["_content_type"] = self.headers.get("Content-Type")
                        sink._sms.append(entry)
                        sink._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def to(self, phone: str) -> list[dict]:
        with self._cond:
            return [s for s in self._sms if s.get("destination") == phone]

    def wait_for(self, phone: str, count: int = 1, timeout: float = WAIT) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [s for s in self._sms if s.get("destination") == phone]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                assert left > 0, f"{len(got)} of {count} SMS to {phone} after {timeout}s"
                self._cond.wait(left)

    def last(self, phone: str, count: int) -> dict:
        return self.wait_for(phone, count)[-1]

    def assert_nothing_to(self, phone: str, settle: float = 1.5) -> None:
        time.sleep(settle)
        assert self.to(phone) == [], self.to(phone)


def delivery_args(smtp: SmtpSink | None = None, sms: SmsSink | None = None, from_: str | None = None):
    """`tessera serve` flags that deliver to these sinks."""
    args: list[str] = []
    if smtp is not None:
        args += ["--smtp-url", smtp.url]
    if sms is not None:
        args += ["--sms-webhook", sms.url, "--allow-private-webhooks"]
    if from_ is not None:
        args += ["--email-from", from_]
    return args


# -- the server's clock ----------------------------------------------------------------------


class FakeClock:
    """Moves a server's wall clock (not its monotonic clock) with libfaketime, preloaded into
    the `tessera` process and re-reading its offset from a file on every call. Only the server's
    clock moves: requests signed with SigV4 after a jump of more than 15 minutes are refused as
    skewed, so tests make those first and use the public (unsigned) operations afterwards."""

    def __init__(self, directory: Path):
        import libfaketime  # noqa: PLC0415 (optional: the tests that need it skip without it)

        lib = Path(libfaketime.__file__).parent / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
        if not lib.exists():
            raise RuntimeError(f"libfaketime.so.1 not found at {lib}")
        self.file = Path(directory) / "faketime"
        self.offset = 0
        self.set(0)
        self.env = {
            "LD_PRELOAD": str(lib),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }

    def set(self, offset_seconds: int) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(f"{offset_seconds:+d}\n")
        tmp.replace(self.file)  # atomic: the library never reads half a line
        self.offset = offset_seconds

    def advance(self, seconds: int) -> None:
        self.set(self.offset + seconds)

    def works_on(self, endpoint: str) -> bool:
        """Whether the server at `endpoint` runs on this clock: a 10-minute jump shows in its
        HTTP Date header (the preloaded library is a prebuilt x86-64 Linux object; elsewhere it
        doesn't load and the server keeps real time). Leaves the offset where it was."""
        import requests  # noqa: PLC0415

        def server_time() -> float:
            date = requests.get(f"{endpoint}/health", timeout=10).headers["Date"]
            return email.utils.parsedate_to_datetime(date).timestamp()

        start = self.offset
        before = server_time()
        self.advance(600)
        try:
            time.sleep(1.1)  # the Date header is cached for a second
            return server_time() - before >= 590
        finally:
            self.set(start)


# -- pools and users for the delivery suites ---------------------------------------------------


def verifying_pool(idp, auto=("email",), client_args: dict | None = None, **pool_args):
    """A pool auto-verifying `auto` (CreateUserPool's AutoVerifiedAttributes) and a public client
    with password sign-in; returns (pool_id, client)."""
    from support import create_client, create_pool  # noqa: PLC0415

    pool_id = create_pool(idp, AutoVerifiedAttributes=list(auto), **pool_args)
    return pool_id, create_client(idp, pool_id, **(client_args or {}))


def provisioned_user(
    idp,
    pool_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    email_verified: bool = True,
    phone_verified: bool = True,
    username: str | None = None,
):
    """A CONFIRMED user made by an administrator without sending anything (MessageAction
    SUPPRESS, then a permanent password); returns (username, password)."""
    from support import password, unique  # noqa: PLC0415

    username = username or unique("user")
    attrs = []
    if email:
        attrs += [{"Name": "email", "Value": email}]
        attrs += [{"Name": "email_verified", "Value": "true" if email_verified else "false"}]
    if phone:
        attrs += [{"Name": "phone_number", "Value": phone}]
        attrs += [{"Name": "phone_number_verified", "Value": "true" if phone_verified else "false"}]
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        TemporaryPassword=password(),
        MessageAction="SUPPRESS",
        UserAttributes=attrs,
    )
    pw = password()
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=pw, Permanent=True)
    return username, pw


def user_attributes(idp, pool_id: str, username: str) -> tuple[str, dict]:
    """(UserStatus, attributes) from AdminGetUser."""
    from support import attrs_of  # noqa: PLC0415

    u = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    return u["UserStatus"], attrs_of(u["UserAttributes"])
