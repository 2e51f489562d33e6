"""A real SMTP server for the tests: the `smtp_server` fixture.

An aiosmtpd server in the test process, on a port of its own on 127.0.0.1 (bound to port 0, so parallel
pytest-xdist workers never meet), recording every message it takes. A real socket: a Celery worker or gunicorn
the test starts reaches it as well as the test's own code (give them `server.url` as EMAIL_URL, or a shop's
route with `server.host` and `server.port`).

    def test_shipping_mail(smtp_server, settings):
        settings.EMAIL_URL = smtp_server.url
        ...send...
        [mail] = smtp_server.wait_for(1)
        assert mail.rcpt_tos == ["customer@example.jp"]
        assert mail.message["Subject"] == "発送のお知らせ"
        assert "お届け予定" in mail.text

- `server.messages`: the messages taken so far, oldest first, each a `ReceivedMail` with `mail_from`,
  `rcpt_tos`, `raw` (bytes as received), `message` (an `EmailMessage`, parsed with `email.policy.default`:
  headers decoded, ISO-2022-JP included), `login`/`password` (what AUTH gave, else None), `subject`, `text`.
- `server.wait_for(count, timeout=10)`: waits until `count` messages have come, returns them all.
- `server.fail_next("451 4.3.0 Try again later", times=1, at="RCPT")`: the next `times` transactions get this
  answer at RCPT (every recipient of the transaction) or at DATA (the message is not taken), then it answers
  normally again. Several calls queue up in order.
- AUTH LOGIN and PLAIN are offered without TLS, as shops' servers and Rakuten's R-Mail relay are used, and any
  login is taken, unless `server.accept_only(login, password)` was called: then others get 535. A client need
  not authenticate.

Loaded as a plugin (`-p tests.smtp` in pyproject.toml's addopts), so every test can ask for the fixture.
"""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devtools.smtpcatcher import BoundController, auth_login, quiet_aiosmtpd_logging

Stage = Literal["RCPT", "DATA"]
_REPLY = re.compile(r"[45]\d\d(?: .*)?")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None = None
    password: str | None = None
    message: EmailMessage = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        message = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        object.__setattr__(self, "message", message)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        """The text/plain body, decoded from its charset, with "\n" line ends; "" when the message has none."""
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()).replace("\r\n", "\n") if part is not None else ""


@dataclass
class _Failure:
    reply: str
    at: Stage
    times: int


class SmtpTestServer:
    """See the module's docstring. `start()` binds and serves; `stop()` ends it."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self._sock = socket.create_server((self.host, 0))
        self.port: int = self._sock.getsockname()[1]
        self._messages: list[ReceivedMail] = []
        self._failures: deque[_Failure] = deque()
        # Transactions whose RCPT was refused: every further RCPT of the same transaction is refused alike.
        self._refused: weakref.WeakKeyDictionary[Envelope, str] = weakref.WeakKeyDictionary()
        self._credentials: tuple[str, str] | None = None
        self._changed = threading.Condition()
        self._hold_at: int | None = None  # the DATA that is kept waiting (hold_after)
        self.held = threading.Event()  # set when that DATA has been received and waits for release
        self.release = threading.Event()
        self._controller = BoundController(
            _Handler(self),
            self._sock,
            ready_timeout=10,
            server_hostname="backyard-tests",
            authenticator=self._authenticate,
            auth_require_tls=False,
            enable_SMTPUTF8=True,
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._messages)

    def start(self) -> SmtpTestServer:
        quiet_aiosmtpd_logging()
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[ReceivedMail]:
        """All the messages, once at least `count` have come; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the SMTP server got {len(self._messages)} message(s) in {timeout} s, not {count}: "
                        f"{[(m.rcpt_tos, m.subject) for m in self._messages]}"
                    )
                self._changed.wait(left)
            return list(self._messages)

    def fail_next(self, reply: str, times: int = 1, at: Stage = "RCPT") -> None:
        """The next `times` transactions are answered `reply` ("451 4.3.0 Try again later", "550 5.1.1 User
        unknown") at RCPT or DATA, after any failures queued before."""
        if not _REPLY.fullmatch(reply):
            raise ValueError(f"not a 4xx/5xx SMTP reply: {reply!r}")
        if at not in ("RCPT", "DATA"):
            raise ValueError(f"at must be RCPT or DATA, not {at!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._changed:
            self._failures.append(_Failure(reply=reply, at=at, times=times))

    def hold_after(self, count: int) -> None:
        """The DATA of message `count + 1` is received and recorded, but its answer waits until `release` is set
        (or 120 s): the moment a killed client leaves the server holding a mail it never heard accepted."""
        with self._changed:
            self._hold_at = count + 1

    def accept_only(self, login: str, password: str) -> None:
        """From now on AUTH takes only this login and password (535 5.7.8 for others)."""
        with self._changed:
            self._credentials = (login, password)

    def clear(self) -> None:
        """Forget the messages taken so far and the failures still queued."""
        with self._changed:
            self._messages.clear()
            self._failures.clear()

    # --- called from the server's thread ---------------------------------------------------------------------

    def _failure_at(self, envelope: Envelope, at: Stage) -> str | None:
        with self._changed:
            if at == "RCPT" and envelope in self._refused:
                return self._refused[envelope]
            if not self._failures or self._failures[0].at != at:
                return None
            failure = self._failures[0]
            failure.times -= 1
            if failure.times == 0:
                self._failures.popleft()
            if at == "RCPT":
                self._refused[envelope] = failure.reply
            return failure.reply

    def _record(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        with self._changed:
            credentials = self._credentials
        if credentials is not None:
            given = (
                (auth_data.login.decode(), auth_data.password.decode())
                if isinstance(auth_data, LoginPassword)
                else None
            )
            if given != credentials:
                return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)


class _Handler:
    """aiosmtpd's handler hooks, answering as the server's queued failures say."""

    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        failure = self.server._failure_at(envelope, "RCPT")
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.server._failure_at(envelope, "DATA")
        if failure is not None:
            return failure
        raw = envelope.original_content or envelope.content or b""
        data = session.auth_data if session.authenticated else None
        self.server._record(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw if isinstance(raw, bytes) else raw.encode("utf-8"),
                login=auth_login(session),
                password=data.password.decode("utf-8", errors="replace") if isinstance(data, LoginPassword) else None,
            )
        )
        if self.server._hold_at is not None and len(self.server.messages) == self.server._hold_at:
            self.server.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.server.release.wait, 120)
        return "250 2.0.0 OK: queued"


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A real SMTP server on 127.0.0.1 for this test (see the module's docstring)."""
    server = SmtpTestServer().start()
    try:
        yield server
    finally:
        server.stop()
