"""The order detail page (T13, T15, F12): every field, the lines, labels, history; each part editable.

Each edit section is a form posted to its own URL and saved by one service call, carrying the order's
version the page was rendered with (optimistic locking: a save over someone else's change is refused with
StaleOrder's message, nothing saved). Without JavaScript a save redirects back to the page; with htmx the
answer is the posted region plus out-of-band copies of what the save changed elsewhere (header, totals,
history, payment box) and, after a save, the new version for every form still open on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from shops.constants import MallKind

from .. import hooks
from ..constants import Stage, is_allowed
from ..events import Actor
from ..exceptions import StageMoveRefused, StaleOrder
from ..forms import (
    SECTIONS,
    DeliveryForm,
    DestinationForm,
    LineForm,
    MemoForm,
    OrderCancelForm,
    PaymentConfirmForm,
    SectionForm,
    VersionForm,
)
from ..history import actor_text, describe_event
from ..models import Label, Order, OrderEvent, OrderLine
from ..selectors import TenantReference, access_order, access_status, order_events, status_tree_from, tenant_reference
from ..services import (
    order_add_label,
    order_add_memo,
    order_line_add,
    order_line_remove,
    order_line_update,
    order_move_to_status,
    order_remove_label,
    order_update,
)
from ..services.bulk import BulkChanges, orders_bulk_update
from ..services.payments import order_cancel, order_confirm_payment

# --- where "back" goes ------------------------------------------------------------------------------------


def back_target(request: HttpRequest) -> str:
    """The list URL the operator came from (?back=…), if it is a relative URL of this site; else ""."""
    target = request.POST.get("back") or request.GET.get("back") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def detail_url(order: Order, back: str) -> str:
    url = reverse("order_detail", args=[order.pk])
    return f"{url}?{urlencode({'back': back})}" if back else url


# --- the history, told for people (orders.history) --------------------------------------------------------


@dataclass
class EventRow:
    """One history entry: who, a one-line summary and, for changes, each field's old → new value."""

    event: OrderEvent
    summary: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, old, new)

    @property
    def actor(self) -> str:
        return actor_text(self.event)


def describe(event: OrderEvent) -> EventRow:
    text = describe_event(event.type, event.data)
    return EventRow(event, text.summary, list(text.changes))


# --- the page and its regions ------------------------------------------------------------------------------

REGIONS = {
    "header": "orders/detail/_header.html",
    "actions": "orders/detail/_actions.html",
    "lines": "orders/detail/_lines.html",
    "totals": "orders/detail/_totals.html",
    "memo": "orders/detail/_memo.html",
    "history": "orders/detail/_history.html",
    "messages": "orders/detail/_messages.html",
    "automation": "orders/detail/_automation.html",
}
# Shown from the order's stored state (no typing in them that a refresh would lose): refreshed after every post
# (the tasks too: an edit to the destination raises or resolves the address warning at once).
DERIVED = ("header", "actions", "totals", "history", "messages", "automation")
NESTED = {"lines": {"totals"}}


@dataclass
class Section:
    key: str
    form: SectionForm
    url: str
    stale: bool = False

    @property
    def flat(self) -> bool:
        """Amounts sit in the lines card, beside the totals, without a card of their own."""
        return self.key == "amounts"


def _section_form(key: str, order: Order, reference: TenantReference, data: Any = None) -> SectionForm:
    form_class = SECTIONS[key]
    kwargs: dict[str, Any] = {"initial": form_class.initial_for(order)}
    if form_class is DeliveryForm:
        kwargs.update(reference=reference, order=order)
    return form_class(data, **kwargs)


