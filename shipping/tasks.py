"""Celery entry points of shipping: thin, by id, safe to deliver twice — a long issued-data file's preview and
apply (issue 16 item 3: applying records nothing the second time)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

from backyard.models import Tenant
from orders.constants import ActorKind
from orders.events import Actor

from .services.issued_files import issued_file_work


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
