"""An issued-data file between its upload and its application (shipping.views.tracking), and the worker's part
for a long one.

The upload is kept in the cache (shipping.views.keep) under a key of the tenant, the user and a random hex
string that is part of the page's address. A file of up to TRACKING_INLINE_ROWS rows (settings; 2,000 by
default) is matched on each view of its page and applied in the request. A longer one (up to MAX_ROWS) is
matched and applied by a worker (shipping.tasks.issued_file_work), so that no web worker is held for seconds by
what an operator uploads: the entry then holds, as the work goes on,
- "working": {"step": "preview" | "apply", "since": ISO time}: a worker has the step (the page asks again every
  second); a step not done after STALE_SECONDS is shown failed, with a button to try again;
- "preview": what applying would record (plan_summary), once the worker matched it;
- "error": why the worker's step failed, in the operator's language;
- "result": what applying recorded (apply_summary); the file's text is dropped then (personal data is not kept
  longer than needed), so a second apply of the same entry records nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backyard.csvtext import CsvRefused, Decoded
from backyard.models import Tenant
from orders.events import Actor

from .tracking import Plan, issued_rows, mapping_for, tracking_apply, tracking_plan

logger = logging.getLogger(__name__)

INLINE_ROWS = 2000
MAX_ROWS = 100_000
KEEP_SECONDS = 60 * 60
STALE_SECONDS = 15 * 60
SHOWN = 200  # rows of each list shown on the page; the counts are always whole
PREVIEW, APPLY = "preview", "apply"


def inline_rows() -> int:
    """Files of up to this many rows are matched and applied in the request; longer ones by a worker."""
    return int(getattr(settings, "TRACKING_INLINE_ROWS", INLINE_ROWS))


def count_rows(decoded: Decoded) -> int:
    """The file's non-empty records (the header included, when there is one); CsvRefused past MAX_ROWS."""
    rows = sum(1 for record in csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter)
               if any(cell.strip() for cell in record))  # fmt: skip
    if rows > MAX_ROWS + 1:
        raise CsvRefused(
            _("The file has %(rows)s rows; at most %(max)s are read at once. Split it and upload the parts.")
            % {"rows": f"{rows:,}", "max": f"{MAX_ROWS:,}"}
        )
    return rows


def by_worker(entry: dict[str, Any]) -> bool:
    return int(entry.get("rows", 0)) > inline_rows()


def decoded_of(entry: dict[str, Any]) -> Decoded:
    return Decoded(text=entry["text"], encoding=entry["encoding"], delimiter=entry["delimiter"])


def working(entry: dict[str, Any], step: str) -> dict[str, Any]:
    kept = {k: v for k, v in entry.items() if k not in ("error", "preview")}
    return {**kept, "working": {"step": step, "since": timezone.now().isoformat()}}


def is_stale(entry: dict[str, Any]) -> bool:
    """A worker's step that should long have ended (its worker died, or none runs)."""
    since = dt.datetime.fromisoformat(entry["working"]["since"])
    return timezone.now() - since > dt.timedelta(seconds=STALE_SECONDS)


def plan_summary(plan: Plan, rows: int) -> dict[str, Any]:
    """What applying would record, as the page shows it (JSON-safe: a worker writes it into the cache)."""
    return {
        "rows": rows,
        "new_count": len(plan.new),
        "orders": plan.orders,
        "already": len(plan.already),
        "problems_count": len(plan.problems),
        "new": [
            [line, order_id, number, tracking, day.strftime("%Y/%m/%d") if day else ""]
            for line, order_id, number, tracking, day in plan.new[:SHOWN]
        ],
        "new_more": max(0, len(plan.new) - SHOWN),
        "problems": [[line, str(reason)] for line, reason in plan.problems[:SHOWN]],
        "problems_more": max(0, len(plan.problems) - SHOWN),
    }


def apply_summary(plan: Plan) -> dict[str, Any]:
    """What applying recorded, for the page (JSON-safe)."""
    return {
        "recorded": len(plan.new),
        "orders": plan.orders,
        "moved": plan.moved,
        "already": len(plan.already),
        "problems": [[line, str(reason)] for line, reason in plan.problems[:SHOWN]],
        "problems_count": len(plan.problems),
        "refused_moves": [
            [order_id, str(number), str(reason)] for order_id, number, reason in plan.refused_moves[:SHOWN]
        ],
        "at": timezone.now().isoformat(),
    }


def applied(entry: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The entry once applied: the outcome, without the file's text."""
    return {k: v for k, v in entry.items() if k not in ("text", "working", "error", "preview")} | {"result": result}


def preview(*, tenant: Tenant, entry: dict[str, Any]) -> dict[str, Any]:
    fmt = entry["format"]
    rows = issued_rows(decoded_of(entry), fmt, mapping_for(tenant, fmt))
    return plan_summary(tracking_plan(tenant=tenant, fmt=fmt, rows=rows), len(rows))


def apply(*, tenant: Tenant, entry: dict[str, Any], actor: Actor) -> dict[str, Any]:
    fmt = entry["format"]
    rows = issued_rows(decoded_of(entry), fmt, mapping_for(tenant, fmt))
    return apply_summary(tracking_apply(tenant=tenant, fmt=fmt, rows=rows, actor=actor))


def issued_file_work(*, key: str, tenant: Tenant, step: str, language: str, actor: Actor) -> bool:
    """The worker's step on the entry under the cache key `key`; the outcome goes back into the entry. Safe to
    deliver twice: an entry already applied (or expired) is left alone, and applying itself records nothing the
    second time. Returns whether the step was done."""
    entry = cache.get(key)
    if not isinstance(entry, dict) or "result" in entry or "text" not in entry:
        cache.delete(key + ":applying")
        return False
    with translation.override(language):
        try:
            if step == PREVIEW:
                entry = {k: v for k, v in entry.items() if k not in ("working", "error")}
                entry["preview"] = preview(tenant=tenant, entry=entry)
            else:
                entry = applied(entry, apply(tenant=tenant, entry=entry, actor=actor))
        except CsvRefused as refused:
            entry = {k: v for k, v in entry.items() if k != "working"} | {"error": str(refused)}
        except Exception:
            logger.exception("issued_file_work %s of %s failed", step, key)
            entry = {k: v for k, v in entry.items() if k != "working"} | {
                "error": _(
                    "The file could not be processed because of an error on the server. Try again; if it "
                    "happens again, tell your administrator."
                )
            }
        finally:
            cache.set(key, entry, KEEP_SECONDS)
            cache.delete(key + ":applying")
    return "error" not in entry
