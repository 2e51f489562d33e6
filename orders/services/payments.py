"""Payment confirmation (入金確認) and cancellation (キャンセル) of one order (T15), for the order page.

One order is a set of one: these call the set-based services of services/bulk.py (orders_confirm_payment,
orders_cancel) with that one order, so the order page and the list's bulk actions cannot disagree: the same
checks, the same events, the same reason when an order is refused (an order already cancelled, say). A
refusal is raised here as StageMoveRefused with that reason.
"""

from __future__ import annotations

import datetime as dt

from ..events import Actor
from ..exceptions import StageMoveRefused
from ..models import Order
from .bulk import BulkResult, orders_cancel, orders_confirm_payment


def _after(order: Order, result: BulkResult) -> Order:
    """The order as it is now; StageMoveRefused with the reason if it was refused."""
    if result.refused:
        raise StageMoveRefused(result.refused[0][2])
    if not result.selected:
        raise Order.DoesNotExist(f"order {order.pk} is not the tenant's")
    return Order.objects.select_related("status__group").get(pk=order.pk, tenant_id=order.tenant_id)


def order_confirm_payment(
    *, order: Order, amount: int, paid_on: dt.date, actor: Actor, expected_version: int | None = None
) -> Order:
    """入金確認: record the amount and date paid and move the order to the first "paid" status.

    Only an order awaiting payment can be confirmed; any other raises StageMoveRefused with the reason and
    changes nothing (so does a tenant without a "paid" status). `expected_version` (optional) is the version
    the operator loaded (StaleOrder otherwise)."""
    result = orders_confirm_payment(
        tenant=order.tenant,
        order_ids=[order.pk],
        actor=actor,
        paid_on=paid_on,
        amount=amount,
        expected_version=expected_version,
    )
    return _after(order, result)


def order_cancel(*, order: Order, reason: str, actor: Actor, expected_version: int | None = None) -> Order:
    """キャンセル with a reason: record it and move the order to the first "cancelled" status.

    A blank reason is a ValueError; an order the lifecycle cannot cancel (shipped, completed, already
    cancelled) raises StageMoveRefused with the reason and changes nothing."""
    result = orders_cancel(
        tenant=order.tenant, order_ids=[order.pk], actor=actor, reason=reason, expected_version=expected_version
    )
    return _after(order, result)
