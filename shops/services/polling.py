"""Polling a shop: claim it, page through its mall from the saved cursor, import each page, auto-process what
came in, and record the run.

The lock. `ShopSync.running_since` is the lock. It is taken in a short transaction that locks the sync row
with `select_for_update(skip_locked=True)` (a poll that finds the row locked, or the lock held by a live poll,
is "busy" and does nothing) and committed at once, so the lock is visible while the poll runs without a
transaction open across HTTP calls. Every write of the poll to the sync row is guarded by the value it set
(`running_since = <mine>`): a poll that finds it changed has been taken over and stops (LockLost) without
writing anything more. Two polls of one shop never run at once.

The lock follows the worker's liveness: the poll refreshes `ShopSync.heartbeat_at` with every page and, while
a page takes long, from a timer thread every SHOPS_HEARTBEAT_EVERY seconds (shops.services.heartbeat). A lock
whose heartbeat is older than SHOPS_DEAD_AFTER (90 s) belongs to a dead worker and is free; so is one older
than Celery's hard time limit (LOCK_TTL), which no poll outlives. Beat (every minute, dead_polls_release)
frees the lock of a dead poll, marks its run "interrupted" and makes the shop due at once, so a killed worker
holds a shop for SHOPS_DEAD_AFTER plus at most a minute, not for the time limit.

Why a heartbeat rather than asking Celery which workers live (`inspect().ping()` against the hostname the
poll recorded): ping is a broadcast that waits its whole timeout for every answer, on every check (beat's,
and each poll's claim); the embedded file-system broker of `make run` has no broadcast at all; a worker
whose pool child was killed (out of memory) still answers ping while the poll is gone; and a hostname says
nothing of a poll that hangs. The heartbeat is one small UPDATE every few seconds, the same on every broker
and database, and it says what the lock needs: this poll is still running. What it costs: a worker frozen
longer than SHOPS_DEAD_AFTER (a stopped process, the database unreachable) loses its lock; when it wakes,
its guarded writes fail and it stops (LockLost), its half page rolled back, so nothing is written twice.

The cursor. Each page is one transaction: import_orders, auto-processing of the page's new and changed
orders (in a savepoint, see _process), the page's cursor, the run's counts. A poll that dies mid-page
loses that page's writes and nothing else; the next poll resumes from the last saved cursor and re-imports
the page, which changes nothing that was already there (the import upserts). So a crash loses nothing and
duplicates nothing.

Failures. A rate limit or an unavailable mall fails the run with the message and pushes the shop's next
poll back (60 s, doubling with each failure in a row, at most 30 minutes; never sooner than the mall's
Retry-After, which is read as at most 30 minutes too, whatever it says: "inf", a date next year); the Celery
task also retries after that delay, as a poll of its own (a failed "fetch latest" run stays failed). Refused
credentials fail the run and pause the shop for AUTH_PAUSE: retrying cannot help until an admin enters new
ones (which makes the shop due at once). Anything else fails the run with the error, backs off the same way,
and is logged with its traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from automation.services import process
from backyard.models import Tenant
from orders.locks import locked

from ..connectors.base import (
    AuthFailed,
    Connector,
    CredentialsInvalid,
    FailedOrder,
    ImportedOrder,
    MallError,
    MallUnavailable,
    RateLimited,
    bounded_wait,
)
from ..crypto import CredentialsUnreadable
from ..models import ImportRun, MallCodeMapping, RunStatus, Shop, ShopSync, SyncErrorKind, Trigger
from .connectors import connector_build, has_connector
from .heartbeat import Heartbeat, dead_after
from .importer import BatchOutcome, import_orders
from .shops import mappings_seed, shop_credentials_renewed, shop_sync, shop_syncs_ensure

logger = logging.getLogger(__name__)

RETRY_BASE = 60.0  # seconds before the first retry of a transient failure; doubles with each failure in a row
RETRY_MAX = 30 * 60.0
AUTH_PAUSE = dt.timedelta(hours=1)  # refused credentials: no quick retry, an admin has to act


def lock_ttl() -> dt.timedelta:
    """How old a poll's lock may get before it counts as a dead poll's: Celery's hard time limit."""
    return dt.timedelta(seconds=float(getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 30 * 60))


