"""What automation shows on the order screens, given to orders through its extension points (orders.hooks):
orders lies below automation and never imports it; automation.apps registers these in ready()."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from backyard.models import Tenant
from orders.events import Actor
from orders.hooks import StockChecked
from orders.models import Order

from .actions import stock_tasks_follow
from .defaults import BuiltinTask
from .models import OrderTask, TaskDefinition
from .selectors import order_rule_history, order_tasks, task_counts
from .services import process


class OrderTasks:
    """orders.hooks.TaskProvider: the tasks (B4) of the order list and the order page."""

    def definitions(self, tenant: Tenant) -> QuerySet[Any]:
        return TaskDefinition.objects.for_tenant(tenant).filter(enabled=True)

    def open_task_filter(self, definition_id: int) -> Exists:
        return Exists(OrderTask.objects.filter(order_id=OuterRef("pk"), definition_id=definition_id, resolved_at=None))

    def open_tasks_prefetch(self) -> Prefetch:
        return Prefetch(
            "tasks",
            queryset=OrderTask.objects.filter(resolved_at=None).only("id", "order_id", "definition_id"),
            to_attr="open_tasks",
        )

    def counts(self, tenant: Tenant, status_id: int) -> list[Any]:
        return task_counts(tenant=tenant, status_id=status_id)

    def order_panel(self, order: Order) -> dict[str, Any]:
        tasks = order_tasks(order=order)
        return {
            "tasks": tasks,
            "open_task_count": sum(1 for task in tasks if task.resolved_at is None),
            "has_address_warning": any(
                task.resolved_at is None and task.definition.code == BuiltinTask.ADDRESS_WARNING for task in tasks
            ),
            "rule_history": order_rule_history(order=order),
        }


def process_entered_orders(tenant: Tenant, order_ids: list[int], actor_name: str) -> None:
    """Like an import: the tenant's rules and tasks sort orders entered by hand at once (B3, B4)."""
    process(tenant=tenant, order_ids=order_ids, actor_name=actor_name)


def stock_checked(tenant_id: int, result: StockChecked, actor: Actor) -> None:
    """orders.hooks' "stock checked" (F11 and its worker): the 欠品 and SKU不明 tasks follow what the check found."""
    stock_tasks_follow(tenant=Tenant.objects.get(pk=tenant_id), result=result, actor=actor)
