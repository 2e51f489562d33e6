"""A new tenant with everything it starts with: the top of the project, so it may call every app.

The tenancy core (backyard.models, backyard.services) sits below every app and cannot know what an app gives
a new company; each app offers its own defaults (`orders.services.order_defaults_create`: statuses, payment
and delivery methods, labels, a phone/FAX shop; `automation.defaults.automation_defaults_create`: built-in
tasks, remote islands, the example rules; `mailer.services.setup.mailer_defaults_create`: mail kinds, templates,
status mails, reminder rules), and this module calls them in the order they point at each other.
"""

from __future__ import annotations

from django.db import transaction

from automation.defaults import automation_defaults_create
from mailer.services.setup import mailer_defaults_create
from orders.services import order_defaults_create

from .models import Tenant


@transaction.atomic
def tenant_defaults_create(*, tenant: Tenant) -> None:
    """Every app's defaults for `tenant`. Idempotent: what the tenant already has (its own statuses) stays."""
    order_defaults_create(tenant=tenant)
    automation_defaults_create(tenant=tenant)  # its rules point at the statuses and methods made above
    mailer_defaults_create(tenant=tenant)  # status mails and reminders point at the statuses


@transaction.atomic
def tenant_create(*, name: str, slug: str) -> Tenant:
    """A new merchant, with the defaults it can then change."""
    tenant = Tenant.objects.create(name=name, slug=slug)
    tenant_defaults_create(tenant=tenant)
    return tenant
