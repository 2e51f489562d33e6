"""The search on the order list in Chromium: the filter panel, and a search that covers every status
(issue 10, items 1 and 2)."""

from __future__ import annotations

import pytest

from orders.constants import Stage
from orders.models import PaymentMethod, Status
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _status(tenant, stage, position=1):
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .order_by("group__position", "position")[position - 1]
    )


def test_more_filters_opens_with_every_filter_and_two_of_them_narrow_the_list(page, live_server, tenant, operator):
    bank = PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")
    make_order(tenant, external_id="HIT", payment_method=bank, remarks="のし希望")
    make_order(tenant, external_id="NO-REMARKS", payment_method=bank)
    make_order(tenant, external_id="CARD", remarks="のし希望")
    login(page, live_server, operator.username, PASSWORD)
    list_url = page.url

    page.click("#more-filters-toggle")
    page.wait_for_selector("#more-filters-body select[name=payment]")
    page.wait_for_selector("#more-filters.show:not(.collapsing)")
    # every filter is there, and the address bar still shows the list
    for name in (
        "shop",
        "ordered_from",
        "ordered_to",
        "ship_from",
        "ship_to",
        "payment",
        "delivery",
        "label",
        "task",
        "total_min",
        "total_max",
        "pref",
        "has_remarks",
        "has_order_comment",
        "has_post_order_comment",
        "mail_inquiry",
        "has_requested_date",
    ):
        assert page.locator(f"#more-filters-body [name={name}]").count() == 1, name
    assert page.url == list_url
    shot(page, "order-list-more-filters")

    page.select_option("#more-filters-body select[name=payment]", str(bank.pk))
    page.check("#more-filters-body input[name=has_remarks]")
    page.click("#more-filters-body button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 1")
    assert "HIT" in page.inner_text("#order-table")
    assert f"payment={bank.pk}" in page.url
    assert "has_remarks=on" in page.url

    page.reload()  # the address is the list's, with the panel open and the filters kept
    page.wait_for_selector("#more-filters.show select[name=payment]")
    assert page.locator("#order-table tbody tr[data-id]").count() == 1


def test_a_name_finds_an_order_in_any_status_and_the_tree_narrows_it(page, live_server, tenant, operator):
    closed = _status(tenant, Stage.COMPLETED, position=2)
    new = _status(tenant, Stage.NEW)
    make_order(tenant, external_id="CLOSED-1", orderer_name="佐藤 花子", orderer_kana="サトウ ハナコ", status=closed)
    make_order(tenant, external_id="NEW-1", orderer_name="佐藤 次郎", orderer_kana="サトウ ジロウ")
    make_order(tenant, external_id="NEW-2")
    login(page, live_server, operator.username, PASSWORD)
    assert page.url.endswith(f"?status={new.pk}")

    page.keyboard.press("F5")
    page.keyboard.type("さとう")
    page.keyboard.press("Enter")
    page.wait_for_url("**/orders/?q=*")
    page.wait_for_function("document.getElementById('order-table').innerText.includes('CLOSED-1')")
    assert "NEW-2" not in page.inner_text("#order-table")  # from 新規受付, an order in 締め済 is found
    tree = page.locator("#status-tree")
    page.wait_for_function(
        f"document.querySelector('#status-tree a[data-status-id=\"{closed.pk}\"] [data-hits]')?.innerText === '1'"
    )
    assert tree.locator(f'a[data-status-id="{new.pk}"] [data-hits]').inner_text() == "1"
    assert tree.locator("#search-every-status [data-hits]").inner_text() == "2"
    shot(page, "order-list-search-every-status")

    page.click(f'#status-tree a[data-status-id="{new.pk}"]')  # one click narrows to the status
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 1")
    assert "NEW-1" in page.inner_text("#order-table")
    assert page.is_checked("#search-in-status")
    assert page.locator("#search-q").input_value() == "さとう"

    page.uncheck("#search-in-status")  # and one untick widens it again
    page.click("#search-form button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 2")


def test_choosing_rows_per_page_is_remembered_by_a_post(page, live_server, tenant, operator):
    """Issue 12: the page size was written by a GET (?per_page=…); now the select posts it, then reloads."""
    from orders.models import ListPreference

    make_order(tenant)
    login(page, live_server, operator.username, PASSWORD)
    with page.expect_navigation():
        page.select_option("#per-page", "100")
    assert "per_page" not in page.url
    assert "page=1" in page.url
    assert page.locator("#per-page").input_value() == "100"
    assert ListPreference.objects.get(tenant=tenant, user=operator).page_size == 100
