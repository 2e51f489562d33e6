"""Bundle candidates (issue 17, B8/T11/F10): open orders that can travel as one parcel because they go to the
same destination (orders/destination.py's keys).

`bundle_candidates` finds the groups with one aggregate over the partial index of open orders that have the key
(order_open_dest_key_name / _phone), then reads the orders of the groups asked for by the same index: two
queries whatever the tenant's size (three when there are more groups than asked for: their count). A group is
two or more open orders (not shipped, completed or cancelled) with the same key, in the stages allowed, of one
shop unless shops may be mixed (some malls forbid shipping one mall's order with another's).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Min, OuterRef

from backyard.models import Tenant

from .models import CLOSED_STAGES, Order
from .sets import chunked, ids_in

MATCHES = {"name_address": "dest_key_name", "phone_address": "dest_key_phone"}


@dataclass
class CandidateGroup:
    key: str
    shop_id: int | None  # the shop of every order of the group; None when shops are mixed
    order_ids: list[int] = field(default_factory=list)


def bundle_candidates(
    tenant: Tenant,
    *,
    match: str = "name_address",
    across_shops: bool = False,
    stages: Collection[str] | None = None,
    limit: int = 200,
) -> tuple[list[CandidateGroup], int]:
    """The first `limit` candidate groups (oldest first by their first order's id) and how many there are.
    `stages`: the stages whose orders may be bundled (every open stage when None)."""
    column = MATCHES[match]
    open_orders = Order.objects.filter(tenant=tenant).exclude(stage__in=[str(s) for s in CLOSED_STAGES])
    open_orders = open_orders.exclude(**{column: ""})
    if stages is not None:
        open_orders = open_orders.filter(stage__in=list(stages))
    by = [column] if across_shops else [column, "shop_id"]
    grouped = open_orders.order_by().values(*by).annotate(n=Count("id"), first=Min("id")).filter(n__gt=1)
    shown = list(grouped.order_by("first")[:limit])
    total = len(shown) if len(shown) < limit else grouped.count()
    found: dict[tuple[str, int | None], CandidateGroup] = {}
    for group in shown:
        shop = None if across_shops else group["shop_id"]
        found[(group[column], shop)] = CandidateGroup(key=group[column], shop_id=shop)
    if found:
        rows = (
            open_orders.filter(**{f"{column}__in": sorted({key for key, _shop in found})})
            .order_by("id")
            .values_list("id", column, "shop_id")
        )
        for order_id, key, shop_id in rows:
            group_of = found.get((key, None if across_shops else shop_id))
            if group_of is not None:
                group_of.order_ids.append(order_id)
    return list(found.values()), total


def orders_with_siblings(tenant: Tenant, order_ids: Collection[int], *, match: str = "name_address") -> set[int]:
    """Of these open orders, those that another open order of the same shop goes with (same destination key):
    the built-in task 同梱候補 (automation). One query per chunk, each order's question answered by the partial
    index of open orders by key and shop."""
    column = MATCHES[match]
    closed = [str(s) for s in CLOSED_STAGES]
    sibling = (
        Order.objects.filter(tenant_id=tenant.pk, **{column: OuterRef(column)}, shop_id=OuterRef("shop_id"))
        .exclude(pk=OuterRef("pk"))
        .exclude(stage__in=closed)
    )
    found: set[int] = set()
    for chunk in chunked(sorted(set(order_ids))):
        found.update(
            Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant.pk)
            .exclude(stage__in=closed)
            .exclude(**{column: ""})
            .filter(Exists(sibling))
            .values_list("pk", flat=True)
        )
    return found


ROW_FIELDS = (
    "pk",
    "external_id",
    "shop__name",
    "status__name",
    "status__colour",
    "ordered_at",
    "dest_name",
    "dest_postal_code",
    "dest_prefecture",
    "dest_city",
    "dest_address1",
    "dest_address2",
    "dest_phone",
    "payment_method__name",
    "delivery_method__name",
    "total",
)


def candidate_rows(
    tenant: Tenant, groups: list[CandidateGroup]
) -> list[tuple[CandidateGroup, list[dict[str, object]]]]:
    """Each group with its orders as the F10 screen shows them (one query for all of them)."""
    ids = [order_id for group in groups for order_id in group.order_ids]
    rows = {row["pk"]: row for row in Order.objects.filter(tenant_id=tenant.pk, pk__in=ids).values(*ROW_FIELDS)}
    return [(group, [rows[order_id] for order_id in group.order_ids if order_id in rows]) for group in groups]
