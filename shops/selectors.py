"""Reads of the shops app shared by views, the order list's banner and the admin; always scoped to one
tenant, each a fixed number of queries whatever the number of shops or runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from backyard.models import Tenant, access_tenant_owned

from . import csvfiles
from .constants import MallKind
from .models import CsvMapping, CsvUpload, ImportFailure, ImportRun, Shop, ShopSync
from .services.connectors import first_poll_lookback, has_connector
from .services.csvpreview import FAILED, PENDING

RUNS_PER_SHOP = 5
PROGRESS_MAX = 100  # runs one status request may ask about


def access_shop(tenant: Tenant, shop_id: object) -> Shop:
    """One shop of the tenant; another tenant's and a missing one are the same 404."""
    return access_tenant_owned(Shop, tenant, shop_id, Shop.objects.select_related("sync"))


def access_import_run(tenant: Tenant, run_id: object) -> ImportRun:
    return access_tenant_owned(
        ImportRun, tenant, run_id, ImportRun.objects.select_related("shop", "started_by", "csv_upload")
    )


@dataclass
class ShopRow:
    shop: Shop
    sync: ShopSync | None
    pollable: bool
    runs: list[ImportRun] = field(default_factory=list)
    first_poll_days: int | None = None  # how far back a first poll reaches when the admin set no start


def first_poll_days(mall: str) -> int | None:
    """Days a first poll of this kind of shop reaches back without a set start; None without a connector."""
    lookback = first_poll_lookback(mall)
    return lookback.days if lookback is not None else None


def shop_overview(*, tenant: Tenant, runs_per_shop: int = RUNS_PER_SHOP) -> list[ShopRow]:
    """The tenant's shops with their sync state and last runs: two queries (shops with sync; the last runs
    of every shop at once, numbered per shop by a window function)."""
    shops = list(Shop.objects.for_tenant(tenant).select_related("sync").order_by("position", "pk"))
    kinds = {shop.mall: has_connector(shop.mall) for shop in shops}
    days = {mall: first_poll_days(mall) if pollable else None for mall, pollable in kinds.items()}
    rows = {
        shop.pk: ShopRow(shop=shop, sync=_sync(shop), pollable=kinds[shop.mall], first_poll_days=days[shop.mall])
        for shop in shops
    }
    recent = (
        ImportRun.objects.for_tenant(tenant)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("shop_id")], order_by=[F("created_at").desc(), F("pk").desc()])
        )
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
    return (
        ImportRun.objects.for_tenant(shop.tenant_id)
        .filter(shop=shop)
        .select_related("started_by")
        .order_by("-created_at", "-pk")
    )


def run_failures(*, run: ImportRun) -> QuerySet[ImportFailure]:
    return ImportFailure.objects.for_tenant(run.tenant_id).filter(run=run).order_by("at", "pk")


def failing_shops(*, tenant: Tenant) -> list[ShopSync]:
    """Active shops whose last poll failed, for the order list's banner: one query."""
    return list(
        ShopSync.objects.for_tenant(tenant)
        .filter(shop__active=True)
        .exclude(last_error="")
        .select_related("shop")
        .order_by("shop__position", "shop_id")
    )


def runs_progress(*, tenant: Tenant, run_ids: list[int]) -> list[ImportRun]:
    """The tenant's runs among these ids (others are ignored: not found is not an error here), with shops."""
    ids = sorted(set(run_ids))[:PROGRESS_MAX]
    return list(
        ImportRun.objects.for_tenant(tenant)
        .filter(pk__in=ids)
        .select_related("shop")
        .order_by("shop__position", "shop_id", "pk")
    )


# --- CSV import ------------------------------------------------------------------------------------------------

CSV_UPLOADS_SHOWN = 20


def access_csv_upload(tenant: Tenant, upload_id: object) -> CsvUpload:
    """One upload of the tenant, without its content (up to 20 MB: the pages show the kept preview)."""
    return access_tenant_owned(
        CsvUpload, tenant, upload_id, CsvUpload.objects.select_related("shop", "run", "uploaded_by").defer("text")
    )


def csv_shops(*, tenant: Tenant) -> list[Shop]:
    """Shops a CSV can go to: the active ones, those without an API connection first (a CSV cart, auctions)."""
    shops = list(Shop.objects.for_tenant(tenant).filter(active=True).order_by("position", "pk"))
    return sorted(shops, key=lambda shop: has_connector(shop.mall))


