"""The Amazon connector against the fake SP-API over real HTTP: LWA tokens, paging, cursor, retries, mapping."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.fakemalls.amazon import COD_FEE, PLACES, POSTAGE, SEARCH_PATH, FakeAmazon
from orders.services import DEFAULT_PAYMENT_METHODS
from shops.connectors import REGISTRY
from shops.connectors.amazon import PAYMENT_CODES, AmazonConnector, Orders20260101
from shops.connectors.base import (
    AuthFailed,
    FailedOrder,
    ImportedOrder,
    MallError,
    MallUnavailable,
    Page,
    RateLimited,
)

JST = dt.timezone(dt.timedelta(hours=9))
ISHIGAKI = next(p for p in PLACES if p.postal_code == "907-0004")


@pytest.fixture
def fake() -> Iterator[FakeAmazon]:
    mall = FakeAmazon(seed=20261202).start()
    yield mall
    mall.stop()


@pytest.fixture
def connect(fake: FakeAmazon) -> Iterator[Callable[..., AmazonConnector]]:
    """Connectors to the fake with a recorder instead of time.sleep (its list is `connector.slept`)."""
    made: list[AmazonConnector] = []

    def make(credentials: dict[str, str] | None = None, **kwargs: Any) -> AmazonConnector:
        slept: list[float] = []
        kwargs.setdefault("base_url", fake.url)
        connector = AmazonConnector(
            fake.credentials if credentials is None else credentials, sleep=slept.append, **kwargs
        )
        connector.slept = slept  # type: ignore[attr-defined]
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.client.close()


def orders_of(pages: list[Page]) -> list[ImportedOrder | FailedOrder]:
    return [order for page in pages for order in page.orders]


def imported(pages: list[Page]) -> list[ImportedOrder]:
    return [o for o in orders_of(pages) if isinstance(o, ImportedOrder)]


def searches(fake: FakeAmazon) -> list[dict[str, str]]:
    return [r.query for r in fake.requests if r.path == SEARCH_PATH]


def only(fake: FakeAmazon, connector: AmazonConnector, order_id: str) -> ImportedOrder:
    """The one order `order_id` as the connector imports it (a first poll sees every order)."""
    found = [o for o in imported(list(connector.pages(""))) if o.external_id == order_id]
    assert len(found) == 1
    return found[0]


# --- registry and paging ------------------------------------------------------------------------------------


def test_connector_is_registered_with_its_credentials() -> None:
    assert REGISTRY["amazon"] is AmazonConnector
    assert AmazonConnector.credential_fields == ("client_id", "client_secret", "refresh_token", "marketplace_id")
    assert set(AmazonConnector.secret_fields) == {"client_secret", "refresh_token"}


def test_full_paging_brings_every_order_with_one_access_token(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(260)
    connector = connect()

    pages = list(connector.pages(""))

    assert [len(p.orders) for p in pages] == [100, 100, 60]
    assert [o.external_id for o in orders_of(pages)] == ids
    assert fake.token_requests == 1
    first, *rest = searches(fake)
    assert "paginationToken" not in first
    assert set(first["includedData"].split(",")) >= {"BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS"}
    assert first["marketplaceIds"] == "A1VC38T7YXB528"
    for later in rest:  # Amazon wants every other parameter again, unchanged, with the token
        assert later["paginationToken"]
        assert later["lastUpdatedAfter"] == first["lastUpdatedAfter"]
        assert later["marketplaceIds"] == first["marketplaceIds"]
    assert all(r.headers["x-amz-access-token"].startswith("Atza|") for r in fake.api_requests())
    assert json.loads(pages[-1].cursor)["since"] == fake.order(ids[-1])["lastUpdatedTime"]
    assert connector.slept == []


def test_a_poll_that_dies_mid_way_resumes_on_the_next_page(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(160)
    pages = connect().pages("")
    first = next(pages)
    fake.queue_server_error(times=4)
    with pytest.raises(MallUnavailable):
        next(pages)

    rest = list(connect().pages(first.cursor))

    assert [o.external_id for o in first.orders + orders_of(rest)] == ids


def test_resume_from_the_cursor_brings_only_changed_and_new_orders(
    fake: FakeAmazon, connect: Callable[..., Any]
) -> None:
    old = fake.add_orders(120)
    cursor = list(connect().pages(""))[-1].cursor
    fake.cancel(old[5])
    new = fake.add_orders(2)

    again = orders_of(list(connect().pages(cursor)))

    # The newest order of the last poll comes once more: lastUpdatedAfter is inclusive (a harmless upsert).
    assert [o.external_id for o in again] == [old[-1], old[5], *new]
    cancelled = again[1]
    assert isinstance(cancelled, ImportedOrder)
    assert cancelled.cancelled
    assert cancelled.mall_status == "CANCELLED"


def test_first_poll_starts_a_week_back(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(3)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)  # the fake's orders are 30 days older than this

    pages = list(connect(now=lambda: later).pages(""))

    start = (later - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert searches(fake)[0]["lastUpdatedAfter"] == start
    assert [p.orders for p in pages] == [[]]
    assert json.loads(pages[0].cursor)["since"] == start


def test_expired_page_token_restarts_the_page_set(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(150)
    pages = connect().pages("")
    first = next(pages)
    fake.expire_pagination_tokens()

    rest = list(pages)

    assert {o.external_id for o in first.orders + orders_of(rest)} == set(ids)
    assert [len(p.orders) for p in rest] == [100, 50]  # the page set again from its start


def test_cursor_of_another_api_version_keeps_its_time_and_drops_its_token(
    fake: FakeAmazon, connect: Callable[..., Any]
) -> None:
    ids = fake.add_orders(3)
    since = fake.order(ids[1])["lastUpdatedTime"]
    cursor = json.dumps({"api": "v0", "since": since, "next": "a-v0-NextToken"})

    pages = list(connect().pages(cursor))

    assert "paginationToken" not in searches(fake)[0]
    assert [o.external_id for o in orders_of(pages)] == ids[1:]


def test_orders_api_version_is_chosen_by_the_seam(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(100)

    pages = list(connect(orders_api=Orders20260101(page_size=40)).pages(""))

    assert [len(p.orders) for p in pages] == [40, 40, 20]
    assert {q["maxResultsPerPage"] for q in searches(fake)} == {"40"}
    assert [o.external_id for o in orders_of(pages)] == ids
    assert json.loads(pages[-1].cursor)["api"] == "2026-01-01"


def test_unreadable_cursor_is_a_mall_error(connect: Callable[..., Any]) -> None:
    with pytest.raises(MallError, match="unreadable Amazon cursor"):
        list(connect().pages("not a cursor"))


# --- rate limits and errors -----------------------------------------------------------------------------------


def test_429_waits_one_over_the_rate_limit(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(5)
    fake.queue_rate_limit(rate_limit="0.5")
    connector = connect()

    pages = list(connector.pages(""))

    assert connector.slept == [2.0]
    assert [o.external_id for o in orders_of(pages)] == ids


def test_429_with_retry_after_waits_as_told(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(5)
    fake.queue_rate_limit(rate_limit=None, retry_after=3)
    connector = connect()

    assert len(orders_of(list(connector.pages("")))) == 5
    assert connector.slept == [3.0]


def test_429_without_headers_uses_the_rate_of_the_last_answer(connect: Callable[..., Any]) -> None:
    with FakeAmazon(seed=3, rate_limit="4") as mall:
        mall.add_orders(150)
        connector = connect(credentials=mall.credentials, base_url=mall.url)
        pages = connector.pages("")
        first = next(pages)
        mall.queue_rate_limit(rate_limit=None)

        rest = list(pages)

    assert len(first.orders) + len(orders_of(rest)) == 150
    assert connector.slept == [0.25]


def test_429_longer_than_max_wait_is_rate_limited(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(2)
    fake.queue_rate_limit(rate_limit="0.0167")  # getOrders' one request a minute
    connector = connect()

    with pytest.raises(RateLimited) as raised:
        list(connector.pages(""))

    assert raised.value.retry_after == pytest.approx(59.88, abs=0.01)
    assert connector.slept == []


def test_server_error_is_retried(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(4)
    fake.queue_server_error(status=503)
    connector = connect()

    assert len(orders_of(list(connector.pages("")))) == 4
    assert connector.slept == [1.0]


def test_server_errors_beyond_the_retries_are_mall_unavailable(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(4)
    fake.queue_server_error(times=4)
    connector = connect()

    with pytest.raises(MallUnavailable, match="500"):
        list(connector.pages(""))

    assert connector.slept == [1.0, 2.0, 4.0]


# --- access tokens ----------------------------------------------------------------------------------------------


def test_expired_access_token_is_renewed_once_and_the_poll_goes_on(
    fake: FakeAmazon, connect: Callable[..., Any]
) -> None:
    fake.add_orders(3)
    connector = connect()
    cursor = list(connector.pages(""))[-1].cursor
    fake.expire_tokens()
    new = fake.add_orders(2)

    again = orders_of(list(connector.pages(cursor)))

    assert [o.external_id for o in again][-2:] == new
    assert fake.token_requests == 2
    tokens = [r.headers["x-amz-access-token"] for r in fake.api_requests()]
    assert len(tokens) == 3
    assert tokens[0] == tokens[1] != tokens[2]
    assert connector.slept == []


def test_access_refused_even_with_a_new_token_is_auth_failed(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(3)
    fake.refuse_access()

    with pytest.raises(AuthFailed, match="even with a new access token"):
        list(connect().pages(""))

    assert fake.token_requests == 2
    assert len(fake.api_requests()) == 2


@pytest.mark.parametrize(("field", "error"), [("client_secret", "invalid_client"), ("refresh_token", "invalid_grant")])
def test_refused_login_with_amazon_is_auth_failed(
    fake: FakeAmazon, connect: Callable[..., Any], field: str, error: str
) -> None:
    credentials = {**fake.credentials, field: "wrong"}

    with pytest.raises(AuthFailed, match=error):
        list(connect(credentials=credentials).pages(""))

    assert fake.api_requests() == []


def test_missing_credentials_are_auth_failed(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    with pytest.raises(AuthFailed, match="refresh_token"):
        list(connect(credentials={**fake.credentials, "refresh_token": ""}).pages(""))
    assert fake.requests == []


def test_access_token_is_kept_until_it_expires(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    fake.add_orders(2)
    clock = [1000.0]
    connector = connect(clock=lambda: clock[0])

    list(connector.pages(""))
    clock[0] += 3000  # LWA's tokens live 3600 s; the connector renews a minute early
    list(connector.pages(""))
    assert fake.token_requests == 1

    clock[0] += 541
    list(connector.pages(""))
    assert fake.token_requests == 2


# --- broken orders and mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("defect", ["quantity", "created", "currency"])
def test_malformed_order_is_recorded_while_the_rest_come_through(
    fake: FakeAmazon, connect: Callable[..., Any], defect: str
) -> None:
    good = fake.add_orders(3)
    bad = fake.add_malformed_order(defect)
    more = fake.add_orders(2)

    orders = orders_of(list(connect().pages("")))

    failed = [o for o in orders if isinstance(o, FailedOrder)]
    assert [f.external_id for f in failed] == [bad]
    assert json.loads(failed[0].payload)["orderId"] == bad
    assert failed[0].reason.startswith("unreadable Amazon order")
    assert [o.external_id for o in orders if isinstance(o, ImportedOrder)] == good + more


def test_merchant_order_maps_every_field(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(
        cod=True,
        scheduled=True,
        discount=300,
        gift_message="お誕生日おめでとう",
        items=[("TEA-SEN-100", 2), ("HCR-YZU-50", 1)],
        place=ISHIGAKI,
    )
    raw = fake.order(order_id)
    address = raw["recipient"]["deliveryAddress"]

    order = only(fake, connect(), order_id)

    assert order.ordered_at == dt.datetime.fromisoformat(raw["createdTime"].replace("Z", "+00:00"))
    assert order.updated_at == dt.datetime.fromisoformat(raw["lastUpdatedTime"].replace("Z", "+00:00"))
    assert (order.mall_status, order.cancelled, order.order_comment) == ("UNSHIPPED", False, "")
    assert [(line.sku, line.name, line.unit_price, line.quantity, line.tax_rate) for line in order.lines] == [
        ("TEA-SEN-100", "静岡県産 深蒸し煎茶 100g", 1080, 2, 10),  # a unit price, not the total for two
        ("HCR-YZU-50", "柚子の香りのハンドクリーム 50g", 1320, 1, 10),
    ]
    assert [line.mall_line_id for line in order.lines] == [item["orderItemId"] for item in raw["orderItems"]]
    assert (order.shipping_fee, order.cod_fee, order.discount) == (POSTAGE, COD_FEE, 300)
    assert order.total == 2160 + 1320 + POSTAGE + COD_FEE - 300
    assert (order.payment_code, order.payment_name, PAYMENT_CODES[order.payment_code]) == ("COD", "代金引換", "cod")
    assert (order.orderer_name, order.orderer_email) == (raw["buyer"]["buyerName"], raw["buyer"]["buyerEmail"])
    assert order.dest_name == address["name"]
    assert " " in order.dest_name
    assert (order.dest_postal_code, order.dest_prefecture, order.dest_city) == ("907-0004", "沖縄県", "石垣市")
    assert order.dest_address1.startswith("登野城")
    assert order.dest_address1 == address["addressLine1"]
    assert order.dest_phone == address["phone"]
    assert order.delivery_name == "SCHEDULED"
    ordered_day = order.ordered_at.astimezone(JST).date()
    assert (order.requested_delivery_date, order.delivery_time_slot) == (
        ordered_day + dt.timedelta(days=3),
        "14時～16時",
    )
    assert "ギフトメッセージ: お誕生日おめでとう" in order.remarks


def test_pending_order_is_imported_without_buyer_data(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(status="PENDING")

    order = only(fake, connect(), order_id)

    assert order.mall_status == "PENDING"
    assert not order.cancelled
    assert (order.orderer_name, order.orderer_email, order.dest_name, order.dest_postal_code) == ("", "", "", "")
    assert order.lines
    assert order.total


def test_paid_pending_order_brings_its_address_on_the_next_poll(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(status="PENDING")
    cursor = list(connect().pages(""))[-1].cursor
    fake.set_status(order_id, "UNSHIPPED")

    again = [o for o in imported(list(connect().pages(cursor))) if o.external_id == order_id]

    assert again[-1].mall_status == "UNSHIPPED"
    assert again[-1].dest_postal_code == fake.order(order_id)["recipient"]["deliveryAddress"]["postalCode"]


def test_fba_order_is_imported_and_marked(fake: FakeAmazon, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(status="SHIPPED", fulfilled_by="AMAZON")

    order = only(fake, connect(), order_id)

    assert (order.order_comment, order.mall_status) == ("FBA", "SHIPPED")
    assert order.orderer_email == ""
    assert order.dest_phone == ""
    assert order.dest_name
    assert order.payment_code == "Other"


def test_morning_window_is_gozenchu_in_japan_time() -> None:
    raw = {
        "orderId": "503-0000000-0000001",
        "createdTime": "2026-12-01T03:00:00Z",
        "lastUpdatedTime": "2026-12-01T03:10:00Z",
        "fulfillment": {
            "fulfillmentStatus": "UNSHIPPED",
            "fulfilledBy": "MERCHANT",
            "fulfillmentServiceLevel": "SCHEDULED",
        },
        "orderItems": [
            {
                "orderItemId": "1",
                "quantityOrdered": 1,
                "product": {
                    "sellerSku": "S",
                    "title": "T",
                    "price": {"unitPrice": {"amount": "500", "currencyCode": "JPY"}},
                },
                "fulfillment": {
                    "shipping": {
                        "scheduledDeliveryWindow": {
                            "earliestDateTime": "2026-12-04T23:00:00Z",
                            "latestDateTime": "2026-12-05T03:00:00Z",
                        }
                    }
                },
            }
        ],
    }

    order = Orders20260101().to_imported(raw)

    assert (order.requested_delivery_date, order.delivery_time_slot) == (dt.date(2026, 12, 5), "午前中")


def test_payment_codes_map_onto_the_tenant_default_methods() -> None:
    tenant_codes = {code for _name, code, _confirm, _cod in DEFAULT_PAYMENT_METHODS}
    assert set(PAYMENT_CODES.values()) <= tenant_codes
    assert PAYMENT_CODES == {"COD": "cod", "Other": "credit_card"}
