"""Tracking numbers back (issue 16 item 3): upload a carrier's issued-data file, see what it would record
(matched rows, rows already recorded, rows that cannot be applied by row number), change and save the column
mapping for e飛伝 / ゆうプリR, apply; the order page's panel of shipments where a number can be typed or
scanned; the tenant's shipping settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backyard.csvtext import CsvRefused, Decoded, decode
from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.selectors import access_order

from ..forms import IssuedUploadForm, MappingForm, ShippingSettingsForm, TrackingForm
from ..models import Shipment, WaybillFormat
from ..services.tracking import (
    Mapping,
    Plan,
    TrackingRefused,
    issued_rows,
    mapping_for,
    mapping_save,
    shipment_add,
    tracking_apply,
    tracking_plan,
)
from ..services.waybills import shipping_settings
from . import keep, kept

KIND = "issued"
SHOWN = 200


@tenant_required
def tracking_upload(request: TenantRequest) -> HttpResponse:
    form = IssuedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            decoded = decode(form.cleaned_data["file"].read())
        except CsvRefused as refused:
            form.add_error("file", str(refused))
        else:
            key = keep(
                request,
                KIND,
                {
                    "filename": form.cleaned_data["file"].name,
                    "format": form.cleaned_data["format"],
                    "text": decoded.text,
                    "encoding": decoded.encoding,
                    "delimiter": decoded.delimiter,
                    "header": decoded.header,
                },
            )
            return redirect("tracking_preview", key=key)
    return render(request, "shipping/tracking_upload.html", {"form": form})


def _decoded(entry: dict[str, Any]) -> Decoded:
    return Decoded(text=entry["text"], encoding=entry["encoding"], delimiter=entry["delimiter"])


@tenant_required
def tracking_preview(request: TenantRequest, key: str) -> HttpResponse:
    """What applying the file would record; the mapping (e飛伝, ゆうプリR) can be changed and saved here."""
    entry = kept(request, KIND, key)
    fmt = entry["format"]
    context: dict[str, Any] = {"key": key, "entry": entry, "format_label": WaybillFormat(fmt).label}
    if "result" in entry:
        context["result"] = entry["result"]
        return render(request, "shipping/tracking_preview.html", context)
    mapping = mapping_for(request.tenant, fmt)
    if fmt != WaybillFormat.B2CLOUD:
        initial = {"management_number": mapping.management_number, "tracking_number": mapping.tracking_number,
                   "shipped_on": mapping.shipped_on}  # fmt: skip
        mapping_form = MappingForm(request.POST or None, header=entry["header"], initial=initial)
        if request.method == "POST" and mapping_form.is_valid():
            mapping = Mapping(**mapping_form.cleaned_data)
            mapping_save(tenant=request.tenant, fmt=fmt, mapping=mapping)
            messages.success(request, _("The column mapping is saved."))
            return redirect("tracking_preview", key=key)
        context["mapping_form"] = mapping_form
    try:
        rows = issued_rows(_decoded(entry), fmt, mapping)
    except CsvRefused as refused:
        context["refused"] = str(refused)
        return render(request, "shipping/tracking_preview.html", context)
    plan = tracking_plan(tenant=request.tenant, fmt=fmt, rows=rows)
    context.update(_plan_context(plan), rows=len(rows))
    return render(request, "shipping/tracking_preview.html", context)


def _plan_context(plan: Plan) -> dict[str, Any]:
    return {
        "plan": plan,
        "new": plan.new[:SHOWN],
        "new_more": max(0, len(plan.new) - SHOWN),
        "problems": plan.problems[:SHOWN],
        "problems_more": max(0, len(plan.problems) - SHOWN),
        "already": len(plan.already),
    }


@require_POST
@tenant_required
def tracking_apply_view(request: TenantRequest, key: str) -> HttpResponse:
    entry = kept(request, KIND, key)
    if "result" in entry:
        return redirect("tracking_preview", key=key)
    fmt = entry["format"]
    try:
        rows = issued_rows(_decoded(entry), fmt, mapping_for(request.tenant, fmt))
    except CsvRefused as refused:
        messages.error(request, str(refused))
        return redirect("tracking_preview", key=key)
    plan = tracking_apply(tenant=request.tenant, fmt=fmt, rows=rows, actor=Actor.for_user(request.user))
    result = {
        "recorded": len(plan.new),
        "orders": plan.orders,
        "moved": plan.moved,
        "already": len(plan.already),
        "problems": plan.problems[:SHOWN],
        "problems_count": len(plan.problems),
        "refused_moves": plan.refused_moves[:SHOWN],
    }
    # The file's text (personal data) is dropped once applied; the outcome stays for the page.
    keep(request, KIND, {k: v for k, v in entry.items() if k != "text"} | {"result": result}, key)
    messages.success(
        request,
        ngettext(
            "%(n)d tracking number recorded for %(orders)d orders.",
            "%(n)d tracking numbers recorded for %(orders)d orders.",
            len(plan.new),
        )
        % {"n": len(plan.new), "orders": plan.orders},
    )
    return redirect("tracking_preview", key=key)


@tenant_required
def order_tracking(request: TenantRequest, order_id: int) -> HttpResponse:
    """The order page's panel: its shipments with tracking links, and a field to type or scan a number."""
    order = access_order(request.tenant, order_id)
    form = TrackingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            shipment_add(
                tenant=request.tenant,
                order=order,
                carrier=form.cleaned_data["carrier"],
                number=form.cleaned_data["number"],
                shipped_on=form.cleaned_data["shipped_on"],
                actor=Actor.for_user(request.user),
            )
        except TrackingRefused as refused:
            form.add_error("number", str(refused))
        else:
            if not request.htmx:
                return redirect("order_detail", order_id=order.pk)
            form = TrackingForm()
    shipments = list(Shipment.objects.for_tenant(request.tenant).filter(order_id=order.pk))
    context = {"order": order, "shipments": shipments, "form": form}
    return render(request, "shipping/_order_tracking.html", context)


@tenant_required
def shipping_settings_edit(request: TenantRequest) -> HttpResponse:
    instance = shipping_settings(request.tenant)
    form = ShippingSettingsForm(request.POST or None, instance=instance, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        form.instance.tenant = request.tenant
        form.save()
        messages.success(request, _("Shipping settings saved."))
        return redirect("shipping_settings")
    return render(request, "shipping/settings.html", {"form": form})


urlpatterns = [
    path("tracking/upload/", tracking_upload, name="tracking_upload"),
    path("tracking/<str:key>/", tracking_preview, name="tracking_preview"),
    path("tracking/<str:key>/apply/", tracking_apply_view, name="tracking_apply"),
    path("orders/<int:order_id>/tracking/", order_tracking, name="order_tracking"),
    path("settings/", shipping_settings_edit, name="shipping_settings"),
]
