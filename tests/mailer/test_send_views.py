"""Sending mail from the order screens: the plan of F7 (who gets it, who cannot and why, the first mail), queueing
once, the progress page, "mark as sent", the unsent badges of the status tree and their list, one order's mail
written by hand (T9), and another tenant's batch, status or order as a 404."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from mailer.models import MailMessage, MailState, StatusMail, TenantMailSettings
from mailer.selectors import unsent_counts_changed
from mailer.services import delivery
from mailer.services.queueing import INSERT_BATCH, mail_mark_sent, mail_queue
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import Order, OrderEvent, PaymentMethod, Status
from orders.sets import CHUNK
from tests.factories import ShopFactory, make_order

from .conftest import SIGNATURE, kind

pytestmark = pytest.mark.django_db


def status_named(tenant: Any, name: str) -> Status:
    return Status.objects.for_tenant(tenant).get(name=name)


def new_status(tenant: Any) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("group__position", "position")[0]


def select(client: Any, orders: list[Any]) -> None:
    client.post(reverse("order_selection"), {"action": "clear"})
    client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in orders]})


def plan(client: Any, **data: Any) -> Any:
    response = client.post(reverse("mail_send"), data)
    assert response.status_code == 200
    return response


def text_of(response: Any) -> str:
    return response.content.decode()


def count_in(html: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}" data-count="(\d+)"', html)
    assert found, f"no #{element_id} with a count"
    return int(found.group(1))


def many_orders(tenant: Any, shop: Any, status: Status, n: int, *, prefix: str, no_address: int = 0) -> None:
    """Many plain orders quickly (bulk inserts): for volume tests. The first `no_address` have no mail address."""
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    now = timezone.now()
    for first in range(0, n, 2000):
        Order.objects.bulk_create(
            [
                Order(
                    tenant=tenant,
                    shop=shop,
                    status=status,
                    stage=status.group.stage,
                    external_id=f"{prefix}-{i:06d}",
                    ordered_at=now - dt.timedelta(minutes=i),
                    orderer_name=f"山田 太郎{i}",
                    orderer_email="" if i < no_address else f"taro{i}@example.jp",
                    dest_name="山田 太郎",
                    dest_postal_code="100-0005",
                    dest_prefecture="東京都",
                    dest_city="千代田区",
                    dest_address1="丸の内1-1-1",
                    payment_method=card,
                    item_subtotal=2160,
                    shipping_fee=600,
                    total=2760,
                )
                for i in range(first, min(first + 2000, n))
            ]
        )


# --- the plan (F7) -----------------------------------------------------------------------------------------------


def test_the_plan_names_the_orders_that_cannot_get_the_mail_and_why(operator_client, tenant, mail_shop, operator):
    shipped = kind(tenant)
    good = make_order(tenant, shop=mail_shop, external_id="OK-1", orderer_email="hanako@example.jp")
    no_address = make_order(tenant, shop=mail_shop, external_id="NOADDR-1", orderer_email="")
    broken = make_order(tenant, shop=mail_shop, external_id="BROKEN-1", orderer_email="not an address")
    erased = make_order(tenant, shop=mail_shop, external_id="ERASED-1")
    Order.objects.filter(pk=erased.pk).update(personal_data_erased_at=timezone.now())
    no_sender = make_order(tenant, shop=ShopFactory(tenant=tenant, name="差出人なし店"), external_id="NOFROM-1")
    had = make_order(tenant, shop=mail_shop, external_id="HAD-1")
    mail_mark_sent(tenant=tenant, order_ids=[had.pk], kind=shipped, actor=Actor.for_user(operator))
    select(operator_client, [good, no_address, broken, erased, no_sender, had])

    html = text_of(plan(operator_client, kind=shipped.pk))

    assert count_in(html, "mail-selected") == 6
    assert count_in(html, "mail-sendable") == 1
    assert count_in(html, "mail-refused") == 4
    assert count_in(html, "mail-already") == 1
    refused = html[html.index('id="mail-refused-list"') : html.index('id="mail-already-list"')]
    assert "NOADDR-1" in refused and "メールアドレスがありません" in refused  # noqa: PT018
    assert "BROKEN-1" in refused and "メールアドレスではありません" in refused  # noqa: PT018
    assert "ERASED-1" in refused and "個人情報は消去済みです" in refused  # noqa: PT018
    assert "NOFROM-1" in refused and "差出人アドレス" in refused  # noqa: PT018
    already = html[html.index('id="mail-already-list"') : html.index('id="mail-preview"')]
    assert "HAD-1" in already and "「発送完了」は送信済みです" in already  # noqa: PT018
    assert "OK-1" not in refused and "OK-1" not in already  # noqa: PT018
    assert "送信する (1 件)" in html
    assert not MailMessage.objects.filter(order_id=good.pk).exists()  # nothing queued by looking

    # "send again to those who already had it" counts them in
    html = text_of(plan(operator_client, kind=shipped.pk, repeat="1"))
    assert count_in(html, "mail-sendable") == 2
    assert count_in(html, "mail-already") == 0


def test_a_kind_without_a_template_is_named_as_the_reason(operator_client, tenant, mail_shop):
    from mailer.models import MailKind

    own = MailKind.objects.create(tenant=tenant, code="sample", name="サンプル送付", position=99)
    order = make_order(tenant, shop=mail_shop, external_id="SAMPLE-1")
    select(operator_client, [order])

    html = text_of(plan(operator_client, kind=own.pk))

    assert count_in(html, "mail-refused") == 1
    assert "「サンプル送付」の有効なテンプレートがありません" in html
    assert 'id="mail-send-confirm" disabled' in html or "disabled>" in html


def test_the_preview_is_the_first_orders_mail_with_its_fields_escaped(operator_client, tenant, mail_shop):
    first = make_order(
        tenant,
        shop=mail_shop,
        external_id="R-2001",
        orderer_name="<b>x</b>",
        orderer_email="first@example.jp",
        ordered_at=timezone.now() - dt.timedelta(days=2),
    )
    second = make_order(tenant, shop=mail_shop, external_id="R-2002", orderer_email="second@example.jp")
    select(operator_client, [second, first])

    html = text_of(plan(operator_client, kind=kind(tenant).pk))

    preview = html[html.index('id="mail-preview"') :]
    assert "R-2001" in preview
    assert "first@example.jp" in preview and "second@example.jp" not in preview  # noqa: PT018
    assert "有機茶園やまだ &lt;shop@yamada-tea.example&gt;" in preview  # From, escaped as text
    assert "support@yamada-tea.example" in preview  # Reply-To
    assert "【有機茶園やまだ 楽天市場店】商品発送のお知らせ（注文番号：R-2001）" in preview
    assert "&lt;b&gt;x&lt;/b&gt; 様" in preview
    assert "<b>x</b>" not in html
    assert SIGNATURE.splitlines()[1] in preview


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ 注文番号.a.b }}", "'str object' has no attribute 'a'"),
        ("{{ 注文番号 / 0 }}", "この注文ではテンプレートを差し込めません: unsupported operand type(s) for /"),
    ],
)
def test_a_template_that_fails_for_the_order_is_said_in_words(operator_client, tenant, mail_shop, body, reason):
    from mailer.models import MailTemplate

    shipped = kind(tenant)
    MailTemplate.objects.filter(tenant=tenant, kind=shipped).update(body=body)  # as if it had been saved
    order = make_order(tenant, shop=mail_shop)
    select(operator_client, [order])

    html = text_of(plan(operator_client, kind=shipped.pk))

    error = html[html.index('id="mail-preview-error"') :]
    assert "このメールは作れません" in error
    assert escape(reason) in error
    assert 'id="mail-preview-body"' not in html


def test_sending_queues_once_and_a_second_time_says_they_already_had_it(
    operator_client, tenant, mail_shop, django_capture_on_commit_callbacks
):
    orders = [make_order(tenant, shop=mail_shop, orderer_email=f"c{i}@example.jp") for i in range(2)]
    shipped = kind(tenant)
    select(operator_client, orders)

    response = operator_client.post(reverse("mail_send"), {"kind": shipped.pk, "action": "send"})

    rows = MailMessage.objects.filter(tenant=tenant)
    assert rows.count() == 2
    batch = rows.first().batch
    assert response.status_code == 302
    assert response["Location"] == reverse("mail_batch", args=[batch])
    assert set(rows.values_list("state", flat=True)) == {MailState.QUEUED}
    page = text_of(operator_client.get(response["Location"]))
    assert "「発送完了」を 2 件の受注に送信待ちにしました" in page

    select(operator_client, orders)  # the selection was cleared after the action: the operator ticks them again
    again = operator_client.post(reverse("mail_send"), {"kind": shipped.pk, "action": "send"}, follow=True)

    assert MailMessage.objects.filter(tenant=tenant).count() == 2
    html = text_of(again)
    assert "送信待ちにした受注はありません" in html
    assert count_in(html, "mail-already") == 2
    assert count_in(html, "mail-sendable") == 0


def test_a_selection_of_10000_orders_costs_a_fixed_number_of_queries(operator_client, tenant, mail_shop):
    shipped = kind(tenant)
    first, second = Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("position")[:2]
    many_orders(tenant, mail_shop, first, 10, prefix="FEW", no_address=2)
    many_orders(tenant, mail_shop, second, 10_000, prefix="MANY", no_address=150)

    def plan_and_queue(status: Status) -> tuple[str, int, int]:
        query = f"status={status.pk}"
        operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": query})
        with CaptureQueriesContext(connection) as planned:
            html = text_of(plan(operator_client, kind=shipped.pk, query=query))
        with CaptureQueriesContext(connection) as queued:
            response = operator_client.post(
                reverse("mail_send"), {"kind": shipped.pk, "action": "send", "query": query}
            )
        assert response.status_code == 302
        statements = [q["sql"] for q in queued.captured_queries]
        if connection.vendor != "postgresql":
            # SQLite takes at most 999 parameters a statement: its INSERTs hold a few dozen rows, not
            # INSERT_BATCH (the embedded development install); what the bound is about is the rest.
            statements = [sql for sql in statements if not sql.startswith("INSERT")]
        return html, len(planned.captured_queries), len(statements)

    html, plan_few, queue_few = plan_and_queue(first)
    assert count_in(html, "mail-sendable") == 8
    html, plan_many, queue_many = plan_and_queue(second)

    assert count_in(html, "mail-selected") == 10_000
    assert count_in(html, "mail-refused") == 150
    assert html.count('class="list-group-item py-1 d-flex gap-2"') == 100  # the first 100 named …
    assert "… ほか 50 件" in html  # … and the rest counted
    assert html.count('id="mail-preview-body"') == 1  # one mail rendered
    assert MailMessage.objects.filter(tenant=tenant, state=MailState.QUEUED).count() == 8 + 10_000 - 150
    # Nothing per order: the orders and the ledger are read per chunk of ids (orders.sets.CHUNK, two statements a
    # chunk) and the rows are written per INSERT batch; that is all that grows.
    chunks = -(-10_000 // CHUNK)
    inserts = -(-(10_000 - 150) // INSERT_BATCH) if connection.vendor == "postgresql" else 1
    assert plan_many <= plan_few + 2 * (chunks - 1)
    assert queue_many <= queue_few + 2 * (chunks - 1) + (inserts - 1)
    assert queue_many <= 30


# --- progress --------------------------------------------------------------------------------------------------


def test_the_progress_page_counts_and_shows_each_orders_result(
    operator_client, tenant, mail_shop, operator, smtp_route
):
    orders = [
        make_order(tenant, shop=mail_shop, external_id=f"P-{i}", orderer_email=f"p{i}@example.jp") for i in range(3)
    ]
    result = mail_queue(
        tenant=tenant, order_ids=[o.pk for o in orders], kind=kind(tenant), actor=Actor.for_user(operator)
    )
    url = reverse("mail_batch", args=[result.batch])

    waiting = text_of(operator_client.get(url))
    assert 'hx-trigger="every 2s"' in waiting  # polls while mails are on their way
    assert re.search(r'id="mail-count-queued">3<', waiting)

    smtp_route.fail_next("550 5.1.1 User unknown")  # the first mail's recipient is refused for good
    delivery.deliver(result.queued)
    smtp_route.wait_for(2)

    partial = operator_client.get(url, HTTP_HX_REQUEST="true")
    html = text_of(partial)
    assert "<html" not in html  # htmx gets the part that refreshes
    assert 'hx-trigger="every 2s"' not in html  # nothing left to wait for: the polling stops
    assert re.search(r'id="mail-count-sent">2<', html)
    assert re.search(r'id="mail-count-failed">1<', html)
    assert re.search(r'id="mail-count-queued">0<', html)
    rows = html[html.index('id="mail-batch-rows"') :]
    first = rows[rows.index(f'data-order-id="{orders[0].pk}"') :]
    assert (
        first.index("P-0") < first.index("p0@example.jp") < first.index("失敗") < first.index("550 5.1.1 User unknown")
    )
    assert reverse("order_detail", args=[orders[0].pk]) in first
    assert rows.count("送信済") >= 2


# --- marked as sent (T14) -----------------------------------------------------------------------------------------


def test_mark_as_sent_records_the_mail_and_an_event_and_sends_nothing(operator_client, tenant, mail_shop, smtp_server):
    orders = [make_order(tenant, shop=mail_shop) for _ in range(2)]
    shipped = kind(tenant)
    select(operator_client, orders)

    response = operator_client.post(
        reverse("mail_send"), {"kind": shipped.pk, "action": "mark", "next": "/orders/?status=1"}, follow=True
    )

    rows = MailMessage.objects.filter(tenant=tenant)
    assert list(rows.values_list("state", flat=True)) == [MailState.MARKED] * 2
    events = OrderEvent.objects.filter(order__in=orders, type=EventType.MAIL_MARKED)
    assert sorted(events.values_list("order_id", flat=True)) == sorted(o.pk for o in orders)
    assert "「発送完了」を 2 件の受注で送信済みとして記録しました（送信はしていません）" in text_of(response)
    assert response.redirect_chain[0][0] == "/orders/?status=1"
    assert smtp_server.messages == []


# --- unsent mail per status (T4) ---------------------------------------------------------------------------------


def shipped_orders(tenant: Any, shop: Any, n: int) -> list[Any]:
    status = status_named(tenant, "出荷済")
    now = timezone.now()
    return [
        make_order(
            tenant,
            shop=shop,
            status=status,
            external_id=f"SHIP-{i}",
            orderer_name=f"発送 太郎{i}",
            orderer_email=f"ship{i}@example.jp",
            ordered_at=now - dt.timedelta(days=i),
        )
        for i in range(n)
    ]


def test_the_status_tree_shows_unsent_mail_with_the_counts_in_one_query(
    operator_client, tenant, mail_shop, operator, django_assert_max_num_queries
):
    orders = shipped_orders(tenant, mail_shop, 3)
    mail_mark_sent(tenant=tenant, order_ids=[orders[0].pk], kind=kind(tenant), actor=Actor.for_user(operator))
    status = status_named(tenant, "出荷済")
    operator_client.get(reverse("status_tree"))  # the first request stores the tenant in the session

    unsent_counts_changed(tenant.pk)  # counted afresh (else the first request's counts come from the cache)
    with CaptureQueriesContext(connection) as few:
        html = text_of(operator_client.get(reverse("status_tree")))

    badge = re.search(
        rf'<a class="[^"]*by-unsent" href="{reverse("mail_unsent", args=[status.pk])}" data-unsent="(\d+)"', html
    )
    assert badge
    assert badge.group(1) == "2"
    assert "未送信 2" in html
    # only statuses with unsent orders get a badge (the new orders' status has its mail kind too, and none)
    assert html.count("by-unsent") == 1
    ledger = [q["sql"] for q in few.captured_queries if '"mailer_mailmessage"' in q["sql"]]
    assert len(ledger) == 1  # every status's count in ONE query over the orders and the ledger

    for i in range(20):  # each new order entering its status makes the counts be read again
        make_order(tenant, shop=mail_shop, status=status, external_id=f"MORE-{i}")
        make_order(tenant, shop=mail_shop, status=status_named(tenant, "入金済"), external_id=f"PAID-{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = text_of(operator_client.get(reverse("status_tree")))
    assert "未送信 22" in html and "未送信 20" in html  # noqa: PT018


def test_the_list_shows_the_badges_and_the_f7_button(operator_client, tenant, mail_shop):
    shipped_orders(tenant, mail_shop, 1)
    html = text_of(operator_client.get(reverse("home"), {"status": new_status(tenant).pk}))
    assert "未送信 1" in html
    assert 'id="mail-send"' in html and "<kbd>F7</kbd> メール送信" in html  # noqa: PT018


def test_the_unsent_page_lists_the_orders_and_sends_them_all(
    operator_client, tenant, mail_shop, operator, django_capture_on_commit_callbacks
):
    orders = shipped_orders(tenant, mail_shop, 3)
    mail_mark_sent(tenant=tenant, order_ids=[orders[2].pk], kind=kind(tenant), actor=Actor.for_user(operator))
    status = status_named(tenant, "出荷済")
    url = reverse("mail_unsent", args=[status.pk])

    html = text_of(operator_client.get(url))

    rows = html[html.index('id="mail-unsent-rows"') :]
    assert rows.index("SHIP-0") < rows.index("SHIP-1")  # newest first
    assert "SHIP-2" not in rows
    assert "発送 太郎0" in rows and "ship0@example.jp" in rows  # noqa: PT018
    assert "「発送完了」を未送信の 2 件すべてに送信" in html

    response = operator_client.post(url)

    queued = MailMessage.objects.filter(tenant=tenant, state=MailState.QUEUED)
    assert sorted(queued.values_list("order_id", flat=True)) == sorted([orders[0].pk, orders[1].pk])
    assert response["Location"] == reverse("mail_batch", args=[queued.first().batch])
    after = text_of(operator_client.get(url))
    assert "このステータスの受注はすべてこのメールを受け取っています" in after
    assert "未送信" not in text_of(operator_client.get(reverse("status_tree")))


def test_a_status_without_a_mail_kind_says_so(operator_client, tenant):
    status = status_named(tenant, "出荷済")
    StatusMail.objects.filter(status=status).delete()
    html = text_of(operator_client.get(reverse("mail_unsent", args=[status.pk])))
    assert "このステータスにはメールの種類が設定されていません" in html


# --- one order's mail (T9) -----------------------------------------------------------------------------------------


def test_the_order_page_links_to_its_mail(operator_client, tenant, mail_order):
    html = text_of(operator_client.get(reverse("order_detail", args=[mail_order.pk])))
    assert f'href="{reverse("mail_order", args=[mail_order.pk])}"' in html


def test_one_order_edited_by_hand_goes_out_as_written(
    operator_client, tenant, mail_order, smtp_route, django_capture_on_commit_callbacks
):
    shipped = kind(tenant)
    url = reverse("mail_order", args=[mail_order.pk])

    page = operator_client.get(url, {"kind": shipped.pk})
    html = text_of(page)
    subject, body = page.context["subject"], page.context["body"]
    assert "商品発送のお知らせ（注文番号：R-1001）" in subject
    assert "佐藤 花子 様" in body
    assert SIGNATURE not in body  # the signature is added when it goes out, not edited
    assert 'id="mail-signature"' in html
    assert 'name="subject"' in html and 'name="body"' in html  # noqa: PT018

    edited = body.replace("佐藤 花子 様", "佐藤 花子 様\n\n先日はお電話ありがとうございました。")
    response = operator_client.post(url, {"kind": shipped.pk, "subject": subject + "（再送）", "body": edited})

    assert response.status_code == 302
    row = MailMessage.objects.get(tenant=tenant, order=mail_order)
    assert row.edited
    delivery.deliver([row.pk])
    [received] = smtp_route.wait_for(1)
    assert received.subject.endswith("（再送）")
    assert "先日はお電話ありがとうございました。" in received.text
    assert received.text.count(SIGNATURE) == 1

    history = text_of(operator_client.get(url, {"kind": shipped.pk}))
    listed = history[history.index('id="mail-history"') :]
    assert "送信済" in listed and "（再送）" in listed and "250 OK" in listed  # noqa: PT018


def test_one_order_sent_unchanged_is_a_deliberate_resend_of_the_template(operator_client, tenant, mail_order, operator):
    shipped = kind(tenant)
    mail_mark_sent(tenant=tenant, order_ids=[mail_order.pk], kind=shipped, actor=Actor.for_user(operator))
    url = reverse("mail_order", args=[mail_order.pk])
    page = operator_client.get(url, {"kind": shipped.pk})

    operator_client.post(
        url,
        {"kind": shipped.pk, "subject": page.context["subject"], "body": page.context["body"].replace("\n", "\r\n")},
    )

    rows = MailMessage.objects.filter(order=mail_order).order_by("sequence")
    assert [(r.state, r.sequence, r.edited) for r in rows] == [
        (MailState.MARKED, 0, False),
        (MailState.QUEUED, 1, False),
    ]


def test_one_order_without_an_address_says_why(operator_client, tenant, mail_shop):
    order = make_order(tenant, shop=mail_shop, orderer_email="")
    html = text_of(operator_client.get(reverse("mail_order", args=[order.pk])))
    assert "メールアドレスがありません" in html
    assert 'name="body"' not in html


# --- tenancy -----------------------------------------------------------------------------------------------------


def test_another_tenants_batch_status_and_order_are_404(operator_client, tenant, other_tenant):
    theirs = make_order(other_tenant, orderer_email="theirs@example.jp")
    TenantMailSettings.objects.filter(tenant=other_tenant).update(from_address="info@other.example")
    result = mail_queue(tenant=other_tenant, order_ids=[theirs.pk], kind=kind(other_tenant), actor=Actor.system("test"))
    assert result.queued
    their_status = status_named(other_tenant, "出荷済")

    assert operator_client.get(reverse("mail_batch", args=[result.batch])).status_code == 404
    assert operator_client.get(reverse("mail_batch", args=[uuid.uuid4()])).status_code == 404
    assert operator_client.get(reverse("mail_unsent", args=[their_status.pk])).status_code == 404
    assert operator_client.post(reverse("mail_unsent", args=[their_status.pk])).status_code == 404
    assert operator_client.get(reverse("mail_order", args=[theirs.pk])).status_code == 404
    assert (
        operator_client.post(reverse("mail_order", args=[theirs.pk]), {"subject": "x", "body": "y"}).status_code == 404
    )
    assert MailMessage.objects.filter(tenant=other_tenant).count() == 1


def test_another_tenants_orders_in_the_selection_are_not_mailed(operator_client, tenant, other_tenant, mail_shop):
    theirs = make_order(other_tenant, orderer_email="theirs@example.jp")
    mine = make_order(tenant, shop=mail_shop)
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [theirs.pk, mine.pk]})

    operator_client.post(reverse("mail_send"), {"kind": kind(tenant).pk, "action": "send"})
    select(operator_client, [mine])
    their_kind = operator_client.post(reverse("mail_send"), {"kind": kind(other_tenant).pk, "action": "send"})

    assert their_kind.status_code == 404

    assert list(MailMessage.objects.values_list("order_id", flat=True)) == [mine.pk]
