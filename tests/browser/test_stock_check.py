"""在庫確認 in Chromium (issue 14, T12): tick three new orders on the list, press F11, read the summary naming what
the short ones lack, and see the orders moved in the status tree; and the auction buyer rating (T14) set on the
order page. Screenshots at 1280 and 1920 wide (test-artifacts; also STOCK_CHECK_SHOTS, when set)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from automation.defaults import BuiltinTask
from automation.models import OrderTask
from inventory.models import Product
from orders.constants import Stage
from orders.models import Order, Status
from shops.constants import MallKind
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, ShopFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ["STOCK_CHECK_SHOTS"]) if os.environ.get("STOCK_CHECK_SHOTS") else None


def shots(page: Any, name: str) -> None:
    size = page.viewport_size
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        path = shot(page, f"{name}-{width}")
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / path.name).write_bytes(path.read_bytes())
    page.set_viewport_size(size)


def status(tenant: Any, name: str) -> Status:
    return Status.objects.get(tenant=tenant, name=name)


def count(page: Any, status_id: int) -> str:
    return page.locator(f'#status-tree a[data-status-id="{status_id}"] [data-count]').inner_text()


def test_f11_checks_the_ticked_orders_and_the_tree_shows_them_moved(page, live_server, tenant, operator):
    Product.objects.create(tenant=tenant, sku="TEA-001", name="有機緑茶 100g", on_hand=3)
    Product.objects.create(tenant=tenant, sku="CUP-010", name="有田焼 湯呑み", on_hand=0)
    start = timezone.now() - dt.timedelta(hours=10)

    def order(n: int, lines: list[tuple[str, int]]) -> Order:
        return make_order(
            tenant,
            external_id=f"R-400{n}",
            ordered_at=start + dt.timedelta(hours=n),
            lines=[{"sku": sku, "name": sku, "unit_price": 1080, "quantity": q, "tax_rate": 8} for sku, q in lines],
        )

    ticked = [order(1, [("TEA-001", 2)]), order(2, [("TEA-001", 2), ("CUP-010", 1)]), order(3, [("GIFT-X", 1)])]
    order(4, [("TEA-001", 1)])  # not ticked: stays new
    new, full, partial, waiting = (status(tenant, n) for n in ("新規受付", "在庫引当済", "一部引当", "入荷待ち"))

    login(page, live_server, operator.username, PASSWORD)
    assert page.url.endswith(f"/orders/?status={new.pk}")
    assert count(page, new.pk) == "4"
    for row in ticked:
        page.check(f'#order-table tr[data-id="{row.pk}"] .by-row-check')
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")
    assert "F11" in page.inner_text("#stock-check")
    shots(page, "stock-check-list")

    page.locator("body").click(position={"x": 5, "y": 300})
    with page.expect_navigation():
        page.keyboard.press("F11")

    alerts = page.locator("main > .alert").all_inner_texts()
    assert alerts[0] == "在庫確認 3 件: 引当済 1 件、一部引当 1 件、欠品 1 件。"
    assert alerts[1:] == ["R-4003: SKU不明 GIFT-X", "R-4002: 欠品 TEA-001 ×1, CUP-010 ×1"]
    assert [count(page, s.pk) for s in (new, full, partial, waiting)] == ["1", "1", "1", "1"]
    assert page.locator("#order-table tr[data-id]").count() == 1  # the list of 新規受付 shows the one left
    shots(page, "stock-check-summary")

    # The short order's task, named on the status it now stands in.
    page.click(f'#status-tree a[data-status-id="{partial.pk}"]')
    page.wait_for_selector(f'#order-table tr[data-id="{ticked[1].pk}"]')
    task = OrderTask.objects.get(order=ticked[1], definition__code=BuiltinTask.STOCK_SHORTAGE)
    assert task.note == "欠品: TEA-001 ×1, CUP-010 ×1"
    page.goto(f"{live_server.url}/orders/{ticked[1].pk}/")
    assert "欠品: TEA-001 ×1, CUP-010 ×1" in page.inner_text("body")
    shots(page, "stock-check-order-task")


def test_the_buyer_of_an_auction_order_is_marked_rated_on_its_page(page, live_server, tenant, operator):
    auction = ShopFactory(tenant=tenant, mall=MallKind.AUCTION, name="ヤフオク店")
    shipped = Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).order_by("position")[0]
    order = make_order(tenant, shop=auction, external_id="Y-5001", status=shipped)

    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/?not_rated=on")
    assert page.locator("#order-table tr[data-id]").count() == 1
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    assert page.inner_text("#buyer-not-rated") == "未評価"
    page.click("#buyer-rated-mark")  # htmx: the panel comes back in place
    page.wait_for_selector("#buyer-rated-at")
    order.refresh_from_db()
    assert order.buyer_rated_at is not None
    assert page.inner_text("#buyer-rated-at").startswith("評価済 ")
    assert "評価日時" in page.inner_text("#order-history")
    shots(page, "buyer-rated-order")
    page.goto(f"{live_server.url}/orders/?not_rated=on")
    assert page.locator("#order-table tr[data-id]").count() == 0
    # The bulk edit (F4) offers the same mark for the selection.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("F4")
    page.wait_for_selector("#bulk-mark_buyer_rated")
    assert "評価済にする（オークションの注文）" in page.inner_text("#bulk-form")
    shots(page, "buyer-rated-bulk")
