"""A fake Shopify store speaking the Admin REST API's Order resource over real HTTP, for the connector tests
and for the demo mall `make run` starts.

What it does as Shopify does (FORMATS.md and shopify.dev's REST reference):
- `GET /admin/api/{version}/orders.json` with `X-Shopify-Access-Token`, checked exactly; a wrong or missing
  token is 401 `{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}`.
  Filters: status (open by default, closed, cancelled, any), updated_at_min/max and created_at_min/max
  (ISO 8601, inclusive), order ("updated_at asc", "created_at desc" …; created_at desc by default), limit
  (1–250, default 50) and fields.
- Cursor pagination: when more orders match, the answer carries a `Link` header with rel="next" (and
  rel="previous" after the first page) whose URL has `page_info`, an opaque token that holds the filters
  and the last row's sort key, like Shopify's. A request with page_info may only add limit and fields:
  anything else is 400 `{"errors": {"page_info": "Invalid value."}}`, as Shopify answers.
- `GET /admin/api/{version}/orders/{id}.json` → `{"order": …}`.
- Orders in the REST shape of a Japanese shop: name "#1001", times with +09:00, JPY amounts as strings,
  taxes included, billing/shipping addresses with province ("Tokyo", or "東京都" for a shop whose customer
  locale is Japanese) and province_code "JP-13", line items with variant_title and 消費税 tax_lines
  (8 % food, 10 % others), shipping_lines, discount codes, payment_gateway_names, note and note_attributes
  from a delivery-date app (配達希望日, 配達希望時間帯).
- Successful answers carry `X-Shopify-Shop-Api-Call-Limit`.
- Fulfillment with tracking (B12): `orders.json?name=#1001` finds an order by its name;
  `GET /admin/api/{version}/orders/{id}/fulfillment_orders.json` lists the order's one fulfillment order (open
  until fulfilled, closed after, cancelled with the order); `POST /admin/api/{version}/fulfillments.json` takes
  `{"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id"}], "tracking_info": {"number",
  "company"}, "notify_customer"}}` and checks it as Shopify does: the fulfillment orders exist, belong to one
  order and are still open, the tracking number is given; anything else is 422 `{"errors": [...]}`. A good one
  is 201 `{"fulfillment": …}`; the order becomes fulfilled. What the store was told is kept in `fulfillments`,
  logged, and served (without a token: the fake's own page, for the demo) at `GET /_fake/fulfillments.json`.

Switches, each for the NEXT request(s): `queue_rate_limit` (429 with "Retry-After: 2.0", Shopify's REST
leaky bucket), `queue_server_error` (500), `queue_auth_error` (401); `refuse_next_fulfillment` (the next
fulfillment POST is 422 with the given errors). `revoke_token` refuses the token from
now on (the app was uninstalled), `invalidate_page_info` refuses the page_info tokens handed out so far.
`add_orders`/`add_order` generate orders; `add_malformed_order` stores one the connector cannot read;
`cancel` and `fulfil` change one and stamp updated_at, which only moves forward, a second at least per
change. `produce` adds orders every so often until `stop`, for the demo.

The demo (`--adopt-below 50001`, `adopt_below`): the demo seed's Shopify orders (#1001 …) were "in the store" before
the fake started; asked for by name (a fulfillment), such an order is taken into the store, unlisted (polls do
not see it), with lines of the fake's catalogue, so the demo's store is told of every fulfillment. A number at
or above it that the store lacks is unknown as usual.

Run it alone: `python -m devtools.fakemalls.shopify --port 8804 --every 60`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import logging
import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from faker import Faker

from .base import (
    JST,
    RAW_NUMBER,
    FakeMallServer,
    MallRequestHandler,
    demo_arguments,
    parse_time,
    query_values,
    within,
)

logger = logging.getLogger(__name__)
ORDERS_PATH = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/orders\.json")
ORDER_PATH = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/orders/(\d+)\.json")
FULFILLMENT_ORDERS_PATH = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/orders/(\d+)/fulfillment_orders\.json")
FULFILLMENTS_PATH = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/fulfillments\.json")
TOLD_PATH = "/_fake/fulfillments.json"
FULFILLMENT_ORDER_OFFSET = 3  # a fulfillment order's id: its order's id + this (ids stay unique across orders)
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
SORTABLE = frozenset({"created_at", "updated_at", "processed_at", "id"})
DEMO_SHOP = "backyard-demo.myshopify.com"
DEMO_ACCESS_TOKEN = "shpat_0b4c4y4rd0d3m0000000000000000000"  # noqa: S105 - opens nothing but this fake
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
POSTAGE = 880
FREE_SHIPPING_FROM = 5000


@dataclass(frozen=True)
class Place:
    postal_code: str
    province_code: str
    prefecture: str
    province: str  # as Shopify names it in English
    city: str
    town: str


PLACES: tuple[Place, ...] = (
    Place("100-0005", "JP-13", "東京都", "Tokyo", "千代田区", "丸の内"),
    Place("150-0002", "JP-13", "東京都", "Tokyo", "渋谷区", "渋谷"),
    Place("530-0001", "JP-27", "大阪府", "Osaka", "大阪市北区", "梅田"),
    Place("060-0001", "JP-01", "北海道", "Hokkaido", "札幌市中央区", "北一条西"),
    Place("220-0012", "JP-14", "神奈川県", "Kanagawa", "横浜市西区", "みなとみらい"),
    Place("460-0008", "JP-23", "愛知県", "Aichi", "名古屋市中区", "栄"),
    Place("900-0001", "JP-47", "沖縄県", "Okinawa", "那覇市", "港町"),
    Place("907-0004", "JP-47", "沖縄県", "Okinawa", "石垣市", "登野城"),
)
BUILDINGS = ("", "", "", "メゾン青山 201", "パークハウス 1203", "第二丸の内ビル 7F")


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    variant: str  # variant_title, "" for a product without options
    price: int  # yen, tax included
    tax_rate: float
    grams: int


CATALOGUE: tuple[Product, ...] = (
    Product("TEA-SEN-100", "静岡県産 深蒸し煎茶", "100g", 1080, 0.08, 120),
    Product("GRN-GRA-300", "国産フルーツグラノーラ", "300g", 1296, 0.08, 330),
    Product("TSH-ORG-BM", "オーガニックコットン Tシャツ", "ブラック / M", 3980, 0.1, 200),
    Product("TSH-ORG-WL", "オーガニックコットン Tシャツ", "ホワイト / L", 3980, 0.1, 210),
    Product("MUG-HSM-AI", "波佐見焼 マグカップ", "藍", 2420, 0.1, 350),
    Product("TWL-IMB-2P", "今治タオル フェイスタオル 2枚組", "", 2200, 0.1, 260),
)
# (payment_gateway_names, financial_status when placed, weight)
GATEWAYS: tuple[tuple[tuple[str, ...], str, int], ...] = (
    (("shopify_payments",), "paid", 60),
    (("Cash on Delivery (COD)",), "pending", 12),
    (("銀行振込",), "pending", 8),
    (("paypal",), "paid", 10),
    (("gift_card", "shopify_payments"), "paid", 5),
    (("コンビニ決済",), "pending", 5),
)
SLOTS = ("午前中", "14時～16時", "16時～18時", "18時～20時", "19時～21時")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]
    body: str = ""


@dataclass
class _Record:
    id: int
    created: dt.datetime  # the fake's own truth, also for an order whose JSON is broken on purpose
    updated: dt.datetime
    payload: dict[str, Any]
    listed: bool = True  # False: an adopted order (see FakeShopify.adopt_below), found by its name only


class _Handler(MallRequestHandler):
    mall: FakeShopify
    server_version = "FakeShopify/1.0"
    json_content_type = "application/json; charset=utf-8"

    def do_GET(self) -> None:
        self.read_body()  # the Admin API's GETs carry none; a stray one must not be read as the next request
        self.send_json(*self.mall.handle("GET", self.path, self.lowered_headers()))

    def do_POST(self) -> None:
        body = self.read_body()
        self.send_json(*self.mall.handle("POST", self.path, self.lowered_headers(), body))


class FakeShopify(FakeMallServer):
    """An in-memory Shopify store behind a local HTTP server."""

    handler_class = _Handler
    thread_name = "fake-shopify"

    def __init__(
        self,
        *,
        shop_domain: str = DEMO_SHOP,
        access_token: str = DEMO_ACCESS_TOKEN,
        first_number: int = 1001,
        seed: int | None = None,
        host: str = "127.0.0.1",
        adopt_below: int | None = None,
    ) -> None:
        super().__init__(host=host)
        # The demo: orders numbered below this (the demo seed's #1001 …, which the store "had" before the fake
        # started) are taken into the store when asked for by name, unlisted, so they can be fulfilled.
        self.adopt_below = adopt_below
        self.shop_domain = shop_domain
        self.access_token = access_token
        self.requests: list[RecordedRequest] = []
        self._rng = random.Random(seed)
        self._faker = Faker("ja_JP")
        self._faker.seed_instance(seed)
        self._orders: dict[int, _Record] = {}
        self._next_number = first_number
        self._next_id = 5_800_000_000_000 + self._rng.randint(0, 10**9)
        self._page_info_generation = 0
        self._last_change = dt.datetime(2000, 1, 1, tzinfo=JST)
        self.fulfillments: list[dict[str, Any]] = []  # what the store was told, oldest first
        self._refusals: list[list[str]] = []
        self._next_fulfillment_id = 4_900_000_000_000

    @property
    def credentials(self) -> dict[str, str]:
        """What the shop's admin would enter: the connector's credential_fields."""
        return {"shop_domain": self.shop_domain, "access_token": self.access_token}

    # --- switches -------------------------------------------------------------------------------------------

    def queue_rate_limit(self, times: int = 1, retry_after: str = "2.0") -> None:
        """The next `times` requests answer 429 with Retry-After (Shopify sends "2.0")."""
        body = {
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
            "uninterrupted service."
        }
        self._queue(times, 429, body, {"Retry-After": retry_after})

    def queue_server_error(self, times: int = 1) -> None:
        self._queue(times, 500, {"errors": "Internal Server Error"}, {})

    def queue_auth_error(self, times: int = 1) -> None:
        self._queue(times, 401, {"errors": INVALID_TOKEN}, {})

    def refuse_next_fulfillment(self, *errors: str) -> None:
        """The next fulfillment POST answers 422 with these errors (Shopify's words for a refusal)."""
        with self._lock:
            self._refusals.append(list(errors) or ["Tracking number is invalid"])

    def revoke_token(self) -> None:
        """The app was uninstalled: its token is refused from now on."""
        with self._lock:
            self.access_token = f"shpat_{secrets.token_hex(16)}"

    def invalidate_page_info(self) -> None:
        """page_info tokens handed out so far are refused with Shopify's 400."""
        with self._lock:
            self._page_info_generation += 1

    # --- orders ---------------------------------------------------------------------------------------------

    def add_orders(self, n: int) -> list[int]:
        """n realistic orders, placed one second apart up to now. Returns their ids, oldest first."""
        with self._lock:
            start = _second(_now()) - dt.timedelta(seconds=n - 1)
            return [self._add(self._build(self._change_time(start + dt.timedelta(seconds=i)))) for i in range(n)]

    def add_order(
        self,
        *,
        items: Sequence[tuple[str, int]] | None = None,
        gateways: Sequence[str] | None = None,
        financial_status: str | None = None,
        place: Place | None = None,
        japanese_province: bool = False,
        discount: int = 0,
        note: str = "",
        note_attributes: Sequence[tuple[str, str]] = (),
        company: str = "",
    ) -> int:
        """One order as described (items as (sku, quantity) from CATALOGUE). Returns its id."""
        with self._lock:
            return self._add(
                self._build(
                    self._change_time(_now()),
                    items=items,
                    gateways=gateways,
                    financial_status=financial_status,
                    place=place,
                    japanese_province=japanese_province,
                    discount=discount,
                    note=note,
                    note_attributes=note_attributes,
                    company=company,
                )
            )

    def add_malformed_order(self, defect: str = "quantity") -> int:
        """An order the connector cannot read: defect "quantity" (a line's quantity is text), "created"
        (created_at is not a time) or "price" (a price with a yen sign and commas); or one the connector reads
        but whose amount no order can hold: "huge_shipping" (a shipping price of "1e30"), "huge_price" (a
        line price of 23 digits), "huge_rate" (a tax rate of "1e999999999"), "infinite_rate" (a tax rate
        of Infinity), "endless_price" (a line price as a bare number of 5,000 digits, more than Python converts
        to an int). Returns its id."""
        with self._lock:
            payload = self._build(self._change_time(_now()))
            if defect == "quantity":
                payload["line_items"][0]["quantity"] = "two"
            elif defect == "created":
                payload["created_at"] = "yesterday"
            elif defect == "price":
                payload["line_items"][0]["price"] = "¥1,080"
            elif defect == "huge_shipping":
                payload["shipping_lines"][0]["price"] = "1e30"
            elif defect == "huge_price":
                payload["line_items"][0]["price"] = "12345678901234567890123"
            elif defect == "huge_rate":
                payload["line_items"][0]["tax_lines"][0]["rate"] = "1e999999999"
            elif defect == "infinite_rate":
                payload["line_items"][0]["tax_lines"][0]["rate"] = float("inf")  # sent as JSON's Infinity
            elif defect == "endless_price":  # a bare JSON number of 5,000 digits
                payload["line_items"][0]["price"] = RAW_NUMBER + "9" * 5000
            else:
                raise ValueError(f"unknown defect {defect}")
            return self._add(payload)

    def cancel(self, order_id: int, reason: str = "customer") -> None:
        with self._lock:
            record = self._orders[order_id]
            moment = self._touch(record)
            order = record.payload
            order["cancelled_at"] = order["closed_at"] = _wire(moment)
            order["cancel_reason"] = reason
            order["financial_status"] = "refunded" if order["financial_status"] == "paid" else "voided"

    def fulfil(self, order_id: int) -> None:
        with self._lock:
            record = self._orders[order_id]
            self._touch(record)
            record.payload["fulfillment_status"] = "fulfilled"
            for line in record.payload["line_items"]:
                line["fulfillment_status"] = "fulfilled"
                line["fulfillable_quantity"] = 0

    def order(self, order_id: int) -> dict[str, Any]:
        """The stored order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._orders[order_id].payload)

    def ids(self) -> list[int]:
        with self._lock:
            return [r.id for r in sorted(self._orders.values(), key=lambda r: (r.updated, r.id))]

    def _add(self, payload: dict[str, Any]) -> int:
        record = _Record(
            id=payload["id"],
            created=dt.datetime.fromisoformat(payload.pop("_created")),
            updated=dt.datetime.fromisoformat(payload["updated_at"]),
            payload=payload,
        )
        self._orders[record.id] = record
        return record.id

    def _touch(self, record: _Record) -> dt.datetime:
        record.updated = self._change_time(_now())
        record.payload["updated_at"] = _wire(record.updated)
        return record.updated

    def _change_time(self, wanted: dt.datetime) -> dt.datetime:
        """`wanted`, or one second after the last change: change times only move forward."""
        moment = max(_second(wanted), self._last_change + dt.timedelta(seconds=1))
        self._last_change = moment
        return moment

    def _build(
        self,
        created: dt.datetime,
        *,
        items: Sequence[tuple[str, int]] | None = None,
        gateways: Sequence[str] | None = None,
        financial_status: str | None = None,
        place: Place | None = None,
        japanese_province: bool | None = None,
        discount: int | None = None,
        note: str | None = None,
        note_attributes: Sequence[tuple[str, str]] | None = None,
        company: str | None = None,
    ) -> dict[str, Any]:
        rng = self._rng
        order_id, number = self._next_id, self._next_number
        self._next_id += rng.randint(1000, 90000)
        self._next_number += 1
        if gateways is None:
            names, status, _weight = rng.choices(GATEWAYS, [w for _n, _s, w in GATEWAYS])[0]
            gateways, financial_status = list(names), financial_status or status
        financial_status = financial_status or "paid"
        by_sku = {p.sku: p for p in CATALOGUE}
        chosen = (
            [(by_sku[sku], qty) for sku, qty in items]
            if items
            else [(p, rng.choice((1, 1, 2))) for p in rng.sample(CATALOGUE, rng.choice((1, 1, 2, 3)))]
        )
        discount = (500 if rng.random() < 0.15 else 0) if discount is None else discount
        if note is None:
            note = rng.choice(("", "", "", "不在の場合は宅配ボックスへお願いします。", "ギフト包装をお願いします。"))
        if note_attributes is None:
            note_attributes = []
            if rng.random() < 0.3:
                day = created.astimezone(JST).date() + dt.timedelta(days=rng.randint(3, 7))
                note_attributes = [("配達希望日", day.strftime("%Y/%m/%d")), ("配達希望時間帯", rng.choice(SLOTS))]
        if japanese_province is None:
            japanese_province = rng.random() < 0.3
        place = place or rng.choice(PLACES)
        customer_id = 7_100_000_000_000 + rng.randint(0, 10**9)
        email = f"{self._faker.first_romanized_name().lower()}.{rng.randint(10, 999)}@example.jp"
        person = {"last_name": self._faker.last_name(), "first_name": self._faker.first_name()}
        phone = f"0{rng.choice((70, 80, 90))}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        address = _address(
            person, place, rng, phone=phone, japanese_province=japanese_province, company=company or None
        )

        lines: list[dict[str, Any]] = []
        item_total = line_tax = 0
        for position, (product, quantity) in enumerate(chosen):
            amount = product.price * quantity
            item_total += amount
            tax = int(amount * product.tax_rate / (1 + product.tax_rate))
            line_tax += tax
            first_discounted = bool(discount) and position == 0
            allocation = [{"amount": str(discount), "discount_application_index": 0}] if first_discounted else []
            lines.append(
                {
                    "id": order_id * 10 + position + 1,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{order_id * 10 + position + 1}",
                    "variant_id": 44_000_000_000_000 + rng.randint(0, 10**9),
                    "product_id": 8_000_000_000_000 + rng.randint(0, 10**9),
                    "title": product.title,
                    "variant_title": product.variant or None,
                    "name": f"{product.title} - {product.variant}" if product.variant else product.title,
                    "sku": product.sku,
                    "vendor": "Backyard Demo",
                    "quantity": quantity,
                    "current_quantity": quantity,
                    "fulfillable_quantity": quantity,
                    "fulfillment_status": None,
                    "requires_shipping": True,
                    "taxable": True,
                    "gift_card": False,
                    "grams": product.grams,
                    "price": str(product.price),
                    "price_set": _money_set(product.price),
                    "total_discount": "0",
                    "discount_allocations": allocation,
                    "properties": [],
                    "tax_lines": [
                        {"title": "消費税", "price": str(tax), "rate": product.tax_rate, "price_set": _money_set(tax)}
                    ],
                }
            )
        postage = 0 if item_total >= FREE_SHIPPING_FROM else POSTAGE
        shipping_tax = int(postage * 0.1 / 1.1)
        total = item_total + postage - discount
        total_tax = line_tax + shipping_tax
        return {
            "_created": created.isoformat(),
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "order_number": number,
            "number": number - 1000,
            "confirmation_number": secrets.token_hex(5).upper()[:9],
            "email": email,
            "contact_email": email,
            "phone": None,
            "created_at": _wire(created),
            "updated_at": _wire(created),
            "processed_at": _wire(created),
            "cancelled_at": None,
            "cancel_reason": None,
            "closed_at": None,
            "confirmed": True,
            "test": False,
            "currency": "JPY",
            "presentment_currency": "JPY",
            "customer_locale": "ja" if japanese_province else "en",
            "source_name": "web",
            "financial_status": financial_status,
            "fulfillment_status": None,
            "taxes_included": True,
            "tax_exempt": False,
            "note": note or None,
            "note_attributes": [{"name": name, "value": value} for name, value in note_attributes],
            "tags": "",
            "payment_gateway_names": list(gateways),
            "subtotal_price": str(item_total - discount),
            "total_line_items_price": str(item_total),
            "total_discounts": str(discount),
            "total_tax": str(total_tax),
            "total_price": str(total),
            "total_price_set": _money_set(total),
            "total_weight": sum(p.grams * q for p, q in chosen),
            "discount_codes": [{"code": "WELCOME500", "amount": str(discount), "type": "fixed_amount"}]
            if discount
            else [],
            "tax_lines": [
                {"title": "消費税", "price": str(total_tax), "rate": 0.1, "price_set": _money_set(total_tax)}
            ],
            "customer": {
                "id": customer_id,
                "email": email,
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "phone": None,
                "currency": "JPY",
                "default_address": {**address, "id": customer_id + 1, "customer_id": customer_id, "default": True},
            },
            "billing_address": address,
            "shipping_address": {**address, "latitude": None, "longitude": None},
            "line_items": lines,
            "shipping_lines": [
                {
                    "id": order_id + 7,
                    "title": "ヤマト運輸 宅急便",
                    "code": "standard",
                    "source": "shopify",
                    "price": str(postage),
                    "discounted_price": str(postage),
                    "price_set": _money_set(postage),
                    "tax_lines": [
                        {
                            "title": "消費税",
                            "price": str(shipping_tax),
                            "rate": 0.1,
                            "price_set": _money_set(shipping_tax),
                        }
                    ],
                }
            ],
            "refunds": [],
            "fulfillments": [],
        }

    # --- HTTP -----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes = b""
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        query = query_values(parts.query)
        with self._lock:
            if method == "GET" and parts.path == TOLD_PATH:  # the fake's own page: not the API, not recorded
                return 200, {"fulfillments": copy.deepcopy(self.fulfillments)}, {}
            self.requests.append(RecordedRequest(method, parts.path, query, headers, raw.decode("utf-8", "replace")))
            if (canned := self._next_canned()) is not None:
                return canned.status, canned.body, canned.headers
            if headers.get("x-shopify-access-token") != self.access_token:
                return 401, {"errors": INVALID_TOKEN}, {}
            call_limit = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
            if method == "GET" and (match := ORDERS_PATH.fullmatch(parts.path)):
                status, body, extra = self._list(match.group(1), query)
                return status, body, {**call_limit, **extra}
            if method == "GET" and (match := ORDER_PATH.fullmatch(parts.path)):
                record = self._orders.get(int(match.group(2)))
                if record is None:
                    return 404, {"errors": "Not Found"}, {}
                return 200, {"order": _fields(record.payload, query.get("fields"))}, call_limit
            if method == "GET" and (match := FULFILLMENT_ORDERS_PATH.fullmatch(parts.path)):
                record = self._orders.get(int(match.group(2)))
                if record is None:
                    return 404, {"errors": "Not Found"}, {}
                return 200, {"fulfillment_orders": [_fulfillment_order(record.payload)]}, call_limit
            if method == "POST" and FULFILLMENTS_PATH.fullmatch(parts.path):
                if not headers.get("content-type", "").startswith("application/json"):
                    return 415, {"errors": "Unsupported Media Type"}, {}
                status, body = self._fulfil(raw)
                return status, body, call_limit
            return 404, {"errors": "Not Found"}, {}

    def _fulfil(self, raw: bytes) -> tuple[int, Any]:
        """POST fulfillments.json, checked as Shopify checks it (the lock is held)."""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, {"errors": {"fulfillment": "Required parameter missing or invalid"}}
        fulfillment = body.get("fulfillment") if isinstance(body, dict) else None
        if not isinstance(fulfillment, dict):
            return 400, {"errors": {"fulfillment": "Required parameter missing or invalid"}}
        if self._refusals:
            return 422, {"errors": self._refusals.pop(0)}
        groups = fulfillment.get("line_items_by_fulfillment_order")
        if not isinstance(groups, list) or not groups:
            return 422, {"errors": ["line_items_by_fulfillment_order must be given"]}
        by_fo = {record.id + FULFILLMENT_ORDER_OFFSET: record for record in self._orders.values()}
        records = []
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
            record = by_fo.get(fo_id) if isinstance(fo_id, int) else None
            if record is None:
                return 404, {"errors": "Not Found"}
            status = _fulfillment_order(record.payload)["status"]
            if status != "open":
                return 422, {"errors": [f"Fulfillment order {fo_id} has an unfulfillable status= {status}."]}
            records.append(record)
        if len({record.id for record in records}) != 1:
            return 422, {"errors": ["All fulfillment orders must belong to the same order."]}
        tracking = fulfillment.get("tracking_info")
        if tracking is not None and not isinstance(tracking, dict):
            return 422, {"errors": ["tracking_info is invalid"]}
        number = (tracking or {}).get("number")
        if not isinstance(number, str) or not number.strip():
            return 422, {"errors": ["Tracking number can't be blank"]}
        company = (tracking or {}).get("company") or "Other"
        record = records[0]
        self._next_fulfillment_id += 1
        moment = self._touch(record)
        created = {
            "id": self._next_fulfillment_id,
            "order_id": record.id,
            "name": f"{record.payload['name']}.{len(record.payload['fulfillments']) + 1}",
            "status": "success",
            "created_at": _wire(moment),
            "updated_at": _wire(moment),
            "tracking_company": company,
            "tracking_number": number,
            "tracking_numbers": [number],
            "notify_customer": bool(fulfillment.get("notify_customer")),
            "line_items": copy.deepcopy(record.payload["line_items"]),
        }
        record.payload["fulfillments"].append(created)
        record.payload["fulfillment_status"] = "fulfilled"
        for line in record.payload["line_items"]:
            line["fulfillment_status"] = "fulfilled"
            line["fulfillable_quantity"] = 0
        self.fulfillments.append(
            {"order": record.payload["name"], "order_id": record.id, "company": company, "number": number,
             "notify_customer": created["notify_customer"], "at": created["created_at"]}
        )  # fmt: skip
        logger.info("fake Shopify: %s fulfilled, %s %s", record.payload["name"], company, number)
        return 201, {"fulfillment": created}

    def _list(self, version: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            limit = int(query.get("limit") or DEFAULT_LIMIT)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return 400, {"errors": {"limit": "Invalid value."}}, {}
        if "page_info" in query:
            state = self._read_page_info(query["page_info"])
            if state is None or set(query) - PAGE_INFO_COMPANIONS:
                return 400, {"errors": {"page_info": "Invalid value."}}, {}
            filters, direction, key = state["filters"], state["direction"], state["key"]
        else:
            filters = {k: v for k, v in query.items() if k not in PAGE_INFO_COMPANIONS}
            direction, key = "next", None
        try:
            rows = self._matching(filters)
        except ValueError as error:
            return 400, {"errors": {str(error): "Invalid value."}}, {}
        field, descending = _sort(filters.get("order"))
        keys = [_sort_key(record, field) for record in rows]
        if direction == "next":
            start = 0 if key is None else next((i for i, k in enumerate(keys) if _after(k, key, descending)), len(rows))
            page = rows[start : start + limit]
        else:
            end = next((i for i, k in enumerate(keys) if not _after(key, k, descending)), len(rows))
            start = max(end - limit, 0)
            page = rows[start:end]
        links = []
        base = f"https://{self.shop_domain}/admin/api/{version}/orders.json"
        if page and start > 0:
            links.append(self._link(base, limit, filters, "prev", _sort_key(page[0], field), "previous"))
        if page and start + len(page) < len(rows):
            links.append(self._link(base, limit, filters, "next", _sort_key(page[-1], field), "next"))
        body = {"orders": [_fields(record.payload, query.get("fields")) for record in page]}
        return 200, body, ({"Link": ", ".join(links)} if links else {})

    def _adopt(self, name: str) -> None:
        """The demo's earlier order `name` (#1001 …, below adopt_below), taken into the store unlisted, with
        lines of the fake's catalogue, unless the store has it already (the lock is held)."""
        number = name.lstrip("#")
        if self.adopt_below is None or not number.isdigit() or int(number) >= self.adopt_below:
            return
        if any(record.payload.get("name") == f"#{number}" for record in self._orders.values()):
            return
        keep = self._next_number
        self._next_number = int(number)
        try:
            payload = self._build(_second(_now()) - dt.timedelta(days=1))
        finally:
            self._next_number = keep
        record_id = self._add(payload)
        self._orders[record_id].listed = False
        logger.info("fake Shopify: adopted the demo's order %s", payload["name"])

    def _matching(self, filters: dict[str, str]) -> list[_Record]:
        if filters.get("name"):
            self._adopt(filters["name"])
        status = filters.get("status") or "open"
        if status not in ("open", "closed", "cancelled", "any"):
            raise ValueError("status")
        bounds = {}
        for name in ("created_at_min", "created_at_max", "updated_at_min", "updated_at_max"):
            if filters.get(name):
                try:
                    bounds[name] = parse_time(filters[name], JST)
                except ValueError:
                    raise ValueError(name) from None
        field, descending = _sort(filters.get("order"))
        rows = []
        for record in self._orders.values():
            order = record.payload
            if status == "open" and (order.get("closed_at") or order.get("cancelled_at")):
                continue
            if status == "closed" and not order.get("closed_at"):
                continue
            if status == "cancelled" and not order.get("cancelled_at"):
                continue
            if filters.get("name") and order.get("name") not in (filters["name"], "#" + filters["name"].lstrip("#")):
                continue
            if not record.listed and not filters.get("name"):
                continue
            if not within(record.created, bounds.get("created_at_min"), bounds.get("created_at_max")):
                continue
            if not within(record.updated, bounds.get("updated_at_min"), bounds.get("updated_at_max")):
                continue
            rows.append(record)
        rows.sort(key=lambda r: _sort_key(r, field), reverse=descending)
        return rows

    def _link(self, base: str, limit: int, filters: dict[str, str], direction: str, key: list[Any], rel: str) -> str:
        state = {"filters": filters, "direction": direction, "key": key, "generation": self._page_info_generation}
        token = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")
        # The fake's own address, so a client that follows the link as given reaches it.
        url = base.replace(f"https://{self.shop_domain}", self.url)
        return f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="{rel}"'

    def _read_page_info(self, token: str) -> dict[str, Any] | None:
        try:
            state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            return None
        if not isinstance(state, dict) or state.get("generation") != self._page_info_generation:
            return None
        if state.get("direction") not in ("next", "prev") or not isinstance(state.get("filters"), dict):
            return None
        return state


def _fulfillment_order(order: dict[str, Any]) -> dict[str, Any]:
    """The order's one fulfillment order (one location): open until fulfilled, closed after; cancelled with it."""
    if order.get("cancelled_at"):
        status = "cancelled"
    elif order.get("fulfillment_status") == "fulfilled":
        status = "closed"
    else:
        status = "open"
    return {
        "id": order["id"] + FULFILLMENT_ORDER_OFFSET,
        "order_id": order["id"],
        "assigned_location_id": 71_000_000_001,
        "status": status,
        "request_status": "unsubmitted",
        "supported_actions": ["create_fulfillment"] if status == "open" else [],
        "line_items": [
            {
                "id": line["id"] + FULFILLMENT_ORDER_OFFSET,
                "fulfillment_order_id": order["id"] + FULFILLMENT_ORDER_OFFSET,
                "line_item_id": line["id"],
                "quantity": line["quantity"],
                "fulfillable_quantity": line["fulfillable_quantity"] if status == "open" else 0,
            }
            for line in order["line_items"]
        ],
    }


def _address(
    person: dict[str, str],
    place: Place,
    rng: random.Random,
    *,
    phone: str,
    japanese_province: bool,
    company: str | None,
) -> dict[str, Any]:
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "name": f"{person['first_name']} {person['last_name']}",  # Shopify writes given name first
        "company": company,
        "address1": f"{place.town}{rng.randint(1, 4)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}",
        "address2": rng.choice(BUILDINGS) or None,
        "city": place.city,
        "province": place.prefecture if japanese_province else place.province,
        "province_code": place.province_code,
        "zip": place.postal_code,
        "country": "Japan",
        "country_code": "JP",
        "phone": phone,
    }


