"""Retention of the send log (T10): bodies of mails older than the tenant's `body_keep_days` (180 by default)
are erased, since they hold the customer's name, address and order; the row stays (who, what, when, to whom,
the subject, the server's answer)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from backyard.models import Tenant

from ..models import MailMessage, TenantMailSettings

DEFAULT_KEEP_DAYS = 180


def erase_old_bodies(now: dt.datetime | None = None) -> int:
    """Erase old bodies of every tenant: one UPDATE per tenant with its own setting, one for the rest."""
    now = now or timezone.now()
    erased = 0
    custom = dict(TenantMailSettings.objects.values_list("tenant_id", "body_keep_days"))
    base = MailMessage.objects.filter(body_erased_at__isnull=True).exclude(body="")
    for tenant_id, days in custom.items():
        erased += base.filter(tenant_id=tenant_id, queued_at__lt=now - dt.timedelta(days=days)).update(
            body="", body_erased_at=now
        )
    erased += base.filter(
        ~Q(tenant_id__in=list(custom)), queued_at__lt=now - dt.timedelta(days=DEFAULT_KEEP_DAYS)
    ).update(body="", body_erased_at=now)
    return erased


def keep_days(tenant: Tenant) -> int:
    row = TenantMailSettings.objects.for_tenant(tenant).first()
    return row.body_keep_days if row else DEFAULT_KEEP_DAYS
