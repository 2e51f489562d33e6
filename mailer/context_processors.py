"""The red "send errors N" beside the navigation (F8): failed or unknown mails nobody has resent.

Lazy: the count is one indexed query, run only when a page draws the navigation for a logged-in user of a
tenant (base.html); anonymous pages, the admin and htmx partials never ask, so they pay nothing.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from .filters import open_problems


class MailProblems:
    def __init__(self, tenant_id: int | None) -> None:
        self.tenant_id = tenant_id

    @cached_property
    def count(self) -> int:
        if self.tenant_id is None:
            return 0
        return open_problems(self.tenant_id).count()


def mail_problems(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if tenant is None or user is None or not user.is_authenticated:
        return {}
    return {"mail_problems": MailProblems(tenant.pk)}
