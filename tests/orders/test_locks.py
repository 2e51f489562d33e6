"""Row locks lock rows, not the tenant (orders.locks): two real PostgreSQL connections.

While one connection holds an order's lock (an operator's edit, or a task raised by hand, in a transaction that
has not committed yet), a second connection imports a new order with its events into the same tenant and
bulk-edits other orders of the tenant into the locked order's very status. Each must go through at once. A
lock taken over joined rows (the status and its group, or the tenant) made every foreign-key check of the
second connection wait for the first to commit: the second connection runs with a lock_timeout, so waiting
fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from automation.models import TaskDefinition
from automation.services import order_task_raise
from orders.constants import Stage
from orders.events import Actor
from orders.models import Label, Order, OrderEvent, Status
from orders.services import order_update
from orders.services.bulk import BulkChanges, orders_bulk_update
from shops.constants import MallKind
from shops.models import ImportRun, RunStatus
from shops.services.importer import import_orders
from tests.factories import ShopFactory, make_order
from tests.shops.test_import import imported

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 3  # seconds the second connection may wait for a lock before it counts as held up
ACTOR = Actor.system("ロックの試験")


def first_status(tenant: Any, stage: Stage, position: int = 1) -> Status:
    statuses = Status.objects.for_tenant(tenant).filter(group__stage=stage).select_related("group")
    return statuses.order_by("group__position", "position")[position - 1]


def in_second_connection(work: Callable[[], Any]) -> float:
    """Run `work` in a thread of its own (Django gives it its own database connection) that may wait at most
    WAIT seconds for any lock; the seconds it took. What it raised is raised here."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{WAIT}s'")
            work()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            failed.append(error)
        finally:
            connection.close()

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT * 4)
    assert not thread.is_alive(), "the second connection hangs"
    if failed:
        raise failed[0]
    return time.monotonic() - started


def hold_edit(order: Order) -> None:
    order_update(order=order, changes={"remarks": "お客様に電話で確認中"}, actor=ACTOR)


def hold_task(order: Order) -> None:
    definition = TaskDefinition.objects.create(tenant_id=order.tenant_id, name="確認", position=99)
    order_task_raise(order=order, definition=definition, actor=ACTOR)


@pytest.mark.parametrize("hold", [hold_edit, hold_task], ids=["an operator's edit", "a task raised by hand"])
def test_an_import_and_a_bulk_edit_go_through_while_one_order_is_locked(require_postgres, tenant, hold):
    arrival = first_status(tenant, Stage.NEW)  # where imported orders land
    held = make_order(tenant, status=arrival)
    others = [make_order(tenant, status=first_status(tenant, Stage.NEW, 2)) for _ in range(3)]
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY, name="並行ショップ")
    run = ImportRun.objects.create(tenant=tenant, shop=shop, status=RunStatus.RUNNING)
    gift = Label.objects.for_tenant(tenant).get(name="ギフト")

    def import_one() -> None:
        outcome = import_orders(shop, [imported(1)], run=run)
        assert len(outcome.new_ids) == 1

    def bulk_edit_the_others() -> None:
        result = orders_bulk_update(
            tenant=tenant,
            order_ids=[o.pk for o in others],
            changes=BulkChanges(status=arrival, memo="一括", add_labels=[gift]),
            actor=ACTOR,
        )
        assert result.moved == 3

    with transaction.atomic():
        hold(held)  # the lock stays till this block commits
        assert in_second_connection(import_one) < WAIT
        assert in_second_connection(bulk_edit_the_others) < WAIT

    new = Order.objects.get(shop=shop, external_id=imported(1).external_id)
    assert new.status_id == arrival.pk
    assert OrderEvent.objects.filter(order=new).exists()
    assert set(Order.objects.filter(pk__in=[o.pk for o in others]).values_list("status_id", flat=True)) == {arrival.pk}
    assert Order.objects.get(pk=held.pk).version == held.version + 1  # and the holder saved its change
