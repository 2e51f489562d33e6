"""Bulk edit, payment confirmation and cancellation of the selected orders (B5, T14, T15).

The selection (ids, or all matching a search) is resolved to one queryset of the tenant's orders and handed
to the set-based services; the answer is a summary with each refused order and its reason.

The forms send the filters of the list they were on (`query`). When the selection holds orders that list
does not show (ticked on another status or search), nothing runs: the answer asks whether to apply to all
selected, only to those shown, or not at all (`scope`). After an action has run the selection is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from shipping.models import DeliveryMethod, ShippingStore

from ..events import Actor
from ..exceptions import StageMoveRefused
from ..forms_bulk import BulkEditForm, CancelForm, ConfirmPaymentForm
from ..models import Label, Order, Status
from ..selection import Selection, filters_only
from ..selectors import TenantReference, tenant_reference
from ..services.bulk import BulkChanges, BulkResult, orders_bulk_update, orders_cancel, orders_confirm_payment


def next_target(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith("/"):
        return target
    return reverse("home")


def _answer(request: TenantRequest, result: BulkResult | None, context: dict[str, Any] | None = None) -> HttpResponse:
    """Messages for the outcome, then back to the list; htmx gets the panel and a refresh of list and tree."""
    if result is not None:
        (messages.success if result.changed else messages.warning)(request, result.summary())
        for _order_id, external_id, reason in result.refused[:50]:
            messages.error(request, f"{external_id}: {reason}")
        if len(result.refused) > 50:
            messages.error(request, _("… and %(n)d more refused.") % {"n": len(result.refused) - 50})
    if request.htmx:
        response = render(request, "orders/_bulk_result.html", context or {})
        response["HX-Trigger"] = "ordersChanged"
        return response
    return redirect(next_target(request))


SCOPE_ALL, SCOPE_SHOWN = "all", "shown"


@dataclass
class Selected:
    """The orders a bulk action is to work on, and the selection they came from (cleared once it has run)."""

    tenant: Any
    reference: TenantReference
    selection: Selection
    orders: QuerySet[Order]

    def done(self) -> None:
        if not self.selection.is_empty():
            self.selection.cleared_after_action()


def selected_orders(
    request: TenantRequest,
    action: str,
    reference: TenantReference | None = None,
) -> Selected | HttpResponse:
    """The selected orders, or — when some of them are not in the list the form was sent from and the operator
    has not yet said what to do with them — the question, naming the count (nothing has run).

    `query` (the list's filters) comes with every form of the list; `scope` is the operator's answer:
    "all" (every selected order) or "shown" (only those the list shows). Without `query` (a caller that is
    not the list) there is no list to compare with."""
    tenant = request.tenant
    reference = reference or tenant_reference(tenant=tenant, user=request.user)
    selection = Selection(request.session, tenant)
    orders = selection.queryset(tenant=tenant, reference=reference)
    if "query" in request.POST:
        query = request.POST["query"]
        scope = request.POST.get("scope", "")
        if scope == SCOPE_SHOWN:
            orders = selection.within_list(tenant=tenant, reference=reference, query=query)
        elif scope != SCOPE_ALL:
            selected, outside = selection.outside_list(tenant=tenant, reference=reference, query=query)
            if outside:
                return _ask_scope(request, action, selected=selected, outside=outside)
    return Selected(tenant, reference, selection, orders)


def _ask_scope(request: TenantRequest, action: str, *, selected: int, outside: int) -> HttpResponse:
    context = {
        "action": action,
        "question": ngettext(
            "%(outside)d of the %(selected)d selected orders is not in this list.",
            "%(outside)d of the %(selected)d selected orders are not in this list.",
            outside,
        )
        % {"outside": outside, "selected": selected},
        "selected": selected,
        "shown": selected - outside,
        "post": request.POST,
        "action_url": request.path,
        "next": next_target(request),
    }
    template = "orders/_bulk_scope.html" if request.htmx else "orders/bulk_scope.html"
    return render(request, template, context)


def list_filters(target: str) -> str:
    """The list's filters from the address of the list page (what its forms send as `query`)."""
    return filters_only(QueryDict(urlsplit(target).query))


@tenant_required
def bulk_panel(request: TenantRequest) -> HttpResponse:
    """The bulk panel's forms, loaded when the operator opens the panel."""
    reference = tenant_reference(tenant=request.tenant, user=request.user)
    target = request.GET.get("next", "")
    if not (url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith("/")):
        target = reverse("home")
    return render(
        request,
        "orders/_bulk_form.html",
        {
            "bulk_form": BulkEditForm(reference=reference),
            "pay_form": ConfirmPaymentForm(),
            "cancel_form": CancelForm(),
            "next_url": target,
            "query_filters": list_filters(target),
        },
    )


@require_POST
@tenant_required
def bulk_edit(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    reference = tenant_reference(tenant=tenant, user=request.user)
    form = BulkEditForm(request.POST, reference=reference)
    if not form.is_valid():
        for error in form.non_field_errors():
            messages.error(request, str(error))
        for name, errors in form.errors.items():
            if name != "__all__":
                messages.error(request, f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}")
        return _answer(request, None)
    chosen = selected_orders(request, _("Change the selected orders"), reference)
    if isinstance(chosen, HttpResponse):
        return chosen
    orders = chosen.orders
    data = form.cleaned_data
    changes = BulkChanges(
        status=Status.objects.for_tenant(tenant).select_related("group").get(pk=data["status"])
        if data["status"]
        else None,
        ship_date=data["ship_date"],
        clear_ship_date=data["clear_ship_date"],
        delivery_method=DeliveryMethod.objects.for_tenant(tenant).get(pk=data["delivery_method"])
        if data["delivery_method"]
        else None,
        shipping_store=ShippingStore.objects.for_tenant(tenant).get(pk=data["shipping_store"])
        if data["shipping_store"]
        else None,
        memo=data["memo"],
        add_labels=list(Label.objects.for_tenant(tenant).filter(pk__in=data["add_labels"])),
        remove_labels=list(Label.objects.for_tenant(tenant).filter(pk__in=data["remove_labels"])),
        buyer_rated=True if data["mark_buyer_rated"] else None,
    )
    result = orders_bulk_update(
        tenant=tenant,
        order_ids=orders,
        changes=changes,
        actor=Actor.for_user(request.user),
        confirm_skips=data["confirm_skips"],
    )
    if result.needs_confirmation and not result.applied:
        # Skipping stages (new → ready to ship, say) is allowed, but only when the operator says so.
        context = {"confirm": result, "post": request.POST, "next": next_target(request)}
        if request.htmx:
            return render(request, "orders/_bulk_confirm.html", context)
        return render(request, "orders/bulk_confirm.html", context)
    chosen.done()
    return _answer(request, result)


@require_POST
@tenant_required
def bulk_confirm_payment(request: TenantRequest) -> HttpResponse:
    form = ConfirmPaymentForm(request.POST)
    if not form.is_valid():
        if request.POST.get("paid_on", "").strip():  # a date, but not one that can be (2026-02-30, 9999 …)
            reasons = " ".join(str(e) for e in form.errors["paid_on"])
            messages.error(request, f"{form.fields['paid_on'].label}: {reasons}")
        else:
            messages.error(request, _("Enter the date the payment arrived."))
        return _answer(request, None)
    chosen = selected_orders(request, _("Confirm payment"))
    if isinstance(chosen, HttpResponse):
        return chosen
    try:
        result = orders_confirm_payment(
            tenant=chosen.tenant,
            order_ids=chosen.orders,
            actor=Actor.for_user(request.user),
            paid_on=form.cleaned_data["paid_on"],
        )
    except StageMoveRefused as refused:  # the tenant has no "paid" status: nothing changed, the selection stays
        messages.error(request, refused.reason)
        return _answer(request, None)
    chosen.done()
    return _answer(request, result)


@require_POST
@tenant_required
def bulk_cancel(request: TenantRequest) -> HttpResponse:
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a reason for cancelling."))
        return _answer(request, None)
    chosen = selected_orders(request, _("Cancel orders"))
    if isinstance(chosen, HttpResponse):
        return chosen
    try:
        result = orders_cancel(
            tenant=chosen.tenant,
            order_ids=chosen.orders,
            actor=Actor.for_user(request.user),
            reason=form.cleaned_data["reason"],
        )
    except StageMoveRefused as refused:  # the tenant has no "cancelled" status
        messages.error(request, refused.reason)
        return _answer(request, None)
    chosen.done()
    return _answer(request, result)


urlpatterns = [
    path("bulk/", bulk_edit, name="order_bulk_edit"),
    path("bulk/panel/", bulk_panel, name="order_bulk_panel"),
    path("bulk/confirm-payment/", bulk_confirm_payment, name="order_bulk_confirm_payment"),
    path("bulk/cancel/", bulk_cancel, name="order_bulk_cancel"),
]
