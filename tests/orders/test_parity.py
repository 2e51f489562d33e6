"""Where a fast path must stay beside a slow one, the two give the same result (both docstrings name this file).

- An order's amounts: in Python (orders.services.compute_amounts, for one order) and in SQL
  (automation.actions.amounts_with_shipping_fee, a rule setting the shipping fee of thousands of orders in one
  UPDATE).
- A new order: one at a time through orders.services.order_create, and a whole batch of a mall's orders
  set-based by the import (shops.services.importer, COPY of orders, lines and events).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from automation.actions import amounts_with_shipping_fee
from orders.events import Actor
from orders.models import Order, OrderEvent, OrderLine, PaymentMethod
from orders.services import compute_amounts, order_create
from shops.constants import MallKind
from shops.models import ImportRun, MallCodeMapping, MappingKind, RunStatus
from shops.services.importer import IMPORTED_FIELDS, import_orders
from tests.factories import ShopFactory, make_order
from tests.shops.test_import import imported

# --- amounts: compute_amounts and amounts_with_shipping_fee -------------------------------------------------


def line(price: int, quantity: int, rate: int) -> dict[str, Any]:
    return {"sku": f"S{price}-{rate}", "name": "品", "unit_price": price, "quantity": quantity, "tax_rate": rate}


@pytest.mark.parametrize(
    ("lines", "fees", "fee"),
    [
        ([line(1080, 3, 8), line(1650, 1, 10)], {}, 1980),
        ([line(1080, 3, 8), line(3980, 1, 8)], {"cod_fee": 330, "discount": 500, "points_used": 100}, 0),
        ([line(500, 1, 10)], {"discount": 3000}, 600),  # the discount is more than the 10 % part: no tax there
        ([line(2160, 2, 8)], {"discount": 5000}, 800),
        ([line(999, 7, 0), line(1001, 3, 10)], {"points_used": 20_000}, 1),  # tax-free lines; a negative total
        ([line(123_456_789, 999, 10), line(7, 1, 8)], {"cod_fee": 99_999}, 999_999),  # sums beyond 2³¹
        ([], {"discount": 10}, 500),  # no lines
    ],
)
def test_amounts_in_sql_are_the_amounts_in_python(tenant, lines, fees, fee):
    order = make_order(tenant, lines=lines, shipping_fee=600, **fees)
    rates = set(OrderLine.objects.filter(order=order).values_list("tax_rate", flat=True))

    Order.objects.filter(pk=order.pk).update(**amounts_with_shipping_fee(fee, rates))

    after = Order.objects.get(pk=order.pk)
    python = compute_amounts(
        lines=list(after.lines.all()),
        shipping_fee=fee,
        cod_fee=after.cod_fee,
        discount=after.discount,
        points_used=after.points_used,
    )
    assert after.shipping_fee == fee
    assert {name: getattr(after, name) for name in python} == python


@pytest.mark.parametrize("cod_fee", [0, 330, 1100])
def test_amounts_in_sql_with_a_new_cod_fee_are_the_amounts_in_python(tenant, cod_fee):
    """The fee-table action (issue 16) sets the COD fee with the shipping fee in the same UPDATE."""
    order = make_order(tenant, lines=[line(1080, 3, 8), line(1650, 2, 10)], shipping_fee=600, cod_fee=440, discount=200)
    rates = set(OrderLine.objects.filter(order=order).values_list("tax_rate", flat=True))

    Order.objects.filter(pk=order.pk).update(**amounts_with_shipping_fee(1300, rates, cod_fee=cod_fee))

    after = Order.objects.get(pk=order.pk)
    python = compute_amounts(
        lines=list(after.lines.all()), shipping_fee=1300, cod_fee=cod_fee, discount=200, points_used=0
    )
    assert (after.shipping_fee, after.cod_fee) == (1300, cod_fee)
    assert {name: getattr(after, name) for name in python} == python


# --- a new order: order_create and the import ---------------------------------------------------------------


def test_the_import_creates_the_order_order_create_creates(tenant):
    """Every column the import writes (every field a mall decides, IMPORTED_FIELDS), the lines and the
    "created" event are what order_create writes for the same values."""
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY, name="並行ショップ")
    MallCodeMapping.objects.create(
        tenant=tenant,
        mall=MallKind.SHOPIFY,
        kind=MappingKind.PAYMENT,
        mall_code="cod",
        payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="cod"),
    )
    source = imported(
        7,
        payment_code="cod",
        delivery_name="宅急便",
        orderer_phone="+81 90-1234-5678",
        orderer_address2="メゾン丸の内 101",
        dest_company="株式会社テスト",
        dest_address2="3階",
        requested_delivery_date=dt.date(2026, 11, 25),
        delivery_time_slot="14時～16時",
        cod_fee=330,
        discount=200,
        points_used=50,
        remarks="のし不要",
        order_comment="ギフト包装",
        remote_island=False,
    )
    run = ImportRun.objects.create(tenant=tenant, shop=shop, status=RunStatus.RUNNING)

    [imported_id] = import_orders(shop, [source], run=run).new_ids

    made = Order.objects.get(pk=imported_id)
    reference = order_create(
        tenant=tenant,
        shop=ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY),
        external_id=source.external_id,
        fields={name: getattr(made, name) for name in IMPORTED_FIELDS},
        lines=[dataclasses.asdict(item) for item in source.lines],
        actor=Actor.importer(shop.name),
        source="import",
    )
    ignore = {"id", "shop_id", "created_at", "updated_at"}

    def row(order: Order) -> dict[str, Any]:
        return {k: v for k, v in Order.objects.filter(pk=order.pk).values().get().items() if k not in ignore}

    assert row(made) == row(reference)
    assert (made.payment_method.code, made.delivery_method.name, made.delivery_slot) == ("cod", "宅急便", "14-16")
    assert made.total == 2 * 1080 + 2750 + 600 + 330 - 200 - 50
    columns = ("position", "sku", "name", "options", "unit_price", "quantity", "tax_rate")
    assert list(made.lines.order_by("position").values_list(*columns)) == list(
        reference.lines.order_by("position").values_list(*columns)
    )

    def created(order: Order) -> tuple[Any, ...]:
        event = OrderEvent.objects.get(order=order)
        return event.type, event.actor_kind, event.actor_name, event.data

    assert created(made) == created(reference)
