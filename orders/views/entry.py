"""Manual entry of phone and FAX orders (B1), and the postal-code lookup that fills addresses."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from backyard.http import TenantRequest
from backyard.views import tenant_required
from japan.address import PostalAddress, merge_town, normalize_postal_code, postal_lookup

from .. import hooks
from ..events import Actor
from ..exceptions import StageMoveRefused
from ..forms_entry import PARTIES, OrderEntry, OrderEntryForm, number_taken_error
from ..services.entry import OrderNumberTaken, manual_order_create

TOWNS_SHOWN = 5


@require_http_methods(["GET", "POST"])
@tenant_required
def order_entry(request: TenantRequest) -> HttpResponse:
    """The phone/FAX order form; a valid submission becomes an order through `order_create`."""
    tenant = request.tenant
    entry = OrderEntry(request.POST if request.method == "POST" else None, tenant=tenant)
    if request.method == "POST" and entry.is_valid():
        form = entry.form
        actor = Actor.for_user(request.user)
        try:
            order = manual_order_create(
                tenant=tenant,
                shop=form.cleaned_data["shop"],
                external_id=form.cleaned_data["external_id"],
                fields=form.order_values(),
                lines=entry.lines.line_values(),
                actor=actor,
            )
        except OrderNumberTaken as taken:
            entry.refuse("external_id", number_taken_error(taken.number, form.cleaned_data["shop"]))
        except StageMoveRefused as refused:  # the tenant has no status in the "new" stage
            entry.refuse(None, ValidationError(refused.reason, code="no_initial_status"))
        else:
            # Like an import: the tenant's rules and tasks sort the new order at once (B3, B4).
            hooks.orders_entered_by_hand(tenant=tenant, order_ids=[order.pk], actor_name=request.user.get_username())
            messages.success(request, _("Registered order %(number)s.") % {"number": order.external_id})
            return redirect(reverse("order_detail", args=[order.pk]))
    context = {
        "form": entry.form,
        "lines": entry.lines,
        "errors_count": entry.errors_count if request.method == "POST" else 0,
    }
    return render(request, "orders/order_entry.html", context)


def _postal_message(raw: str, code: str | None, address: PostalAddress | None) -> tuple[str, str]:
    """(level, text) shown next to the postal-code field."""
    if not raw.strip():
        return "", ""
    if code is None:
        return "error", _("Enter the postal code as seven digits, e.g. 100-0005.")
    if address is None:
        return "error", _("Postal code %(code)s was not found. Check the number.") % {"code": code}
    return "found", ""


@require_GET
@tenant_required
def postal_lookup_view(request: TenantRequest) -> HttpResponse:
    """?code=… → the prefecture, city and town. For htmx (`party` = orderer or dest) a partial that shows the
    result next to the field and fills that party's prefecture, city and address line 1 out of band; else
    JSON (404 for an unknown code, 400 for a malformed one)."""
    party = request.GET.get("party", "")
    party = party if party in PARTIES else ""
    raw = request.GET.get("code") or (request.GET.get(f"{party}_postal_code", "") if party else "")
    code = normalize_postal_code(raw)
    address = postal_lookup(code) if code else None
    level, message = _postal_message(raw, code, address)

    if not request.htmx:
        if address is None:
            return JsonResponse({"found": False, "code": code, "error": message}, status=400 if code is None else 404)
        return JsonResponse(
            {
                "found": True,
                "code": address.code,
                "prefecture": address.prefecture,
                "city": address.city,
                "town": address.town,
                "towns": list(address.towns),
                "street": address.street,
                "office": address.office,
            }
        )

    context: dict[str, Any] = {"party": party, "level": level, "message": message, "address": address}
    if address is not None and party:
        current = request.GET.get(f"{party}_address1", "")
        previous = request.GET.get(f"{party}_town_filled", "")
        filled = address.town_and_street
        initial = {
            f"{party}_prefecture": address.prefecture,
            f"{party}_city": address.city,
            f"{party}_address1": merge_town(current, filled, previous),
        }
        if party == "dest" and address.office and not request.GET.get("dest_company", "").strip():
            initial["dest_company"] = address.office  # a business code names the company it belongs to
        form = OrderEntryForm(tenant=request.tenant, initial={**initial, "shop": None})
        for name in initial:
            form.fields[name].widget.attrs["hx-swap-oob"] = "true"
        context.update(
            {
                "filled_fields": [form[name] for name in initial],
                "town_filled": filled,
                "towns": address.towns,
                "towns_shown": address.towns[:TOWNS_SHOWN],
                "towns_more": max(len(address.towns) - TOWNS_SHOWN, 0),
            }
        )
    return render(request, "orders/entry/_postal_result.html", context)


urlpatterns: list[URLPattern] = [
    path("new/", order_entry, name="order_entry"),
    path("postal/", postal_lookup_view, name="postal_lookup"),
]
