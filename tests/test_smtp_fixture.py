"""The `smtp_server` fixture (tests/smtp.py) answers as a real SMTP server does: it takes mail from this process
and from others, refuses what it was told to refuse at the stage it was told, then takes mail again, and
records the AUTH login a shop's route sends with."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.policy import compat32

import pytest

from tests.smtp import SmtpTestServer


def shipping_mail(to: str = "customer@example.jp") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "発送のお知らせ"
    message["From"] = "デモ商店 <shop@example.jp>"
    message["To"] = to
    message.set_content("ご注文の商品を発送しました。\nお届け予定: 12月24日\n")
    return message


def send(server: SmtpTestServer, message: EmailMessage, *, login: tuple[str, str] | None = None) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        if login is not None:
            client.login(*login)
        client.send_message(message)


def test_a_mail_is_received_with_its_envelope_and_decoded_headers(smtp_server: SmtpTestServer) -> None:
    message = MIMEText("ご注文ありがとうございます。\n", "plain", "iso-2022-jp")
    message["Subject"] = Header("ご注文の確認", "iso-2022-jp")
    message["From"] = "shop@example.jp"
    message["To"] = "customer@example.jp"
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        raw = message.as_bytes(policy=compat32.clone(linesep="\r\n"))  # CRLF line ends, as Django sends
        client.sendmail("bounce@example.jp", ["customer@example.jp", "bcc@example.jp"], raw)

    [mail] = smtp_server.wait_for(1)
    assert smtp_server.url == f"smtp://127.0.0.1:{smtp_server.port}"
    assert mail.mail_from == "bounce@example.jp"
    assert mail.rcpt_tos == ["customer@example.jp", "bcc@example.jp"]
    assert b"=?iso-2022-jp?" in mail.raw.lower()
    assert mail.message["Subject"] == "ご注文の確認"
    assert mail.subject == "ご注文の確認"
    assert mail.text == "ご注文ありがとうございます。\n"
    assert mail.login is None
    assert smtp_server.messages == [mail]


def test_a_mail_from_another_process_is_received(smtp_server: SmtpTestServer) -> None:
    code = (
        "import smtplib, sys\n"
        "with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as c:\n"
        "    c.sendmail('shop@example.jp', ['other@example.jp'], b'Subject: from a worker\\r\\n\\r\\nbody\\r\\n')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(smtp_server.port)], check=True, timeout=30)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["other@example.jp"]
    assert mail.subject == "from a worker"


def test_451_at_rcpt_once_then_the_mail_goes(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("451 4.3.0 Try again later")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, shipping_mail())
    assert refused.value.recipients == {"customer@example.jp": (451, b"4.3.0 Try again later")}
    assert smtp_server.messages == []

    send(smtp_server, shipping_mail())
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["customer@example.jp"]


def test_451_at_data_twice_then_the_mail_goes(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("451 4.3.0 Try again later", times=2, at="DATA")
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(smtp_server, shipping_mail())
        assert refused.value.smtp_code == 451
    assert smtp_server.messages == []

    send(smtp_server, shipping_mail())
    assert len(smtp_server.wait_for(1)) == 1


def test_550_refuses_every_recipient_of_one_transaction_only(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("550 5.1.1 User unknown")
    message = shipping_mail(to="a@example.jp, b@example.jp")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, message)
    assert {code for code, _ in refused.value.recipients.values()} == {550}
    assert set(refused.value.recipients) == {"a@example.jp", "b@example.jp"}

    send(smtp_server, message)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["a@example.jp", "b@example.jp"]


def test_failures_queue_up_in_order(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("452 4.5.3 Too many recipients", at="DATA")
    smtp_server.fail_next("550 5.1.1 User unknown")
    with pytest.raises(smtplib.SMTPDataError):
        send(smtp_server, shipping_mail())
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp_server, shipping_mail())
    send(smtp_server, shipping_mail())
    assert len(smtp_server.wait_for(1)) == 1


def test_fail_next_takes_only_refusals() -> None:
    server = SmtpTestServer()
    with pytest.raises(ValueError, match="not a 4xx/5xx"):
        server.fail_next("250 OK")
    with pytest.raises(ValueError, match="RCPT or DATA"):
        server.fail_next("451 later", at="MAIL")  # type: ignore[arg-type]


def test_the_auth_login_is_recorded(smtp_server: SmtpTestServer) -> None:
    send(smtp_server, shipping_mail(), login=("rmail-shop-123", "s3cret"))
    [mail] = smtp_server.wait_for(1)
    assert mail.login == "rmail-shop-123"
    assert mail.password == "s3cret"


def test_accept_only_refuses_a_wrong_password(smtp_server: SmtpTestServer) -> None:
    smtp_server.accept_only("rmail-shop-123", "right")
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        send(smtp_server, shipping_mail(), login=("rmail-shop-123", "wrong"))
    assert refused.value.smtp_code == 535
    send(smtp_server, shipping_mail(), login=("rmail-shop-123", "right"))
    assert smtp_server.wait_for(1)[0].login == "rmail-shop-123"


def test_wait_for_says_what_came_when_too_little_did(smtp_server: SmtpTestServer) -> None:
    send(smtp_server, shipping_mail())
    with pytest.raises(AssertionError, match=r"got 1 message\(s\) in 0.2 s, not 2"):
        smtp_server.wait_for(2, timeout=0.2)
