"""Queueing and sending against a real SMTP server (tests/smtp.py): what the customer receives, the encodings,
the server's answers, at most once, header injection, the routes."""

from __future__ import annotations

import datetime as dt
from email.header import decode_header, make_header
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mailer.models import (
    Charset,
    Device,
    MailMessage,
    MailState,
    MailTemplate,
    ShopMailSettings,
    TenantMailSettings,
)
from mailer.routes import store_password
from mailer.services import delivery, retention
from mailer.services.queueing import mail_plan, mail_queue, mail_queue_edited
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent
from tests.factories import make_order

from .conftest import SIGNATURE, kind

pytestmark = pytest.mark.django_db


def actor(operator: Any) -> Actor:
    return Actor.for_user(operator)


def header(message: Any, name: str) -> str:
    return str(make_header(decode_header(message[name])))


def body_of(message: Any) -> str:
    return message.get_content().replace("\r\n", "\n")


def queue_and_send(tenant: Any, orders: list[Any], operator: Any, code: str = "shipped", **kw: Any) -> list[int]:
    result = mail_queue(
        tenant=tenant, order_ids=[o.pk for o in orders], kind=kind(tenant, code), actor=actor(operator), **kw
    )
    delivery.deliver(result.queued)
    return result.queued


def test_the_customer_receives_the_shops_mail_with_signature_and_insert_text(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)

    smtp_route.wait_for(1)
    received = smtp_route.messages[0]
    message = received.message
    assert received.rcpt_tos == ["hanako@example.jp"]
    assert received.mail_from == "shop@yamada-tea.example"
    assert header(message, "From") == "有機茶園やまだ <shop@yamada-tea.example>"
    assert header(message, "Reply-To") == "support@yamada-tea.example"
    subject = header(message, "Subject")
    assert "R-1001" in subject
    assert "\n" not in subject
    text = body_of(message)
    assert "佐藤 花子 様" in text
    assert "ご注文の品は贈答用に包装いたしました。" in text
    assert text.rstrip().endswith(SIGNATURE.splitlines()[-1])
    assert SIGNATURE in text

    row = MailMessage.objects.get(pk=ids[0])
    assert row.state == MailState.SENT
    assert row.message_id == message["Message-ID"]
    assert row.body == text.replace("\r\n", "\n")
    event = OrderEvent.objects.get(order=mail_order, type=EventType.MAIL_SENT)
    assert event.actor_name == operator.username
    assert event.data["mail"]["to"] == "hanako@example.jp"


def test_iso_2022_jp_round_trips_and_names_what_it_could_not_carry(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    MailTemplate.objects.filter(tenant=tenant, kind=kind(tenant)).update(
        charset=Charset.ISO2022JP, subject="【発送】{{ 注文者名 }}様", body="{{ 注文者名 }} 様\nｶﾀｶﾅ 髙橋\n"
    )
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)

    message = smtp_route.messages[0].message
    assert message.get_content_charset() == "iso-2022-jp"
    assert b"\x1b$B" in smtp_route.messages[0].raw  # JIS escape sequences on the wire, 7 bit
    assert (
        "=?iso-2022-jp?" in message["Subject"].lower()
        or "=?iso-2022-jp?" in smtp_route.messages[0].raw.decode().lower()
    )
    assert header(message, "Subject") == "【発送】佐藤 花子様"
    assert "カタカナ 〓橋" in body_of(message)
    row = MailMessage.objects.get(pk=ids[0])
    assert "髙" in row.answer


def test_a_temporary_refusal_is_tried_again_later_then_sent(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    smtp_route.fail_next("451 4.3.0 Try again later", at="RCPT")
    with django_capture_on_commit_callbacks():
        result = mail_queue(tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator))
    first = delivery.deliver(result.queued)
    assert first.retry == result.queued
    assert first.retry_in == delivery.backoff(1)
    row = MailMessage.objects.get(pk=result.queued[0])
    assert (row.state, row.attempts) == (MailState.QUEUED, 1)
    assert "451" in row.answer
    assert row.next_attempt_at > timezone.now()

    assert delivery.deliver(result.queued).skipped == result.queued  # not due yet: nothing happens

    MailMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    second = delivery.deliver(result.queued)
    assert second.sent == result.queued
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.SENT, 2)
    assert len(smtp_route.messages) == 1


