"""Shipment data to the malls (B12) for operators: the order's panel (told or not, with the mall's answer, and
a retry), the shops page's reports (not told per shop, failures with retry for one shop or all) and the file
for a mall without an API. Thin: writes are shops.services.reports, reads shops.selectors_reports."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.selectors import access_order

from .selectors import access_shop
from .selectors_reports import FAILURES_SHOWN, order_reports, reports_overview
from .services.reports import reports_file, reports_retry


def _panel(request: TenantRequest, order_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    reports = order_reports(tenant=request.tenant, order=order)
    return render(request, "shops/_order_reports.html", {"order": order, "reports": reports})


@require_GET
@tenant_required
def order_reports_panel(request: TenantRequest, order_id: int) -> HttpResponse:
    """The order page's panel (htmx): per mall order, told or not, with the mall's answer and when."""
    return _panel(request, order_id)


@require_POST
@tenant_required
def order_reports_retry(request: TenantRequest, order_id: int) -> HttpResponse:
    """Send the order's failed and refused reports again; the panel again for htmx, else back to the order."""
    order = access_order(request.tenant, order_id)
    sent = reports_retry(tenant=request.tenant, order=order)
    if request.htmx:
        return _panel(request, order.pk)
    messages.info(request, _sent_words(len(sent)))
    return redirect("order_detail", order_id=order.pk)


def _sent_words(count: int) -> str:
    if not count:
        return _("Nothing to send again (a mall without an API is told by file from the shops page).")
    return ngettext(
        "%(n)d shipment report is being sent again.", "%(n)d shipment reports are being sent again.", count
    ) % {"n": count}


@require_GET
@tenant_required
def reports_panel(request: TenantRequest) -> HttpResponse:
    """The shops page's reports (htmx, or alone): not told per shop and the failures to retry; `?shop=` for one
    shop (the shop page's)."""
    shop_id = request.GET.get("shop", "")
    shop = access_shop(request.tenant, shop_id) if shop_id else None
    overview = reports_overview(tenant=request.tenant, shop=shop)
    template = "shops/_reports.html" if request.htmx else "shops/reports.html"
    return render(request, template, {"overview": overview, "shop": shop, "shown": FAILURES_SHOWN})


@require_POST
@tenant_required
def reports_retry_all(request: TenantRequest) -> HttpResponse:
    """Send every failed and refused report of the tenant again."""
    messages.info(request, _sent_words(len(reports_retry(tenant=request.tenant))))
    return redirect("shop_list")


@require_POST
@tenant_required
def shop_reports_retry(request: TenantRequest, shop_id: int) -> HttpResponse:
    """Send the shop's failed and refused reports again."""
    shop = access_shop(request.tenant, shop_id)
    messages.info(request, _sent_words(len(reports_retry(tenant=request.tenant, shop=shop))))
    target = reverse("shop_detail", args=[shop.pk]) if request.POST.get("next") == "shop" else reverse("shop_list")
    return redirect(target)


@require_POST
@tenant_required
def shop_reports_file(request: TenantRequest, shop_id: int) -> HttpResponse:
    """The shop's reports not told yet as a file for the mall (Amazon's fulfillment flat file layout); they
    count as told by file from now on."""
    shop = access_shop(request.tenant, shop_id)
    made = reports_file(tenant=request.tenant, shop=shop)
    if not made.reports:
        messages.info(request, _("No shipment report of this shop is waiting to be told."))
        return redirect("shop_list")
    response = HttpResponse(made.content, content_type="text/tab-separated-values; charset=Shift_JIS")
    response["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response


urlpatterns = [
    path("reports/", reports_panel, name="shops_reports"),
    path("reports/retry/", reports_retry_all, name="shops_reports_retry"),
    path("reports/order/<int:order_id>/", order_reports_panel, name="shops_order_reports"),
    path("reports/order/<int:order_id>/retry/", order_reports_retry, name="shops_order_reports_retry"),
    path("<int:shop_id>/reports/retry/", shop_reports_retry, name="shop_reports_retry"),
    path("<int:shop_id>/reports/file/", shop_reports_file, name="shop_reports_file"),
]
