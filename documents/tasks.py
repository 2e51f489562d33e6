"""Celery entry points of documents: thin, by id, safe to deliver twice."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from backyard.models import Tenant

from .services.printing import job_plan, job_render_part, jobs_prune

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def run_print_job(self: Any, tenant_id: int, job_id: int) -> dict[str, Any]:
    """Plan a bulk print job and queue one task per part (documents.services.printing.job_plan) on the queue
    the job came on: the parts render on every worker process at once, and the last one joins them."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"job": job_id, "parts": 0}
    parts = job_plan(tenant=tenant, job_id=job_id)
    queue = (self.request.delivery_info or {}).get("routing_key")
    for index in parts:
        if queue:
            render_print_part.apply_async(args=[tenant_id, job_id, index], queue=queue)
        else:
            render_print_part.delay(tenant_id, job_id, index)
    return {"job": job_id, "parts": len(parts)}


@shared_task
def render_print_part(tenant_id: int, job_id: int, index: int) -> dict[str, Any]:
    """Render one part of a print job; the task that renders the last part joins the job's PDF."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"job": job_id, "part": index}
    job = job_render_part(tenant=tenant, job_id=job_id, index=index)
    if job is not None:
        logger.info("print job %s: %s, %s pages, %s not printed", job.pk, job.state, job.pages, len(job.failed))
        return {"job": job.pk, "part": index, "state": job.state, "pages": job.pages, "failed": len(job.failed)}
    return {"job": job_id, "part": index}


@shared_task
def prune_print_jobs() -> int:
    """Beat, daily: finished print jobs older than DOCUMENTS_JOBS_KEEP_DAYS go, with their PDFs."""
    return jobs_prune()