def test_a_permanent_refusal_is_a_failure_with_the_servers_answer(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    smtp_route.fail_next("550 5.1.1 User unknown", at="RCPT")
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)
    row = MailMessage.objects.get(pk=ids[0])
    assert row.state == MailState.FAILED
    assert row.answer.startswith("550 5.1.1 User unknown")
    event = OrderEvent.objects.get(order=mail_order, type=EventType.MAIL_FAILED)
    assert "550" in event.data["mail"]["error"]
    assert not smtp_route.messages


def test_a_mail_goes_once_per_order_and_kind_however_often_it_is_asked_for(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        first = mail_queue(tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator))
        again = mail_queue(tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator))
    assert len(first.queued) == 1
    assert not again.queued
    assert [r.number for r in again.plan.already] == ["R-1001"]

    delivery.deliver(first.queued)
    assert delivery.deliver(first.queued).skipped == first.queued  # a redelivered task does nothing
    assert len(smtp_route.messages) == 1

    with django_capture_on_commit_callbacks():  # an operator's deliberate resend is a new mail
        resend = mail_queue(
            tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator), repeat=True
        )
    delivery.deliver(resend.queued)
    assert len(smtp_route.messages) == 2
    assert list(
        MailMessage.objects.filter(order=mail_order).values_list("sequence", flat=True).order_by("sequence")
    ) == [0, 1]


def test_a_worker_that_died_mid_send_leaves_the_mail_unknown_never_sent_again(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        result = mail_queue(tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator))
    # The worker claimed it (state sending, committed) and died before writing the answer.
    MailMessage.objects.filter(pk=result.queued[0]).update(
        state=MailState.SENDING,
        claimed_at=timezone.now() - delivery.STALE_AFTER - dt.timedelta(seconds=1),
        message_id="<dead@yamada-tea.example>",
    )
    assert delivery.deliver(result.queued).skipped == result.queued
    assert delivery.due_queued(now=timezone.now() + dt.timedelta(hours=1)) == []
    assert delivery.mark_stale() == 1
    row = MailMessage.objects.get(pk=result.queued[0])
    assert row.state == MailState.UNKNOWN
    assert "<dead@yamada-tea.example>" in row.answer
    assert not smtp_route.messages
    # still counts as had: an automatic mail does not go again
    with django_capture_on_commit_callbacks():
        again = mail_queue(tenant=tenant, order_ids=[mail_order.pk], kind=kind(tenant), actor=actor(operator))
    assert not again.queued


def test_no_order_field_can_add_a_header(tenant, operator, mail_shop, smtp_route, django_capture_on_commit_callbacks):
    order = make_order(
        tenant,
        shop=mail_shop,
        external_id="R-2",
        orderer_email="a@example.jp",
        orderer_name="山田\r\nBcc: evil@example.com",
    )
    MailTemplate.objects.filter(tenant=tenant, kind=kind(tenant)).update(subject="{{ 注文者名 }} 様 {{ 注文番号 }}")
    ShopMailSettings.objects.filter(shop=mail_shop).update(from_name="やまだ\nBcc: x@example.com")
    with django_capture_on_commit_callbacks():
        queue_and_send(tenant, [order], operator)
    received = smtp_route.messages[0]
    assert received.rcpt_tos == ["a@example.jp"]
    assert "Bcc" not in received.message
    headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc" not in headers
    assert not headers.startswith(b"Bcc")
    assert header(received.message, "Subject") == "山田 Bcc: evil@example.com 様 R-2"


def test_an_address_that_is_not_one_is_named_before_anything_is_queued(tenant, operator, mail_shop):
    good = make_order(tenant, shop=mail_shop, external_id="G", orderer_email="ok@example.jp")
    bad = make_order(tenant, shop=mail_shop, external_id="B", orderer_email="x@example.jp")
    none = make_order(tenant, shop=mail_shop, external_id="N", orderer_email="")
    type(bad).objects.filter(pk=bad.pk).update(orderer_email="a@b.jp\r\nBcc: evil@example.com")
    erased = make_order(tenant, shop=mail_shop, external_id="E", orderer_email="e@example.jp")
    type(erased).objects.filter(pk=erased.pk).update(personal_data_erased_at=timezone.now())

    plan = mail_plan(tenant=tenant, order_ids=[good.pk, bad.pk, none.pk, erased.pk], kind=kind(tenant))

    assert [s.order_id for s in plan.sendable] == [good.pk]
    reasons = {r.number: r.reason for r in plan.refused}
    assert reasons["N"] == "メールアドレスがありません"
    assert reasons["B"].startswith("メールアドレスではありません")
    assert reasons["E"] == "個人情報は消去済みです"


