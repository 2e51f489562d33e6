"""Reads of documents for the screens: a tenant's print jobs, the "printed" marks of a page of orders, an
order's marks, the orders a print search matches, and a shop's form settings (logo, seal). Every read is scoped
to the tenant; `access_*` answer 404 alike for another tenant's row and a missing one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from backyard.models import Tenant, access_tenant_owned
from orders.filters import OrderFilter
from orders.models import Order
from orders.sets import chunked, ids_in

from .models import DocumentKind, DocumentSettings, PrintJob, PrintMark, ReceiptDetails

JOBS_SHOWN = 50
SEARCH_FILTERS = ("ordered_from", "ordered_to", "ship_from", "ship_to", "shop", "status")  # B10's


def access_job(tenant: Tenant, job_id: object) -> PrintJob:
    return access_tenant_owned(PrintJob, tenant, job_id)


def access_settings(tenant: Tenant, settings_id: object) -> DocumentSettings:
    return access_tenant_owned(DocumentSettings, tenant, settings_id)


def job_list(tenant: Tenant) -> QuerySet[PrintJob]:
    """The tenant's recent jobs, newest first (the job list)."""
    return PrintJob.objects.for_tenant(tenant).defer("order_ids").order_by("-created_at", "-pk")[:JOBS_SHOWN]


def print_marks(tenant: Tenant | int, order_ids: Sequence[int]) -> dict[int, list[str]]:
    """{order id: the kinds printed for it, in the kinds' order}: one query per chunk of ids (a page is one)."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    order = {kind.value: n for n, kind in enumerate(DocumentKind)}
    marks: dict[int, list[str]] = defaultdict(list)
    for chunk in chunked(sorted({int(i) for i in order_ids})):
        for order_id, kind in (
            PrintMark.objects.filter(tenant_id=tenant_id)
            .filter(ids_in("order_id", chunk))
            .values_list("order_id", "kind")
        ):
            marks[order_id].append(kind)
    return {order_id: sorted(kinds, key=lambda k: order.get(k, 99)) for order_id, kinds in marks.items()}


def order_marks(tenant: Tenant, order_id: int) -> dict[str, PrintMark]:
    """One order's marks by kind (the order page's print panel)."""
    return {m.kind: m for m in PrintMark.objects.for_tenant(tenant).filter(order_id=order_id)}


def receipt_details(tenant: Tenant, order: Order) -> ReceiptDetails:
    """The order's receipt details, or unsaved ones with the defaults shown as placeholders."""
    found = ReceiptDetails.objects.for_tenant(tenant).filter(order_id=order.pk).first()
    return found or ReceiptDetails(tenant=tenant, order=order)


def shop_settings(tenant: Tenant, shop_id: int) -> DocumentSettings | None:
    return DocumentSettings.objects.for_tenant(tenant).filter(shop_id=shop_id).first()


def search_params(params: QueryDict) -> QueryDict:
    """Only B10's filters of a query (the rest of the list's filters are not offered on the print page)."""
    kept = QueryDict(mutable=True)
    for name in SEARCH_FILTERS:
        value = params.get(name, "")
        if value:
            kept[name] = value
    return kept


def print_search(*, tenant: Tenant, params: QueryDict, reference: Any) -> tuple[OrderFilter, QuerySet[Order]]:
    """The order list's filter (orders.filters.OrderFilter, choices from the tenant's reference data) with
    B10's filters only. An invalid value (another tenant's shop, a date out of range) is an error of the form,
    and the queryset is empty until the form is valid."""
    search = OrderFilter(search_params(params), queryset=Order.objects.for_tenant(tenant), reference=reference)
    if not search.is_valid():
        return search, Order.objects.none()
    return search, search.qs.order_by()


def print_mark_names(tenant_id: int, order_ids: list[int]) -> dict[int, list[str]]:
    """orders.hooks.print_marks: the names of the forms printed for each order of a page of the list."""
    return {
        order_id: [str(DocumentKind(kind).label) for kind in kinds]
        for order_id, kinds in print_marks(tenant_id, order_ids).items()
    }
