"""Celery entry points of shops: thin, by id, safe to deliver twice (the poll's lock and the idempotent
import make a second delivery harmless)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext as _

from .models import Trigger
from .services import polling

logger = logging.getLogger(__name__)

MAX_RETRIES = 4  # transient failures (rate limit, mall unavailable): retried with the poll's backoff
BUSY_RETRIES = 20  # a "fetch latest" that finds the shop busy waits for the running poll, up to ~40 s
BUSY_WAIT = 2.0


def _queue() -> dict[str, Any]:
    """Where polls go: SHOPS_POLL_QUEUE when set (a dedicated queue for slow mall I/O), else the default."""
    queue = getattr(settings, "SHOPS_POLL_QUEUE", "")
    return {"queue": queue} if queue else {}


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def poll_shop(self: Any, shop_id: int, trigger: str = Trigger.BEAT, run_id: int | None = None) -> dict[str, Any]:
    """Poll one shop (shops.services.polling.poll_shop). A rate limit or an unavailable mall retries after
    the poll's backoff, as a new run (for "fetch latest" too, whose own run failed); a "fetch latest" that
    finds another poll of the shop running waits for it a while, then says it was skipped."""
    outcome = polling.poll_shop(shop_id=shop_id, trigger=trigger, run_id=run_id)
    if outcome.busy and run_id is not None:
        if self.request.retries < BUSY_RETRIES:
            raise self.retry(countdown=BUSY_WAIT, max_retries=BUSY_RETRIES)
        polling.import_run_skip(
            run_id=run_id, reason=_("Another poll of this shop was running; its orders arrive with it.")
        )
    if outcome.retry_in is not None and self.request.retries < MAX_RETRIES:
        # A new poll of the shop, not the same message again: the failed run is finished (an F6 run that
        # the retry carried would find it no longer queued and do nothing), so the retry is a run of its own.
        raise self.retry(args=[shop_id, trigger, None], countdown=outcome.retry_in)
    result = outcome.as_dict()
    logger.info("poll_shop %s (%s): %s", shop_id, trigger, result)
    return result


def poll_shop_enqueue(shop_id: int, trigger: str = Trigger.BEAT, run_id: int | None = None) -> None:
    """Send one poll to the workers (to SHOPS_POLL_QUEUE when set)."""
    poll_shop.apply_async(args=[shop_id, trigger, run_id], **_queue())


@shared_task
def poll_due_shops() -> int:
    """Beat, every minute: first the polls and CSV imports whose worker died (no heartbeat for SHOPS_DEAD_AFTER)
    are marked interrupted or started again, then one poll_shop per active shop whose poll is due (a shop
    whose poll was interrupted is due at once); returns how many polls were sent."""
    from .services.csvimport import dead_csv_imports_restart

    polling.dead_polls_release()
    dead_csv_imports_restart()
    shop_ids = polling.shops_due_for_poll()
    for shop_id in shop_ids:
        poll_shop_enqueue(shop_id)
    return len(shop_ids)


@shared_task
def erase_amazon_personal_data() -> int:
    """Daily (beat): Amazon buyers' personal data 30 days after shipment (shops.retention)."""
    from .retention import amazon_personal_data_erase

    erased = amazon_personal_data_erase()
    logger.info("erased the personal data of %d Amazon orders", erased)
    return erased


@shared_task
def prune_import_runs() -> dict[str, int]:
    """Daily (beat): finished import runs past their retention, with their failures (shops.services.runs),
    and the content of CSV uploads previewed and never imported (shops.services.csvimport)."""
    from .services import import_runs_prune
    from .services.csvimport import csv_uploads_prune

    return {"runs": import_runs_prune(), "uploads": csv_uploads_prune()}


@shared_task(acks_late=True)
def import_csv(upload_id: int, run_id: int) -> dict[str, Any]:
    """Import an uploaded CSV (shops.services.csvimport); a second delivery finds the run taken and stops."""
    from .services.csvimport import csv_import_run

    run = csv_import_run(upload_id=upload_id, run_id=run_id)
    if run is None:
        return {"run": run_id, "status": "taken"}
    return {
        "run": run.pk,
        "status": run.status,
        "new": run.new,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed": run.failed,
    }


@shared_task(acks_late=True)
def preview_csv(upload_id: int, key: str) -> str:
    """Read an uploaded CSV for its preview (shops.services.csvpreview); a preview replaced meanwhile (other
    columns asked for) is dropped."""
    from .services.csvpreview import csv_preview_run

    return csv_preview_run(upload_id=upload_id, key=key)


REPORT_RETRIES = 5  # a rate-limited or unavailable mall: tried again this often (backoff), then failed


@shared_task(bind=True, max_retries=REPORT_RETRIES, acks_late=True)
def report_shipment(self: Any, report_id: int) -> dict[str, Any]:
    """Tell a mall of an order's parcels (shops.services.reports.shipment_report_send). The service says when to
    try again (the mall's Retry-After, or a backoff for an unavailable mall); the last try records the failure.
    A second delivery finds the row taken or told and does nothing."""
    from .services.reports import shipment_report_send

    outcome = shipment_report_send(report_id=report_id, final=self.request.retries >= REPORT_RETRIES)
    if outcome.retry_in == 0:
        report_shipment_enqueue(report_id)  # parcels recorded while this send was out: a send of their own
    elif outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    result = outcome.as_dict()
    logger.info("report_shipment %s: %s", report_id, outcome.state)
    return result


def report_shipment_enqueue(report_id: int) -> None:
    """Send one shipment report to the workers (to SHOPS_POLL_QUEUE when set: the slow mall I/O queue)."""
    report_shipment.apply_async(args=[report_id], **_queue())


@shared_task
def send_left_behind_reports() -> int:
    """Beat: the shipment reports no worker has carried out (shops.services.reports.reports_left_behind_send)."""
    from .services.reports import reports_left_behind_send

    return reports_left_behind_send()
