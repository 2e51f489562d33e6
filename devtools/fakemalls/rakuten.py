"""A fake Rakuten RMS speaking RakutenPayOrderAPI's searchOrder and getOrder over real HTTP, for the connector
tests and for the demo mall `make run` starts.

What it does as RMS does (FORMATS.md and RMS's published field lists):
- `POST /es/2.0/order/searchOrder/` and `POST /es/2.0/order/getOrder/`, JSON UTF-8 both ways, and
  `Authorization: ESA base64(serviceSecret:licenseKey)` checked exactly; a wrong or missing one is a 401 with
  the ESA layer's body `{"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}`.
- searchOrder: dateType (1 注文日, 2 注文確認日, 3 注文確定日, 5 発送完了報告日; 4 and 6 are refused as not
  modelled here), startDatetime/endDatetime as `YYYY-MM-DDThh:mm:ss+0900`, inclusive, at most 63 days apart
  and not before two years ago; orderProgressList; PaginationRequestModel{requestRecordsAmount 1–1000,
  requestPage, SortModelList sortColumn 1 (注文日時) / sortDirection 1 asc, 2 desc}. Answers orderNumberList,
  PaginationResponseModel{totalRecordsAmount, totalPages, requestPage} and MessageModelList.
- getOrder: orderNumberList of 1–100 numbers (more is a 400 with an ERROR message), version; answers
  OrderModelList with the version-7 shape, and an ERROR message carrying the orderNumber for a number it does
  not know. Invalid requests are HTTP 400 with MessageModelList ERROR entries.
- Message codes follow RMS's ORDER_EXT_API_<CALL>_<TYPE>_<n> pattern; the numbers of the error codes are the
  fake's own (the connector reads messageType and message, never the code). The body of a 429 or a 500 is
  `{"Results": {"message": …}}` without an errorCode: Rakuten's code for those was not confirmed.

- updateOrderShipping (B12): `{"orderNumber", "BasketidModelList": [{"basketId", "ShippingModelList":
  [{"deliveryCompany", "shippingNumber", "shippingDate": "YYYY-MM-DD"}]}]}`, checked as RMS checks it: the
  order exists and is not cancelled, each basketId is one of the order's, deliveryCompany is a known code
  (1000 その他, 1001 ヤマト, 1002 佐川, 1003 日本郵便 …), shippingNumber is half-width letters, digits and
  hyphens of at most 20, shippingDate is a real day neither in the future nor before the order. A refusal is
  HTTP 400 with ERROR messages carrying the orderNumber; success adds the numbers to the basket's
  ShippingModelList (what getOrder then shows) and to `shipping_updates`.

Switches, each for the NEXT request(s) whatever they are: `queue_rate_limit` (429 with Retry-After),
`queue_auth_error` (401, as for an expired licenseKey), `queue_server_error` (500), `queue_message_error`
(400 with a MessageModelList ERROR). `add_malformed_order` stores an order whose JSON the connector cannot read.
`add_orders`/`add_order` generate realistic orders (Faker ja_JP names and kana, real postal codes including
remote islands with isolatedIslandFlag 1 and postage not fixed yet, -9999; remarks with のし and the
[配送日時指定:] text; credit card, bank transfer, COD, convenience store, deferred and wallet settlements).
`cancel` moves an order to 900 (or 800) and records the change with its time. `produce` adds orders every
so often until `stop`, for the demo.

Run it alone: `python -m devtools.fakemalls.rakuten --port 8801 --every 60`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import math
import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faker import Faker

from .base import JST, FakeMallServer, MallRequestHandler, demo_arguments

UNSET = -9999
SEARCH_PATH = "/es/2.0/order/searchOrder/"
GET_PATH = "/es/2.0/order/getOrder/"
SHIPPING_PATH = "/es/2.0/order/updateOrderShipping/"
DELIVERY_COMPANIES = {
    "1000": "その他",
    "1001": "ヤマト運輸",
    "1002": "佐川急便",
    "1003": "日本郵便",
    "1004": "西濃運輸",
    "1005": "福山通運",
}
_SHIPPING_NUMBER = re.compile(r"[0-9A-Za-z-]{1,20}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_GET = 100
MAX_PAGE_SIZE = 1000
MAX_WINDOW = dt.timedelta(days=63)
MAX_AGE = dt.timedelta(days=730)
PROGRESS_CODES = frozenset({100, 200, 300, 400, 500, 600, 700, 800, 900})
# dateType → the order field it searches (4 発送日 and 6 決済確定日 are not modelled).
DATE_FIELDS = {1: "orderDatetime", 2: "shopOrderCfmDatetime", 3: "orderFixDatetime", 5: "shippingCmplRptDatetime"}
_WIRE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")
WEEKDAYS = "月火水木金土日"
# The demo shop's keys: not secrets, they open only this fake (shown by `main` so a newcomer can connect a shop).
DEMO_SERVICE_SECRET = "SP382915_fake_secret"  # noqa: S105
DEMO_LICENSE_KEY = "SL382915_fake_key"


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
    Place("980-0811", "宮城県", "仙台市青葉区", "一番町"),
    Place("460-0008", "愛知県", "名古屋市中区", "栄"),
    Place("730-0011", "広島県", "広島市中区", "基町"),
    Place("812-0011", "福岡県", "福岡市博多区", "博多駅前"),
    Place("951-8061", "新潟県", "新潟市中央区", "西堀通"),
    Place("900-0001", "沖縄県", "那覇市", "港町"),
    Place("907-0004", "沖縄県", "石垣市", "登野城", remote_island=True),
    Place("100-1101", "東京都", "三宅島三宅村", "神着", remote_island=True),
    Place("891-7101", "鹿児島県", "大島郡徳之島町", "亀津", remote_island=True),
    Place("952-0011", "新潟県", "佐渡市", "両津夷", remote_island=True),
)
BUILDINGS = ("", "", "", "コーポ桜 102", "グランドメゾン 803", "ハイツ青葉 201", "サンライズビル 5F")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int  # yen, tax included
    tax_rate: float  # 0.08 food (軽減税率) or 0.1, as Rakuten sends it
    choices: tuple[str, ...] = ()  # selectedChoice texts


CATALOGUE: tuple[Product, ...] = (
    Product("TEA-SEN-100", "静岡県産 深蒸し煎茶 100g", 1080, 0.08),
    Product("COF-DRP-20", "ドリップコーヒー アソート 20袋", 2160, 0.08, ("焙煎:中煎り", "焙煎:深煎り")),
    Product("RIC-KOS-5K", "新潟県産コシヒカリ 5kg", 3580, 0.08, ("精米:白米", "精米:無洗米")),
    Product("SWT-DOR-10", "北海道産小豆のどら焼き 10個入", 2400, 0.08, ("のし:なし", "のし:内祝")),
    Product("TWL-IMB-2P", "今治タオル フェイスタオル 2枚組", 2200, 0.1, ("カラー:ホワイト", "カラー:ネイビー")),
    Product(
        "TSH-ORG-01",
        "オーガニックコットン Tシャツ",
        3980,
        0.1,
        ("カラー:ブラック\nサイズ:M", "カラー:ホワイト\nサイズ:L", "カラー:ネイビー\nサイズ:S"),
    ),
    Product("MUG-HSM-01", "波佐見焼 マグカップ", 2420, 0.1, ("カラー:藍", "カラー:白磁")),
    Product("KTL-NBT-065", "南部鉄器 急須 0.65L", 8800, 0.1),
    Product("HCR-YZU-50", "柚子の香りのハンドクリーム 50g", 1320, 0.1),
)
PRODUCTS = {p.sku: p for p in CATALOGUE}

# (settlementMethodCode, settlementMethod, weight)
SETTLEMENTS: tuple[tuple[int, str, int], ...] = (
    (1, "クレジットカード", 50),
    (2, "代金引換", 12),
    (9, "銀行振込", 8),
    (13, "セブンイレブン（前払）", 4),
    (14, "ローソン、郵便局ATM等（前払）", 4),
    (21, "後払い決済", 12),
    (12, "Apple Pay", 5),
    (17, "PayPal", 5),
)
SETTLEMENT_NAMES = {code: name for code, name, _w in SETTLEMENTS}
DELIVERY_NAMES = ("宅配便", "宅配便", "宅配便", "ネコポス（ポスト投函）")
PLAIN_REMARKS = (
    "",
    "",
    "",
    "",
    "[備考:]\nのし希望",
    "[備考:]\nのし希望（表書き：内祝）",
    "[備考:]\n領収書を同梱してください",
    "[備考:]\n不在がちなので置き配を希望します",
)
SHIPPING_TERMS = {1: "午前中", 1416: "14:00～16:00", 1618: "16:00～18:00", 1820: "18:00～20:00", 1921: "19:00～21:00"}
COD_FEE = 330
POSTAGE = 770
FREE_SHIPPING_FROM = 3980


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the JSON sent, or the raw text when it was not JSON


@dataclass
class _Record:
    number: str
    ordered_at: dt.datetime  # the fake's own truth, also for an order whose JSON is broken on purpose
    payload: dict[str, Any]
    updated_at: dt.datetime


class _Handler(MallRequestHandler):
    mall: FakeRakuten
    server_version = "FakeRakuten/1.0"
    json_content_type = "application/json;charset=utf-8"

    def do_POST(self) -> None:
        self.send_json(*self.mall.handle("POST", self.path, self.lowered_headers(), self.read_body()))

    def do_GET(self) -> None:
        self.send_json(*self.mall.handle("GET", self.path, self.lowered_headers(), self.read_body()))


class FakeRakuten(FakeMallServer):
    """An in-memory Rakuten shop behind a local HTTP server (ThreadingHTTPServer on a free port)."""

    handler_class = _Handler
    thread_name = "fake-rakuten"

    def __init__(
        self,
        *,
        service_secret: str = DEMO_SERVICE_SECRET,
        license_key: str = DEMO_LICENSE_KEY,
        shop_id: str = "382915",
        seed: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.service_secret = service_secret
        self.license_key = license_key
        self.shop_id = shop_id
        self.requests: list[RecordedRequest] = []
        self._rng = random.Random(seed)
        self._faker = Faker("ja_JP")
        self._faker.seed_instance(seed)
        self._orders: dict[str, _Record] = {}
        self._sequence = self._rng.randint(10**8, 9 * 10**8)
        self.shipping_updates: list[dict[str, Any]] = []  # what RMS was told: {orderNumber, basketId, …}

    @property
    def credentials(self) -> dict[str, str]:
        """What the shop's admin would enter: the connector's credential_fields."""
        return {"service_secret": self.service_secret, "license_key": self.license_key}

    # --- switches -------------------------------------------------------------------------------------------

    def queue_rate_limit(self, times: int = 1, retry_after: float = 1) -> None:
        """The next `times` requests answer 429 Too Many Requests with Retry-After."""
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        self._queue(times, 429, {"Results": {"message": "Too Many Requests"}}, {"Retry-After": value})

    def queue_auth_error(self, times: int = 1) -> None:
        """The next `times` requests are refused as with an expired licenseKey."""
        self._queue(times, 401, _unauthorised(), {})

    def queue_server_error(self, times: int = 1) -> None:
        self._queue(times, 500, {"Results": {"message": "Internal Server Error"}}, {})

    def queue_message_error(self, message: str = "システムエラーが発生しました。", times: int = 1) -> None:
        """The next `times` requests answer 400 with an ERROR in MessageModelList."""
        body = {"MessageModelList": [_message("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_099", message)]}
        self._queue(times, 400, body, {})

    # --- orders -----------------------------------------------------------------------------------------------

    def add_orders(self, n: int, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[str]:
        """n realistic orders, their order times spread evenly from `since` to `until` (default: one a minute,
        the last one now). Returns their numbers, oldest first."""
        until = _second(until or _now())
        since = _second(since or until - dt.timedelta(minutes=max(n - 1, 0)))
        step = (until - since) / (n - 1) if n > 1 else dt.timedelta(0)
        return [self.add_order(ordered_at=since + step * i) for i in range(n)]

    def add_order(
        self,
        *,
        ordered_at: dt.datetime | None = None,
        remote_island: bool | None = None,
        settlement_code: int | None = None,
        items: Sequence[tuple[str, int]] | None = None,
        packages: int = 1,
        **fields: Any,
    ) -> str:
        """One order; what is not given is drawn at random. `items` are (SKU of CATALOGUE, units); `fields`
        replace top-level keys of the generated OrderModel afterwards."""
        with self._lock:
            moment = _second(ordered_at or _now())
            number = self._next_number(moment)
            payload = self._build(
                number,
                moment,
                remote_island=remote_island,
                settlement_code=settlement_code,
                items=items,
                packages=packages,
            )
            payload.update(fields)
            self._orders[number] = _Record(number, moment, payload, moment)
            return number

    def add_malformed_order(self, defect: str = "price", *, ordered_at: dt.datetime | None = None) -> str:
        """An order the connector must record as failed: defect "price" (a price that is not a number), "date"
        (an orderDatetime that is not a date) or "number" (no orderNumber at all)."""
        number = self.add_order(ordered_at=ordered_at)

        def breaks(order: dict[str, Any]) -> None:
            if defect == "price":
                order["PackageModelList"][0]["ItemModelList"][0]["price"] = "1,200円"
            elif defect == "date":
                order["orderDatetime"] = "2026/13/45 25:61"
            elif defect == "number":
                del order["orderNumber"]
            else:
                raise ValueError(f"unknown defect {defect!r}")

        self.update_order(number, breaks)
        return number

    def cancel(self, number: str, *, confirmed: bool = True, at: dt.datetime | None = None) -> None:
        """The order becomes 900 キャンセル確定 (or 800 キャンセル確定待ち when not confirmed), with a change
        record stamped now: its update time moves, its order time does not."""
        with self._lock:
            record = self._orders[number]
            moment = _second(at or _now())
            order = record.payload
            order["orderProgress"] = 900 if confirmed else 800
            changes = order.setdefault("ChangeReasonModelList", [])
            changes.append(
                {
                    "changeId": self._rng.randint(10**7, 10**8 - 1),
                    "changeType": 1 if confirmed else 0,  # 1 キャンセル確定, 0 キャンセル申請
                    "changeTypeDetail": None,
                    "changeReason": 1,  # お客様都合
                    "changeReasonDetail": 1,  # キャンセル
                    "changeApplyDatetime": _wire(moment),
                    "changeFixDatetime": _wire(moment) if confirmed else None,
                    "changeCmplDatetime": None,
                }
            )
            record.updated_at = moment

    def update_order(self, number: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Edit an order's JSON in place, as a mall-side change would."""
        with self._lock:
            record = self._orders[number]
            change(record.payload)
            record.updated_at = _second(_now())

    def order(self, number: str) -> dict[str, Any]:
        """A copy of the order's JSON as getOrder would send it."""
        with self._lock:
            return copy.deepcopy(self._orders[number].payload)

    def numbers(self) -> list[str]:
        with self._lock:
            return [r.number for r in sorted(self._orders.values(), key=lambda r: (r.ordered_at, r.number))]

    def _next_number(self, moment: dt.datetime) -> str:
        self._sequence += self._rng.randint(1, 40)
        return f"{self.shop_id}-{moment:%Y%m%d}-{self._sequence:010d}"

    # --- generating an order ------------------------------------------------------------------------------

    def _build(
        self,
        number: str,
        moment: dt.datetime,
        *,
        remote_island: bool | None,
        settlement_code: int | None,
        items: Sequence[tuple[str, int]] | None,
        packages: int,
    ) -> dict[str, Any]:
        rng = self._rng
        orderer = self._person(remote_island=remote_island)
        if settlement_code is None:
            settlement_code = rng.choices([c for c, _n, _w in SETTLEMENTS], [w for _c, _n, w in SETTLEMENTS])[0]
        package_list = []
        for index in range(max(packages, 1)):
            # Most orders go to the orderer; some are gifts to someone else (SenderModel is the recipient).
            same = index == 0 and remote_island is None and rng.random() < 0.75
            recipient = orderer if same else self._person(remote_island=remote_island if index == 0 else False)
            chosen = items if (items is not None and index == 0) else self._random_items()
            package_list.append(self._package(recipient, chosen, settlement_code))

        remote = any(p["SenderModel"]["isolatedIslandFlag"] == 1 for p in package_list)
        goods = sum(p["goodsPrice"] for p in package_list)
        postage = (
            UNSET
            if any(p["postagePrice"] == UNSET for p in package_list)
            else sum(p["postagePrice"] for p in package_list)
        )
        cod = (
            UNSET
            if any(p["deliveryPrice"] == UNSET for p in package_list)
            else sum(p["deliveryPrice"] for p in package_list)
        )
        coupon = 300 if rng.random() < 0.2 else 0
        points = rng.choice((100, 250, 500)) if rng.random() < 0.25 else 0
        total = UNSET if postage == UNSET else goods + postage
        request = UNSET if UNSET in (postage, cod) else goods + postage + cod - coupon - points

        delivery_date: str | None = None
        shipping_term = 0
        remarks = rng.choice(PLAIN_REMARKS)
        roll = rng.random()
        if roll < 0.25:  # the customer picked a day (and maybe a time) in the order form
            day = moment.date() + dt.timedelta(days=rng.randint(3, 8))
            shipping_term = rng.choice((0, *SHIPPING_TERMS))
            delivery_date = day.isoformat()
            remarks = _delivery_remark(day, SHIPPING_TERMS.get(shipping_term, "")) + remarks
        elif roll < 0.35:  # only as text in the remarks, the date field left empty
            day = moment.date() + dt.timedelta(days=rng.randint(3, 8))
            remarks = _delivery_remark(day, rng.choice(("午前中", "14:00～16:00", ""))) + remarks

        return {
            "orderNumber": number,
            "orderProgress": 100,
            "subStatusId": None,
            "subStatusName": None,
            "orderDatetime": _wire(moment),
            "shopOrderCfmDatetime": None,
            "orderFixDatetime": None,
            "shippingInstDatetime": None,
            "shippingCmplRptDatetime": None,
            "cancelDueDate": None,
            "deliveryDate": delivery_date,
            "shippingTerm": shipping_term,
            "remarks": remarks,
            "giftCheckFlag": 0 if package_list[0]["SenderModel"]["familyName"] == orderer["familyName"] else 1,
            "severalSenderFlag": 1 if len(package_list) > 1 else 0,
            "equalSenderFlag": 1
            if len(package_list) == 1 and package_list[0]["SenderModel"]["zipCode2"] == orderer["zipCode2"]
            else 0,
            "isolatedIslandFlag": 1 if remote else 0,
            "rakutenMemberFlag": 1,
            "carrierCode": rng.choice((0, 11, 12)),
            "emailCarrierCode": 0,
            "orderType": 1,
            "reserveNumber": None,
            "reserveDeliveryCount": None,
            "cautionDisplayType": 0,
            "rakutenConfirmFlag": 0,
            "goodsPrice": goods,
            "goodsTax": 0,
            "postagePrice": postage,
            "deliveryPrice": cod,
            "paymentCharge": 0,
            "paymentChargeTaxRate": 0.1,
            "totalPrice": total,
            "requestPrice": request,
            "couponAllTotalPrice": coupon,
            "couponShopPrice": coupon,
            "couponOtherPrice": 0,
            "additionalFeeOccurAmountToUser": 0,
            "additionalFeeOccurAmountToShop": 0,
            "asurakuFlag": 0,
            "drugFlag": 0,
            "dealFlag": 0,
            "membershipType": 0,
            "memo": None,
            "operator": None,
            "mailPlugSentence": None,
            "modifyFlag": 0,
            "receiptIssueCount": 0,
            "receiptIssueHistoryList": [],
            "OrdererModel": {
                **_public(orderer),
                "emailAddress": f"{rng.getrandbits(64):016x}s1@pc.fw.rakuten.ne.jp",
                "sex": rng.choice(("男", "女")),
                "birthYear": rng.randint(1950, 2004),
                "birthMonth": rng.randint(1, 12),
                "birthDay": rng.randint(1, 28),
            },
            "PaymentModel": None,
            "SettlementModel": _settlement(settlement_code, orderer, rng),
            "DeliveryModel": {"deliveryName": rng.choice(DELIVERY_NAMES), "deliveryClass": 0},
            "PointModel": {"usedPoint": points},
            "WrappingModel1": None,
            "WrappingModel2": None,
            "PackageModelList": package_list,
            "CouponModelList": [_coupon(coupon, moment)] if coupon else [],
            "ChangeReasonModelList": [],
            "TaxSummaryModelList": [],
            "DueDateModelList": [],
        }

    def _person(self, *, remote_island: bool | None) -> dict[str, Any]:
        rng = self._rng
        family, family_kana, _roman = self._faker.last_name_pair()
        first, first_kana, _roman = self._faker.first_name_pair()
        places = [p for p in PLACES if remote_island is None or p.remote_island == remote_island]
        if remote_island is None:  # remote islands are a small share of real orders
            places = [p for p in places if not p.remote_island] if rng.random() < 0.9 else places
        place = rng.choice(places)
        zip1, zip2 = place.postal_code.split("-")
        building = rng.choice(BUILDINGS)
        street = f"{place.town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"
        return {
            "zipCode1": zip1,
            "zipCode2": zip2,
            "prefecture": place.prefecture,
            "city": place.city,
            "subAddress": f"{street} {building}".strip(),
            "familyName": family,
            "firstName": first,
            "familyNameKana": family_kana,
            "firstNameKana": first_kana,
            "phoneNumber1": rng.choice(("090", "080", "070")),
            "phoneNumber2": f"{rng.randint(0, 9999):04d}",
            "phoneNumber3": f"{rng.randint(0, 9999):04d}",
            "_remote": place.remote_island,
        }

    def _random_items(self) -> list[tuple[str, int]]:
        chosen = self._rng.sample(CATALOGUE, self._rng.choice((1, 1, 1, 2, 2, 3)))
        return [(p.sku, self._rng.choice((1, 1, 1, 2, 3))) for p in chosen]

    def _package(
        self, person: dict[str, Any], items: Sequence[tuple[str, int]], settlement_code: int
    ) -> dict[str, Any]:
        rng = self._rng
        remote = bool(person.get("_remote"))
        item_list: list[dict[str, Any]] = []
        for sku, units in items:
            product = PRODUCTS[sku]
            choice = rng.choice(product.choices) if product.choices else ""
            variant = f"{sku}-{product.choices.index(choice) + 1}" if choice else sku
            item_list.append(
                {
                    "itemDetailId": rng.randint(10**8, 10**9 - 1),
                    "itemName": product.name,
                    "itemId": rng.randint(10**7, 10**8 - 1),
                    "itemNumber": sku,
                    "manageNumber": sku.lower(),
                    "price": product.price,
                    "units": units,
                    "includePostageFlag": 0,
                    "includeTaxFlag": 1,
                    "includeCashOnDeliveryPostageFlag": 0,
                    "selectedChoice": choice or None,
                    "pointRate": 1,
                    "pointType": 0,
                    "inventoryType": 2 if choice else 1,
                    "delvdateInfo": "1～2日以内に発送予定（店舗休業日を除く）",
                    "restoreInventoryFlag": 0,
                    "dealFlag": 0,
                    "drugFlag": 0,
                    "deleteItemFlag": 0,
                    "taxRate": product.tax_rate,
                    "priceTaxIncl": product.price,
                    "isSingleItemShipping": 0,
                    "SkuModelList": [
                        {
                            "variantId": f"v{zlib.crc32(variant.encode()):010d}",
                            "merchantDefinedSkuId": variant,
                            "skuInfo": choice.replace("\n", " ") or None,
                        }
                    ],
                }
            )
        goods = sum(i["price"] * i["units"] for i in item_list)
        # A remote island's postage is fixed by the shop after the order: until then Rakuten says -9999.
        postage = UNSET if remote else (0 if goods >= FREE_SHIPPING_FROM else POSTAGE)
        cod = (UNSET if remote else COD_FEE) if settlement_code == 2 else 0
        sender = _public(person)
        sender["isolatedIslandFlag"] = 1 if remote else 0
        return {
            "basketId": rng.randint(10**8, 10**9 - 1),
            "postagePrice": postage,
            "postageTaxRate": 0.1,
            "deliveryPrice": cod,
            "deliveryTaxRate": 0.1,
            "goodsTax": 0,
            "goodsPrice": goods,
            "totalPrice": UNSET if postage == UNSET else goods + postage,
            "noshi": None,
            "packageDeleteFlag": 0,
            "SenderModel": sender,
            "ItemModelList": item_list,
            "ShippingModelList": [],
            "DeliveryCvsModel": None,
            "defaultDeliveryCompanyCode": "1001",
        }

    # --- HTTP -----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One request → (status, JSON body, extra headers). Called by the HTTP handler's threads."""
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, body))
            if (canned := self._next_canned()) is not None:
                return canned.status, canned.body, canned.headers
        if path not in (SEARCH_PATH, GET_PATH, SHIPPING_PATH):
            return 404, {"Results": {"message": "Not Found"}}, {}
        expected = "ESA " + base64.b64encode(f"{self.service_secret}:{self.license_key}".encode()).decode()
        if headers.get("authorization", "") != expected:
            return 401, _unauthorised(), {}
        if method != "POST":
            return 405, {"Results": {"message": "Method Not Allowed"}}, {}
        if not headers.get("content-type", "").lower().startswith("application/json"):
            return 415, {"Results": {"message": "Unsupported Media Type"}}, {}
        if not isinstance(body, dict):
            return _bad("COMMON", "リクエストがJSONではありません。")
        if path == SEARCH_PATH:
            return self._search(body)
        if path == SHIPPING_PATH:
            return self._update_shipping(body)
        return self._get(body)

    def _update_shipping(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        number = body.get("orderNumber")
        if not isinstance(number, str) or not number:
            return _bad("UPDATE_ORDERSHIPPING", "orderNumberは必須です。")

        def refused(text: str) -> tuple[int, dict[str, Any], dict[str, str]]:
            message = {**_message("ERROR", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_001", text), "orderNumber": number}
            return 400, {"MessageModelList": [message]}, {}

        with self._lock:
            record = self._orders.get(number)
            if record is None:
                return refused("指定された注文番号の受注は存在しません。")
            order = record.payload
            if order.get("orderProgress") in (800, 900):
                return refused("キャンセルされた受注の発送情報は更新できません。")
            baskets = {p.get("basketId"): p for p in order.get("PackageModelList") or []}
            models = body.get("BasketidModelList")
            if not isinstance(models, list) or not models:
                return refused("BasketidModelListは必須です。")
            today = _now().date()
            ordered = record.ordered_at.astimezone(JST).date()
            updates: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for model in models:
                basket = baskets.get(model.get("basketId")) if isinstance(model, dict) else None
                if basket is None:
                    return refused("指定されたbasketIdはこの受注のものではありません。")
                shippings = model.get("ShippingModelList")
                if not isinstance(shippings, list) or not shippings:
                    return refused("ShippingModelListは必須です。")
                for shipping in shippings:
                    if not isinstance(shipping, dict):
                        return refused("ShippingModelListが不正です。")
                    company, code = shipping.get("deliveryCompany"), shipping.get("shippingNumber")
                    day_text = shipping.get("shippingDate")
                    if company not in DELIVERY_COMPANIES:
                        return refused("deliveryCompanyが不正です。")
                    if not isinstance(code, str) or not _SHIPPING_NUMBER.fullmatch(code):
                        return refused("shippingNumberは半角英数字とハイフン20文字以内で指定してください。")
                    try:
                        day = (
                            dt.date.fromisoformat(day_text)
                            if isinstance(day_text, str) and _DAY.fullmatch(day_text)
                            else None
                        )
                    except ValueError:
                        day = None
                    if day is None:
                        return refused("shippingDateの形式が不正です。")
                    if day > today or day < ordered:
                        return refused("shippingDateは注文日から本日までの日付で指定してください。")
                    updates.append(
                        (basket, {"deliveryCompany": company, "shippingNumber": code, "shippingDate": day_text})
                    )
            for basket, shipping in updates:
                basket.setdefault("ShippingModelList", []).append(
                    {
                        "shippingDetailId": self._rng.randint(10**7, 10**8 - 1),
                        **shipping,
                        "deliveryCompanyName": DELIVERY_COMPANIES[shipping["deliveryCompany"]],
                    }
                )
                self.shipping_updates.append({"orderNumber": number, "basketId": basket["basketId"], **shipping})
            record.updated_at = _second(_now())
        info = _message("INFO", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_INFO_101", "発送情報の更新に成功しました。")
        return 200, {"MessageModelList": [{**info, "orderNumber": number}]}, {}

    def _search(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        date_type = body.get("dateType")
        if date_type not in (1, 2, 3, 4, 5, 6):
            return _bad("SEARCH_ORDER", "dateTypeが不正です。")
        if date_type not in DATE_FIELDS:
            return _bad("SEARCH_ORDER", f"dateType {date_type} is not modelled by the fake mall.")
        start, end = _parse_wire(body.get("startDatetime")), _parse_wire(body.get("endDatetime"))
        if start is None or end is None:
            return _bad("SEARCH_ORDER", "startDatetime/endDatetimeの形式が不正です。")
        if end < start or end - start > MAX_WINDOW:
            return _bad("SEARCH_ORDER", "検索期間は63日以内で指定してください。")
        if start < _now() - MAX_AGE:
            return _bad("SEARCH_ORDER", "startDatetimeは過去2年以内で指定してください。")
        progress = body.get("orderProgressList")
        if progress is not None and (not isinstance(progress, list) or not set(progress) <= PROGRESS_CODES):
            return _bad("SEARCH_ORDER", "orderProgressListが不正です。")
        paging = body.get("PaginationRequestModel")
        if not isinstance(paging, dict):
            return _bad("SEARCH_ORDER", "PaginationRequestModelは必須です。")
        amount, page = paging.get("requestRecordsAmount"), paging.get("requestPage")
        if not isinstance(amount, int) or not 1 <= amount <= MAX_PAGE_SIZE:
            return _bad("SEARCH_ORDER", "requestRecordsAmountは1から1000で指定してください。")
        if not isinstance(page, int) or page < 1:
            return _bad("SEARCH_ORDER", "requestPageが不正です。")
        descending = any(
            isinstance(s, dict) and s.get("sortColumn") == 1 and s.get("sortDirection") == 2
            for s in paging.get("SortModelList") or []
        )

        with self._lock:
            found = []
            for record in self._orders.values():
                stamp = record.ordered_at if date_type == 1 else _parse_wire(record.payload.get(DATE_FIELDS[date_type]))
                if stamp is None or not start <= stamp <= end:
                    continue
                if progress is not None and record.payload.get("orderProgress") not in progress:
                    continue
                found.append((stamp, record.number))
        found.sort(reverse=descending)
        total = len(found)
        numbers = [number for _stamp, number in found[(page - 1) * amount : page * amount]]
        return (
            200,
            {
                "MessageModelList": [
                    _message("INFO", "ORDER_EXT_API_SEARCH_ORDER_INFO_101", "注文検索に成功しました。")
                ],
                "orderNumberList": numbers,
                "PaginationResponseModel": {
                    "totalRecordsAmount": total,
                    "totalPages": math.ceil(total / amount),
                    "requestPage": page,
                },
            },
            {},
        )

    def _get(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        numbers = body.get("orderNumberList")
        if not isinstance(numbers, list) or not numbers or not all(isinstance(n, str) for n in numbers):
            return _bad("GET_ORDER", "orderNumberListは必須です。")
        if len(numbers) > MAX_GET:
            return _bad("GET_ORDER", "orderNumberListは100件以内で指定してください。")
        version = body.get("version", 1)
        if not isinstance(version, int) or version < 1:
            return _bad("GET_ORDER", "versionが不正です。")
        messages, orders = [], []
        with self._lock:
            for number in numbers:
                record = self._orders.get(number)
                if record is None:
                    messages.append(
                        {
                            **_message(
                                "ERROR", "ORDER_EXT_API_GET_ORDER_ERROR_010", "指定された注文番号の受注は存在しません。"
                            ),
                            "orderNumber": number,
                        }
                    )
                    continue
                messages.append(
                    {
                        **_message("INFO", "ORDER_EXT_API_GET_ORDER_INFO_101", "受注情報取得に成功しました。"),
                        "orderNumber": number,
                    }
                )
                orders.append(copy.deepcopy(record.payload))
        return 200, {"MessageModelList": messages, "OrderModelList": orders, "version": version}, {}


# --- helpers ----------------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(JST)


def _second(moment: dt.datetime) -> dt.datetime:
    """Rakuten keeps order times to the second."""
    return moment.astimezone(JST).replace(microsecond=0)


def _wire(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def _parse_wire(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not _WIRE_DATETIME.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _public(person: dict[str, Any]) -> dict[str, Any]:
    """A generated person without the fake's own bookkeeping keys."""
    return {k: v for k, v in person.items() if not k.startswith("_")}


def _message(kind: str, code: str, text: str) -> dict[str, Any]:
    return {"messageType": kind, "messageCode": code, "message": text}


def _bad(call: str, text: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return 400, {"MessageModelList": [_message("ERROR", f"ORDER_EXT_API_{call}_ERROR_001", text)]}, {}


def _unauthorised() -> dict[str, Any]:
    return {"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}


def _delivery_remark(day: dt.date, slot: str) -> str:
    lines = ["[配送日時指定:]", f"{day.isoformat()}({WEEKDAYS[day.weekday()]})"]
    if slot:
        lines.append(slot)
    return "\n".join(lines) + "\n"


def _settlement(code: int, orderer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    card = code == 1
    return {
        "settlementMethodCode": code,
        "settlementMethod": SETTLEMENT_NAMES.get(code, "クレジットカード"),
        "rpaySettlementFlag": 1,
        "cardName": rng.choice(("VISA", "MasterCard", "JCB")) if card else None,
        "cardNumber": f"XXXX-XXXX-XXXX-{rng.randint(0, 9999):04d}" if card else None,
        "cardOwner": "RAKUTEN TARO" if card else None,
        "cardYm": f"{rng.randint(2027, 2031)}-{rng.randint(1, 12):02d}" if card else None,
        "cardPayType": 0 if card else None,
        "cardInstallmentDesc": None,
    }


def _coupon(price: int, moment: dt.datetime) -> dict[str, Any]:
    return {
        "couponCode": "SHOP-300OFF",
        "itemId": 0,
        "couponName": "ショップ限定300円OFFクーポン",
        "couponSummary": "300円OFF",
        "couponCapital": "ショップ",
        "couponCapitalCode": 1,
        "expiryDate": (moment.date() + dt.timedelta(days=30)).isoformat(),
        "couponPrice": price,
        "couponUnit": 1,
        "couponTotalPrice": price,
        "itemDetailId": 0,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a demo shop until interrupted, adding orders every so often."""
    args = demo_arguments(__doc__, orders_help="orders to start with (over the past day)").parse_args(argv)
    fake = FakeRakuten().start(args.port)
    if args.orders:
        fake.add_orders(args.orders, since=_now() - dt.timedelta(days=1))
    fake.produce(args.every)
    fake.serve_until_interrupted(
        f"fake Rakuten RMS at {fake.url}  service_secret={fake.service_secret} license_key={fake.license_key}"
    )


if __name__ == "__main__":
    main()
