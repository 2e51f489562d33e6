"""A bulk print job end to end through a real `celery worker` on Redis and PostgreSQL (issue 15, "Tests"): the
list's selection posted to 帳票印刷 makes a job, the job goes to a worker on this test's own queue, the job page
(asked as htmx asks, every second) follows its progress to the download link, and the PDF has one page per
order (pdfinfo). The worker writes the PDF under its media folder, which is this process's MEDIA_ROOT too."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from documents.models import JobState, PrintJob, PrintMark
from documents.tasks import run_print_job
from tests.factories import make_order
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

LINES = [
    {"sku": "TEA-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8},
    {"sku": "CUP-010", "name": "有田焼 湯呑み", "unit_price": 2200, "quantity": 1, "tax_rate": 10},
    {"sku": "BAG-100", "name": "紙袋", "unit_price": 55, "quantity": 1, "tax_rate": 10},
]
ORDERS = 60


QUEUE = "celery"  # the default queue the view's task goes to; this xdist worker's own Redis database


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO", "--concurrency", "1",
        "--pool", "threads", "--hostname", "print-job@%h", "--queues", QUEUE,
    ]  # fmt: skip


def follow(client: Any, job_id: int, timeout: float = 180) -> tuple[str, list[str]]:
    """Ask for the job's part as htmx does, once a second, until it is finished; the last part and the
    progress seen on the way."""
    seen: list[str] = []
    started = time.monotonic()
    url = reverse("documents_job", args=[job_id])
    while time.monotonic() - started < timeout:
        part = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        progress = re.search(r'data-done="(\d+)" data-total="(\d+)" data-pages="(\d+)"', part)
        assert progress, part[:2000]
        seen.append(progress.group(0))
        if 'data-state="done"' in part or 'data-state="failed"' in part:
            return part, seen
        assert 'hx-trigger="every 1s"' in part  # still rendering, and still asking
        time.sleep(1)
    pytest.fail(f"the job did not finish in {timeout}s: {seen[-3:]}")


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_a_bulk_print_job_the_page_follows_and_the_pdf_downloads(
    operator_client, tenant, settings, tmp_path, require_postgres, require_redis
):
    import redis

    settings.LANGUAGE_CODE = "ja"
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    settings.DOCUMENTS_INLINE_ORDERS = 5
    client = redis.Redis.from_url(settings.REDIS_URL)
    redis_forget(client, QUEUE)  # nothing an earlier test of this process left in the default queue
    picked = [make_order(tenant, external_id=f"W-{n:04d}", lines=LINES) for n in range(ORDERS)]
    operator_client.get(reverse("home"))
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in picked]})
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url)
    try:
        with process(worker_argv(), env, tmp_path / "w.log") as worker:
            wait_for_log(tmp_path / "w.log", "ready.", worker, timeout=60)
            started = time.monotonic()
            response = operator_client.post(  # queues run_print_job after the commit, as in production
                reverse("documents_print"), {"query": "", "next": "/orders/", "kinds": ["delivery_note"]}
            )
            job = PrintJob.objects.for_tenant(tenant).get()
            assert response["Location"] == reverse("documents_job", args=[job.pk])
            part, seen = follow(operator_client, job.pk)
            seconds = time.monotonic() - started
            # Delivered twice (a broker may): the finished job is left alone.
            assert run_print_job.apply_async(args=[tenant.pk, job.pk], queue=QUEUE).get(timeout=60)["parts"] == 0
    finally:
        redis_forget(client, QUEUE)
    job.refresh_from_db()
    assert job.state == JobState.DONE, (job.error, (tmp_path / "w.log").read_text()[-3000:])
    assert (job.done, job.total, job.pages, job.failed) == (ORDERS, ORDERS, ORDERS, [])
    assert f'data-done="{ORDERS}" data-total="{ORDERS}" data-pages="{ORDERS}"' in part
    assert 'id="print-job-download"' in part
    assert 'hx-trigger="every 1s"' not in part
    download = operator_client.get(reverse("documents_job_download", args=[job.pk]))
    data = b"".join(download.streaming_content)
    assert download["Content-Type"] == "application/pdf"
    assert data.startswith(b"%PDF")
    path = tmp_path / "job.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout  # noqa: S607
    assert re.search(r"Pages:\s+60\b", info), info
    assert PrintMark.objects.for_tenant(tenant).filter(kind="delivery_note").count() == ORDERS
    print(f"{ORDERS} delivery notes through a real worker: {seconds:.1f} s; progress seen: {seen}")  # noqa: T201