def csv_uploads(*, tenant: Tenant, limit: int = CSV_UPLOADS_SHOWN) -> list[CsvUpload]:
    return list(
        CsvUpload.objects.for_tenant(tenant)
        .select_related("shop", "run", "uploaded_by")
        .defer("text", "preview")
        .order_by("-uploaded_at", "-pk")[:limit]
    )


@dataclass
class SuggestedMapping:
    columns: dict[str, str]
    preset: str
    saved: bool  # the shop's saved mapping (else guessed from the header with the preset)


def csv_mapping_suggested(*, upload: CsvUpload, preset: str | None = None) -> SuggestedMapping:
    """The shop's saved mapping when it fits this file's header, unless a preset is asked for; else a guess
    from the header (Yahoo! Auctions for an auction shop)."""
    saved = CsvMapping.objects.for_tenant(upload.tenant_id).filter(shop_id=upload.shop_id).first()
    if preset is None and saved is not None and not csvfiles.mapping_problems(saved.columns, upload.header):
        return SuggestedMapping(columns=dict(saved.columns), preset=saved.preset, saved=True)
    if preset not in csvfiles.PRESETS:
        preset = csvfiles.YAHOO_AUCTION if upload.shop.mall == MallKind.AUCTION else csvfiles.GENERIC
    return SuggestedMapping(columns=csvfiles.guess_mapping(upload.header, preset), preset=preset, saved=False)


@dataclass
class CsvPreview:
    """The kept preview of an upload (shops.services.csvpreview) as the page shows it."""

    state: str  # queued, running (a worker reads the file), ready, failed
    problems: list[str]  # the file cannot be imported with these columns: nothing can be imported
    counts: dict[str, int] | None = None  # rows, orders, lines, new, changed, unchanged, failed
    errors: list[csvfiles.RowError] = field(default_factory=list)
    errors_total: int = 0
    notes: list[str] = field(default_factory=list)
    sample: list[Any] = field(default_factory=list)
    earlier: list[CsvUpload] = field(default_factory=list)
    done: int = 0
    total: int = 0

    @property
    def pending(self) -> bool:
        return self.state in PENDING

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def failed(self) -> int:
        return self.counts["failed"] if self.counts else 0

    @property
    def importable(self) -> int:
        return self.counts["new"] + self.counts["changed"] + self.counts["unchanged"] if self.counts else 0


def csv_preview(*, upload: CsvUpload) -> CsvPreview:
    """The upload's kept preview (CsvUpload.preview, made by csv_preview_request), and earlier imports of the
    same file to this shop. Reads no file: one query."""
    earlier = list(
        CsvUpload.objects.for_tenant(upload.tenant_id)
        .filter(shop_id=upload.shop_id, digest=upload.digest, run__isnull=False)
        .exclude(pk=upload.pk)
        .select_related("run")
        .defer("text", "preview")
        .order_by("-uploaded_at")[:3]
    )
    kept = upload.preview or {}
    state = kept.get("state", "")
    if state in PENDING:
        return CsvPreview(
            state=state,
            problems=[],
            earlier=earlier,
            done=int(kept.get("done") or 0),
            total=int(kept.get("total") or 0),
        )
    if state == FAILED:
        return CsvPreview(state=state, problems=[str(kept.get("error", ""))], earlier=earlier)
    result = kept.get("result") or {}
    if result.get("problems") or "rows" not in result:
        return CsvPreview(state=state, problems=list(result.get("problems") or []), earlier=earlier)
    return CsvPreview(
        state=state,
        problems=[],
        counts={
            name: int(result[name]) for name in ("rows", "orders", "lines", "new", "changed", "unchanged", "failed")
        },
        errors=[csvfiles.RowError(*error) for error in result.get("errors", [])],
        errors_total=int(result.get("errors_total", 0)),
        notes=list(result.get("notes", [])),
        sample=[_sample(order) for order in result.get("sample", [])],
        earlier=earlier,
    )


def _sample(order: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            **order,
            "ordered_at": dt.datetime.fromisoformat(order["ordered_at"]),
            "lines": [SimpleNamespace(**line) for line in order["lines"]],
        }
    )
