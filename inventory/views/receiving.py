"""Receiving (入荷): rows of SKU and quantity, typed or as a CSV file, received at once through
inventory.services.receiving.stock_receive, which checks the waiting orders again and moves them on.

A bad row (unknown SKU, a set, a quantity that is not a number) is named and nothing is received. After a
receipt the browser is sent back to the page (a reload does not receive the goods twice), which shows the
outcome once: the units received and the orders that moved on, each linked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor

from ..forms import ReceivingForm
from ..selectors import order_numbers
from ..services.receiving import ReceiveRefused, stock_receive

SESSION_KEY = "inventory.received"
ORDERS_LISTED = 200  # order numbers listed per outcome on the result (the counts are whole)


def _outcome(request: TenantRequest) -> dict[str, Any] | None:
    """The last receipt's outcome, kept in the session for the page after the redirect (shown once)."""
    kept = request.session.pop(SESSION_KEY, None)
    if not isinstance(kept, dict) or kept.get("tenant") != request.tenant.pk:
        return None
    listed = order_numbers(request.tenant, [*kept["full"], *kept["partial"]])
    full = set(kept["full"])
    return {
        "received": sorted(kept["received"].items()),
        "units": sum(kept["received"].values()),
        "note": kept["note"],
        "full": [row for row in listed if row[0] in full],
        "partial": [row for row in listed if row[0] not in full],
        "counts": kept["counts"],
    }


@require_http_methods(["GET", "POST"])
@tenant_required
def receiving(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":
        return render(
            request,
            "inventory/receiving.html",
            {"form": ReceivingForm(tenant=request.tenant), "outcome": _outcome(request)},
        )
    form = ReceivingForm(request.POST, request.FILES, tenant=request.tenant)
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            result = stock_receive(
                tenant=request.tenant, units=form.cleaned_data["units"], actor=Actor.for_user(request.user), note=note
            )
        except ReceiveRefused as refused:
            form.add_error(None, refused.problems)
        else:
            check = result.check
            request.session[SESSION_KEY] = {
                "tenant": request.tenant.pk,
                "received": result.received,
                "note": note,
                "full": check.full[:ORDERS_LISTED],
                "partial": check.partial[:ORDERS_LISTED],
                "counts": {
                    "full": len(check.full),
                    "partial": len(check.partial),
                    "short": len(check.short),
                    "refused": len(check.refused),
                },
            }
            messages.success(
                request,
                _("Received %(units)s units of %(skus)s products.")
                % {"units": f"{sum(result.received.values()):,}", "skus": f"{len(result.received):,}"},
            )
            return HttpResponseRedirect(reverse("receiving"))
    return render(request, "inventory/receiving.html", {"form": form, "outcome": None})


urlpatterns: list[URLPattern] = [
    path("receiving/", receiving, name="receiving"),
]
