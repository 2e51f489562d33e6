"""An edit to a destination re-checks its address at once (issue 10 item 9): saving a wrong postal code on the
order page, or an import that changes the destination, raises 住所要確認 in the same transaction, with its
event, without anyone running auto-processing; a correction resolves it the same way."""

from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse

from automation.defaults import BuiltinTask
from automation.models import OrderTask, TaskDefinition
from automation.services import order_task_resolve, process
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent
from orders.services import order_update
from shops.constants import MallKind
from shops.models import ImportRun, RunStatus
from shops.services import import_orders
from tests.factories import ShopFactory, make_order
from tests.shops.test_import import imported

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# 100-0005 is 東京都千代田区丸の内; 530-0001 is 大阪府大阪市北区梅田.
RIGHT = {
    "dest_postal_code": "100-0005",
    "dest_prefecture": "東京都",
    "dest_city": "千代田区",
    "dest_address1": "丸の内1-1-1",
    "dest_address2": "",
}
DESTINATION = {
    "dest_name": "山田 太郎",
    "dest_kana": "ヤマダ タロウ",
    "dest_company": "",
    "dest_phone": "03-1234-5678",
    **RIGHT,
}


def open_warning(order) -> OrderTask | None:
    return OrderTask.objects.filter(order=order, definition__code=BuiltinTask.ADDRESS_WARNING, resolved_at=None).first()


def task_events(order, type_: str) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, type=type_, data__task__code=BuiltinTask.ADDRESS_WARNING))


def save_destination(client, order, **fields):
    order.refresh_from_db()
    return client.post(
        reverse("order_edit_destination", args=[order.pk]),
        {**DESTINATION, **fields, "version": order.version},
        headers=HTMX,
    )


def test_saving_a_wrong_postal_code_on_the_order_page_raises_the_task_at_once(operator_client, tenant):
    order = make_order(tenant, **RIGHT)
    process(tenant=tenant, order_ids=[order.pk])
    assert open_warning(order) is None

    response = save_destination(operator_client, order, dest_postal_code="530-0001")

    order.refresh_from_db()
    assert order.dest_postal_code == "530-0001"
    task = open_warning(order)
    assert task is not None
    assert task.raised_automatically
    assert len(task_events(order, EventType.TASK_RAISED)) == 1
    # the page that answers the save shows the task already
    body = response.content.decode()
    assert 'id="order-automation"' in body
    assert f'data-task="{BuiltinTask.ADDRESS_WARNING}"' in body


def test_correcting_the_destination_on_the_page_resolves_it_at_once(operator_client, tenant):
    order = make_order(tenant, **{**RIGHT, "dest_postal_code": "530-0001"})
    process(tenant=tenant, order_ids=[order.pk])
    assert open_warning(order) is not None

    save_destination(operator_client, order, dest_postal_code="100-0005")

    assert open_warning(order) is None
    task = OrderTask.objects.get(order=order, definition__code=BuiltinTask.ADDRESS_WARNING)
    assert task.resolved_automatically
    assert len(task_events(order, EventType.TASK_RESOLVED)) == 1


def test_a_designated_citys_wrong_ward_typed_on_the_page_is_caught(operator_client, tenant):
    """Items 8 and 9 together: 060-0001 (札幌市中央区) with 南区 written."""
    order = make_order(tenant, **RIGHT)
    save_destination(
        operator_client,
        order,
        dest_postal_code="060-0001",
        dest_prefecture="北海道",
        dest_city="札幌市南区",
        dest_address1="北一条西2丁目",
    )
    assert open_warning(order) is not None


def test_only_the_edited_order_is_checked_and_other_edits_check_nothing(tenant):
    edited = make_order(tenant, **RIGHT)
    untouched = make_order(tenant, **{**RIGHT, "dest_postal_code": "530-0001"})  # wrong, never processed
    name_only = make_order(tenant, **{**RIGHT, "dest_postal_code": "530-0001"})

    order_update(order=edited, changes={"dest_postal_code": "530-0001"}, actor=Actor.system("test"))
    order_update(order=name_only, changes={"dest_name": "佐藤 花子"}, actor=Actor.system("test"))

    assert open_warning(edited) is not None
    assert open_warning(untouched) is None
    assert open_warning(name_only) is None  # the destination's address did not change: no re-check


def test_the_recheck_keeps_the_rules_of_the_task_pass(tenant, operator):
    """The re-check raises the task, and the order's version is raised once, by the edit; a task an operator
    resolved is not raised again (as in a rule run); a disabled definition raises nothing."""
    fresh = make_order(tenant, **RIGHT)
    updated = order_update(order=fresh, changes={"dest_postal_code": "530-0001"}, actor=Actor.system("test"))
    assert open_warning(fresh) is not None
    fresh.refresh_from_db()
    assert fresh.version == updated.version == 2

    order = make_order(tenant, **{**RIGHT, "dest_postal_code": "530-0001"})
    process(tenant=tenant, order_ids=[order.pk])
    order_task_resolve(task=open_warning(order), actor=Actor.for_user(operator))
    order.refresh_from_db()
    version = order.version

    updated = order_update(order=order, changes={"dest_address1": "丸の内1-1-2"}, actor=Actor.system("test"))
    assert open_warning(order) is None
    assert updated.version == version + 1
    order.refresh_from_db()
    assert order.version == version + 1

    other = make_order(tenant, **RIGHT)
    TaskDefinition.objects.filter(tenant=tenant, code=BuiltinTask.ADDRESS_WARNING).update(enabled=False)
    order_update(order=other, changes={"dest_postal_code": "530-0001"}, actor=Actor.system("test"))
    assert open_warning(other) is None


def test_an_import_that_changes_the_destination_raises_the_task_without_a_rule_run(tenant):
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY)

    def run(batch):
        run = ImportRun.objects.create(tenant_id=tenant.pk, shop=shop, status=RunStatus.RUNNING)
        return import_orders(shop, batch, run=run)

    run([imported(1)])
    order = shop.orders.get()
    assert open_warning(order) is None

    outcome = run([dataclasses.replace(imported(1), dest_postal_code="530-0001")])  # no process() after it

    assert outcome.updated_ids == [order.pk]
    task = open_warning(order)
    assert task is not None
    assert len(task_events(order, EventType.TASK_RAISED)) == 1

    run([imported(1)])  # the mall corrects it again
    assert open_warning(order) is None
