"""The operator exports the selected orders to B2 Cloud in Chromium, reads the preview (a refused order, a
replaced character), downloads the file, uploads the issued data made from it, and sees the orders shipped
with their tracking numbers."""

from __future__ import annotations

import csv
import io

import pytest

from orders.constants import Stage
from orders.models import Order, Status
from shipping.formats import b2cloud
from shipping.models import Shipment, ShippingSettings
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD
from tests.shipping.waybill_helpers import order, read_cp932

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_export_then_issued_data_then_shipped(page, live_server, tenant, operator, tmp_path):
    shipped = Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).first()
    ready = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    ShippingSettings.objects.create(tenant=tenant, status_after_export=ready, status_after_tracking=shipped)
    good = [order(tenant, external_id="WB-1", dest_name="𠮷田 花子"), order(tenant, external_id="WB-2")]
    bad = order(tenant, external_id="WB-3", dest_phone="")
    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/?q=WB-")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr[data-id]').length === 3")
    for one in [*good, bad]:
        page.check(f'#order-table tr[data-id="{one.pk}"] .by-row-check')
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")

    with page.expect_navigation():
        page.click("#waybill-export")
    page.wait_for_selector("#waybill-refused")
    assert "WB-3" in page.inner_text("#waybill-refused")
    assert "𠮷" in page.inner_text("#waybill-replacements")
    shot(page, "waybill-preview")
    with page.expect_download() as download_info:
        page.click("#waybill-download")
    rows = read_cp932(download_info.value.path().read_bytes())
    assert rows[0] == list(b2cloud.HEADER)
    assert [r[15] for r in rows[1:]] == ["吉田 花子", "山田 太郎"]

    buffer = io.StringIO()  # what B2 Cloud gives back after printing: the same rows with 伝票番号 filled
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, row in enumerate(rows[1:], start=1):
        writer.writerow([*row[:3], f"4000-0000-000{n}", *row[4:]])
    issued = tmp_path / "issued.csv"
    issued.write_bytes(buffer.getvalue().encode("cp932"))

    page.goto(f"{live_server.url}/shipping/tracking/upload/")
    page.select_option("#id_format", "b2cloud")
    page.set_input_files("#id_file", str(issued))
    with page.expect_navigation():
        page.click("#tracking-upload-submit")
    page.wait_for_selector("#tracking-new")
    shot(page, "tracking-preview")
    with page.expect_navigation():
        page.click("#tracking-apply")
    page.wait_for_selector("#tracking-result")
    shot(page, "tracking-result")

    assert sorted(Shipment.objects.for_tenant(tenant).values_list("tracking_number", flat=True)) == [
        "400000000001",
        "400000000002",
    ]
    assert set(Order.objects.filter(pk__in=[o.pk for o in good]).values_list("status", flat=True)) == {shipped.pk}
    page.goto(f"{live_server.url}/orders/{good[0].pk}/")
    page.wait_for_selector("#order-shipments li[data-number='400000000001']")
    shot(page, "order-tracking-panel")
