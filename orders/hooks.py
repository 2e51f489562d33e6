"""Extension points the apps above orders fill in, so that orders never imports them (issue 12: one direction
between apps, kept by the import contracts in pyproject.toml).

The order screens show what apps above them know — an order's open tasks, what auto-processing did to it — and
some writes of orders must let those apps react at once. Each app registers into these in its
`AppConfig.ready()`; with nothing registered, orders works alone (no tasks, nothing called).

`order_fields_changed`: called by every writer that changes fields of existing orders (order_update, the
import's merge), inside its transaction, after the orders' rows (and their new version) are written and while
their row locks are held, with the tenant's id, the orders and the names of the fields that changed. Automation
registers its re-check of the built-in tasks that depend on those fields (the address check after a destination
edit), so the task is raised or resolved at once, in the same transaction, instead of at the next
auto-processing run. A hook must not raise the orders' version again.

`orders_entered_by_hand`: after an operator registered orders by hand (phone/FAX entry), outside the entry's
transaction; automation sorts them with the tenant's rules at once, as an import does.

`orders_entered_status`: called by every writer that puts orders into a status (the set-based moves of
orders.services.bulk, the single move, a new order's first status from an import or the phone desk), inside its
transaction after the rows are written, with the tenant's id, {status id: order ids} and the actor. The mailer
registers its "mail on entering a status" (T1, T4): it queues, and sends after the commit.

`stock_checked`: called by the callers of inventory's stock check (the F11 screen, its worker task), in the
check's transaction right after it, with the tenant's id, what the check found (`StockChecked`: the orders
fully allocated, partly, not at all, skipped; per order the SKUs still lacking and the SKUs no product answers
to) and the actor. Automation registers its 欠品 / SKU不明 tasks (raised naming the SKUs, resolved when a later
check finds the order whole). Inventory lies below automation and reaches it only through this.

`provide_tasks` / `tasks()`: the one provider of "tasks" (B4) for the order screens: the tenant's task
definitions for the list's reference data, the filter "has an open task of this definition", the open tasks
of a page of rows, the counts under a status, and the order page's task panel.

`provide_mail_counts` / `mail_counts(tenant)`: T4's "unsent" badges in the status tree: {status id: (orders of
the status that have not had the status's mail, the mail kind's name)} for every status that names a mail
kind, in a fixed number of queries whatever the orders; {} when no app provides mail.

`provide_print_marks` / `print_marks(tenant_id, order_ids)`: the list's "printed" mark (issue 15): {order id:
names of the forms printed for it} for one page of rows, in one query; {} when no app prints forms.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.db.models import Exists, Prefetch, QuerySet

    from backyard.models import Tenant

    from .events import Actor
    from .models import Order

FieldsChangedHook = Callable[[int, list[int], frozenset[str]], None]
EnteredStatusHook = Callable[[int, dict[int, list[int]], "Actor", dict[int, str]], None]
EnteredHook = Callable[["Tenant", list[int], str], None]

_fields_changed: list[FieldsChangedHook] = []
_entered: list[EnteredHook] = []
_entered_status: list[EnteredStatusHook] = []


def on_order_fields_changed(hook: FieldsChangedHook) -> None:
    """Register `hook(tenant_id, order_ids, fields)`; registering the same function twice keeps one."""
    if hook not in _fields_changed:
        _fields_changed.append(hook)


def order_fields_changed(*, tenant_id: int, order_ids: Iterable[int], fields: Collection[str]) -> None:
    """Tell the registered hooks that these orders' `fields` changed (nothing when either is empty)."""
    ids = sorted(set(order_ids))
    names = frozenset(fields)
    if not ids or not names:
        return
    for hook in list(_fields_changed):
        hook(tenant_id, ids, names)


def on_orders_entered_by_hand(hook: EnteredHook) -> None:
    """Register `hook(tenant, order_ids, actor_name)`; registering the same function twice keeps one."""
    if hook not in _entered:
        _entered.append(hook)


def orders_entered_by_hand(*, tenant: Tenant, order_ids: Iterable[int], actor_name: str) -> None:
    ids = sorted(set(order_ids))
    if ids:
        for hook in list(_entered):
            hook(tenant, ids, actor_name)


