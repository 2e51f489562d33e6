"""CSV import pages (T6): upload, then the column mapping with a preview that writes nothing, then the import
(queued for a worker; the page goes to the run, which shows progress). Thin: writes are services
(shops.services.csvimport), reads are selectors."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from backyard.http import TenantRequest
from backyard.views import tenant_required

from . import csvfiles
from .csvfiles import CsvRefused
from .forms import CsvMappingForm, CsvUploadForm
from .selectors import access_csv_upload, csv_mapping_suggested, csv_preview, csv_shops, csv_uploads
from .services.csvimport import csv_import_start, csv_upload_create
from .services.csvpreview import csv_preview_request


@require_http_methods(["GET", "POST"])
@tenant_required
def csv_upload(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    shops = csv_shops(tenant=tenant)
    initial = {}
    wanted = request.GET.get("shop", "")
    if wanted.isdigit() and any(shop.pk == int(wanted) for shop in shops):
        initial["shop"] = int(wanted)
    form = CsvUploadForm(request.POST or None, request.FILES or None, shops=shops, initial=initial)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            upload = csv_upload_create(
                tenant=tenant, shop=form.cleaned_data["shop"], filename=file.name, data=file.read(), user=request.user
            )
        except CsvRefused as error:
            form.add_error("file", str(error))
        else:
            return redirect("csv_upload_detail", upload_id=upload.pk)
    return render(
        request, "shops/csv_upload.html", {"form": form, "uploads": csv_uploads(tenant=tenant), "shops": shops}
    )


@require_http_methods(["GET", "POST"])
@tenant_required
def csv_upload_detail(request: TenantRequest, upload_id: int) -> HttpResponse:
    """The mapping and the preview; POST with "preview" reads the file with the chosen columns, with "import"
    saves the mapping for the shop and queues the import. The preview is read once per mapping and kept
    (shops.services.csvpreview): a long file by a worker, whose progress the page polls (?progress=1)."""
    upload = access_csv_upload(request.tenant, upload_id)
    if upload.run_id is not None:
        return render(request, "shops/csv_preview.html", {"upload": upload, "imported": True})
    if request.method == "GET" and request.GET.get("progress"):
        preview = csv_preview(upload=upload)
        if not preview.pending:  # read: the whole page again, with the result
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "shops/_csv_progress.html", {"upload": upload, "preview": preview})
    preset = request.GET.get("preset")
    suggested = csv_mapping_suggested(upload=upload, preset=preset if preset in csvfiles.PRESETS else None)
    kept = (upload.preview or {}).get("columns")
    if request.method == "POST":
        form = CsvMappingForm(request.POST, header=upload.header)
        columns = form.columns() if form.is_valid() else (kept if isinstance(kept, dict) else suggested.columns)
        chosen_preset = form.cleaned_data.get("preset", "") if form.is_valid() else ""
        if form.is_valid() and "import" in request.POST:
            try:
                run = csv_import_start(upload=upload, columns=columns, preset=chosen_preset, user=request.user)
            except CsvRefused as error:
                messages.error(request, str(error))
            else:
                return redirect("import_run_detail", run_id=run.pk)
    else:
        # the columns of the kept preview (the operator's last choice), unless a preset's guess is asked for
        columns = kept if isinstance(kept, dict) and preset is None else suggested.columns
        form = CsvMappingForm(initial=CsvMappingForm.initial_for(columns, suggested.preset), header=upload.header)
    csv_preview_request(upload=upload, columns=columns, again=request.method == "POST" and "preview" in request.POST)
    context = {
        "upload": upload,
        "form": form,
        "suggested": suggested,
        "presets": csvfiles.PRESETS,
        "preview": csv_preview(upload=upload),
        "encoding": csvfiles.ENCODINGS.get(upload.encoding, upload.encoding),
        "raw_rows": (upload.preview or {}).get("head", []),
    }
    return render(request, "shops/csv_preview.html", context)


urlpatterns = [
    path("csv/", csv_upload, name="csv_upload"),
    path("csv/<int:upload_id>/", csv_upload_detail, name="csv_upload_detail"),
]
