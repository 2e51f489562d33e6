"""The built-in task 同梱候補 (issue 17 item 1): raised by auto-processing on an open order that another open
order of the same shop goes with (the same destination, however written), resolved by itself once it has no
such sibling, re-checked at once when its destination is edited."""

from __future__ import annotations

import pytest

from automation.defaults import BuiltinTask
from automation.models import OrderTask
from automation.services import process
from orders.constants import Stage
from orders.events import Actor
from orders.models import Status
from orders.services import order_move_to_status, order_update
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db

PLACE = {"dest_name": "佐藤 花子", "dest_postal_code": "530-0001", "dest_prefecture": "大阪府",
         "dest_city": "大阪市北区", "dest_address1": "梅田1丁目1番3号", "dest_phone": "06-1234-5678"}  # fmt: skip


def open_bundle_tasks(tenant) -> set[int]:
    return set(
        OrderTask.objects.for_tenant(tenant)
        .filter(definition__code=BuiltinTask.BUNDLE_CANDIDATE, resolved_at=None)
        .values_list("order_id", flat=True)
    )


def test_a_second_order_to_the_same_place_raises_the_task_and_shipping_one_resolves_it(tenant):
    shop = ShopFactory(tenant=tenant)
    first = make_order(tenant, shop=shop, **PLACE)
    process(tenant=tenant, order_ids=[first.pk])
    assert open_bundle_tasks(tenant) == set()  # alone: nothing to bundle with
    second = make_order(tenant, shop=shop, **{**PLACE, "dest_address1": "梅田１－１－３", "dest_name": "佐藤花子 様"})
    elsewhere = make_order(tenant, shop=ShopFactory(tenant=tenant), **PLACE)  # another shop: not with these
    process(tenant=tenant, order_ids=[first.pk, second.pk, elsewhere.pk])
    assert open_bundle_tasks(tenant) == {first.pk, second.pk}

    cancelled = Status.objects.for_tenant(tenant).filter(group__stage=Stage.CANCELLED).first()
    order_move_to_status(order=first, status=cancelled, actor=Actor.system())
    process(tenant=tenant, order_ids=[second.pk])
    assert open_bundle_tasks(tenant) == {first.pk}  # the cancelled order's task is the operator's to close


def test_editing_the_destination_away_resolves_it_at_once(tenant):
    shop = ShopFactory(tenant=tenant)
    one, two = make_order(tenant, shop=shop, **PLACE), make_order(tenant, shop=shop, **PLACE)
    process(tenant=tenant, order_ids=[one.pk, two.pk])
    assert open_bundle_tasks(tenant) == {one.pk, two.pk}
    order_update(order=two, changes={"dest_address1": "梅田2丁目"}, actor=Actor.system())
    assert open_bundle_tasks(tenant) == {one.pk}
    order_update(order=two, changes={"dest_address1": "梅田1-1-3"}, actor=Actor.system())
    assert open_bundle_tasks(tenant) == {one.pk, two.pk}


def test_another_tenants_order_to_the_same_place_is_no_sibling(tenant, other_tenant):
    mine = make_order(tenant, **PLACE)
    make_order(other_tenant, **PLACE)
    process(tenant=tenant, order_ids=[mine.pk])
    assert open_bundle_tasks(tenant) == set()
