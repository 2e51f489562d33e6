"""Payment confirmation (入金確認) and cancellation (キャンセル) of one order (T15).

The set-based versions for many selected orders live in services/bulk.py; these are the detail page's:
they lock the order, record the changed fields as events, and move the order through
order_move_to_status so the lifecycle (and its refusal reasons) stays in one place.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from .. import events
from ..constants import Stage, is_allowed, refusal_reason
from ..events import Actor
from ..exceptions import StageMoveRefused
from ..models import Order, Status
from . import _check_version, _lock, order_move_to_status


def first_status_of_stage(*, tenant_id: int, stage: Stage) -> Status | None:
    """The first child status of the first group bound to `stage`, in the tenant's own order."""
    return (
        Status.objects.for_tenant(tenant_id)
        .filter(group__stage=stage)
        .select_related("group")
        .order_by("group__position", "group_id", "position", "pk")
        .first()
    )


def _target(order: Order, stage: Stage) -> Status:
    status = first_status_of_stage(tenant_id=order.tenant_id, stage=stage)
    if status is None:
        raise StageMoveRefused(
            _("This tenant has no status in the “%(stage)s” stage; add one in the admin.") % {"stage": stage.label}
        )
    return status


@transaction.atomic
def order_confirm_payment(
    *, order: Order, amount: int, paid_on: dt.date, actor: Actor, expected_version: int | None = None
) -> Order:
    """入金確認: record the amount and date paid and move the order to the first "paid" status.

    Only an order awaiting payment can be confirmed; any other raises StageMoveRefused with the reason and
    changes nothing. `expected_version` (optional) is the version the operator loaded (StaleOrder otherwise).
    """
    if amount < 0:
        raise ValueError(_("The amount paid cannot be negative."))
    locked = _lock(order)
    _check_version(locked, expected_version)
    if locked.stage != Stage.AWAITING_PAYMENT:
        raise StageMoveRefused(
            _("Only orders awaiting payment can be confirmed; this one is “%(stage)s”.")
            % {"stage": Stage(locked.stage).label}
        )
    target = _target(locked, Stage.PAID)
    built = [
        events.order_field_changed_event(
            order=locked, actor=actor, field=name, old=getattr(locked, name), new=new, commit=False
        )
        for name, new in (("paid_amount", amount), ("paid_on", paid_on))
        if getattr(locked, name) != new
    ]
    locked.paid_amount, locked.paid_on = amount, paid_on
    locked.save(update_fields=["paid_amount", "paid_on", "updated_at"])
    events.OrderEvent.objects.bulk_create(built)
    return order_move_to_status(order=locked, status=target, actor=actor)


@transaction.atomic
def order_cancel(*, order: Order, reason: str, actor: Actor, expected_version: int | None = None) -> Order:
    """キャンセル with a reason: record it and move the order to the first "cancelled" status.

    A blank reason is a ValueError; an order the lifecycle cannot cancel (shipped, completed, already
    cancelled) raises StageMoveRefused with the reason and changes nothing.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError(_("Enter a reason for cancelling."))
    locked = _lock(order)
    _check_version(locked, expected_version)
    if locked.stage == Stage.CANCELLED:
        raise StageMoveRefused(_("This order is already cancelled."))
    if not is_allowed(locked.stage, Stage.CANCELLED):
        raise StageMoveRefused(refusal_reason(locked.stage, Stage.CANCELLED))
    target = _target(locked, Stage.CANCELLED)
    if locked.cancel_reason != reason:
        events.order_field_changed_event(
            order=locked, actor=actor, field="cancel_reason", old=locked.cancel_reason, new=reason
        )
        locked.cancel_reason = reason
        locked.save(update_fields=["cancel_reason", "updated_at"])
    return order_move_to_status(order=locked, status=target, actor=actor)
