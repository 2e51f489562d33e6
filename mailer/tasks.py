"""Celery entry points of the mailer: thin, by id, safe to deliver twice (the ledger's claim makes a second
delivery of the same ids do nothing)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from .services import delivery, retention

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
def sweep_mail() -> dict[str, int]:
    """Beat, every few minutes: rows a dead worker left "sending" become "unknown" (never re-sent by
    themselves); queued rows whose task was lost are handed to the queue again."""
    stale = delivery.mark_stale()
    due = delivery.due_queued()
    for start in range(0, len(due), 100):
        deliver_mails.delay(due[start : start + 100])
    return {"unknown": stale, "requeued": len(due)}


@shared_task
def erase_old_mail_bodies() -> int:
    """Beat, daily: bodies of mails older than each tenant's setting are erased (personal data)."""
    return retention.erase_old_bodies()