def on_orders_entered_status(hook: EnteredStatusHook) -> None:
    """Register `hook(tenant_id, {status_id: order_ids}, actor, {status_id: stage})`; registering the same
    function twice keeps one."""
    if hook not in _entered_status:
        _entered_status.append(hook)


def orders_entered_status(
    *, tenant_id: int, entered: dict[int, list[int]], actor: Actor, stages: dict[int, str]
) -> None:
    """Tell the registered hooks that these orders now stand in these statuses (nothing when none did), with
    each status's stage (`stages`: status id → stage), which the callers have at hand."""
    moved = {status_id: sorted(set(ids)) for status_id, ids in entered.items() if ids}
    if moved:
        for hook in list(_entered_status):
            hook(tenant_id, moved, actor, stages)


class StockChecked(Protocol):
    """What a stock check found (inventory.services.allocation.CheckResult), as the hooks read it."""

    full: list[int]
    partial: list[int]
    short: list[int]
    skipped: list[int]
    unknown: dict[int, list[str]]  # order → SKUs no product answers to
    missing: dict[int, dict[str, int]]  # order → SKU → units still lacking


StockCheckedHook = Callable[[int, StockChecked, "Actor"], None]

_stock_checked: list[StockCheckedHook] = []


def on_stock_checked(hook: StockCheckedHook) -> None:
    """Register `hook(tenant_id, result, actor)`; registering the same function twice keeps one."""
    if hook not in _stock_checked:
        _stock_checked.append(hook)


def stock_checked(*, tenant_id: int, result: StockChecked, actor: Actor) -> None:
    """Tell the registered hooks what a stock check found (nothing when it checked no order)."""
    if result.full or result.partial or result.short:
        for hook in list(_stock_checked):
            hook(tenant_id, result, actor)


class TaskProvider(Protocol):
    """Tasks (B4) as the order screens need them; automation provides them."""

    def definitions(self, tenant: Tenant) -> QuerySet[Any]:
        """The tenant's enabled task definitions (fields id, name, colour, position) for the list."""
        ...

    def open_task_filter(self, definition_id: int) -> Exists:
        """A filter on orders: has an open task of this definition (correlated on the order's pk)."""
        ...

    def open_tasks_prefetch(self) -> Prefetch:
        """Prefetch of each row's open tasks into `order.open_tasks` (objects with `definition_id`)."""
        ...

    def counts(self, tenant: Tenant, status_id: int) -> list[Any]:
        """(definition, count) of the open tasks among the orders of one status."""
        ...

    def order_panel(self, order: Order) -> dict[str, Any]:
        """The order page's context: tasks, open_task_count, has_address_warning, rule_history."""
        ...


_tasks: TaskProvider | None = None


def provide_tasks(provider: TaskProvider) -> None:
    global _tasks
    _tasks = provider


def tasks() -> TaskProvider | None:
    """The registered task provider, None when no app provides tasks."""
    return _tasks


MailCounts = Callable[["Tenant"], dict[int, tuple[int, str]]]

_mail_counts: MailCounts | None = None


def provide_mail_counts(provider: MailCounts) -> None:
    global _mail_counts
    _mail_counts = provider


def mail_counts(tenant: Tenant) -> dict[int, tuple[int, str]]:
    """{status id: (orders without the status's mail, kind name)}; {} when no app provides mail."""
    return _mail_counts(tenant) if _mail_counts is not None else {}


PrintMarks = Callable[[int, list[int]], dict[int, list[str]]]

_print_marks: PrintMarks | None = None


def provide_print_marks(provider: PrintMarks) -> None:
    global _print_marks
    _print_marks = provider


def print_marks(tenant_id: int, order_ids: list[int]) -> dict[int, list[str]]:
    """{order id: the names of the forms printed for it} for a page of the list, in one query whatever the rows;
    {} when no app prints forms (documents provides it)."""
    if _print_marks is None or not order_ids:
        return {}
    return _print_marks(tenant_id, order_ids)
