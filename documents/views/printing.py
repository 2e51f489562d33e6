"""Printing forms from the order screens (issue 15, item 3).

- `print_selection` (帳票印刷 on the order list): the selection, resolved as every bulk action resolves it
  (orders.views.bulk.selected_orders, with its "some selected orders are not in this list" question); then the
  forms to print and the picking list's options; then, when some of the orders had one of these forms printed
  before, the question (print them again, or only the others). Up to `inline_limit()` orders render in the
  request and the answer is the PDF (inline, to print from the browser); more become one job per form that a
  worker renders (documents.tasks.run_print_job, queued after the commit) and the operator follows the job page.
- `print_search`: B10's search (order date range, ship date range, shop, status), the count, and a print job
  of every matching order.
- `order_print` (the order page's panel): GET the panel (the forms, when each was last printed, the receipt's
  addressee and 但し書き); POST one form of this one order, rendered at once (a PDF).
- `receipt_edit`: the order's receipt addressee and 但し書き.

Nothing is printed by a GET. Another tenant's order is a 404 like a missing one; a selection never reaches
another tenant's orders (the selection's queryset is the tenant's).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.forms import Select
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.selection import Selection
from orders.selectors import access_order, tenant_reference
from orders.views.bulk import selected_orders

from ..forms import PrintForm, ReceiptDetailsForm
from ..models import DocumentKind, PrintMark
from ..selectors import SEARCH_FILTERS, order_marks, print_search, receipt_details, search_params, shop_settings
from ..services.printing import MAX_JOB_ORDERS, PrintRefused, inline_limit, job_create, print_now
from ..tasks import run_print_job

SHOWN = 50  # refused orders named one by one; the rest are counted
AGAIN_ALL = "1"  # print every order again
AGAIN_NEW = "new"  # print only the orders that had not had the form


def _safe_next(request: TenantRequest, target: str) -> str:
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("home")


def pdf_name(kinds: Sequence[str]) -> str:
    """delivery_note-20261205-1830.pdf (forms-… for more than one form)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{kinds[0] if len(kinds) == 1 else 'forms'}-{stamp}.pdf"


def pdf_response(pdf: bytes, kinds: Sequence[str]) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_name(kinds)}"'
    response["Cache-Control"] = "no-store"  # customers' names and addresses
    return response


def marked_ids(tenant: Any, kind: str, order_ids: Sequence[int]) -> set[int]:
    """Which of these orders had this form printed before."""
    ids = sorted({int(i) for i in order_ids})
    found: set[int] = set()
    for start in range(0, len(ids), 2_000):
        found.update(
            PrintMark.objects.for_tenant(tenant)
            .filter(kind=kind, order_id__in=ids[start : start + 2_000])
            .values_list("order_id", flat=True)
        )
    return found


def _tell_refused(request: TenantRequest, refused: Sequence[tuple[int, str, str]]) -> None:
    for _order_id, number, reason in refused[:SHOWN]:
        messages.error(request, f"{number}: {reason}")
    if len(refused) > SHOWN:
        messages.error(request, _("… and %(n)d more orders could not be printed.") % {"n": len(refused) - SHOWN})


def _merge(pdfs: list[bytes]) -> bytes:
    if len(pdfs) == 1:
        return pdfs[0]
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def print_orders(
    request: TenantRequest, *, kinds: Sequence[str], ids_by_kind: dict[str, list[int]], options: dict[str, Any]
) -> HttpResponse | None:
    """Print each form for its orders: at once (the PDF) when there are few, else a job per form (redirect to
    the job, or to the job list for several). None when nothing could be printed (the messages say why)."""
    tenant = request.tenant
    actor = Actor.for_user(request.user)
    largest = max((len(ids) for ids in ids_by_kind.values()), default=0)
    if largest > MAX_JOB_ORDERS:
        messages.error(request, too_many(largest))
        return None
    if largest <= inline_limit():
        pdfs, printed = [], []
        refused: list[tuple[int, str, str]] = []
        for kind in kinds:
            if not ids_by_kind.get(kind):
                continue
            pdf, found = print_now(tenant=tenant, kind=kind, order_ids=ids_by_kind[kind], actor=actor, options=options)
            refused = refused or found.refused  # the same orders refuse every form: name them once
            if pdf is not None:
                pdfs.append(pdf)
                printed.append(kind)
        _tell_refused(request, refused)
        if not pdfs:
            if not refused:
                messages.warning(request, _("Nothing to print: none of these orders can be found."))
            return None
        return pdf_response(_merge(pdfs), printed)
    try:
        with transaction.atomic():
            jobs = [
                job_create(tenant=tenant, kind=kind, order_ids=ids_by_kind[kind], actor=actor, options=options)
                for kind in kinds
                if ids_by_kind.get(kind)
            ]
            for job in jobs:
                transaction.on_commit(lambda job=job: run_print_job.delay(tenant.pk, job.pk))  # type: ignore[misc]
    except PrintRefused as refusal:
        messages.error(request, str(refusal))
        return None
    for job in jobs:
        messages.info(
            request,
            ngettext(
                "“%(kind)s” of %(n)s order is being rendered; this page follows it.",
                "“%(kind)s” of %(n)s orders is being rendered; this page follows it.",
                job.total,
            )
            % {"kind": job.get_kind_display(), "n": f"{job.total:,}"},
        )
    if len(jobs) == 1:
        return redirect("documents_job", job_id=jobs[0].pk)
    return redirect("documents_jobs")


