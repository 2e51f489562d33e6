"""F10 (issue 17, B8/T11): the bundle candidates, groups of open orders going to one destination, side by side.
Which destinations count as one (name + address, or phone + address) and whether one shop's orders may travel
with another's are asked on the page (GET), so the operator sees at once what each choice finds."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from backyard.http import TenantRequest
from backyard.views import tenant_required

from ..bundling import MATCHES, bundle_candidates, candidate_rows

SHOWN = 100  # groups on the page; the count says how many there are


@require_GET
@tenant_required
def order_bundles(request: TenantRequest) -> HttpResponse:
    match = request.GET.get("match", "")
    match = match if match in MATCHES else "name_address"
    across_shops = request.GET.get("shops") == "mixed"
    groups, total = bundle_candidates(request.tenant, match=match, across_shops=across_shops, limit=SHOWN)
    context = {
        "groups": candidate_rows(request.tenant, groups),
        "total": total,
        "more": max(0, total - len(groups)),
        "match": match,
        "across_shops": across_shops,
    }
    return render(request, "orders/bundles.html", context)


urlpatterns = [path("bundles/", order_bundles, name="order_bundles")]
