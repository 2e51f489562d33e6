"""Waybill files out (issue 16 item 2): from the order list's selection (a button beside 帳票印刷) or from a
search; then the preview — the orders the carrier cannot take, each with its reason, and every character
replaced, by order and field — and the download (streamed; Click Post's files of 40 rows in a zip)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from documents.selectors import SEARCH_FILTERS, print_search, search_params
from orders.events import Actor
from orders.selection import Selection
from orders.selectors import tenant_reference
from orders.views.bulk import selected_orders

from ..forms import FormatForm
from ..models import WaybillFormat
from ..services.waybills import shipping_settings, waybill_build, waybill_export, waybill_stream, waybill_zip
from . import keep, kept

KIND = "waybill"
SHOWN = 200  # refusals and replacements listed one by one; the rest are counted
MAX_ORDERS = 50_000


def _to_preview(request: TenantRequest, ids: list[int]) -> HttpResponse:
    key = keep(request, KIND, {"ids": ids})
    url = reverse("waybill_preview", args=[key])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_POST
@tenant_required
def waybill_export_selection(request: TenantRequest) -> HttpResponse:
    """送り状 from the list: the selection (as every bulk action resolves it), then the preview."""
    if Selection(request.session, request.tenant).is_empty():
        messages.warning(request, _("Select the orders to export first."))
        return redirect(request.POST.get("next") or reverse("home"))
    chosen = selected_orders(request, _("Waybill file"))
    if isinstance(chosen, HttpResponse):
        return chosen
    ids = list(chosen.orders.order_by("pk").values_list("pk", flat=True)[: MAX_ORDERS + 1])
    if len(ids) > MAX_ORDERS:
        messages.error(request, _("More than %(n)s orders: narrow the selection.") % {"n": f"{MAX_ORDERS:,}"})
        return redirect(reverse("home"))
    chosen.done()
    return _to_preview(request, ids)


@tenant_required
def waybill_search(request: TenantRequest) -> HttpResponse:
    """Waybills of the orders a search finds (documents' search: order date, ship date, shop, status)."""
    tenant = request.tenant
    params = request.POST if request.method == "POST" else request.GET
    reference = tenant_reference(tenant=tenant, user=request.user)
    search, orders = print_search(tenant=tenant, params=params, reference=reference)
    searching = bool(search_params(params))
    count = orders.count() if searching else None
    if request.method == "POST" and searching and count:
        if count > MAX_ORDERS:
            messages.error(request, _("More than %(n)s orders: narrow the search.") % {"n": f"{MAX_ORDERS:,}"})
        else:
            return _to_preview(request, list(orders.order_by("pk").values_list("pk", flat=True)))
    context = {
        "fields": [search.form[name] for name in SEARCH_FILTERS],
        "searching": searching,
        "count": count,
    }
    return render(request, "shipping/waybill_search.html", context)


@tenant_required
def waybill_preview(request: TenantRequest, key: str) -> HttpResponse:
    """What the file would hold (writes nothing): orders exported, refused with reasons, replaced characters."""
    entry = kept(request, KIND, key)
    form = FormatForm(request.GET or {"format": entry.get("format", WaybillFormat.B2CLOUD)})
    fmt = form.cleaned_data["format"] if form.is_valid() else WaybillFormat.B2CLOUD
    built = waybill_build(tenant=request.tenant, fmt=fmt, order_ids=entry["ids"])
    context = {
        "key": key,
        "form": form,
        "format": fmt,
        "format_label": WaybillFormat(fmt).label,
        "selected": len(entry["ids"]),
        "built": built,
        "refused": built.refused[:SHOWN],
        "refused_more": max(0, len(built.refused) - SHOWN),
        "replacements": built.replacements[:SHOWN],
        "replacements_more": max(0, len(built.replacements) - SHOWN),
        "settings": shipping_settings(request.tenant),
    }
    return render(request, "shipping/waybill_preview.html", context)


@require_POST
@tenant_required
def waybill_download(request: TenantRequest, key: str) -> HttpResponse | StreamingHttpResponse:
    """The file: the orders are marked and moved first, then the rows stream out."""
    entry = kept(request, KIND, key)
    form = FormatForm(request.POST)
    if not form.is_valid():
        return redirect("waybill_preview", key=key)
    fmt = form.cleaned_data["format"]
    export, built = waybill_export(
        tenant=request.tenant,
        fmt=fmt,
        order_ids=entry["ids"],
        actor=Actor.for_user(request.user),
        user=request.user,
    )
    keep(request, KIND, {**entry, "format": fmt}, key)
    if not built.ids:
        messages.warning(request, _("No order could be exported."))
        return redirect("waybill_preview", key=key)
    disposition = f'attachment; filename="{export.filename}"'
    response: HttpResponse | StreamingHttpResponse
    if export.filename.endswith(".zip"):
        response = HttpResponse(waybill_zip(fmt, built), content_type="application/zip")
    else:
        response = StreamingHttpResponse(waybill_stream(fmt, built), content_type="text/csv; charset=Shift_JIS")
    response["Content-Disposition"] = disposition
    return response


urlpatterns = [
    path("waybills/export/", waybill_export_selection, name="waybill_export"),
    path("waybills/search/", waybill_search, name="waybill_search"),
    path("waybills/<str:key>/", waybill_preview, name="waybill_preview"),
    path("waybills/<str:key>/download/", waybill_download, name="waybill_download"),
]
