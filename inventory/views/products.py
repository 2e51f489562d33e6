"""The products page (search, filters, sort), one product (its stock, sets, mall item numbers, the orders
holding it and its stock history, with the stock count form) and the low-stock list.

GET only reads, in a fixed number of queries whatever the number of rows (the selectors annotate and read per
page); the stock count is a POST through inventory.services.adjust.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from orders.events import Actor

from ..forms import ProductSearchForm, StockAdjustForm
from ..models import Product
from ..selectors import (
    SHOW_LOW,
    low_stock_list,
    product_list,
    product_sheet,
    stock_history,
    waiting_for,
)
from ..services.adjust import AdjustRefused, stock_adjust
from ..services.allocation import CheckResult

PAGE_SIZE = 50
MAX_PAGE = 10_000

# The product list's columns: (sort key or "", label, CSS classes of the cells)
COLUMNS = [
    ("sku", gettext_lazy("SKU"), ""),
    ("name", gettext_lazy("Product name"), ""),
    ("", gettext_lazy("Option"), ""),
    ("location", gettext_lazy("Shelf"), ""),
    ("on_hand", gettext_lazy("On hand"), "text-end"),
    ("allocated", gettext_lazy("Allocated units"), "text-end"),
    ("available", gettext_lazy("Available"), "text-end"),
    ("reorder_point", gettext_lazy("Reorder point"), "text-end"),
    ("", gettext_lazy("Set"), "text-center"),
]


def _page_number(request: TenantRequest, name: str = "page") -> int:
    page = request.GET.get(name, "1")
    number = int(page) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    return number if 1 <= number <= MAX_PAGE else 1


def _query_without(request: TenantRequest, *names: str) -> str:
    params: QueryDict = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def rechecked_message(check: CheckResult) -> str:
    """What checking the waiting orders again did, in one sentence ("" when no order was waiting)."""
    n = len(check.full) + len(check.partial) + len(check.short)
    if not n:
        return ""
    return ngettext(
        "%(n)d waiting order was checked again: %(full)d allocated in full, %(partial)d in part, %(short)d still "
        "short.",
        "%(n)d waiting orders were checked again: %(full)d allocated in full, %(partial)d in part, %(short)d still "
        "short.",
        n,
    ) % {"n": n, "full": len(check.full), "partial": len(check.partial), "short": len(check.short)}


def url_if_exists(name: str) -> str:
    """The URL of a screen another part of the app may or may not have yet ("" when it has not)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _columns(request: TenantRequest, sort: str) -> list[dict[str, Any]]:
    """Each column's header: its label, and for a sortable one the address that sorts by it (again: reversed)."""
    base = _query_without(request, "sort", "page")
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, label, classes in COLUMNS:
        column: dict[str, Any] = {"key": key, "label": label, "classes": classes, "url": "", "arrow": ""}
        if key:
            wanted = f"-{key}" if key == current and not descending else key
            column["url"] = "?" + "&".join(filter(None, [base, f"sort={wanted}"]))
            if key == current:
                column["arrow"] = "▼" if descending else "▲"
        columns.append(column)
    return columns


@require_GET
@tenant_required
def products(request: TenantRequest) -> HttpResponse:
    search = ProductSearchForm(request.GET)
    values = search.values()
    page = Paginator(product_list(request.tenant, **values), PAGE_SIZE).get_page(_page_number(request))
    context = {
        "search": search,
        "page": page,
        "products": list(page.object_list),
        "columns": _columns(request, values["sort"]),
        "searching": bool(values["q"]) or values["show"] != "",
        "showing_low": values["show"] == SHOW_LOW,
        "query": _query_without(request, "page"),
        "csv_upload_url": url_if_exists("products_csv_upload"),
        "export_url": url_if_exists("products_export"),
    }
    return render(request, "inventory/products.html", context)


def _product_of(request: TenantRequest, product_id: int) -> Product:
    return access_tenant_owned(Product, request.tenant, product_id)


def _detail(request: TenantRequest, product: Product, form: StockAdjustForm) -> HttpResponse:
    page = _page_number(request)
    start = (page - 1) * PAGE_SIZE
    moves = list(stock_history(product)[start : start + PAGE_SIZE + 1])
    context = {
        "product": product,
        "sheet": product_sheet(product),
        "moves": moves[:PAGE_SIZE],
        "page": page,
        "has_next": len(moves) > PAGE_SIZE,
        "has_previous": page > 1,
        "adjust_form": form,
        "low": not product.is_set and product.available <= product.reorder_point,
    }
    return render(request, "inventory/product_detail.html", context)


@require_GET
@tenant_required
def product_detail(request: TenantRequest, product_id: int) -> HttpResponse:
    product = _product_of(request, product_id)
    return _detail(request, product, StockAdjustForm(initial={"on_hand": product.on_hand}))


@require_POST
@tenant_required
def product_adjust(request: TenantRequest, product_id: int) -> HttpResponse:
    """The stock count: on hand set to the number counted, with the reason."""
    product = _product_of(request, product_id)
    form = StockAdjustForm(request.POST)
    if form.is_valid():
        try:
            adjusted = stock_adjust(
                tenant=request.tenant,
                product=product,
                on_hand=form.cleaned_data["on_hand"],
                actor=Actor.for_user(request.user),
                note=form.cleaned_data["note"],
            )
        except AdjustRefused as refused:
            form.add_error("on_hand", str(refused))
        else:
            move = adjusted.move
            if move is None:
                messages.info(request, _("On hand was already %(n)d: nothing changed.") % {"n": product.on_hand})
            else:
                messages.success(
                    request,
                    _("On hand set to %(n)d (%(change)s).")
                    % {"n": move.on_hand_after, "change": f"{move.on_hand_change:+d}"},
                )
            told = rechecked_message(adjusted.check)
            if told:
                messages.success(request, told)
            return HttpResponseRedirect(reverse("product_detail", args=[product.pk]))
    product.refresh_from_db()
    return _detail(request, product, form)


@require_GET
@tenant_required
def low_stock(request: TenantRequest) -> HttpResponse:
    """Products at or under their reorder point, with what the orders waiting for them lack."""
    page = Paginator(low_stock_list(request.tenant), PAGE_SIZE).get_page(_page_number(request))
    rows = list(page.object_list)
    waiting = waiting_for(request.tenant, [product.sku for product in rows])
    context = {
        "page": page,
        "rows": [(product, waiting.get(product.sku)) for product in rows],
    }
    return render(request, "inventory/low_stock.html", context)


urlpatterns: list[URLPattern] = [
    path("", products, name="products"),
    path("<int:product_id>/", product_detail, name="product_detail"),
    path("<int:product_id>/adjust/", product_adjust, name="product_adjust"),
    path("low-stock/", low_stock, name="low_stock"),
]
