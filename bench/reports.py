"""Shipment data to the malls (issue 16 item 4, B12): "push 1,000 tracking numbers to a fake mall in under 30 s
through a real worker".

A small tenant of its own (bench-push, 1,000 orders made by the generator, so the big bench tenant is not
touched) sells on a Shopify shop whose API is a fake Shopify store served from this process. Each run gives the
1,000 orders fresh orders at the fake store, records one tracking number each through shipping's own path
(tracking_apply, as an issued-data file does: the hook makes the reports and sends 1,000 tasks after the
commit) and waits until every report is told. A real `celery worker` (threads pool) carries the tasks; each is
three HTTP calls to the store (the order by name, its fulfillment orders, the fulfillment). Timed from the
recording until the last report is told; the store's own count of fulfillments is checked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .documents import OnceMeasured, stop_worker
from .scenarios import Context

N = 1_000
TENANT = "bench-push"
THREADS = 16
_STATE: dict[str, Any] = {}
NOTES: list[str] = []


def _push(ctx: Context) -> Callable[[], Any]:
    from django.conf import settings
    from django.db import transaction
    from django.db.models import Count
    from django.utils import timezone

    from devtools.fakemalls.shopify import FakeShopify
    from orders.events import Actor
    from orders.models import Order
    from shipping.models import Shipment, WaybillFormat, WaybillMark, management_number_for
    from shipping.services.tracking import IssuedRow, tracking_apply
    from shops.constants import MallKind
    from shops.crypto import encrypt_credentials
    from shops.models import ReportState, ShipmentReport, Shop
    from shops.services import shop_create

    from . import generate
    from .mail import ROOT, _database_url

    tenant = generate.ensure_tenant(TENANT, "モール通知ベンチ")
    have = Order.objects.for_tenant(tenant).count()
    if have < N:
        generate.generate(tenant, N - have, log=lambda _text: None)
    ids = list(Order.objects.for_tenant(tenant).order_by("pk").values_list("pk", flat=True)[:N])
    logging.getLogger("devtools.fakemalls.shopify").setLevel(logging.WARNING)  # not a line per fulfillment
    fake = FakeShopify(seed=16).start()
    _STATE["fake"] = fake
    shop = Shop.objects.for_tenant(tenant).filter(code="bench-push-shopify").first()
    if shop is None:
        shop = shop_create(
            tenant=tenant, name="通知ベンチ Shopify", mall=MallKind.SHOPIFY, code="bench-push-shopify",
            credentials=fake.credentials, base_url=fake.url,
        )  # fmt: skip
    else:  # the fake store of this run listens on another port
        Shop.objects.filter(pk=shop.pk).update(base_url=fake.url, credentials=encrypt_credentials(fake.credentials))
    now = timezone.now()
    WaybillMark.objects.bulk_create(
        [WaybillMark(tenant=tenant, order_id=pk, management_number=management_number_for(pk), exported_at=now)
         for pk in ids],
        ignore_conflicts=True,
    )  # fmt: skip
    marks = dict(
        WaybillMark.objects.for_tenant(tenant).filter(order_id__in=ids).values_list("order_id", "management_number")
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    log = open(ROOT / "var" / "bench-push-worker.log", "wb")  # noqa: SIM115 - closed in teardown
    worker = subprocess.Popen(  # noqa: S603 - our own worker
        [sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "WARNING", "--concurrency",
         str(THREADS), "--pool", "threads", "--hostname", "bench-push@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    _STATE.update(worker=worker, log=log)
    time.sleep(5)  # the worker's start
    runs = [0]

    def run() -> float:
        runs[0] += 1
        # Fresh orders at the store for our 1,000 (each run tells new ones), no parcels or reports yet.
        ShipmentReport.objects.for_tenant(tenant).delete()
        Shipment.objects.for_tenant(tenant).delete()
        names = [fake.order(i)["name"] for i in fake.add_orders(N)]
        Order.objects.for_tenant(tenant).filter(pk__in=ids).update(shop=shop)
        orders = list(Order.objects.for_tenant(tenant).filter(pk__in=ids).order_by("pk"))
        for order, name in zip(orders, names, strict=True):
            order.external_id = name
        Order.objects.bulk_update(orders, ["external_id"], batch_size=1000)
        told_before = len(fake.fulfillments)
        day = timezone.localdate().isoformat()
        rows = [IssuedRow(n + 1, marks[pk], f"{runs[0]}{n:011d}"[-12:], day) for n, pk in enumerate(ids)]
        started = time.perf_counter()
        with transaction.atomic():
            tracking_apply(tenant=tenant, fmt=WaybillFormat.B2CLOUD, rows=rows, actor=Actor.system("bench"))
        deadline = time.monotonic() + 300
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            states = dict(
                ShipmentReport.objects.for_tenant(tenant).values_list("state").annotate(n=Count("pk")).order_by()
            )
            if states.get(ReportState.TOLD, 0) >= N or not (
                states.get(ReportState.PENDING, 0) + states.get(ReportState.SENDING, 0)
            ):
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        NOTES[:] = [
            f"{states.get(ReportState.TOLD, 0):,} reports told, {len(fake.fulfillments) - told_before:,} "
            f"fulfillments at the fake store; states {states}; {THREADS} worker threads"
        ]
        return elapsed * 1000

    return run


def _stop(ctx: Context) -> None:
    stop_worker(_STATE)
    if "fake" in _STATE:
        _STATE.pop("fake").stop()


REPORTS = [
    OnceMeasured(
        name="mall push: 1,000 tracking numbers to a fake Shopify through a real worker",
        body=_push,
        target_ms=30_000,
        notes=NOTES,
        teardown=_stop,
    )
]
