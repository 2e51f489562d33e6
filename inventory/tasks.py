"""Celery entry points of inventory, and the stock check as its callers run it: thin, by id, safe to deliver
twice (a second check allocates only what is still missing)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from backyard.models import Tenant
from orders.constants import ActorKind
from orders.events import Actor

from .services.allocation import CheckResult, stock_check

logger = logging.getLogger(__name__)


@transaction.atomic
def stock_check_told(*, tenant: Tenant, order_ids: Iterable[int], actor: Actor) -> CheckResult:
    """The stock check, then orders.hooks.stock_checked in the same transaction: automation raises the 欠品 and
    SKU不明 tasks naming what is missing, and resolves them on orders found whole."""
    return stock_check(tenant=tenant, order_ids=order_ids, actor=actor)  # which tells orders.hooks itself


@shared_task
def stock_check_orders(tenant_id: int, order_ids: list[int], actor_name: str, user_id: int | None) -> dict[str, Any]:
    """在庫確認 of a big selection (F11 past STOCK_CHECK_INLINE_ORDERS), by the operator who asked.

    Ids that are not the tenant's orders are ignored by the check; a deleted tenant ends the task quietly, a
    deleted user leaves the name on the history. Returns the counts, for the result backend and the log."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.warning("stock_check_orders: tenant %s does not exist", tenant_id)
        return {"orders": 0}
    if user_id is not None and not get_user_model().objects.filter(pk=user_id).exists():
        user_id = None
    result = stock_check_told(tenant=tenant, order_ids=order_ids, actor=Actor(ActorKind.USER, actor_name, user_id))
    counts = {
        "full": len(result.full),
        "partial": len(result.partial),
        "short": len(result.short),
        "skipped": len(result.skipped),
        "unknown": len(result.unknown),
        "refused": len(result.refused),
    }
    logger.info("stock_check_orders tenant=%s: %s", tenant_id, counts)
    return {"orders": sum(counts[k] for k in ("full", "partial", "short", "skipped")), **counts}
