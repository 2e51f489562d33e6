"""The development SMTP catcher (devtools/smtpcatcher.py), started with the Procfile's `mail:` command line as
`make run` starts it: it takes the mail web and worker send, shows it decoded on its Japanese page with every
piece of mail text escaped, keeps the newest, and stops on honcho's SIGTERM with status 0 and no traceback."""

from __future__ import annotations

import re
import shlex
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.test_celery_embedded import ROOT, under_this_interpreter
from tests.test_deploy import expand, procfile_entries

pytestmark = pytest.mark.service


class Catcher:
    def __init__(self, process: subprocess.Popen[bytes], smtp_port: int, web_port: int, directory: Path) -> None:
        self.process = process
        self.smtp_port = smtp_port
        self.web_port = web_port
        self.directory = directory

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=10) as response:
            assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
            return str(response.read().decode("utf-8"))

    def links(self) -> list[str]:
        return re.findall(r'href="(/mail/[^"]+)"', self.get("/"))

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)  # what honcho sends on Ctrl-C
        _, stderr = self.process.communicate(timeout=20)
        return self.process.returncode, stderr.decode("utf-8", errors="replace")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[Catcher]:
    smtp_port, web_port = free_port(), free_port()
    env = {"BACKYARD_SMTP_PORT": str(smtp_port), "BACKYARD_MAILBOX_PORT": str(web_port)}
    env["BACKYARD_VAR_DIR"] = str(tmp_path / "var")
    command = procfile_entries((ROOT / "Procfile").read_text(encoding="utf-8"))["mail"]
    argv = [*under_this_interpreter(shlex.split(expand(command, env))), "--keep", "3"]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_port(smtp_port, process)
        wait_for_port(web_port, process)
        yield Catcher(process, smtp_port, web_port, tmp_path / "var" / "mail")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def iso_2022_jp_mail() -> bytes:
    message = MIMEText("山田様\n\nご注文ありがとうございます。<b>太字ではない</b>\n", "plain", "iso-2022-jp")
    message["Subject"] = Header("【デモ商店】ご注文の確認 <script>alert(1)</script>", "iso-2022-jp")
    message["From"] = formataddr((str(Header("デモ商店", "iso-2022-jp")), "shop@example.jp"))
    message["To"] = "yamada@example.jp"
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


def utf8_mail() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "発送のお知らせ ①"
    message["From"] = "デモ商店 <shop@example.jp>"
    message["To"] = "鈴木 花子 <suzuki@example.jp>"
    message.set_content("お届け予定: 12月24日 ㈱デモ運輸\n")
    return message


def test_the_catcher_shows_japanese_mail_decoded_and_escaped(catcher: Catcher) -> None:
    with smtplib.SMTP("127.0.0.1", catcher.smtp_port, timeout=10) as client:
        client.login("rmail-shop", "any password")  # a shop's route: AUTH without TLS, any login
        client.sendmail("shop@example.jp", ["yamada@example.jp", "bcc@example.jp"], iso_2022_jp_mail())
        client.send_message(utf8_mail())

    listing = catcher.get("/")
    assert "受信日時" in listing
    # Newest first; the subject's HTML shown as text, never as markup.
    assert listing.index("発送のお知らせ ①") < listing.index("【デモ商店】ご注文の確認")
    assert "【デモ商店】ご注文の確認 &lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert "<script>" not in listing
    assert "鈴木 花子 &lt;suzuki@example.jp&gt;" in listing
    assert "デモ商店 &lt;shop@example.jp&gt;" in listing

    newest, oldest = catcher.links()
    detail = catcher.get(oldest)
    assert "<h1>【デモ商店】ご注文の確認 &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in detail
    assert "<pre>山田様\n\nご注文ありがとうございます。&lt;b&gt;太字ではない&lt;/b&gt;\n</pre>" in detail
    assert "yamada@example.jp, bcc@example.jp" in detail  # the envelope: the Bcc recipient shows
    assert "rmail-shop" in detail  # the AUTH login
    assert "<script>" not in detail
    assert "<b>" not in detail
    assert "お届け予定: 12月24日 ㈱デモ運輸" in catcher.get(newest)

    [raw_link] = re.findall(r'href="(/raw/[^"]+)"', detail)
    raw = catcher.get(raw_link)
    assert 'charset="iso-2022-jp"' in raw
    assert "=?iso-2022-jp?" in raw.lower()
    assert len(list(catcher.directory.glob("*.eml"))) == 2

    returncode, stderr = catcher.stop()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr == ""


def test_the_catcher_keeps_the_newest_and_refuses_other_paths(catcher: Catcher) -> None:
    with smtplib.SMTP("127.0.0.1", catcher.smtp_port, timeout=10) as client:
        for number in range(1, 5):
            client.sendmail("shop@example.jp", ["a@example.jp"], f"Subject: mail {number}\r\n\r\nbody\r\n".encode())

    listing = catcher.get("/")
    assert [f"mail {n}" for n in (4, 3, 2)] == re.findall(r"mail \d", listing)  # --keep 3
    assert len(list(catcher.directory.glob("*.eml"))) == 3
    for path in ("/mail/../../Procfile", "/raw/%2e%2e%2fProcfile", "/mail/nothing.eml", "/elsewhere"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            catcher.get(path)
        assert answer.value.code == 404

    returncode, stderr = catcher.stop()
    assert returncode == 0
    assert stderr == ""


def test_a_taken_port_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "devtools.smtpcatcher", "--smtp-port", str(port), "--web-port", "0"]
        process = subprocess.run(
            [*argv, "--dir", str(tmp_path / "mail")], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
    assert process.returncode == 1
    assert process.stderr == f"smtpcatcher: cannot listen for SMTP on 127.0.0.1:{port}: Address already in use\n"
