"""A development SMTP catcher: every mail `make run`'s processes send lands here, and a page shows it.

`make run` starts it (the Procfile's `mail:`) and gives web and worker EMAIL_URL=smtp://127.0.0.1:8025, the
project's route, so no mail from a development machine leaves it. What it does:
- SMTP on 127.0.0.1 only (aiosmtpd), no TLS: it accepts every sender, recipient and message, and AUTH LOGIN or
  PLAIN with any login, as a shop's own server or Rakuten's R-Mail relay would take the right one.
- Each message is written as received into the directory (--dir) as a .eml file, with the envelope in front
  (Return-Path, X-Envelope-To, so that Bcc recipients show, and X-Auth-Login); the newest 500 are kept.
- A small page on 127.0.0.1 (--web-port), in Japanese: the list, newest first (受信日時, From, To, 件名), and
  one page per mail with its headers and text body decoded (MIME encoded words and the part's charset,
  ISO-2022-JP and Shift_JIS included) and a link to the raw source. Everything shown is HTML-escaped.
- SIGTERM (honcho) or SIGINT (Ctrl-C) stop it quietly, with exit status 0.

A development tool like the fake malls: the product never imports it (import-linter), a production install does
not carry it. Run it alone: `python -m devtools.smtpcatcher --smtp-port 8025 --web-port 8026 --dir var/mail`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.header
import email.parser
import html
import io
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
KEEP = 500
SERVER_NAME = "backyard-smtpcatcher"
_NAME = re.compile(r"(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-[0-9a-f]{6}\.eml")


class BoundController(Controller):
    """aiosmtpd's threaded Controller serving a socket bound beforehand: a port taken is an error at bind time
    (not a thread's), and port 0 works (the Controller itself connects to its port to see it is up)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class _QuietDeprecation(logging.Filter):
    """aiosmtpd 1.4 logs "Session.login_data is deprecated" on every successful AUTH, from its own code."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_QUIET = _QuietDeprecation()


def quiet_aiosmtpd_logging() -> None:
    logging.getLogger("mail.log").addFilter(_QUIET)  # once, however often it is called


def accept_any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    """aiosmtpd's authenticator: every login and password is right."""
    return AuthResult(success=True, auth_data=auth_data)


def auth_login(session: Session) -> str | None:
    """The login the client gave with AUTH in this session, or None when it gave none."""
    data = getattr(session, "auth_data", None)
    if not session.authenticated or not isinstance(data, LoginPassword):
        return None
    return data.login.decode("utf-8", errors="replace")


# --- decoding ---------------------------------------------------------------------------------------------

# Japanese mail often says one charset and uses its vendor superset (NEC/IBM extensions: ①, ㈱, 髙 …).
_SUPERSETS = {
    "iso-2022-jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"),
    "shift_jis": ("cp932",),
    "x-sjis": ("cp932",),
    "sjis": ("cp932",),
    "euc-jp": ("euc_jis_2004",),
    "us-ascii": ("utf-8",),
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """`data` in `charset` (or a superset of it), else UTF-8, else Shift_JIS; undecodable bytes replaced."""
    declared = (charset or "").strip().strip('"').lower()
    candidates = [declared, *_SUPERSETS.get(declared, ())] if declared else []
    if b"\x1b$" in data or b"\x1b(" in data:
        candidates.append("iso-2022-jp")
    candidates += ["utf-8", "cp932"]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _decode_unencoded(text: str) -> str:
    """Header text outside encoded words: raw 8-bit (kept by the parser as surrogates) or raw ISO-2022-JP."""
    if "\x1b" not in text and not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return decode_bytes(text.encode("utf-8", errors="surrogateescape"), None)


def decode_header(value: Any) -> str:
    """A header's text, its MIME encoded words (=?ISO-2022-JP?B?…?=, =?UTF-8?Q?…?=) decoded and lines unfolded."""
    if value is None:
        return ""
    text = re.sub(r"\r?\n(?=[ \t])", "", str(value))
    try:
        chunks = email.header.decode_header(text)
    except (HeaderParseError, ValueError):
        return _decode_unencoded(text)
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(_decode_unencoded(chunk))
        elif charset:
            parts.append(decode_bytes(chunk, charset))
        else:  # decode_header gives the text between encoded words as raw-unicode-escape bytes
            parts.append(_decode_unencoded(chunk.decode("raw-unicode-escape")))
    return "".join(parts).strip()


def header_text(message: Message, name: str) -> str:
    """The first header `name`, decoded; read raw, as the email package would hand 8-bit text on undecoded."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return decode_header(value)
    return ""


def parse_headers(raw: bytes) -> Message:
    return email.parser.BytesHeaderParser().parsebytes(raw)


def part_text(part: Message) -> str:
    """A non-multipart part's payload, transfer encoding undone, in its declared charset, with "\n" line ends."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset()).replace("\r\n", "\n")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Body:
    text: str | None
    html: str | None
    attachments: list[Attachment]


def message_body(message: Message) -> Body:
    """The first text/plain and text/html parts that are not attachments, and the attachments."""
    text: str | None = None
    html_source: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        inline = part.get_content_disposition() != "attachment"
        if inline and content_type == "text/plain" and text is None:
            text = part_text(part)
        elif inline and content_type == "text/html" and html_source is None:
            html_source = part_text(part)
        else:
            payload = part.get_payload(decode=True)
            filename = decode_header(part.get_filename()) or "(名前なし)"
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(filename=filename, content_type=content_type, size=size))
    return Body(text=text, html=html_source, attachments=attachments)


