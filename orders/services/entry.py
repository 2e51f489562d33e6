"""Manual (phone/FAX) orders: numbering and creation through the one creation service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backyard.models import Tenant
from shops.models import Shop

from ..events import Actor
from ..locks import shop_lock
from ..models import Order
from . import order_create

ORDER_NUMBER_PREFIX = "TEL"
NUMBERING_ATTEMPTS = 5


class OrderNumberTaken(Exception):
    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


def order_number_next(*, tenant: Tenant, shop: Shop, day: dt.date) -> str:
    """The next free TEL-YYYYMMDD-NNNN number of a shop for a day: one above the highest in use."""
    prefix = f"{ORDER_NUMBER_PREFIX}-{day:%Y%m%d}-"
    taken = (
        Order.objects.for_tenant(tenant)
        .filter(shop=shop, external_id__startswith=prefix)
        .values_list("external_id", flat=True)
    )
    serials = (number[len(prefix) :] for number in taken)
    highest = max((int(s) for s in serials if s.isascii() and s.isdigit()), default=0)
    return f"{prefix}{highest + 1:04d}"


def manual_order_create(
    *,
    tenant: Tenant,
    shop: Shop,
    external_id: str,
    fields: Mapping[str, Any],
    lines: list[dict[str, Any]],
    actor: Actor,
) -> Order:
    """Create a phone/FAX order through `order_create`, numbering it when the operator left the number blank.

    Two operators saving at once: the shop row is locked while a number is chosen and the order inserted, so
    the second waits and then sees the first's number; should another writer still take the number first,
    the unique constraint refuses it and the next number is tried. A number the operator typed that is taken
    raises OrderNumberTaken.
    """
    day = timezone.localdate(fields["ordered_at"])
    for _attempt in range(NUMBERING_ATTEMPTS):
        number = external_id
        try:
            with transaction.atomic():
                shop_lock(shop, tenant=tenant)
                number = external_id or order_number_next(tenant=tenant, shop=shop, day=day)
                return order_create(
                    tenant=tenant,
                    shop=shop,
                    external_id=number,
                    fields=fields,
                    lines=lines,
                    actor=actor,
                    source="manual",
                )
        except IntegrityError:
            if not Order.objects.for_tenant(tenant).filter(shop=shop, external_id=number).exists():
                raise
            if external_id:
                raise OrderNumberTaken(number) from None
    raise OrderNumberTaken(number)
