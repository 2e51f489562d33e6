"""在庫確認 from the order list (T12, F11): the selection, resolved as every bulk action resolves it
(orders.views.bulk.selected_orders, with its "some selected orders are not in this list" question), goes
through inventory's stock check by the operator; the answer is a summary — how many orders were allocated in
full, in part, not at all or not checked, and each short order's number with the SKUs and units it still
lacks and the SKUs no product answers to — then back to the list (htmx: the summary and a refresh of list and
status tree, as the bulk actions answer).

The check and the 欠品 / SKU不明 tasks it raises run in one transaction (inventory.tasks.stock_check_told). A
selection of more than STOCK_CHECK_INLINE_ORDERS orders ("all N matching") goes to a worker instead, as
"run auto-processing" does: the request only queues it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.models import Order
from orders.selection import Selection
from orders.views.bulk import next_target, selected_orders

from ..services.allocation import CheckResult
from ..tasks import stock_check_orders, stock_check_told

SHOWN = 50  # short orders and refusals named one by one; the rest are counted
INLINE_ORDERS = 1_000  # default of settings.STOCK_CHECK_INLINE_ORDERS


def inline_limit() -> int:
    """Up to this many orders are checked in the request (about a second); more go to a worker."""
    return int(getattr(settings, "STOCK_CHECK_INLINE_ORDERS", INLINE_ORDERS))


def _answer(request: TenantRequest) -> HttpResponse:
    """Back to the list with the messages; htmx gets them and a refresh of the list and the status tree."""
    if request.htmx:
        response = render(request, "inventory/check_result.html")
        response["HX-Trigger"] = "ordersChanged"
        return response
    return redirect(next_target(request))


def _summary(result: CheckResult) -> str:
    checked = len(result.full) + len(result.partial) + len(result.short)
    parts = [
        ngettext(
            "Stock check of %(n)d order: %(full)d allocated in full, %(partial)d in part, %(short)d short.",
            "Stock check of %(n)d orders: %(full)d allocated in full, %(partial)d in part, %(short)d short.",
            checked,
        )
        % {"n": checked, "full": len(result.full), "partial": len(result.partial), "short": len(result.short)}
    ]
    if result.skipped:
        n = len(result.skipped)
        parts.append(
            ngettext(
                "%(n)d order was not checked: it is past the stages that take stock "
                "(ready to ship, shipped, cancelled).",
                "%(n)d orders were not checked: they are past the stages that take stock "
                "(ready to ship, shipped, cancelled).",
                n,
            )
            % {"n": n}
        )
    return " ".join(parts)


def _lacking(result: CheckResult, order_id: int) -> str:
    """What one order still lacks, in the operator's words: "short TEA-1 ×2, CUP-1 ×1; unknown SKU NOPE"."""
    parts = []
    lacking = result.missing.get(order_id)
    if lacking:
        items = ", ".join(f"{sku} ×{quantity}" for sku, quantity in lacking.items())
        parts.append(_("short %(items)s") % {"items": items})
    unknown = result.unknown.get(order_id)
    if unknown:
        parts.append(_("unknown SKU %(skus)s") % {"skus": ", ".join(dict.fromkeys(unknown))})
    return "; ".join(parts)


def _tell(request: TenantRequest, result: CheckResult) -> None:
    """The summary, then each order that is not whole and each refused move, by order number."""
    whole = not (result.partial or result.short or result.refused)
    (messages.success if whole and result.full else messages.warning if not whole else messages.info)(
        request, _summary(result)
    )
    named = [order_id for order_id in [*result.short, *result.partial] if _lacking(result, order_id)]
    refused = result.refused[:SHOWN]
    numbers = dict(
        Order.objects.for_tenant(request.tenant).filter(pk__in=named[:SHOWN]).values_list("pk", "external_id")
    )
    for order_id in named[:SHOWN]:
        messages.warning(request, f"{numbers.get(order_id, order_id)}: {_lacking(result, order_id)}")
    if len(named) > SHOWN:
        messages.warning(request, _("… and %(n)d more orders are short.") % {"n": len(named) - SHOWN})
    for _order_id, number, reason in refused:
        messages.error(request, f"{number}: {reason}")
    if len(result.refused) > SHOWN:
        messages.error(request, _("… and %(n)d more refused.") % {"n": len(result.refused) - SHOWN})


@require_POST
@tenant_required
def stock_check_run(request: TenantRequest) -> HttpResponse:
    """在庫確認 (F11) of the selected orders: allocate, move each to the status of its outcome, raise the tasks."""
    tenant = request.tenant
    if Selection(request.session, tenant).is_empty():
        messages.warning(request, _("Select the orders to check first."))
        return _answer(request)
    chosen = selected_orders(request, _("Stock check"))
    if isinstance(chosen, HttpResponse):  # some selected orders are not in the list: ask first
        return chosen
    actor = Actor.for_user(request.user)
    ids = list(chosen.orders.order_by("pk").values_list("pk", flat=True))
    if len(ids) > inline_limit():
        # "All N matching" would hold the request for seconds: a worker checks them, each order's history and
        # the status tree say what happened.
        transaction.on_commit(lambda: stock_check_orders.delay(tenant.pk, ids, actor.name, actor.user_id))
        chosen.done()
        messages.info(
            request,
            _(
                "The stock check of %(n)s orders runs in the background; each order's history will say what it "
                "allocated. Reload the list in a minute."
            )
            % {"n": f"{len(ids):,}"},
        )
        return _answer(request)
    result = stock_check_told(tenant=tenant, order_ids=ids, actor=actor)
    chosen.done()
    _tell(request, result)
    return _answer(request)


urlpatterns = [
    path("check/", stock_check_run, name="stock_check_run"),
]