# --- the mailbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    name: str
    received: dt.datetime
    sender: str
    to: str
    subject: str


class Mailbox:
    """A directory of .eml files named by the time they came (UTC), so that the name orders them; the newest
    `keep` are kept."""

    def __init__(self, directory: Path, keep: int = KEEP) -> None:
        self.directory = directory
        self.keep = keep
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def store(self, *, mail_from: str, rcpt_tos: Sequence[str], raw: bytes, login: str | None = None) -> str:
        envelope = f"Return-Path: <{mail_from}>\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        if login is not None:
            envelope += f"X-Auth-Login: {login}\r\n"
        with self._lock:
            name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}.eml"
            partial = self.directory / f".{name}.part"
            partial.write_bytes(envelope.encode("utf-8") + raw)
            partial.replace(self.directory / name)
            for old in self.names()[self.keep :]:
                (self.directory / old).unlink(missing_ok=True)
        return name

    def names(self) -> list[str]:
        """The stored mails' names, newest first."""
        return sorted((p.name for p in self.directory.glob("*.eml") if _NAME.fullmatch(p.name)), reverse=True)

    def raw(self, name: str) -> bytes | None:
        if not _NAME.fullmatch(name):
            return None
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def summaries(self) -> list[Summary]:
        result = []
        for name in self.names():
            raw = self.raw(name)
            if raw is None:  # pushed out since the listing
                continue
            headers = parse_headers(raw)
            result.append(
                Summary(
                    name=name,
                    received=received_at(name),
                    sender=header_text(headers, "From"),
                    to=header_text(headers, "To"),
                    subject=header_text(headers, "Subject"),
                )
            )
        return result


JAPAN = ZoneInfo("Asia/Tokyo")


def received_at(name: str) -> dt.datetime:
    match = _NAME.fullmatch(name)
    assert match is not None
    # shown in Japan's time, as the product shows every time (the machine's clock may be UTC)
    return dt.datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC).astimezone(JAPAN)


class CatchAll:
    """aiosmtpd handler: every recipient is taken (aiosmtpd's default), every message stored."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        self.mailbox.store(
            mail_from=envelope.mail_from or "", rcpt_tos=envelope.rcpt_tos, raw=raw, login=auth_login(session)
        )
        subject = header_text(parse_headers(raw), "Subject") or "(件名なし)"
        sys.stdout.write(f"受信: {subject}  {envelope.mail_from} → {', '.join(envelope.rcpt_tos)}\n")
        sys.stdout.flush()
        return "250 2.0.0 OK: caught"


# --- the page ---------------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, "Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", sans-serif; margin: 0;
       color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: .8rem 1.5rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { padding: 1.2rem 1.5rem; max-width: 72rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .7rem; border-bottom: 1px solid #d9e2ec; vertical-align: top; }
th { background: #e4e7eb; font-weight: 600; white-space: nowrap; }
tr:hover td { background: #f0f4f8; }
td.when { white-space: nowrap; color: #52606d; font-variant-numeric: tabular-nums; }
a { color: #0b69a3; }
pre { background: #fff; border: 1px solid #d9e2ec; padding: 1rem; white-space: pre-wrap; overflow-wrap: anywhere;
      font-family: ui-monospace, "Noto Sans Mono CJK JP", monospace; font-size: .9rem; line-height: 1.6; }
.headers th { width: 10rem; }
.muted { color: #7b8794; }
"""


def page(title: str, content: str, *, refresh: bool = False) -> bytes:
    meta = '<meta http-equiv="refresh" content="15">' if refresh else ""
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{meta}<style>{STYLE}</style></head>"
        f'<body><header><a href="/">送信メール (開発用 SMTP キャッチャー)</a></header><main>{content}</main>'
        "</body></html>\n"
    ).encode()


