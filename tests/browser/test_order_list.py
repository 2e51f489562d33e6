"""An operator works the order list with the keyboard in Chromium."""

from __future__ import annotations

import pytest

from orders.constants import Stage
from orders.models import Label, Order, Status
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_by_kana_and_select_with_the_keyboard(page, live_server, tenant, operator):
    for i in range(3):
        make_order(
            tenant,
            external_id=f"YAMADA-{i}",
            orderer_name=f"山田 {i}郎",
            orderer_kana=f"ヤマダ {i}ロウ",
            dest_name="山田",
            dest_kana="ヤマダ",
        )
    make_order(
        tenant, external_id="SATO-1", orderer_name="佐藤", orderer_kana="サトウ", dest_name="佐藤", dest_kana="サトウ"
    )
    login(page, live_server, operator.username, PASSWORD)
    new = (
        Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("group__position", "position").first()
    )
    assert page.url.endswith(f"/orders/?status={new.pk}")
    assert page.locator(f'#status-tree a[data-status-id="{new.pk}"] [data-count]').inner_text() == "4"

    page.keyboard.press("F5")  # the search box, not a reload
    assert page.evaluate("document.activeElement.id") == "search-q"
    page.keyboard.type("やまだ")
    page.keyboard.press("Enter")
    page.wait_for_selector("#order-table tbody tr[data-id]")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
    assert "SATO-1" not in page.inner_text("#order-table")

    page.locator("body").click(position={"x": 5, "y": 300})  # leave the search box
    for _ in range(3):
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")
    assert page.locator(".by-row-check:checked").count() == 3
    shot(page, "order-list-selected")

    page.keyboard.press("F12")
    page.wait_for_url("**/orders/*/?back=*")
    assert "YAMADA-" in page.inner_text("h1")


def test_an_operator_works_an_order_from_search_to_detail(page, live_server, tenant, operator):
    """The issue's walk: search by kana, select three, move them with a memo and a label in one step, see
    the counts change, open one with F12, change a quantity, and see the total and the history follow."""
    for i in range(3):
        make_order(
            tenant,
            external_id=f"YAMADA-{i}",
            orderer_name=f"山田 {i}郎",
            orderer_kana=f"ヤマダ {i}ロウ",
            dest_name="山田",
            dest_kana="ヤマダ",
        )
    make_order(
        tenant, external_id="SATO-1", orderer_name="佐藤", orderer_kana="サトウ", dest_name="佐藤", dest_kana="サトウ"
    )
    urgent = Label.objects.get_or_create(tenant=tenant, name="至急", defaults={"colour": "#dc3545"})[0]
    statuses = Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "position")
    new = next(s for s in statuses if s.group.stage == Stage.NEW)
    checked = next(s for s in statuses if s.group.stage == Stage.STOCK_CHECKED)
    paid = next(s for s in statuses if s.group.stage == Stage.PAID)
    count = page.locator

    login(page, live_server, operator.username, PASSWORD)
    assert count(f'#status-tree a[data-status-id="{new.pk}"] [data-count]').inner_text() == "4"
    page.keyboard.press("F5")
    page.keyboard.type("やまだ")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
    page.click("[data-select=page]")
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")

    page.click("#bulk-panel summary")
    page.wait_for_selector("#bulk-form")
    page.select_option("#bulk-status", str(checked.pk))
    page.fill("#bulk-memo", "電話で在庫を確認")
    page.locator("#bulk-add-labels label", has_text="至急").click()
    shot(page, "order-list-bulk-panel")
    with page.expect_navigation():
        page.click("#bulk-apply")
    # credit card needs no payment confirmation: stock checked sends them straight on to paid (T14)
    assert "3" in page.inner_text(".alert")
    # The search is still on: the tree counts its hits per status (SATO-1 stays in 新規受付, no hit).
    assert count(f'#status-tree a[data-status-id="{new.pk}"] [data-hits]').inner_text() == "0"
    assert count(f'#status-tree a[data-status-id="{paid.pk}"] [data-hits]').inner_text() == "3"
    moved = list(Order.objects.for_tenant(tenant).filter(external_id__startswith="YAMADA").order_by("pk"))
    assert {o.status_id for o in moved} == {paid.pk}
    assert all("電話で在庫を確認" in o.work_memo for o in moved)
    assert all(o.labels.filter(pk=urgent.pk).exists() for o in moved)

    page.click(f'#status-tree a[data-status-id="{paid.pk}"]')
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
    assert page.locator("#order-table .by-label", has_text="至急").count() == 3
    shot(page, "order-list")
    page.locator("body").press("ArrowDown")
    page.keyboard.press("F12")
    page.wait_for_url("**/orders/*/?back=*")
    order = Order.objects.get(pk=int(page.url.split("/orders/")[1].split("/")[0]))
    line = order.lines.get()
    assert page.inner_text("#order-total") == f"¥{order.total:,}"
    events_before = int(page.locator("#order-history .badge").inner_text())

    expected_total = order.total + (5 - line.quantity) * line.unit_price
    page.fill(f"#line-form-{line.pk}-quantity", "5")
    page.click(f"#line-{line.pk} button[type=submit]")
    page.wait_for_function(f"document.getElementById('order-total').innerText === '¥{expected_total:,}'")
    order.refresh_from_db()
    assert order.lines.get().quantity == 5
    assert order.total == expected_total
    assert int(page.locator("#order-history .badge").inner_text()) == events_before + 1
    assert "2 → 5" in page.locator("#order-history-list li").last.inner_text()
    shot(page, "order-detail")
    page.click("text=一覧へ戻る")
    page.wait_for_url(f"**/orders/?*status={paid.pk}*")  # the search and the status it was narrowed to
