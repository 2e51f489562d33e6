"""The order page's "how the shipping fee is computed" panel in Chromium (issue 16, item 1): loaded by htmx from
the order page, it names the zone, the size class, the island surcharge and the COD band. Screenshot in
test-artifacts (order-fee-panel.png)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import PaymentMethod
from shipping.models import FeeTable, IslandPolicy
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order
from tests.shipping.fee_helpers import line, method, product, size_table

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_order_page_shows_how_the_fee_was_computed(page, live_server, tenant, operator):
    product(tenant, "B80", "80")
    via = method(tenant, "宅急便", size_table(tenant))
    FeeTable.objects.filter(pk=via.fee_table_id).update(island_policy=IslandPolicy.SURCHARGE, island_surcharge=1100)
    order = make_order(
        tenant,
        delivery_method=via,
        dest_prefecture="新潟県",
        dest_postal_code="952-0011",
        dest_city="佐渡市",
        payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="cod"),
        lines=[line("B80", price=12_800)],
    )
    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}{reverse('order_detail', args=[order.pk])}")
    panel = page.locator("#order-fee .card-body")
    panel.wait_for()
    text = panel.inner_text()
    assert "離島県" in text  # the zone
    assert "80サイズ" in text
    assert "1,100円" in text  # the island surcharge
    assert "440円" in text  # 12,800 + 2,500 to collect: the 10,001〜30,000 band
    page.locator("#order-fee").scroll_into_view_if_needed()
    shot(page, "order-fee-panel")
