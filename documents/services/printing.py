"""Printing forms: what may be printed, printing a few orders at once, bulk jobs a worker renders, and the marks
and history every print leaves.

- `printable` reads the orders (documents.services.data) and refuses, by order number and in Japanese, what
  cannot be printed (an order without lines); the others print.
- `print_now`: up to `inline_limit()` orders (one order from its page; a small selection) render in the
  request — well under a second for one order — then are marked printed.
- `job_create`, then `job_plan` / `job_render_part` / `_finish`: more orders (at most MAX_JOB_ORDERS) become a
  PrintJob. Its task plans it (names what cannot be printed, cuts the rest into parts of CHUNK orders) and
  queues one task per part, so every worker process renders at once (WeasyPrint is pure Python: one process
  renders one page at a time); each part is drawn to a file of its own and counted under the job's row lock,
  and the task that counts the last part joins the files in order into one PDF under the tenant's media and
  marks the orders. Progress is written after every part (the job page follows it without reloading). A part
  that fails is named — the order numbers it held and why — and the others go on; only the orders that
  rendered are marked. `job_run` does the same in one process.
- `mark_printed`: one PrintMark per order and form (first and last time, how many times) and one
  DOCUMENT_PRINTED event per order, set-based; the list's "printed" mark, the receipt's 再発行 and the question
  before printing again read the marks.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders import events
from orders.constants import ActorKind
from orders.copy import save_events
from orders.events import Actor
from orders.models import Order
from orders.sets import order_stubs

from ..models import DocumentKind, JobState, PrintJob, PrintJobPart, PrintMark
from .data import OrderForm, order_forms
from .render import CHUNK, render_chunks, render_pdf

logger = logging.getLogger(__name__)

MAX_JOB_ORDERS = 10_000
INLINE_ORDERS = 20  # default of settings.DOCUMENTS_INLINE_ORDERS
JOB_CHUNK_READ = 500  # orders read from the database at a time by a job


class PrintRefused(ValueError):
    """Nothing was printed or queued; the message says why."""


def inline_limit() -> int:
    return int(getattr(settings, "DOCUMENTS_INLINE_ORDERS", INLINE_ORDERS))


@dataclass
class Printable:
    forms: list[OrderForm] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (order id, number, reason)


def printable(tenant: Tenant, kind: str, order_ids: Sequence[int]) -> Printable:
    """The tenant's orders among `order_ids` that can be printed as `kind`, and those that cannot, with why."""
    result = Printable()
    for form in order_forms(tenant, order_ids):
        if not form.lines:
            result.refused.append((form.id, form.number, _("the order has no lines: nothing to print")))
        else:
            result.forms.append(form)
    return result


def printed_before(tenant: Tenant, kind: str, order_ids: Sequence[int]) -> int:
    """How many of these orders already had this form printed (the question before printing again)."""
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    count = 0
    for start in range(0, len(ids), 2_000):
        count += PrintMark.objects.filter(
            tenant_id=tenant.pk, kind=kind, order_id__in=ids[start : start + 2_000]
        ).count()
    return count


