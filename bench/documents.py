"""Printed forms' targets (issue 15): 1,000 delivery notes of 3 lines to one PDF in under 60 s with flat peak
memory; one order's PDF in under 1 s.

Both read the bench tenant's orders with exactly three lines (the first 1,000 by id) through the same path a
print takes: documents.services.data.order_forms, then render_pdf for one order (print_now's path, without the
marks) or render_chunks in chunks of documents.services.render.CHUNK (a print job's path, without the file and
the marks). Memory is the process's resident set after each chunk (VmRSS, C allocations of Pango and HarfBuzz
included, which tracemalloc would miss): flat means the last chunk's figure is about the second's. The bulk
scenario runs once after its warm-up whatever --repeat says (each run is about a minute)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from documents.models import DocumentKind
from documents.services.data import OrderForm, order_forms
from documents.services.render import CHUNK, chunks_of, render_chunks, render_pdf
from orders.models import Order

from .scenarios import Context, Scenario

NOTES = 1_000
BULK_NOTES: list[str] = []
ONE_NOTES: list[str] = []


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _three_line_orders(ctx: Context, n: int) -> list[int]:
    ids = list(
        Order.objects.for_tenant(ctx.tenant)
        .annotate(n_lines=Count("lines"))
        .filter(n_lines=3)
        .order_by("pk")
        .values_list("pk", flat=True)[:n]
    )
    if len(ids) < n:
        raise RuntimeError(f"only {len(ids):,} orders with three lines; run with more --orders")
    return ids


@dataclass
class Once(Scenario):
    """Warm-up, then one timed run (a run is about a minute)."""

    def timings(self, fn: Callable[[], Any], repeat: int) -> list[float]:
        fn()
        started = time.perf_counter()
        fn()
        return [(time.perf_counter() - started) * 1000]


def _bulk(ctx: Context) -> Callable[[], Any]:
    ids = _three_line_orders(ctx, NOTES)

    def run() -> None:
        started = time.perf_counter()
        forms: list[OrderForm] = order_forms(ctx.tenant, ids)
        read = time.perf_counter() - started
        rss: list[float] = []
        pdf, pages = render_chunks(
            ctx.tenant,
            DocumentKind.DELIVERY_NOTE,
            chunks_of(forms),
            {},
            done=lambda chunk, n: rss.append(_rss_mb()),
        )
        BULK_NOTES[:] = [
            f"{len(forms):,} delivery notes, {pages:,} pages, {len(pdf) / 2**20:.1f} MB PDF; reading the orders "
            f"{read * 1000:.0f} ms; resident memory after chunk 2 {rss[1]:.0f} MB, after the last "
            f"({len(rss)} chunks of {CHUNK}) {rss[-1]:.0f} MB, highest {max(rss):.0f} MB"
        ]

    return run


def _one(ctx: Context) -> Callable[[], Any]:
    order_id = _three_line_orders(ctx, 1)[0]

    def run() -> None:
        pdf = render_pdf(ctx.tenant, DocumentKind.DELIVERY_NOTE, order_forms(ctx.tenant, [order_id]), {})
        ONE_NOTES[:] = [f"one delivery note of 3 lines: {len(pdf) / 1024:.0f} KB"]

    return run


DOCUMENTS = [
    Scenario(name="forms: one order's delivery note", body=_one, target_ms=1_000, notes=ONE_NOTES),
    Once(name="forms: 1,000 delivery notes in one process", body=_bulk, notes=BULK_NOTES),
]


_WORKER: dict[str, Any] = {}
JOB_NOTES: list[str] = []


def _job(ctx: Context) -> Callable[[], Any]:
    """The bulk print as operators get it: a PrintJob of 1,000 delivery notes queued to a real `celery worker`
    of 2 processes (prefork: one per core), its parts rendered side by side and joined; timed from the queueing
    until the job is done. The job and its PDF are deleted after each run."""
    import os
    import subprocess
    import sys
    import uuid

    from django.conf import settings

    from documents.models import JobState, PrintJob
    from documents.services.printing import job_create
    from documents.tasks import run_print_job
    from orders.events import Actor

    from .mail import ROOT, _database_url

    ids = _three_line_orders(ctx, NOTES)
    queue = f"bench-print-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    log = open(ROOT / "var" / "bench-print-worker.log", "wb")  # noqa: SIM115 - closed in teardown
    worker = subprocess.Popen(  # noqa: S603 - our own worker
        [sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "WARNING", "--concurrency", "2",
         "--pool", "prefork", "--queues", queue, "--hostname", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    _WORKER.update(worker=worker, log=log)
    time.sleep(5)  # the worker's start

    def run() -> float:
        job = job_create(
            tenant=ctx.tenant,
            kind=DocumentKind.DELIVERY_NOTE,
            order_ids=ids,
            actor=Actor.for_user(ctx.user),
            options={},
        )
        started = time.perf_counter()
        run_print_job.apply_async(args=[ctx.tenant.pk, job.pk], queue=queue)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.state in (JobState.DONE, JobState.FAILED):
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        JOB_NOTES[:] = [
            f"job {job.state}: {job.done:,} orders, {job.pages:,} pages in {job.parts} parts on 2 worker processes, "
            f"{len(job.failed)} not printed"
        ]
        if job.file:
            job.file.delete(save=False)
        PrintJob.objects.filter(pk=job.pk).delete()
        return elapsed * 1000

    return run


def stop_worker(state: dict[str, Any]) -> None:
    """Stop the worker process a scenario started (state["worker"]) and close its log (state["log"])."""
    worker = state.pop("worker", None)
    if worker is not None:
        worker.terminate()
        try:
            worker.wait(20)
        except Exception:  # noqa: BLE001 - a worker that does not stop is killed
            worker.kill()
    if "log" in state:
        state.pop("log").close()


def _stop_worker(ctx: Context) -> None:
    stop_worker(_WORKER)


@dataclass
class OnceMeasured(Once):
    """Once, and the run returns its own milliseconds (the job's set-up is not in the figure)."""

    def timings(self, fn: Callable[[], Any], repeat: int) -> list[float]:
        fn()
        return [float(fn())]


DOCUMENTS.append(
    OnceMeasured(
        name="forms: 1,000 delivery notes, a print job on 2 worker processes",
        body=_job,
        target_ms=60_000,
        notes=JOB_NOTES,
        teardown=_stop_worker,
    )
)
