"""A long issued-data file through the screens with a real `celery worker` on Redis and PostgreSQL: the web
side keeps the file and queues; the worker matches it, then records the numbers, and the page (asked as htmx
asks, every second) shows each outcome. The orders move to the shipped status with their numbers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent, Status
from shipping.models import Shipment, ShippingSettings, management_number_for
from tests.realworker import database_url, follow, worker_argv
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

from .test_tracking import b2_issued, exported, shipped_status
from .test_tracking_worker import upload

ORDERS = 40


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_matches_and_records_a_long_issued_file(
    operator_client, tenant, settings, tmp_path, require_postgres, require_redis
):
    import redis

    settings.LANGUAGE_CODE = "ja"
    settings.TRACKING_INLINE_ROWS = 10
    ready = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    target = shipped_status(tenant)
    ShippingSettings.objects.create(tenant=tenant, status_after_export=ready, status_after_tracking=target)
    orders = exported(tenant, n=ORDERS)
    rows = [(management_number_for(o.pk), f"4{n:011d}", "2026/12/04") for n, o in enumerate(orders)]
    data = b2_issued([*rows, ("BY0000000000", "499999999999", "")])
    client = redis.Redis.from_url(settings.REDIS_URL)
    redis_forget(client, "celery")
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=database_url())
    try:
        with process(worker_argv("tracking"), env, tmp_path / "w.log") as worker:
            wait_for_log(tmp_path / "w.log", "ready.", worker, timeout=60)
            response = upload(operator_client, data)
            assert response.status_code == 302
            url = response["Location"]
            key = url.rstrip("/").split("/")[-1]
            part, _seconds = follow(operator_client, url, 'id="tracking-summary"')
            assert f'data-new="{ORDERS}" data-problems="1"' in part
            assert Shipment.objects.for_tenant(tenant).count() == 0
            operator_client.post(reverse("tracking_apply", args=[key]))
            part, seconds = follow(operator_client, url, 'id="tracking-result"')
    finally:
        redis_forget(client, "celery")
    assert f'data-recorded="{ORDERS}" data-moved="{ORDERS}"' in part, (tmp_path / "w.log").read_text()[-3000:]
    assert Shipment.objects.for_tenant(tenant).count() == ORDERS
    assert set(Order.objects.for_tenant(tenant).values_list("status_id", flat=True)) == {target.pk}
    assert OrderEvent.objects.for_tenant(tenant).filter(type=EventType.TRACKING_REGISTERED).count() == ORDERS
    print(f"{ORDERS} tracking numbers recorded by a real worker, seen by the page in {seconds:.1f} s")  # noqa: T201
