"""The stock check by hand-checked examples: full, partial and short orders, oldest first, sets, mall
aliases, what is never allocated, release on cancel and consumption on shipping, and the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from inventory.models import Allocation, MoveKind, Product, SetComponent, SkuAlias, StockMove
from inventory.services.allocation import stock_check
from orders.events import Actor
from orders.models import Order, Status
from orders.services.bulk import BulkChanges, orders_bulk_update, orders_cancel
from shops.constants import MallKind
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
START = timezone.now() - dt.timedelta(days=3)


def product(tenant: Any, sku: str, on_hand: int, **fields: Any) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=f"商品 {sku}", on_hand=on_hand, **fields)


def order(tenant: Any, n: int, lines: list[tuple[str, int]], **fields: Any) -> Order:
    return make_order(
        tenant,
        external_id=f"S-{n}",
        ordered_at=START + dt.timedelta(hours=n),
        lines=[{"sku": sku, "name": sku, "unit_price": 1000, "quantity": q, "tax_rate": 10} for sku, q in lines],
        **fields,
    )


def stock(sku: str) -> tuple[int, int]:
    p = Product.objects.get(sku=sku)
    return p.on_hand, p.allocated


def status_of(o: Order) -> str:
    return Order.objects.select_related("status").get(pk=o.pk).status.name


def test_oldest_orders_get_the_stock_first_and_each_goes_where_its_outcome_says(tenant):
    product(tenant, "TEA", 5)
    product(tenant, "CUP", 1)
    newest = order(tenant, 3, [("TEA", 2)])
    oldest = order(tenant, 1, [("TEA", 2), ("CUP", 1)])
    middle = order(tenant, 2, [("TEA", 2), ("CUP", 1)])

    result = stock_check(tenant=tenant, order_ids=[newest.pk, oldest.pk, middle.pk], actor=ACTOR)

    assert (result.full, result.partial, result.short) == ([oldest.pk], [middle.pk, newest.pk], [])
    assert result.missing == {middle.pk: {"CUP": 1}, newest.pk: {"TEA": 1}}
    assert stock("TEA") == (5, 5)
    assert stock("CUP") == (1, 1)
    assert (status_of(oldest), status_of(middle), status_of(newest)) == ("在庫引当済", "一部引当", "一部引当")


def test_an_order_with_nothing_in_stock_waits_and_a_second_check_adds_only_what_was_missing(tenant):
    product(tenant, "TEA", 0)
    waiting = order(tenant, 1, [("TEA", 3)])
    assert stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR).short == [waiting.pk]
    assert status_of(waiting) == "入荷待ち"

    Product.objects.filter(sku="TEA").update(on_hand=2)
    again = stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR)
    assert again.partial == [waiting.pk]
    Product.objects.filter(sku="TEA").update(on_hand=10)
    last = stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR)
    assert last.full == [waiting.pk]
    assert Allocation.objects.get(order=waiting).quantity == 3  # 2, then the 1 missing: never twice
    assert stock("TEA") == (10, 3)
    assert stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR).full == [waiting.pk]  # nothing more
    assert stock("TEA") == (10, 3)


def test_a_set_is_allocated_as_its_components_and_a_mall_alias_finds_our_sku(tenant):
    tea, cup = product(tenant, "TEA", 10), product(tenant, "CUP", 3)
    gift = product(tenant, "GIFT", 0, is_set=True)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=tea, quantity=2)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=cup, quantity=1)
    rakuten = ShopFactory(tenant=tenant, mall=MallKind.RAKUTEN)
    SkuAlias.objects.create(tenant=tenant, mall=MallKind.RAKUTEN, mall_sku="rk-gift-01", product=gift)

    two_gifts = order(tenant, 1, [("rk-gift-01", 2)], shop=rakuten)
    result = stock_check(tenant=tenant, order_ids=[two_gifts.pk], actor=ACTOR)

    assert result.full == [two_gifts.pk]
    assert stock("TEA") == (10, 4)
    assert stock("CUP") == (3, 2)
    assert stock("GIFT") == (0, 0)  # a set holds no stock of its own


def test_what_is_never_allocated_unknown_skus_zero_quantities_and_another_tenants_products(tenant, other_tenant):
    product(other_tenant, "THEIRS", 100)
    product(tenant, "TEA", 5)
    o = order(tenant, 1, [("THEIRS", 1), ("TEA", 0), ("NOPE", 1)])

    result = stock_check(tenant=tenant, order_ids=[o.pk], actor=ACTOR)

    assert result.unknown == {o.pk: ["THEIRS", "NOPE"]}
    assert o.pk in result.short
    assert not Allocation.objects.exists()
    assert Product.objects.get(tenant=other_tenant).allocated == 0
    assert stock("TEA") == (5, 0)


def test_cancelling_gives_the_stock_back_and_shipping_takes_it_off_the_shelf(tenant):
    product(tenant, "TEA", 5)
    cancelled, shipped = order(tenant, 1, [("TEA", 2)]), order(tenant, 2, [("TEA", 3)])
    stock_check(tenant=tenant, order_ids=[cancelled.pk, shipped.pk], actor=ACTOR)
    assert stock("TEA") == (5, 5)

    orders_cancel(tenant=tenant, order_ids=[cancelled.pk], reason="お客様都合", actor=ACTOR)
    assert stock("TEA") == (5, 3)
    assert not Allocation.objects.filter(order=cancelled).exists()

    statuses = Status.objects.for_tenant(tenant)
    for name in ("入金済", "発送待ち", "出荷済"):
        orders_bulk_update(
            tenant=tenant, order_ids=[shipped.pk], changes=BulkChanges(status=statuses.get(name=name)), actor=ACTOR,
            confirm_skips=True,
        )  # fmt: skip
    assert stock("TEA") == (2, 0)
    kinds = list(
        StockMove.objects.filter(product__sku="TEA")
        .order_by("pk")
        .values_list("kind", "on_hand_after", "allocated_after")
    )
    assert kinds == [
        (MoveKind.ALLOCATE, 5, 5),
        (MoveKind.ALLOCATE, 5, 5),
        (MoveKind.RELEASE, 5, 3),
        (MoveKind.SHIP, 2, 0),
    ]
    move = StockMove.objects.filter(product__sku="TEA", kind=MoveKind.SHIP).get()
    assert (move.order_id, move.on_hand_change, move.allocated_change, move.actor_name) == (shipped.pk, -3, -3, "test")


def test_orders_past_packing_are_left_alone(tenant):
    product(tenant, "TEA", 5)
    ready = order(tenant, 1, [("TEA", 1)], status=Status.objects.for_tenant(tenant).get(name="発送待ち"))
    result = stock_check(tenant=tenant, order_ids=[ready.pk], actor=ACTOR)
    assert result.skipped == [ready.pk]
    assert stock("TEA") == (5, 0)


def test_the_database_refuses_to_oversell_whatever_the_code_does(tenant):
    product(tenant, "TEA", 1)
    with pytest.raises(IntegrityError):
        Product.objects.filter(sku="TEA").update(allocated=2)


def test_editing_an_orders_lines_gives_back_or_takes_what_the_lines_now_need(tenant):
    from orders.services import order_line_add, order_line_remove, order_line_update

    product(tenant, "TEA", 5)
    product(tenant, "CUP", 2)
    o = order(tenant, 1, [("TEA", 3), ("CUP", 1)])
    stock_check(tenant=tenant, order_ids=[o.pk], actor=ACTOR)
    assert (stock("TEA"), stock("CUP")) == ((5, 3), (2, 1))

    tea_line = o.lines.get(sku="TEA")
    order_line_update(line=tea_line, changes={"quantity": 1}, actor=ACTOR)
    assert stock("TEA") == (5, 1)  # two units back on offer

    order_line_remove(line=o.lines.get(sku="CUP"), actor=ACTOR)
    assert stock("CUP") == (2, 0)  # the removed line's unit too
    assert status_of(o) == "在庫引当済"

    order_line_add(order=o, values={"sku": "CUP", "name": "湯呑み", "unit_price": 800, "quantity": 5}, actor=ACTOR)
    assert stock("CUP") == (2, 2)
    assert status_of(o) == "一部引当"  # 5 wanted, 2 there
    assert sum(Allocation.objects.filter(order=o).values_list("quantity", flat=True)) == 3
