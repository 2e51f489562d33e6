"""Shipment data to Shopify (B12) over real HTTP against the fake store: find the order by name, read its
fulfillment orders, POST one fulfillment with tracking; refusals, 429 and 5xx as Shopify answers them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils.translation import gettext as _

from devtools.fakemalls.shopify import FakeShopify
from orders.constants import EventType, Stage
from orders.models import OrderEvent
from shops.constants import MallKind
from shops.models import ReportState
from shops.services.reports import shipment_report_send
from tests.shops.reportkit import SAGAWA, YAMATO, connected_shop, mall_order, ship


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    mall = FakeShopify(seed=16).start()
    yield mall
    mall.stop()


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.SHOPS_REPORT_MAX_WAIT = 0.2
    settings.SHOPS_REPORT_BACKOFF = 1.0


@pytest.fixture
def order(tenant, fake):
    shop = connected_shop(tenant, MallKind.SHOPIFY, fake)
    name = fake.order(fake.add_order(items=[("TEA-SEN-100", 2)], financial_status="paid"))["name"]
    return mall_order(tenant, shop, name)


def test_a_parcel_fulfils_the_shopify_order_with_its_tracking(tenant, fake, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = ship(tenant, order)
    assert report.state == ReportState.PENDING
    assert report.mall_order == order.external_id
    assert [p["number"] for p in report.numbers] == [YAMATO]
    assert [c for c in callbacks if c.__qualname__.startswith("reports_queue")]  # sent to the workers on commit

    outcome = shipment_report_send(report_id=report.pk)

    report.refresh_from_db()
    assert (outcome.state, report.state) == (ReportState.TOLD, ReportState.TOLD)
    assert report.told_at is not None
    assert report.answer == _("Shopify fulfilled the order (%(status)s).") % {"status": "success"}
    [told] = fake.fulfillments
    assert (told["order"], told["company"], told["number"], told["notify_customer"]) == (
        order.external_id, "Yamato (JA)", YAMATO, True,
    )  # fmt: skip
    assert fake.order(told["order_id"])["fulfillment_status"] == "fulfilled"
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 1
    assert posts[0].headers["x-shopify-access-token"] == fake.access_token
    event = OrderEvent.objects.get(order=order, type=EventType.MALL_NOTIFIED)
    assert event.data["push"]["numbers"] == [YAMATO]
    assert event.data["push"]["ok"] is True


def test_the_task_delivered_twice_tells_the_store_once(tenant, fake, order):
    report = ship(tenant, order)
    first = shipment_report_send(report_id=report.pk)
    second = shipment_report_send(report_id=report.pk)
    assert (first.state, second.state) == (ReportState.TOLD, ReportState.TOLD)
    assert len(fake.fulfillments) == 1
    assert len([r for r in fake.requests if r.method == "POST"]) == 1


def test_an_order_fulfilled_in_shopify_already_is_not_fulfilled_twice(tenant, fake, order):
    [order_id] = [i for i in fake.ids() if fake.order(i)["name"] == order.external_id]
    fake.fulfil(order_id)
    report = ship(tenant, order)
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.TOLD
    assert outcome.answer == _("Shopify: the order is already fulfilled; nothing was sent.")
    assert fake.fulfillments == []


def test_a_refusal_leaves_the_order_shipped_and_marked_not_told(tenant, fake, order):
    fake.refuse_next_fulfillment("Tracking number is invalid for Yamato (JA)")
    report = ship(tenant, order)
    outcome = shipment_report_send(report_id=report.pk)

    report.refresh_from_db()
    order.refresh_from_db()
    assert outcome.state == report.state == ReportState.REFUSED
    assert outcome.retry_in is None  # a refusal is not retried
    assert "422" in report.answer
    assert "Tracking number is invalid for Yamato (JA)" in report.answer
    assert order.stage == Stage.SHIPPED
    event = OrderEvent.objects.get(order=order, type=EventType.MALL_NOT_NOTIFIED)
    assert event.data["push"]["ok"] is False
    assert "invalid" in event.data["push"]["answer"]


def test_an_unknown_order_name_is_refused(tenant, fake):
    shop = connected_shop(tenant, MallKind.SHOPIFY, fake)
    report = ship(tenant, mall_order(tenant, shop, "#999999"))
    assert shipment_report_send(report_id=report.pk).state == ReportState.REFUSED
    report.refresh_from_db()
    assert "#999999" in report.answer


def test_429_is_tried_again_after_the_wait_shopify_asks_for(tenant, fake, order):
    report = ship(tenant, order)
    fake.queue_rate_limit(times=1, retry_after="2.0")  # longer than one request waits: the task's retry
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.PENDING
    assert outcome.retry_in == 2.0
    assert "429" in outcome.answer
    assert fake.fulfillments == []

    again = shipment_report_send(report_id=report.pk)  # the task's retry
    report.refresh_from_db()
    assert again.state == report.state == ReportState.TOLD
    assert report.attempts == 2
    assert len(fake.fulfillments) == 1


def test_a_short_429_is_waited_out_within_the_send(tenant, fake, order):
    report = ship(tenant, order)
    fake.queue_rate_limit(times=1, retry_after="0.1")
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert len(fake.fulfillments) == 1


def test_5xx_backs_off_then_gives_up_as_failed_on_the_last_try(tenant, fake, order):
    report = ship(tenant, order)
    fake.queue_server_error(times=4)  # one request's own tries (1 + 3)
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.PENDING
    assert outcome.retry_in == 1.0
    fake.queue_server_error(times=4)
    last = shipment_report_send(report_id=report.pk, final=True)
    report.refresh_from_db()
    assert last.state == report.state == ReportState.FAILED
    assert "500" in report.answer
    assert fake.fulfillments == []
    assert OrderEvent.objects.filter(order=order, type=EventType.MALL_NOT_NOTIFIED).count() == 1


def test_a_second_parcel_after_the_first_was_told_goes_out_without_a_second_fulfillment(tenant, fake, order):
    report = ship(tenant, order)
    shipment_report_send(report_id=report.pk)
    report = ship(tenant, order, number=SAGAWA, carrier="sagawa")
    assert report.state == ReportState.PENDING
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert len(fake.fulfillments) == 1  # Shopify's order is fulfilled already: not fulfilled twice
