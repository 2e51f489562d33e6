"""The operator requests shipment of the selected orders from an outside warehouse in Chromium: the list's
出荷依頼, the confirmation naming the order that cannot go, the result; once the warehouse (the fake, over real
HTTP) has answered, the order page's panel shows the request shipped with its tracking number."""

from __future__ import annotations

import pytest

from devtools.fakewarehouse import FakeWarehouse
from orders.constants import Stage
from shipping.models import WarehouseBatch, WarehouseRequest
from shipping.services.warehouse import batch_send, store_poll
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD
from tests.shipping.warehouse_helpers import TOKEN, api_store, shipped_after_tracking, status_of, store_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_list_then_request_shipment_then_the_order_shows_its_state(page, live_server, tenant, operator, settings):
    settings.WAREHOUSE_ALLOW_PRIVATE_URLS = True  # the fake listens on 127.0.0.1
    shipped_after_tracking(tenant)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    with FakeWarehouse(token=TOKEN, delay=0) as fake:
        store = api_store(tenant, fake.url)
        good = [store_order(tenant, store, external_id=f"WH-{n}", status=ready) for n in (1, 2)]
        bad = store_order(tenant, store, external_id="WH-3", status=ready, dest_phone="")
        login(page, live_server, operator.username, PASSWORD)
        page.goto(f"{live_server.url}/orders/?q=WH-")
        page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
        for one in [*good, bad]:
            page.check(f'#order-table tr[data-id="{one.pk}"] .by-row-check')
        page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")

        with page.expect_navigation():
            page.click("#warehouse-request")
        page.wait_for_selector("#warehouse-refused")
        assert "WH-3" in page.inner_text("#warehouse-refused")
        assert "お届け先電話番号がありません" in page.inner_text("#warehouse-refused")
        shot(page, "warehouse-confirm")
        with page.expect_navigation():
            page.click("#warehouse-send")
        page.wait_for_selector("#warehouse-result[data-requested='2']")
        shot(page, "warehouse-result")

        # What the worker does after the commit and on the beat's minute: send, then read the answers.
        batch = WarehouseBatch.objects.for_tenant(tenant).get()
        assert batch_send(tenant=tenant, batch_id=batch.pk)
        assert store_poll(tenant=tenant, store_id=store.pk).shipped == 2
    request = WarehouseRequest.objects.get(order=good[0])
    page.goto(f"{live_server.url}/orders/{good[0].pk}/")
    page.wait_for_selector("#order-warehouse-requests li[data-state='shipped']")
    assert request.numbers[0] in page.inner_text("#order-warehouse")
    page.locator("#order-warehouse").scroll_into_view_if_needed()
    shot(page, "order-warehouse-panel")
