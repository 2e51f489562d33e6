"""Shipment reports (B12) through Celery: the task's own retries (in process, eager: a 429 with the mall's wait,
5xx until it gives up) and a real `celery worker` on Redis and PostgreSQL telling the fake Shopify store of
each fulfillment once, a redelivered task included."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from django.db import connection

from devtools.fakemalls.shopify import FakeShopify
from shops.constants import MallKind
from shops.models import ReportState, ShipmentReport
from shops.tasks import REPORT_RETRIES, report_shipment
from tests.shops.reportkit import connected_shop, mall_order, ship
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

QUEUE = "celery"  # where report_shipment goes without SHOPS_POLL_QUEUE; this xdist worker's own Redis db


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    mall = FakeShopify(seed=18).start()
    yield mall
    mall.stop()


def shopify_orders(tenant, fake: FakeShopify, n: int) -> list:
    shop = connected_shop(tenant, MallKind.SHOPIFY, fake)
    return [mall_order(tenant, shop, fake.order(fake.add_order())["name"]) for _ in range(n)]


def test_the_task_retries_after_the_malls_wait_then_tells(tenant, fake, settings):
    settings.SHOPS_REPORT_MAX_WAIT = 0.2
    [order] = shopify_orders(tenant, fake, 1)
    report = ship(tenant, order)
    fake.queue_rate_limit(times=1, retry_after="2.0")
    result = report_shipment.apply(args=[report.pk]).get()  # eager: the retry runs at once, in process
    assert result["state"] == ReportState.TOLD
    report.refresh_from_db()
    assert report.attempts == 2
    assert len(fake.fulfillments) == 1


def test_the_task_gives_up_after_its_retries_and_records_why(tenant, fake, settings):
    settings.SHOPS_REPORT_MAX_WAIT = 0.01
    settings.SHOPS_REPORT_BACKOFF = 0.01
    [order] = shopify_orders(tenant, fake, 1)
    report = ship(tenant, order)
    fake.queue_server_error(times=4 * (REPORT_RETRIES + 1))  # every request of every try
    result = report_shipment.apply(args=[report.pk]).get()
    report.refresh_from_db()
    assert result["state"] == report.state == ReportState.FAILED
    assert report.attempts == REPORT_RETRIES + 1
    assert "500" in report.answer
    assert fake.fulfillments == []


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO", "--concurrency", "4",
        "--pool", "threads", "--hostname", "mall-push@%h", "--queues", QUEUE,
    ]  # fmt: skip


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_tells_the_shopify_store_of_each_fulfillment_once(
    tenant, fake, settings, tmp_path, require_postgres, require_redis
):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    redis_forget(client, QUEUE)
    orders = shopify_orders(tenant, fake, 20)
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url)
    try:
        with process(worker_argv(), env, tmp_path / "w.log") as worker:
            wait_for_log(tmp_path / "w.log", "ready.", worker, timeout=60)
            fake.queue_rate_limit(times=1, retry_after="1.0")  # the first call waits as Shopify asks
            started = time.monotonic()
            for n, order in enumerate(orders):  # each commits, and its hook sends the task after the commit
                ship(tenant, order, number=f"3{n:011d}")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                states = set(ShipmentReport.objects.for_tenant(tenant).values_list("state", flat=True))
                if states == {ReportState.TOLD}:
                    break
                time.sleep(0.2)
            seconds = time.monotonic() - started
            report = ShipmentReport.objects.for_tenant(tenant).first()
            again = report_shipment.apply_async(args=[report.pk], queue=QUEUE).get(timeout=60)  # delivered twice
    finally:
        redis_forget(client, QUEUE)
    log = (tmp_path / "w.log").read_text()
    assert states == {ReportState.TOLD}, (states, log[-2000:])
    assert again["state"] == ReportState.TOLD
    assert sorted(f["order"] for f in fake.fulfillments) == sorted(o.external_id for o in orders)
    assert len(fake.fulfillments) == 20  # each once, the redelivered task's too
    assert {f["number"] for f in fake.fulfillments} == {f"3{n:011d}" for n in range(20)}
    print(f"20 fulfillments through a real worker: {seconds:.1f} s")  # noqa: T201