def too_many(n: int) -> str:
    return _("%(n)s orders are more than one print job takes (%(max)s): narrow the search and print in parts.") % {
        "n": f"{n:,}",
        "max": f"{MAX_JOB_ORDERS:,}",
    }


def reprint_counts(tenant: Any, kinds: Sequence[str], ids: Sequence[int]) -> dict[str, set[int]]:
    """{kind: the orders among `ids` that had it printed before}, only the kinds some order had."""
    found = {kind: marked_ids(tenant, kind, ids) for kind in kinds}
    return {kind: marked for kind, marked in found.items() if marked}


def ids_for(kinds: Sequence[str], ids: list[int], again: str, marked: dict[str, set[int]]) -> dict[str, list[int]]:
    if again == AGAIN_NEW:
        return {kind: [i for i in ids if i not in marked.get(kind, set())] for kind in kinds}
    return dict.fromkeys(kinds, ids)


def again_context(kinds: Sequence[str], total: int, marked: dict[str, set[int]]) -> dict[str, Any]:
    rows = [
        {
            "kind": kind,
            "name": DocumentKind(kind).label,
            "count": len(marked[kind]),
            "text": ngettext(
                "%(kind)s: %(n)d of the %(total)d orders was printed before.",
                "%(kind)s: %(n)d of the %(total)d orders were printed before.",
                len(marked[kind]),
            )
            % {"kind": DocumentKind(kind).label, "n": len(marked[kind]), "total": total},
        }
        for kind in kinds
        if kind in marked
    ]
    every = all(len(marked.get(kind, ())) == total for kind in kinds)
    return {"again_rows": rows, "again_every": every}


@require_POST
@tenant_required
def print_selection(request: TenantRequest) -> HttpResponse:
    """帳票印刷 from the order list: choose the forms, answer the question before printing again, print."""
    tenant = request.tenant
    next_url = _safe_next(request, request.POST.get("next", ""))
    if Selection(request.session, tenant).is_empty():
        messages.warning(request, _("Select the orders to print first."))
        return redirect(next_url)
    chosen = selected_orders(request, _("Print forms"))
    if isinstance(chosen, HttpResponse):  # some selected orders are not in the list: ask first
        return chosen
    ids = list(chosen.orders.order_by("ordered_at", "pk").values_list("pk", flat=True))
    form = PrintForm(request.POST if "kinds" in request.POST else None, initial={"sort": "sku"})
    context: dict[str, Any] = {
        "form": form,
        "count": len(ids),
        "next_url": next_url,
        "query": request.POST.get("query"),
        "scope": request.POST.get("scope", ""),
        "inline_limit": inline_limit(),
        "too_many": too_many(len(ids)) if len(ids) > MAX_JOB_ORDERS else "",
        "action_url": reverse("documents_print"),
    }
    if not ids:
        messages.warning(request, _("None of the selected orders can be found any more."))
        return redirect(next_url)
    if len(ids) > MAX_JOB_ORDERS or not form.is_bound or not form.is_valid():
        if len(ids) > MAX_JOB_ORDERS and form.is_bound:
            messages.error(request, context["too_many"])
        return render(request, "documents/print.html", context)
    kinds = form.chosen()
    again = request.POST.get("again", "")
    marked = reprint_counts(tenant, kinds, ids)
    if marked and again not in (AGAIN_ALL, AGAIN_NEW):
        return render(request, "documents/print_again.html", {**context, **again_context(kinds, len(ids), marked)})
    answer = print_orders(request, kinds=kinds, ids_by_kind=ids_for(kinds, ids, again, marked), options=form.options())
    if answer is None:
        return render(request, "documents/print.html", context)
    return answer


