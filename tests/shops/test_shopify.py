"""The Shopify connector against the fake store over real HTTP: Link-header paging, cursor, errors, mapping."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.fakemalls.shopify import PLACES, POSTAGE, FakeShopify
from orders.services import DEFAULT_PAYMENT_METHODS
from shops.connectors import REGISTRY
from shops.connectors.base import (
    AuthFailed,
    FailedOrder,
    ImportedOrder,
    MallError,
    MallUnavailable,
    Page,
)
from shops.connectors.shopify import (
    API_VERSION,
    JP_PREFECTURES,
    PAYMENT_CODES,
    ShopifyConnector,
    prefecture_name,
    shop_base_url,
)

TOKYO = next(p for p in PLACES if p.postal_code == "100-0005")
ISHIGAKI = next(p for p in PLACES if p.postal_code == "907-0004")
ORDERS_PATH = f"/admin/api/{API_VERSION}/orders.json"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    mall = FakeShopify(seed=20261202).start()
    yield mall
    mall.stop()


@pytest.fixture
def connect(fake: FakeShopify) -> Iterator[Callable[..., ShopifyConnector]]:
    """Connectors to the fake with a recorder instead of time.sleep (its list is `connector.slept`)."""
    made: list[ShopifyConnector] = []

    def make(credentials: dict[str, str] | None = None, **kwargs: Any) -> ShopifyConnector:
        slept: list[float] = []
        kwargs.setdefault("base_url", fake.url)
        connector = ShopifyConnector(
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


def names(fake: FakeShopify, ids: list[int]) -> list[str]:
    return [fake.order(i)["name"] for i in ids]


def listings(fake: FakeShopify) -> list[dict[str, str]]:
    return [r.query for r in fake.requests if r.path == ORDERS_PATH]


def only(connector: ShopifyConnector, name: str) -> ImportedOrder:
    found = [o for o in orders_of(list(connector.pages(""))) if o.external_id == name]
    assert len(found) == 1
    assert isinstance(found[0], ImportedOrder)
    return found[0]


# --- registry and paging ------------------------------------------------------------------------------------


def test_connector_is_registered_with_its_credentials() -> None:
    assert REGISTRY["shopify"] is ShopifyConnector
    assert ShopifyConnector.credential_fields == ("shop_domain", "access_token")
    assert ShopifyConnector.secret_fields == ("access_token",)


def test_full_paging_follows_the_link_header(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(260)
    connector = connect()

    pages = list(connector.pages(""))

    assert [len(p.orders) for p in pages] == [250, 10]
    assert [o.external_id for o in orders_of(pages)] == names(fake, ids)
    first, second = listings(fake)
    assert first["status"] == "any"
    assert first["order"] == "updated_at asc"
    assert first["limit"] == "250"
    assert "updated_at_min" in first
    assert set(second) == {"limit", "page_info"}  # Shopify refuses filters next to page_info
    assert all(r.headers["x-shopify-access-token"] == fake.access_token for r in fake.requests)
    assert json.loads(pages[0].cursor) == {
        "since": fake.order(ids[249])["updated_at"],
        "page_info": second["page_info"],
        "from": first["updated_at_min"],
    }
    assert json.loads(pages[-1].cursor) == {"since": fake.order(ids[-1])["updated_at"]}
    assert connector.slept == []


def test_a_poll_that_dies_mid_way_resumes_on_the_next_page(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(260)
    pages = connect().pages("")
    first = next(pages)
    fake.queue_server_error(times=4)
    with pytest.raises(MallUnavailable):
        next(pages)

    rest = list(connect().pages(first.cursor))

    assert [o.external_id for o in first.orders + orders_of(rest)] == names(fake, ids)
    assert set(listings(fake)[-1]) == {"limit", "page_info"}


def test_resume_from_the_cursor_brings_only_changed_and_new_orders(
    fake: FakeShopify, connect: Callable[..., Any]
) -> None:
    old = fake.add_orders(30)
    cursor = list(connect().pages(""))[-1].cursor
    fake.cancel(old[3])
    fake.fulfil(old[7])
    new = fake.add_orders(2)

    again = orders_of(list(connect().pages(cursor)))

    # The newest order of the last poll comes once more: updated_at_min is inclusive (a harmless upsert).
    assert [o.external_id for o in again] == names(fake, [old[-1], old[3], old[7], *new])
    cancelled, fulfilled = again[1], again[2]
    assert isinstance(cancelled, ImportedOrder)
    assert cancelled.cancelled
    assert cancelled.mall_status.split("/")[0] in ("refunded", "voided")
    assert isinstance(fulfilled, ImportedOrder)
    assert fulfilled.mall_status.endswith("/fulfilled")
    assert not fulfilled.cancelled


def test_rejected_page_info_starts_the_page_set_again(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(260)
    first = next(connect().pages(""))
    fake.invalidate_page_info()

    rest = list(connect().pages(first.cursor))

    assert {o.external_id for o in orders_of(rest)} == set(names(fake, ids))
    assert [len(p.orders) for p in rest] == [250, 10]
    first_listing, resumed, restarted = listings(fake)[:3]
    assert set(resumed) == {"limit", "page_info"}
    assert restarted["updated_at_min"] == first_listing["updated_at_min"]
    assert json.loads(rest[-1].cursor) == {"since": fake.order(ids[-1])["updated_at"]}


def test_first_poll_starts_a_week_back(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    fake.add_orders(3)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)

    pages = list(connect(now=lambda: later).pages(""))

    start = dt.datetime.fromisoformat(listings(fake)[0]["updated_at_min"])
    assert start == (later - dt.timedelta(days=7)).replace(microsecond=0)
    assert [p.orders for p in pages] == [[]]


def test_hand_set_start_time_is_accepted_as_a_cursor(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(4)
    since = fake.order(ids[2])["updated_at"]

    pages = list(connect().pages(since))

    assert [o.external_id for o in orders_of(pages)] == names(fake, ids[2:])


def test_unreadable_cursor_is_a_mall_error(connect: Callable[..., Any]) -> None:
    with pytest.raises(MallError, match="unreadable Shopify cursor"):
        list(connect().pages("{not json"))


# --- rate limits and errors -------------------------------------------------------------------------------------


def test_429_waits_for_retry_after(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    ids = fake.add_orders(5)
    fake.queue_rate_limit()
    connector = connect()

    pages = list(connector.pages(""))

    assert connector.slept == [2.0]
    assert [o.external_id for o in orders_of(pages)] == names(fake, ids)


def test_invalid_token_is_auth_failed_without_retrying(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    fake.add_orders(2)
    connector = connect(credentials={**fake.credentials, "access_token": "shpat_wrong"})

    with pytest.raises(AuthFailed, match="Invalid API key or access token"):
        list(connector.pages(""))

    assert len(fake.requests) == 1
    assert connector.slept == []


def test_revoked_token_is_auth_failed(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    fake.add_orders(2)
    credentials = fake.credentials
    fake.revoke_token()

    with pytest.raises(AuthFailed):
        list(connect(credentials=credentials).pages(""))


def test_missing_token_fails_before_any_request(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    with pytest.raises(AuthFailed, match="access token"):
        list(connect(credentials={**fake.credentials, "access_token": ""}).pages(""))
    assert fake.requests == []


def test_server_error_is_retried(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    fake.add_orders(3)
    fake.queue_server_error()
    connector = connect()

    assert len(orders_of(list(connector.pages("")))) == 3
    assert connector.slept == [1.0]


def test_server_errors_beyond_the_retries_are_mall_unavailable(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    fake.add_orders(3)
    fake.queue_server_error(times=4)
    connector = connect()

    with pytest.raises(MallUnavailable, match="500"):
        list(connector.pages(""))

    assert connector.slept == [1.0, 2.0, 4.0]


# --- broken orders and mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize("defect", ["quantity", "created", "price"])
def test_malformed_order_is_recorded_while_the_rest_come_through(
    fake: FakeShopify, connect: Callable[..., Any], defect: str
) -> None:
    good = fake.add_orders(3)
    bad = fake.add_malformed_order(defect)
    more = fake.add_orders(2)

    orders = orders_of(list(connect().pages("")))

    failed = [o for o in orders if isinstance(o, FailedOrder)]
    assert [f.external_id for f in failed] == names(fake, [bad])
    assert json.loads(failed[0].payload)["id"] == bad
    assert failed[0].reason.startswith("unreadable Shopify order")
    assert [o.external_id for o in orders if isinstance(o, ImportedOrder)] == names(fake, good + more)


def test_order_maps_every_field(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(
        items=[("TEA-SEN-100", 2), ("MUG-HSM-AI", 1)],
        gateways=["Cash on Delivery (COD)"],
        financial_status="pending",
        place=TOKYO,
        discount=500,
        company="株式会社テスト商事",
        note="不在の場合は宅配ボックスへ",
        note_attributes=[("配達希望日", "2026/12/10"), ("配達希望時間帯", "14時～16時"), ("ギフト包装", "希望する")],
    )
    raw = fake.order(order_id)
    shipping, billing = raw["shipping_address"], raw["billing_address"]

    order = only(connect(), raw["name"])

    assert order.external_id == raw["name"]
    assert order.external_id.startswith("#")
    assert order.ordered_at == dt.datetime.fromisoformat(raw["created_at"])
    assert order.updated_at == dt.datetime.fromisoformat(raw["updated_at"])
    assert (order.mall_status, order.cancelled) == ("pending/unfulfilled", False)
    assert [(li.sku, li.name, li.options, li.unit_price, li.quantity, li.tax_rate) for li in order.lines] == [
        ("TEA-SEN-100", "静岡県産 深蒸し煎茶", "100g", 1080, 2, 8),
        ("MUG-HSM-AI", "波佐見焼 マグカップ", "藍", 2420, 1, 10),
    ]
    assert [li.mall_line_id for li in order.lines] == [str(item["id"]) for item in raw["line_items"]]
    assert (order.shipping_fee, order.discount) == (POSTAGE, 500)
    assert order.total == 2160 + 2420 + POSTAGE - 500
    assert order.payment_code == "Cash on Delivery (COD)"
    assert PAYMENT_CODES[order.payment_code] == "cod"
    assert order.delivery_name == "ヤマト運輸 宅急便"
    assert order.dest_name == f"{shipping['last_name']} {shipping['first_name']}"  # family name first
    assert order.dest_company == "株式会社テスト商事"
    assert (order.dest_postal_code, order.dest_prefecture, order.dest_city) == ("100-0005", "東京都", "千代田区")
    assert shipping["province"] == "Tokyo"
    assert (order.dest_address1, order.dest_address2) == (shipping["address1"], shipping["address2"] or "")
    assert order.dest_phone == shipping["phone"]
    assert order.orderer_name == f"{billing['last_name']} {billing['first_name']}"
    assert (order.orderer_email, order.orderer_postal_code) == (raw["email"], billing["zip"])
    assert (order.requested_delivery_date, order.delivery_time_slot) == (dt.date(2026, 12, 10), "14時～16時")
    assert order.remarks == "不在の場合は宅配ボックスへ\nギフト包装: 希望する"


def test_japanese_locale_province_maps_to_the_same_prefecture(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(place=ISHIGAKI, japanese_province=True)
    raw = fake.order(order_id)

    order = only(connect(), raw["name"])

    assert raw["shipping_address"]["province"] == "沖縄県"
    assert (order.dest_prefecture, order.dest_city) == ("沖縄県", "石垣市")


def test_gift_card_gives_way_to_the_other_gateway(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(gateways=["gift_card", "shopify_payments"])

    order = only(connect(), fake.order(order_id)["name"])

    assert order.payment_code == "shopify_payments"
    assert PAYMENT_CODES[order.payment_code] == "credit_card"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-10", dt.date(2026, 12, 10)),
        ("2026年12月10日(木)", dt.date(2026, 12, 10)),
        ("２０２６／１２／１０", dt.date(2026, 12, 10)),
        ("なるべく早く", None),
    ],
)
def test_delivery_date_attribute_formats(
    fake: FakeShopify, connect: Callable[..., Any], value: str, expected: dt.date | None
) -> None:
    raw = fake.order(fake.add_order(note_attributes=[("お届け希望日", value)]))

    order = connect().to_imported(raw)

    assert isinstance(order, ImportedOrder)
    assert order.requested_delivery_date == expected
    assert (f"お届け希望日: {value}" in order.remarks) is (expected is None)  # unread text is kept, not lost


def test_cancelled_order(fake: FakeShopify, connect: Callable[..., Any]) -> None:
    order_id = fake.add_order(gateways=["shopify_payments"], financial_status="paid")
    fake.cancel(order_id)

    order = only(connect(), fake.order(order_id)["name"])

    assert order.cancelled
    assert order.mall_status == "refunded/unfulfilled"


@pytest.mark.parametrize(
    ("code", "province", "expected"),
    [
        ("JP-13", "Tokyo", "東京都"),
        ("JP-01", "Hokkaidō", "北海道"),
        ("jp-47", "", "沖縄県"),
        (None, "Tōkyō", "東京都"),
        ("", "Kyoto", "京都府"),
        ("", "Osaka-fu", "大阪府"),
        ("", "Aichi Prefecture", "愛知県"),
        ("", "Hokkaido", "北海道"),
        ("", "兵庫県", "兵庫県"),
        ("", "Atlantis", "Atlantis"),
    ],
)
def test_prefecture_name(code: str | None, province: str, expected: str) -> None:
    assert prefecture_name(code, province) == expected


def test_prefecture_table_has_the_47_iso_codes() -> None:
    assert [code for code, _kanji, _romaji in JP_PREFECTURES] == [f"JP-{n:02d}" for n in range(1, 48)]
    assert len({kanji for _code, kanji, _romaji in JP_PREFECTURES}) == 47
    assert all(kanji[-1] in "都道府県" for _code, kanji, _romaji in JP_PREFECTURES)


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("backyard-demo", "https://backyard-demo.myshopify.com"),
        ("backyard-demo.myshopify.com", "https://backyard-demo.myshopify.com"),
        ("https://backyard-demo.myshopify.com/admin", "https://backyard-demo.myshopify.com"),
    ],
)
def test_shop_domain_as_typed_becomes_the_api_host(typed: str, url: str) -> None:
    assert shop_base_url(typed) == url
    assert ShopifyConnector({"shop_domain": typed, "access_token": "x"}).orders_url == (
        f"{url}/admin/api/{API_VERSION}/orders.json"
    )


def test_payment_codes_map_onto_the_tenant_default_methods() -> None:
    tenant_codes = {code for _name, code, _confirm, _cod in DEFAULT_PAYMENT_METHODS}
    assert set(PAYMENT_CODES.values()) <= tenant_codes
    assert PAYMENT_CODES["shopify_payments"] == "credit_card"
    assert PAYMENT_CODES["Cash on Delivery (COD)"] == "cod"
    assert PAYMENT_CODES["Bank Deposit"] == "bank_transfer"
