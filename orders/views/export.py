"""CSV output of the current search or selection (T14 CSV出力).

GET /orders/export.csv?<the list's filters>&sort=…&encoding=utf-8|cp932&lines=1&scope=selection streams the
file. The same URL with `check=1` writes the same CSV to nowhere and answers how many rows it has and how
many characters Shift_JIS (cp932) cannot hold (JSON; an htmx request gets the options form's notice). The
count cannot travel with the download itself: a streamed body starts before the last row is known.

GET /orders/export/ is the small options form the list's CSV button opens (encoding, one row per line,
search or selection); it reads the list's filters from the page it was opened on.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backyard.http import TenantRequest
from backyard.views import tenant_required

from .. import exports
from ..models import Order
from ..selection import Selection, filters_only
from ..selectors import TenantReference, order_search, tenant_reference
from ..tables import order_by_for

SEARCH, SELECTION = "search", "selection"
TRUE = frozenset({"1", "on", "true", "yes"})


class OptionError(ValueError):
    """An export option the URL got wrong; its message is for the operator."""


@dataclass(frozen=True)
class ExportOptions:
    encoding: str
    lines: bool
    scope: str
    sort: str

    @classmethod
    def from_query(cls, params: QueryDict) -> ExportOptions:
        asked = params.get("encoding", "")
        encoding = exports.parse_encoding(asked)
        if encoding is None:
            raise OptionError(
                _("Unknown character encoding “%(encoding)s”: choose UTF-8 or Shift_JIS (cp932).")
                % {"encoding": asked[:40]}
            )
        scope = params.get("scope") or SEARCH
        if scope not in (SEARCH, SELECTION):
            raise OptionError(
                _("Unknown export scope “%(scope)s”: export the search or the selection.") % {"scope": scope[:40]}
            )
        return cls(
            encoding=encoding, lines=params.get("lines", "").lower() in TRUE, scope=scope, sort=params.get("sort", "")
        )


def export_orders(request: TenantRequest, options: ExportOptions, reference: TenantReference) -> QuerySet[Order]:
    """The tenant's orders to export, in the list's order: the search (as the list runs it), or the
    selection. A search the list cannot apply exports nothing, as it lists nothing, when it names a row the
    tenant does not have (another tenant's status id …); a value typed wrong (a date like 9999-12-31, "abc"
    as an amount) is an OptionError that says which, rather than an empty file."""
    tenant = request.tenant
    if options.scope == SELECTION:
        queryset = Selection(request.session, tenant).queryset(tenant=tenant, reference=reference)
    else:
        search = order_search(tenant=tenant, params=request.GET, reference=reference)
        if search.is_valid():
            queryset = search.qs
        else:
            mistyped = [
                f"{search.form.fields[name].label}: {error.messages[0]}"
                for name, errors in search.form.errors.as_data().items()
                for error in errors
                if error.code != "invalid_choice"
            ]
            if mistyped:
                raise OptionError(" ".join(mistyped))
            queryset = Order.objects.none()
    return queryset.order_by(*order_by_for(options.sort))


def _filename(options: ExportOptions) -> str:
    stem = "order-lines" if options.lines else "orders"
    return f"{stem}-{timezone.localtime(timezone.now(), exports.TOKYO):%Y%m%d-%H%M}.csv"


@require_GET
@tenant_required
def order_export(request: TenantRequest) -> HttpResponseBase:
    try:
        options = ExportOptions.from_query(request.GET)
    except OptionError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    htmx = bool(request.htmx)
    if request.GET.get("check") and htmx and options.encoding == exports.UTF8:
        # Nothing to check: UTF-8 writes every character. Spares the options form a pass over the orders.
        return render(request, "orders/_export_check.html", {"options": options, "report": None})
    reference = tenant_reference(tenant=request.tenant, user=request.user)
    try:
        queryset = export_orders(request, options, reference)
    except OptionError as error:
        if htmx:  # the options form's notice: htmx swaps only a 200
            return render(request, "orders/_export_check.html", {"options": options, "error": str(error)})
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    if request.GET.get("check"):
        report = exports.order_csv_check(queryset, encoding=options.encoding, lines=options.lines)
        if htmx:
            return render(request, "orders/_export_check.html", {"options": options, "report": report})
        return JsonResponse(
            {**report.as_dict(), "encoding": options.encoding, "lines": options.lines, "scope": options.scope}
        )
    response = StreamingHttpResponse(
        exports.order_csv(queryset, encoding=options.encoding, lines=options.lines),
        content_type=exports.CONTENT_TYPES[options.encoding],
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(options)}"'
    response["Cache-Control"] = "no-store"  # customers' names and addresses
    return response


@require_GET
@tenant_required
def order_export_options(request: TenantRequest) -> HttpResponse:
    """The options form. Opened from the list by htmx, it takes the filters from the list's current URL (the
    search may have changed since the page was drawn); opened as a page, from its own query string."""
    params = request.GET
    current_url = getattr(request.htmx, "current_url", None)
    if not params and current_url:
        params = QueryDict(urlsplit(current_url).query)
    tenant = request.tenant
    selection = Selection(request.session, tenant)
    selected = 0
    if not selection.is_empty():
        selected = selection.count(tenant=tenant, reference=tenant_reference(tenant=tenant, user=request.user))
    hidden = [(key, value) for key, values in QueryDict(filters_only(params)).lists() for value in values]
    if params.get("sort"):
        hidden.append(("sort", params["sort"]))
    context = {"hidden": hidden, "selected_count": selected, "scope": params.get("scope") or SEARCH}
    template = "orders/_export_options.html" if request.htmx else "orders/export_options.html"
    return render(request, template, context)


urlpatterns = [
    path("export.csv", order_export, name="order_export"),
    path("export/", order_export_options, name="order_export_options"),
]