@require_http_methods(["GET", "POST"])
@tenant_required
def print_search_view(request: TenantRequest) -> HttpResponse:
    """帳票印刷 by search: B10's filters, the count of matching orders, and a print job of all of them."""
    tenant = request.tenant
    reference = tenant_reference(tenant=tenant, user=request.user)
    params: QueryDict = request.POST if request.method == "POST" else request.GET
    search, orders = print_search(tenant=tenant, params=params, reference=reference)
    searching = bool(search_params(params))
    count = orders.count() if searching else None
    form = PrintForm(request.POST if request.method == "POST" else None, initial={"sort": "sku"})
    for name in SEARCH_FILTERS:  # the list's filter widgets, styled as this page's other fields
        widget = search.form.fields[name].widget
        if isinstance(widget, Select):
            widget.attrs["class"] = "form-select form-select-sm"
    context: dict[str, Any] = {
        "search": search,
        "fields": [search.form[name] for name in SEARCH_FILTERS],
        "searching": searching,
        "count": count,
        "form": form,
        "query": search_params(params).urlencode(),
        "too_many": too_many(count) if count is not None and count > MAX_JOB_ORDERS else "",
        "max_orders": MAX_JOB_ORDERS,
    }
    if request.method == "POST" and form.is_valid() and searching and count:
        if count > MAX_JOB_ORDERS:
            messages.error(request, context["too_many"])
            return render(request, "documents/search.html", context)
        ids = list(orders.order_by("ordered_at", "pk").values_list("pk", flat=True)[: MAX_JOB_ORDERS + 1])
        kinds = form.chosen()
        again = request.POST.get("again", "")
        marked = reprint_counts(tenant, kinds, ids)
        if marked and again not in (AGAIN_ALL, AGAIN_NEW):
            return render(
                request,
                "documents/print_again.html",
                {**context, **again_context(kinds, len(ids), marked), "action_url": reverse("documents_search")},
            )
        answer = print_orders(
            request, kinds=kinds, ids_by_kind=ids_for(kinds, ids, again, marked), options=form.options()
        )
        if answer is not None:
            return answer
    elif request.method == "POST" and searching and count == 0:
        messages.warning(request, _("No order matches: nothing to print."))
    return render(request, "documents/search.html", context)


def _panel_context(
    request: TenantRequest, order: Any, receipt_form: ReceiptDetailsForm | None = None
) -> dict[str, Any]:
    tenant = request.tenant
    marks = order_marks(tenant, order.pk)
    details = receipt_details(tenant, order)
    settings = shop_settings(tenant, order.shop_id)
    default_proviso = settings.receipt_proviso if settings is not None else "お品代として"
    if receipt_form is None:
        receipt_form = ReceiptDetailsForm(
            instance=details, default_addressee=order.orderer_name, default_proviso=default_proviso
        )
    return {
        "order": order,
        "kinds": [{"kind": kind.value, "name": kind.label, "mark": marks.get(kind.value)} for kind in DocumentKind],
        "receipt_form": receipt_form,
    }


@require_http_methods(["GET", "POST"])
@tenant_required
def order_print(request: TenantRequest, order_id: int) -> HttpResponse:
    """The order page's forms: GET the panel; POST prints one form of this order at once (the PDF)."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    if request.method == "GET":
        template = "documents/_order_panel.html" if request.htmx else "documents/order.html"
        return render(request, template, _panel_context(request, order))
    form = PrintForm(
        {
            "kinds": [request.POST.get("kind", "")],
            "sort": request.POST.get("sort", "sku"),
            "orientation": request.POST.get("orientation", "portrait"),
        }
    )
    if not form.is_valid():
        messages.error(request, _("Choose the form to print."))
        return redirect("documents_order", order_id=order.pk)
    kinds = form.chosen()
    marked = reprint_counts(tenant, kinds, [order.pk])
    again = request.POST.get("again", "")
    if marked and again != AGAIN_ALL:
        mark = order_marks(tenant, order.pk)[kinds[0]]
        return render(
            request,
            "documents/print_again.html",
            {
                "order": order,
                "kind_value": kinds[0],
                "kind_name": DocumentKind(kinds[0]).label,
                "mark": mark,
                "action_url": reverse("documents_order", args=[order.pk]),
                "next_url": reverse("order_detail", args=[order.pk]),
                "single": True,
            },
        )
    answer = print_orders(request, kinds=kinds, ids_by_kind={kinds[0]: [order.pk]}, options=form.options())
    if answer is None:
        return redirect("documents_order", order_id=order.pk)
    return answer


@require_http_methods(["GET", "POST"])
@tenant_required
def receipt_edit(request: TenantRequest, order_id: int) -> HttpResponse:
    """The receipt's addressee and 但し書き of one order (empty: the orderer, the shop's proviso)."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    details = receipt_details(tenant, order)
    form: ReceiptDetailsForm | None = None
    if request.method == "POST":
        form = ReceiptDetailsForm(request.POST, instance=details)
        if form.is_valid():
            saved = form.save(commit=False)
            saved.tenant = tenant
            saved.order = order
            saved.save()
            messages.success(request, _("The receipt's addressee and proviso are saved."))
            form = None
            if not request.htmx:
                return redirect("documents_order", order_id=order.pk)
    context = _panel_context(request, order, form)
    if request.method == "POST" and form is None:
        context["saved"] = True
    template = "documents/_order_panel.html" if request.htmx else "documents/order.html"
    return render(request, template, context)
