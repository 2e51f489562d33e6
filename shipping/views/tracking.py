"""Tracking numbers back (issue 16 item 3): upload a carrier's issued-data file, see what it would record
(matched rows, rows already recorded, rows that cannot be applied by row number), change and save the column
mapping for e飛伝 / ゆうプリR, apply; the order page's panel of shipments where a number can be typed or
scanned; the tenant's shipping settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backyard.csvtext import CsvRefused, decode
from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.selectors import access_order

from ..forms import IssuedUploadForm, MappingForm, ShippingSettingsForm, TrackingForm
from ..models import Shipment, WaybillFormat
from ..services import issued_files
from ..services.tracking import Mapping, TrackingRefused, mapping_for, mapping_save, shipment_add
from ..services.waybills import shipping_settings
from ..tasks import issued_file_step
from . import entry_key, keep, kept

KIND = "issued"
APPLYING_SECONDS = 5 * 60  # a short file being applied in the request: a second click waits for it


def _entry(request: TenantRequest, key: str) -> str:
    return entry_key(request, KIND, key)


def _hand_over(request: TenantRequest, key: str, entry: dict[str, Any], step: str) -> None:
    """Give the step to a worker (after this request's transaction), the entry marked as being worked on."""
    keep(request, KIND, issued_files.working(entry, step), key)
    actor = Actor.for_user(request.user)
    language = translation.get_language() or settings.LANGUAGE_CODE
    cache_key, tenant_id = _entry(request, key), request.tenant.pk
    transaction.on_commit(
        lambda: issued_file_step.delay(cache_key, tenant_id, step, language, actor.name, actor.user_id)
    )


@tenant_required
def tracking_upload(request: TenantRequest) -> HttpResponse:
    form = IssuedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            decoded = decode(form.cleaned_data["file"].read())
            rows = issued_files.count_rows(decoded)
        except CsvRefused as refused:
            form.add_error("file", str(refused))
        else:
            entry = {
                "filename": form.cleaned_data["file"].name,
                "format": form.cleaned_data["format"],
                "text": decoded.text,
                "encoding": decoded.encoding,
                "delimiter": decoded.delimiter,
                "header": decoded.header,
                "rows": rows,
            }
            key = keep(request, KIND, entry)
            if issued_files.by_worker(entry):
                _hand_over(request, key, entry, issued_files.PREVIEW)
            return redirect("tracking_preview", key=key)
    return render(request, "shipping/tracking_upload.html", {"form": form})


@tenant_required
def tracking_preview(request: TenantRequest, key: str) -> HttpResponse:
    """What applying the file would record; the mapping (e飛伝, ゆうプリR) can be changed and saved here. A long
    file's matching and applying are a worker's: the page shows its progress (htmx asks every second)."""
    entry = kept(request, KIND, key)
    fmt = entry["format"]
    context: dict[str, Any] = {"key": key, "entry": entry, "format_label": WaybillFormat(fmt).label}
    template = "shipping/_tracking_page.html" if request.htmx else "shipping/tracking_preview.html"
    if "result" in entry:
        context["result"] = entry["result"]
        return render(request, template, context)
    if "working" in entry and not issued_files.is_stale(entry):
        context["working"] = entry["working"]["step"]
        return render(request, template, context)
    mapping = mapping_for(request.tenant, fmt)
    if fmt != WaybillFormat.B2CLOUD:
        initial = {"management_number": mapping.management_number, "tracking_number": mapping.tracking_number,
                   "shipped_on": mapping.shipped_on}  # fmt: skip
        mapping_form = MappingForm(request.POST or None, header=entry["header"], initial=initial)
        if request.method == "POST" and mapping_form.is_valid():
            mapping = Mapping(**mapping_form.cleaned_data)
            mapping_save(tenant=request.tenant, fmt=fmt, mapping=mapping)
            messages.success(request, _("The column mapping is saved."))
            if issued_files.by_worker(entry) and "text" in entry:  # matched again with the new mapping
                _hand_over(request, key, entry, issued_files.PREVIEW)
            return redirect("tracking_preview", key=key)
        context["mapping_form"] = mapping_form
    if "working" in entry:  # its worker died or none runs
        context["error"] = _(
            "The file was not processed in time (no worker took it, or it stopped). Try again; if it happens "
            "again, tell your administrator."
        )
    elif "error" in entry:
        context["error"] = entry["error"]
    if "preview" in entry and "working" not in entry:
        context["preview"] = entry["preview"]
    elif issued_files.by_worker(entry):
        context["retry_preview"] = True
    else:
        try:
            context["preview"] = issued_files.preview(tenant=request.tenant, entry=entry)
        except CsvRefused as refused:
            context["refused"] = str(refused)
    return render(request, template, context)


@require_POST
@tenant_required
def tracking_retry(request: TenantRequest, key: str) -> HttpResponse:
    """Match a long file again (its worker failed or never ran)."""
    entry = kept(request, KIND, key)
    if "result" not in entry and "text" in entry and ("working" not in entry or issued_files.is_stale(entry)):
        _hand_over(request, key, entry, issued_files.PREVIEW)
    return redirect("tracking_preview", key=key)


@require_POST
@tenant_required
def tracking_apply_view(request: TenantRequest, key: str) -> HttpResponse:
    """Record the file's tracking numbers: in the request for a short file, by a worker for a long one. A second
    click while it is being applied waits for the first (the page shows the outcome)."""
    entry = kept(request, KIND, key)
    if "result" in entry or "text" not in entry:
        return redirect("tracking_preview", key=key)
    running = _entry(request, key) + ":applying"
    if issued_files.by_worker(entry):
        if cache.add(running, True, issued_files.STALE_SECONDS):
            _hand_over(request, key, entry, issued_files.APPLY)
        return redirect("tracking_preview", key=key)
    if not cache.add(running, True, APPLYING_SECONDS):
        messages.info(request, _("This file is being applied; the page shows the outcome when it is done."))
        return redirect("tracking_preview", key=key)
    try:
        result = issued_files.apply(tenant=request.tenant, entry=entry, actor=Actor.for_user(request.user))
    except CsvRefused as refused:
        messages.error(request, str(refused))
        return redirect("tracking_preview", key=key)
    finally:
        cache.delete(running)
    # The file's text (personal data) is dropped once applied; the outcome stays for the page, which says it.
    keep(request, KIND, issued_files.applied(entry, result), key)
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
    path("tracking/<str:key>/retry/", tracking_retry, name="tracking_retry"),
    path("orders/<int:order_id>/tracking/", order_tracking, name="order_tracking"),
    path("settings/", shipping_settings_edit, name="shipping_settings"),
]
