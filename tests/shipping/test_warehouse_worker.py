"""The warehouse round trip through a real `celery worker` on Redis and PostgreSQL (issue 16, "Tests"): the
list's selection posted to 出荷依頼 and confirmed, the batch sent by the worker to the fake warehouse over real
HTTP after the commit, the beat's poll task run by the worker until the warehouse has accepted and shipped each
order; the orders then have their Shipment rows, their status after tracking and their events, and the order
page's panel shows them shipped with the number."""

from __future__ import annotations

import sys
import time

import pytest
from django.db import connection
from django.urls import reverse

from devtools.fakewarehouse import FakeWarehouse
from orders.constants import EventType, Stage
from orders.models import OrderEvent
from shipping.models import Shipment, ShipmentSource, WarehouseBatch, WarehouseRequest, WarehouseState
from shipping.tasks import poll_warehouses
from tests.shipping.warehouse_helpers import TOKEN, api_store, shipped_after_tracking, status_of, store_order
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

QUEUE = "celery"  # the default queue the tasks go to; this xdist worker's own Redis database
ORDERS = 12


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO", "--concurrency", "2",
        "--pool", "threads", "--hostname", "warehouse@%h", "--queues", QUEUE,
    ]  # fmt: skip


def wait_until(check, timeout: float, every: float = 0.5, between=None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        if between:
            between()
        time.sleep(every)
    pytest.fail(f"not done in {timeout}s")


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_the_warehouse_round_trip_through_a_real_worker(
    operator_client, tenant, settings, tmp_path, require_postgres, require_redis
):
    import redis

    settings.LANGUAGE_CODE = "ja"
    client = redis.Redis.from_url(settings.REDIS_URL)
    redis_forget(client, QUEUE)
    target = shipped_after_tracking(tenant)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    fake = FakeWarehouse(token=TOKEN, delay=2.0).start(0)
    store = api_store(tenant, fake.url)
    orders = [store_order(tenant, store, external_id=f"WK-{n:03d}", status=ready) for n in range(ORDERS)]
    refused = store_order(tenant, store, external_id="WK-PREF", status=ready, dest_prefecture="トウキョウ")
    operator_client.get(reverse("home"))
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in [*orders, refused]]})
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    settings.WAREHOUSE_ALLOW_PRIVATE_URLS = True  # the fake listens on 127.0.0.1
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url, WAREHOUSE_ALLOW_PRIVATE_URLS="1")
    try:
        with process(worker_argv(), env, tmp_path / "w.log") as worker:
            wait_for_log(tmp_path / "w.log", "ready.", worker, timeout=60)
            started = time.monotonic()
            confirm = operator_client.post(reverse("warehouse_request"), {"next": "/"})["Location"]
            operator_client.post(confirm)  # records the requests; the batch goes to the worker after the commit
            sent = wait_until(lambda: WarehouseBatch.objects.filter(sent_at__isnull=False).exists(), 60)
            # The beat's task, run by the worker, until every answer is in.
            wait_until(
                lambda: (
                    WarehouseRequest.objects.filter(state=WarehouseState.SHIPPED).count() == ORDERS
                    and WarehouseRequest.objects.filter(state=WarehouseState.REFUSED).count() == 1
                ),
                90,
                every=1.0,
                between=lambda: poll_warehouses.apply_async(queue=QUEUE),
            )
            seconds = time.monotonic() - started
    finally:
        fake.stop()
        redis_forget(client, QUEUE)
    log = (tmp_path / "w.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert [m for m, p, _b in fake.requests if p == "/v1/shipments"] == ["POST"]  # one batch, sent once
    for made in orders:
        made.refresh_from_db()
        request = WarehouseRequest.objects.get(order=made)
        shipment = Shipment.objects.get(order=made)
        assert (shipment.source, shipment.carrier) == (ShipmentSource.WAREHOUSE, "yamato")
        assert request.numbers == [shipment.tracking_number]
        assert made.status_id == target.pk
        states = [
            e.data["warehouse"]["state"]
            for e in OrderEvent.objects.filter(order=made, type__in=[EventType.WAREHOUSE_REQUESTED,
                                                                     EventType.WAREHOUSE_ANSWERED]).order_by("pk")
        ]  # fmt: skip
        assert states == ["requested", "accepted", "shipped"]
    request = WarehouseRequest.objects.get(order=refused)
    assert request.reason == "都道府県「トウキョウ」が不明です"
    panel = operator_client.get(reverse("shipping_order_warehouse", args=[orders[0].pk])).content.decode()
    assert 'data-state="shipped"' in panel
    assert Shipment.objects.get(order=orders[0]).tracking_number in panel
    print(f"{ORDERS + 1} orders through a real worker: sent in {sent:.1f} s, all answered in {seconds:.1f} s")  # noqa: T201
