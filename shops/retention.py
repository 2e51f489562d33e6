"""Personal data retention (T2): Amazon's data protection policy lets a seller keep a buyer's personal data
no longer than 30 days after shipment. Past that, the buyer's name, address, phone and email are erased from
the order (orderer and destination alike); the order, its lines and its amounts stay, so the sales figures
and the history still add up. One event per order says which fields went and why (not their old values).

"Shipped" is the lifecycle, not the planned ship date (`Order.ship_date` is a plan: an order still new whose
planned date has passed was not shipped). An order is due when it is in the shipped stage now (shipped or
completed) and entered that stage at least 30 days ago (Japan's calendar days), read from its history: the
latest event that moved it there from another stage (a status change whose old stage was outside, or its
creation straight into it). A move inside the stage (shipped → completed, or between its statuses) is not an
entry; an order that left the stage and came back counts from its latest entry. Once the shipping work
records a confirmed ship date, that date can stand in for the events.

One query finds the due orders of every tenant (the orders in the shipped stage not yet erased, each with
the time of its latest entry from the (tenant, order, at) index of its events); each order is blanked by
one UPDATE (its search column is rebuilt from what is left, so it differs per order), and the events go in
bulk. A day brings at most the orders shipped 30 days before, so this stays small. Run daily by beat
(shops.tasks.erase_amazon_personal_data); running it again finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.utils import timezone

from orders.constants import PARTY_FIELDS, EventType, Stage
from orders.copy import save_events
from orders.events import Actor, order_personal_data_erased_event
from orders.models import Order, OrderEvent, OrderLine
from orders.search import search_text
from orders.sets import chunked, order_stubs

from .constants import MallKind
from .services.importer import mall_state_erase

RETENTION_DAYS = 30
ERASED_NAME = "（削除済み）"  # what the list shows in place of a name that was erased
# Blanked; the names become ERASED_NAME so a row still reads as an order of someone.
PERSONAL_FIELDS = PARTY_FIELDS
NAME_FIELDS = frozenset({"orderer_name", "dest_name"})
REASON = "Amazon: 30 days after shipment"


SHIPPED_STAGES = (Stage.SHIPPED, Stage.COMPLETED)


def shipped_stage_entries() -> Q:
    """The events that put an order into the shipped stage: a status change from another stage into it, or
    the order's creation straight into it (orders/events.py keeps each status's stage in the event)."""
    moved_in = Q(type=EventType.STATUS_CHANGED, data__new__stage__in=SHIPPED_STAGES) & ~Q(
        data__old__stage__in=SHIPPED_STAGES
    )
    return moved_in | Q(type=EventType.CREATED, data__status__stage__in=SHIPPED_STAGES)


def amazon_orders_due(*, today: dt.date) -> dict[int, list[tuple[int, str]]]:
    """Per tenant, (order id, external id) of Amazon orders in the shipped stage that entered it at least
    RETENTION_DAYS days before `today` (Japan time) and are not yet erased. One query across tenants: a
    system task, and each tenant's orders are then handled apart."""
    # Entered on the cutoff day or before: before the start of the day after it, in the site's time zone.
    first_kept_day = today - dt.timedelta(days=RETENTION_DAYS - 1)
    first_kept = timezone.make_aware(dt.datetime.combine(first_kept_day, dt.time.min))
    entered = (
        OrderEvent.objects.filter(tenant_id=OuterRef("tenant_id"), order_id=OuterRef("pk"))
        .filter(shipped_stage_entries())
        .order_by("-at")
        .values("at")[:1]
    )
    due: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = (
        Order.objects.filter(shop__mall=MallKind.AMAZON, stage__in=SHIPPED_STAGES, personal_data_erased_at__isnull=True)
        .annotate(shipped_at=Subquery(entered))
        .filter(shipped_at__lt=first_kept)
        .values_list("tenant_id", "pk", "external_id")
    )
    for tenant_id, pk, external_id in rows.order_by("tenant_id", "pk"):
        due[tenant_id].append((pk, external_id))
    return due


def amazon_personal_data_erase(*, today: dt.date | None = None) -> int:
    """Erase what is due; returns how many orders were erased. Each tenant in its own transaction."""
    today = today or timezone.localdate()
    erased = 0
    for tenant_id, orders in amazon_orders_due(today=today).items():
        erased += _erase(tenant_id, orders)
    return erased


@transaction.atomic
def _erase(tenant_id: int, orders: list[tuple[int, str]]) -> int:
    actor = Actor.system("retention")
    now = timezone.now()
    values = {name: Value(ERASED_NAME if name in NAME_FIELDS else "") for name in PERSONAL_FIELDS}
    done = 0
    for chunk in chunked([pk for pk, _number in orders]):
        numbers = dict(orders)
        skus: dict[int, list[str]] = defaultdict(list)
        for order_id, sku in OrderLine.objects.filter(tenant_id=tenant_id, order_id__in=chunk).values_list(
            "order_id", "sku"
        ):
            skus[order_id].append(sku)
        # The search column loses the names and phones too: it is rebuilt from what is left.
        for order_id in chunk:
            Order.objects.filter(tenant_id=tenant_id, pk=order_id, personal_data_erased_at__isnull=True).update(
                **values,
                search_text=search_text([numbers[order_id], *skus[order_id]]),
                dest_key_name="",
                dest_key_phone="",
                personal_data_erased_at=now,
                version=F("version") + 1,
                updated_at=now,
            )
        stubs = order_stubs(tenant_id)
        mall_state_erase(tenant_id=tenant_id, order_ids=chunk)  # the copy of what the mall sent, too
        save_events(
            [
                order_personal_data_erased_event(
                    order=stubs[pk], actor=actor, fields=list(PERSONAL_FIELDS), reason=REASON, commit=False
                )
                for pk in chunk
            ]
        )
        done += len(chunk)
    return done
