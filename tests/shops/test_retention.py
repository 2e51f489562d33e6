"""T2: Amazon buyers' personal data is erased 30 days after shipment; the order, lines and amounts stay."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.constants import EventType, Stage
from orders.events import Actor, order_status_changed_event
from orders.models import Order, OrderEvent, Status
from orders.services import order_move_to_status
from shops.constants import MallKind
from shops.models import Shop
from shops.retention import ERASED_NAME, amazon_orders_due, amazon_personal_data_erase
from tests.factories import make_order

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 2)
ACTOR = Actor.system("test")


def shop_of(tenant, mall: str) -> Shop:
    return Shop.objects.create(tenant=tenant, name=f"{mall}店", mall=mall, code=f"{mall}-shop")


def status(tenant, stage: Stage) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position").first()


def days_before(today: dt.date, days: int) -> dt.datetime:
    """Mid-afternoon in Tokyo, `days` days before `today`."""
    return timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days), dt.time(15)))


def move(order: Order, stage: Stage, at: dt.datetime) -> Order:
    """Move the order through the service, then date the move's event as if it had happened `at`."""
    order = order_move_to_status(order=order, status=status(order.tenant, stage), actor=ACTOR)
    OrderEvent.objects.filter(pk=OrderEvent.objects.filter(order=order).latest("pk").pk).update(at=at)
    return order


def shipped(tenant, shop: Shop, days_ago: int, *, today: dt.date = TODAY, **fields) -> Order:
    """An order ready to ship three days before it shipped, which was `days_ago` days before `today`."""
    order = make_order(tenant, shop=shop, **fields)
    move(order, Stage.READY_TO_SHIP, days_before(today, days_ago + 3))
    return move(order, Stage.SHIPPED, days_before(today, days_ago))


def test_an_amazon_order_shipped_30_days_ago_loses_the_buyers_data_and_keeps_the_rest(tenant):
    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(
        tenant,
        amazon,
        30,
        external_id="249-1234567-7654321",
        orderer_name="山田 太郎",
        orderer_phone="03-1234-5678",
        orderer_email="taro@example.jp",
        dest_name="山田 花子",
        dest_address1="丸の内1-9-1",
    )
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


def test_an_order_not_shipped_keeps_its_buyer_whatever_its_planned_ship_date(tenant):
    """Issue 10 #7: the planned ship date is a plan. An order still new, or ready to ship, whose planned date
    is 59 days back has not shipped: its buyer's name and address stay."""
    amazon = shop_of(tenant, MallKind.AMAZON)
    new = make_order(tenant, shop=amazon, orderer_name="新規 花子", ship_date=TODAY - dt.timedelta(days=59))
    waiting = make_order(tenant, shop=amazon, orderer_name="待機 次郎", ship_date=TODAY - dt.timedelta(days=59))
    move(waiting, Stage.READY_TO_SHIP, days_before(TODAY, 60))

    assert amazon_personal_data_erase(today=TODAY) == 0

    names = dict(Order.objects.filter(pk__in=[new.pk, waiting.pk]).values_list("pk", "orderer_name"))
    assert names == {new.pk: "新規 花子", waiting.pk: "待機 次郎"}
    assert not OrderEvent.objects.filter(type=EventType.PERSONAL_DATA_ERASED).exists()


def test_the_30_days_count_from_the_day_the_order_entered_the_shipped_stage(tenant):
    """Not from the planned ship date: shipped 30 days ago with a plan for 10 days ago is due; shipped 29 days
    ago with a plan for 59 days ago is not (30 calendar days in Tokyo, whatever the hour)."""
    amazon = shop_of(tenant, MallKind.AMAZON)
    due = shipped(tenant, amazon, 30, ship_date=TODAY - dt.timedelta(days=10))
    late_night = make_order(tenant, shop=amazon)
    move(late_night, Stage.READY_TO_SHIP, days_before(TODAY, 40))
    move(
        late_night,
        Stage.SHIPPED,
        timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=30), dt.time(23, 59))),
    )
    kept = shipped(tenant, amazon, 29, ship_date=TODAY - dt.timedelta(days=59))

    assert amazon_personal_data_erase(today=TODAY) == 2

    erased = set(Order.objects.filter(personal_data_erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == {due.pk, late_night.pk}
    kept.refresh_from_db()
    assert kept.orderer_name == "山田 太郎"


def test_a_completed_order_counts_from_its_shipment_not_from_its_completion(tenant):
    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(tenant, amazon, 35)
    move(order, Stage.COMPLETED, days_before(TODAY, 2))  # a move inside the shipped stage: not a new entry

    assert amazon_personal_data_erase(today=TODAY) == 1
    order.refresh_from_db()
    assert order.orderer_name == ERASED_NAME


def test_an_order_created_already_shipped_counts_from_its_creation(tenant):
    amazon = shop_of(tenant, MallKind.AMAZON)
    order = make_order(tenant, shop=amazon, status=status(tenant, Stage.SHIPPED))
    OrderEvent.objects.filter(order=order, type=EventType.CREATED).update(at=days_before(TODAY, 31))

    assert amazon_personal_data_erase(today=TODAY) == 1


def test_an_order_that_left_the_shipped_stage_and_came_back_counts_from_its_latest_entry(tenant):
    """Its history says shipped 50 days ago, taken back 45 days ago, shipped again 10 days ago."""
    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(tenant, amazon, 50)
    shipped_status, ready = status(tenant, Stage.SHIPPED), status(tenant, Stage.READY_TO_SHIP)
    back = order_status_changed_event(order=order, actor=ACTOR, old=shipped_status, new=ready)
    again = order_status_changed_event(order=order, actor=ACTOR, old=ready, new=shipped_status)
    OrderEvent.objects.filter(pk=back.pk).update(at=days_before(TODAY, 45))
    OrderEvent.objects.filter(pk=again.pk).update(at=days_before(TODAY, 10))

    assert amazon_personal_data_erase(today=TODAY) == 0
    assert amazon_personal_data_erase(today=TODAY + dt.timedelta(days=20)) == 1


def test_what_is_due_is_found_in_one_query_whatever_the_number_of_orders(
    tenant, other_tenant, django_assert_num_queries
):
    mine, theirs = shop_of(tenant, MallKind.AMAZON), shop_of(other_tenant, MallKind.AMAZON)
    for days in (31, 40, 5):
        shipped(tenant, mine, days)
    shipped(other_tenant, theirs, 33)

    with django_assert_num_queries(1):
        due = amazon_orders_due(today=TODAY)

    assert {tenant_id: len(orders) for tenant_id, orders in due.items()} == {tenant.pk: 2, other_tenant.pk: 1}


def test_the_task_erases_too_and_the_copy_of_what_the_mall_sent_goes_with_it(tenant):
    from shops.models import MallOrder
    from shops.tasks import erase_amazon_personal_data

    amazon = shop_of(tenant, MallKind.AMAZON)
    order = shipped(tenant, amazon, 40, today=timezone.localdate(), orderer_name="鈴木 一郎")
    MallOrder.objects.create(
        tenant=tenant,
        order=order,
        digest="x",
        values={"orderer_name": "鈴木 一郎", "dest_name": "鈴木 一郎", "total": 1000},
    )

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
