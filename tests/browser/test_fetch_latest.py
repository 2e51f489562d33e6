"""F6 (fetch latest, T8) in Chromium: the operator presses F6 on the order list, the shops are polled through
Celery (run in-process here: the real worker is tested in tests/shops/test_polling.py), the status shows the
counts, and the status tree and the table follow without a reload."""

from __future__ import annotations

import pytest

from automation.models import RuleGroup
from orders.models import Order
from shops.models import ImportRun
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_member
from tests.shops.fakeconnector import FakeMall
from tests.shops.test_fetch_latest import eager_worker  # noqa: F401  (the fixture)
from tests.shops.test_polling import fake_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_f6_on_the_order_list_fetches_and_the_counts_change(page, live_server, tenant, eager_worker):  # noqa: F811
    mall = FakeMall().start()
    try:
        user = make_member(tenant, username="f6operator")
        shop = fake_shop(tenant, mall, name="デモモール")
        RuleGroup.objects.for_tenant(tenant).update(enabled=False)  # the new orders stay in "new", where we look
        mall.add_orders(3)
        login(page, live_server, user.username, PASSWORD)
        assert page.locator("#status-tree a.active [data-count]").inner_text() == "0"

        page.locator("body").click(position={"x": 5, "y": 300})
        page.keyboard.press("F6")

        page.wait_for_selector("#fetch-totals")
        assert page.locator("#fetch-totals").get_attribute("data-new") == "3"
        page.wait_for_function("document.querySelector('#status-tree a.active [data-count]').innerText === '3'")
        page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
        shot(page, "order-list-fetched")
        assert Order.objects.filter(shop=shop).count() == 3
        assert ImportRun.objects.filter(tenant=tenant).count() == 1  # the phone/FAX shop has nothing to fetch
    finally:
        mall.stop()