@transaction.atomic
def mark_printed(*, tenant: Tenant, kind: str, order_ids: Sequence[int], actor: Actor, job: int | None = None) -> None:
    """Mark the orders printed as `kind` now (a mark per order and form) and write each order's event."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return
    now = timezone.now()
    name = str(DocumentKind(kind).label)
    times: dict[int, int] = {}
    for start in range(0, len(ids), 2_000):
        chunk = ids[start : start + 2_000]
        marks = PrintMark.objects.filter(tenant_id=tenant.pk, kind=kind, order_id__in=chunk)
        times.update(marks.values_list("order_id", "times"))
        marks.update(last_printed_at=now, times=F("times") + 1)
    PrintMark.objects.bulk_create(
        [
            PrintMark(tenant_id=tenant.pk, order_id=i, kind=kind, first_printed_at=now, last_printed_at=now)
            for i in ids
            if i not in times
        ],
        batch_size=2_000,
    )
    stubs = order_stubs(tenant)
    with transaction.atomic():
        save_events(
            [
                events.order_printed_event(
                    order=stubs[i],
                    actor=actor,
                    printed={"kind": kind, "name": name, "times": times.get(i, 0) + 1, "job": job},
                    commit=False,
                )
                for i in ids
            ]
        )


def print_now(
    *, tenant: Tenant, kind: str, order_ids: Sequence[int], actor: Actor, options: dict[str, Any]
) -> tuple[bytes | None, Printable]:
    """Render the printable orders at once and mark them; (None, …) when none can be printed."""
    found = printable(tenant, kind, order_ids)
    if not found.forms:
        return None, found
    pdf = render_pdf(tenant, kind, found.forms, options)
    mark_printed(tenant=tenant, kind=kind, order_ids=[f.id for f in found.forms], actor=actor)
    return pdf, found


def job_create(
    *, tenant: Tenant, kind: str, order_ids: Sequence[int], actor: Actor, options: dict[str, Any]
) -> PrintJob:
    """A bulk job for a worker (documents.tasks.run_print_job, queued after the commit by the caller)."""
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    if not ids:
        raise PrintRefused(_("Select the orders to print first."))
    if len(ids) > MAX_JOB_ORDERS:
        raise PrintRefused(
            _("%(n)s orders are more than one print job takes (%(max)s): narrow the search and print in parts.")
            % {"n": f"{len(ids):,}", "max": f"{MAX_JOB_ORDERS:,}"}
        )
    return PrintJob.objects.create(
        tenant=tenant,
        kind=DocumentKind(kind).value,
        options=options,
        order_ids=ids,
        total=len(ids),
        created_by_id=actor.user_id,
        created_by_name=actor.name[:200],
    )


def _claim(tenant_id: int, job_id: int) -> PrintJob | None:
    """Take a queued job (or one whose worker died, DOCUMENTS_JOB_STALE_AFTER seconds after its last progress);
    None when another worker has it or it is finished."""
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().filter(tenant_id=tenant_id, pk=job_id).first()
        if job is None or job.state in (JobState.DONE, JobState.FAILED):
            return None
        stale_after = float(getattr(settings, "DOCUMENTS_JOB_STALE_AFTER", 300))
        if (
            job.state == JobState.RUNNING
            and job.heartbeat_at
            and ((timezone.now() - job.heartbeat_at).total_seconds() < stale_after)
        ):
            return None
        for part in PrintJobPart.objects.filter(job=job):  # a dead worker's parts: drawn again
            if part.file:
                part.file.delete(save=False)
        PrintJobPart.objects.filter(job=job).delete()
        now = timezone.now()
        PrintJob.objects.filter(pk=job.pk).update(
            state=JobState.RUNNING, started_at=now, heartbeat_at=now, done=0, pages=0, failed=[], parts=0, parts_done=0
        )
        job.refresh_from_db()
        return job


def job_plan(*, tenant: Tenant, job_id: int) -> list[int]:
    """Claim the job, name what cannot be printed, and cut the rest into parts of CHUNK orders (a picking list:
    one part, since it sums every order's lines); returns the parts' indexes, for one task each. A job with
    nothing to print ends failed at once."""
    job = _claim(tenant.pk, job_id)
    if job is None:
        return []
    failed: list[list[str]] = []
    ids: list[int] = []
    wanted = list(job.order_ids)
    for start in range(0, len(wanted), JOB_CHUNK_READ):
        part = printable(tenant, job.kind, wanted[start : start + JOB_CHUNK_READ])
        failed.extend([number, reason] for _id, number, reason in part.refused)
        ids.extend(form.id for form in part.forms)
    missing = job.total - len(ids) - len(failed)
    if missing > 0:
        failed.append(["—", _("%(n)s orders no longer exist") % {"n": missing}])
    size = (len(ids) or 1) if job.kind == DocumentKind.PICKING_LIST else CHUNK
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    PrintJobPart.objects.bulk_create(
        [PrintJobPart(tenant_id=tenant.pk, job=job, index=n, order_ids=chunk) for n, chunk in enumerate(chunks)]
    )
    PrintJob.objects.filter(pk=job.pk).update(
        parts=len(chunks), done=job.total - len(ids), failed=failed, heartbeat_at=timezone.now()
    )
    if not chunks:
        _finish(tenant, job.pk)
    return list(range(len(chunks)))


def job_render_part(*, tenant: Tenant, job_id: int, index: int) -> PrintJob | None:
    """Render one part to a file of its own and count it; the task that counts the last part joins them all
    (`_finish`) and returns the finished job. A part already rendered (a redelivered task) is not drawn again;
    a part that fails names its orders and the job goes on."""
    part = PrintJobPart.objects.filter(tenant_id=tenant.pk, job_id=job_id, index=index).select_related("job").first()
    if part is None or part.done or part.job.state != JobState.RUNNING:
        return None
    job = part.job
    found = printable(tenant, job.kind, part.order_ids)  # read again: an order may have changed meanwhile
    failed = [[number, reason] for _id, number, reason in found.refused]
    pages = 0
    if found.forms:
        try:
            pdf, pages = render_chunks(tenant, job.kind, [found.forms], job.options)
        except Exception as error:  # one bad part never stops the job: its orders are named, the rest go on
            logger.exception("print job %s: part %s of %d orders failed", job.pk, index, len(found.forms))
            reason = _("could not be rendered (%(error)s)") % {"error": type(error).__name__}
            failed.extend([form.number, reason] for form in found.forms)
        else:
            part.file.save(f"{index:05d}.pdf", ContentFile(pdf), save=False)
            part.rendered = [form.id for form in found.forms]
    part.failed, part.pages, part.done = failed, pages, True
    part.save(update_fields=["file", "rendered", "failed", "pages", "done"])
    with transaction.atomic():
        locked = PrintJob.objects.select_for_update().get(pk=job.pk)
        locked.done += len(part.order_ids)
        locked.pages += pages
        locked.parts_done += 1
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["done", "pages", "parts_done", "heartbeat_at"])
        last = locked.parts_done >= locked.parts
    return _finish(tenant, job.pk) if last else None


def _finish(tenant: Tenant, job_id: int) -> PrintJob:
    """Join the parts' PDFs in order into the job's file, mark the printed orders, collect what failed, and
    delete the parts."""
    from pypdf import PdfWriter

    job = PrintJob.objects.get(pk=job_id)
    parts = list(PrintJobPart.objects.filter(job=job).order_by("index"))
    failed = list(job.failed)
    rendered: list[int] = []
    writer = PdfWriter()
    for part in parts:
        failed.extend(part.failed)
        if part.file:
            with part.file.open("rb") as handle:
                writer.append(handle)
            rendered.extend(part.rendered)
    actor = Actor(ActorKind.USER, job.created_by_name, job.created_by_id)
    if rendered:
        out = io.BytesIO()
        writer.write(out)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        job.file.save(f"{job.kind}-{stamp}.pdf", ContentFile(out.getvalue()), save=False)
        mark_printed(tenant=tenant, kind=job.kind, order_ids=rendered, actor=actor, job=job.pk)
    job.state = JobState.DONE if rendered else JobState.FAILED
    job.error = "" if rendered else _("No order could be printed.")
    job.failed = failed
    job.done = job.total
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "state", "error", "failed", "done", "finished_at"])
    for part in parts:
        if part.file:
            part.file.delete(save=False)
    PrintJobPart.objects.filter(job=job).delete()
    return job


def job_run(*, tenant: Tenant, job_id: int) -> PrintJob | None:
    """The whole job in this process, part after part (what the tasks do across workers; tests and the bench
    call it). None when the job was finished or another worker has it."""
    finished = None
    for index in job_plan(tenant=tenant, job_id=job_id):
        finished = job_render_part(tenant=tenant, job_id=job_id, index=index) or finished
    if finished is None:
        job = PrintJob.objects.filter(tenant_id=tenant.pk, pk=job_id).first()
        return job if job is not None and job.state == JobState.FAILED and job.parts == 0 else None
    return finished


def order_numbers(tenant: Tenant, ids: Sequence[int]) -> dict[int, str]:
    return dict(Order.objects.for_tenant(tenant).filter(pk__in=list(ids)).values_list("pk", "external_id"))


def jobs_prune(*, keep_days: int | None = None) -> int:
    """Delete print jobs (and their PDFs, which hold customers' names and addresses) finished more than
    DOCUMENTS_JOBS_KEEP_DAYS days ago (7 by default); never a queued or running one. Returns how many."""
    days = keep_days if keep_days is not None else int(getattr(settings, "DOCUMENTS_JOBS_KEEP_DAYS", 7))
    before = timezone.now() - dt.timedelta(days=days)
    old = PrintJob.objects.filter(state__in=[JobState.DONE, JobState.FAILED], finished_at__lt=before)
    count = 0
    for job in old.iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count
