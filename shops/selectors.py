"""Reads of the shops app shared by views, the order list's banner and the admin; always scoped to one
tenant, each a fixed number of queries whatever the number of shops or runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from backyard.models import Tenant, access_tenant_owned

from . import csvfiles
from .constants import MallKind
from .models import CsvMapping, CsvUpload, ImportFailure, ImportRun, Shop, ShopSync
from .services.connectors import first_poll_lookback, has_connector
from .services.csvimport import decoded
from .services.importer import ImportPreview, import_preview

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
    rows = {shop.pk: ShopRow(shop=shop, sync=_sync(shop), pollable=kinds[shop.mall], first_poll_days=days[shop.mall])
            for shop in shops}
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
CSV_SAMPLE = 10  # orders shown as read in the preview
CSV_ERRORS_SHOWN = 500


def access_csv_upload(tenant: Tenant, upload_id: object) -> CsvUpload:
    return access_tenant_owned(
        CsvUpload, tenant, upload_id, CsvUpload.objects.select_related("shop", "run", "uploaded_by")
    )


def csv_shops(*, tenant: Tenant) -> list[Shop]:
    """Shops a CSV can go to: the active ones, those without an API connection first (a CSV cart, auctions)."""
    shops = list(Shop.objects.for_tenant(tenant).filter(active=True).order_by("position", "pk"))
    return sorted(shops, key=lambda shop: has_connector(shop.mall))


def csv_uploads(*, tenant: Tenant, limit: int = CSV_UPLOADS_SHOWN) -> list[CsvUpload]:
    return list(
        CsvUpload.objects.for_tenant(tenant)
        .select_related("shop", "run", "uploaded_by")
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
    problems: list[str]  # the mapping cannot read the file: nothing can be imported
    reading: csvfiles.Reading | None = None
    outcome: ImportPreview | None = None
    errors: list[csvfiles.RowError] = field(default_factory=list)
    sample: list[csvfiles.ImportedOrder] = field(default_factory=list)
    earlier: list[CsvUpload] = field(default_factory=list)

    @property
    def failed(self) -> int:
        if self.reading is None or self.outcome is None:
            return 0
        return len(self.reading.failed) + len(self.outcome.failed)

    @property
    def importable(self) -> int:
        return (
            0
            if self.outcome is None
            else len(self.outcome.new) + len(self.outcome.changed) + len(self.outcome.unchanged)
        )


def csv_preview(*, upload: CsvUpload, columns: dict[str, str]) -> CsvPreview:
    """The file read with `columns` and compared with what is stored, writing nothing: per-row errors, what
    would be new / changed / unchanged, a sample of the orders as read, and earlier uploads of the same
    file to this shop."""
    earlier = list(
        CsvUpload.objects.for_tenant(upload.tenant_id)
        .filter(shop_id=upload.shop_id, digest=upload.digest, run__isnull=False)
        .exclude(pk=upload.pk)
        .select_related("run")
        .order_by("-uploaded_at")[:3]
    )
    problems = csvfiles.mapping_problems(columns, upload.header)
    if problems:
        return CsvPreview(problems=problems, earlier=earlier)
    try:
        reading = csvfiles.read_orders(decoded(upload), columns)
    except csvfiles.CsvRefused as error:
        return CsvPreview(problems=[str(error)], earlier=earlier)
    outcome = import_preview(upload.shop, reading.orders)
    first_rows = reading.first_rows
    errors = list(reading.errors)
    errors += [csvfiles.RowError(first_rows.get(number, 0), number, "", reason) for number, reason in outcome.failed]
    errors.sort(key=lambda error: error.row)
    return CsvPreview(
        problems=[],
        reading=reading,
        outcome=outcome,
        errors=errors[:CSV_ERRORS_SHOWN],
        sample=reading.orders[:CSV_SAMPLE],
        earlier=earlier,
    )
