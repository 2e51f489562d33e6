"""Reads shared by views, tasks and admin; always scoped to one tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Count, F, Prefetch, QuerySet, Value
from django.db.models.functions import Cast
from django.http import QueryDict

from backyard.models import Tenant, access_tenant_owned
from shipping.models import DeliveryMethod, ShippingStore
from shops.models import Shop

from . import hooks
from .filters import OrderFilter
from .models import (
    Label,
    ListPreference,
    Order,
    OrderEvent,
    OrderLabel,
    PaymentMethod,
    SavedSearch,
    Status,
    StatusCount,
    StatusGroup,
)
from .search import normalize


def access_order(tenant: Tenant, order_id: object) -> Order:
    qs = Order.objects.select_related("shop", "status__group", "payment_method", "delivery_method", "shipping_store")
    return access_tenant_owned(Order, tenant, order_id, qs)


def access_status(tenant: Tenant, status_id: object) -> Status:
    return access_tenant_owned(Status, tenant, status_id, Status.objects.select_related("group"))


@dataclass
class StatusNode:
    status: Status
    count: int = 0
    hits: int | None = None  # a search's hits in this status, when the list shows a search


@dataclass
class GroupNode:
    group: StatusGroup
    children: list[StatusNode] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(child.count for child in self.children)

    @property
    def hits(self) -> int | None:
        if any(child.hits is None for child in self.children):
            return None
        return sum(child.hits or 0 for child in self.children)


def order_status_counts(*, tenant: Tenant) -> dict[int, int]:
    """Orders per child status, read from the counts the database keeps (StatusCount): a handful of rows."""
    return dict(StatusCount.objects.for_tenant(tenant).values_list("status_id", "n"))


def order_status_counts_recount(*, tenant: Tenant) -> dict[int, int]:
    """The same, counted from the orders themselves (one GROUP BY): to check the kept counts against."""
    rows = Order.objects.for_tenant(tenant).values("status_id").annotate(n=Count("id")).order_by()
    return {row["status_id"]: row["n"] for row in rows if row["n"]}


# The tenant's own order of its statuses: groups by position, then each group's children by position.
STATUS_ORDER = ("group__position", "group_id", "position", "pk")


def statuses_in_order(*, tenant: Tenant | int) -> list[Status]:
    """The tenant's statuses with their groups, first group first (a few dozen rows, one query)."""
    return list(Status.objects.for_tenant(tenant).select_related("group").order_by(*STATUS_ORDER))


def first_status(*, tenant: Tenant | int, stage: str, statuses: Iterable[Status] | None = None) -> Status | None:
    """The first child status of the first group bound to `stage`, in the tenant's own order: where a new
    order lands (the "new" stage), where payment confirmation and a cancellation take an order, where the
    default rules send it. None when the tenant has no status in that stage.

    `statuses`: the tenant's statuses as statuses_in_order gives them, when the caller has them already (no
    query then); otherwise one query."""
    if statuses is not None:
        return next((status for status in statuses if status.group.stage == stage), None)
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .select_related("group")
        .order_by(*STATUS_ORDER)
        .first()
    )


def status_tree(*, tenant: Tenant, with_counts: bool = True) -> list[GroupNode]:
    """The tenant's groups and child statuses in their order, each with its order count (two queries)."""
    counts = order_status_counts(tenant=tenant) if with_counts else {}
    groups: dict[int, GroupNode] = {}
    for status in statuses_in_order(tenant=tenant):
        node = groups.setdefault(status.group_id, GroupNode(group=status.group))
        node.children.append(StatusNode(status=status, count=counts.get(status.pk, 0)))
    return list(groups.values())


def order_events(*, order: Order) -> QuerySet[OrderEvent]:
    return OrderEvent.objects.for_tenant(order.tenant_id).filter(order=order).order_by("at", "pk")


# --- the order list ------------------------------------------------------------------------------------


@dataclass
class RefRow:
    id: int
    name: str
    extra: str
    position: int


@dataclass
class TenantReference:
    """The tenant's small tables the list needs, loaded in two queries whatever the page shows."""

    statuses: list[Status]
    shops: list[RefRow] = field(default_factory=list)
    payment_methods: list[RefRow] = field(default_factory=list)
    delivery_methods: list[RefRow] = field(default_factory=list)
    shipping_stores: list[RefRow] = field(default_factory=list)
    labels: list[RefRow] = field(default_factory=list)
    tasks: list[RefRow] = field(default_factory=list)  # the tenant's enabled task definitions; extra = colour
    saved_searches: list[RefRow] = field(default_factory=list)
    page_size: int | None = None
    sort: str = ""

    def by_id(self, kind: str) -> dict[int, RefRow]:
        return {row.id: row for row in getattr(self, kind)}


