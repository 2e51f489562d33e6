"""A fake Amazon Selling Partner API: Login with Amazon's token endpoint and the Orders API v2026-01-01, over
real HTTP, for the connector tests and for the demo mall `make run` starts.

What it does as Amazon does (the published model `orders_2026-01-01.json` and the LWA documentation):
- `POST /auth/o2/token` (form-encoded, grant_type=refresh_token, refresh_token, client_id, client_secret) →
  `{"access_token": "Atza|…", "refresh_token", "token_type": "bearer", "expires_in": 3600}`. A wrong client
  is 401 `{"error": "invalid_client", …}`, a wrong refresh token 400 `{"error": "invalid_grant", …}`.
  In reality LWA is api.amazon.com and the API sellingpartnerapi-fe.amazon.com; the fake serves both.
- `GET /orders/2026-01-01/orders` (searchOrders) with `x-amz-access-token`: exactly one of createdAfter /
  lastUpdatedAfter (ISO 8601, inclusive), the optional *Before bounds, marketplaceIds, fulfillmentStatuses,
  fulfilledBy, maxResultsPerPage (1–100, default 100), includedData (BUYER, RECIPIENT, PROCEEDS, EXPENSE,
  PROMOTION, CANCELLATION, FULFILLMENT, PACKAGES: only the asked datasets are returned), paginationToken.
  A page token is honoured only with the same other parameters (maxResultsPerPage and includedData may
  change), as Amazon requires; the last page has no `pagination`. Orders come oldest change first.
- `GET /orders/2026-01-01/orders/{orderId}` (getOrder) → `{"order": …}`, 404 for an unknown id.
- Personal data as Amazon gates it: a PENDING order has no buyer and no address; an FBA order has no buyer
  e-mail and no phone.
- Errors in SP-API's shape `{"errors": [{"code", "message", "details"}]}`: 403 Unauthorized for a missing,
  unknown, expired (`expire_tokens`) or refused (`refuse_access`) token; 400 InvalidInput; 429 QuotaExceeded
  with `x-amzn-RateLimit-Limit` (and Retry-After only when asked: Amazon seldom sends it); 500
  InternalFailure. Every answer has `x-amzn-RequestId`; successful ones `x-amzn-RateLimit-Limit`.

- `POST /orders/v0/orders/{orderId}/shipmentConfirmation` (B12): `{marketplaceId, packageDetail:
  {packageReferenceId, carrierCode, carrierName, trackingNumber, shipDate, orderItems: [{orderItemId, quantity}]}}`,
  checked: the order exists (404 NotFound), is merchant-fulfilled and waiting for shipment (UNSHIPPED or
  PARTIALLY_SHIPPED), the marketplace is the order's, every orderItemId is the order's with a quantity from 1
  to what was ordered, carrierCode and trackingNumber are given, shipDate is an ISO time not in the future;
  else 400 InvalidInput in `errors[]`. Success is 204 without a body; the order becomes SHIPPED and the
  package is kept in `confirmations`.

Switches: `queue_rate_limit`, `queue_server_error` (the NEXT SP-API requests; LWA is not affected),
`expire_tokens` (the access tokens handed out so far have expired), `refuse_access` (every token is refused,
as when the seller revoked the app), `expire_pagination_tokens` (the 24-hour expiry), and
`add_malformed_order`. `add_orders`/`add_order` generate realistic Japanese orders (Faker ja_JP names, real
postal codes including remote islands, PENDING and FBA orders, cash on delivery with its fee, scheduled
delivery windows, gift messages, coupons); `cancel` and `set_status` change one and stamp lastUpdatedTime.
Change times only move forward, one second apart at least, so a cursor on lastUpdatedTime is exact.
`produce` adds orders every so often until `stop`, for the demo.

Run it alone: `python -m devtools.fakemalls.amazon --port 8803 --every 60`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from faker import Faker

from .base import JST, FakeMallServer, MallRequestHandler, demo_arguments, parse_time, query_values, within

TOKEN_PATH = "/auth/o2/token"  # noqa: S105 - a path, not a password
SEARCH_PATH = "/orders/2026-01-01/orders"
ORDER_PATH = re.compile(r"/orders/2026-01-01/orders/([^/]+)")
CONFIRM_PATH = re.compile(r"/orders/v0/orders/([^/]+)/shipmentConfirmation")
MARKETPLACE_JP = "A1VC38T7YXB528"
DATASETS = ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES")
STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
MAX_PAGE_SIZE = 100
TOKEN_LIFETIME = 3600
DEMO_CLIENT_ID = "amzn1.application-oa2-client.0b4ckyard0demo0000000000000000"
# The demo seller's credentials: published on purpose, they open nothing but this fake.
DEMO_CLIENT_SECRET = "amzn1.oa2-cs.v1.backyard-demo-secret"  # noqa: S105
DEMO_REFRESH_TOKEN = "Atzr|IwEBIBackyardDemoRefreshToken"  # noqa: S105
COD_FEE = 330
POSTAGE = 550
FREE_SHIPPING_FROM = 3500
UNAUTHORIZED = "Access to requested resource is denied."


@dataclass(frozen=True)
class Place:
    postal_code: str
    prefecture: str
    city: str
    town: str
    remote_island: bool = False


PLACES: tuple[Place, ...] = (
    Place("100-0005", "東京都", "千代田区", "丸の内"),
    Place("150-0002", "東京都", "渋谷区", "渋谷"),
    Place("530-0001", "大阪府", "大阪市北区", "梅田"),
    Place("060-0001", "北海道", "札幌市中央区", "北一条西"),
    Place("460-0008", "愛知県", "名古屋市中区", "栄"),
    Place("812-0011", "福岡県", "福岡市博多区", "博多駅前"),
    Place("900-0001", "沖縄県", "那覇市", "港町"),
    Place("907-0004", "沖縄県", "石垣市", "登野城", remote_island=True),
)
BUILDINGS = ("", "", "", "コーポ桜 102", "グランドメゾン 803", "サンライズビル 5F")


@dataclass(frozen=True)
class Product:
    sku: str
    asin: str
    title: str
    price: int  # yen, tax included, per unit


CATALOGUE: tuple[Product, ...] = (
    Product("TEA-SEN-100", "B0CJ8Q1T4N", "静岡県産 深蒸し煎茶 100g", 1080),
    Product("COF-DRP-20", "B0BX3K9L2M", "ドリップコーヒー アソート 20袋", 2160),
    Product("TWL-IMB-2P", "B09Z7R5W1P", "今治タオル フェイスタオル 2枚組 ホワイト", 2200),
    Product("MUG-HSM-01", "B0C4T6Y8U2", "波佐見焼 マグカップ 藍", 2420),
    Product("KTL-NBT-065", "B07N4M2K8J", "南部鉄器 急須 0.65L", 8800),
    Product("HCR-YZU-50", "B0D1F3G5H7", "柚子の香りのハンドクリーム 50g", 1320),
)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]
    body: str


@dataclass
class _Record:
    order_id: str
    created: dt.datetime  # the fake's own truth, also for an order whose JSON is broken on purpose
    updated: dt.datetime
    marketplace_id: str
    payload: dict[str, Any]  # the order with every dataset


@dataclass
class _PageSet:
    key: tuple[tuple[str, str], ...]  # the parameters a token must come back with
    ids: list[str]
    offset: int


class _Handler(MallRequestHandler):
    mall: FakeAmazon
    server_version = "FakeAmazon/1.0"
    json_content_type = "application/json;charset=UTF-8"

    def do_POST(self) -> None:
        status, body, headers = self.mall.handle("POST", self.path, self.lowered_headers(), self.read_body())
        if status == 204:  # shipmentConfirmation's success: no content at all
            self.send_answer(status, headers, b"")
            return
        self.send_json(status, body, headers)

    def do_GET(self) -> None:
        self.send_json(*self.mall.handle("GET", self.path, self.lowered_headers(), self.read_body()))


class FakeAmazon(FakeMallServer):
    """An in-memory Amazon.co.jp seller account behind a local HTTP server."""

    handler_class = _Handler
    thread_name = "fake-amazon"

    def __init__(
        self,
        *,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        refresh_token: str = DEMO_REFRESH_TOKEN,
        marketplace_id: str = MARKETPLACE_JP,
        rate_limit: str = "0.0167",
        seed: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.marketplace_id = marketplace_id
        self.rate_limit = rate_limit  # getOrders' published default rate, sent on successful answers
        self.requests: list[RecordedRequest] = []
        self._rng = random.Random(seed)
        self._faker = Faker("ja_JP")
        self._faker.seed_instance(seed)
        self._orders: dict[str, _Record] = {}
        self._access_tokens: dict[str, float] = {}  # token → monotonic expiry
        self._refuse_access = False
        self._page_sets: dict[str, _PageSet] = {}
        self._last_change = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        self.confirmations: list[dict[str, Any]] = []  # the packages confirmed: {orderId, packageDetail}

    @property
    def credentials(self) -> dict[str, str]:
        """What the shop's admin would enter: the connector's credential_fields."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "marketplace_id": self.marketplace_id,
        }

    @property
    def token_requests(self) -> int:
        """How many times LWA was asked for an access token."""
        return sum(1 for r in self.requests if r.path == TOKEN_PATH)

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path != TOKEN_PATH]

    # --- switches -------------------------------------------------------------------------------------------

    def queue_rate_limit(
        self, times: int = 1, *, rate_limit: str | None = "0.5", retry_after: float | None = None
    ) -> None:
        """The next `times` SP-API requests answer 429 QuotaExceeded, with x-amzn-RateLimit-Limit when
        `rate_limit` is given and Retry-After only when `retry_after` is."""
        headers = {}
        if rate_limit is not None:
            headers["x-amzn-RateLimit-Limit"] = rate_limit
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = _errors("QuotaExceeded", "You exceeded your quota for the requested resource.")
        self._queue(times, 429, body, headers)

    def queue_server_error(self, times: int = 1, status: int = 500) -> None:
        if status == 503:
            body = _errors("ServiceUnavailable", "Service temporarily unavailable. Please try again.")
        else:
            body = _errors("InternalFailure", "We encountered an internal error. Please try again.")
        self._queue(times, status, body, {})

    def expire_tokens(self) -> None:
        """Every access token handed out so far has expired; LWA still gives new ones."""
        with self._lock:
            self._access_tokens = dict.fromkeys(self._access_tokens, 0.0)

    def refuse_access(self, refuse: bool = True) -> None:
        """Refuse every access token, new ones too (the seller revoked the app, or a role is missing)."""
        with self._lock:
            self._refuse_access = refuse

    def expire_pagination_tokens(self) -> None:
        """Page tokens handed out so far are no longer accepted (Amazon's expire after 24 hours)."""
        with self._lock:
            self._page_sets.clear()

    # --- orders ---------------------------------------------------------------------------------------------

    def add_orders(self, n: int) -> list[str]:
        """n realistic orders, changed one second apart up to now (a mix of statuses, COD, FBA, scheduled
        delivery, coupons and gifts). Returns their ids, oldest change first."""
        with self._lock:
            start = _second(_now()) - dt.timedelta(seconds=n - 1)
            return [self._add(self._build(self._change_time(start + dt.timedelta(seconds=i)), i)) for i in range(n)]

    def add_order(
        self,
        *,
        status: str = "UNSHIPPED",
        fulfilled_by: str = "MERCHANT",
        cod: bool = False,
        scheduled: bool = False,
        discount: int = 0,
        gift_message: str = "",
        items: Sequence[tuple[str, int]] | None = None,
        place: Place | None = None,
    ) -> str:
        """One order as described (items as (sku, quantity) from CATALOGUE). Returns its orderId."""
        if status not in STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        with self._lock:
            payload = self._build(
                self._change_time(_now()),
                0,
                status=status,
                fulfilled_by=fulfilled_by,
                cod=cod,
                scheduled=scheduled,
                discount=discount,
                gift_message=gift_message,
                items=items,
                place=place,
            )
            return self._add(payload)

    def add_malformed_order(self, defect: str = "quantity") -> str:
        """An order the connector cannot read: defect "quantity" (quantityOrdered is text), "created"
        (createdTime is not a time) or "currency" (amounts in dollars). Returns its orderId."""
        with self._lock:
            payload = self._build(self._change_time(_now()), 0)
            item = payload["orderItems"][0]
            if defect == "quantity":
                item["quantityOrdered"] = "two"
            elif defect == "created":
                payload["createdTime"] = "yesterday"
            elif defect == "currency":
                item["product"]["price"]["unitPrice"]["currencyCode"] = "USD"
                payload["proceeds"]["grandTotal"]["currencyCode"] = "USD"
            else:
                raise ValueError(f"unknown defect {defect}")
            return self._add(payload)

    def cancel(self, order_id: str) -> None:
        self.set_status(order_id, "CANCELLED")

    def set_status(self, order_id: str, status: str) -> None:
        """Move an order (PENDING → UNSHIPPED once paid, → SHIPPED, → CANCELLED …) and stamp the change."""
        if status not in STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        with self._lock:
            record = self._orders[order_id]
            record.updated = self._change_time(_now())
            record.payload["fulfillment"]["fulfillmentStatus"] = status
            record.payload["lastUpdatedTime"] = _wire(record.updated)
            shipped = status == "SHIPPED"
            for item in record.payload["orderItems"]:
                quantity = item["quantityOrdered"]
                item["fulfillment"]["quantityFulfilled"] = quantity if shipped else 0
                item["fulfillment"]["quantityUnfulfilled"] = 0 if shipped or status == "CANCELLED" else quantity

    def order(self, order_id: str) -> dict[str, Any]:
        """The stored order with every dataset (a copy)."""
        with self._lock:
            return copy.deepcopy(self._orders[order_id].payload)

    def ids(self) -> list[str]:
        with self._lock:
            return [r.order_id for r in sorted(self._orders.values(), key=lambda r: (r.updated, r.order_id))]

    def _add(self, payload: dict[str, Any]) -> str:
        record = _Record(
            order_id=payload["orderId"],
            created=dt.datetime.fromisoformat(payload["_created"]),
            updated=dt.datetime.fromisoformat(payload["lastUpdatedTime"].replace("Z", "+00:00")),
            marketplace_id=self.marketplace_id,
            payload={k: v for k, v in payload.items() if not k.startswith("_")},
        )
        self._orders[record.order_id] = record
        return record.order_id

    def _change_time(self, wanted: dt.datetime) -> dt.datetime:
        """`wanted`, or one second after the last change: change times only move forward."""
        moment = max(_second(wanted), self._last_change + dt.timedelta(seconds=1))
        self._last_change = moment
        return moment

    def _build(
        self,
        updated: dt.datetime,
        index: int,
        *,
        status: str | None = None,
        fulfilled_by: str | None = None,
        cod: bool | None = None,
        scheduled: bool | None = None,
        discount: int | None = None,
        gift_message: str | None = None,
        items: Sequence[tuple[str, int]] | None = None,
        place: Place | None = None,
    ) -> dict[str, Any]:
        rng = self._rng
        fulfilled_by = fulfilled_by or ("AMAZON" if rng.random() < 0.1 else "MERCHANT")
        fba = fulfilled_by == "AMAZON"
        if status is None:
            status = "SHIPPED" if fba else rng.choices(("PENDING", "UNSHIPPED", "SHIPPED"), (15, 75, 10))[0]
        cod = (not fba and rng.random() < 0.15) if cod is None else cod
        scheduled = (not fba and rng.random() < 0.15) if scheduled is None else scheduled
        discount = (300 if rng.random() < 0.2 else 0) if discount is None else discount
        if gift_message is None:
            gift_message = "いつもありがとう。ささやかですが。" if rng.random() < 0.1 else ""
        place = place or rng.choice(PLACES)
        by_sku = {p.sku: p for p in CATALOGUE}
        chosen = (
            [(by_sku[sku], qty) for sku, qty in items]
            if items
            else [(p, rng.choice((1, 1, 1, 2, 3))) for p in rng.sample(CATALOGUE, rng.choice((1, 1, 2, 3)))]
        )
        created = updated - dt.timedelta(minutes=rng.randint(1, 90))
        order_id = _order_id(rng)
        while order_id in self._orders:
            order_id = _order_id(rng)
        item_total = sum(p.price * qty for p, qty in chosen)
        postage = 0 if fba or item_total >= FREE_SHIPPING_FROM else POSTAGE
        cod_fee = COD_FEE if cod else 0
        name = f"{self._faker.last_name()} {self._faker.first_name()}"
        window_start = dt.datetime.combine(created.astimezone(JST).date() + dt.timedelta(days=3), dt.time(14), JST)
        order_items = []
        for position, (product, quantity) in enumerate(chosen):
            extras = [("SHIPPING", postage), ("COD_FEE", cod_fee), ("DISCOUNT", -discount)] if position == 0 else []
            amounts = [("ITEM", product.price * quantity), *((kind, amount) for kind, amount in extras if amount)]
            breakdowns = [{"type": kind, "subtotal": _money(amount)} for kind, amount in amounts]
            shipping: dict[str, Any] = {}
            if cod:
                shipping["shippingConstraints"] = {"cashOnDelivery": "MANDATORY"}
            if scheduled:
                shipping["scheduledDeliveryWindow"] = {
                    "earliestDateTime": _wire(window_start),
                    "latestDateTime": _wire(window_start + dt.timedelta(hours=2)),
                }
            item_fulfillment: dict[str, Any] = {
                "quantityFulfilled": quantity if status == "SHIPPED" else 0,
                "quantityUnfulfilled": 0 if status in ("SHIPPED", "CANCELLED") else quantity,
            }
            if shipping:
                item_fulfillment["shipping"] = shipping
            if gift_message and position == 0:
                item_fulfillment["packing"] = {"giftOption": {"giftMessage": gift_message, "giftWrapLevel": "STANDARD"}}
            item: dict[str, Any] = {
                "orderItemId": f"{rng.randint(10**13, 10**14 - 1)}",
                "quantityOrdered": quantity,
                "programs": [],
                "product": {
                    "asin": product.asin,
                    "title": product.title,
                    "sellerSku": product.sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW", "conditionNote": ""},
                    "price": {"unitPrice": _money(product.price)},
                },
                "proceeds": {
                    "proceedsTotal": _money(sum(amount for _kind, amount in amounts)),
                    "breakdowns": breakdowns,
                },
                "expense": {
                    "pointsCost": {
                        "pointsGranted": {
                            "pointsNumber": product.price * quantity // 100,
                            "pointsMonetaryValue": _money(product.price * quantity // 100),
                        }
                    }
                },
                "fulfillment": item_fulfillment,
            }
            if discount and position == 0:
                item["promotion"] = {"breakdowns": [{"promotionId": "JP-SHOP-COUPON-300"}]}
            order_items.append(item)
        address: dict[str, Any] = {
            "name": name,
            "addressLine1": f"{place.town}{rng.randint(1, 4)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}",
            "addressLine2": rng.choice(BUILDINGS),
            "city": place.city,
            "stateOrRegion": place.prefecture,
            "postalCode": place.postal_code,
            "countryCode": "JP",
            "phone": f"0{rng.choice((70, 80, 90))}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            "addressType": "RESIDENTIAL",
        }
        recipient: dict[str, Any] = {"deliveryAddress": address}
        if rng.random() < 0.2:
            recipient["deliveryPreference"] = {"addressInstruction": "不在時は宅配ボックスへお願いします。"}
        return {
            "_created": created.isoformat(),
            "orderId": order_id,
            "orderAliases": [],
            "createdTime": _wire(created),
            "lastUpdatedTime": _wire(updated),
            "programs": ["PRIME"] if fba or rng.random() < 0.3 else [],
            "associatedOrders": [],
            "salesChannel": {
                "channelName": "AMAZON",
                "marketplaceId": self.marketplace_id,
                "marketplaceName": "Amazon.co.jp",
            },
            "buyer": {"buyerName": name, "buyerEmail": f"{secrets.token_hex(8)}@marketplace.amazon.co.jp"},
            "recipient": recipient,
            "proceeds": {"grandTotal": _money(item_total + postage + cod_fee - discount)},
            "fulfillment": {
                "fulfillmentStatus": status,
                "fulfilledBy": fulfilled_by,
                "fulfillmentServiceLevel": "SCHEDULED" if scheduled else "STANDARD",
                "shipByWindow": {
                    "earliestDateTime": _wire(created),
                    "latestDateTime": _wire(created + dt.timedelta(days=2)),
                },
            },
            "orderItems": order_items,
            "packages": [],
        }

    # --- HTTP -----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(target)
        query = query_values(parts.query)
        with self._lock:
            self.requests.append(
                RecordedRequest(method, parts.path, query, headers, raw.decode("utf-8", errors="replace"))
            )
            if parts.path == TOKEN_PATH and method == "POST":
                return self._token(headers, raw)
            request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
            if (canned := self._next_canned()) is not None:
                return canned.status, canned.body, {**request_id, **canned.headers}
            refused = self._check_token(headers.get("x-amz-access-token", ""))
            if refused:
                return 403, refused, request_id
            ok_headers = {**request_id, "x-amzn-RateLimit-Limit": self.rate_limit}
            if parts.path == SEARCH_PATH and method == "GET":
                status, body = self._search(query)
                return status, body, ok_headers
            if (match := ORDER_PATH.fullmatch(parts.path)) and method == "GET":
                status, body = self._get_order(match.group(1), query)
                return status, body, ok_headers
            if (match := CONFIRM_PATH.fullmatch(parts.path)) and method == "POST":
                status, body = self._confirm(match.group(1), raw)
                return status, body, ok_headers
            return 404, _errors("NotFound", "Resource not found."), request_id

    def _token(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        text = raw.decode("utf-8", errors="replace")
        if headers.get("content-type", "").startswith("application/json"):
            try:
                form = {str(k): str(v) for k, v in json.loads(text).items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = {key: values[-1] for key, values in parse_qs(text).items()}
        if form.get("grant_type") != "refresh_token":
            return (
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
                {},
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}, {}
        if form.get("refresh_token") != self.refresh_token:
            return (
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
                {},
            )
        token = f"Atza|{secrets.token_urlsafe(32)}"
        self._access_tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return (
            200,
            {
                "access_token": token,
                "refresh_token": self.refresh_token,
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME,
            },
            {},
        )

    def _check_token(self, token: str) -> dict[str, Any] | None:
        expiry = self._access_tokens.get(token)
        if expiry is None:
            return _errors(
                "Unauthorized", UNAUTHORIZED, "The access token you provided is revoked, malformed or invalid."
            )
        if expiry <= time.monotonic():
            return _errors("Unauthorized", UNAUTHORIZED, "The access token you provided has expired.")
        if self._refuse_access:
            return _errors("Unauthorized", UNAUTHORIZED, "")
        return None

    def _search(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        bounds: dict[str, dt.datetime] = {}
        for name in ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"):
            if query.get(name):
                try:
                    bounds[name] = parse_time(query[name], dt.UTC)
                except ValueError:
                    return 400, _errors("InvalidInput", f"Invalid {name}: {query[name]}")
        created = "createdAfter" in bounds or "createdBefore" in bounds
        updated = "lastUpdatedAfter" in bounds or "lastUpdatedBefore" in bounds
        if ("createdAfter" in bounds) == ("lastUpdatedAfter" in bounds) or (created and updated):
            return 400, _errors("InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
        try:
            size = int(query.get("maxResultsPerPage") or MAX_PAGE_SIZE)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            return 400, _errors("InvalidInput", "maxResultsPerPage must be between 1 and 100.")
        included = _csv(query.get("includedData"))
        if unknown := included - set(DATASETS):
            return 400, _errors("InvalidInput", f"Invalid includedData: {','.join(sorted(unknown))}")
        key = tuple(
            sorted(
                (k, v) for k, v in query.items() if k not in ("paginationToken", "maxResultsPerPage", "includedData")
            )
        )
        token = query.get("paginationToken")
        if token:
            page_set = self._page_sets.pop(token, None)
            if page_set is None or page_set.key != key:
                return 400, _errors(
                    "InvalidInput",
                    "Invalid paginationToken.",
                    "The token has expired or the other parameters differ from its request.",
                )
        else:
            page_set = _PageSet(key=key, ids=self._matching(query, bounds), offset=0)
        page_ids = page_set.ids[page_set.offset : page_set.offset + size]
        body: dict[str, Any] = {"orders": [_view(self._orders[i].payload, included) for i in page_ids]}
        if page_set.offset + size < len(page_set.ids):
            next_token = secrets.token_urlsafe(24)
            self._page_sets[next_token] = _PageSet(key=key, ids=page_set.ids, offset=page_set.offset + size)
            body["pagination"] = {"nextToken": next_token}
        return 200, body

    def _matching(self, query: dict[str, str], bounds: dict[str, dt.datetime]) -> list[str]:
        marketplaces = _csv(query.get("marketplaceIds"))
        statuses = _csv(query.get("fulfillmentStatuses"))
        fulfilled_by = _csv(query.get("fulfilledBy"))
        chosen = []
        for record in sorted(self._orders.values(), key=lambda r: (r.updated, r.order_id)):
            fulfillment = record.payload.get("fulfillment") or {}
            if marketplaces and record.marketplace_id not in marketplaces:
                continue
            if statuses and fulfillment.get("fulfillmentStatus") not in statuses:
                continue
            if fulfilled_by and fulfillment.get("fulfilledBy") not in fulfilled_by:
                continue
            if not within(record.created, bounds.get("createdAfter"), bounds.get("createdBefore")):
                continue
            if not within(record.updated, bounds.get("lastUpdatedAfter"), bounds.get("lastUpdatedBefore")):
                continue
            chosen.append(record.order_id)
        return chosen

    def _confirm(self, order_id: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """shipmentConfirmation, checked as SP-API checks it (the lock is held)."""
        record = self._orders.get(order_id)
        if record is None:
            return 404, _errors("NotFound", f"Order {order_id} was not found.")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, _errors("InvalidInput", "The request body is not JSON.")
        package = body.get("packageDetail") if isinstance(body, dict) else None
        if not isinstance(package, dict):
            return 400, _errors("InvalidInput", "packageDetail is required.")
        if body.get("marketplaceId") != record.marketplace_id:
            return 400, _errors("InvalidInput", f"Invalid marketplaceId: {body.get('marketplaceId')}")
        fulfillment = record.payload["fulfillment"]
        if fulfillment.get("fulfilledBy") != "MERCHANT":
            return 400, _errors("InvalidInput", "The order is fulfilled by Amazon.")
        if fulfillment.get("fulfillmentStatus") not in ("UNSHIPPED", "PARTIALLY_SHIPPED"):
            return 400, _errors(
                "InvalidInput", f"The order cannot be confirmed in status {fulfillment.get('fulfillmentStatus')}."
            )
        for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
            if not isinstance(package.get(name), str) or not package[name].strip():
                return 400, _errors("InvalidInput", f"{name} is required.")
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            return 400, _errors("InvalidInput", "carrierName is required when carrierCode is Other.")
        try:
            shipped = parse_time(package["shipDate"], dt.UTC)
        except ValueError:
            return 400, _errors("InvalidInput", f"Invalid shipDate: {package['shipDate']}")
        if shipped > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            return 400, _errors("InvalidInput", "shipDate cannot be in the future.")
        ordered = {item["orderItemId"]: item["quantityOrdered"] for item in record.payload["orderItems"]}
        items = package.get("orderItems")
        if not isinstance(items, list) or not items:
            return 400, _errors("InvalidInput", "orderItems is required.")
        for item in items:
            item_id = item.get("orderItemId") if isinstance(item, dict) else None
            if item_id not in ordered:
                return 400, _errors("InvalidInput", f"Invalid orderItemId: {item_id}")
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or not 1 <= quantity <= ordered[item_id]:
                return 400, _errors("InvalidInput", f"Invalid quantity for orderItemId {item_id}: {quantity}")
        self.confirmations.append({"orderId": order_id, "packageDetail": copy.deepcopy(package)})
        record.updated = self._change_time(_now())
        record.payload["lastUpdatedTime"] = _wire(record.updated)
        fulfillment["fulfillmentStatus"] = "SHIPPED"
        for line in record.payload["orderItems"]:
            line["fulfillment"]["quantityFulfilled"] = line["quantityOrdered"]
            line["fulfillment"]["quantityUnfulfilled"] = 0
        return 204, {}

    def _get_order(self, order_id: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        record = self._orders.get(order_id)
        if record is None:
            return 404, _errors("NotFound", f"Order {order_id} was not found.")
        return 200, {"order": _view(record.payload, _csv(query.get("includedData")))}


def _view(payload: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """The order as Amazon returns it for these datasets: unasked datasets left out, personal data gated."""
    order = copy.deepcopy(payload)
    fulfillment: dict[str, Any] = order["fulfillment"] if isinstance(order.get("fulfillment"), dict) else {}
    pending = fulfillment.get("fulfillmentStatus") in ("PENDING", "PENDING_AVAILABILITY")
    fba = fulfillment.get("fulfilledBy") == "AMAZON"
    if "BUYER" not in included or pending:
        order.pop("buyer", None)
    elif fba:
        order.get("buyer", {}).pop("buyerEmail", None)
    if "RECIPIENT" not in included or pending:
        order.pop("recipient", None)
    elif fba:
        order.get("recipient", {}).get("deliveryAddress", {}).pop("phone", None)
    order_level = {"PROCEEDS": "proceeds", "FULFILLMENT": "fulfillment", "PACKAGES": "packages"}
    item_level = {
        "PROCEEDS": "proceeds",
        "FULFILLMENT": "fulfillment",
        "EXPENSE": "expense",
        "PROMOTION": "promotion",
        "CANCELLATION": "cancellation",
    }
    for dataset, field in order_level.items():
        if dataset not in included:
            order.pop(field, None)
    for item in order.get("orderItems") or []:
        for dataset, field in item_level.items():
            if dataset not in included and isinstance(item, dict):
                item.pop(field, None)
    return order


# --- helpers ----------------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _second(moment: dt.datetime) -> dt.datetime:
    """Amazon keeps order times to the second."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _wire(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def _order_id(rng: random.Random) -> str:
    """Amazon.co.jp order numbers look like 250-1234567-1234567."""
    return f"{rng.choice(('249', '250', '503'))}-{rng.randint(0, 9_999_999):07d}-{rng.randint(0, 9_999_999):07d}"


def _money(amount: int) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": "JPY"}


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a demo seller account until interrupted, adding orders every so often."""
    args = demo_arguments(__doc__).parse_args(argv)
    fake = FakeAmazon().start(args.port)
    if args.orders:
        fake.add_orders(args.orders)
    fake.produce(args.every)
    fake.serve_until_interrupted(f"fake Amazon SP-API at {fake.url}  credentials={json.dumps(fake.credentials)}")


if __name__ == "__main__":
    main()
