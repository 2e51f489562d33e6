"""The status counts the database keeps (triggers on orders_order) always equal a fresh GROUP BY."""

from __future__ import annotations

import datetime as dt

from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, Status
from orders.selectors import order_status_counts, order_status_counts_recount
from orders.services import order_move_to_status
from orders.services.bulk import BulkChanges, orders_bulk_update, orders_cancel, orders_confirm_payment
from tests.factories import make_order

ACTOR = Actor.system("test")


def kept(tenant):
    return {k: v for k, v in order_status_counts(tenant=tenant).items() if v}


def status_of(tenant, stage):
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position")[0]


def test_counts_follow_every_kind_of_write(tenant, other_tenant):
    orders = [make_order(tenant) for _ in range(6)]
    make_order(other_tenant)
    assert kept(tenant) == order_status_counts_recount(tenant=tenant) == {orders[0].status_id: 6}

    order_move_to_status(order=orders[0], status=status_of(tenant, Stage.PAID), actor=ACTOR)
    orders_bulk_update(
        tenant=tenant,
        order_ids=[o.pk for o in orders[1:4]],
        actor=ACTOR,
        changes=BulkChanges(status=status_of(tenant, Stage.AWAITING_PAYMENT), memo="x"),
    )
    assert kept(tenant) == order_status_counts_recount(tenant=tenant)
    orders_confirm_payment(tenant=tenant, order_ids=[orders[1].pk], actor=ACTOR, paid_on=dt.date(2026, 11, 1))
    orders_cancel(tenant=tenant, order_ids=[orders[2].pk, orders[4].pk], actor=ACTOR, reason="都合")
    Order.objects.filter(pk=orders[5].pk).update(ship_date=dt.date(2026, 12, 1))  # not a status change
    Order.objects.filter(pk=orders[3].pk).delete()

    expected = order_status_counts_recount(tenant=tenant)
    assert kept(tenant) == expected
    assert sum(expected.values()) == 5
    assert kept(other_tenant) == order_status_counts_recount(tenant=other_tenant) != {}