def list_page(mailbox: Mailbox) -> bytes:
    summaries = mailbox.summaries()
    if not summaries:
        return page("送信メール", '<p class="muted">まだメールはありません。</p>', refresh=True)
    rows = "".join(
        f'<tr><td class="when">{s.received:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(s.sender)}</td>'
        f'<td>{html.escape(s.to)}</td><td><a href="/mail/{quote(s.name)}">'
        f"{html.escape(s.subject) or '(件名なし)'}</a></td></tr>"
        for s in summaries
    )
    content = (
        f'<p class="muted">{len(summaries)} 通 (新しい順、最新 {mailbox.keep} 通まで保存。15 秒ごとに更新)</p>'
        f"<table><thead><tr><th>受信日時</th><th>From</th><th>To</th><th>件名</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return page("送信メール", content, refresh=True)


DETAIL_HEADERS = (
    ("Date", "日付"),
    ("From", "From"),
    ("To", "To"),
    ("Cc", "Cc"),
    ("Bcc", "Bcc"),
    ("Reply-To", "Reply-To"),
    ("Subject", "件名"),
    ("Return-Path", "封筒の差出人"),
    ("X-Envelope-To", "封筒の宛先"),
    ("X-Auth-Login", "AUTH ログイン"),
    ("Message-ID", "Message-ID"),
)


def detail_page(name: str, raw: bytes) -> bytes:
    message = email.message_from_bytes(raw)
    subject = header_text(message, "Subject") or "(件名なし)"
    rows = "".join(
        f"<tr><th>{label}</th><td>{html.escape(header_text(message, header))}</td></tr>"
        for header, label in DETAIL_HEADERS
        if message[header] is not None
    )
    body = message_body(message)
    sections = [
        f"<h1>{html.escape(subject)}</h1>",
        f'<table class="headers"><tbody>{rows}</tbody></table>',
        f'<p><a href="/raw/{quote(name)}">ソースを表示</a> ・ <a href="/">一覧へ戻る</a></p>',
    ]
    if body.text is not None:
        sections.append(f"<h2>本文</h2><pre>{html.escape(body.text)}</pre>")
    if body.html is not None:
        sections.append(f"<h2>HTML 本文 (ソース)</h2><pre>{html.escape(body.html)}</pre>")
    if body.text is None and body.html is None:
        sections.append('<p class="muted">テキストの本文はありません。</p>')
    if body.attachments:
        items = "".join(
            f"<li>{html.escape(a.filename)} <span class='muted'>({html.escape(a.content_type)}, {a.size:,} バイト)"
            "</span></li>"
            for a in body.attachments
        )
        sections.append(f"<h2>添付ファイル</h2><ul>{items}</ul>")
    return page(subject, "".join(sections))


class _PageHandler(BaseHTTPRequestHandler):
    server_version = SERVER_NAME
    mailbox: Mailbox  # set on the subclass web_server() makes

    def do_GET(self) -> None:
        path = unquote(self.path.split("?", 1)[0])
        if path == "/":
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", list_page(self.mailbox))
            return
        kind, _, name = path.lstrip("/").partition("/")
        raw = self.mailbox.raw(name) if kind in {"mail", "raw"} else None
        if raw is None:
            body = page("見つかりません", '<p>そのメールはありません。<a href="/">一覧へ戻る</a></p>')
            self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", body)
        elif kind == "raw":
            self._send(HTTPStatus.OK, "text/plain; charset=utf-8", raw)
        else:
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", detail_page(name, raw))

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: each page view would be a line in `make run`'s output."""


def web_server(mailbox: Mailbox, port: int) -> ThreadingHTTPServer:
    handler = type("PageHandler", (_PageHandler,), {"mailbox": mailbox})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    return server


def reason(error: OSError) -> str:
    """ "Address already in use", without socket.create_server's "(while attempting to bind …)"."""
    return os.strerror(error.errno) if error.errno else str(error)


# --- the command ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--web-port", type=int, default=8026)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"), help="where the .eml files go")
    parser.add_argument("--keep", type=int, default=KEEP, help="how many mails are kept (the newest)")
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    quiet_aiosmtpd_logging()

    mailbox = Mailbox(args.dir, keep=args.keep)
    try:
        smtp_socket = socket.create_server((HOST, args.smtp_port))
    except OSError as exc:
        sys.stderr.write(f"smtpcatcher: cannot listen for SMTP on {HOST}:{args.smtp_port}: {reason(exc)}\n")
        return 1
    try:
        web = web_server(mailbox, args.web_port)
    except OSError as exc:
        smtp_socket.close()
        sys.stderr.write(f"smtpcatcher: cannot serve the page on {HOST}:{args.web_port}: {reason(exc)}\n")
        return 1
    controller = BoundController(
        CatchAll(mailbox),
        smtp_socket,
        ready_timeout=10,
        server_hostname=SERVER_NAME,
        authenticator=accept_any_login,
        auth_require_tls=False,
        enable_SMTPUTF8=True,
    )
    controller.start()
    web_thread = threading.Thread(
        target=web.serve_forever, kwargs={"poll_interval": 0.2}, name="smtpcatcher-web", daemon=True
    )
    web_thread.start()
    sys.stdout.write(
        f"SMTP catcher: smtp://{HOST}:{args.smtp_port} (any AUTH login), mail kept in {args.dir}, "
        f"read at http://{HOST}:{args.web_port}/\n"
    )
    sys.stdout.flush()

    stopping.wait()
    web.shutdown()
    web.server_close()
    controller.stop()
    sys.stdout.write("SMTP catcher: stopped\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
