"""Mail from the order list in Chromium (issue 13, item 3): tick three orders, press F7, read the mail the first
will get, change the kind, send, and watch the progress page follow the delivery without a reload.

The delivery is the worker's part: here the test thread runs it (mailer.services.delivery.deliver on the queued
rows) against a real SMTP server, as the `mail` queue's worker would (the worker itself is tested in
tests/mailer/test_worker.py)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from mailer.models import MailKind, MailMessage, MailState
from mailer.services import delivery
from orders.constants import Stage
from orders.models import Status
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order
from tests.mailer.conftest import mail_shop, smtp_route  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("MAIL_SEND_SHOTS", "")) if os.environ.get("MAIL_SEND_SHOTS") else None


def shots(page: Any, name: str) -> None:
    """The page at 1280 and 1920 wide (the artifacts; also MAIL_SEND_SHOTS, when set, to look at by hand)."""
    size = page.viewport_size
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        path = shot(page, f"{name}-{width}")
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / path.name).write_bytes(path.read_bytes())
    page.set_viewport_size(size)


def test_f7_previews_sends_and_shows_each_orders_result(
    page,
    live_server,
    tenant,
    operator,
    mail_shop,  # noqa: F811
    smtp_route,  # noqa: F811
):
    now = timezone.now()
    orders = [
        make_order(
            tenant,
            shop=mail_shop,
            external_id=f"R-300{i}",
            orderer_name=name,
            orderer_email=f"buyer{i}@example.jp",
            ordered_at=now - dt.timedelta(hours=10 - i),
        )
        for i, name in enumerate(["佐藤 花子", "鈴木 一郎", "高橋 <b>三郎</b>"])
    ]
    make_order(tenant, shop=mail_shop, external_id="R-3999", orderer_email="not-ticked@example.jp")
    new = Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("group__position", "position")[0]
    shipped = MailKind.objects.get(tenant=tenant, code="shipped")

    login(page, live_server, operator.username, PASSWORD)
    assert page.url.endswith(f"/orders/?status={new.pk}")
    # T4: none of the four new orders has had the new status's mail (注文確認)
    assert page.locator(f'#status-tree a.by-unsent[href="/mail/unsent/{new.pk}/"]').inner_text() == "未送信 4"
    for order in orders:
        page.check(f'#order-table tr[data-id="{order.pk}"] .by-row-check')
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")
    assert "F7" in page.inner_text("#mail-send")

    shots(page, "mail-send-list")
    page.locator("body").click(position={"x": 5, "y": 300})
    with page.expect_navigation():
        page.keyboard.press("F7")

    # the plan: all three can get it, nothing queued yet; the first order's mail, as it will go out
    assert page.locator("#mail-selected").get_attribute("data-count") == "3"
    assert page.locator("#mail-sendable").get_attribute("data-count") == "3"
    assert page.locator("#mail-kind option:checked").inner_text() == "注文確認"  # the mail of the list's status
    page.select_option("#mail-kind", str(shipped.pk))
    page.wait_for_function("document.querySelector('[data-header=subject]').innerText.includes('発送')")
    headers = page.inner_text("#mail-preview-headers")
    assert "有機茶園やまだ <shop@yamada-tea.example>" in headers
    assert "buyer0@example.jp" in headers
    assert "support@yamada-tea.example" in headers
    assert "佐藤 花子 様" in page.inner_text("#mail-preview-body")
    assert not MailMessage.objects.exists()
    shots(page, "mail-send-preview")

    with page.expect_navigation():
        page.click("#mail-send-confirm")

    # the progress page: three queued, following by itself
    page.wait_for_selector("#mail-batch[data-active='1']")
    assert page.inner_text("#mail-count-queued") == "3"
    queued = list(MailMessage.objects.filter(tenant=tenant, state=MailState.QUEUED).values_list("pk", flat=True))
    assert len(queued) == 3

    delivery.deliver(queued)  # the worker's part
    received = smtp_route.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in received) == ["buyer0@example.jp", "buyer1@example.jp", "buyer2@example.jp"]

    page.wait_for_selector("#mail-batch[data-active='0']", timeout=15_000)  # no reload: htmx polled
    assert page.inner_text("#mail-count-sent") == "3"
    assert page.inner_text("#mail-count-failed") == "0"
    rows = page.locator("#mail-batch-rows tbody tr")
    assert rows.count() == 3
    for i, order in enumerate(orders):
        row = page.locator(f'#mail-batch-rows tr[data-order-id="{order.pk}"]')
        assert row.get_attribute("data-state") == "sent"
        text = row.inner_text()
        assert f"R-300{i}" in text and f"buyer{i}@example.jp" in text and "250 OK" in text  # noqa: PT018
    shots(page, "mail-send-progress")

    page.click(f'#mail-batch-rows tr[data-order-id="{orders[2].pk}"] a')
    page.wait_for_url(f"**/orders/{orders[2].pk}/")
    assert page.inner_text("#order-number") == "R-3002"

    # the order's own mail page (T9): the mail it had, and the next one to write
    page.click("#mail-order-link")
    page.wait_for_selector("#mail-order-form")
    assert page.input_value("#mail-subject").startswith("【有機茶園やまだ 楽天市場店】")
    assert "高橋 <b>三郎</b> 様" in page.input_value("#mail-body")  # text in a field, not markup
    history = page.locator("#mail-history-rows tbody tr")
    assert history.count() == 1
    assert "発送完了" in history.inner_text() and "送信済" in history.inner_text()  # noqa: PT018
    shots(page, "mail-send-order")

    # F8 on the list opens the send log (the navigation's "送信エラー N" when something failed)
    page.goto(f"{live_server.url}/orders/?status={new.pk}")
    page.locator("body").click(position={"x": 5, "y": 300})
    with page.expect_navigation():
        page.keyboard.press("F8")
    assert "/mail/log/" in page.url
