"""A worker killed in the middle of a poll, end to end: real `celery worker` processes on Redis and PostgreSQL,
a mall slow enough to kill the worker mid-import (SIGKILL to its whole process group, as a lost machine or
the out-of-memory killer would), a second worker started, and beat's task called as beat calls it.

What must hold: within a couple of minutes (here SHOPS_DEAD_AFTER is shortened to seconds, through the
settings the worker reads from its environment; nothing is patched) the run shows interrupted, the shop is
polled again, and every order is imported exactly once. The times from the kill are measured and printed
(here: interrupted 2.6 s, polled again 3.3 s). Measured once the same way with the defaults (SHOPS_DEAD_AFTER
90 s, heartbeat every 15 s, beat every 60 s): interrupted 122 s after the kill, the shop polled again and its
poll finished 0.6 s later; the bound is SHOPS_DEAD_AFTER plus one beat, 150 s."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from orders.constants import EventType
from orders.models import Order, OrderEvent
from shops.models import ImportRun, RunStatus, ShopSync, SyncErrorKind
from shops.services.polling import dead_polls_release
from shops.tasks import poll_due_shops
from tests.conftest import service_missing
from tests.shops.fakeconnector import FakeMall
from tests.shops.test_polling import fake_shop
from tests.test_celery_embedded import clean_env, process, wait_for_log

HEARTBEAT_EVERY = 0.5  # seconds: SHOPS_HEARTBEAT_EVERY of the workers and of this process (beat)
DEAD_AFTER = 3.0  # seconds: SHOPS_DEAD_AFTER (90 by default)
BEAT_EVERY = 0.5  # seconds between the calls of beat's task here (60 in production)


def worker_argv(queue: str, name: str) -> list[str]:
    """A real worker, as the Procfile's, that also knows the test mall's connector."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "backyard",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
        "--hostname",
        f"{name}-{queue}@%h",
        "--queues",
        queue,
        "--include",
        "tests.shops.fakeconnector",
    ]


def redis_forget(client: Any, queue: str) -> None:
    """What the test left in Redis: its queue, its bindings, and the killed worker's unacknowledged message
    (which Redis would otherwise give back to this queue after the visibility timeout)."""
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)
    for key in client.scan_iter("_kombu.binding.*"):
        if client.type(key) == b"set":
            for member in client.smembers(key):
                if queue.encode() in member:
                    client.srem(key, member)
    for tag, message in client.hgetall("unacked").items():
        if queue.encode() in message:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_shown_interrupted_and_its_shop_polled_again(
    tenant, tmp_path, settings, require_postgres, require_redis
):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")
    queue = f"test-killed-{uuid.uuid4().hex[:10]}"
    settings.SHOPS_POLL_QUEUE = queue
    settings.SHOPS_HEARTBEAT_EVERY, settings.SHOPS_DEAD_AFTER = HEARTBEAT_EVERY, DEAD_AFTER

    mall = FakeMall().start()
    # The second page is slow: its answer waits until the worker that asked for it has been killed.
    gate, reached, seen = threading.Event(), threading.Event(), {"gets": 0}
    original = mall.answer

    def answer(method: str, path: str, *args: Any) -> Any:
        if method == "GET":
            seen["gets"] += 1
            if seen["gets"] == 2:
                reached.set()
                gate.wait(120)
        return original(method, path, *args)

    mall.answer = answer  # type: ignore[method-assign]
    try:
        mall.add_orders(7)  # pages of 3: 3, 3, 1
        shop = fake_shop(tenant, mall)
        database = connection.settings_dict
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        env = clean_env(
            tmp_path / "var",
            REDIS_URL=settings.REDIS_URL,
            DATABASE_URL=url,
            SHOPS_HEARTBEAT_EVERY=str(HEARTBEAT_EVERY),
            SHOPS_DEAD_AFTER=str(DEAD_AFTER),
        )

        with process(worker_argv(queue, "first"), env, tmp_path / "first.log") as first:
            wait_for_log(tmp_path / "first.log", "ready.", first, timeout=60)
            assert poll_due_shops() == 1
            assert reached.wait(60), (tmp_path / "first.log").read_text(errors="replace")[-4000:]
            run = ImportRun.objects.get(shop=shop)
            assert (run.status, Order.objects.filter(shop=shop).count()) == (RunStatus.RUNNING, 3)

            # Held on one page for twice SHOPS_DEAD_AFTER, the poll is alive: its timer signs, beat leaves it.
            time.sleep(2 * DEAD_AFTER)
            assert dead_polls_release() == 0
            beat = ShopSync.objects.get(shop=shop).heartbeat_at
            assert (timezone.now() - beat).total_seconds() < 2 * HEARTBEAT_EVERY + 1

            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool child, mid-import
            first.wait(10)
        killed = time.monotonic()
        gate.set()

        interrupted_after = polled_after = None
        with process(worker_argv(queue, "second"), env, tmp_path / "second.log") as second:
            wait_for_log(tmp_path / "second.log", "ready.", second, timeout=60)
            next_beat = time.monotonic()
            while time.monotonic() - killed < 120:
                if time.monotonic() >= next_beat:
                    poll_due_shops()  # what beat does every minute
                    next_beat += BEAT_EVERY
                run.refresh_from_db()
                if interrupted_after is None and run.finished:
                    interrupted_after = time.monotonic() - killed
                again = ImportRun.objects.filter(shop=shop, pk__gt=run.pk).first()
                if again is not None and again.finished:
                    polled_after = time.monotonic() - killed
                    break
                time.sleep(0.2)
            else:
                pytest.fail(
                    f"no second poll within 2 minutes:\n{(tmp_path / 'second.log').read_text(errors='replace')[-4000:]}"
                )

        assert interrupted_after is not None
        print(  # noqa: T201
            f"\nkilled worker: run shown interrupted {interrupted_after:.1f} s after the kill, shop polled again "
            f"(run finished) {polled_after:.1f} s after it (SHOPS_DEAD_AFTER {DEAD_AFTER:g} s, heartbeat every "
            f"{HEARTBEAT_EVERY:g} s, beat every {BEAT_EVERY:g} s, second worker started after the kill)"
        )
        assert interrupted_after < DEAD_AFTER + 2 * BEAT_EVERY + 2
        assert (run.status, run.error_kind) == (RunStatus.FAILED, SyncErrorKind.INTERRUPTED)
        assert run.error.startswith("中断")
        assert (run.new, run.pages) == (3, 1)  # what it had saved before it was killed
        assert (again.status, again.new, again.updated, again.unchanged) == (RunStatus.OK, 4, 0, 0), again.error
        numbers = sorted(Order.objects.filter(shop=shop).values_list("external_id", flat=True))
        assert numbers == [f"F-{n:05d}" for n in range(1, 8)]  # every order, once
        assert OrderEvent.objects.filter(order__shop=shop, type=EventType.CREATED).count() == 7
        sync = ShopSync.objects.get(shop=shop)
        assert (sync.running_since, sync.heartbeat_at, sync.cursor) == (None, None, "7")
    finally:
        gate.set()
        mall.stop()
        redis_forget(client, queue)
        client.close()