def _page(
    request: HttpRequest, order: Order, reference: TenantReference, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the page shows; `bound` holds the posted (invalid or refused) forms to show again."""
    bound = bound or {}
    lines = list(order.lines.all())
    for line in lines:
        line.order = order
    labels = list(order.labels.all())
    label_ids = {label.pk for label in labels}
    stale = bound.get("stale_section")
    sections = {
        key: Section(
            key,
            bound.get(key) or _section_form(key, order, reference),
            reverse(f"order_edit_{key}", args=[order.pk]),
            stale=stale == key,
        )
        for key in SECTIONS
    }
    back = back_target(request)
    task_provider = hooks.tasks()
    panel = task_provider.order_panel(order) if task_provider else {}
    return {
        "order": order,
        "tasks": panel.get("tasks", []),
        "open_task_count": panel.get("open_task_count", 0),
        "has_address_warning": panel.get("has_address_warning", False),
        "rule_history": panel.get("rule_history", []),
        "sections": sections,
        "lines": [(line, bound.get(f"line-{line.pk}") or LineForm.for_line(line, order.version)) for line in lines],
        "new_line": bound.get("line-new")
        or LineForm(initial={"version": order.version, "quantity": 1, "tax_rate": 10}),
        "lines_errors": bound.get("lines_errors", []),
        "memo_form": bound.get("memo") or MemoForm(initial={"version": order.version}),
        "pay_form": bound.get("pay") or PaymentConfirmForm.for_order(order),
        "cancel_form": bound.get("cancel") or OrderCancelForm.for_order(order),
        "can_confirm_payment": order.stage == Stage.AWAITING_PAYMENT,
        "can_cancel": order.stage != Stage.CANCELLED and is_allowed(order.stage, Stage.CANCELLED),
        "events": [describe(event) for event in order_events(order=order)],
        "labels": labels,
        "addable_labels": [row for row in reference.labels if row.id not in label_ids],
        "tree": status_tree_from(statuses=reference.statuses, counts={}),
        "back": back,
        "back_url": back or reverse("home"),
        "detail_url": detail_url(order, back),
    }


def _respond(
    request: TenantRequest,
    order: Order,
    *,
    target: str,
    bound: dict[str, Any] | None = None,
    saved: bool = False,
    new_version: int | None = None,
) -> HttpResponse:
    """After a post: a redirect (saved) or the whole page again (errors); htmx gets the target region and
    out-of-band copies of the derived regions, and `new_version` for the other forms on the page."""
    if saved and not request.htmx:
        return redirect(detail_url(order, back_target(request)))
    tenant = request.tenant
    order = access_order(tenant, order.pk)  # as stored now, with the names it shows
    reference = tenant_reference(tenant=tenant, user=request.user)
    context = _page(request, order, reference, bound)
    if not request.htmx:
        return render(request, "orders/order_detail.html", context)
    skip = {target, *NESTED.get(target, ())}
    context.update(
        target_template=REGIONS.get(target, "orders/detail/_section.html"),
        target_section=context["sections"].get(target),
        oob_templates=[REGIONS[name] for name in DERIVED if name not in skip],
        new_version=new_version,
    )
    return render(request, "orders/detail/_response.html", context)


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)  # type: ignore[arg-type]


# --- the page ----------------------------------------------------------------------------------------------


@require_GET
@tenant_required
def order_detail(request: TenantRequest, order_id: int) -> HttpResponse:
    tenant = request.tenant
    order = access_order(tenant, order_id)
    context = _page(request, order, tenant_reference(tenant=tenant, user=request.user))
    return render(request, "orders/order_detail.html", context)


@require_POST
@tenant_required
def order_move(request: TenantRequest, order_id: int) -> HttpResponse:
    """Move one order to a child status; a forbidden stage move comes back as a message with the reason."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    status = access_status(tenant, request.POST.get("status"))
    try:
        order_move_to_status(order=order, status=status, actor=_actor(request))
    except StageMoveRefused as refused:
        messages.error(request, refused.reason)
    else:
        messages.success(request, _("Moved to %(status)s.") % {"status": f"{status.group.name} / {status.name}"})
    return redirect(detail_url(order, back_target(request)))


# --- edit sections -----------------------------------------------------------------------------------------


def _edit_section(request: TenantRequest, order_id: int, key: str) -> HttpResponse:
    tenant = request.tenant
    order = access_order(tenant, order_id)
    reference = tenant_reference(tenant=tenant, user=request.user)
    if key == "destination" and request.POST.get("copy_from_orderer"):
        messages.info(request, _("Copied from the orderer; check and save."))
        return _respond(
            request, order, target=key, bound={key: DestinationForm.copied_from_orderer(order, request.POST)}
        )
    form = _section_form(key, order, reference, request.POST)
    if not form.is_valid():
        return _respond(request, order, target=key, bound={key: form})
    expected = form.cleaned_data["version"]
    try:
        updated = order_update(order=order, changes=form.changes(), actor=_actor(request), expected_version=expected)
    except StaleOrder as stale:
        form.add_error(None, str(stale))
        return _respond(request, order, target=key, bound={key: form, "stale_section": key})
    if updated.version == expected:
        messages.info(request, _("Nothing changed."))
        return _respond(request, updated, target=key, saved=True)
    messages.success(request, _("Saved: %(section)s.") % {"section": form.title})
    return _respond(request, updated, target=key, saved=True, new_version=updated.version)


def _section_view(key: str) -> Any:
    @require_POST
    @tenant_required
    def view(request: TenantRequest, order_id: int) -> HttpResponse:
        return _edit_section(request, order_id, key)

    view.__name__ = view.__qualname__ = f"order_edit_{key}"
    view.__doc__ = f"Save the {key} section of one order (order_update with the version the page showed)."
    return view


# --- work memo and labels ------------------------------------------------------------------------------------


@require_POST
@tenant_required
def order_memo_add(request: TenantRequest, order_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    form = MemoForm(request.POST)
    if not form.is_valid():
        return _respond(request, order, target="memo", bound={"memo": form})
    updated = order_add_memo(order=order, text=form.cleaned_data["text"], actor=_actor(request))
    messages.success(request, _("Added to the work memo."))
    # Appending overwrites nothing, so it is not refused; the page's forms only learn the new version if
    # nobody else saved since the page was shown.
    fresh = updated.version - 1 == form.cleaned_data["version"]
    return _respond(request, updated, target="memo", saved=True, new_version=updated.version if fresh else None)


def _label_view(request: TenantRequest, order_id: int, add: bool) -> HttpResponse:
    tenant = request.tenant
    order = access_order(tenant, order_id)
    label = access_tenant_owned(Label, tenant, request.POST.get("label"))
    if add:
        done = order_add_label(order=order, label=label, actor=_actor(request))
        text = _("Label “%(label)s” added.") if done else _("The order already has the label “%(label)s”.")
    else:
        done = order_remove_label(order=order, label=label, actor=_actor(request))
        text = _("Label “%(label)s” removed.") if done else _("The order does not have the label “%(label)s”.")
    (messages.success if done else messages.info)(request, text % {"label": label.name})
    return _respond(request, order, target="header", saved=True)


@require_POST
@tenant_required
def order_label_add(request: TenantRequest, order_id: int) -> HttpResponse:
    return _label_view(request, order_id, add=True)


@require_POST
@tenant_required
def order_label_remove(request: TenantRequest, order_id: int) -> HttpResponse:
    return _label_view(request, order_id, add=False)


# --- lines ---------------------------------------------------------------------------------------------------


def _access_line(order: Order, line_id: object) -> OrderLine:
    line = access_tenant_owned(OrderLine, order.tenant, line_id, OrderLine.objects.filter(order=order))
    line.order = order
    return line


@require_POST
@tenant_required
def order_line_edit(request: TenantRequest, order_id: int, line_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    line = _access_line(order, line_id)
    key = f"line-{line.pk}"
    form = LineForm(request.POST, line=line)
    if not form.is_valid():
        return _respond(request, order, target="lines", bound={key: form})
    expected = form.cleaned_data["version"]
    try:
        line = order_line_update(line=line, changes=form.values(), actor=_actor(request), expected_version=expected)
    except StaleOrder as stale:
        form.add_error(None, str(stale))
        return _respond(request, order, target="lines", bound={key: form})
    order = access_order(request.tenant, order.pk)
    if order.version == expected:
        messages.info(request, _("Nothing changed."))
        return _respond(request, order, target="lines", saved=True)
    messages.success(request, _("Line %(line)s saved.") % {"line": line.sku or line.name})
    return _respond(request, order, target="lines", saved=True, new_version=order.version)


@require_POST
@tenant_required
def order_line_create(request: TenantRequest, order_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    form = LineForm(request.POST)
    if not form.is_valid():
        return _respond(request, order, target="lines", bound={"line-new": form})
    try:
        line = order_line_add(
            order=order, values=form.values(), actor=_actor(request), expected_version=form.cleaned_data["version"]
        )
    except StaleOrder as stale:
        form.add_error(None, str(stale))
        return _respond(request, order, target="lines", bound={"line-new": form})
    messages.success(request, _("Line %(line)s added.") % {"line": line.sku or line.name})
    order = access_order(request.tenant, order.pk)
    return _respond(request, order, target="lines", saved=True, new_version=order.version)


@require_POST
@tenant_required
def order_line_delete(request: TenantRequest, order_id: int, line_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    line = _access_line(order, line_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _respond(request, order, target="lines", bound={"lines_errors": form.non_field_errors()})
    try:
        order_line_remove(line=line, actor=_actor(request), expected_version=form.cleaned_data["version"])
    except StaleOrder as stale:
        return _respond(request, order, target="lines", bound={"lines_errors": [str(stale)]})
    messages.success(request, _("Line %(line)s removed.") % {"line": line.sku or line.name})
    order = access_order(request.tenant, order.pk)
    return _respond(request, order, target="lines", saved=True, new_version=order.version)


# --- payment confirmation and cancellation (T15) -------------------------------------------------------------


@require_POST
@tenant_required
def order_payment_confirm(request: TenantRequest, order_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    form = PaymentConfirmForm(request.POST)
    if not form.is_valid():
        return _respond(request, order, target="actions", bound={"pay": form})
    data = form.cleaned_data
    try:
        updated = order_confirm_payment(
            order=order,
            amount=data["amount"],
            paid_on=data["paid_on"],
            actor=_actor(request),
            expected_version=data["version"],
        )
    except StaleOrder as stale:
        form.add_error(None, str(stale))
        return _respond(request, order, target="actions", bound={"pay": form})
    except StageMoveRefused as refused:
        form.add_error(None, refused.reason)
        return _respond(request, order, target="actions", bound={"pay": form})
    messages.success(
        request,
        _("Payment confirmed; the order moved to %(status)s.")
        % {"status": f"{updated.status.group.name} / {updated.status.name}"},
    )
    return _respond(request, updated, target="actions", saved=True, new_version=updated.version)


@require_POST
@tenant_required
def order_cancel_view(request: TenantRequest, order_id: int) -> HttpResponse:
    order = access_order(request.tenant, order_id)
    form = OrderCancelForm(request.POST)
    if not form.is_valid():
        return _respond(request, order, target="actions", bound={"cancel": form})
    data = form.cleaned_data
    try:
        updated = order_cancel(
            order=order, reason=data["reason"], actor=_actor(request), expected_version=data["version"]
        )
    except ValueError as blank:
        form.add_error("reason", str(blank))
        return _respond(request, order, target="actions", bound={"cancel": form})
    except (StaleOrder, StageMoveRefused) as refused:
        form.add_error(None, getattr(refused, "reason", str(refused)))
        return _respond(request, order, target="actions", bound={"cancel": form})
    messages.success(
        request,
        _("The order was cancelled (%(status)s).") % {"status": f"{updated.status.group.name} / {updated.status.name}"},
    )
    return _respond(request, updated, target="actions", saved=True, new_version=updated.version)


# --- the buyer rating of an auction order (T14) ---------------------------------------------------------------


@require_POST
@tenant_required
def order_buyer_rated(request: TenantRequest, order_id: int) -> HttpResponse:
    """「評価済にする」 (rated=1) or take it back (rated=0): the bulk edit's rating on a set of one order."""
    order = access_order(request.tenant, order_id)
    if order.shop.mall != MallKind.AUCTION:
        messages.error(request, _("Only auction orders have a buyer rating."))
        return _respond(request, order, target="actions")
    rated = request.POST.get("rated", "1") != "0"
    result = orders_bulk_update(
        tenant=request.tenant, order_ids=[order.pk], changes=BulkChanges(buyer_rated=rated), actor=_actor(request)
    )
    updated = access_order(request.tenant, order.pk)
    if not result.changed:
        messages.info(request, _("Nothing changed."))
        return _respond(request, updated, target="actions", saved=True)
    messages.success(request, _("Marked the buyer rated.") if rated else _("The buyer rating mark was taken back."))
    # Like the memo: the page's forms learn the new version only if nobody else saved since the page was shown.
    fresh = str(updated.version - 1) == request.POST.get("version", "")
    return _respond(request, updated, target="actions", saved=True, new_version=updated.version if fresh else None)


urlpatterns: list[URLPattern] = [
    path("<int:order_id>/", order_detail, name="order_detail"),
    path("<int:order_id>/move/", order_move, name="order_move"),
    *(path(f"<int:order_id>/edit/{key}/", _section_view(key), name=f"order_edit_{key}") for key in SECTIONS),
    path("<int:order_id>/memo/", order_memo_add, name="order_memo_add"),
    path("<int:order_id>/labels/add/", order_label_add, name="order_label_add"),
    path("<int:order_id>/labels/remove/", order_label_remove, name="order_label_remove"),
    path("<int:order_id>/lines/add/", order_line_create, name="order_line_add"),
    path("<int:order_id>/lines/<int:line_id>/", order_line_edit, name="order_line_edit"),
    path("<int:order_id>/lines/<int:line_id>/remove/", order_line_delete, name="order_line_remove"),
    path("<int:order_id>/confirm-payment/", order_payment_confirm, name="order_confirm_payment"),
    path("<int:order_id>/cancel/", order_cancel_view, name="order_cancel"),
    path("<int:order_id>/buyer-rated/", order_buyer_rated, name="order_buyer_rated"),
]
