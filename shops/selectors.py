"""Reads of the shops app shared by views, the order list's banner and the admin; always scoped to one
tenant, each a fixed number of queries whatever the number of shops or runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from backyard.models import Tenant, access_tenant_owned

from .models import ImportFailure, ImportRun, Shop, ShopSync
from .services.connectors import has_connector

RUNS_PER_SHOP = 5
PROGRESS_MAX = 100  # runs one status request may ask about


def access_shop(tenant: Tenant, shop_id: object) -> Shop:
    """One shop of the tenant; another tenant's and a missing one are the same 404."""
    return access_tenant_owned(Shop, tenant, shop_id, Shop.objects.select_related("sync"))


def access_import_run(tenant: Tenant, run_id: object) -> ImportRun:
    return access_tenant_owned(ImportRun, tenant, run_id, ImportRun.objects.select_related("shop", "started_by"))


@dataclass
class ShopRow:
    shop: Shop
    sync: ShopSync | None
    pollable: bool
    runs: list[ImportRun] = field(default_factory=list)


def shop_overview(*, tenant: Tenant, runs_per_shop: int = RUNS_PER_SHOP) -> list[ShopRow]:
    """The tenant's shops with their sync state and last runs: two queries (shops with sync; the last runs
    of every shop at once, numbered per shop by a window function)."""
    shops = list(Shop.objects.for_tenant(tenant).select_related("sync").order_by("position", "pk"))
    kinds = {shop.mall: has_connector(shop.mall) for shop in shops}
    rows = {shop.pk: ShopRow(shop=shop, sync=_sync(shop), pollable=kinds[shop.mall]) for shop in shops}
    recent = (
        ImportRun.objects.for_tenant(tenant)
        .annotate(rank=Window(RowNumber(), partition_by=[F("shop_id")], order_by=[F("created_at").desc(),
                                                                                  F("pk").desc()]))
        .filter(rank__lte=runs_per_shop)
        .order_by("shop_id", "-created_at", "-pk")
    )
    for run in recent:
        if run.shop_id in rows:
            run.shop = rows[run.shop_id].shop
            rows[run.shop_id].runs.append(run)
    return list(rows.values())


def _sync(shop: Shop) -> ShopSync | None:
    try:
        return shop.sync
    except ShopSync.DoesNotExist:
        return None


def import_runs(*, shop: Shop) -> QuerySet[ImportRun]:
    """All runs of one shop, newest first (the view pages them)."""
    return ImportRun.objects.for_tenant(shop.tenant_id).filter(shop=shop).select_related("started_by").order_by(
        "-created_at", "-pk")


def run_failures(*, run: ImportRun) -> QuerySet[ImportFailure]:
    return ImportFailure.objects.for_tenant(run.tenant_id).filter(run=run).order_by("at", "pk")


def failing_shops(*, tenant: Tenant) -> list[ShopSync]:
    """Active shops whose last poll failed, for the order list's banner: one query."""
    return list(
        ShopSync.objects.for_tenant(tenant).filter(shop__active=True).exclude(last_error="")
        .select_related("shop").order_by("shop__position", "shop_id")
    )


def runs_progress(*, tenant: Tenant, run_ids: list[int]) -> list[ImportRun]:
    """The tenant's runs among these ids (others are ignored: not found is not an error here), with shops."""
    ids = sorted(set(run_ids))[:PROGRESS_MAX]
    return list(ImportRun.objects.for_tenant(tenant).filter(pk__in=ids).select_related("shop")
                .order_by("shop__position", "shop_id", "pk"))
