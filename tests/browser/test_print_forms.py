"""帳票印刷 in Chromium (issue 15, item 3): tick three orders on the list, press 帳票印刷, choose delivery notes,
and watch the job page follow the rendering without a reload until it offers the PDF; then the list shows the
"printed" mark. The rendering is the worker's part: here the test thread runs it (eagerly, as the worker would;
the worker itself is tested in tests/documents/test_print_job_worker.py). Screenshots at 1280 and 1920 wide
(test-artifacts; also PRINT_FORMS_SHOTS, when set)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from documents.models import JobState, PrintJob
from documents.tasks import run_print_job
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ["PRINT_FORMS_SHOTS"]) if os.environ.get("PRINT_FORMS_SHOTS") else None


def shots(page: Any, name: str) -> None:
    size = page.viewport_size
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        path = shot(page, f"{name}-{width}")
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / path.name).write_bytes(path.read_bytes())
    page.set_viewport_size(size)


def test_print_delivery_notes_of_the_ticked_orders_and_follow_the_job(
    page, live_server, tenant, operator, settings, tmp_path
):
    from celery import current_app

    settings.DOCUMENTS_INLINE_ORDERS = 1
    settings.MEDIA_ROOT = tmp_path / "media"
    start = timezone.now() - dt.timedelta(hours=5)
    lines = [{"sku": "TEA-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8}]
    ticked = [
        make_order(tenant, external_id=f"R-500{n}", ordered_at=start + dt.timedelta(minutes=n), lines=lines)
        for n in range(1, 4)
    ]
    make_order(tenant, external_id="R-5009", lines=lines)  # not ticked

    login(page, live_server, operator.username, PASSWORD)
    for row in ticked:
        page.check(f'#order-table tr[data-id="{row.pk}"] .by-row-check')
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")
    assert "帳票印刷" in page.inner_text("#print-forms")
    page.focus("#print-forms")  # reachable from the keyboard: Enter presses it
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.get_attribute("#print-count", "data-count") == "3"
    page.check("#print-kind-delivery_note")
    shots(page, "print-forms-choose")
    with page.expect_navigation():
        page.click("#print-submit")

    job = PrintJob.objects.get(tenant=tenant)
    assert page.url.endswith(f"/documents/jobs/{job.pk}/")
    assert page.get_attribute("#print-job", "data-state") == JobState.QUEUED
    assert page.locator("#print-job-download").count() == 0

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True  # the worker's part, in this thread
    try:
        run_print_job.delay(tenant.pk, job.pk)
    finally:
        current_app.conf.task_always_eager = eager

    page.wait_for_selector("#print-job-download", timeout=15_000)  # htmx asked again; no reload
    assert page.get_attribute("#print-job", "data-state") == JobState.DONE
    assert page.get_attribute("#print-job-progress", "data-pages") == "3"
    shots(page, "print-forms-job-done")
    href = page.get_attribute("#print-job-download", "href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    page.goto(f"{live_server.url}/orders/?q=R-500")
    assert page.locator("#order-table .by-printed").count() == 3
    title = page.get_attribute(f'#order-table tr[data-id="{ticked[0].pk}"] .by-printed', "title")
    assert title == "印刷済: 納品書"
    shots(page, "print-forms-list-marked")
