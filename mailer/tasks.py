"""Celery entry points of the mailer: thin, by id, safe to deliver twice (the ledger's claim makes a second
delivery of the same ids do nothing)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from .services import delivery, reminders, retention

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_mails(self: Any, message_ids: list[int]) -> dict[str, int]:
    """Send these queued mails (the `mail` queue, CELERY_TASK_ROUTES); the ones a server refused for now are
    tried again by a retry of this task after their backoff."""
    result = delivery.deliver(message_ids)
    if result.retry:
        deliver_mails.apply_async(args=[result.retry], countdown=result.retry_in)
    summary = {"sent": len(result.sent), "failed": len(result.failed), "retry": len(result.retry)}
    logger.info("deliver_mails %s: %s", len(message_ids), summary)
    return summary


@shared_task
def sweep_mail(queue: str | None = None) -> dict[str, int]:
    """Beat, every two minutes: rows a dead worker left "sending" become "unknown" (never re-sent by
    themselves); queued rows no task took (a lost task, a killed worker's batch) are handed to the mail queue
    again (`queue`: another one, for the tests' workers)."""
    stale = delivery.mark_stale()
    due = delivery.due_queued()
    options = {"queue": queue} if queue else {}
    for start in range(0, len(due), 100):
        deliver_mails.apply_async(args=[due[start : start + 100]], **options)
    return {"unknown": stale, "requeued": len(due)}


@shared_task
def erase_old_mail_bodies() -> int:
    """Beat, daily: bodies of mails older than each tenant's setting are erased (personal data)."""
    return retention.erase_old_bodies()


@shared_task
def send_reminders() -> dict[str, int]:
    """Beat, daily at 09:00 (Tokyo): every active automatic reminder rule of every tenant (T5); a rule that
    fails is logged and the others still send. Safe to run twice a day: the second finds nobody due."""
    return reminders.reminders_run_daily(now=timezone.now()).as_dict()
