"""Stocktaking (棚卸): on hand set to the number counted on the shelf, with the reason, in the history.

The product is locked (`FOR UPDATE OF` the product only, as the stock check locks it) while the count is
compared with what orders hold: on hand never falls below `allocated` (the database refuses it too), so a count
lower than what is promised is refused with the number, and the operator releases orders first. The history
row carries the difference (counted − what the system had) and the numbers after it.

A count above what the system had is stock found, as good as received: once the count is committed the
orders waiting for the product are checked again (inventory.services.receiving.recheck_waiting, oldest
first, in a transaction of its own so that orders are locked before the product, as every writer locks them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders.events import Actor

from ..models import MoveKind, Product, StockMove
from .allocation import CheckResult
from .receiving import recheck_waiting


class AdjustRefused(ValueError):
    """The count was not applied; the message says why."""


@dataclass
class Adjusted:
    move: StockMove | None  # None: the count equals what the system had, nothing changed
    check: CheckResult = field(default_factory=CheckResult)  # the waiting orders checked again (a rise)


def stock_adjust(*, tenant: Tenant, product: Product, on_hand: int, actor: Actor, note: str) -> Adjusted:
    """Set the product's on hand to `on_hand` (a count), then, when it rose, check the waiting orders again.
    AdjustRefused below what is allocated, or for a negative count (nothing written)."""
    move = _count(tenant=tenant, product=product, on_hand=on_hand, actor=actor, note=note)
    if move is None or move.on_hand_change <= 0:
        return Adjusted(move)
    return Adjusted(move, recheck_waiting(tenant=tenant, product_ids=[product.pk], actor=actor))


@transaction.atomic
def _count(*, tenant: Tenant, product: Product, on_hand: int, actor: Actor, note: str) -> StockMove | None:
    if on_hand < 0:
        raise AdjustRefused(_("The count cannot be negative."))
    locked = (
        Product.objects.filter(tenant_id=tenant.pk, pk=product.pk)
        .select_for_update(of=("self",))
        .only("pk", "tenant_id", "on_hand", "allocated")
        .get()
    )
    if on_hand < locked.allocated:
        raise AdjustRefused(
            _(
                "On hand cannot be set to %(on_hand)d: %(allocated)d units are allocated to orders (the "
                "count must be at least that)."
            )
            % {"on_hand": on_hand, "allocated": locked.allocated}
        )
    change = on_hand - locked.on_hand
    if change == 0:
        return None
    Product.objects.filter(tenant_id=tenant.pk, pk=product.pk).update(on_hand=on_hand, updated_at=timezone.now())
    product.on_hand, product.allocated = on_hand, locked.allocated
    return StockMove.objects.create(
        tenant_id=tenant.pk,
        product_id=product.pk,
        kind=MoveKind.ADJUST,
        on_hand_change=change,
        allocated_change=0,
        on_hand_after=on_hand,
        allocated_after=locked.allocated,
        actor_name=actor.name[:200],
        actor_user_id=actor.user_id,
        note=note[:300],
    )
