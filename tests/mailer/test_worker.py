"""Mail through a real `celery worker` on Redis and PostgreSQL, end to end, and a worker killed mid-batch.

The worker sends through the project's route (EMAIL_URL in its environment) to the test's SMTP server. In the
second test the server keeps the answer to one DATA waiting, the worker is killed (SIGKILL to its process
group, as a lost machine would be), and a second worker takes over: what must hold is that no mail reaches the
server twice — the one the dead worker was sending is "outcome unknown" (the server has it, the worker never
heard so), the ones after it are sent once by the second worker after the sweep hands them over."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from typing import Any

import pytest
from django.db import connection

from mailer.models import MailMessage, MailState
from mailer.services.queueing import mail_queue
from mailer.tasks import deliver_mails, sweep_mail
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent
from tests.conftest import service_missing
from tests.factories import make_order
from tests.shops.test_killed_worker import redis_forget
from tests.test_celery_embedded import clean_env, process, wait_for_log

from .conftest import kind


def worker_argv(queue: str, name: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO", "--concurrency", "1",
        "--pool", "threads", "--hostname", f"{name}-{queue}@%h", "--queues", queue,
    ]  # fmt: skip


def worker_env(tmp_path: Any, settings: Any, smtp_server: Any) -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url, EMAIL_URL=smtp_server.url)


def wait_until(check: Any, timeout: float = 30, what: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"not within {timeout}s: {what}")


def queued_rows(tenant: Any, shop: Any, count: int, operator: Any, prefix: str) -> list[int]:
    orders = [
        make_order(tenant, shop=shop, external_id=f"{prefix}-{n}", orderer_email=f"buyer{n}@example.jp")
        for n in range(count)
    ]
    result = mail_queue(
        tenant=tenant, order_ids=[o.pk for o in orders], kind=kind(tenant), actor=Actor.for_user(operator)
    )
    return result.queued


def redis_ready(settings: Any) -> None:
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_queued_mails_once_each(
    tenant, operator, mail_shop, smtp_server, tmp_path, settings, require_postgres, require_redis
):
    redis_ready(settings)
    settings.EMAIL_URL = smtp_server.url
    queue = f"test-mail-{uuid.uuid4().hex[:10]}"
    ids = queued_rows(tenant, mail_shop, 12, operator, "W")  # transaction=True: the on_commit sends go to
    # the default `mail` queue, which no worker of this test reads; the test's own queue gets the same ids.
    with process(worker_argv(queue, "mail"), worker_env(tmp_path, settings, smtp_server), tmp_path / "w.log") as w:
        wait_for_log(tmp_path / "w.log", "ready.", w, timeout=60)
        started = time.monotonic()
        for start in range(0, len(ids), 5):
            deliver_mails.apply_async(args=[ids[start : start + 5]], queue=queue)
        deliver_mails.apply_async(args=[ids], queue=queue)  # the same ids again: a redelivery does nothing
        smtp_server.wait_for(12, timeout=60)
        wait_until(
            lambda: MailMessage.objects.filter(pk__in=ids, state=MailState.SENT).count() == 12,
            what="12 rows sent",
        )
        elapsed = time.monotonic() - started
    time.sleep(0.5)
    assert len(smtp_server.messages) == 12
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(f"buyer{n}@example.jp" for n in range(12))
    assert OrderEvent.objects.filter(type=EventType.MAIL_SENT, order__tenant=tenant).count() == 12
    print(f"a real worker sent 12 mails in {elapsed:.2f} s")  # noqa: T201 - the measurement, with -s


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_nothing_twice(
    tenant, operator, mail_shop, smtp_server, tmp_path, settings, require_postgres, require_redis
):
    redis_ready(settings)
    settings.EMAIL_URL = smtp_server.url
    settings.MAILER_STALE_AFTER = 1.0  # seconds here; 10 minutes by default
    settings.MAILER_REQUEUE_AFTER = 0.0
    queue = f"test-mail-kill-{uuid.uuid4().hex[:10]}"
    ids = queued_rows(tenant, mail_shop, 5, operator, "K")
    env = worker_env(tmp_path, settings, smtp_server)
    smtp_server.hold_after(2)  # the third mail's DATA is received, its answer held
    try:
        with process(worker_argv(queue, "first"), env, tmp_path / "first.log") as first:
            wait_for_log(tmp_path / "first.log", "ready.", first, timeout=60)
            deliver_mails.apply_async(args=[ids], queue=queue)
            assert smtp_server.held.wait(60), (tmp_path / "first.log").read_text(errors="replace")[-3000:]
            os.killpg(first.pid, signal.SIGKILL)  # between the server's receipt and the worker's record
            first.wait(10)
    finally:
        smtp_server.release.set()
        import redis

        redis_forget(redis.Redis.from_url(settings.REDIS_URL), queue)  # the killed worker's unacked message
    states = dict(MailMessage.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert [states[i] for i in ids] == ["sent", "sent", "sending", "queued", "queued"]
    assert len(smtp_server.messages) == 3

    # Beat's sweep, as beat calls it: the "sending" row of the dead worker becomes unknown (never re-sent),
    # the queued ones go to the queue again, where a second worker sends them.
    time.sleep(1.1)
    with process(worker_argv(queue, "second"), env, tmp_path / "second.log") as second:
        wait_for_log(tmp_path / "second.log", "ready.", second, timeout=60)
        summary = sweep_mail.apply(kwargs={"queue": queue}).get()
        assert summary == {"unknown": 1, "requeued": 2}
        smtp_server.wait_for(5, timeout=60)
        wait_until(lambda: MailMessage.objects.filter(pk__in=ids, state=MailState.SENT).count() == 4, what="4 sent")
        # Whatever is delivered again (the killed worker's unacknowledged message, a second sweep), nothing
        # more goes out.
        deliver_mails.apply_async(args=[ids], queue=queue)
        sweep_mail.apply(kwargs={"queue": queue}).get()
        time.sleep(2)
    assert len(smtp_server.messages) == 5
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(f"buyer{n}@example.jp" for n in range(5))
    unknown = MailMessage.objects.get(pk=ids[2])
    assert unknown.state == MailState.UNKNOWN
    assert unknown.message_id in unknown.answer
    assert smtp_server.messages[2].message["Message-ID"] == unknown.message_id  # findable in the server's log
