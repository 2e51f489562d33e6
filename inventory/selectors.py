"""Reads of products and stock for the screens: the product list (search, filter, sort, with `available`
computed in SQL), one product with its sets, aliases, holders and history, and the low-stock list with what
the orders waiting for each product lack.

Every read here is a fixed number of queries whatever the number of rows: pages are slices, the numbers a
row shows are annotated or read for the whole page at once, never per row.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, DenseRank

from backyard.models import Tenant
from orders.models import Order, OrderLine

from .models import Allocation, Product, SetComponent, SkuAlias, StockMove
from .services.receiving import WAITING

# The product list's filters (forms.ProductSearchForm offers them) and sort keys (column → order_by).
SHOW_ACTIVE, SHOW_LOW, SHOW_SETS, SHOW_INACTIVE, SHOW_ALL = "", "low", "sets", "inactive", "all"
SORTS: dict[str, tuple[str, ...]] = {
    "sku": ("sku",),
    "name": ("name", "sku"),
    "location": ("location", "sku"),
    "on_hand": ("on_hand", "sku"),
    "allocated": ("allocated", "sku"),
    "available": ("available_units", "sku"),
    "reorder_point": ("reorder_point", "sku"),
}
ORDERS_NAMED = 10  # waiting order numbers shown per product on the low-stock list
HOLDERS_SHOWN = 100  # orders holding a product shown on its page


def with_available(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """`available_units` = on hand − allocated, in SQL (to sort and filter on it)."""
    return queryset.annotate(available_units=F("on_hand") - F("allocated"))


def is_low() -> Q:
    """A single, active product at or under its reorder point (on an queryset `with_available`)."""
    return Q(available_units__lte=F("reorder_point"), is_set=False, active=True)


def product_list(tenant: Tenant, *, q: str = "", show: str = SHOW_ACTIVE, sort: str = "sku") -> QuerySet[Product]:
    """The tenant's products: `q` is part of a SKU or a name, or a whole JAN code; `show` one of SHOW_*;
    `sort` a key of SORTS, "-" before it for descending."""
    products = with_available(Product.objects.for_tenant(tenant))
    if show == SHOW_LOW:
        products = products.filter(is_low())
    elif show == SHOW_SETS:
        products = products.filter(is_set=True, active=True)
    elif show == SHOW_INACTIVE:
        products = products.filter(active=False)
    elif show != SHOW_ALL:
        products = products.filter(active=True)
    q = q.strip()
    if q:
        jan = unicodedata.normalize("NFKC", q).replace("-", "").replace(" ", "")
        products = products.filter(Q(sku__icontains=q) | Q(name__icontains=q) | Q(jan=jan))
    descending = sort.startswith("-")
    columns = SORTS.get(sort.lstrip("-"), SORTS["sku"])
    order = [f"-{columns[0]}" if descending else columns[0], *columns[1:]]
    if "sku" not in order and "-sku" not in order:
        order.append("sku")
    return products.order_by(*order).only(
        "pk", "sku", "name", "options", "location", "on_hand", "allocated", "reorder_point", "is_set", "active"
    )


# --- one product -----------------------------------------------------------------------------------------


@dataclass
class ProductSheet:
    """What the product page shows besides the product itself."""

    components: list[SetComponent]  # a set's components, each with its product
    in_sets: list[SetComponent]  # the sets this product is part of, each with its set
    aliases: list[SkuAlias]
    holders: list[dict[str, Any]]  # {order_id, number, status, units}, oldest order first
    more_holders: bool
    sets_available: int | None  # how many whole sets the components' available stock makes (a set only)


def product_sheet(product: Product) -> ProductSheet:
    """Four queries: components, sets, aliases, the orders holding the product."""
    tenant_id = product.tenant_id
    components = list(
        SetComponent.objects.filter(tenant_id=tenant_id, set_product_id=product.pk)
        .select_related("component")
        .order_by("component__sku")
    )
    in_sets = list(
        SetComponent.objects.filter(tenant_id=tenant_id, component_id=product.pk)
        .select_related("set_product")
        .order_by("set_product__sku")
    )
    aliases = list(SkuAlias.objects.filter(tenant_id=tenant_id, product_id=product.pk).order_by("mall", "mall_sku"))
    holders: list[dict[str, Any]] = [
        dict(row)
        for row in Allocation.objects.filter(tenant_id=tenant_id, product_id=product.pk)
        .values("order_id")
        .annotate(number=F("order__external_id"), status=F("order__status__name"), units=Sum("quantity"))
        .order_by("order__ordered_at", "order_id")[: HOLDERS_SHOWN + 1]
    ]
    sets_available = None
    if product.is_set and components:
        sets_available = min(max(0, c.component.available) // c.quantity for c in components)
    return ProductSheet(
        components=components,
        in_sets=in_sets,
        aliases=aliases,
        holders=holders[:HOLDERS_SHOWN],
        more_holders=len(holders) > HOLDERS_SHOWN,
        sets_available=sets_available,
    )


def stock_history(product: Product) -> QuerySet[StockMove]:
    """The product's stock changes, newest first, with the order's number joined in."""
    return (
        StockMove.objects.filter(tenant_id=product.tenant_id, product_id=product.pk)
        .select_related("order")
        .only(
            "pk",
            "at",
            "kind",
            "on_hand_change",
            "allocated_change",
            "on_hand_after",
            "allocated_after",
            "actor_name",
            "note",
            "order_id",
            "order__external_id",
        )
        .order_by("-at", "-pk")
    )


# --- low stock -------------------------------------------------------------------------------------------


def low_stock_list(tenant: Tenant) -> QuerySet[Product]:
    """Single, active products at or under their reorder point, the furthest under first."""
    return (
        with_available(Product.objects.for_tenant(tenant))
        .filter(is_low())
        .annotate(under=F("reorder_point") - F("available_units"))
        .order_by("-under", "sku")
        .only("pk", "sku", "name", "options", "location", "on_hand", "allocated", "reorder_point")
    )


@dataclass
class Waiting:
    """What the waiting orders lack of one product: units, how many orders, the first ORDERS_NAMED of them."""

    units: int = 0
    orders: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)  # (order id, order number), oldest first


def _lacking_lines(tenant: Tenant, skus: list[str]) -> QuerySet[OrderLine]:
    """Lines naming one of `skus` in orders waiting for stock (the stages receiving checks again), each with
    `lack`: its quantity less what it holds of the product of that SKU; only lines that lack some."""
    held = Allocation.objects.filter(tenant_id=tenant.pk, line_id=OuterRef("pk"), product__sku=OuterRef("sku")).values(
        "quantity"
    )[:1]
    return (
        OrderLine.objects.filter(tenant_id=tenant.pk, sku__in=skus, quantity__gt=0)
        .filter(order__tenant_id=tenant.pk, order__stage__in=WAITING)
        .annotate(lack=F("quantity") - Coalesce(Subquery(held, output_field=IntegerField()), Value(0)))
        .filter(lack__gt=0)
    )


def waiting_for(tenant: Tenant, skus: list[str]) -> dict[str, Waiting]:
    """{SKU: Waiting} for the products of a page: two queries (the sums grouped by SKU, then the first
    orders of each SKU ranked in SQL), whatever the number of orders waiting."""
    if not skus:
        return {}
    found: dict[str, Waiting] = defaultdict(Waiting)
    for sku, units, orders in (
        _lacking_lines(tenant, skus)
        .order_by()
        .values("sku")
        .annotate(units=Sum("lack"), orders=Count("order_id", distinct=True))
        .values_list("sku", "units", "orders")
    ):
        found[sku].units, found[sku].orders = units, orders
    ranked = (
        _lacking_lines(tenant, skus)
        .annotate(
            rank=Window(
                DenseRank(),
                partition_by=[F("sku")],
                order_by=[F("order__ordered_at").asc(), F("order_id").asc()],
            )
        )
        .filter(rank__lte=ORDERS_NAMED)
        .values_list("sku", "order_id", "order__external_id", "rank")
    )
    for sku, order_id, number, _rank in sorted(ranked, key=lambda row: (row[0], row[3])):
        first = found[sku].first
        if not first or first[-1][0] != order_id:
            first.append((order_id, number))
    return dict(found)


def product_kinds(tenant: Tenant, skus: list[str]) -> dict[str, bool]:
    """{SKU: is a set} of the tenant's products among `skus` (one query)."""
    return dict(Product.objects.for_tenant(tenant).filter(sku__in=skus).values_list("sku", "is_set"))


def order_numbers(tenant: Tenant, order_ids: list[int]) -> list[tuple[int, str]]:
    """(id, number) of the tenant's orders among `order_ids`, in the order given."""
    numbers = dict(Order.objects.for_tenant(tenant).filter(pk__in=order_ids).values_list("pk", "external_id"))
    return [(pk, numbers[pk]) for pk in order_ids if pk in numbers]
