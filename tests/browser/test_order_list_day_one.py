"""What an operator hits on day one (issue 10): the table fits the screen, the selection never acts unseen,
and the function keys F1–F4 work on the order list — in Chromium, with screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from automation.models import OrderTask, TaskDefinition
from orders.constants import Stage
from orders.models import Label, Order, OrderLabel, PaymentMethod, Status
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, ShopFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_SHOP = "株式会社やまと屋本舗 楽天市場店（アウトレット・訳あり品コーナー）"
LONG_NAME = "勅使河原 三郎右衛門之介"
LONG_STATUS = "入金待ち（銀行振込・コンビニ前払い）"
LONG_LABEL = "ギフト包装・のし（表書き：御祝）"
ORDER_NUMBER = "412345-20261205-0123456789"  # a Rakuten order number is this long


def status_of(tenant: Any, stage: Stage, position: int = 1) -> Status:
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .order_by("group__position", "position")[position - 1]
    )


def bank(tenant: Any) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")


def realistic_status(tenant: Any, orders: int = 12) -> Status:
    """A status as a merchant's looks after a week: long shop, customer and status names, every label, open
    tasks and memos, six-digit totals."""
    waiting = status_of(tenant, Stage.AWAITING_PAYMENT)
    Status.objects.filter(pk=waiting.pk).update(name=LONG_STATUS)
    shop = ShopFactory(tenant=tenant, name=LONG_SHOP, mall=MallKind.RAKUTEN)
    labels = [
        *Label.objects.for_tenant(tenant),
        Label.objects.create(tenant=tenant, name=LONG_LABEL, colour="#0d6efd", position=9),
    ]
    tasks = list(TaskDefinition.objects.for_tenant(tenant).filter(enabled=True).order_by("position")[:3])
    compact = DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便コンパクト")
    for i in range(orders):
        order = make_order(
            tenant,
            shop=shop,
            status=waiting,
            external_id=f"{ORDER_NUMBER[:-2]}{i:02d}",
            orderer_name=LONG_NAME,
            orderer_kana="テシガワラ サブロウエモンノスケ",
            dest_prefecture="神奈川県",
            payment_method=bank(tenant),
            delivery_method=compact,
            ship_date=dt.date(2026, 12, 24),
            ordered_at=timezone.now() - dt.timedelta(hours=i + 1),
            lines=[
                {"sku": "GIFT-SET-A", "name": "特選ギフトセット", "unit_price": 128_000, "quantity": 3, "tax_rate": 8}
            ],
        )
        OrderLabel.objects.bulk_create(OrderLabel(tenant=tenant, order=order, label=label) for label in labels)
        OrderTask.objects.bulk_create(OrderTask(tenant=tenant, order=order, definition=task) for task in tasks)
    Order.objects.filter(shop=shop).update(work_memo="在庫を確認中")
    return Status.objects.get(pk=waiting.pk)


FIT = """() => {
  const table = document.getElementById('order-table');
  const wrapper = table.closest('.by-table-wrap');
  const last = table.querySelector('thead th:last-child').getBoundingClientRect();
  return {table: table.scrollWidth, wrapper: wrapper.clientWidth, page: document.documentElement.scrollWidth,
          viewport: document.documentElement.clientWidth, lastRight: Math.round(last.right)};
}"""


@pytest.mark.parametrize("width", [1280, 1440, 1920])
def test_the_table_fits_the_screen_with_long_names(page, live_server, tenant, operator, width):
    status = realistic_status(tenant)
    login(page, live_server, operator.username, PASSWORD)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/orders/?status={status.pk}")
    page.wait_for_selector("#order-table tbody tr[data-id]")

    fit = page.evaluate(FIT)
    shot(page, f"order-list-fit-{width}")
    assert fit["table"] <= fit["wrapper"], fit  # no horizontal scrolling inside the table's box …
    assert fit["page"] <= fit["viewport"], fit  # … nor of the page
    assert fit["lastRight"] <= fit["viewport"], fit  # the status column is on screen
    row = page.locator("#order-table tbody tr[data-id]").first
    for name, text in (("shop", LONG_SHOP), ("orderer", LONG_NAME), ("status", LONG_STATUS)):
        cell = row.locator(f"td.by-c-{name}")
        assert cell.inner_text().strip() == text  # the whole text is there, cut by CSS only …
        assert text in (cell.get_attribute("title") or cell.locator("[title]").first.get_attribute("title"))
    assert row.locator("td.by-c-labels .by-label", has_text=LONG_LABEL).get_attribute("title") == LONG_LABEL
    assert row.locator("td.by-c-tasks .by-task").count() == 3


def count_is(page: Any, n: int) -> None:
    page.wait_for_function(f"document.getElementById('selection-count').dataset.count === '{n}'")


def test_function_keys_f1_to_f4(page, live_server, tenant, operator):
    """F2 selects every order of the list, F3 clears the selection, F4 opens the bulk menu with the cursor in
    it, F1 opens the CSV import with the auction shop chosen; each key is shown on its button."""
    auction = ShopFactory(tenant=tenant, name="ヤフオク!ストア", mall=MallKind.AUCTION, position=5)
    for i in range(3):
        make_order(tenant, external_id=f"FK-{i}")
    login(page, live_server, operator.username, PASSWORD)
    page.wait_for_selector("#order-table tbody tr[data-id]")
    assert page.inner_text("#csv-import kbd") == "F1"
    assert page.inner_text("[data-select=all] kbd") == "F2"
    assert page.inner_text("[data-select=none] kbd") == "F3"
    assert page.inner_text("#bulk-panel summary kbd") == "F4"
    shot(page, "order-list-function-keys")

    page.keyboard.press("F2")
    count_is(page, 3)
    assert page.locator(".by-row-check:checked").count() == 3
    page.keyboard.press("F3")
    count_is(page, 0)
    assert page.locator(".by-row-check:checked").count() == 0

    page.locator(".by-row-check").first.check()
    count_is(page, 1)
    page.keyboard.press("F4")
    page.wait_for_selector("#bulk-form")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'bulk-status'")
    assert page.evaluate("document.getElementById('bulk-panel').open")
    shot(page, "order-list-f4-bulk-menu")

    page.keyboard.press("F1")
    page.wait_for_url(f"**/shops/csv/?shop={auction.pk}")
    assert page.locator("select[name=shop]").input_value() == str(auction.pk)


def test_a_selection_never_acts_unseen(page, live_server, tenant, operator):
    """The issue's walk: three orders ticked on 入金待ち stay selected while the operator ticks one on 新規;
    cancelling asks about the three unseen ones first; after the action nothing stays selected."""
    new, waiting = status_of(tenant, Stage.NEW), status_of(tenant, Stage.AWAITING_PAYMENT)
    elsewhere = [
        make_order(tenant, external_id=f"WAIT-{i}", status=waiting, payment_method=bank(tenant)) for i in range(3)
    ]
    here = [make_order(tenant, external_id=f"NEW-{i}", payment_method=bank(tenant)) for i in range(2)]
    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/?status={waiting.pk}")
    page.keyboard.press("F2")
    count_is(page, 3)

    with page.expect_navigation():
        page.click(f'#status-tree a[data-status-id="{new.pk}"]')
    page.locator("#order-table tr[data-id]", has_text="NEW-0").locator(".by-row-check").check()
    count_is(page, 4)
    page.keyboard.press("F4")
    page.wait_for_selector("#bulk-cancel-form")
    page.fill("#bulk-cancel-form [name=reason]", "重複注文")
    with page.expect_navigation():
        page.click("#bulk-cancel-form button[type=submit]")

    assert page.inner_text("#bulk-scope-question") == "選択中の 4 件のうち 3 件はこの一覧に表示されていません。"
    assert "選択中の 4 件すべてに実行" in page.inner_text("#bulk-scope-all")
    assert "この一覧の 1 件だけに実行" in page.inner_text("#bulk-scope-shown")
    shot(page, "bulk-scope-question")
    assert stages([*here, *elsewhere]) == [Stage.NEW] * 2 + [Stage.AWAITING_PAYMENT] * 3  # nothing ran yet

    with page.expect_navigation():
        page.click("#bulk-scope-shown")
    assert page.url.endswith(f"/orders/?status={new.pk}")
    assert stages([*here, *elsewhere]) == [Stage.CANCELLED, Stage.NEW] + [Stage.AWAITING_PAYMENT] * 3
    count_is(page, 0)
    assert page.inner_text("#selection-cleared") == "直前の一括処理の後、選択を解除しました。"
    assert page.locator(".by-row-check:checked").count() == 0
    shot(page, "order-list-after-bulk-cleared")

    page.goto(f"{live_server.url}/orders/?status={waiting.pk}")  # the unseen three are not selected any more
    assert page.locator(".by-row-check:checked").count() == 0
    page.locator(".by-row-check").first.check()
    count_is(page, 1)


def stages(orders: list[Order]) -> list[str]:
    return [Order.objects.get(pk=o.pk).stage for o in orders]
