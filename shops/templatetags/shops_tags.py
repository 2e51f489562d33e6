"""The order list's warning banner for failing shops, without touching the list's view: one query."""

from __future__ import annotations

from typing import Any

from django import template

from ..selectors import failing_shops

register = template.Library()


@register.inclusion_tag("shops/_failing_banner.html", takes_context=True)
def shops_failing_banner(context: dict[str, Any]) -> dict[str, Any]:
    """Each active shop of the tenant whose last poll failed, with its error."""
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    return {"failing": failing_shops(tenant=tenant) if tenant is not None else [], "oob": False}
