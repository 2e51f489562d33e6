"""The operator's side of automation: run auto-processing on the selection (自動処理を実行), resolve a task
by hand, and the address check screen (B6). Thin: the work is in services, the reads in selectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from japan.address import PREFECTURES, AddressCheck
from orders.events import Actor
from orders.exceptions import StaleOrder
from orders.models import Order
from orders.selection import Selection
from orders.selectors import access_order
from orders.views.bulk import next_target, selected_orders
from orders.views.detail import back_target, detail_url

from .defaults import BuiltinTask
from .fixes import AddressProposal, address_proposal, order_address_check, order_address_fix
from .models import OrderTask
from .services import order_task_resolve, process
from .tasks import process_orders

REFUSALS_SHOWN = 50


@require_POST
@tenant_required
def selection_process(request: TenantRequest) -> HttpResponse:
    """自動処理を実行: the enabled rules and the task definitions over the selected orders, now."""
    tenant = request.tenant
    if Selection(request.session, tenant).is_empty():
        messages.warning(request, _("Select the orders to process first."))
        return redirect(next_target(request))
    chosen = selected_orders(request, _("Run auto-processing"))
    if isinstance(chosen, HttpResponse):  # some selected orders are not in the list: ask first
        return chosen
    actor_name = request.user.get_username()
    ids = list(chosen.orders.order_by("pk").values_list("pk", flat=True))
    if len(ids) > settings.AUTOMATION_INLINE_ORDERS:
        # A big selection ("all N matching") would hold the request for seconds (10,000 orders through 20
        # rules: ~9 s in `make bench`): a worker runs it, and each order's history says what it did.
        transaction.on_commit(lambda: process_orders.delay(tenant.pk, ids, actor_name))
        chosen.done()
        messages.info(
            request,
            _(
                "Auto-processing of %(n)s orders runs in the background; each order's history will say what "
                "it changed. Reload the list in a minute."
            )
            % {"n": f"{len(ids):,}"},
        )
        return redirect(next_target(request))
    result = process(tenant=tenant, order_ids=ids, actor_name=actor_name)
    chosen.done()
    (messages.success if result.changed or result.tasks_raised or result.tasks_resolved else messages.info)(
        request, result.summary()
    )
    for refusal in result.refusals[:REFUSALS_SHOWN]:
        messages.error(request, f"{refusal.external_id}: {refusal.rule_name}: {refusal.reason}")
    for error in result.errors[:REFUSALS_SHOWN]:
        messages.error(request, error)
    return redirect(next_target(request))


@require_POST
@tenant_required
def task_resolve(request: TenantRequest, order_id: int, task_id: int) -> HttpResponse:
    """Resolve one open task of an order by hand (the operator has dealt with it)."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    task = access_tenant_owned(
        OrderTask, tenant, task_id, OrderTask.objects.filter(order_id=order.pk).select_related("definition")
    )
    if task.resolved_at is None:
        order_task_resolve(task=task, actor=Actor.for_user(request.user))
        messages.success(request, _("Task “%(task)s” resolved.") % {"task": task.definition.name})
    else:
        messages.info(request, _("Task “%(task)s” was already resolved.") % {"task": task.definition.name})
    return redirect(detail_url(order, back_target(request)))


# --- the address check screen (B6) ------------------------------------------------------------------------

ADDRESS_PAGE = 50


@dataclass
class WarnedOrder:
    order: Order
    check: AddressCheck
    proposal: AddressProposal | None


def _warned(tenant: Any) -> Any:
    """The tenant's orders with an open address-warning task, newest first."""
    open_warning = OrderTask.objects.filter(
        order_id=OuterRef("pk"), tenant_id=tenant.pk, resolved_at=None, definition__code=BuiltinTask.ADDRESS_WARNING
    )
    return Order.objects.for_tenant(tenant).filter(Exists(open_warning)).order_by("-ordered_at", "-id")


@tenant_required
def address_check(request: TenantRequest) -> HttpResponse:
    """住所チェック: each warned order with what its postal code says, the postal codes that fit the written
    address, and the two one-click fixes. `?order=<id>` shows one order (from its page)."""
    tenant = request.tenant
    orders = _warned(tenant).select_related("shop")
    only = request.GET.get("order", "")
    if only.isdigit():
        orders = orders.filter(pk=int(only))
    page = Paginator(orders, ADDRESS_PAGE).get_page(request.GET.get("page"))
    rows = []
    for order in page.object_list:
        check = order_address_check(order)
        proposal = address_proposal(order, check.postal) if check.postal is not None and not check.ok else None
        rows.append(WarnedOrder(order, check, proposal))
    return render(
        request,
        "automation/address_check.html",
        {
            "rows": rows,
            "page": page,
            "only": only if only.isdigit() else "",
            "prefectures": PREFECTURES,
        },
    )


@require_POST
@tenant_required
def address_fix(request: TenantRequest, order_id: int) -> HttpResponse:
    """Apply one side: `use=code` with `postal_code`, or `use=address` with prefecture, city and address1."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    actor = Actor.for_user(request.user)
    version = request.POST.get("version", "")
    expected = int(version) if version.isdigit() else None
    use = request.POST.get("use", "")
    try:
        if use == "code":
            outcome = order_address_fix(
                order=order, actor=actor, postal_code=request.POST.get("postal_code", ""), expected_version=expected
            )
        elif use == "address":
            prefecture = request.POST.get("prefecture", "").strip()
            city = request.POST.get("city", "").strip()
            address1 = request.POST.get("address1", "").strip()
            if prefecture not in PREFECTURES or not city or not address1:
                raise ValueError(_("Enter the prefecture, city and address."))
            outcome = order_address_fix(
                order=order,
                actor=actor,
                expected_version=expected,
                proposal=AddressProposal(prefecture, city, address1),
            )
        else:
            raise ValueError(_("Choose which side to fix."))
    except StaleOrder as stale:
        messages.error(request, f"{order.external_id}: {stale}")
    except ValueError as error:
        messages.error(request, f"{order.external_id}: {error}")
    else:
        if outcome.check.ok:
            messages.success(
                request, _("%(order)s: the address now matches its postal code.") % {"order": order.external_id}
            )
        else:
            messages.warning(
                request,
                _("%(order)s: saved, but the address still does not match: %(problem)s")
                % {"order": order.external_id, "problem": outcome.check.message},
            )
    target = reverse("address_check")
    only = request.POST.get("only", "")
    return redirect(f"{target}?order={order.pk}" if only.isdigit() and not _warned_done(tenant, order) else target)


def _warned_done(tenant: Any, order: Order) -> bool:
    return not _warned(tenant).filter(pk=order.pk).exists()


urlpatterns = [
    path("address-check/", address_check, name="address_check"),
    path("<int:order_id>/address-fix/", address_fix, name="order_address_fix"),
    path("process/", selection_process, name="order_selection_process"),
    path("<int:order_id>/tasks/<int:task_id>/resolve/", task_resolve, name="order_task_resolve"),
]
