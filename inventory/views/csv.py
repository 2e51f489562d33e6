"""Products by CSV (issue 14): the export, and the import as upload → preview (writes nothing) → import.

The uploaded file is kept between the preview and the import in the cache (inventory.kept), under a random
key that is part of the address and scoped to the tenant and the user. Another tenant's or another user's key,
or one that has expired, is a 404 alike. After the import the kept entry holds the outcome instead of the
file, so the page shows what was done and a second "import" (a double click, the back button) imports nothing.

A file of more than PRODUCTS_CSV_INLINE_ROWS rows is read and imported by a worker (nothing an operator
uploads holds a web worker for seconds): the upload hands the preview over, the import button the import,
and the page asks every second (htmx) until the worker has written its outcome into the kept entry.

Every view is the services' (inventory.services.products_csv): the preview reads the file and the stored
products (a fixed number of queries whatever the file's length); the import re-reads both under the
products' row locks and applies the good rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backyard.csvtext import ENCODINGS, CsvRefused, Decoded, decode
from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders import exports
from orders.events import Actor

from .. import kept as kept_files
from ..services import products_csv
from ..services.products_csv import ImportConflict
from ..tasks import IMPORT, PREVIEW, products_csv_work

IMPORTING_SECONDS = 5 * 60  # an import in the request running (a second click waits for it, then sees its outcome)
WORKER_IMPORTING_SECONDS = kept_files.STALE_SECONDS  # … and one a worker has


def inline_rows() -> int:
    """Files of up to this many rows are previewed and imported in the request; longer ones by a worker."""
    return int(getattr(settings, "PRODUCTS_CSV_INLINE_ROWS", products_csv.INLINE_ROWS))


class ProductsCsvForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Shift_JIS (cp932) or UTF-8, with or without BOM; detected by itself. At most 20 MB and 100,000 rows."
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


def _entry(request: TenantRequest, key: str) -> str:
    return kept_files.entry_key(request.tenant.pk, request.user.pk, key)


def _kept(request: TenantRequest, key: str) -> dict[str, Any]:
    """The upload kept under `key` for this tenant and user; 404 for any other key (or an expired one)."""
    kept = kept_files.load(_entry(request, key)) if len(key) == 32 and key.isalnum() else None
    if kept is None:
        raise Http404(_("Not found."))
    return kept


def _decoded(kept: dict[str, Any]) -> Decoded:
    return Decoded(text=kept["text"], encoding=kept["encoding"], delimiter=kept["delimiter"])


def _by_worker(kept: dict[str, Any]) -> bool:
    return int(kept.get("rows", 0)) > inline_rows()


def _hand_over(request: TenantRequest, entry: str, kept: dict[str, Any], step: str) -> None:
    """Give the step to a worker (after this request's transaction), the entry marked as being worked on."""
    kept_files.save(entry, kept_files.working(kept, step))
    user = request.user
    actor = Actor.for_user(user)
    language = translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(
        lambda: products_csv_work.delay(entry, request.tenant.pk, step, language, actor.name, actor.user_id)
    )


@require_http_methods(["GET", "POST"])
@tenant_required
def products_csv_upload(request: TenantRequest) -> HttpResponse:
    """The upload form (and the export's two encodings). A file that cannot be read as a whole (encoding,
    no SKU column, too many rows) is refused here; else it is kept and the preview shown (a long file's
    preview read by a worker meanwhile)."""
    form = ProductsCsvForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            decoded = decode(file.read())
            sheet = products_csv.read_sheet(decoded, parse=False)  # refuses no SKU column, or too many rows
        except CsvRefused as error:
            form.add_error("file", str(error))
        else:
            key = uuid.uuid4().hex
            kept = kept_files.new_entry(
                filename=(file.name or "products.csv")[:200],
                text=decoded.text,
                encoding=decoded.encoding,
                delimiter=decoded.delimiter,
                rows=sheet.read,
            )
            if _by_worker(kept):
                _hand_over(request, _entry(request, key), kept, PREVIEW)
            else:
                kept_files.save(_entry(request, key), kept)
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
    """What importing the kept file would do (writes nothing); once imported, what it did; while a worker
    reads or imports a long file, its progress (htmx asks again every second until it is done)."""
    kept = _kept(request, key)
    context: dict[str, Any] = {
        "key": key,
        "kept": kept,
        "until": dt.datetime.fromisoformat(kept["until"]),
        "encoding": ENCODINGS.get(kept["encoding"], kept["encoding"]),
    }
    if "result" in kept:
        context["result"] = kept["result"]
    elif "working" in kept and not kept_files.is_stale(kept):
        context["working"] = kept["working"]["step"]
    else:
        if "working" in kept:  # its worker died or none runs
            context["error"] = _(
                "The file was not processed in time (no worker took it, or it stopped). Try again; if it "
                "happens again, tell your administrator."
            )
        elif "error" in kept:
            context["error"] = kept["error"]
        if "preview" in kept:
            context["preview"] = kept["preview"]
        elif not _by_worker(kept):
            context["preview"] = products_csv.products_csv_preview(tenant=request.tenant, decoded=_decoded(kept))
        else:
            context["retry_preview"] = True
    template = "inventory/_products_csv_page.html" if request.htmx else "inventory/products_csv_preview.html"
    return render(request, template, context)


@require_POST
@tenant_required
def products_csv_retry(request: TenantRequest, key: str) -> HttpResponseRedirect:
    """Read a long file's preview again (its worker failed or never ran)."""
    kept = _kept(request, key)
    if "result" not in kept and "text" in kept and ("working" not in kept or kept_files.is_stale(kept)):
        _hand_over(request, _entry(request, key), {k: v for k, v in kept.items() if k != "error"}, PREVIEW)
    return HttpResponseRedirect(reverse("products_csv_preview", kwargs={"key": key}))


@require_POST
@tenant_required
def products_csv_import(request: TenantRequest, key: str) -> HttpResponseRedirect:
    """Import the kept file's good rows; the preview page then shows the outcome (a long file's when the
    worker has imported it)."""
    kept = _kept(request, key)
    back = reverse("products_csv_preview", kwargs={"key": key})
    if "result" in kept:
        return HttpResponseRedirect(back)
    entry = _entry(request, key)
    running = entry + ":importing"
    if _by_worker(kept):
        if cache.add(running, True, WORKER_IMPORTING_SECONDS):
            _hand_over(request, entry, {k: v for k, v in kept.items() if k != "error"}, IMPORT)
        return HttpResponseRedirect(back)
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
    kept_files.save(entry, kept_files.imported(kept, outcome.as_dict()))
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
    path("csv/<slug:key>/retry/", products_csv_retry, name="products_csv_retry"),
]
