"""The open tasks follow their order's status (database triggers), whoever moves the order: the counts under
a status read it instead of joining every open task with the tenant's orders."""

from __future__ import annotations

import pytest

from automation.models import OrderTask
from automation.selectors import task_counts
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order
from orders.services import order_move_to_status
from orders.services.bulk import BulkChanges, orders_bulk_update
from tests.automation.engine_helpers import status_of, task
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def open_task(order: Order, code: str) -> OrderTask:
    return OrderTask.objects.create(tenant_id=order.tenant_id, order=order, definition=task(order.tenant, code))


def test_a_new_task_takes_its_orders_status(tenant):
    order = make_order(tenant)
    created = open_task(order, "remarks")
    created.refresh_from_db()
    assert created.order_status_id == order.status_id


def test_open_tasks_follow_a_move_and_resolved_ones_stay(tenant):
    new, paid = status_of(tenant, Stage.NEW), status_of(tenant, Stage.PAID)
    order = make_order(tenant)
    live, done = open_task(order, "remarks"), open_task(order, "delivery_date_check")
    OrderTask.objects.filter(pk=done.pk).update(resolved_at="2026-12-01T00:00:00Z")

    order_move_to_status(order=order, status=paid, actor=Actor.system())

    live.refresh_from_db()
    done.refresh_from_db()
    assert live.order_status_id == paid.pk
    assert done.order_status_id == new.pk  # a resolved task is history: not counted anywhere


def test_counts_follow_a_bulk_move(tenant):
    new, paid = status_of(tenant, Stage.NEW), status_of(tenant, Stage.PAID)
    orders = [make_order(tenant) for _ in range(3)]
    for order in orders:
        open_task(order, "remarks")
    orders_bulk_update(
        tenant=tenant,
        order_ids=[o.pk for o in orders[:2]],
        changes=BulkChanges(status=paid),
        actor=Actor.system(),
        confirm_skips=True,
    )

    assert [(d.code, n) for d, n in task_counts(tenant=tenant, status_id=new.pk)] == [("remarks", 1)]
    assert [(d.code, n) for d, n in task_counts(tenant=tenant, status_id=paid.pk)] == [("remarks", 2)]


def test_counts_ignore_other_tenants(tenant, other_tenant):
    mine, theirs = make_order(tenant), make_order(other_tenant)
    open_task(mine, "remarks")
    open_task(theirs, "remarks")
    assert [n for _d, n in task_counts(tenant=tenant, status_id=mine.status_id)] == [1]
