"""Pruning old import runs. Every poll of every shop writes one ImportRun (beat polls each shop every few
minutes: some 300 a day a shop) and nothing else ever deletes them, so without this the table and its
failures grow forever. Run daily by beat (shops.tasks.prune_import_runs); running it again finds nothing to do.

What is kept, whatever the settings say:
- queued and running runs: a poll is writing them, or "fetch latest" is waiting for them;
- the newest SHOPS_RUNS_KEEP_PER_SHOP runs of every shop, however old: the shops page shows each shop's last
  runs and a quiet shop (switched off, polled rarely, CSV only) must not lose its whole history;
- runs that recorded failures (failed > 0, status failed, or any ImportFailure row) for
  SHOPS_RUNS_KEEP_FAILED_DAYS: their failures hold the raw payload of orders that could not be imported,
  which an operator may still need; never shorter than a clean run's period.
Clean finished runs go after SHOPS_RUNS_KEEP_DAYS; a run's failures go with it.

How: shop by shop (the index importrun_tenant_shop (tenant, shop, -created_at) answers every query of one
shop by a range scan): one query finds the created_at of the shop's Nth newest run, the per-shop floor; then
batches of at most BATCH_SIZE ids, each selected and deleted in its own short transaction, so a first run on a
large table neither holds locks for long nor loads every id at once. Plain ORM filters, so PostgreSQL and
SQLite run the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import DO_NOTHING, SET_NULL, Exists, OuterRef, Q
from django.db.models.fields.related import ForeignObject, ForeignObjectRel
from django.db.models.signals import post_delete, pre_delete
from django.utils import timezone

from orders.sets import ids_in

from ..models import FINISHED, ImportFailure, ImportRun, RunStatus, Shop

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000  # run ids per DELETE (one statement for the failures, one for the runs)


@dataclass(frozen=True)
class Retention:
    """The periods in force for one pruning, read from the settings when it starts."""

    clean_before: dt.datetime  # clean finished runs created before this go
    failed_before: dt.datetime  # runs that recorded failures created before this go
    keep_per_shop: int  # the newest this many runs of each shop stay whatever their age (0: no floor)

    @classmethod
    def from_settings(cls, now: dt.datetime) -> Retention:
        keep_days = max(0, int(settings.SHOPS_RUNS_KEEP_DAYS))
        # A failing run is never pruned before a clean one of the same age, whatever the settings say.
        keep_failed_days = max(keep_days, int(settings.SHOPS_RUNS_KEEP_FAILED_DAYS))
        keep_per_shop = max(0, int(settings.SHOPS_RUNS_KEEP_PER_SHOP))
        return cls(
            clean_before=now - dt.timedelta(days=keep_days),
            failed_before=now - dt.timedelta(days=keep_failed_days),
            keep_per_shop=keep_per_shop,
        )


def import_runs_prune(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete the finished runs of every tenant's shops that are past their retention (see the module's
    docstring), with their failures; returns how many runs were deleted. `batch_size`: run ids per DELETE."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    retention = Retention.from_settings(now or timezone.now())
    runs = failures = 0
    # Every shop, active or not (a switched-off shop's runs age too); a few thousand pairs at most.
    shops = list(Shop.objects.order_by("tenant_id", "pk").values_list("tenant_id", "pk"))
    for tenant_id, shop_id in shops:
        shop_runs, shop_failures = _prune_shop(tenant_id, shop_id, retention, batch_size)
        runs += shop_runs
        failures += shop_failures
    logger.info("pruned %d import runs and their %d import failures", runs, failures)
    return runs


def _prune_shop(tenant_id: int, shop_id: int, retention: Retention, batch_size: int) -> tuple[int, int]:
    """One shop's due runs, batch by batch; (runs, failures) deleted."""
    of_shop = ImportRun.objects.filter(tenant_id=tenant_id, shop_id=shop_id)
    clean_before, failed_before = retention.clean_before, retention.failed_before
    if retention.keep_per_shop:
        floor = (
            of_shop.order_by("-created_at")
            .values_list("created_at", flat=True)[retention.keep_per_shop - 1 : retention.keep_per_shop]
            .first()
        )
        if floor is None:
            return 0, 0  # no more runs than the shop keeps anyway
        # Strictly older than the Nth newest: runs sharing its timestamp stay too (at least N are kept).
        clean_before, failed_before = min(clean_before, floor), min(failed_before, floor)
    failing = (
        Q(failed__gt=0)
        | Q(status=RunStatus.FAILED)
        | Q(Exists(ImportFailure.objects.filter(tenant_id=tenant_id, run_id=OuterRef("pk"))))
    )
    due = (
        of_shop.filter(status__in=sorted(FINISHED), created_at__lt=clean_before)  # failed_before <= clean_before
        .filter(Q(created_at__lt=failed_before) | ~failing)
        .order_by()
        .values_list("pk", flat=True)
    )
    runs = failures = 0
    while True:
        # No lock is needed on the ids: a finished status is final (no code moves a run out of it), so what
        # was due when selected is still due when deleted.
        with transaction.atomic():
            ids = list(due[:batch_size])
            if not ids:
                break
            failures += _failures_delete(tenant_id, ids)
            runs += _runs_delete(tenant_id, ids)
        if len(ids) < batch_size:
            break
    return runs, failures


def _failures_delete(tenant_id: int, ids: list[int]) -> int:
    """The failures of these runs: one DELETE (nothing points at ImportFailure, so Django deletes it directly)."""
    deleted, _per_model = ImportFailure.objects.filter(ids_in("run_id", ids), tenant_id=tenant_id).delete()
    return deleted


def _runs_delete(tenant_id: int, ids: list[int]) -> int:
    """The runs themselves, their failures gone already. Django's collector would fetch them and delete them
    100 ids a statement, for the sake of the relations and signals it must honour. While nobody listens to the
    runs' delete signals and every other relation to ImportRun is SET_NULL or DO_NOTHING (a CSV upload's run),
    one UPDATE per such relation (what the collector does for SET_NULL) and one DELETE do the same. Should that
    change (a CASCADE or PROTECT to a new model, a signal receiver), the collector does it the slow, correct way."""
    runs = ImportRun.objects.filter(ids_in("pk", ids), tenant_id=tenant_id)
    direct = _relations_set_null()
    if direct is None:
        _total, per_model = runs.delete()
        return per_model.get(ImportRun._meta.label, 0)
    for field in direct:
        field.model._base_manager.filter(ids_in(field.attname, ids)).update(**{field.name: None})
    return int(runs._raw_delete(runs.db))


def _relations_set_null() -> list[ForeignObject[Any, Any]] | None:
    """The foreign keys to ImportRun a plain DELETE of runs must first set to NULL; None when a plain DELETE
    cannot stand in for Django's collector (a delete signal is listened to, or a relation cascades or protects).
    ImportFailure.run is left out: the failures are deleted before their runs."""
    if pre_delete.has_listeners(ImportRun) or post_delete.has_listeners(ImportRun):
        return None
    set_null: list[ForeignObject[Any, Any]] = []
    for relation in ImportRun._meta.get_fields(include_hidden=True):
        if not isinstance(relation, ForeignObjectRel) or relation.many_to_many:
            continue  # a field of ImportRun itself; a many-to-many's through rows show up as their own key
        field, on_delete = relation.field, relation.on_delete
        if (field.model is ImportFailure and field.name == "run") or on_delete is DO_NOTHING:
            continue
        if on_delete is not SET_NULL:
            return None
        set_null.append(field)
    return set_null
