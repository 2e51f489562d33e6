"""Shipping's targets (issue 16): 10,000 orders to a B2 Cloud file in under 3 s, streamed (marks, events and the
file); an issued-data file of 10,000 rows back in under 5 s (match, shipments, status move, events).

Both run on the bench tenant's first 10,000 open orders (new … ready to ship), inside a transaction rolled back
after each run, with a Yamato 宅急便 method that carries COD, a sender for every shop (documents' settings) and
the tenant's shipping settings moving exported orders to 送り状発行済 and tracked ones to 出荷済: the work an
operator's export and upload do, without the HTTP request around them. The import's file is written from the
management numbers the export gave, untimed; the figure is the read, the plan and the apply."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backyard.csvtext import decode
from documents.models import DocumentSettings
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, Status
from shipping.models import Carrier, DeliveryMethod, ShippingSettings, WaybillFormat, management_number_for
from shipping.services.tracking import Mapping, issued_rows, tracking_apply
from shipping.services.waybills import waybill_export, waybill_stream
from shops.models import Shop

from .inventory import Measured
from .scenarios import Context

N = 10_000
ACTOR = Actor.system("bench: shipping")
EXPORT_NOTES: list[str] = []
IMPORT_NOTES: list[str] = []
OPEN = (Stage.NEW, Stage.STOCK_CHECKED, Stage.AWAITING_PAYMENT, Stage.PAID, Stage.READY_TO_SHIP)


def _ready(ctx: Context, *, move: bool = True) -> list[int]:
    """Inside the caller's transaction: the method, senders and settings (with `move`, exported orders go to
    送り状発行済), and the 10,000 orders using them."""
    tenant = ctx.tenant
    method = DeliveryMethod.objects.update_or_create(
        tenant=tenant,
        name="bench 宅急便",
        defaults={"carrier": Carrier.YAMATO, "service": "takkyubin", "cod_allowed": True},
    )[0]
    for shop in Shop.objects.for_tenant(tenant):
        DocumentSettings.objects.update_or_create(
            tenant=tenant,
            shop=shop,
            defaults={"issuer_name": "ベンチ商店", "issuer_postal_code": "100-0005", "issuer_phone": "03-0000-0000",
                      "issuer_address": "東京都千代田区丸の内1-1-1"},
        )  # fmt: skip
    statuses = {s.name: s for s in Status.objects.for_tenant(tenant)}
    ShippingSettings.objects.update_or_create(
        tenant=tenant,
        defaults={
            "status_after_export": statuses.get("送り状発行済") if move else None,
            "status_after_tracking": statuses.get("出荷済"),
        },
    )
    ids = list(Order.objects.for_tenant(tenant).filter(stage__in=OPEN).order_by("pk").values_list("pk", flat=True)[:N])
    Order.objects.filter(pk__in=ids).update(delivery_method=method, delivery_slot="")
    return ids


def _export(ctx: Context, *, move: bool = True) -> Callable[[], Any]:
    def run() -> float:
        with transaction.atomic():
            ids = _ready(ctx, move=move)
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                _record, built = waybill_export(
                    tenant=ctx.tenant, fmt=WaybillFormat.B2CLOUD, order_ids=ids, actor=ACTOR
                )
                size = sum(len(chunk) for chunk in waybill_stream(WaybillFormat.B2CLOUD, built))
                elapsed = (time.perf_counter() - started) * 1000
            EXPORT_NOTES[:] = [
                f"{built.count:,} orders in the file ({size / 2**20:.1f} MB), {len(built.refused)} refused, "
                f"marks, events{' and the move to 送り状発行済' if move else ''} in "
                f"{len(queries.captured_queries)} queries"
            ]
            transaction.set_rollback(True)
        return elapsed

    return run


def _import(ctx: Context) -> Callable[[], Any]:
    def run() -> float:
        with transaction.atomic():
            ids = _ready(ctx, move=False)
            waybill_export(tenant=ctx.tenant, fmt=WaybillFormat.B2CLOUD, order_ids=ids, actor=ACTOR)  # untimed
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
            for n, order_id in enumerate(ids):
                row = [""] * 95
                row[0], row[3], row[4] = management_number_for(order_id), f"4{n:011d}", "2026/12/05"
                writer.writerow(row)
            data = buffer.getvalue().encode("cp932")
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                rows = issued_rows(decode(data), WaybillFormat.B2CLOUD, Mapping("お客様管理番号", "伝票番号"))
                plan = tracking_apply(tenant=ctx.tenant, fmt=WaybillFormat.B2CLOUD, rows=rows, actor=ACTOR)
                elapsed = (time.perf_counter() - started) * 1000
            IMPORT_NOTES[:] = [
                f"{len(plan.new):,} tracking numbers recorded and their orders moved to 出荷済 (with the shipped "
                f"mail queued) in {len(queries.captured_queries)} queries"
            ]
            transaction.set_rollback(True)
        return elapsed

    return run


SHIPPING = [
    Measured(name="shipping: B2 Cloud file of 10,000 orders", body=_export, target_ms=3_000, notes=EXPORT_NOTES),
    Measured(
        name="shipping: B2 Cloud file of 10,000 orders, no status move",
        body=lambda ctx: _export(ctx, move=False),
        target_ms=3_000,
        notes=EXPORT_NOTES,
    ),
    Measured(name="shipping: issued data of 10,000 rows back", body=_import, target_ms=5_000, notes=IMPORT_NOTES),
]
