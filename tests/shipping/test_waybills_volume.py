"""10,000 orders: the B2 Cloud export and the issued-data import take a fixed number of queries (per chunk),
whatever the count; timings are printed (bench/shipping.py holds the budgets: 3 s and 5 s). PostgreSQL only:
SQLite splits every bulk statement at 999 parameters, so its counts say nothing about the chunking."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backyard.csvtext import decode
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, OrderLine, PaymentMethod, Status
from shipping.formats import b2cloud
from shipping.models import Shipment, ShippingSettings, WaybillFormat, management_number_for
from shipping.services.tracking import Mapping, issued_rows, tracking_apply
from shipping.services.waybills import waybill_export, waybill_stream
from shops.models import Shop
from tests.shipping.waybill_helpers import method, sender_for

ACTOR = Actor.system("volume")
N = 10_000


def many(tenant, n: int) -> list[int]:
    shop = Shop.objects.for_tenant(tenant).first()
    status = Status.objects.for_tenant(tenant).order_by("group__position", "position").first()
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    delivery = method(tenant)
    orders = Order.objects.bulk_create(
        [
            Order(tenant=tenant, shop=shop, status=status, stage=status.group.stage, external_id=f"V-{i:06d}",
                  ordered_at=timezone.now(), dest_name="山田 太郎", dest_kana="ヤマダ タロウ",
                  dest_phone="03-1234-5678",
                  dest_postal_code="100-0005", dest_prefecture="東京都", dest_city="千代田区",
                  dest_address1="丸の内1-1-1",
                  payment_method=card, delivery_method=delivery, total=2760, tax=250)
            for i in range(n)
        ],
        batch_size=1000,
    )  # fmt: skip
    OrderLine.objects.bulk_create(
        [OrderLine(tenant=tenant, order=o, name="煎茶 100g", unit_price=1200, quantity=2) for o in orders],
        batch_size=1000,
    )
    sender_for(tenant)
    return [o.pk for o in orders]


@pytest.mark.django_db
def test_ten_thousand_orders_out_and_their_numbers_back(tenant, require_postgres):
    ids = many(tenant, N)
    ready = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    shipped = Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).first()
    ShippingSettings.objects.create(tenant=tenant, status_after_export=ready, status_after_tracking=shipped)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as out:
        _export, built = waybill_export(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=ids, actor=ACTOR)
        data = b"".join(waybill_stream(WaybillFormat.B2CLOUD, built))
    exported = time.perf_counter() - started
    assert built.count == N
    assert len(data.decode("cp932").splitlines()) == N + 1

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, order_id in enumerate(ids):
        row = [""] * 95
        row[0], row[3], row[4] = management_number_for(order_id), f"5{n:011d}", "2026/12/05"
        writer.writerow(row)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as back:
        rows = issued_rows(
            decode(buffer.getvalue().encode("cp932")), WaybillFormat.B2CLOUD, Mapping("お客様管理番号", "伝票番号")
        )
        plan = tracking_apply(tenant=tenant, fmt=WaybillFormat.B2CLOUD, rows=rows, actor=ACTOR)
    imported = time.perf_counter() - started
    assert len(plan.new) == N
    assert Shipment.objects.for_tenant(tenant).count() == N
    assert Order.objects.for_tenant(tenant).filter(status=shipped).count() == N
    timing = f"export {N}: {exported:.2f} s, {len(out)} queries; import: {imported:.2f} s, {len(back)} queries"
    print(timing)  # noqa: T201 - the volume's timings, for the record (pytest -s)
    assert len(out) < 120
    assert len(back) < 200
    assert len(b2cloud.HEADER) == 95