def _sort(order: str | None) -> tuple[str, bool]:
    """("updated_at", False) for "updated_at asc"; created_at desc when unset or unknown."""
    field, _, direction = (order or "created_at desc").partition(" ")
    if field not in SORTABLE:
        return "created_at", True
    return field, direction.strip().lower() == "desc"


def _sort_key(record: _Record, field: str) -> list[Any]:
    if field == "id":
        return [record.id, record.id]
    moment = record.updated if field == "updated_at" else record.created
    return [moment.timestamp(), record.id]


def _after(candidate: list[Any], key: list[Any], descending: bool) -> bool:
    return candidate < key if descending else candidate > key


def _fields(order: dict[str, Any], fields: str | None) -> dict[str, Any]:
    wanted = {f.strip() for f in (fields or "").split(",") if f.strip()}
    return copy.deepcopy({k: v for k, v in order.items() if not wanted or k in wanted})


# --- helpers ----------------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(JST)


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(JST).replace(microsecond=0)


def _wire(moment: dt.datetime) -> str:
    """Shopify's times: the shop's offset, to the second ("2026-12-02T11:15:30+09:00")."""
    return moment.astimezone(JST).isoformat(timespec="seconds")


def _money_set(amount: int) -> dict[str, Any]:
    money = {"amount": str(amount), "currency_code": "JPY"}
    return {"shop_money": money, "presentment_money": dict(money)}


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a demo store until interrupted, adding orders every so often."""
    parser = demo_arguments(__doc__)
    parser.add_argument("--first-number", type=int, default=1001, help="number of the first order (#1001)")
    parser.add_argument("--seed", type=int, default=None, help="the same seed makes the same orders")
    parser.add_argument(
        "--adopt-below",
        type=int,
        default=None,
        help="orders numbered below this (the demo seed's) are in the store when asked for by name",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the fulfillments it is told, in make run's log
    fake = FakeShopify(first_number=args.first_number, seed=args.seed, adopt_below=args.adopt_below).start(args.port)
    if args.orders:
        fake.add_orders(args.orders)
    fake.produce(args.every)
    fake.serve_until_interrupted(f"fake Shopify at {fake.url}  credentials={json.dumps(fake.credentials)}")


if __name__ == "__main__":
    main()
