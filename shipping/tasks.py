"""Celery entry points of shipping: thin, by id, safe to deliver twice — a long issued-data file's preview and
apply (issue 16 item 3: applying records nothing the second time), and the outside warehouses (item 5: a batch
already sent is not sent again; an answer already applied changes nothing)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

from backyard.models import Tenant
from orders.constants import ActorKind
from orders.events import Actor

from .services.issued_files import issued_file_work
from .services.warehouse import WarehouseUnreachable, auto_request, batch_send, store_poll, stores_to_poll

SEND_RETRIES = 5


@shared_task
def issued_file_step(
    key: str, tenant_id: int, step: str, language: str, actor_name: str = "", user_id: int | None = None
) -> dict[str, Any]:
    """The preview or the apply of a long issued-data file kept in the cache under `key`
    (shipping.services.issued_files.issued_file_work); the page polling the entry shows the outcome."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"step": step, "done": False}
    known = user_id is not None and get_user_model().objects.filter(pk=user_id).exists()
    actor = Actor(ActorKind.USER, actor_name, user_id if known else None)
    return {"step": step, "done": issued_file_work(key=key, tenant=tenant, step=step, language=language, actor=actor)}


@shared_task(bind=True, max_retries=SEND_RETRIES)
def send_warehouse_batch(self: Any, tenant_id: int, batch_id: int) -> dict[str, Any]:
    """Send one batch of requests; a warehouse that cannot be reached is tried again (30 s, 60 s, … then the
    minute's poll keeps trying)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"batch": batch_id, "sent": False}
    try:
        sent = batch_send(tenant=tenant, batch_id=batch_id)
    except WarehouseUnreachable as error:
        if self.request.retries >= SEND_RETRIES:
            return {"batch": batch_id, "sent": False, "error": str(error)}
        raise self.retry(countdown=30 * 2**self.request.retries) from error
    return {"batch": batch_id, "sent": sent}


@shared_task
def request_automatically(tenant_id: int, store_id: int, order_ids: list[int]) -> dict[str, Any]:
    """The orders that entered the status their outside warehouse names (shipping.apps' hook)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    result = auto_request(tenant=tenant, store_id=store_id, order_ids=order_ids) if tenant else None
    if result is None:
        return {"requested": 0, "refused": 0}
    return {"requested": result.requested, "refused": result.auto_refused}


@shared_task
def poll_warehouse(tenant_id: int, store_id: int) -> dict[str, Any]:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"store": store_id}
    applied = store_poll(tenant=tenant, store_id=store_id)
    return {"store": store_id, "changed": applied.changed, "shipped": applied.shipped,
            "problems": len(applied.problems)}  # fmt: skip


@shared_task
def poll_warehouses() -> int:
    """Beat, every minute: one poll task per active outside warehouse."""
    stores = stores_to_poll()
    for tenant_id, store_id in stores:
        poll_warehouse.delay(tenant_id, store_id)
    return len(stores)
