"""The operator exports the current search from the order list in Chromium: the options form, the Shift_JIS
check, the download."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order
from tests.orders.test_export import rows_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_operator_exports_the_current_search_from_the_list(page, live_server, tenant, operator):
    make_order(tenant, external_id="EXP-1", orderer_name="𠮷田 花子")
    make_order(tenant, external_id="EXP-2", orderer_name="佐藤 二郎")
    make_order(tenant, external_id="OTHER-3", orderer_name="鈴木 三郎")
    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/?q=EXP")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 2")
    page.fill("#search-q", "EXP-1")  # searched again in place (htmx): the page's CSV link is now stale
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 1")

    page.click("#export-link")
    page.wait_for_selector("#export-form input[name=q]", state="attached")
    assert page.get_attribute("#export-form input[name=q]", "value") == "EXP-1"  # the search as it is now
    page.check("#export-cp932")
    page.wait_for_selector("#export-unmappable")
    assert "U+20BB7" in page.inner_text("#export-check")
    shot(page, "order-export-options")
    with page.expect_download() as download_info:
        page.click("#export-download")
    body = download_info.value.path().read_bytes()

    rows = rows_of(body, "cp932")
    assert [(r[0], r[4]) for r in rows[1:]] == [("EXP-1", "?田 花子")]
    assert download_info.value.suggested_filename.endswith(".csv")
    page.wait_for_selector("#export-modal", state="hidden")
