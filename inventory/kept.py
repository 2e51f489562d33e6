"""A products CSV kept between its upload, its preview and its import (inventory.views.csv, and the worker's
inventory.tasks.products_csv_work for a long file).

The entry lives in the cache (Redis, or the file cache of a development install; no table) for KEEP_SECONDS,
under `inventory:products-csv:<tenant>:<user>:<key>`, key a random hex string that is part of the address. It
holds the file's text and how it was read ("filename", "text", "encoding", "delimiter", "rows", "until"), and
then, as the work goes on:
- "working": {"step": "preview" | "import", "since": ISO time}: a worker has the step;
- "preview": the preview, when a worker read it (a short file's preview is read on each page view instead);
- "error": why the worker's step failed, in the operator's language;
- "result": what the import did; the file's text is dropped then (personal data is not kept longer than
  needed), so a second import of the same entry imports nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.utils import timezone

KEEP_SECONDS = 60 * 60
STALE_SECONDS = 15 * 60  # a worker's step not done after this long is shown as failed (the worker died)


def entry_key(tenant_id: int, user_id: int, key: str) -> str:
    return f"inventory:products-csv:{tenant_id}:{user_id}:{key}"


def load(entry: str) -> dict[str, Any] | None:
    kept = cache.get(entry)
    return kept if isinstance(kept, dict) else None


def save(entry: str, kept: dict[str, Any]) -> None:
    """Store the entry until its "until" (a minute at least, so an outcome written late is still seen)."""
    left = dt.datetime.fromisoformat(kept["until"]) - timezone.now()
    cache.set(entry, kept, max(60, int(left.total_seconds())))


def new_entry(*, filename: str, text: str, encoding: str, delimiter: str, rows: int) -> dict[str, Any]:
    until = timezone.now() + dt.timedelta(seconds=KEEP_SECONDS)
    return {
        "filename": filename,
        "text": text,
        "encoding": encoding,
        "delimiter": delimiter,
        "rows": rows,
        "until": until.isoformat(),
    }


def working(kept: dict[str, Any], step: str) -> dict[str, Any]:
    return {**kept, "working": {"step": step, "since": timezone.now().isoformat()}}


def is_stale(kept: dict[str, Any]) -> bool:
    """A worker's step that should long have ended (its worker died, or none runs)."""
    since = dt.datetime.fromisoformat(kept["working"]["since"])
    return timezone.now() - since > dt.timedelta(seconds=STALE_SECONDS)


def imported(kept: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The entry after the import: the outcome, without the file's text."""
    return {
        "filename": kept["filename"],
        "encoding": kept["encoding"],
        "until": kept["until"],
        "rows": kept.get("rows", 0),
        "result": {**result, "at": timezone.now().isoformat()},
    }


def failed(kept: dict[str, Any], message: str) -> dict[str, Any]:
    return {**{k: v for k, v in kept.items() if k != "working"}, "error": message}