def lock_dead(*, now: dt.datetime) -> Q:
    """ShopSync rows whose lock is held by a dead poll: its heartbeat older than dead_after() (a lock taken
    before heartbeats existed: its running_since), or the lock older than any poll may live (lock_ttl())."""
    silent = now - dead_after()
    return Q(running_since__isnull=False) & (
        Q(heartbeat_at__lt=silent)
        | Q(heartbeat_at__isnull=True, running_since__lt=silent)
        | Q(running_since__lt=now - lock_ttl())
    )


def _held(sync: ShopSync, now: dt.datetime) -> bool:
    """Whether a live poll holds the lock of this sync row (the opposite of lock_dead, in Python)."""
    if sync.running_since is None or sync.running_since < now - lock_ttl():
        return False
    return (sync.heartbeat_at or sync.running_since) >= now - dead_after()


def _interrupted() -> str:
    return _(
        "Interrupted: the worker carrying out this poll stopped before it finished. The orders of the pages "
        "it had saved are in; the next poll goes on from there."
    )


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` transient failures in a row."""
    return min(RETRY_BASE * 2 ** max(failures - 1, 0), RETRY_MAX)


class LockLost(Exception):
    """Another poll took the shop over (this one was thought dead); stop without writing more."""


@dataclass
class PollOutcome:
    """What a poll came to. `busy`: another poll of the shop holds the lock, nothing was done. `retry_in`:
    a transient failure (rate limit, mall unavailable), worth trying again after so many seconds."""

    run: ImportRun | None
    busy: bool = False
    retry_in: float | None = None

    def as_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "run": run.pk if run else None,
            "status": run.status if run else None,
            "busy": self.busy,
            "new": run.new if run else 0,
            "updated": run.updated if run else 0,
            "unchanged": run.unchanged if run else 0,
            "failed": run.failed if run else 0,
            "retry_in": self.retry_in,
        }


@dataclass
class _Claim:
    shop: Shop
    sync_id: int
    stamp: dt.datetime  # the value of running_since this poll set: every later write is guarded by it
    failures: int
    cursor: str
    run: ImportRun


def _claim(shop_id: int, trigger: str, run_id: int | None, now: dt.datetime) -> _Claim | ImportRun | None:
    """Take the shop's lock and start the run; the queued run (or None) when the shop is busy."""
    with transaction.atomic():
        shop = Shop.objects.select_related("tenant").filter(pk=shop_id).first()
        if shop is None:
            return None
        queued = ImportRun.objects.filter(pk=run_id, shop=shop).first() if run_id is not None else None
        shop_sync(shop)
        sync = locked(ShopSync.objects.filter(shop_id=shop_id), skip_locked=True).first()
        if sync is None or _held(sync, now):
            return queued
        # a poll's runs only: a CSV import (shops.services.csvimport) of the same shop is not this lock's
        dead = ImportRun.objects.filter(shop=shop, status=RunStatus.RUNNING).exclude(trigger=Trigger.CSV)
        dead.update(
            status=RunStatus.FAILED, finished_at=now, error_kind=SyncErrorKind.INTERRUPTED, error=_interrupted()
        )
        stale = ImportRun.objects.filter(shop=shop, status=RunStatus.QUEUED, created_at__lt=now - lock_ttl())
        if run_id is not None:
            stale = stale.exclude(pk=run_id)
        stale.update(
            status=RunStatus.SKIPPED, finished_at=now, error=_("Never started: no worker took the request up in time.")
        )
        sync.running_since = sync.heartbeat_at = now
        sync.save(update_fields=["running_since", "heartbeat_at"])
        run = queued or ImportRun(tenant_id=shop.tenant_id, shop=shop, trigger=trigger)
        run.status, run.started_at = RunStatus.RUNNING, now
        run.save()
        return _Claim(shop=shop, sync_id=sync.pk, stamp=now, failures=sync.failures, cursor=sync.cursor, run=run)


def _advance(claim: _Claim, cursor: str) -> None:
    """Save the page's cursor and a sign of life, if the lock is still this poll's."""
    if not ShopSync.objects.filter(pk=claim.sync_id, running_since=claim.stamp).update(
        cursor=cursor, heartbeat_at=timezone.now()
    ):
        raise LockLost


def _beat(claim: _Claim) -> bool:
    """A sign of life between pages (the heartbeat's timer); False once the lock is no longer this poll's."""
    return bool(
        ShopSync.objects.filter(pk=claim.sync_id, running_since=claim.stamp).update(heartbeat_at=timezone.now())
    )


def _process(shop: Shop, run: ImportRun, outcome: BatchOutcome) -> str:
    """Auto-process the page's new and changed orders; a problem message for the run, or "".

    In a savepoint: an auto-processing bug must not stop orders from arriving. The orders then stay as
    imported (in the first "new" status) and the run says why; "Run auto-processing" on the list sorts them
    once it is fixed."""
    ids = outcome.changed_ids
    if not ids:
        return ""
    try:
        with transaction.atomic():
            result = process(tenant=shop.tenant, order_ids=ids, actor_name=shop.name)
    except Exception as error:
        logger.exception("auto-processing after the import of shop %s failed", shop.pk)
        return _("Auto-processing did not run on %(n)d orders: %(error)s") % {"n": len(ids), "error": error}
    run.processed += result.changed
    if result.errors:
        return "; ".join(result.errors[:5])
    return ""


def _note(run: ImportRun, text: str) -> None:
    if text and text not in run.notes:
        run.notes = [*run.notes, text]


def import_page(
    *, shop: Shop, batch: Iterable[ImportedOrder | FailedOrder], run: ImportRun
) -> tuple[BatchOutcome, str]:
    """One page as a poll imports it, in one transaction: import_orders, then auto-processing of the page's
    new and changed orders (see _process), then the run's page count. Returns the outcome and a problem
    message from auto-processing ("" when none). A CSV upload imports its batches through this too."""
    with transaction.atomic():
        outcome = import_orders(shop, batch, run=run)
        problem = _process(shop, run, outcome)
        _note(run, problem)
        run.pages += 1
        run.save(update_fields=["pages", "processed", "notes"])
    return outcome, problem


def _pages(claim: _Claim, connector: Connector) -> bool:
    """Import page after page, each with its cursor; True when auto-processing reported a problem."""
    problems = False
    with Heartbeat(lambda: _beat(claim), name=f"poll-{claim.shop.pk}-heartbeat"):
        for page in connector.pages(claim.cursor):
            with transaction.atomic():
                _outcome, problem = import_page(shop=claim.shop, batch=page.orders, run=claim.run)
                problems = problems or bool(problem)
                _advance(claim, page.cursor)
            claim.cursor = page.cursor
    return problems


def import_run_start(*, shop: Shop, trigger: str, user: Any = None) -> ImportRun:
    """A run for an import that is not a poll (a CSV upload): started now."""
    return ImportRun.objects.create(
        tenant_id=shop.tenant_id,
        shop=shop,
        trigger=trigger,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        started_by_id=getattr(user, "pk", None),
    )


def import_run_finish(*, run: ImportRun, error: str = "") -> ImportRun:
    """End a run that is not a poll: failed with `error`, else partial when orders failed, else ok."""
    run.refresh_from_db()
    run.status = RunStatus.FAILED if error else RunStatus.PARTIAL if run.failed else RunStatus.OK
    run.error, run.finished_at = error or run.error, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def poll_shop(*, shop_id: int, trigger: str = Trigger.BEAT, run_id: int | None = None) -> PollOutcome:
    """Poll one shop now (see the module's docstring). `run_id`: a run queued by "fetch latest", which this
    poll carries out; a run that is no longer queued was done already (a message delivered twice) and is
    left alone."""
    now = timezone.now()
    if run_id is not None:
        queued = ImportRun.objects.filter(pk=run_id, shop_id=shop_id).first()
        if queued is None or queued.status != RunStatus.QUEUED:
            return PollOutcome(run=queued)
    claim = _claim(shop_id, trigger, run_id, now)
    if not isinstance(claim, _Claim):
        return PollOutcome(run=claim, busy=True)
    shop, run = claim.shop, claim.run
    if not shop.active:
        return _finish_skipped(claim, _("The shop is switched off."))
    try:
        connector = connector_build(
            shop, on_credentials=lambda values: shop_credentials_renewed(shop_id=shop.pk, values=values)
        )
    except CredentialsInvalid as error:  # nothing was sent anywhere: the connector refused before any request
        return _finish_failed(
            claim,
            SyncErrorKind.CONFIG,
            _("The credentials cannot be used: %(error)s Correct them in the settings.") % {"error": error},
            AUTH_PAUSE.total_seconds(),
        )
    except CredentialsUnreadable:
        return _finish_failed(
            claim,
            SyncErrorKind.CONFIG,
            _("The stored credentials cannot be decrypted (the key changed). Enter them again in the settings."),
            AUTH_PAUSE.total_seconds(),
        )
    except LookupError:
        return _finish_failed(
            claim,
            SyncErrorKind.CONFIG,
            _("There is no connector for this kind of shop (%(mall)s).") % {"mall": shop.get_mall_display()},
            AUTH_PAUSE.total_seconds(),
        )
    except Exception as error:
        logger.exception("the connector of shop %s cannot be built", shop.pk)
        return _finish_failed(
            claim, SyncErrorKind.CONFIG, f"{type(error).__name__}: {error}", AUTH_PAUSE.total_seconds()
        )
    try:
        if not MallCodeMapping.objects.for_tenant(shop.tenant_id).filter(mall=shop.mall).exists():
            mappings_seed(tenant=shop.tenant, mall=shop.mall)  # a shop made before its connector existed
        problems = _pages(claim, connector)
    except LockLost:
        run.refresh_from_db()  # taken for dead (silent too long: a frozen worker), and another poll took over
        run.status, run.finished_at, run.error_kind = RunStatus.FAILED, timezone.now(), SyncErrorKind.INTERRUPTED
        run.error = _("Another poll of this shop took over; this one stopped.")
        run.save(update_fields=["status", "finished_at", "error", "error_kind"])
        return PollOutcome(run=run)
    except RateLimited as error:
        # The mall's Retry-After (bounded by the connector, and again here: "inf" must not overflow the clock)
        delay = min(max(backoff(claim.failures + 1), bounded_wait(float(error.retry_after))), RETRY_MAX)
        return _finish_failed(
            claim,
            SyncErrorKind.RATE_LIMITED,
            _("The mall limits requests: %(error)s") % {"error": error},
            delay,
            retry=True,
        )
    except MallUnavailable as error:
        return _finish_failed(
            claim,
            SyncErrorKind.UNAVAILABLE,
            _("The mall did not answer: %(error)s") % {"error": error},
            backoff(claim.failures + 1),
            retry=True,
        )
    except AuthFailed as error:
        return _finish_failed(
            claim,
            SyncErrorKind.AUTH,
            _("The mall refused the credentials: %(error)s. Enter them again in the settings.")
            % {"error": str(error).rstrip("。.")},
            AUTH_PAUSE.total_seconds(),
        )
    except MallError as error:
        return _finish_failed(
            claim,
            SyncErrorKind.ERROR,
            _("The mall answered with an error: %(error)s") % {"error": error},
            backoff(claim.failures + 1),
        )
    except Exception as error:
        logger.exception("poll of shop %s failed", shop.pk)
        return _finish_failed(
            claim, SyncErrorKind.ERROR, f"{type(error).__name__}: {error}", backoff(claim.failures + 1)
        )
    finally:
        connector.client.close()
    return _finish_done(claim, problems)


def _finish_done(claim: _Claim, problems: bool) -> PollOutcome:
    now = timezone.now()
    run = claim.run
    with transaction.atomic():
        run.status = RunStatus.PARTIAL if (run.failed or problems) else RunStatus.OK
        run.finished_at = now
        run.save(update_fields=["status", "finished_at"])
        ShopSync.objects.filter(pk=claim.sync_id, running_since=claim.stamp).update(
            running_since=None,
            heartbeat_at=None,
            last_success_at=now,
            last_error="",
            last_error_kind="",
            failures=0,
            next_due_at=claim.stamp + dt.timedelta(minutes=claim.shop.poll_interval),  # from its start: see poll_tick
        )
    return PollOutcome(run=run)


def _finish_failed(claim: _Claim, kind: str, message: str, delay: float, retry: bool = False) -> PollOutcome:
    now = timezone.now()
    run = claim.run
    with transaction.atomic():
        run.refresh_from_db()  # the counts as committed: a page that failed half-way was rolled back
        run.status, run.finished_at, run.error, run.error_kind = RunStatus.FAILED, now, message, kind
        run.save(update_fields=["status", "finished_at", "error", "error_kind"])
        ShopSync.objects.filter(pk=claim.sync_id, running_since=claim.stamp).update(
            running_since=None,
            heartbeat_at=None,
            last_error=message,
            last_error_kind=kind,
            last_error_at=now,
            failures=F("failures") + 1,
            next_due_at=now + dt.timedelta(seconds=delay),
        )
    logger.warning("poll of shop %s failed (%s): %s", claim.shop.pk, kind, message)
    return PollOutcome(run=run, retry_in=delay if retry else None)


def _finish_skipped(claim: _Claim, message: str) -> PollOutcome:
    now = timezone.now()
    run = claim.run
    with transaction.atomic():
        run.status, run.finished_at, run.error = RunStatus.SKIPPED, now, message
        run.save(update_fields=["status", "finished_at", "error"])
        ShopSync.objects.filter(pk=claim.sync_id, running_since=claim.stamp).update(
            running_since=None, heartbeat_at=None
        )
    return PollOutcome(run=run)


def import_run_skip(*, run_id: int, reason: str) -> None:
    """A queued run that will not be carried out (the shop stayed busy): say so, so nobody waits for it."""
    ImportRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.SKIPPED, finished_at=timezone.now(), error=reason
    )


def dead_polls_release(*, now: dt.datetime | None = None) -> int:
    """Beat, every minute, before it picks the due shops: the polls whose worker died (lock_dead). Their runs
    say "interrupted", their locks are freed and their shops are due at once, so the next poll (this very
    beat) goes on from the last page they saved. Returns how many shops were freed."""
    now = now or timezone.now()
    with transaction.atomic():
        dead = list(locked(ShopSync.objects.filter(lock_dead(now=now)), skip_locked=True).values_list("pk", "shop_id"))
        if not dead:
            return 0
        shop_ids = [shop_id for _pk, shop_id in dead]
        (
            ImportRun.objects.filter(shop_id__in=shop_ids, status=RunStatus.RUNNING)
            .exclude(trigger=Trigger.CSV)
            .update(
                status=RunStatus.FAILED, finished_at=now, error_kind=SyncErrorKind.INTERRUPTED, error=_interrupted()
            )
        )
        ShopSync.objects.filter(pk__in=[pk for pk, _shop_id in dead]).update(
            running_since=None, heartbeat_at=None, next_due_at=now
        )
    logger.warning("polls of shops %s gave no sign of life for %s: marked interrupted", shop_ids, dead_after())
    return len(dead)


# --- what beat and "fetch latest" start --------------------------------------------------------------------


def poll_tick() -> dt.timedelta:
    """How often beat looks for due shops (settings.SHOPS_POLL_TICK, the beat schedule's poll-due-shops).

    A shop's poll interval runs from one poll's start to the next (_finish_done), and beat sends a shop at the
    tick nearest its due time, up to half a tick early: a poll starts a few seconds after the tick that sent
    it, so a 1-minute shop is due a few seconds after the next tick, and waiting for the tick after that would
    poll it every 2 minutes (a 2-minute shop every 3). A shop waiting out a failure's delay (a mall's
    Retry-After, the backoff) is not sent early: it waits all of it."""
    return dt.timedelta(seconds=float(getattr(settings, "SHOPS_POLL_TICK", 60)))


def _pollable(kinds: Iterable[str]) -> set[str]:
    return {kind for kind in set(kinds) if has_connector(kind)}


@transaction.atomic
def shops_due_for_poll(*, now: dt.datetime | None = None) -> list[int]:
    """The active shops, of every tenant, whose next poll is due at this tick (see poll_tick) and that no poll
    holds; each is marked as scheduled (next due one interval later), so that beat does not send it again
    while it waits in the queue. The poll sets the real next time when it finishes."""
    now = now or timezone.now()
    shop_syncs_ensure()
    nearest = now + poll_tick() / 2  # due before the next tick's half: this tick is the nearest
    rows = list(
        ShopSync.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(shop__active=True)
        .exclude(shop__credentials="")  # never connected (a mall shop kept for CSV or by hand): nothing to poll
        .filter(Q(next_due_at__isnull=True) | Q(next_due_at__lte=now) | Q(failures=0, next_due_at__lte=nearest))
        .filter(Q(running_since__isnull=True) | lock_dead(now=now))
        .order_by("pk")
        .values_list("pk", "shop_id", "shop__mall", "shop__poll_interval")
    )
    pollable = _pollable(mall for _pk, _shop, mall, _interval in rows)
    due = [(pk, shop_id, interval) for pk, shop_id, mall, interval in rows if mall in pollable]
    by_interval: dict[int, list[int]] = defaultdict(list)
    for pk, _shop_id, interval in due:
        by_interval[interval].append(pk)
    for interval, pks in by_interval.items():
        ShopSync.objects.filter(pk__in=pks).update(next_due_at=now + dt.timedelta(minutes=interval))
    return [shop_id for _pk, shop_id, _interval in due]


def fetch_latest(*, tenant: Tenant, user: Any = None, shop: Shop | None = None) -> list[ImportRun]:
    """Fetch latest (F6, T8): queue a poll of each of the tenant's active, connected shops that have a
    connector (or of `shop` alone) and return the queued runs, which the page then watches. The polls go through Celery
    once the transaction commits, like every other poll, so the lock and the retries are the same."""
    from ..tasks import poll_shop_enqueue

    qs = Shop.objects.for_tenant(tenant).filter(active=True).exclude(credentials="").order_by("position", "pk")
    if shop is not None:
        qs = qs.filter(pk=shop.pk)
    shops = list(qs)
    pollable = _pollable(s.mall for s in shops)
    chosen = [s for s in shops if s.mall in pollable]
    user_id = getattr(user, "pk", None)
    with transaction.atomic():
        runs = ImportRun.objects.bulk_create(
            [
                ImportRun(tenant=tenant, shop=s, trigger=Trigger.MANUAL, status=RunStatus.QUEUED, started_by_id=user_id)
                for s in chosen
            ]
        )
        jobs = [(run.shop_id, run.pk) for run in runs]

        def send() -> None:
            for shop_id, run_id in jobs:
                poll_shop_enqueue(shop_id, Trigger.MANUAL, run_id)

        transaction.on_commit(send)
    return runs
