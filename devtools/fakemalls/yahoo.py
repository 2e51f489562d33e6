"""A local Yahoo! Shopping: orderList, orderInfo and YConnect's token endpoint over real HTTP.

The tests point `YahooConnector` at it, and `make run` starts one as a demo mall that takes new orders every
minute. It answers in the shapes the real API uses (see shops/connectors/yahoo.py and FORMATS.md):

- `POST /ShoppingWebService/V1/orderList`: `Bearer` token and `SellerId` checked; `OrderTimeFrom`/`OrderTimeTo`
  (YYYYMMDDhhmmss, JST, inclusive), `Sort` ±order_time, `Start` (from 1) and `Result` (1…2000) paging; only the
  requested `Field`s come back; one `OrderInfo` element per order, so a single result is a single element.
- `POST /ShoppingWebService/V1/orderInfo`: the order nested as Yahoo! nests it (Pay, Ship, Seller, Item…,
  Detail), again only the requested fields.
- `POST /yconnect/v2/token`: grant_type=refresh_token with the client id and secret as HTTP Basic (or in the
  form, which YConnect also accepts); a new access token is issued and the old one stops working.

- `POST /ShoppingWebService/V1/orderShipStatusChange` (B12): Target/OrderId, Order/Ship/ShipStatus (0–4),
  ShipCompanyCode, ShipInvoiceNumber1/2 and ShipDate (YYYYMMDD), checked: the order is the seller's and not
  cancelled, ShipStatus 3 needs a ShipDate that is a real day not in the future, a known ShipCompanyCode, and
  invoice numbers of half-width digits, letters and "-" (Yamato's: digits and "-", 14 bytes at most). A
  refusal is `<Error><Message/><Code/></Error>` with 400; success `<ResultSet><Result><Status>OK`. What the
  store was told is kept in `ship_updates` and on the order's Ship fields.

Switches make the next API call(s) misbehave: `rate_limit_next` (429 + Retry-After), `fail_next` (500),
`expire_token` (401, Yahoo!'s px-04102 error), `doctype_next` (a billion-laughs document), `refuse_refresh`
(the token endpoint answers invalid_grant); `add_malformed_order` inserts an order whose orderInfo is broken.
`produce(every, count)` is the demo's heartbeat: new orders every minute until stop().

Error codes other than px-04102 (an unknown token, a foreign SellerId, an unknown order) are not confirmed by
a public sample; the fake uses plausible ones and the connector does not depend on them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import secrets
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import JST, FakeMallServer, MallRequestHandler

STAMP = "%Y%m%d%H%M%S"
API = "/ShoppingWebService/V1/"
YCONNECT_PATH = "/yconnect/v2/token"
MAX_RESULT = 2000
SHIP_COMPANY_CODES = {"1000": "その他", "1001": "ヤマト運輸", "1002": "佐川急便", "1003": "日本郵便"}
_INVOICE = re.compile(r"[0-9A-Za-z-]{1,30}")
_YAMATO_INVOICE = re.compile(r"[0-9-]{1,14}")
MALFORMED_KINDS = ("missing_order_id", "bad_number", "not_xml", "doctype")

# (family, given, family kana, given kana)
NAMES: tuple[tuple[str, str, str, str], ...] = (
    ("山田", "太郎", "ヤマダ", "タロウ"),
    ("佐藤", "花子", "サトウ", "ハナコ"),
    ("鈴木", "一郎", "スズキ", "イチロウ"),
    ("高橋", "美咲", "タカハシ", "ミサキ"),
    ("田中", "健太", "タナカ", "ケンタ"),
    ("伊藤", "さくら", "イトウ", "サクラ"),
    ("渡辺", "翔", "ワタナベ", "ショウ"),
    ("中村", "陽子", "ナカムラ", "ヨウコ"),
    ("小林", "大輔", "コバヤシ", "ダイスケ"),
    ("比嘉", "真央", "ヒガ", "マオ"),
    ("金城", "海斗", "キンジョウ", "カイト"),
)
# (zip code as Yahoo! sends it, prefecture, city, address 1): real postal codes and their areas.
ADDRESSES: tuple[tuple[str, str, str, str], ...] = (
    ("1000005", "東京都", "千代田区", "丸の内1-9-1"),
    ("5300001", "大阪府", "大阪市北区", "梅田3-1-1"),
    ("0600001", "北海道", "札幌市中央区", "北一条西2-1"),
    ("9000001", "沖縄県", "那覇市", "港町2-14-1"),
    ("9070004", "沖縄県", "石垣市", "登野城1-1"),  # remote island
    ("1500002", "東京都", "渋谷区", "渋谷2-21-1"),
    ("4600008", "愛知県", "名古屋市中区", "栄3-5-1"),
    ("8120011", "福岡県", "福岡市博多区", "博多駅前2-1-1"),
    ("9800021", "宮城県", "仙台市青葉区", "中央1-1-1"),
    ("2200012", "神奈川県", "横浜市西区", "みなとみらい2-2-1"),
)
BUILDINGS = ("", "", "", "グランドハイツ201", "サンライズマンション1203", "第2コーポ101")
# (ItemId, SubCode, Title, UnitPrice tax included, ItemTaxRatio, options)
CATALOGUE: tuple[tuple[str, str, str, int, int, tuple[tuple[str, str], ...]], ...] = (
    ("koshihikari-5kg", "", "新潟県産コシヒカリ 5kg", 3480, 8, ()),
    ("sencha-100g", "", "静岡 深蒸し煎茶 100g", 1080, 8, ()),
    ("imabari-towel", "imabari-towel-wh", "今治タオル フェイスタオル", 1650, 10, (("カラー", "ホワイト"),)),
    ("imabari-towel", "imabari-towel-nv", "今治タオル フェイスタオル", 1650, 10, (("カラー", "ネイビー"),)),
    ("tshirt-basic", "tshirt-basic-m-bk", "ベーシックTシャツ", 2980, 10, (("サイズ", "M"), ("カラー", "ブラック"))),
    ("hasami-mug", "", "波佐見焼 マグカップ", 2200, 10, ()),
    ("melon-jelly-6", "", "夕張メロンゼリー 6個入", 2592, 8, ()),
    ("beniimo-tart-10", "", "紅いもタルト 10個入", 1296, 8, ()),
)
# (PayMethod, PayMethodName, weight, PayCharge): the codes Yahoo! uses (payment_d1 is 商品代引, with its fee).
PAY_METHODS: tuple[tuple[str, str, int, int], ...] = (
    ("payment_a1", "クレジットカード決済", 50, 0),
    ("payment_a17", "PayPay残高払い", 15, 0),
    ("payment_b1", "銀行振込", 10, 0),
    ("payment_d1", "商品代引", 10, 330),
    ("payment_a7", "コンビニ（ファミリーマート、ローソン、その他）", 10, 0),
    ("payment_a6", "コンビニ（セブン-イレブン）", 5, 0),
)
SHIP_METHODS = (("postage1", "宅急便"), ("postage2", "ネコポス"), ("postage3", "ゆうパック"))
REQUEST_TIMES = ("午前中", "14:00-16:00", "16:00-18:00", "18:00-20:00", "19:00-21:00")
COMMENTS = (
    "不在の場合は宅配ボックスへお願いします。",
    "ギフト用です。金額の分かるものは同梱しないでください。",
    "午前中は不在がちです。",
)
FREE_SHIPPING_FROM = 5000
SHIP_CHARGE = 700
SHIP_CHARGE_OKINAWA = 1500

TOP_FIELDS = (
    "OrderId",
    "Version",
    "OrderTime",
    "LastUpdateTime",
    "PublicationTime",
    "OrderStatus",
    "BuyerComments",
    "IsYahooAuctionOrder",
    "YahooAuctionId",
)
BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10))
    + "]>\n<ResultSet><Result><Status>OK</Status><OrderInfo><OrderId>{order_id}</OrderId>"
    "<BuyerComments>&lol9;</BuyerComments></OrderInfo></Result></ResultSet>"
)


@dataclass
class FakeOrder:
    """One order as the fake mall keeps it: Yahoo! field names and their text values, group by group."""

    order_id: str
    ordered_at: dt.datetime
    published_at: dt.datetime
    updated_at: dt.datetime
    status: str
    version: int
    top: dict[str, str]
    pay: dict[str, str]
    ship: dict[str, str]
    items: list[dict[str, Any]]
    detail: dict[str, str]
    malformed: str = ""

    def top_fields(self) -> dict[str, str]:
        return {
            "OrderId": self.order_id,
            "Version": str(self.version),
            "OrderTime": _iso(self.ordered_at),
            "LastUpdateTime": _iso(self.updated_at),
            "PublicationTime": _iso(self.published_at),
            "OrderStatus": self.status,
            **self.top,
        }


@dataclass
class RecordedRequest:
    """One call as the fake received it (header names in lower case)."""

    path: str
    authorization: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(MallRequestHandler):
    mall: FakeYahoo
    disable_nagle_algorithm = True  # headers and body go out as two writes; without this each call waits ~40 ms

    def do_POST(self) -> None:
        body = self.read_body()
        self.send_answer(*self.mall.handle(self.path, dict(self.headers.items()), body))

    def do_GET(self) -> None:
        self.send_answer(*_error(405, "Method Not Allowed", "fake-405"))


class FakeYahoo(FakeMallServer):
    """A Yahoo! Shopping store with in-memory orders, served by a ThreadingHTTPServer on a free local port."""

    handler_class = _Handler
    thread_name = "fake-yahoo"
    display_name = "Yahoo!"

    # The fake store's own made-up credentials: nothing real can be reached with them.
    def __init__(
        self,
        *,
        seller_id: str = "backyard-store",
        client_id: str = "fake-yahoo-client",
        client_secret: str = "fake-yahoo-secret",  # noqa: S107
        access_token: str = "fake-yahoo-access-0",  # noqa: S107
        refresh_token: str = "fake-yahoo-refresh",  # noqa: S107
        seed: int = 5,
    ) -> None:
        super().__init__()
        self.seller_id = seller_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self._access_token = access_token
        self._added = threading.Condition(self._lock)
        self._random = random.Random(seed)
        self._orders: list[FakeOrder] = []
        self._by_id: dict[str, FakeOrder] = {}
        self._number = 10000000
        self._tokens_issued = 0
        # switches
        self._rate_limits: list[float] = []
        self._failures = 0
        self._doctypes = 0
        self._expired = False
        self.refuse_refresh = False
        self.requests: list[RecordedRequest] = []
        self.ship_updates: list[dict[str, str]] = []  # what the store was told by orderShipStatusChange

    @property
    def access_token(self) -> str:
        with self._lock:
            return self._access_token

    @property
    def credentials(self) -> dict[str, str]:
        """What an admin would enter for this store (the connector's credential_fields)."""
        with self._lock:
            return {
                "seller_id": self.seller_id,
                "access_token": self._access_token,
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }

    # --- the store's orders -------------------------------------------------------------------------------------

    @property
    def orders(self) -> list[FakeOrder]:
        with self._lock:
            return list(self._orders)

    def order(self, order_id: str) -> FakeOrder:
        with self._lock:
            return self._by_id[order_id]

    def add_orders(self, n: int, *, spacing: dt.timedelta = dt.timedelta(seconds=30)) -> list[str]:
        """`n` new orders, a random mix of buyers, addresses (islands too), payments and items, placed
        `spacing` apart up to now (each at least a second after the newest order already there)."""
        with self._lock:
            now = dt.datetime.now(JST).replace(microsecond=0)
            newest = self._newest()
            ids = []
            for position in range(n):
                placed = now - spacing * (n - 1 - position)
                if newest is not None and placed <= newest:
                    placed = newest + dt.timedelta(seconds=1)
                ids.append(self.add_order(ordered_at=placed))
                newest = placed
            return ids

    def add_order(
        self,
        *,
        ordered_at: dt.datetime | None = None,
        buyer: int | None = None,
        recipient: int | None = None,
        address: int | None = None,
        pay_method: str | None = None,
        items: Sequence[tuple[int, int]] | None = None,
        comments: str | None = None,
        auction_id: str | None = None,
        request_date: dt.date | None = None,
        request_time: str | None = None,
        discount: int | None = None,
        points: int | None = None,
    ) -> str:
        """One new order; every argument left out is chosen at random. `items` are (CATALOGUE index, quantity).

        Without `ordered_at` the order is placed now (a second after the newest order when that is later).
        An `ordered_at` before the newest order already listed means the order reached orderList late, as
        when Yahoo! holds an order back before publishing it: its PublicationTime is now.
        """
        rnd = self._random
        with self._lock:
            now = dt.datetime.now(JST).replace(microsecond=0)
            newest = self._newest()
            if ordered_at is None:
                placed = now if newest is None or now > newest else newest + dt.timedelta(seconds=1)
            else:
                placed = ordered_at.astimezone(JST).replace(microsecond=0)
            published = placed if newest is None or placed >= newest else max(now, placed)
            self._number += 1
            order_id = f"{self.seller_id}-{self._number}"
            bill = NAMES[rnd.randrange(len(NAMES)) if buyer is None else buyer]
            bill_address = ADDRESSES[rnd.randrange(len(ADDRESSES)) if address is None else address]
            gift = recipient is not None or (address is None and rnd.random() < 0.2)
            ship = NAMES[recipient if recipient is not None else rnd.randrange(len(NAMES))] if gift else bill
            ship_address = ADDRESSES[rnd.randrange(len(ADDRESSES))] if gift and address is None else bill_address
            pay_code, pay_name, pay_charge = _pay_method(rnd, pay_method)
            ship_method, ship_method_name = rnd.choice(SHIP_METHODS)
            chosen = (
                list(items)
                if items is not None
                else [
                    (rnd.randrange(len(CATALOGUE)), rnd.choice((1, 1, 1, 2, 3)))
                    for _ in range(rnd.choice((1, 1, 2, 3)))
                ]
            )
            lines = [
                _item(line_id, CATALOGUE[index], quantity) for line_id, (index, quantity) in enumerate(chosen, start=1)
            ]
            subtotal = sum(int(line["UnitPrice"]) * int(line["Quantity"]) for line in lines)
            ship_charge = (
                0
                if subtotal >= FREE_SHIPPING_FROM
                else (SHIP_CHARGE_OKINAWA if ship_address[1] == "沖縄県" else SHIP_CHARGE)
            )
            discount = (500 if rnd.random() < 0.1 else 0) if discount is None else discount
            points = (rnd.randrange(1, 300) if rnd.random() < 0.2 else 0) if points is None else points
            if request_date is None and rnd.random() < 0.3:
                request_date = placed.date() + dt.timedelta(days=rnd.randrange(3, 8))
            if request_time is None and rnd.random() < 0.4:
                request_time = rnd.choice(REQUEST_TIMES)
            if comments is None:
                comments = rnd.choice(COMMENTS) if rnd.random() < 0.2 else ""
            if auction_id is None:
                auction_id = f"{rnd.choice('bcx')}{rnd.randrange(10**9, 10**10)}" if rnd.random() < 0.05 else ""
            order = FakeOrder(
                order_id=order_id,
                ordered_at=placed,
                published_at=published,
                updated_at=published,
                status="2",
                version=1,
                top={
                    "BuyerComments": comments,
                    "IsYahooAuctionOrder": "true" if auction_id else "false",
                    "YahooAuctionId": auction_id,
                },
                pay={
                    "PayStatus": "0" if pay_code in ("payment_b1", "payment_a6", "payment_a7") else "1",
                    "PayMethod": pay_code,
                    "PayMethodName": pay_name,
                    **_person("Bill", bill, bill_address, rnd),
                    "BillMailAddress": f"buyer{self._number}@example.com",
                },
                ship={
                    "ShipStatus": "0",
                    "ShipMethod": ship_method,
                    "ShipMethodName": ship_method_name,
                    "ShipRequestDate": request_date.strftime("%Y%m%d") if request_date else "",
                    "ShipRequestTime": request_time or "",
                    **_person("Ship", ship, ship_address, rnd),
                },
                items=lines,
                detail={
                    "PayCharge": str(pay_charge),
                    "ShipCharge": str(ship_charge),
                    "GiftWrapCharge": "0",
                    "Discount": str(discount),
                    "UsePoint": str(points),
                    "TotalPrice": str(subtotal + ship_charge + pay_charge - discount),
                },
            )
            self._orders.append(order)
            self._by_id[order_id] = order
            self._added.notify_all()
            return order_id

    def _newest(self) -> dt.datetime | None:
        return max((order.ordered_at for order in self._orders), default=None)

    def add_malformed_order(self, kind: str = "bad_number") -> str:
        """An order listed normally whose orderInfo is broken: missing_order_id, bad_number, not_xml, doctype."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        order_id = self.add_order()
        with self._lock:
            self._by_id[order_id].malformed = kind
        return order_id

    def set_detail(self, order_id: str, name: str, value: str | None) -> None:
        """Change one Detail field of an order as orderInfo sends it (None: the field is left out, as some
        answers leave out TotalPrice)."""
        with self._lock:
            detail = self._by_id[order_id].detail
            if value is None:
                detail.pop(name, None)
            else:
                detail[name] = value

    def cancel(self, order_id: str) -> None:
        """The store (or the buyer) cancels: OrderStatus 4, a new version and a new LastUpdateTime."""
        with self._lock:
            order = self._by_id[order_id]
            order.status = "4"
            order.version += 1
            order.updated_at = max(dt.datetime.now(JST).replace(microsecond=0), order.updated_at)

    def wait_for_orders(self, count: int, timeout: float) -> bool:
        """Block until the store holds at least `count` orders (for the demo producer's test)."""
        with self._added:
            return self._added.wait_for(lambda: len(self._orders) >= count, timeout=timeout)

    # --- switches ------------------------------------------------------------------------------------------------

    def rate_limit_next(self, n: int = 1, retry_after: float = 1.0) -> None:
        with self._lock:
            self._rate_limits.extend([retry_after] * n)

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._failures += n

    def doctype_next(self, n: int = 1) -> None:
        with self._lock:
            self._doctypes += n

    def expire_token(self) -> None:
        """The current access token expires: API calls answer 401 px-04102 until the connector renews it."""
        with self._lock:
            self._expired = True

    # --- HTTP ------------------------------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One POST: (status, headers, body). Kept apart from the socket code so that it reads as the API.
        Header names are matched without regard to case, as HTTP has them."""
        headers = {name.lower(): value for name, value in headers.items()}
        text = body.decode("utf-8", errors="replace")
        route = urllib.parse.urlsplit(path).path
        with self._lock:
            self.requests.append(RecordedRequest(route, headers.get("authorization", ""), text, headers))
        if route == YCONNECT_PATH:
            return self._token(headers, text)
        if not route.startswith(API):
            return _error(404, "Not Found", "fake-404")
        with self._lock:
            if self._rate_limits:
                wait = self._rate_limits.pop(0)
                return _error(429, "Too Many Requests", "px-04429", {"Retry-After": f"{wait:g}"})
            if self._failures:
                self._failures -= 1
                return _error(500, "Internal Server Error", "px-05000")
            if self._doctypes:
                self._doctypes -= 1
                return 200, _XML, BILLION_LAUGHS.format(order_id=f"{self.seller_id}-0").encode()
            refused = self._check_token(headers.get("authorization", ""))
        if refused is not None:
            return refused
        if _UNSAFE.search(text):
            return _error(400, "DOCTYPE is not allowed.", "px-04000")
        try:
            req = ET.fromstring(text)  # noqa: S314  (no DTD can reach here: refused just above)
        except ET.ParseError:
            return _error(400, "Invalid XML.", "px-04000")
        if (req.findtext("SellerId") or "").strip() != self.seller_id:
            return _error(403, "SellerId is not permitted for this token.", "px-04003")
        operation = route[len(API) :]
        if operation == "orderList":
            return self._order_list(req)
        if operation == "orderInfo":
            return self._order_info(req)
        if operation == "orderShipStatusChange":
            return self._ship_status_change(req)
        return _error(404, "Not Found", "fake-404")

    def _ship_status_change(self, req: ET.Element) -> tuple[int, dict[str, str], bytes]:
        order_id = (req.findtext("Target/OrderId") or "").strip()
        ship = req.find("Order/Ship")
        if not order_id or ship is None:
            return _error(400, "OrderId and Order/Ship are required.", "od-00001")
        values = {child.tag: (child.text or "").strip() for child in ship}
        status = values.get("ShipStatus", "")
        if status not in ("0", "1", "2", "3", "4"):
            return _error(400, "ShipStatus is invalid.", "od-00002")
        company = values.get("ShipCompanyCode", "")
        if company and company not in SHIP_COMPANY_CODES:
            return _error(400, "ShipCompanyCode is invalid.", "od-00002")
        for name in ("ShipInvoiceNumber1", "ShipInvoiceNumber2"):
            number = values.get(name, "")
            shape = _YAMATO_INVOICE if company == "1001" else _INVOICE
            if number and not shape.fullmatch(number):
                return _error(400, f"{name} is invalid.", "od-00002")
        day = None
        if values.get("ShipDate"):
            try:
                day = dt.datetime.strptime(values["ShipDate"], "%Y%m%d").replace(tzinfo=JST).date()
            except ValueError:
                return _error(400, "ShipDate is invalid.", "od-00002")
        if status == "3" and day is None:
            return _error(400, "ShipDate is required when ShipStatus is 3.", "od-00001")
        if day is not None and day > dt.datetime.now(JST).date():
            return _error(400, "ShipDate cannot be a future date.", "od-00002")
        with self._lock:
            order = self._by_id.get(order_id)
            if order is None:
                return _error(400, "The order does not exist.", "od-00003")
            if order.status == "4":
                return _error(400, "The order has been cancelled.", "od-00004")
            order.ship.update({key: value for key, value in values.items() if value})
            order.version += 1
            order.updated_at = max(dt.datetime.now(JST).replace(microsecond=0), order.updated_at)
            self.ship_updates.append({"OrderId": order_id, **values})
        root = ET.Element("ResultSet", {"totalResultsAvailable": "1", "totalResultsReturned": "1"})
        ET.SubElement(ET.SubElement(root, "Result"), "Status").text = "OK"
        return 200, _XML, _document(root)

    def _check_token(self, authorization: str) -> tuple[int, dict[str, str], bytes] | None:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return _error(
                401,
                "Authorization header is required.",
                "px-04101",
                {"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        if token != self._access_token:
            return _error(
                401,
                "Invalid AccessToken.",
                "px-04101",
                {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="invalid token"'},
            )
        if self._expired:
            return _error(
                401,
                "AccessToken has been expired. This API session is shorter than another API.",
                "px-04102",
                {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired token"'},
            )
        return None

    def _token(self, headers: dict[str, str], text: str) -> tuple[int, dict[str, str], bytes]:
        form = {key: values[0] for key, values in urllib.parse.parse_qs(text).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme == "Basic":
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return _json(401, {"error": "invalid_client", "error_description": "bad Basic credentials"})
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return _json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        if form.get("grant_type") != "refresh_token":
            return _json(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})
        with self._lock:
            if self.refuse_refresh or form.get("refresh_token") != self.refresh_token:
                return _json(400, {"error": "invalid_grant", "error_description": "invalid refresh_token"})
            self._tokens_issued += 1
            self._access_token = f"fake-yahoo-access-{self._tokens_issued}-{secrets.token_hex(4)}"
            self._expired = False
            return _json(200, {"access_token": self._access_token, "token_type": "Bearer", "expires_in": 3600})

    def _order_list(self, req: ET.Element) -> tuple[int, dict[str, str], bytes]:
        search = req.find("Search")
        if search is None:
            return _error(400, "Search is required.", "od-00001")
        try:
            result = int(search.findtext("Result") or 10)
            start = int(search.findtext("Start") or 1)
            time_from = _stamp(search.findtext("Condition/OrderTimeFrom"))
            time_to = _stamp(search.findtext("Condition/OrderTimeTo"))
        except ValueError:
            return _error(400, "Invalid parameter.", "od-00002")
        if not 1 <= result <= MAX_RESULT or start < 1:
            return _error(400, f"Result must be 1-{MAX_RESULT} and Start 1 or more.", "od-00002")
        fields = _fields(search.findtext("Field"))
        if not fields:
            return _error(400, "Field is required.", "od-00001")
        descending = (search.findtext("Sort") or "+order_time").strip() == "-order_time"
        with self._lock:
            found = sorted(
                (
                    order
                    for order in self._orders
                    if (time_from is None or order.ordered_at >= time_from)
                    and (time_to is None or order.ordered_at <= time_to)
                ),
                key=lambda order: (order.ordered_at, order.order_id),
                reverse=descending,
            )
            root = ET.Element("Result")
            ET.SubElement(root, "Status").text = "OK"
            listing = ET.SubElement(root, "Search")
            ET.SubElement(listing, "TotalCount").text = str(len(found))
            for index, order in enumerate(found[start - 1 : start - 1 + result], start=start):
                info = ET.SubElement(listing, "OrderInfo")
                ET.SubElement(info, "Index").text = str(index)
                flat = {**order.top_fields(), **order.pay, **order.ship, **order.detail}
                _add_fields(info, flat, fields)
        return 200, _XML, _document(root)

    def _order_info(self, req: ET.Element) -> tuple[int, dict[str, str], bytes]:
        order_id = (req.findtext("Target/OrderId") or "").strip()
        fields = _fields(req.findtext("Target/Field"))
        if not order_id or not fields:
            return _error(400, "OrderId and Field are required.", "od-00001")
        with self._lock:
            order = self._by_id.get(order_id)
            if order is None:
                return _error(400, "The order does not exist.", "od-00003")
            if order.malformed == "doctype":
                return 200, _XML, BILLION_LAUGHS.format(order_id=order_id).encode()
            root = ET.Element(
                "ResultSet", {"totalResultsAvailable": "1", "totalResultsReturned": "1", "firstResultPosition": "1"}
            )
            result = ET.SubElement(root, "Result")
            ET.SubElement(result, "Status").text = "OK"
            info = ET.SubElement(result, "OrderInfo")
            top = order.top_fields()
            if order.malformed == "missing_order_id":
                del top["OrderId"]
            _add_fields(info, top, fields)
            _add_group(info, "Pay", order.pay, fields)
            _add_group(info, "Ship", order.ship, fields)
            _add_group(info, "Seller", {"SellerId": self.seller_id}, fields)
            for position, line in enumerate(order.items):
                item = ET.SubElement(info, "Item")
                values = {key: value for key, value in line.items() if key != "ItemOption"}
                if order.malformed == "bad_number" and position == 0:
                    values["Quantity"] = "二個"
                _add_fields(item, values, fields)
                if "ItemOption" in fields:
                    for index, (name, value) in enumerate(line["ItemOption"], start=1):
                        option = ET.SubElement(item, "ItemOption")
                        for key, text in (("Index", str(index)), ("Name", name), ("Value", value)):
                            ET.SubElement(option, key).text = text
            _add_group(info, "Detail", order.detail, fields)
            body = _document(root)
        if order.malformed == "not_xml":
            body = body[: len(body) // 2]
        return 200, _XML, body


# --- helpers -----------------------------------------------------------------------------------------------------

_XML = {"Content-Type": "application/xml; charset=UTF-8"}
_UNSAFE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(JST).isoformat(timespec="seconds")


def _stamp(raw: str | None) -> dt.datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{14}", raw):
        raise ValueError(raw)
    return dt.datetime.strptime(raw, STAMP).replace(tzinfo=JST)


def _fields(raw: str | None) -> set[str]:
    return {name.strip() for name in (raw or "").split(",") if name.strip()}


def _add_fields(parent: ET.Element, values: dict[str, Any], fields: Iterable[str]) -> None:
    wanted = set(fields)
    for name, value in values.items():
        if name in wanted:
            ET.SubElement(parent, name).text = str(value)


def _add_group(parent: ET.Element, group: str, values: dict[str, str], fields: set[str]) -> None:
    if fields & values.keys():
        _add_fields(ET.SubElement(parent, group), values, fields)


def _document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _error(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    root = ET.Element("Error")
    ET.SubElement(root, "Message").text = message
    ET.SubElement(root, "Code").text = code
    return status, {**_XML, **(headers or {})}, _document(root)


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _pay_method(rnd: random.Random, code: str | None) -> tuple[str, str, int]:
    if code is not None:
        for pay_code, name, _weight, charge in PAY_METHODS:
            if pay_code == code:
                return pay_code, name, charge
        raise ValueError(f"unknown PayMethod {code!r}")
    pay_code, name, _weight, charge = rnd.choices(PAY_METHODS, weights=[m[2] for m in PAY_METHODS])[0]
    return pay_code, name, charge


def _person(
    prefix: str, name: tuple[str, str, str, str], address: tuple[str, str, str, str], rnd: random.Random
) -> dict[str, str]:
    family, given, family_kana, given_kana = name
    zip_code, prefecture, city, address1 = address
    phone = f"090{rnd.randrange(10**8):08d}" if rnd.random() < 0.7 else f"03{rnd.randrange(10**8):08d}"
    return {
        f"{prefix}FirstName": given,
        f"{prefix}FirstNameKana": given_kana,
        f"{prefix}LastName": family,
        f"{prefix}LastNameKana": family_kana,
        f"{prefix}ZipCode": zip_code,
        f"{prefix}Prefecture": prefecture,
        f"{prefix}City": city,
        f"{prefix}Address1": address1,
        f"{prefix}Address2": rnd.choice(BUILDINGS),
        f"{prefix}PhoneNumber": phone,
    }


def _item(
    line_id: int, product: tuple[str, str, str, int, int, tuple[tuple[str, str], ...]], quantity: int
) -> dict[str, Any]:
    item_id, sub_code, title, price, tax_ratio, options = product
    return {
        "LineId": str(line_id),
        "ItemId": item_id,
        "Title": title,
        "SubCode": sub_code,
        "ItemOption": options,
        "ItemTaxRatio": str(tax_ratio),
        "UnitPrice": str(price),
        "Quantity": str(quantity),
    }
