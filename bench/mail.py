"""The mailer's targets (issue 13): render 10,000 mails of one template < 2 s; queue 10,000 sends from the list
in one request < 3 s (set-based); a real worker delivers 1,000 mails to a local SMTP server < 20 s; the peak
memory of a 10,000-mail bulk send stays flat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailer.models import BuiltinKind, MailKind, MailMessage, MailState, ShopMailSettings
from mailer.selectors import mail_book
from mailer.services.compose import compose, orders_for_mail
from mailer.services.queueing import mail_queue
from mailer.services.setup import mailer_defaults_create
from orders.events import Actor
from orders.models import Order
from orders.selection import Selection
from shops.constants import MallKind
from shops.models import Shop

from .scenarios import Context, Scenario

MAILS = 10_000
DELIVERED = 1_000
QUEUE_NOTES: list[str] = []
DELIVERY_NOTES: list[str] = []
MEMORY_NOTES: list[str] = []
ROOT = Path(__file__).resolve().parent.parent


def _setup(ctx: Context) -> tuple[MailKind, list[int]]:
    """The bench tenant's mail setup (idempotent) and the newest 10,000 orders."""
    mailer_defaults_create(tenant=ctx.tenant)
    for shop in Shop.objects.for_tenant(ctx.tenant).exclude(mall=MallKind.MANUAL):
        ShopMailSettings.objects.get_or_create(
            tenant=ctx.tenant,
            shop=shop,
            defaults={"from_address": f"{shop.code}@bench.example", "from_name": shop.name, "signature": "ベンチ商店"},
        )
    kind = MailKind.objects.get(tenant=ctx.tenant, code=BuiltinKind.SHIPPED)
    ids = list(Order.objects.for_tenant(ctx.tenant).order_by("-ordered_at", "-id").values_list("pk", flat=True)[:MAILS])
    return kind, ids


def _render(ctx: Context) -> Callable[[], Any]:
    kind, ids = _setup(ctx)

    def run() -> int:
        book = mail_book(ctx.tenant)
        size = 0
        for start in range(0, len(ids), 1_000):
            orders = orders_for_mail(ctx.tenant.pk, ids[start : start + 1_000])
            for order in orders.values():
                size += len(compose(book=book, order=order, kind=kind).body)
        return size

    return run


def _select(ctx: Context, ids: list[int]) -> None:
    """Tick the orders, as the list's checkboxes do (the selection lives in the session)."""
    session = ctx.client.session
    selection = Selection(session, ctx.tenant)
    selection.add(ids)
    selection.save()
    session.save()


def _queue_request(ctx: Context) -> Callable[[], Any]:
    """F7's "send" for 10,000 selected orders, the whole request through the test client (the plan, the
    ledger's INSERTs, the hand-over to the queue after the commit); rolled back after each run, with the
    queue's hand-over left out (nothing is committed)."""
    kind, ids = _setup(ctx)
    url = reverse("mail_send")

    def run() -> Any:
        with transaction.atomic():
            ctx.client.force_login(ctx.user)  # the session rows are rolled back with the rest after each run
            _select(ctx, ids)
            with CaptureQueriesContext(connection) as queries:
                response = ctx.client.post(url, {"kind": kind.pk, "repeat": "1", "action": "send"})
            assert response.status_code == 302, response.status_code
            queued = MailMessage.objects.for_tenant(ctx.tenant).filter(state=MailState.QUEUED).count()
            QUEUE_NOTES[:] = [f"{queued:,} queued in {len(queries.captured_queries)} queries"]
            transaction.set_rollback(True)
        return queued

    return run


class _Catcher:
    """A local SMTP server counting what it gets (aiosmtpd, as the tests' and make run's)."""

    def __init__(self) -> None:
        import socket

        from devtools.smtpcatcher import BoundController

        outer = self
        self.count = 0

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.count += 1
                return "250 OK"

        sock = socket.create_server(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.controller = BoundController(Handler(), sock)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


_WORKER: dict[str, Any] = {}


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'root'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _deliver(ctx: Context) -> Callable[[], Any]:
    """A real `celery worker` (threads pool, 2 threads as make run's) sends 1,000 queued mails; timed from the
    hand-over to the queue until the server has them all and every row says sent."""
    from mailer.tasks import deliver_mails

    kind, ids = _setup(ctx)
    ids = ids[:DELIVERED]
    catcher = _Catcher()
    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "EMAIL_URL": f"smtp://127.0.0.1:{catcher.port}"}
    env["REDIS_URL"] = settings.REDIS_URL
    log = open(ROOT / "var" / "bench-mail-worker.log", "wb")  # noqa: SIM115 - closed in teardown
    worker = subprocess.Popen(  # noqa: S603 - our own worker
        [sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "WARNING", "--concurrency", "2",
         "--pool", "threads", "--queues", queue, "--hostname", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    _WORKER.update(worker=worker, catcher=catcher, log=log)
    time.sleep(4)  # the worker's start

    def run() -> float:
        result = mail_queue(tenant=ctx.tenant, order_ids=ids, kind=kind, actor=Actor.for_user(ctx.user), repeat=True)
        before = catcher.count
        started = time.perf_counter()
        for start in range(0, len(result.queued), 100):
            deliver_mails.apply_async(args=[result.queued[start : start + 100]], queue=queue)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (
                catcher.count - before >= len(result.queued)
                and not MailMessage.objects.filter(pk__in=result.queued).exclude(state=MailState.SENT).exists()
            ):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        DELIVERY_NOTES[:] = [f"{catcher.count - before:,} mails received by the SMTP server in {elapsed:.2f} s"]
        MailMessage.objects.filter(pk__in=result.queued).delete()
        return elapsed

    return run


def _stop_worker(ctx: Context) -> None:
    worker = _WORKER.pop("worker", None)
    if worker is not None:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
    if "catcher" in _WORKER:
        _WORKER.pop("catcher").stop()
    if "log" in _WORKER:
        _WORKER.pop("log").close()


def _memory(ctx: Context) -> Callable[[], Any]:
    """Peak Python memory (tracemalloc) of queueing 1,000, then 10,000 mails (rolled back)."""
    kind, ids = _setup(ctx)

    def peak(n: int) -> float:
        tracemalloc.start()
        try:
            with transaction.atomic():
                mail_queue(tenant=ctx.tenant, order_ids=ids[:n], kind=kind, actor=Actor.for_user(ctx.user), repeat=True)
                transaction.set_rollback(True)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    def run() -> tuple[float, float]:
        small, big = peak(1_000), peak(10_000)
        MEMORY_NOTES[:] = [f"peak memory: {small:.1f} MB for 1,000 mails, {big:.1f} MB for 10,000 ({big / small:.2f}×)"]
        return small, big

    return run


MAIL = [
    Scenario(name="mail: render 10,000 of one template", body=_render, target_ms=2_000),
    Scenario(name="mail: queue 10,000 in one request", body=_queue_request, target_ms=3_000, notes=QUEUE_NOTES),
    Scenario(
        name="mail: a worker delivers 1,000",
        body=_deliver,
        target_ms=20_000,
        notes=DELIVERY_NOTES,
        teardown=_stop_worker,
    ),
    Scenario(name="mail: memory 1,000 vs 10,000", body=_memory, notes=MEMORY_NOTES),
]
