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

from .. import csvfiles
from ..connectors.base import FailedOrder, ImportedOrder
from ..csvfiles import CsvRefused, Decoded
from ..models import CsvMapping, CsvUpload, ImportRun, RunStatus, Shop, Trigger
from .csvpreview import preview_head
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
        tenant=tenant, shop=shop, filename=(filename or "upload.csv")[:255], encoding=file.encoding,
        delimiter=file.delimiter, digest=hashlib.sha256(data).hexdigest(), size=len(data), header=file.header,
        text=file.text, uploaded_by_id=getattr(user, "pk", None), preview=preview_head(file),
    )


def csv_mapping_save(*, shop: Shop, columns: Mapping[str, str], preset: str = "", user: Any = None) -> CsvMapping:
    """The shop's mapping, offered for its next files ("once per source")."""
    mapping, _created = CsvMapping.objects.update_or_create(
        tenant_id=shop.tenant_id, shop=shop,
        defaults={"columns": csvfiles.clean_mapping(columns), "preset": preset if preset in csvfiles.PRESETS else "",
                  "updated_by_id": getattr(user, "pk", None)},
    )
    return mapping


@transaction.atomic
def csv_import_start(*, upload: CsvUpload, columns: Mapping[str, str], preset: str = "", user: Any = None) -> ImportRun:
    """Save the mapping for the shop and queue the import of the upload with it. CsvRefused, with every
    problem in one message and nothing written, when the mapping cannot read the file; an upload already
    imported (or being imported) gives its run back instead of a second one."""
    upload = CsvUpload.objects.select_for_update().get(pk=upload.pk)
    if upload.run_id is not None:
        return ImportRun.objects.get(pk=upload.run_id)
    chosen = csvfiles.clean_mapping(columns)
    problems = csvfiles.mapping_problems(chosen, upload.header)
    if problems:
        raise CsvRefused(" ".join(problems))
    shop = Shop.objects.get(pk=upload.shop_id)
    csv_mapping_save(shop=shop, columns=chosen, preset=preset, user=user)
    run = ImportRun.objects.create(tenant_id=upload.tenant_id, shop=shop, trigger=Trigger.CSV,
                                   status=RunStatus.QUEUED, started_by_id=getattr(user, "pk", None))
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
        yield items[start:start + BATCH]


def csv_import_run(*, upload_id: int, run_id: int) -> ImportRun | None:
    """Carry out a queued CSV import (the worker's side). A run that is no longer queued was taken up
    already (a message delivered twice) and is left alone, unless it has been running for longer than a
    task may: then the worker that had it died, and the message came back (the task acks late), so it is
    taken over. Each batch commits on its own, like a poll's pages; re-doing a run from the start changes
    nothing for the orders already in."""
    with transaction.atomic():
        dead = Q(status=RunStatus.RUNNING, started_at__lt=timezone.now() - lock_ttl())
        run = ImportRun.objects.select_for_update().filter(Q(status=RunStatus.QUEUED) | dead, pk=run_id).first()
        if run is None:
            return None
        fields = ["status", "started_at"]
        if run.status == RunStatus.RUNNING:  # taken over: counted again from the start, the file's failures too
            run.failures.all().delete()
            run.new = run.updated = run.unchanged = run.failed = run.pages = run.processed = 0
            run.notes = [_("The worker importing this file stopped; the import was started again. Orders it had "
                           "imported count as unchanged.")]
            fields += ["new", "updated", "unchanged", "failed", "pages", "processed", "notes"]
        run.status, run.started_at = RunStatus.RUNNING, timezone.now()
        run.save(update_fields=fields)
    upload = CsvUpload.objects.select_related("shop").get(pk=upload_id, run_id=run_id)
    try:
        reading = csvfiles.read_orders(decoded(upload), upload.columns)
        for batch in _batches(reading.items):
            import_page(shop=upload.shop, batch=batch, run=run)
    except CsvRefused as error:
        return import_run_finish(run=run, error=str(error))
    except Exception as error:  # recorded on the run for the operator, and logged with its trace
        logger.exception("CSV import %s of upload %s failed", run_id, upload_id)
        return import_run_finish(run=run, error=_("The import stopped: %(error)s") % {"error": error})
    finally:
        CsvUpload.objects.filter(pk=upload_id).update(text="")
    return import_run_finish(run=run)


def csv_uploads_prune(*, older_than_days: int = 1) -> int:
    """Drop the content of uploads nobody imported within a day (previewed and left): personal data is
    not kept for nothing. The row stays (file name, who, when); returns how many were emptied."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    return CsvUpload.objects.filter(run__isnull=True, uploaded_at__lt=cutoff).exclude(text="").update(text="")
