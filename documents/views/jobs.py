"""Print jobs (issue 15, item 3): a job's progress, polled by htmx every second while a worker renders it, the
orders it could not print, and its PDF; the tenant's recent jobs. The PDF is streamed only to the job's tenant
(another tenant's job, or a missing one, is a 404)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.http import TenantRequest
from backyard.views import tenant_required

from ..models import JobState, PrintJob
from ..selectors import access_job, job_list

WAITING_HINT_AFTER = dt.timedelta(minutes=2)  # a job still queued after this: no worker may be running


def job_context(job: PrintJob) -> dict[str, object]:
    active = job.state in (JobState.QUEUED, JobState.RUNNING)
    percent = int(job.done * 100 / job.total) if job.total else 0
    stale = float(getattr(settings, "DOCUMENTS_JOB_STALE_AFTER", 300))
    return {
        "job": job,
        "active": active,
        "percent": 100 if job.state == JobState.DONE else percent,
        "waiting_long": job.state == JobState.QUEUED and timezone.now() - job.created_at > WAITING_HINT_AFTER,
        "stalled": job.state == JobState.RUNNING
        and job.heartbeat_at is not None
        and (timezone.now() - job.heartbeat_at).total_seconds() > stale,
        "downloadable": job.state == JobState.DONE and bool(job.file),
    }


@tenant_required
def job_detail(request: TenantRequest, job_id: int) -> HttpResponse:
    job = access_job(request.tenant, job_id)
    context = job_context(job)
    if request.htmx:
        return render(request, "documents/_job.html", context)
    return render(request, "documents/job.html", context)


@tenant_required
def job_index(request: TenantRequest) -> HttpResponse:
    jobs = list(job_list(request.tenant))
    active = any(job.state in (JobState.QUEUED, JobState.RUNNING) for job in jobs)
    context = {"jobs": jobs, "active": active}
    if request.htmx:
        return render(request, "documents/_jobs.html", context)
    return render(request, "documents/jobs.html", context)


def job_filename(job: PrintJob) -> str:
    return f"{job.kind}-{timezone.localtime(job.created_at):%Y%m%d-%H%M}.pdf"


@tenant_required
def job_download(request: TenantRequest, job_id: int) -> FileResponse:
    job = access_job(request.tenant, job_id)
    if job.state != JobState.DONE or not job.file:
        raise Http404(_("Not found."))
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("Not found.")) from None
    response = FileResponse(handle, content_type="application/pdf", filename=job_filename(job))
    response["Content-Disposition"] = f'inline; filename="{job_filename(job)}"'
    response["Cache-Control"] = "no-store"
    return response
