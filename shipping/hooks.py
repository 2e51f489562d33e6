"""Extension points of shipping that the apps above it fill in (the one direction between apps, issue 12).

`shipments_recorded`: called by every writer of tracking numbers (shipping.services.tracking: an issued-data
file, a number typed on the order page, a warehouse's answer) inside its transaction, after the Shipment rows
and their events are written, with the tenant's id, the ids of the orders that got new parcels and the actor.
Shops registers its shipment report to the malls (B12): it records what is to be told and sends it to the
workers after the commit. With nothing registered, shipping works alone (nothing is told).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orders.events import Actor

ShipmentsRecordedHook = Callable[[int, list[int], "Actor"], None]

_recorded: list[ShipmentsRecordedHook] = []


def on_shipments_recorded(hook: ShipmentsRecordedHook) -> None:
    """Register `hook(tenant_id, order_ids, actor)`; registering the same function twice keeps one."""
    if hook not in _recorded:
        _recorded.append(hook)


def shipments_recorded(*, tenant_id: int, order_ids: Iterable[int], actor: Actor) -> None:
    """Tell the registered hooks that these orders got new tracking numbers (nothing when there are none)."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    for hook in list(_recorded):
        hook(tenant_id, ids, actor)