def _ref_part(qs: QuerySet[Any], kind: str, extra: str, position: str = "position") -> QuerySet[Any]:
    return (
        qs.order_by()
        .annotate(
            ref_kind=Value(kind, output_field=CharField()),
            ref_extra=Cast(F(extra), output_field=CharField()),
            ref_pos=F(position),
        )
        .values_list("ref_kind", "id", "name", "ref_extra", "ref_pos")
    )


def tenant_reference(*, tenant: Tenant, user: Any) -> TenantReference:
    """Statuses (with groups) in one query; shops, payment and delivery methods, shipping stores, labels, the
    user's saved searches and list preference in one UNION ALL."""
    statuses = list(
        Status.objects.for_tenant(tenant)
        .select_related("group")
        .order_by("group__position", "group_id", "position", "pk")
    )
    parts = [
        _ref_part(Shop.objects.for_tenant(tenant).filter(active=True), "shops", "mall"),
        _ref_part(PaymentMethod.objects.for_tenant(tenant).filter(active=True), "payment_methods", "code"),
        _ref_part(DeliveryMethod.objects.for_tenant(tenant).filter(active=True), "delivery_methods", "carrier"),
        _ref_part(ShippingStore.objects.for_tenant(tenant), "shipping_stores", "code"),
        _ref_part(Label.objects.for_tenant(tenant), "labels", "colour"),
        _ref_part(SavedSearch.objects.for_tenant(tenant).filter(user_id=user.pk), "saved_searches", "query"),
        _ref_part(
            ListPreference.objects.for_tenant(tenant).filter(user_id=user.pk).annotate(name=F("sort")),
            "preference",
            "page_size",
            position="page_size",
        ),
    ]
    task_provider = hooks.tasks()
    if task_provider is not None:
        parts.append(_ref_part(task_provider.definitions(tenant), "tasks", "colour"))
    ref = TenantReference(statuses=statuses)
    rows = parts[0].union(*parts[1:], all=True)
    for kind, pk, name, extra, position in rows:
        if kind == "preference":
            ref.page_size, ref.sort = int(position), name or ""
            continue
        getattr(ref, kind).append(RefRow(pk, name, extra or "", position or 0))
    for kind in (
        "shops",
        "payment_methods",
        "delivery_methods",
        "shipping_stores",
        "labels",
        "tasks",
        "saved_searches",
    ):
        getattr(ref, kind).sort(key=lambda r: (r.position, r.id))
    return ref


def status_tree_from(
    *, statuses: list[Status], counts: dict[int, int], hits: dict[int, int] | None = None
) -> list[GroupNode]:
    groups: dict[int, GroupNode] = {}
    for status in statuses:
        node = groups.setdefault(status.group_id, GroupNode(group=status.group))
        node.children.append(
            StatusNode(
                status=status, count=counts.get(status.pk, 0), hits=hits.get(status.pk, 0) if hits is not None else None
            )
        )
    return list(groups.values())


def order_search(
    *, tenant: Tenant, params: QueryDict, reference: TenantReference, scan_text: bool = False
) -> OrderFilter:
    """The filtered orders of the tenant for a query string: the list, the CSV export, "select all matching"
    and bulk edit all read through this, so they always agree."""
    return OrderFilter(params, queryset=Order.objects.for_tenant(tenant), reference=reference, scan_text=scan_text)


def search_hit_cap() -> int:
    """A search counts its hits up to this many; past it the list says "1,000+" and the status tree shows no
    hit counts (an operator narrows a search that large rather than reading it)."""
    return int(settings.ORDER_SEARCH_HIT_CAP)


@dataclass
class ListSearch:
    """What the order list shows for a query string.

    `hits` holds the search's hits per status, across every status, so that the status tree can show where
    they are (None without a search, or when there are more than the cap). `matching` is the number
    of orders the table pages through; with `capped` it is a lower bound ("1,000+")."""

    search: OrderFilter
    queryset: QuerySet[Order]
    matching: int | None
    capped: bool = False
    searching: bool = False
    hits: dict[int, int] | None = None
    status_id: int | None = None


