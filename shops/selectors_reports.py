"""Reads of the shipment reports to the malls (B12) that the order panel and the shops page share: a fixed few
queries whatever the number of reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from backyard.models import Tenant
from orders.models import Order

from .models import NOT_TOLD, RETRYABLE, ShipmentReport, Shop
from .services.reports import api_shop_ids

FAILURES_SHOWN = 100


def order_reports(*, tenant: Tenant, order: Order) -> list[ShipmentReport]:
    """The order's reports, one per mall order it reports to, with their shop (one query)."""
    return list(ShipmentReport.objects.for_tenant(tenant).filter(order=order).select_related("shop").order_by("pk"))


@dataclass
class ShopReports:
    shop: Shop
    api: bool  # told through the mall's API (else by file)
    not_told: int = 0
    failed: int = 0  # refused or failed: waiting for an operator's retry (or a file)
    waiting: int = 0  # pending or being sent


@dataclass
class ReportsOverview:
    shops: list[ShopReports] = field(default_factory=list)
    failures: list[ShipmentReport] = field(default_factory=list)  # the newest FAILURES_SHOWN
    failures_total: int = 0
    api_waiting: int = 0  # pending or being sent through an API (a retry picks up those left behind)

    @property
    def not_told(self) -> int:
        return sum(row.not_told for row in self.shops)


def reports_overview(*, tenant: Tenant, shop: Shop | None = None) -> ReportsOverview:
    """Per shop (of the tenant, or the one given) the reports not told yet, and the failed and refused ones
    to retry, newest first: three queries (shops, counts by shop and state, the failures shown)."""
    shops = list(Shop.objects.for_tenant(tenant).order_by("position", "pk")) if shop is None else [shop]
    api = api_shop_ids(shops)
    rows = {s.pk: ShopReports(shop=s, api=s.pk in api) for s in shops}
    reports = ShipmentReport.objects.for_tenant(tenant).filter(state__in=NOT_TOLD)
    if shop is not None:
        reports = reports.filter(shop=shop)
    for shop_id, state, count in reports.values_list("shop_id", "state").annotate(n=Count("pk")).order_by():
        row = rows.get(shop_id)
        if row is None:
            continue
        row.not_told += count
        if state in RETRYABLE:
            row.failed += count
        else:
            row.waiting += count
    overview = ReportsOverview(shops=[row for row in rows.values() if row.not_told])
    overview.api_waiting = sum(row.waiting for row in overview.shops if row.api)
    overview.failures_total = sum(row.failed for row in overview.shops)
    overview.failures = list(
        reports.filter(state__in=RETRYABLE).select_related("shop").order_by("-updated_at", "-pk")[:FAILURES_SHOWN]
    )
    return overview
