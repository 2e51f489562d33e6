"""Celery entry points of automation: thin, by id, safe to deliver twice (the engine is idempotent)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from backyard.models import Tenant

from .services import process

logger = logging.getLogger(__name__)


@shared_task
def process_orders(tenant_id: int, order_ids: list[int], actor_name: str = "") -> dict[str, Any]:
    """Auto-process orders after an import (the shops app enqueues it on commit) or for a big selection.

    Ids that are not the tenant's orders are ignored by the engine; a deleted tenant ends the task quietly.
    Returns the counts, for the result backend and the log."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.warning("process_orders: tenant %s does not exist", tenant_id)
        return {"orders": 0}
    result = process(tenant=tenant, order_ids=order_ids, actor_name=actor_name)
    logger.info("process_orders tenant=%s: %s (%d queries)", tenant_id, result.summary(), result.queries)
    return {
        "orders": result.orders,
        "changed": result.changed,
        "refused": len(result.refusals),
        "tasks_raised": result.tasks_raised,
        "tasks_resolved": result.tasks_resolved,
        "errors": result.errors,
        "queries": result.queries,
    }
