"""Shipment data to Rakuten, Yahoo! and Amazon (B12) over real HTTP against each fake mall: what the mall is
told and how, a refusal in the mall's own words (the order stays shipped, marked not told), a 429 tried again
after the mall's wait, 5xx given up as failed on the last try. Shopify has its own file
(test_reports_shopify.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from devtools.fakemalls.amazon import FakeAmazon
from devtools.fakemalls.rakuten import FakeRakuten
from devtools.fakemalls.yahoo import FakeYahoo
from orders.constants import EventType, Stage
from orders.models import OrderEvent
from shops.constants import MallKind
from shops.models import ReportState
from shops.services.reports import shipment_report_send
from tests.shops.reportkit import SAGAWA, YAMATO, connected_shop, mall_order, ship


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.SHOPS_REPORT_MAX_WAIT = 0.2
    settings.SHOPS_REPORT_BACKOFF = 1.0


# --- Rakuten ---------------------------------------------------------------------------------------------------


@pytest.fixture
def rakuten() -> Iterator[FakeRakuten]:
    mall = FakeRakuten(seed=16).start()
    yield mall
    mall.stop()


def rakuten_order(tenant: Any, fake: FakeRakuten, **options: Any) -> Any:
    shop = connected_shop(tenant, MallKind.RAKUTEN, fake)
    return mall_order(tenant, shop, fake.add_order(ordered_at=timezone.now() - timezone.timedelta(days=1), **options))


def test_rakuten_is_told_through_update_order_shipping_to_the_orders_basket(tenant, rakuten):
    order = rakuten_order(tenant, rakuten)
    report = ship(tenant, order)
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.TOLD
    assert "発送情報の更新に成功しました" in outcome.answer
    [basket] = rakuten.order(order.external_id)["PackageModelList"]
    assert rakuten.shipping_updates == [
        {
            "orderNumber": order.external_id,
            "basketId": basket["basketId"],
            "deliveryCompany": "1001",
            "shippingNumber": YAMATO,
            "shippingDate": timezone.localdate().isoformat(),
        }
    ]
    assert [s["shippingNumber"] for s in basket["ShippingModelList"]] == [YAMATO]  # what getOrder shows now
    # getOrder first (the basketId is not ours to keep), then updateOrderShipping, with RMS's ESA key
    paths = [r.path for r in rakuten.requests]
    assert paths == ["/es/2.0/order/getOrder/", "/es/2.0/order/updateOrderShipping/"]
    assert rakuten.requests[-1].headers["authorization"].startswith("ESA ")


def test_rakuten_two_parcels_go_to_one_basket_and_a_number_it_holds_is_not_sent_again(tenant, rakuten):
    order = rakuten_order(tenant, rakuten)
    ship(tenant, order)
    report = ship(tenant, order, number=SAGAWA, carrier="sagawa")
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert [(u["deliveryCompany"], u["shippingNumber"]) for u in rakuten.shipping_updates] == [
        ("1001", YAMATO), ("1002", SAGAWA),
    ]  # fmt: skip
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD  # delivered twice: nothing sent
    assert len(rakuten.shipping_updates) == 2


def test_rakuten_refusing_leaves_the_order_shipped_and_not_told_with_rms_words(tenant, rakuten):
    order = rakuten_order(tenant, rakuten)
    rakuten.cancel(order.external_id)
    report = ship(tenant, order)
    outcome = shipment_report_send(report_id=report.pk)
    report.refresh_from_db()
    order.refresh_from_db()
    assert outcome.state == report.state == ReportState.REFUSED
    assert outcome.retry_in is None
    assert "キャンセルされた受注の発送情報は更新できません" in report.answer
    assert order.stage == Stage.SHIPPED
    assert OrderEvent.objects.filter(order=order, type=EventType.MALL_NOT_NOTIFIED).count() == 1
    assert rakuten.shipping_updates == []


def test_rakuten_unknown_order_is_refused(tenant, rakuten):
    shop = connected_shop(tenant, MallKind.RAKUTEN, rakuten)
    report = ship(tenant, mall_order(tenant, shop, "382915-20261205-0000000001"))
    assert shipment_report_send(report_id=report.pk).state == ReportState.REFUSED
    report.refresh_from_db()
    assert "存在しません" in report.answer


def test_rakuten_429_then_told_on_the_retry(tenant, rakuten):
    order = rakuten_order(tenant, rakuten)
    report = ship(tenant, order)
    rakuten.queue_rate_limit(times=1, retry_after=3)
    outcome = shipment_report_send(report_id=report.pk)
    assert (outcome.state, outcome.retry_in) == (ReportState.PENDING, 3.0)
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert len(rakuten.shipping_updates) == 1


def test_rakuten_5xx_fails_on_the_last_try(tenant, rakuten):
    report = ship(tenant, rakuten_order(tenant, rakuten))
    rakuten.queue_server_error(times=4)
    assert shipment_report_send(report_id=report.pk, final=True).state == ReportState.FAILED
    report.refresh_from_db()
    assert "500" in report.answer
    assert rakuten.shipping_updates == []


# --- Yahoo! ----------------------------------------------------------------------------------------------------


@pytest.fixture
def yahoo() -> Iterator[FakeYahoo]:
    mall = FakeYahoo(seed=16).start()
    yield mall
    mall.stop()


def yahoo_order(tenant: Any, fake: FakeYahoo) -> Any:
    return mall_order(tenant, connected_shop(tenant, MallKind.YAHOO, fake), fake.add_order())


def test_yahoo_is_told_through_order_ship_status_change(tenant, yahoo):
    order = yahoo_order(tenant, yahoo)
    ship(tenant, order)
    report = ship(tenant, order, number=SAGAWA, carrier="sagawa")
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.TOLD
    [told] = yahoo.ship_updates
    assert told == {
        "OrderId": order.external_id,
        "ShipStatus": "3",
        "ShipCompanyCode": "1001",
        "ShipInvoiceNumber1": YAMATO,
        "ShipInvoiceNumber2": SAGAWA,
        "ShipDate": timezone.localdate().strftime("%Y%m%d"),
    }
    assert yahoo.order(order.external_id).ship["ShipStatus"] == "3"
    assert yahoo.requests[-1].authorization == f"Bearer {yahoo.access_token}"


def test_yahoo_refusing_is_recorded_with_its_error(tenant, yahoo):
    order = yahoo_order(tenant, yahoo)
    yahoo.cancel(order.external_id)
    report = ship(tenant, order)
    assert shipment_report_send(report_id=report.pk).state == ReportState.REFUSED
    report.refresh_from_db()
    assert "od-00004" in report.answer
    assert "cancelled" in report.answer
    assert yahoo.ship_updates == []


def test_yahoo_429_and_5xx(tenant, yahoo):
    report = ship(tenant, yahoo_order(tenant, yahoo))
    yahoo.rate_limit_next(1, retry_after=2.0)
    outcome = shipment_report_send(report_id=report.pk)
    assert (outcome.state, outcome.retry_in) == (ReportState.PENDING, 2.0)
    yahoo.fail_next(4)
    assert shipment_report_send(report_id=report.pk).retry_in == 2.0  # backoff doubles on the second attempt
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert len(yahoo.ship_updates) == 1


# --- Amazon ----------------------------------------------------------------------------------------------------


@pytest.fixture
def amazon() -> Iterator[FakeAmazon]:
    mall = FakeAmazon(seed=16).start()
    yield mall
    mall.stop()


def amazon_order(tenant: Any, fake: FakeAmazon, **options: Any) -> Any:
    shop = connected_shop(tenant, MallKind.AMAZON, fake)
    return mall_order(tenant, shop, fake.add_order(items=[("TEA-SEN-100", 2), ("MUG-HSM-01", 1)], **options))


def test_amazon_is_told_through_shipment_confirmation_with_every_item(tenant, amazon):
    order = amazon_order(tenant, amazon)
    report = ship(tenant, order)
    outcome = shipment_report_send(report_id=report.pk)
    assert outcome.state == ReportState.TOLD
    assert "204" in outcome.answer
    [confirmation] = amazon.confirmations
    items = amazon.order(order.external_id)["orderItems"]
    package = confirmation["packageDetail"]
    assert confirmation["orderId"] == order.external_id
    assert (package["carrierCode"], package["trackingNumber"]) == ("Yamato Transport", YAMATO)
    assert package["orderItems"] == [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in items]
    shipped = dt.datetime.fromisoformat(package["shipDate"].replace("Z", "+00:00"))
    assert timezone.localtime(shipped).date() == timezone.localdate()
    assert shipped <= timezone.now()
    assert amazon.order(order.external_id)["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def test_amazon_refusing_an_order_it_shipped_already(tenant, amazon):
    order = amazon_order(tenant, amazon, status="SHIPPED")
    report = ship(tenant, order)
    assert shipment_report_send(report_id=report.pk).state == ReportState.REFUSED
    report.refresh_from_db()
    assert "InvalidInput" in report.answer
    assert "SHIPPED" in report.answer
    assert amazon.confirmations == []


def test_amazon_429_then_told_and_5xx_given_up(tenant, amazon):
    report = ship(tenant, amazon_order(tenant, amazon))
    amazon.queue_rate_limit(times=1, retry_after=5)
    outcome = shipment_report_send(report_id=report.pk)
    assert (outcome.state, outcome.retry_in) == (ReportState.PENDING, 5.0)
    assert "QuotaExceeded" in outcome.answer
    assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD

    other = ship(tenant, amazon_order(tenant, amazon), number="223456789012")
    amazon.queue_server_error(times=4, status=503)
    assert shipment_report_send(report_id=other.pk, final=True).state == ReportState.FAILED
    assert len(amazon.confirmations) == 1
