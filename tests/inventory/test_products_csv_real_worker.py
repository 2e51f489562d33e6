"""A products CSV longer than the old in-request limit (25,000 rows) through the screens, with a real
`celery worker` on Redis and PostgreSQL doing the preview and the import while the page asks every second, as
the browser's htmx would. The web side only keeps the file and queues; the worker writes the outcome into the
kept entry, which the page then shows."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from inventory.models import Product, StockMove
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

from .test_products_csv import upload

ROWS = 25_000
QUEUE = "celery"  # the default queue the views' tasks go to; this xdist worker's own Redis database


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO", "--concurrency", "1",
        "--pool", "threads", "--hostname", "products-csv@%h", "--queues", QUEUE,
    ]  # fmt: skip


def follow(client: Any, key: str, needle: str, timeout: float = 120) -> tuple[str, float]:
    """Ask for the page's part as htmx does, once a second, until `needle` is in it; the part and the time."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        part = client.get(reverse("products_csv_preview", args=[key]), HTTP_HX_REQUEST="true").content.decode()
        if needle in part:
            return part, time.monotonic() - started
        assert 'hx-trigger="every 1s"' in part, part[:2000]  # still working, and still asking
        time.sleep(1)
    pytest.fail(f"no {needle!r} after {timeout}s")


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_previews_and_imports_a_long_file_while_the_page_follows(
    operator_client, tenant, settings, tmp_path, require_postgres, require_redis
):
    import redis

    settings.LANGUAGE_CODE = "ja"
    client = redis.Redis.from_url(settings.REDIS_URL)
    redis_forget(client, QUEUE)  # nothing an earlier test of this process left in the default queue
    for n in range(0, ROWS, 5):  # a fifth of the products exist already
        Product.objects.create(tenant=tenant, sku=f"P{n:05d}", name=f"商品{n}", on_hand=1)
    lines = ["SKU,商品名,在庫数,棚番"] + [f"P{n:05d},商品{n},{n % 7},A-{n % 50}" for n in range(ROWS)]
    lines[101] = "P00100,壊れた行,-3,A-1"  # one bad row, named and skipped
    data = "\r\n".join(lines).encode("cp932")
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url)
    try:
        with process(worker_argv(), env, tmp_path / "w.log") as worker:
            wait_for_log(tmp_path / "w.log", "ready.", worker, timeout=60)
            started = time.monotonic()
            response = upload(operator_client, data)
            upload_seconds = time.monotonic() - started
            assert response.status_code == 302
            key = response["Location"].rstrip("/").split("/")[-1]

            part, preview_seconds = follow(operator_client, key, 'id="csv-summary"')
            assert 'data-new="20000" data-changed="4999"' in part, part[:3000]
            assert 'data-bad="1"' in part, part[:3000]
            assert 'data-row="102"' in part  # the bad row named by its row as a spreadsheet shows it

            started = time.monotonic()
            assert operator_client.post(reverse("products_csv_import", args=[key])).status_code == 302
            post_seconds = time.monotonic() - started
            part, import_seconds = follow(operator_client, key, 'id="csv-result"')
    finally:
        redis_forget(client, QUEUE)
    assert 'data-created="20000" data-changed="4999"' in part, part[:3000]
    assert 'data-skipped="1"' in part, part[:3000]
    assert Product.objects.filter(tenant=tenant).count() == ROWS
    assert Product.objects.get(sku="P00100").on_hand == 1  # the bad row left it alone
    assert Product.objects.get(sku="P00006").on_hand == 6
    assert StockMove.objects.filter(product__tenant=tenant).count() > 0
    print(  # noqa: T201 - the measurement, with -s
        f"{ROWS:,} rows: upload request {upload_seconds:.2f} s, worker preview {preview_seconds:.1f} s, "
        f"import request {post_seconds:.2f} s, worker import {import_seconds:.1f} s"
    )
