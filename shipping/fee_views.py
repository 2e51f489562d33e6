"""The order page's "how the shipping fee was computed" panel (issue 16, item 1), loaded by URL from the order
page (orders does not import shipping's operations)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.selectors import access_order

from .services.fees import shipping_fee_for


@require_GET
@tenant_required
def order_fee(request: TenantRequest, order_id: int) -> HttpResponse:
    """The quote of the order's fees from its delivery method's fee table, beside the fees it carries."""
    order = access_order(request.tenant, order_id)
    quote = shipping_fee_for(order)
    return render(request, "shipping/_fee_panel.html", {"order": order, "quote": quote})
