"""The operator's order list (B2, T1, T7, T14): status tree with counts, search, table, selection."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import BooleanField, Case, Value, When
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from shops.constants import MallKind

from .. import hooks
from ..constants import Stage
from ..forms_bulk import BulkEditForm, CancelForm, ConfirmPaymentForm
from ..models import SavedSearch
from ..selection import Selection, TooMany, filters_only
from ..selectors import (
    TenantReference,
    order_list_rows,
    order_list_search,
    order_search,
    order_status_counts,
    search_hit_cap,
    status_tree_from,
    tenant_reference,
)
from ..services.preferences import PAGE_SIZES, PreferenceRefused, list_page_size_set, saved_search_save
from ..services.preferences import saved_search_delete as saved_search_delete_service
from ..tables import DEFAULT_ORDER, OrderTable


def _page_size(request: HttpRequest, reference: TenantReference) -> int:
    """The page size asked for in the URL (for this page only), else the remembered one, else 50. Choosing
    one in the list remembers it through `page_size_set` (a POST): a GET never writes."""
    asked = request.GET.get("per_page", "")
    if asked.isdigit() and int(asked) in PAGE_SIZES:
        return int(asked)
    return reference.page_size if reference.page_size in PAGE_SIZES else PAGE_SIZES[0]


def _first_new_status_id(reference: TenantReference) -> int | None:
    return next((s.pk for s in reference.statuses if s.group.stage == Stage.NEW), None)


def _wide_query(query_filters: str) -> str:
    """The current search without its status: what the status tree's links add a status to, so that one
    click narrows a search to a status (and the search box searches every status)."""
    params = QueryDict(query_filters, mutable=True)
    params.pop("status", None)
    return params.urlencode()


def _status_named(reference: TenantReference, status_id: int | None) -> Any:
    return next((s for s in reference.statuses if s.pk == status_id), None)


def _task_counts(tenant: Any, status_id: int | None) -> list[Any]:
    """B4: the open tasks of the selected status with their counts (one query; none without a status)."""
    task_provider = hooks.tasks()
    return task_provider.counts(tenant, status_id) if task_provider and status_id is not None else []


@tenant_required
def order_list(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    reference = tenant_reference(tenant=tenant, user=request.user)
    if not request.GET:
        # T1: the list opens on the first "new" status; the URL says so, to bookmark and share.
        first = _first_new_status_id(reference)
        if first is not None:
            return redirect(f"{reverse('home')}?status={first}")
    sort = request.GET.get("sort", "")
    counts = order_status_counts(tenant=tenant)
    listing = order_list_search(tenant=tenant, params=request.GET, reference=reference, status_counts=counts, sort=sort)
    search = listing.search
    rows = (
        order_list_rows(listing.queryset)
        .annotate(
            has_memo=Case(When(work_memo="", then=Value(False)), default=Value(True), output_field=BooleanField())
        )
        .order_by(*DEFAULT_ORDER)
    )
    selection = Selection(request.session, tenant)
    selected = selection.checked_on(query=filters_only(request.GET), tenant=tenant, reference=reference)
    # An explicit order_by also spares django-tables2 guessing it from the queryset (tens of ms).
    table = OrderTable(rows, reference=reference, selected=selected, order_by=sort or "-ordered_at")
    per_page = _page_size(request, reference)
    current_status = listing.status_id
    paging = {
        "paginator_class": KnownCountPaginator,
        "per_page": per_page,
        "known_count": listing.matching,
        "open_ended": listing.capped,
    }
    try:
        table.paginate(page=_page_number(request), **paging)
    except EmptyPage:
        table.paginate(page=1, **paging)
    matching = table.page.paginator.count
    query_filters = filters_only(request.GET)
    context = {
        "table": table,
        "search": search,
        "reference": reference,
        "tree": status_tree_from(statuses=reference.statuses, counts=counts, hits=listing.hits),
        "searching": listing.searching,
        "hits_total": sum(listing.hits.values()) if listing.hits is not None else None,
        "hit_cap": search_hit_cap(),
        "matching_capped": listing.capped,
        "wide_query": _wide_query(query_filters),
        "current_status": _status_named(reference, current_status),
        "current_status_id": current_status,
        "current_task_id": (search.form.cleaned_data.get("task") or None) if search.is_valid() else None,
        "task_counts": _task_counts(tenant, current_status),
        "mail_counts": hooks.mail_counts(tenant),
        "matching": matching,
        "selection": selection,
        "selected_count": selection.count(
            tenant=tenant,
            reference=reference,
            matching_count=matching if selection.query == query_filters and not listing.capped else None,
        ),
        "page_sizes": PAGE_SIZES,
        "per_page": per_page,
        "query_filters": query_filters,
        "sort": sort,
        "more_filters_open": bool(request.GET.get("more"))
        or any(request.GET.get(name) for name in search.EXTRA_FILTERS),
        "bulk_form": BulkEditForm(reference=reference),
        "pay_form": ConfirmPaymentForm(),
        "cancel_form": CancelForm(),
        "bulk_open": not selection.is_empty(),
        "next_url": request.get_full_path(),
        "csv_import_url": _csv_import_url(reference),
    }
    partial = bool(request.htmx) and request.htmx.target == "order-results"
    # A search swaps the results alone; the tree beside them follows (its hit counts), out of band.
    context["oob_tree"] = partial
    return render(request, "orders/list_results.html" if partial else "orders/list.html", context)


class KnownCountPaginator(Paginator):
    """A paginator told the count (the kept status counts, a search's probed hits) instead of running
    COUNT(*). An `open_ended` count is only a lower bound (a search past the hit cap): pages are then full
    pages, never cut at that count."""

    def __init__(self, *args: Any, known_count: int | None = None, open_ended: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_ended = open_ended
        if known_count is not None:
            self.__dict__["count"] = known_count

    def page(self, number: Any) -> Any:
        if not self.open_ended:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return Page(self.object_list[bottom : bottom + self.per_page], number, self)


def _page_number(request: HttpRequest) -> int:
    page = request.GET.get("page", "1")
    return int(page) if page.isdigit() and int(page) > 0 else 1


@tenant_required
def filters_partial(request: TenantRequest) -> HttpResponse:
    """The "more filters" fields, loaded into the list's panel when the operator opens it (most page views
    never do). Opened as a page of its own (a reload, a bookmark), it is the list with the panel open."""
    if not request.htmx:
        params = request.GET.copy()
        params["more"] = "1"
        return redirect(f"{reverse('home')}?{params.urlencode()}")
    tenant = request.tenant
    reference = tenant_reference(tenant=tenant, user=request.user)
    search = order_search(tenant=tenant, params=request.GET, reference=reference)
    return render(request, "orders/_filters.html", {"search": search})


@tenant_required
def status_tree_partial(request: TenantRequest) -> HttpResponse:
    """The status tree alone, refreshed after every action (htmx, on the ordersChanged event); it is sent the
    list's query, so a search's hit counts refresh too."""
    tenant = request.tenant
    reference = tenant_reference(tenant=tenant, user=request.user)
    counts = order_status_counts(tenant=tenant)
    listing = order_list_search(tenant=tenant, params=request.GET, reference=reference, status_counts=counts)
    query_filters = filters_only(request.GET)
    task = request.GET.get("task", "")
    return render(
        request,
        "orders/_status_tree.html",
        {
            "tree": status_tree_from(statuses=reference.statuses, counts=counts, hits=listing.hits),
            "current_status_id": listing.status_id,
            "searching": listing.searching,
            "hits_total": sum(listing.hits.values()) if listing.hits is not None else None,
            "hit_cap": search_hit_cap(),
            "query_filters": query_filters,
            "wide_query": _wide_query(query_filters),
            "task_counts": _task_counts(tenant, listing.status_id),
            "mail_counts": hooks.mail_counts(tenant),
            "current_task_id": int(task) if task.isdigit() else None,
        },
    )


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()][:5000]


@require_POST
@tenant_required
def selection_update(request: TenantRequest) -> HttpResponse:
    """Change the selection: add / remove / toggle ids, clear, or select all orders matching a search."""
    tenant = request.tenant
    selection = Selection(request.session, tenant)
    action = request.POST.get("action", "")
    ids = _ids(request.POST.getlist("ids"))
    reference = tenant_reference(tenant=tenant, user=request.user)
    if (
        action in ("add", "remove", "toggle")
        and selection.all_matching
        and "query" in request.POST
        and filters_only(QueryDict(request.POST["query"])) != selection.query
    ):
        # Ticked on another list than the one "all matching" was chosen on: from now on it is those ids.
        try:
            selection.as_ids(tenant=tenant, reference=reference)
        except TooMany:
            return render(
                request,
                "orders/_selection_bar.html",
                {
                    "selected_count": selection.count(tenant=tenant, reference=reference),
                    "selection": selection,
                    "selection_error": _(
                        "Too many orders are selected to add orders of another list; clear the selection first."
                    ),
                },
            )
    if action == "add":
        selection.add(ids)
    elif action == "remove":
        selection.remove(ids)
    elif action == "toggle":
        selection.toggle(ids)
    elif action == "clear":
        selection.clear()
    elif action == "all_matching":
        selection.select_all_matching(QueryDict(request.POST.get("query", "")))
    else:
        return HttpResponse(_("Unknown selection action."), status=400)
    selection.save()
    count = selection.count(tenant=tenant, reference=reference)
    if request.htmx:
        return render(request, "orders/_selection_bar.html", {"selected_count": count, "selection": selection})
    return redirect(request.POST.get("next") or reverse("home"))


@require_POST
@tenant_required
def page_size_set(request: TenantRequest) -> HttpResponse:
    """Remember the rows per page chosen in the list (the list then reloads with it)."""
    size = request.POST.get("page_size", "")
    try:
        list_page_size_set(
            tenant=request.tenant,
            user=request.user,
            page_size=int(size) if size.isdigit() else 0,
        )
    except PreferenceRefused:
        return HttpResponse(_("This page size is not offered."), status=400)
    return HttpResponse(status=204)


@require_POST
@tenant_required
def saved_search_create(request: TenantRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    query = filters_only(QueryDict(request.POST.get("query", "")))
    if not name.strip() or not query:
        messages.error(request, _("Give the search a name, and search for something first."))
    else:
        try:
            saved = saved_search_save(
                tenant=request.tenant,
                user=request.user,
                name=name,
                query=query,
            )
        except PreferenceRefused:
            messages.error(request, _("This search could not be saved."))
        else:
            messages.success(request, _("Saved the search “%(name)s”.") % {"name": saved.name})
    return redirect(f"{reverse('home')}?{query}" if query else reverse("home"))


@require_POST
@tenant_required
def saved_search_delete(request: TenantRequest, saved_id: int) -> HttpResponse:
    saved = access_tenant_owned(
        SavedSearch,
        request.tenant,
        saved_id,
        SavedSearch.objects.filter(user=request.user),
    )
    saved_search_delete_service(saved=saved)
    messages.success(request, _("Deleted the saved search “%(name)s”.") % {"name": saved.name})
    return redirect(reverse("home"))


def _csv_import_url(reference: TenantReference) -> str:
    """F1: the CSV import page, with the tenant's (first) Yahoo! Auctions shop chosen when it has one."""

    auctions = sorted((shop.position, shop.id) for shop in reference.shops if shop.extra == MallKind.AUCTION)
    return f"{reverse('csv_upload')}?shop={auctions[0][1]}" if auctions else reverse("csv_upload")


urlpatterns = [
    path("", order_list, name="home"),
    path("tree/", status_tree_partial, name="status_tree"),
    path("filters/", filters_partial, name="order_filters"),
    path("selection/", selection_update, name="order_selection"),
    path("page-size/", page_size_set, name="order_page_size"),
    path("saved/", saved_search_create, name="saved_search_create"),
    path("saved/<int:saved_id>/delete/", saved_search_delete, name="saved_search_delete"),
]
