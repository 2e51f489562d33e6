"""CSV import (T6): an upload is stored (decoded once), read with a column mapping for a preview that writes
nothing, then imported by a worker through the same pipeline as a poll (`import_page`: import_orders and
auto-processing, batch by batch), recorded as an ImportRun started by "CSV upload".

Re-uploading a file changes nothing: the orders upsert by (shop, order number) and an order whose values
are what the last import stored is left alone, so the second run counts them all "unchanged". The preview
says so before anyone presses import, and names the earlier upload of the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders.locks import locked

from .. import csvfiles
from ..connectors.base import FailedOrder, ImportedOrder
from ..csvfiles import CsvRefused, Decoded
from ..models import CsvMapping, CsvUpload, ImportRun, RunStatus, Shop, Trigger
from .csvpreview import preview_head
from .heartbeat import Heartbeat, dead_after
from .polling import import_page, import_run_finish, lock_ttl

logger = logging.getLogger(__name__)

BATCH = 500  # orders per transaction (and per auto-processing pass), as a poll's page


def decoded(upload: CsvUpload) -> Decoded:
    return Decoded(text=upload.text, encoding=upload.encoding, delimiter=upload.delimiter, header=upload.header)


def csv_upload_create(*, tenant: Tenant, shop: Shop, filename: str, data: bytes, user: Any = None) -> CsvUpload:
    """Store an uploaded file for preview; CsvRefused (nothing stored) when it cannot be read at all."""
    if shop.tenant_id != tenant.pk:
        raise ValueError("the shop belongs to another tenant")
    if not shop.active:
        raise CsvRefused(_("The shop “%(shop)s” is not active.") % {"shop": shop.name})
    file = csvfiles.decode(data)
    return CsvUpload.objects.create(
        tenant=tenant,
        shop=shop,
        filename=(filename or "upload.csv")[:255],
        encoding=file.encoding,
        delimiter=file.delimiter,
        digest=hashlib.sha256(data).hexdigest(),
        size=len(data),
        header=file.header,
        text=file.text,
        uploaded_by_id=getattr(user, "pk", None),
        preview=preview_head(file),
    )


def csv_mapping_save(*, shop: Shop, columns: Mapping[str, str], preset: str = "", user: Any = None) -> CsvMapping:
    """The shop's mapping, offered for its next files ("once per source")."""
    mapping, _created = CsvMapping.objects.update_or_create(
        tenant_id=shop.tenant_id,
        shop=shop,
        defaults={
            "columns": csvfiles.clean_mapping(columns),
            "preset": preset if preset in csvfiles.PRESETS else "",
            "updated_by_id": getattr(user, "pk", None),
        },
    )
    return mapping


@transaction.atomic
def csv_import_start(*, upload: CsvUpload, columns: Mapping[str, str], preset: str = "", user: Any = None) -> ImportRun:
    """Save the mapping for the shop and queue the import of the upload with it. CsvRefused, with every
    problem in one message and nothing written, when the mapping cannot read the file; an upload already
    imported (or being imported) gives its run back instead of a second one."""
    upload = locked(CsvUpload.objects.filter(pk=upload.pk)).get()
    if upload.run_id is not None:
        return ImportRun.objects.get(pk=upload.run_id)
    chosen = csvfiles.clean_mapping(columns)
    problems = csvfiles.mapping_problems(chosen, upload.header)
    if problems:
        raise CsvRefused(" ".join(problems))
    shop = Shop.objects.get(pk=upload.shop_id)
    csv_mapping_save(shop=shop, columns=chosen, preset=preset, user=user)
    run = ImportRun.objects.create(
        tenant_id=upload.tenant_id,
        shop=shop,
        trigger=Trigger.CSV,
        status=RunStatus.QUEUED,
        started_by_id=getattr(user, "pk", None),
    )
    upload.columns, upload.run = chosen, run
    upload.save(update_fields=["columns", "run"])
    upload_id, run_id = upload.pk, run.pk

    def send() -> None:
        from ..tasks import import_csv

        import_csv.delay(upload_id, run_id)

    transaction.on_commit(send)
    return run


