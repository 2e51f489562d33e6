"""Reads of the automation app: the "why" of an order, task counts and badges, changes in words.

Each is one query (the history two), whatever the number of orders, always scoped to the tenant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F

from backyard.models import Tenant
from orders.constants import ActorKind, EventType
from orders.history import describe_event
from orders.models import Order, OrderEvent

from .models import OrderTask, Rule, TaskDefinition


@dataclass(frozen=True)
class Change:
    """One change to one order in words: what, old → new, by whom (`note` carries a refusal's reason).

    Built from an OrderEvent by orders.history (the presenter the order page's history uses too), so a dry
    run's prediction, the real run's history and the order page read the same; ids of rows the change itself
    created (a new line's id) are left out, as they differ between the two."""

    order_id: int
    type: str
    actor_kind: str
    actor_name: str
    rule_id: int | None
    what: str
    old: str = ""
    new: str = ""
    note: str = ""

    @property
    def type_label(self) -> str:
        return str(EventType(self.type).label) if self.type in EventType.values else self.type


def change_from_event(event: OrderEvent) -> Change:
    """The event in words (orders.history, the order page's own presenter), with who and which rule."""
    text = describe_event(event.type, event.data)
    data = event.data if isinstance(event.data, dict) else {}
    rule_id = data.get("rule")
    return Change(
        order_id=event.order_id,
        type=event.type,
        actor_kind=event.actor_kind,
        actor_name=event.actor_name,
        rule_id=rule_id if isinstance(rule_id, int) else None,
        what=text.what,
        old=text.old,
        new=text.new,
        note=text.note,
    )


# --- "why": the rules that touched an order ---------------------------------------------------------------


@dataclass
class RuleTouch:
    """One rule and what it did to the order, oldest first. `rule` is None when it has been deleted since
    (the history keeps its name)."""

    rule_id: int
    rule_name: str
    rule: Rule | None
    first_at: Any
    changes: list[Change] = field(default_factory=list)


def order_rule_history(*, order: Order) -> list[RuleTouch]:
    """The rules that changed (or tried to change) this order and what each did, in the order they first
    touched it: from the order's events written by rules (each carries the rule's id). Two queries."""
    rule_events = (
        OrderEvent.objects.for_tenant(order.tenant_id)
        .filter(order_id=order.pk, actor_kind=ActorKind.RULE, data__has_key="rule")
        .order_by("at", "pk")
    )
    touches: dict[int, RuleTouch] = {}
    for event in rule_events:
        change = change_from_event(event)
        if change.rule_id is None:
            continue
        touch = touches.setdefault(change.rule_id, RuleTouch(change.rule_id, event.actor_name, None, event.at))
        touch.changes.append(change)
    if touches:
        rules = Rule.objects.for_tenant(order.tenant_id).filter(pk__in=touches).select_related("group")
        for rule in rules:
            touches[rule.pk].rule = rule
    return list(touches.values())


# --- tasks on the order list ------------------------------------------------------------------------------


def task_counts(*, tenant: Tenant, status_id: int | None) -> list[tuple[TaskDefinition, int]]:
    """Open tasks per definition among the orders in one status (all statuses when None), for the counts
    under the selected status: definitions in their order, those with no open task left out. One query: an
    index-only scan of the open tasks in that status (`order_status_id` is kept equal to the order's status
    by triggers), never a join with the tenant's orders."""
    rows = OrderTask.objects.filter(tenant_id=tenant.pk, resolved_at=None, definition__enabled=True)
    if status_id is not None:
        rows = rows.filter(order_status_id=status_id)
    grouped = (
        rows.values(
            "definition_id", "definition__code", "definition__name", "definition__colour", "definition__position"
        )
        .annotate(n=Count("*"))
        .order_by("definition__position", "definition_id")
    )
    return [
        (
            TaskDefinition(
                pk=row["definition_id"],
                tenant_id=tenant.pk,
                code=row["definition__code"],
                name=row["definition__name"],
                colour=row["definition__colour"],
                position=row["definition__position"],
            ),
            row["n"],
        )
        for row in grouped
    ]


def open_tasks_for(*, tenant: Tenant, order_ids: Iterable[int]) -> dict[int, list[TaskDefinition]]:
    """The open tasks of each order (badges in the list), definitions in their order. One query."""
    ids = list(order_ids)
    out: dict[int, list[TaskDefinition]] = {order_id: [] for order_id in ids}
    if not ids:
        return out
    tasks = (
        OrderTask.objects.for_tenant(tenant)
        .filter(order_id__in=ids, resolved_at=None)
        .select_related("definition")
        .order_by("definition__position", "definition_id")
    )
    for task in tasks:
        out[task.order_id].append(task.definition)
    return out


def order_tasks(*, order: Order) -> list[OrderTask]:
    """Every task of one order, open first, for the order page. One query."""
    return list(
        OrderTask.objects.for_tenant(order.tenant_id)
        .filter(order_id=order.pk)
        .select_related("definition")
        .order_by(F("resolved_at").desc(nulls_first=True), "definition__position", "raised_at", "pk")
    )
