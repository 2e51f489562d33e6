"""The request as Backyard's middleware leaves it, typed, so views read `request.tenant` without a
`# type: ignore` each time (issue 12, item 4).

`BackyardRequest`: every request after TenantMiddleware (tenant and membership may be None: anonymous, or a
user of no company). `TenantRequest`: a request that passed `backyard.views.tenant_required` — a logged-in
user with a current tenant and membership. Both only describe attributes; no instance is ever made of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails

    from .models import Membership, Tenant


class BackyardRequest(HttpRequest):
    tenant: Tenant | None
    membership: Membership | None
    memberships: list[Membership]
    htmx: HtmxDetails


class TenantRequest(HttpRequest):
    user: User
    tenant: Tenant
    membership: Membership
    memberships: list[Membership]
    htmx: HtmxDetails
