"""Products by CSV (issue 14): the export, and the import as upload → preview (writes nothing) → import.

The uploaded file is kept between the preview and the import in the cache (Redis, or the file cache of a
development install; no table) for KEEP_SECONDS, under a random key that is part of the address and scoped
to the tenant and the user: `inventory:products-csv:<tenant>:<user>:<key>`. Another tenant's or another
user's key, or one that has expired, is a 404 alike. After the import the kept entry holds the outcome
instead of the file, so the page shows what was done and a second "import" (a double click, the back
button) imports nothing.

Every view is the services' (inventory.services.products_csv): the preview reads the file and the stored
products (a fixed number of queries whatever the file's length); the import re-reads both under the
products' row locks and applies the good rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backyard.csvtext import CsvRefused, Decoded, decode
from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders import exports
from orders.events import Actor

from ..services import products_csv
from ..services.products_csv import ImportConflict

KEEP_SECONDS = 60 * 60
IMPORTING_SECONDS = 5 * 60  # an import running (a second click waits for it, then sees its outcome)


class ProductsCsvForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Shift_JIS (cp932) or UTF-8, with or without BOM; detected by itself. At most 10 MB and 20,000 rows."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > products_csv.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB: split it and upload the parts.")
                % {"mb": products_csv.MAX_BYTES // (1024 * 1024)}
            )
        return upload


def _cache_key(request: TenantRequest, key: str) -> str:
    return f"inventory:products-csv:{request.tenant.pk}:{request.user.pk}:{key}"


def _kept(request: TenantRequest, key: str) -> dict[str, Any]:
    """The upload kept under `key` for this tenant and user; 404 for any other key (or an expired one)."""
    kept = cache.get(_cache_key(request, key)) if len(key) == 32 and key.isalnum() else None
    if not isinstance(kept, dict):
        raise Http404(_("Not found."))
    return kept


def _decoded(kept: dict[str, Any]) -> Decoded:
    return Decoded(text=kept["text"], encoding=kept["encoding"], delimiter=kept["delimiter"])


@require_http_methods(["GET", "POST"])
@tenant_required
def products_csv_upload(request: TenantRequest) -> HttpResponse:
    """The upload form (and the export's two encodings). A file that cannot be read as a whole (encoding,
    no SKU column, too many rows) is refused here; else it is kept and the preview shown."""
    form = ProductsCsvForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            decoded = decode(file.read())
            products_csv.read_sheet(decoded, parse=False)  # refuses a file without a SKU column, or too long
        except CsvRefused as error:
            form.add_error("file", str(error))
        else:
            key = uuid.uuid4().hex
            kept = {
                "filename": (file.name or "products.csv")[:200],
                "text": decoded.text,
                "encoding": decoded.encoding,
                "delimiter": decoded.delimiter,
                "until": (timezone.now() + dt.timedelta(seconds=KEEP_SECONDS)).isoformat(),
            }
            cache.set(_cache_key(request, key), kept, KEEP_SECONDS)
            return redirect("products_csv_preview", key=key)
    context = {
        "form": form,
        "columns": products_csv.COLUMNS,
        "max_rows": products_csv.MAX_ROWS,
    }
    return render(request, "inventory/products_csv_upload.html", context)


@require_GET
@tenant_required
def products_csv_preview(request: TenantRequest, key: str) -> HttpResponse:
    """What importing the kept file would do, read now (writes nothing); or, once imported, what it did."""
    kept = _kept(request, key)
    context: dict[str, Any] = {"key": key, "kept": kept, "until": dt.datetime.fromisoformat(kept["until"])}
    if "result" in kept:
        context["result"] = kept["result"]
    else:
        context["preview"] = products_csv.products_csv_preview(tenant=request.tenant, decoded=_decoded(kept))
    return render(request, "inventory/products_csv_preview.html", context)


@require_POST
@tenant_required
def products_csv_import(request: TenantRequest, key: str) -> HttpResponseRedirect:
    """Import the kept file's good rows; the preview page then shows the outcome."""
    kept = _kept(request, key)
    back = reverse("products_csv_preview", kwargs={"key": key})
    if "result" in kept:
        return HttpResponseRedirect(back)
    running = _cache_key(request, key) + ":importing"
    if not cache.add(running, True, IMPORTING_SECONDS):
        messages.info(request, _("This file is being imported; the page shows the outcome when it is done."))
        return HttpResponseRedirect(back)
    try:
        outcome = products_csv.products_csv_import(
            tenant=request.tenant, decoded=_decoded(kept), actor=Actor.for_user(request.user), filename=kept["filename"]
        )
    except (ImportConflict, CsvRefused) as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    finally:
        cache.delete(running)
    result = {**outcome.as_dict(), "at": timezone.now().isoformat()}
    cache.set(
        _cache_key(request, key),
        {"filename": kept["filename"], "encoding": kept["encoding"], "until": kept["until"], "result": result},
        KEEP_SECONDS,
    )
    messages.success(
        request,
        _("Imported: %(new)d new, %(changed)d changed, %(skipped)d rows skipped.")
        % {"new": outcome.created, "changed": outcome.changed, "skipped": outcome.skipped},
    )
    return HttpResponseRedirect(back)


@require_GET
@tenant_required
def products_export(request: TenantRequest) -> HttpResponseBase:
    """GET …/export.csv[?encoding=cp932|utf-8]: the tenant's products, streamed (cp932 unless asked)."""
    asked = request.GET.get("encoding", "")
    encoding = exports.parse_encoding(asked or exports.CP932)
    if encoding is None:
        return HttpResponseBadRequest(
            _("Unknown character encoding “%(encoding)s”: choose UTF-8 or Shift_JIS (cp932).")
            % {"encoding": asked[:40]},
            content_type="text/plain; charset=utf-8",
        )
    response = StreamingHttpResponse(
        products_csv.products_csv(request.tenant, encoding=encoding), content_type=exports.CONTENT_TYPES[encoding]
    )
    stamp = timezone.localtime(timezone.now(), exports.TOKYO)
    response["Content-Disposition"] = f'attachment; filename="products-{stamp:%Y%m%d-%H%M}.csv"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("export.csv", products_export, name="products_export"),
    path("csv/", products_csv_upload, name="products_csv_upload"),
    path("csv/<slug:key>/", products_csv_preview, name="products_csv_preview"),
    path("csv/<slug:key>/import/", products_csv_import, name="products_csv_import"),
]
