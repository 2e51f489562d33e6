"""Receiving: on hand rises, the waiting orders move on by themselves (oldest first), bad rows refuse all."""

from __future__ import annotations

import pytest

from inventory.models import MoveKind, Product, SetComponent, StockMove
from inventory.services.allocation import stock_check
from inventory.services.receiving import ReceiveRefused, stock_receive
from orders.events import Actor

from .test_allocation import ACTOR, order, product, status_of, stock

pytestmark = pytest.mark.django_db


def test_goods_arriving_move_the_oldest_waiting_orders_on(tenant):
    product(tenant, "TEA", 0)
    first, second, third = (order(tenant, n, [("TEA", 2)]) for n in (1, 2, 3))
    stock_check(tenant=tenant, order_ids=[first.pk, second.pk, third.pk], actor=ACTOR)
    assert {status_of(o) for o in (first, second, third)} == {"入荷待ち"}

    result = stock_receive(tenant=tenant, units={"TEA": 5}, actor=Actor.system("test"), note="11/20 入荷")

    assert (result.check.full, result.check.partial) == ([first.pk, second.pk], [third.pk])
    assert (status_of(first), status_of(second), status_of(third)) == ("在庫引当済", "在庫引当済", "一部引当")
    assert stock("TEA") == (5, 5)
    received = StockMove.objects.get(kind=MoveKind.RECEIVE)
    assert (received.on_hand_change, received.on_hand_after, received.note) == (5, 5, "11/20 入荷")


def test_a_component_arriving_frees_the_sets_waiting_for_it(tenant):
    tea, cup = product(tenant, "TEA", 10), product(tenant, "CUP", 0)
    gift = product(tenant, "GIFT", 0, is_set=True)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=tea, quantity=1)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=cup, quantity=1)
    waiting = order(tenant, 1, [("GIFT", 1)])
    assert stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR).partial == [waiting.pk]

    stock_receive(tenant=tenant, units={"CUP": 1}, actor=ACTOR)

    assert status_of(waiting) == "在庫引当済"
    assert stock("CUP") == (1, 1)


def test_a_bad_row_refuses_the_whole_receipt_naming_each(tenant):
    product(tenant, "TEA", 0)
    product(tenant, "SET", 0, is_set=True)
    with pytest.raises(ReceiveRefused) as refused:
        stock_receive(tenant=tenant, units={"TEA": 3, "NOPE": 1, "SET": 1, "ZERO": 0}, actor=ACTOR)
    assert refused.value.problems[0] == "NOPE: この SKU の商品はありません。"
    assert len(refused.value.problems) == 3
    assert Product.objects.get(sku="TEA").on_hand == 0  # nothing half-applied
    assert not StockMove.objects.exists()
