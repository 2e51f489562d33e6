"""The CSV preview (T6), read once and kept: an upload read with a column mapping and compared with the
stored orders, writing no order; the result is kept in `CsvUpload.preview` with the columns it was read with,
so viewing the preview page again reads that and never the file.

A file of up to INLINE_LINES lines is read in the request that asks for it (measured at the limit: about
0.4 s of CPU). A longer one, up to csvfiles.MAX_ROWS (200,000 rows, about a minute of CPU), is read by a
worker (`shops.tasks.preview_csv`) while the page shows its progress; each request of the preview then
answers in milliseconds. Asking for other columns replaces the preview (a worker still reading the old one
finds its key gone and its result is dropped). A preview whose worker has not reported for STALE is asked
for again on the next view (the worker died or none took it up).

`CsvUpload.preview` holds: "head" (the first rows as read at upload) and "lines" (the file's line count),
then, for the current mapping, "columns", "state" (queued, running, ready, failed), "key", "at" (the last
report), "done"/"total" (progress, in rows), "language", and "result" (ready) or "error" (failed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, cast

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import csvfiles
from ..connectors.base import ImportedOrder
from ..csvfiles import CsvRefused, Decoded
from ..models import CsvUpload
from .importer import import_preview

INLINE_LINES = 2_000
STALE = dt.timedelta(minutes=2)
ERRORS_KEPT = 500  # rows with problems kept (and shown); the rest are counted
SAMPLE = 10  # orders kept as read, for the page
NOTES_KEPT = 20
HEAD_ROWS = 3

QUEUED, RUNNING, READY, FAILED = "queued", "running", "ready", "failed"
PENDING = (QUEUED, RUNNING)


def preview_head(decoded: Decoded) -> dict[str, Any]:
    """What an upload keeps from the start for its page: the first rows as they are, and the line count."""
    return {"head": list(csvfiles.rows_preview(decoded, HEAD_ROWS)), "lines": decoded.text.count("\n")}


def _decoded(upload: CsvUpload, text: str) -> Decoded:
    return Decoded(text=text, encoding=upload.encoding, delimiter=upload.delimiter, header=upload.header)


def _stale(preview: Mapping[str, Any], now: dt.datetime) -> bool:
    at = preview.get("at")
    return not isinstance(at, str) or dt.datetime.fromisoformat(at) < now - STALE


def csv_preview_request(*, upload: CsvUpload, columns: Mapping[str, str], again: bool = False) -> dict[str, Any]:
    """The preview of `upload` read with `columns`: the kept one when it was read with these columns (and is
    ready, or still being read), else a new one: read now for a short file, queued for a worker otherwise.
    `again` (the operator's "check again"): a new one even when a ready one was kept."""
    columns = csvfiles.clean_mapping(columns)
    kept = dict(upload.preview or {})
    now = timezone.now()
    if kept.get("columns") == columns and (
        (kept.get("state") in (READY, FAILED) and not again) or (kept.get("state") in PENDING and not _stale(kept, now))
    ):
        return kept
    base = {"head": kept.get("head", []), "lines": kept.get("lines", 0)}
    problems = csvfiles.mapping_problems(columns, upload.header)
    if problems:  # nothing to read: said at once
        preview = {**base, "columns": columns, "state": READY, "at": now.isoformat(), "result": {"problems": problems}}
    elif base["lines"] <= INLINE_LINES:
        text = CsvUpload.objects.filter(pk=upload.pk).values_list("text", flat=True).get()
        preview = {**base, "columns": columns, "at": now.isoformat(), **_read(upload, text, columns)}
    else:
        key = uuid.uuid4().hex
        preview = {
            **base,
            "columns": columns,
            "state": QUEUED,
            "key": key,
            "at": now.isoformat(),
            "done": 0,
            "total": base["lines"],
            "language": translation.get_language(),
        }
        upload_id = upload.pk

        def send() -> None:
            from ..tasks import preview_csv

            preview_csv.delay(upload_id, key)

        transaction.on_commit(send)
    CsvUpload.objects.filter(pk=upload.pk).update(preview=preview)
    upload.preview = preview
    return preview


def csv_preview_run(*, upload_id: int, key: str) -> str:
    """Read a queued preview (the worker's side); its state at the end, or "replaced" when other columns
    were asked for meanwhile (nothing is written then)."""
    upload = CsvUpload.objects.filter(pk=upload_id).first()
    if upload is None or (upload.preview or {}).get("key") != key:
        return "replaced"
    preview = dict(upload.preview)

    def save(**changes: Any) -> bool:
        preview.update(changes, at=timezone.now().isoformat())
        return bool(CsvUpload.objects.filter(pk=upload_id, preview__key=key).update(preview=preview))

    if not save(state=RUNNING):
        return "replaced"
    with translation.override(preview.get("language") or None):
        total = max(int(preview.get("lines") or 0), 1)

        def reading(rows: int) -> None:  # the first half of the work: rows read
            save(done=min(rows, total) // 2)

        def checking(orders: int) -> None:  # the second half: orders checked against the stored ones
            save(done=total // 2 + min(orders, total) // 2)

        outcome = _read(upload, upload.text, preview["columns"], reading, checking)
    return outcome["state"] if save(**outcome, done=total) else "replaced"


def _read(
    upload: CsvUpload, text: str, columns: Mapping[str, str], reading: Any = None, checking: Any = None
) -> dict[str, Any]:
    """{"state": READY, "result": …} or {"state": FAILED, "error": …}."""
    if not text:
        return {
            "state": FAILED,
            "error": _("The file's content is no longer kept (it was not imported within a day). Upload it again."),
        }
    try:
        found = csvfiles.read_orders(_decoded(upload, text), columns, progress=reading)
    except CsvRefused as error:
        return {"state": FAILED, "error": str(error)}
    outcome = import_preview(upload.shop, found.orders, progress=checking)
    first_rows = found.first_rows
    errors = [[error.row, error.order, error.column, error.message] for error in found.errors]
    errors += [[first_rows.get(number, 0), number, "", reason] for number, reason in outcome.failed]
    errors.sort(key=lambda error: int(cast(int, error[0]) or 0))
    return {
        "state": READY,
        "result": {
            "rows": found.rows,
            "orders": len(found.items),
            "lines": found.lines,
            "new": len(outcome.new),
            "changed": len(outcome.changed),
            "unchanged": len(outcome.unchanged),
            "failed": len(found.failed) + len(outcome.failed),
            "errors": errors[:ERRORS_KEPT],
            "errors_total": len(errors),
            "notes": outcome.notes[:NOTES_KEPT],
            "sample": [_sample(order) for order in found.orders[:SAMPLE]],
        },
    }


def _sample(order: ImportedOrder) -> dict[str, Any]:
    """What the page shows of an order as read."""
    return {
        "external_id": order.external_id,
        "ordered_at": order.ordered_at.isoformat(),
        "orderer_name": order.orderer_name,
        "dest_name": order.dest_name,
        "dest_postal_code": order.dest_postal_code,
        "dest_prefecture": order.dest_prefecture,
        "dest_city": order.dest_city,
        "dest_address1": order.dest_address1,
        "dest_address2": order.dest_address2,
        "payment_name": order.payment_name,
        "total": order.total,
        "lines": [
            {"name": line.name, "options": line.options, "quantity": line.quantity, "unit_price": line.unit_price}
            for line in order.lines
        ],
    }
