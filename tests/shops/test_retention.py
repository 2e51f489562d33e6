"""T2: Amazon buyers' personal data is erased 30 days after shipment; the order, lines and amounts stay."""

from __future__ import annotations

import datetime as dt

import pytest

from orders.constants import EventType
from orders.models import Order, OrderEvent
from shops.constants import MallKind
from shops.models import Shop
from shops.retention import ERASED_NAME, amazon_personal_data_erase
from tests.factories import make_order

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 2)


def shop_of(tenant, mall: str) -> Shop:
    return Shop.objects.create(tenant=tenant, name=f"{mall}店", mall=mall, code=f"{mall}-shop")


def shipped(tenant, shop: Shop, days_ago: int, **fields) -> Order:
    return make_order(tenant, shop=shop, ship_date=TODAY - dt.timedelta(days=days_ago), **fields)


def test_an_amazon_order_shipped_30_days_ago_loses_the_buyers_data_and_keeps_the_rest(tenant):
    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(tenant, amazon, 30, external_id="249-1234567-7654321", orderer_name="山田 太郎",
                    orderer_phone="03-1234-5678", orderer_email="taro@example.jp", dest_name="山田 花子",
                    dest_address1="丸の内1-9-1")
    lines_before = list(order.lines.values("sku", "name", "unit_price", "quantity"))
    total_before = order.total

    assert amazon_personal_data_erase(today=TODAY) == 1

    order.refresh_from_db()
    assert (order.orderer_name, order.dest_name) == (ERASED_NAME, ERASED_NAME)
    assert order.orderer_phone == order.orderer_email == order.dest_address1 == order.dest_postal_code == ""
    assert order.personal_data_erased_at is not None
    assert order.total == total_before
    assert list(order.lines.values("sku", "name", "unit_price", "quantity")) == lines_before
    assert "0312345678" not in order.search_text
    assert "2491234567" in order.search_text.replace("-", "")  # still found by its number
    event = OrderEvent.objects.get(order=order, type=EventType.PERSONAL_DATA_ERASED)
    assert "orderer_name" in event.data["fields"]
    assert "山田" not in str(event.data)  # the history does not keep what was erased


def test_not_yet_due_other_malls_and_unshipped_orders_are_kept(tenant):
    amazon, rakuten = shop_of(tenant, MallKind.AMAZON), shop_of(tenant, MallKind.RAKUTEN)
    recent = shipped(tenant, amazon, 29)
    other_mall = shipped(tenant, rakuten, 90)
    unshipped = make_order(tenant, shop=amazon)

    assert amazon_personal_data_erase(today=TODAY) == 0

    for order in (recent, other_mall, unshipped):
        order.refresh_from_db()
        assert order.orderer_name != ERASED_NAME
        assert order.personal_data_erased_at is None


def test_the_task_erases_too_and_the_copy_of_what_the_mall_sent_goes_with_it(tenant):
    from shops.models import MallOrder
    from shops.tasks import erase_amazon_personal_data

    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(tenant, amazon, 40, orderer_name="鈴木 一郎")
    MallOrder.objects.create(tenant=tenant, order=order, digest="x",
                             values={"orderer_name": "鈴木 一郎", "dest_name": "鈴木 一郎", "total": 1000})

    assert erase_amazon_personal_data() == 1  # today: shipped 40 days before the real date too
    kept = MallOrder.objects.get(order=order).values
    assert "鈴木" not in str(kept)
    assert kept["total"] == 1000


def test_running_it_again_erases_nothing_more_and_writes_no_second_event(tenant, other_tenant):
    mine, theirs = shop_of(tenant, MallKind.AMAZON), shop_of(other_tenant, MallKind.AMAZON)
    shipped(tenant, mine, 45)
    shipped(other_tenant, theirs, 31)

    assert amazon_personal_data_erase(today=TODAY) == 2
    assert amazon_personal_data_erase(today=TODAY) == 0
    assert OrderEvent.objects.filter(type=EventType.PERSONAL_DATA_ERASED).count() == 2