def _searching(search: OrderFilter, params: QueryDict) -> bool:
    return any(params.get(name) for name in search.filters if name != "status")


@contextmanager
def index_probe(search: OrderFilter) -> Iterator[None]:
    """On PostgreSQL, while probing a free-text search, plan only bitmap scans: the text indexes then find
    the hits whatever the table's statistics say (a stale estimate otherwise sends a rare phone number walking
    the date index, or a common name through the whole table). Rolled back afterwards, so nothing else in
    the transaction is affected."""
    if connection.vendor != "postgresql" or not _needle(search):
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            # work_mem: room for the bitmaps to stay exact (row by row) when a search narrowed to a status
            # ANDs the term's orders with the status's, instead of degrading to whole pages to re-check.
            cursor.execute(
                "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; "
                "SET LOCAL enable_indexonlyscan = off; SET LOCAL work_mem = '32MB'"
            )
        yield
        transaction.set_rollback(True)


def _needle(search: OrderFilter) -> str:
    return normalize(search.form.cleaned_data.get("q") or "")


def _probe(search: OrderFilter) -> list[tuple[int, int]] | None:
    """(id, status) of every hit, or None when there are more than the cap: one capped query."""
    cap = search_hit_cap()
    with index_probe(search):
        rows = list(search.qs.order_by().values_list("pk", "status_id")[: cap + 1])
    return rows if len(rows) <= cap else None


DATE_SORTS = frozenset({"", "ordered_at", "-ordered_at"})


def order_list_search(
    *, tenant: Tenant, params: QueryDict, reference: TenantReference, status_counts: dict[int, int], sort: str = ""
) -> ListSearch:
    """The order list's query (T7): a status alone pages through that status with its kept count; a search
    (free text or any filter) covers every status unless a status is given too, and is probed first — one
    capped query through the text indexes collects the hits and their statuses, so the tree can show how many
    each status holds and the page reads those ids alone. Only a search with more hits than the cap pages
    through the date index (it finds a page within the first few thousand orders it walks)."""
    search = order_search(tenant=tenant, params=params, reference=reference)
    if not search.is_valid():
        return ListSearch(search=search, queryset=Order.objects.none(), matching=0)
    status_id = search.form.cleaned_data.get("status") or None
    if not _searching(search, params):
        known = status_counts.get(status_id, 0) if status_id is not None else sum(status_counts.values())
        return ListSearch(search=search, queryset=search.qs, matching=known, status_id=status_id)
    wide = search
    if status_id is not None:
        wide_params = params.copy()
        wide_params.pop("status", None)
        wide = order_search(tenant=tenant, params=wide_params, reference=reference)
        wide.is_valid()
    rows = _probe(wide)
    hits = None
    if rows is None and status_id is not None:
        rows = _probe(search)  # too many everywhere; perhaps not in this status
    else:
        hits = dict(Counter(status for _pk, status in rows)) if rows is not None else None
    if rows is not None:
        ids = [pk for pk, status in rows if status_id is None or status == status_id]
        return ListSearch(
            search=search,
            queryset=Order.objects.for_tenant(tenant).filter(pk__in=ids),
            matching=len(ids),
            searching=True,
            hits=hits,
            status_id=status_id,
        )
    # More hits than the cap: newest first walks the date index and stops after a page; another sort has
    # to see every hit anyway, through the text index.
    scan = order_search(tenant=tenant, params=params, reference=reference, scan_text=sort in DATE_SORTS)
    scan.is_valid()
    return ListSearch(
        search=search, queryset=scan.qs, matching=search_hit_cap() + 1, capped=True, searching=True, status_id=status_id
    )


def order_list_rows(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """What a list row shows, without a query per row: related names joined, label and open-task ids
    prefetched (one query each for the whole page)."""
    prefetches: list[Prefetch[Any, Any, Any]] = [
        Prefetch("order_labels", queryset=OrderLabel.objects.only("id", "order_id", "label_id"))
    ]
    task_provider = hooks.tasks()
    if task_provider is not None:
        prefetches.append(task_provider.open_tasks_prefetch())
    return (
        queryset.select_related("shop", "payment_method", "delivery_method", "status__group")
        .prefetch_related(*prefetches)
        .defer("search_text", "work_memo", "remarks", "order_comment", "post_order_comment")
    )