def test_mobile_addresses_get_the_mobile_template_and_a_shops_own_template_wins(tenant, operator, mail_shop):
    from mailer.selectors import mail_book

    shipped = kind(tenant)
    mobile = MailTemplate.objects.get(tenant=tenant, kind=shipped, shop=None, device=Device.MOBILE)
    pc = MailTemplate.objects.get(tenant=tenant, kind=shipped, shop=None, device=Device.PC)
    book = mail_book(tenant)
    assert book.template_for(shipped.pk, mail_shop.pk, "x@docomo.ne.jp") == mobile
    assert book.template_for(shipped.pk, mail_shop.pk, "x@sub.ezweb.ne.jp") == mobile
    assert book.template_for(shipped.pk, mail_shop.pk, "x@gmail.com") == pc
    own = MailTemplate.objects.create(
        tenant=tenant, kind=shipped, shop=mail_shop, device=Device.PC, subject="s", body="b"
    )
    book = mail_book(tenant)
    assert book.template_for(shipped.pk, mail_shop.pk, "x@gmail.com") == own
    assert book.template_for(shipped.pk, mail_shop.pk, "x@docomo.ne.jp") == mobile  # no own mobile one


def test_a_template_with_an_unknown_placeholder_or_broken_syntax_is_refused_naming_the_line(tenant):
    template = MailTemplate(tenant=tenant, kind=kind(tenant), device=Device.PC, subject="ok {{ 注文番号 }}")
    template.body = "{{ 注文者名 }} 様\n\nお届け先: {{ 届け先 }}\n"
    with pytest.raises(ValidationError) as refused:
        template.clean()
    assert refused.value.messages == ["本文 3 行目: 「届け先」という差し込み項目はありません。"]
    template.body = "{{ 注文者名 }} 様\n{% if 送り状番号 %}\n番号: {{ 送り状番号 }}\n"
    with pytest.raises(ValidationError) as broken:
        template.clean()
    assert broken.value.messages == [
        "本文 3 行目: テンプレートを読めません"
        "（ブロックが閉じられていません: {% endif %} か {% endfor %} がありません）。"
    ]
    template.body = "{{ 注文者名.__class__ }}"
    with pytest.raises(ValidationError):
        template.clean()


def test_the_operators_own_text_for_one_order_is_sent_as_written(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        row = mail_queue_edited(
            tenant=tenant,
            order=mail_order,
            kind=kind(tenant, "payment_received"),
            subject="ご入金の確認\r\nBcc: x@example.com",
            body="佐藤様\nご入金を確認しました。{{ 注文番号 }}",
            actor=actor(operator),
        )
    delivery.deliver([row.pk])
    message = smtp_route.messages[0].message
    assert header(message, "Subject") == "ご入金の確認 Bcc: x@example.com"
    assert body_of(message).startswith("佐藤様\nご入金を確認しました。{{ 注文番号 }}\n\n" + SIGNATURE)


def test_a_shops_own_smtp_route_with_auth_wins_over_the_tenants(
    tenant, operator, mail_order, mail_shop, smtp_route, django_capture_on_commit_callbacks
):
    TenantMailSettings.objects.filter(tenant=tenant).update(smtp_host="192.0.2.1")  # would time out if used
    own = ShopMailSettings.objects.get(shop=mail_shop)
    own.smtp_host, own.smtp_port, own.smtp_security, own.smtp_user = (
        smtp_route.host,
        smtp_route.port,
        "none",
        "rms-user",
    )
    store_password(own, "s3cret")
    own.save()
    assert "s3cret" not in own.smtp_password
    with django_capture_on_commit_callbacks():
        queue_and_send(tenant, [mail_order], operator)
    assert smtp_route.messages[0].login == "rms-user"


def test_a_tenants_route_to_a_private_address_is_refused(
    tenant, operator, mail_order, smtp_route, settings, django_capture_on_commit_callbacks
):
    settings.MAILER_ALLOW_PRIVATE_SMTP = False
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)
    row = MailMessage.objects.get(pk=ids[0])
    assert row.state == MailState.FAILED
    assert "SMTP" in row.answer
    assert not smtp_route.messages


