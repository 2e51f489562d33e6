"""Reads shared by views, tasks and admin; always scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Count, F, Prefetch, QuerySet, Value
from django.db.models.functions import Cast
from django.http import QueryDict

from backyard.models import Tenant, access_tenant_owned

from .filters import OrderFilter
from .models import Order, OrderEvent, OrderLabel, Status, StatusCount, StatusGroup


def access_order(tenant: Tenant, order_id: object) -> Order:
    qs = Order.objects.select_related("shop", "status__group", "payment_method", "delivery_method", "shipping_store")
    return access_tenant_owned(Order, tenant, order_id, qs)


def access_status(tenant: Tenant, status_id: object) -> Status:
    return access_tenant_owned(Status, tenant, status_id, Status.objects.select_related("group"))


@dataclass
class StatusNode:
    status: Status
    count: int = 0


@dataclass
class GroupNode:
    group: StatusGroup
    children: list[StatusNode] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(child.count for child in self.children)


def order_status_counts(*, tenant: Tenant) -> dict[int, int]:
    """Orders per child status, read from the counts the database keeps (StatusCount): a handful of rows."""
    return dict(StatusCount.objects.for_tenant(tenant).values_list("status_id", "n"))


def order_status_counts_recount(*, tenant: Tenant) -> dict[int, int]:
    """The same, counted from the orders themselves (one GROUP BY): to check the kept counts against."""
    rows = Order.objects.for_tenant(tenant).values("status_id").annotate(n=Count("id")).order_by()
    return {row["status_id"]: row["n"] for row in rows if row["n"]}


def status_tree(*, tenant: Tenant, with_counts: bool = True) -> list[GroupNode]:
    """The tenant's groups and child statuses in their order, each with its order count (two queries)."""
    counts = order_status_counts(tenant=tenant) if with_counts else {}
    groups: dict[int, GroupNode] = {}
    statuses = Status.objects.for_tenant(tenant).select_related("group").order_by(
        "group__position", "group_id", "position", "pk"
    )
    for status in statuses:
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
        .annotate(ref_kind=Value(kind, output_field=CharField()),
                  ref_extra=Cast(F(extra), output_field=CharField()),
                  ref_pos=F(position))
        .values_list("ref_kind", "id", "name", "ref_extra", "ref_pos")
    )


def tenant_reference(*, tenant: Tenant, user: Any) -> TenantReference:
    """Statuses (with groups) in one query; shops, payment and delivery methods, shipping stores, labels, the
    user's saved searches and list preference in one UNION ALL."""
    from automation.models import TaskDefinition
    from shipping.models import DeliveryMethod, ShippingStore
    from shops.models import Shop

    from .models import Label, ListPreference, PaymentMethod, SavedSearch

    statuses = list(
        Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "group_id",
                                                                           "position", "pk")
    )
    parts = [
        _ref_part(Shop.objects.for_tenant(tenant).filter(active=True), "shops", "mall"),
        _ref_part(PaymentMethod.objects.for_tenant(tenant).filter(active=True), "payment_methods", "code"),
        _ref_part(DeliveryMethod.objects.for_tenant(tenant).filter(active=True), "delivery_methods", "carrier"),
        _ref_part(ShippingStore.objects.for_tenant(tenant), "shipping_stores", "code"),
        _ref_part(Label.objects.for_tenant(tenant), "labels", "colour"),
        _ref_part(TaskDefinition.objects.for_tenant(tenant).filter(enabled=True), "tasks", "colour"),
        _ref_part(SavedSearch.objects.for_tenant(tenant).filter(user_id=user.pk), "saved_searches", "query"),
        _ref_part(
            ListPreference.objects.for_tenant(tenant).filter(user_id=user.pk).annotate(name=F("sort")),
            "preference", "page_size", position="page_size",
        ),
    ]
    ref = TenantReference(statuses=statuses)
    rows = parts[0].union(*parts[1:], all=True)
    for kind, pk, name, extra, position in rows:
        if kind == "preference":
            ref.page_size, ref.sort = int(position), name or ""
            continue
        getattr(ref, kind).append(RefRow(pk, name, extra or "", position or 0))
    for kind in ("shops", "payment_methods", "delivery_methods", "shipping_stores", "labels", "tasks",
                 "saved_searches"):
        getattr(ref, kind).sort(key=lambda r: (r.position, r.id))
    return ref


def status_tree_from(*, statuses: list[Status], counts: dict[int, int]) -> list[GroupNode]:
    groups: dict[int, GroupNode] = {}
    for status in statuses:
        node = groups.setdefault(status.group_id, GroupNode(group=status.group))
        node.children.append(StatusNode(status=status, count=counts.get(status.pk, 0)))
    return list(groups.values())


def order_search(*, tenant: Tenant, params: QueryDict, reference: TenantReference) -> OrderFilter:
    """The filtered orders of the tenant for a query string: the list, the CSV export, "select all matching"
    and bulk edit all read through this, so they always agree."""
    return OrderFilter(params, queryset=Order.objects.for_tenant(tenant), reference=reference)


def order_list_rows(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """What a list row shows, without a query per row: related names joined, label and open-task ids
    prefetched (one query each for the whole page)."""
    from automation.models import OrderTask

    return queryset.select_related("shop", "payment_method", "delivery_method", "status__group").prefetch_related(
        Prefetch("order_labels", queryset=OrderLabel.objects.only("id", "order_id", "label_id")),
        Prefetch("tasks", queryset=OrderTask.objects.filter(resolved_at=None).only("id", "order_id", "definition_id"),
                 to_attr="open_tasks"),
    ).defer("search_text", "work_memo", "remarks", "order_comment", "post_order_comment")
