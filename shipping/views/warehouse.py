"""Outside warehouses (issue 16 item 5, B11): 出荷依頼 from the order list's selection — a confirmation that
names each order that cannot be requested and why, then the result — the order page's panel of its requests
(with "request again" after a refusal), and the requests page (by state, by store, with what the last reading
of each warehouse's answers could not apply)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.selection import Selection
from orders.selectors import access_order
from orders.views.bulk import selected_orders

from ..models import ShippingStore, StoreKind, WarehouseRequest, WarehouseState
from ..services.warehouse import request_plan, warehouse_request
from . import keep, kept

KIND = "warehouse"
SHOWN = 200
MAX_ORDERS = 10_000
PER_PAGE = 50


@require_POST
@tenant_required
def warehouse_request_selection(request: TenantRequest) -> HttpResponse:
    """出荷依頼 from the list: the selection (as every bulk action resolves it), then the confirmation."""
    if Selection(request.session, request.tenant).is_empty():
        messages.warning(request, _("Select the orders to request first."))
        return redirect(request.POST.get("next") or reverse("home"))
    chosen = selected_orders(request, _("Request shipment"))
    if isinstance(chosen, HttpResponse):
        return chosen
    ids = list(chosen.orders.order_by("pk").values_list("pk", flat=True)[: MAX_ORDERS + 1])
    if len(ids) > MAX_ORDERS:
        messages.error(request, _("More than %(n)s orders: narrow the selection.") % {"n": f"{MAX_ORDERS:,}"})
        return redirect(reverse("home"))
    chosen.done()
    url = reverse("warehouse_confirm", args=[keep(request, KIND, {"ids": ids})])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@tenant_required
def warehouse_confirm(request: TenantRequest, key: str) -> HttpResponse:
    """What would be requested, per warehouse, and what cannot be, by order with the reason (writes nothing);
    POST requests them. Once sent, the page shows the outcome (a second POST sends nothing again)."""
    entry = kept(request, KIND, key)
    if request.method == "POST" and "result" not in entry:
        result = warehouse_request(tenant=request.tenant, order_ids=entry["ids"], actor=Actor.for_user(request.user))
        stores = dict(ShippingStore.objects.for_tenant(request.tenant).values_list("pk", "name"))
        entry = {
            "ids": entry["ids"],
            "result": {
                "requested": result.requested,
                "stores": [[stores[pk], n] for pk, n in _per_store(request, result.batches)],
                "refused": [list(r) for r in result.plan.refused[:SHOWN]],
                "refused_count": len(result.plan.refused),
            },
        }
        keep(request, KIND, entry, key)
        if result.requested:
            messages.success(
                request,
                ngettext(
                    "%(n)d order was requested from the warehouse.",
                    "%(n)d orders were requested from the warehouse.",
                    result.requested,
                )
                % {"n": result.requested},
            )
        return redirect("warehouse_confirm", key=key)
    context: dict[str, Any] = {"key": key, "selected": len(entry["ids"])}
    if "result" in entry:
        result = entry["result"]
        context.update(result=result, refused=result["refused"],
                       refused_more=max(0, result["refused_count"] - SHOWN))  # fmt: skip
    else:
        plan = request_plan(tenant=request.tenant, order_ids=entry["ids"])
        context.update(plan=plan, by_store=plan.by_store(), ready=len(plan.ready), refused=plan.refused[:SHOWN],
                       refused_count=len(plan.refused), refused_more=max(0, len(plan.refused) - SHOWN))  # fmt: skip
    return render(request, "shipping/warehouse_confirm.html", context)


def _per_store(request: TenantRequest, batch_ids: list[int]) -> list[tuple[int, int]]:
    from ..models import WarehouseBatch

    return list(
        WarehouseBatch.objects.for_tenant(request.tenant)
        .filter(pk__in=batch_ids)
        .order_by("store__position", "store_id")
        .values_list("store_id", "order_count")
    )


@tenant_required
def order_warehouse(request: TenantRequest, order_id: int) -> HttpResponse:
    """The order page's panel: the order's requests, newest first, with state, reason, numbers and times; after
    a refusal (or for an order of an outside warehouse never requested) a button requests it again."""
    order = access_order(request.tenant, order_id)
    refusal = ""
    if request.method == "POST":
        result = warehouse_request(tenant=request.tenant, order_ids=[order.pk], actor=Actor.for_user(request.user))
        if result.plan.refused:
            refusal = result.plan.refused[0][2]
        elif not request.htmx:
            return redirect("order_detail", order_id=order.pk)
    requests = list(
        WarehouseRequest.objects.for_tenant(request.tenant).filter(order_id=order.pk).select_related("store")
    )
    store = None
    if order.shipping_store_id:
        store = ShippingStore.objects.for_tenant(request.tenant).filter(pk=order.shipping_store_id).first()
    outside = store is not None and store.kind != StoreKind.OWN
    open_request = any(r.state != WarehouseState.REFUSED for r in requests)
    context = {
        "order": order,
        "requests": requests,
        "store": store,
        "shown": bool(requests) or outside,
        "can_request": outside and not open_request,
        "refusal": refusal,
    }
    return render(request, "shipping/_order_warehouse.html", context)


@tenant_required
def warehouse_requests(request: TenantRequest) -> HttpResponse:
    """Every request, newest first, filtered by state and by store; the count per state; each outside
    warehouse's last reading and what it could not apply."""
    tenant = request.tenant
    stores = list(
        ShippingStore.objects.for_tenant(tenant).exclude(kind=StoreKind.OWN).select_related("auto_request_status")
    )
    rows = WarehouseRequest.objects.for_tenant(tenant)
    store = None
    if request.GET.get("store"):
        try:
            store = ShippingStore.objects.for_tenant(tenant).get(pk=int(request.GET["store"]))
        except (ValueError, ShippingStore.DoesNotExist):
            raise Http404 from None
        rows = rows.filter(store=store)
    counts = dict(rows.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    state = request.GET.get("state", "")
    if state in WarehouseState.values:
        rows = rows.filter(state=state)
    else:
        state = ""
    page = Paginator(
        rows.select_related("store", "order").only(
            "pk", "state", "reason", "numbers", "carrier", "requested_at", "answered_at", "remote_id",
            "store__name", "order__external_id", "order__tenant_id",
        ),
        PER_PAGE,
    ).get_page(request.GET.get("page"))  # fmt: skip
    context = {
        "stores": stores,
        "store": store,
        "state": state,
        "states": [(value, label, counts.get(value, 0)) for value, label in WarehouseState.choices],
        "total": sum(counts.values()),
        "page": page,
    }
    return render(request, "shipping/warehouse_requests.html", context)


@require_POST
@tenant_required
def warehouse_store_poll(request: TenantRequest, store_id: int) -> HttpResponse:
    """Read this warehouse's answers now (a worker does it; the page shows the outcome when reloaded)."""
    from ..tasks import poll_warehouse

    store = ShippingStore.objects.for_tenant(request.tenant).exclude(kind=StoreKind.OWN).filter(pk=store_id).first()
    if store is None:
        raise Http404
    poll_warehouse.delay(request.tenant.pk, store.pk)
    messages.info(request, _("The answers of “%(store)s” are being read.") % {"store": store.name})
    return redirect(f"{reverse('warehouse_requests')}?store={store.pk}")


urlpatterns = [
    path("warehouse/request/", warehouse_request_selection, name="warehouse_request"),
    path("warehouse/requests/", warehouse_requests, name="warehouse_requests"),
    path("warehouse/stores/<int:store_id>/poll/", warehouse_store_poll, name="warehouse_store_poll"),
    path("warehouse/<str:key>/", warehouse_confirm, name="warehouse_confirm"),
    path("orders/<int:order_id>/warehouse/", order_warehouse, name="shipping_order_warehouse"),
]