def test_old_bodies_are_erased_and_the_row_kept(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)
    TenantMailSettings.objects.filter(tenant=tenant).update(body_keep_days=30)
    MailMessage.objects.filter(pk=ids[0]).update(queued_at=timezone.now() - dt.timedelta(days=31))
    assert retention.erase_old_bodies() == 1
    row = MailMessage.objects.get(pk=ids[0])
    assert row.body == ""
    assert row.body_erased_at is not None
    assert row.subject
    assert row.to_address == "hanako@example.jp"
    assert row.state == MailState.SENT


def test_every_placeholder_has_a_value_for_an_order(tenant, mail_order):
    from mailer.rendering import NAMES, order_context
    from mailer.selectors import mail_book
    from mailer.services.compose import orders_for_mail

    order = orders_for_mail(tenant.pk, [mail_order.pk])[mail_order.pk]
    context = order_context(order, mail_book(tenant).shop_facts(mail_order.shop_id))
    assert set(context) == NAMES
    assert context["注文者名"] == "佐藤 花子"
    assert context["差込文"] == "ご注文の品は贈答用に包装いたしました。"
    assert context["店舗URL"] == "https://www.rakuten.co.jp/yamada-tea/"
    assert context["明細"][0]["商品名"] == mail_order.lines.get().name


def test_a_status_mail_goes_once_when_orders_enter_the_status_however_they_get_there(
    tenant, operator, mail_shop, django_capture_on_commit_callbacks
):
    from mailer.models import StatusMail
    from orders.models import Status
    from orders.services import order_move_to_status
    from orders.services.bulk import BulkChanges, orders_bulk_update

    shipped = Status.objects.get(tenant=tenant, name="出荷済")
    ready = Status.objects.get(tenant=tenant, name="発送待ち")
    StatusMail.objects.filter(status=shipped).update(auto_send=True)
    orders = [make_order(tenant, shop=mail_shop, external_id=f"S-{n}", status=ready) for n in range(3)]
    ids = [o.pk for o in orders]

    with django_capture_on_commit_callbacks() as sent:
        orders_bulk_update(tenant=tenant, order_ids=ids[:2], changes=BulkChanges(status=shipped), actor=actor(operator))
        order_move_to_status(order=orders[2], status=shipped, actor=actor(operator))
    assert sent  # the sends go after the commits
    rows = MailMessage.objects.filter(tenant=tenant, kind=kind(tenant))
    assert sorted(rows.values_list("order_id", flat=True)) == ids
    assert set(rows.values_list("source", "state")) == {("status", "queued")}

    with django_capture_on_commit_callbacks():  # back and in again: the customer is not told twice
        orders_bulk_update(tenant=tenant, order_ids=ids, changes=BulkChanges(status=ready), actor=actor(operator))
        orders_bulk_update(tenant=tenant, order_ids=ids, changes=BulkChanges(status=shipped), actor=actor(operator))
    assert rows.count() == 3

    StatusMail.objects.filter(status=shipped).update(auto_send=False)
    other = make_order(tenant, shop=mail_shop, external_id="S-9", status=ready)
    with django_capture_on_commit_callbacks():
        orders_bulk_update(
            tenant=tenant, order_ids=[other.pk], changes=BulkChanges(status=shipped), actor=actor(operator)
        )
    assert rows.count() == 3  # switched off: nothing


def test_a_template_that_fails_on_a_real_order_fails_that_mail_in_words(
    tenant, operator, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    MailTemplate.objects.filter(tenant=tenant, kind=kind(tenant)).update(body="{{ 1 // (明細|length - 1) }}")
    with django_capture_on_commit_callbacks():
        ids = queue_and_send(tenant, [mail_order], operator)  # one line: a division by zero on this order
    row = MailMessage.objects.get(pk=ids[0])
    assert row.state == MailState.FAILED
    assert row.answer.startswith("この注文ではテンプレートを差し込めません")
