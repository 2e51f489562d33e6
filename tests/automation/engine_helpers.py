"""Helpers for the engine, action, admin and defaults tests: rules in a few lines, database snapshots."""

from __future__ import annotations

from typing import Any

from django.db import models

from automation.models import OrderTask, RemoteIsland, Rule, RuleActionDone, RuleGroup, TaskDefinition
from backyard.models import Tenant
from orders.constants import Stage
from orders.models import Label, Order, OrderEvent, OrderLabel, OrderLine, PaymentMethod, Status, StatusCount
from shipping.models import DeliveryMethod, ShippingStore

SNAPSHOT_MODELS: tuple[type[models.Model], ...] = (
    Order,
    OrderLine,
    OrderEvent,
    OrderLabel,
    StatusCount,
    OrderTask,
    RuleActionDone,
    Rule,
    RuleGroup,
    TaskDefinition,
    RemoteIsland,
)


def status_of(tenant: Tenant, stage: Stage, position: int = 1) -> Status:
    """The tenant's `position`-th status in `stage` (the default tree has two per stage)."""
    statuses = Status.objects.for_tenant(tenant).filter(group__stage=stage).select_related("group")
    return statuses.order_by("group__position", "position")[position - 1]


def payment(tenant: Tenant, code: str) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code=code)


def label(tenant: Tenant, name: str) -> Label:
    return Label.objects.for_tenant(tenant).get(name=name)


def delivery(tenant: Tenant, name: str) -> DeliveryMethod:
    return DeliveryMethod.objects.for_tenant(tenant).get(name=name)


def store(tenant: Tenant, code: str = "main") -> ShippingStore:
    return ShippingStore.objects.for_tenant(tenant).get(code=code)


def task(tenant: Tenant, code: str) -> TaskDefinition:
    return TaskDefinition.objects.for_tenant(tenant).get(code=code)


def quiet(tenant: Tenant) -> None:
    """Switch off the tenant's default rules and built-in tasks, so a test sees only what it sets up."""
    RuleGroup.objects.for_tenant(tenant).update(enabled=False)
    TaskDefinition.objects.for_tenant(tenant).update(enabled=False)


def group(tenant: Tenant, name: str, position: int, enabled: bool = True) -> RuleGroup:
    return RuleGroup.objects.create(tenant=tenant, name=name, position=position, enabled=enabled)


def rule(
    rule_group: RuleGroup,
    name: str,
    position: int,
    statuses: list[Status],
    actions: list[dict[str, Any]],
    items: list[dict[str, Any]] | None = None,
    match: str = "all",
    enabled: bool = True,
) -> Rule:
    created = Rule.objects.create(
        tenant_id=rule_group.tenant_id,
        group=rule_group,
        name=name,
        position=position,
        enabled=enabled,
        conditions={"match": match, "items": items or []},
        actions=actions,
    )
    created.statuses.set(statuses)
    return created


def snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant in the tables a run may touch, as plain values, in id order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for model in SNAPSHOT_MODELS:
        qs = model._default_manager.filter(tenant_id=tenant.pk)
        out[model._meta.label] = list(qs.order_by("pk").values())
    return out


def events_after(tenant: Tenant, last_pk: int) -> list[OrderEvent]:
    return list(OrderEvent.objects.for_tenant(tenant).filter(pk__gt=last_pk).order_by("pk"))


def last_event_pk() -> int:
    return OrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
