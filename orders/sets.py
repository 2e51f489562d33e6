"""Working on sets of orders in SQL: ids in chunks, `id IN (…)` as one array parameter, order stubs for the
event builders.

Every set-based writer uses these (orders.services.bulk, orders.locks, automation's engine and actions, the
shops' import), so that a call costs a fixed number of statements per chunk of CHUNK orders, never one per
order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import F, Lookup
from django.db.models.lookups import In

from backyard.models import Tenant

from .models import Order

CHUNK = 5_000  # ids per `pk IN (…)` statement


def chunked(ids: list[int]) -> Iterator[list[int]]:
    """`ids` in slices of at most CHUNK."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class AnyOf(Lookup):
    """`column IN (SELECT unnest(%s::bigint[]))` with the ids as ONE array parameter on PostgreSQL, `IN (…)`
    elsewhere. Used as an expression: `Order.objects.filter(ids_in("pk", chunk))`.

    Why: bound one by one, psycopg's client-side binding spends more time splicing 5,000 parameters into a
    statement than PostgreSQL spends running it; and `id = ANY(array)` would be checked element by element
    for every row of a nested loop (a condition with EXISTS over tasks or labels), while the unnested array
    is a relation the planner joins or hashes."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor == "postgresql":
            lhs, params = self.process_lhs(compiler, connection)
            return f"{lhs} IN (SELECT unnest(%s::bigint[]))", (*params, self.rhs)
        if not self.rhs:
            return "1 = 0", ()
        sql, params = In(self.lhs, self.rhs).as_sql(compiler, connection)
        return sql, tuple(params)


def ids_in(name: str, ids: Iterable[int]) -> AnyOf:
    """A filter: the field `name` (an id) is one of `ids` (a chunk of at most CHUNK)."""
    return AnyOf(F(name), list(ids))


class OrderStubs(dict[int, Order]):
    """Orders carrying only what the event builders read (pk, tenant), all other fields deferred: nothing more
    is loaded, and building one costs a fifth of Order(pk=…, tenant_id=…), which fills in ~80 defaults. Built
    on first use, so a call that changes a few of 10,000 selected orders builds a few."""

    def __init__(self, tenant_id: int) -> None:
        super().__init__()
        self.tenant_id = tenant_id

    def __missing__(self, order_id: int) -> Order:
        stub = self[order_id] = order_stub(order_id, self.tenant_id)
        return stub


def order_stub(order_id: int, tenant_id: int) -> Order:
    """One order carrying only its id and tenant (see OrderStubs)."""
    return Order.from_db(None, ["id", "tenant_id"], [order_id, tenant_id])


def order_stubs(tenant: Tenant | int) -> OrderStubs:
    """Event stubs for the tenant's orders, by id, built on first use (see OrderStubs)."""
    return OrderStubs(tenant if isinstance(tenant, int) else int(tenant.pk))