def _batches(items: list[ImportedOrder | FailedOrder]) -> Iterator[list[ImportedOrder | FailedOrder]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


class _Taken(Exception):
    """The run was taken for dead (this worker was silent too long) and given to another: stop writing."""


def _dead(now: dt.datetime) -> Q:
    """Runs whose worker died: running, and silent for longer than dead_after() (a run started before heartbeats
    existed: since it started), or running for longer than any task may (lock_ttl())."""
    silent = now - dead_after()
    return Q(status=RunStatus.RUNNING) & (
        Q(heartbeat_at__lt=silent)
        | Q(heartbeat_at__isnull=True, started_at__lt=silent)
        | Q(started_at__lt=now - lock_ttl())
    )


def csv_import_run(*, upload_id: int, run_id: int) -> ImportRun | None:
    """Carry out a queued CSV import (the worker's side). A run that is no longer queued was taken up
    already (a message delivered twice) and is left alone, unless its worker died: a running run silent for
    longer than dead_after() (see shops.services.heartbeat) is taken over. Beat queues such a run again
    (dead_csv_imports_restart); the message that comes back after the broker's visibility timeout finds it
    taken or finished. Each batch commits on its own, like a poll's pages, with a sign of life; a timer keeps
    signing while one batch takes long. Re-doing a run from the start changes nothing for the orders already
    in; a worker that finds its run taken over stops without writing more."""
    now = timezone.now()
    with transaction.atomic():
        run = locked(ImportRun.objects.filter(Q(status=RunStatus.QUEUED) | _dead(now), pk=run_id)).first()
        if run is None:
            return None
        fields = ["status", "started_at", "heartbeat_at"]
        if run.started_at is not None:  # taken over: counted again from the start, the file's failures too
            run.failures.all().delete()
            run.new = run.updated = run.unchanged = run.failed = run.pages = run.processed = 0
            run.notes = [
                _(
                    "The worker importing this file stopped; the import was started again. Orders it had "
                    "imported count as unchanged."
                )
            ]
            fields += ["new", "updated", "unchanged", "failed", "pages", "processed", "notes"]
        run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING, now, now
        run.save(update_fields=fields)
    mine = ImportRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, started_at=now)  # `started_at`: this take

    def beat() -> bool:
        return bool(mine.update(heartbeat_at=timezone.now()))

    upload = CsvUpload.objects.select_related("shop").get(pk=upload_id, run_id=run_id)
    error = ""
    try:
        reading = csvfiles.read_orders(decoded(upload), upload.columns)
        with Heartbeat(beat, name=f"csv-{run_id}-heartbeat"):
            for batch in _batches(reading.items):
                with transaction.atomic():
                    if not locked(mine).exists():  # locked till the batch commits: no takeover meanwhile
                        raise _Taken
                    import_page(shop=upload.shop, batch=batch, run=run)
                    beat()
    except _Taken:  # the file stays for the worker that took the run over
        logger.warning("CSV import %s was taken over by another worker; this one stops", run_id)
        return None
    except CsvRefused as refused:
        error = str(refused)
    except Exception as failure:  # recorded on the run for the operator, and logged with its trace
        logger.exception("CSV import %s of upload %s failed", run_id, upload_id)
        error = _("The import stopped: %(error)s") % {"error": failure}
    with transaction.atomic():
        if not locked(mine).exists():
            return None
        CsvUpload.objects.filter(pk=upload_id).update(text="")
        return import_run_finish(run=run, error=error)


def dead_csv_imports_restart(*, now: dt.datetime | None = None) -> int:
    """Beat, every minute: CSV imports whose worker died (silent for longer than dead_after()) are queued
    again and sent to the workers, which take them over (csv_import_run). Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        dead = list(
            locked(ImportRun.objects.filter(_dead(now), trigger=Trigger.CSV), skip_locked=True).values_list(
                "pk", flat=True
            )
        )
        if not dead:
            return 0
        ImportRun.objects.filter(pk__in=dead).update(status=RunStatus.QUEUED, heartbeat_at=None)
        jobs = list(CsvUpload.objects.filter(run_id__in=dead).values_list("pk", "run_id"))

        def send() -> None:
            from ..tasks import import_csv

            for upload_id, run_id in jobs:
                import_csv.delay(upload_id, run_id)

        transaction.on_commit(send)
    logger.warning("CSV imports %s gave no sign of life for %s: started again", dead, dead_after())
    return len(dead)


def csv_uploads_prune(*, older_than_days: int = 1) -> int:
    """Drop the content of uploads nobody imported within a day (previewed and left): personal data is
    not kept for nothing. The row stays (file name, who, when); returns how many were emptied."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    return CsvUpload.objects.filter(run__isnull=True, uploaded_at__lt=cutoff).exclude(text="").update(text="")
