"""Row locks: the one module that takes them. Every service that locks an order (or a shop, or a sync row)
does it through these helpers, so two rules hold everywhere:

- the rows of the table asked for, and nothing else: `SELECT … FOR UPDATE OF "orders_order"` (`of=("self",)`).
  A plain `select_for_update()` over a query that joins (select_related, a filter or a value across a foreign
  key) also locks every joined row: the order's status and status group, and the tenant. On PostgreSQL every
  foreign-key check takes FOR KEY SHARE on the row it points at and waits for a FOR UPDATE held there, so one
  operator's edit used to hold up, for the whole tenant, every insert of an event or a line, every new order
  (an import) and every move of another order into that status (a bulk edit);
- several orders are locked in ascending id order, so two writers whose sets overlap queue one behind the other
  instead of deadlocking.

A shop's row is locked FOR NO KEY UPDATE: two writers that number or import a shop's orders take turns, while
rows that merely point at the shop (its orders, import runs, failures) can still be inserted by others.

tests/orders/test_locks.py proves it with two real database connections: while one order is locked by an edit,
an import into the same tenant and a bulk edit of other orders of the tenant go through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet, Subquery

from backyard.models import Tenant
from shops.models import Shop

from .models import Order
from .sets import chunked, ids_in

M = TypeVar("M", bound=Model)
OrderIds = Iterable[int] | QuerySet[Order]
Row = dict[str, Any]


def locked(queryset: QuerySet[M], *, skip_locked: bool = False, no_key: bool = False) -> QuerySet[M]:
    """`queryset` read under row locks on its own table's rows only, in ascending id order."""
    return queryset.select_for_update(of=("self",), skip_locked=skip_locked, no_key=no_key).order_by("pk")


def order_lock(order: Order, *related: str) -> Order:
    """Re-read one order under its row lock, so two writers queue instead of overwriting each other; `related`
    are select_related paths read with it (not locked). Inside a transaction."""
    qs = Order.objects.filter(pk=order.pk, tenant_id=order.tenant_id)
    if related:
        qs = qs.select_related(*related)
    return locked(qs).get()


def _scope(tenant: Tenant, order_ids: QuerySet[Order]) -> QuerySet[Order]:
    if order_ids.model is not Order:
        raise TypeError(f"expected orders, got {order_ids.model.__name__}")
    return locked(Order.objects.for_tenant(tenant).filter(pk__in=Subquery(order_ids.values("pk"))))


def orders_lock(tenant: Tenant, order_ids: OrderIds, fields: tuple[str, ...]) -> tuple[list[Row], int]:
    """The tenant's orders among `order_ids` as rows of `fields`, locked in id order, and how many of the ids
    asked for were not found. Whatever comes in (ids, or a queryset such as "all matching this search") is
    re-scoped to the tenant: another tenant's order is simply not found. One query per chunk of ids."""
    if isinstance(order_ids, QuerySet):
        return list(_scope(tenant, order_ids).values(*fields)), 0
    ids = sorted({int(order_id) for order_id in order_ids})
    qs = locked(Order.objects.for_tenant(tenant))
    rows: list[Row] = []
    for chunk in chunked(ids):
        rows.extend(qs.filter(ids_in("pk", chunk)).values(*fields))
    return rows, len(ids) - len(rows)


def orders_lock_ids(tenant: Tenant, order_ids: OrderIds) -> tuple[list[int], int]:
    """orders_lock for the ids alone: the tenant's orders among `order_ids`, locked, in id order, and how many
    of the ids asked for were not found."""
    if isinstance(order_ids, QuerySet):
        return list(_scope(tenant, order_ids).values_list("pk", flat=True)), 0
    wanted = sorted({int(order_id) for order_id in order_ids})
    qs = locked(Order.objects.for_tenant(tenant))
    ids: list[int] = []
    for chunk in chunked(wanted):
        ids.extend(qs.filter(ids_in("pk", chunk)).values_list("pk", flat=True))
    return ids, len(wanted) - len(ids)


def orders_lock_objects(tenant_id: int, order_ids: list[int], *related: str) -> dict[int, Order]:
    """The tenant's orders among `order_ids` (sorted), whole, locked in id order, by id; `related` as for
    order_lock. One query per chunk."""
    found: dict[int, Order] = {}
    for chunk in chunked(sorted(set(order_ids))):
        qs = Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant_id)
        if related:
            qs = qs.select_related(*related)
        found.update((order.pk, order) for order in locked(qs))
    return found


def shop_lock(shop: Shop, *, tenant: Tenant | None = None) -> None:
    """Lock the shop's row FOR NO KEY UPDATE till the transaction ends: writers that number or import the
    shop's orders take turns (see the module's docstring). `tenant`: the shop must be that tenant's."""
    qs = Shop.objects.filter(pk=shop.pk)
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    list(locked(qs, no_key=True).values_list("pk", flat=True))
