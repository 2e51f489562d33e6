import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task
def heartbeat() -> str:
    """Beat's proof of life: records when the worker last ran a scheduled task (shown to admins)."""
    now = timezone.now().isoformat()
    cache.set("backyard:heartbeat", now, timeout=None)
    logger.info("heartbeat %s", now)
    return now
