"""Rakuten Ichiba through RMS's RakutenPayOrderAPI (楽天ペイ受注API): searchOrder for the order numbers in a
time window, then getOrder for the orders, at most 100 numbers a call.

Which orders a poll asks for
    searchOrder has no "last updated" date type: dateType is 1 注文日, 2 注文確認日, 3 注文確定日, 4 発送日,
    5 発送完了報告日 or 6 決済確定日. We search by 1 (注文日): every order has one, it never changes, so each
    order falls into exactly one window and a window once read stays read. The other types are set only
    once the shop has acted on the order, so new orders would not come back by them.

    Because the order date never moves, a mall-side cancellation of an order read in an earlier poll would
    never come back by itself. So each poll also sweeps the CANCEL_LOOKBACK (30 days) before its window for
    orders in orderProgress 800 (キャンセル確定待ち) and 900 (キャンセル確定) and reads them again; the
    import upserts, so an unchanged one costs nothing and a newly cancelled one is updated. Other mall-side
    edits (an address the shop changed in RMS) on an order read earlier are not seen: there is no search
    key for them. Cancellations made more than CANCEL_LOOKBACK after the order are not seen either.

The cursor
    The end of the last window read in full, as ISO 8601 text in JST ("2026-05-01T12:00:00+09:00"); "" the
    first time, when the poll starts INITIAL_LOOKBACK (30 days) back. A poll reads from the cursor minus
    OVERLAP (10 minutes, so an order stamped a little before our clock's "now", or made visible late, is
    not skipped; reading it twice is harmless) up to now, in windows of at most MAX_WINDOW (Rakuten takes
    at most 63 days a search). Every getOrder chunk is one Page. A page carries the cursor the poll started
    from, except the window's last page, which carries the window's end: a poll that dies mid-window reads
    the whole window again next time, and one that dies between windows resumes at the next window.
    The cancellation sweep's pages come after the new orders' pages (they are older orders, so the pages
    are not strictly oldest first there) and carry the final cursor.

How a Rakuten order maps
    - orderProgress → mall_status ("100" … "900"); cancelled only at 900. 800 (キャンセル確定待ち) is a
      cancellation Rakuten has not confirmed and can still be withdrawn: it stays cancelled=False, and
      the shop's status mapping can hold orders in CANCEL_PENDING_PROGRESS.
    - In a package, SenderModel is the recipient (送付先), not the sender. Items of every package become
      lines; the destination is the first package's SenderModel, as an order here has one destination.
    - Shipping fee and COD fee are the order's totals over its packages (postagePrice, deliveryPrice 代引料).
      Rakuten Pay orders can bill the COD charge as paymentCharge (決済手数料); for COD orders with no
      deliveryPrice that is used.
    - -9999 means "not fixed yet" (for example postage of a remote-island order): 0 for fees and discounts,
      and None for the total, so an unfixed total is not mistaken for a wrong one.
    - SKU: the SKU project's merchantDefinedSkuId (システム連携用SKU番号) when set, else itemNumber (商品番号),
      else manageNumber (商品管理番号). Tax-excluded items (includeTaxFlag 0) use priceTaxIncl.
    - Requested delivery date and time: deliveryDate and shippingTerm; when they are empty, the date and
      time the customer wrote in the "[配送日時指定:]" part of remarks. remarks itself is kept whole.
    - memo (the shop's ひとことメモ in RMS) becomes order_comment.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import register
from .base import (
    AuthFailed,
    Connector,
    FailedOrder,
    ImportedLine,
    ImportedOrder,
    MallError,
    MallUnavailable,
    Page,
    Parcel,
    RateLimited,
    ShipmentRefused,
)
from .parsing import JST, in_japan, json_body

UNSET = -9999  # Rakuten's "no value yet" for amounts

# orderProgress, as RMS names it.
ORDER_PROGRESS: dict[str, str] = {
    "100": "注文確認待ち",
    "200": "楽天処理中",
    "300": "発送待ち",
    "400": "変更確定待ち",
    "500": "発送済",
    "600": "支払手続き中",
    "700": "支払手続き済",
    "800": "キャンセル確定待ち",
    "900": "キャンセル確定",
}
CANCELLED_PROGRESS = "900"
CANCEL_PENDING_PROGRESS = "800"

# SettlementModel.settlementMethodCode, as RMS names it.
SETTLEMENT_METHODS: dict[str, str] = {
    "1": "クレジットカード",
    "2": "代金引換",
    "3": "後払い",
    "4": "ショッピングクレジット／ローン",
    "5": "オートローン",
    "6": "リース",
    "7": "請求書払い",
    "8": "ポイント",
    "9": "銀行振込",
    "12": "Apple Pay",
    "13": "セブンイレブン（前払）",
    "14": "ローソン、郵便局ATM等（前払）",
    "16": "Alipay",
    "17": "PayPal",
    "21": "後払い決済",
    "27": "Alipay（支付宝）",
}

# The default mapping the import offers, settlement code → the tenant's PaymentMethod.code (the defaults of
# orders.services.DEFAULT_PAYMENT_METHODS). The admin can change it per shop. Wallets settled through
# Rakuten's common payment (Apple Pay, PayPal, Alipay, points) need no payment check, like 楽天ペイ; credit,
# loans and invoices are paid by a third party later, like 後払い.
PAYMENT_CODES: dict[str, str] = {
    "1": "credit_card",
    "2": "cod",
    "3": "deferred",
    "4": "deferred",
    "5": "deferred",
    "6": "deferred",
    "7": "deferred",
    "8": "rakuten_pay",
    "9": "bank_transfer",
    "12": "rakuten_pay",
    "13": "convenience_store",
    "14": "convenience_store",
    "16": "rakuten_pay",
    "17": "rakuten_pay",
    "21": "deferred",
    "27": "rakuten_pay",
}
COD_SETTLEMENT = "2"

# Error codes of RMS's common (ESA) layer that mean the keys are wrong, expired, or not allowed this API:
# operators' FAQs report both ES01-01 "Un-Authorised" and ES04-01 for a wrong or expired licenseKey and for
# RakutenPay_OrderAPI not switched on in RMS. Either way an admin must act.
_AUTH_CODE_PREFIXES = ("ES01", "ES04")


class MalformedOrder(ValueError):
    """An order field that cannot be read: the order becomes a FailedOrder with this reason."""


@register
class RakutenConnector(Connector):
    kind = "rakuten"
    default_base_url = "https://api.rms.rakuten.co.jp"
    credential_fields = ("service_secret", "license_key")
    secret_fields = ("service_secret", "license_key")
    credential_labels: ClassVar[Mapping[str, Any]] = {
        "service_secret": gettext_lazy("Service secret"),
        "license_key": gettext_lazy("License key"),
    }

    SEARCH_PATH: ClassVar[str] = "/es/2.0/order/searchOrder/"
    GET_PATH: ClassVar[str] = "/es/2.0/order/getOrder/"
    SHIPPING_PATH: ClassVar[str] = "/es/2.0/order/updateOrderShipping/"
    # deliveryCompany (FORMATS.md): 1001 ヤマト運輸, 1002 佐川急便, 1003 日本郵便; 1000 その他.
    DELIVERY_COMPANIES: ClassVar[Mapping[str, str]] = {
        "yamato": "1001",
        "sagawa": "1002",
        "japanpost": "1003",
        "other": "1000",
    }
    VERSION: ClassVar[int] = 7  # getOrder response version: 7 adds the SKU models
    DATE_TYPE: ClassVar[int] = 1  # 注文日; see the module docstring
    SEARCH_PAGE_SIZE: ClassVar[int] = 1000  # requestRecordsAmount, Rakuten's maximum
    GET_CHUNK: ClassVar[int] = 100  # getOrder takes at most 100 numbers
    INITIAL_LOOKBACK: ClassVar[dt.timedelta] = dt.timedelta(days=30)
    OVERLAP: ClassVar[dt.timedelta] = dt.timedelta(minutes=10)
    # Rakuten allows 63 days a search; one day less holds however it counts them (hours or calendar days).
    MAX_WINDOW: ClassVar[dt.timedelta] = dt.timedelta(days=62)
    MAX_AGE: ClassVar[dt.timedelta] = dt.timedelta(days=729)  # searchable: the past two years
    CANCEL_LOOKBACK: ClassVar[dt.timedelta] = dt.timedelta(days=30)
    SWEEP_PROGRESS: ClassVar[tuple[int, ...]] = (800, 900)

    def __init__(
        self, credentials: Mapping[str, str], *, now: Callable[[], dt.datetime] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(credentials, **kwargs)
        # Injected in tests that need a fixed "now"; the mall's clock is what matters, ours is the best guess.
        self.now = now or (lambda: dt.datetime.now(JST))

    # --- paging ---------------------------------------------------------------------------------------------

    def pages(self, cursor: str) -> Iterator[Page]:
        now = self.now().astimezone(JST).replace(microsecond=0)
        start = self._start(cursor, now)
        saved = cursor
        for window_start, window_end in _windows(start, now, self.MAX_WINDOW):
            window_cursor = window_end.isoformat()
            for orders, last in self._window(window_start, window_end, progress=()):
                yield Page(orders=orders, cursor=window_cursor if last else saved)
            saved = window_cursor
        # The sweep never reaches before what the first poll read, as long as CANCEL_LOOKBACK is not longer
        # than INITIAL_LOOKBACK (nor before the shop's set start): it re-reads known orders, it does not
        # import old cancelled ones.
        sweep_from = now - min(self.CANCEL_LOOKBACK, self.MAX_AGE)
        if self.first_poll_from is not None:
            sweep_from = max(sweep_from, self.first_poll_from)
        for window_start, window_end in _windows(sweep_from, min(start, now), self.MAX_WINDOW):
            for orders, _last in self._window(window_start, window_end, progress=self.SWEEP_PROGRESS):
                if orders:
                    yield Page(orders=orders, cursor=saved)

    def _start(self, cursor: str, now: dt.datetime) -> dt.datetime:
        if not cursor:
            start = self.first_poll_start(now, self.INITIAL_LOOKBACK)
        else:
            try:
                start = dt.datetime.fromisoformat(cursor)
            except ValueError:
                raise MallError(_("Unreadable Rakuten cursor %(cursor)r.") % {"cursor": cursor}) from None
            if start.tzinfo is None:
                raise MallError(_("Unreadable Rakuten cursor %(cursor)r.") % {"cursor": cursor})
            start = start.astimezone(JST) - self.OVERLAP
        # Rakuten searches only the past two years; a shop idle for longer resumes from there.
        return max(start, now - self.MAX_AGE)

    def _window(
        self, start: dt.datetime, end: dt.datetime, progress: Sequence[int]
    ) -> Iterator[tuple[list[ImportedOrder | FailedOrder], bool]]:
        """The window's orders, one getOrder chunk at a time, with "is this the window's last chunk".
        Always yields at least once, so that an empty window still moves the cursor."""
        request_page = 1
        while True:
            body = self._search(start, end, request_page, progress)
            numbers = list(dict.fromkeys(str(n) for n in (body.get("orderNumberList") or [])))
            pagination = body.get("PaginationResponseModel") or {}
            total_pages = _int_or_zero(pagination.get("totalPages"))
            last_page = request_page >= total_pages or not numbers
            chunks = [numbers[i : i + self.GET_CHUNK] for i in range(0, len(numbers), self.GET_CHUNK)] or [[]]
            for index, chunk in enumerate(chunks):
                orders = self.get_orders(chunk) if chunk else []
                yield orders, last_page and index == len(chunks) - 1
            if last_page:
                return
            request_page += 1

    # --- the two calls --------------------------------------------------------------------------------------

    def _search(
        self, start: dt.datetime, end: dt.datetime, request_page: int, progress: Sequence[int]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "dateType": self.DATE_TYPE,
            "startDatetime": _rakuten_datetime(start),
            "endDatetime": _rakuten_datetime(end),
            "PaginationRequestModel": {
                "requestRecordsAmount": self.SEARCH_PAGE_SIZE,
                "requestPage": request_page,
                # sortColumn 1 注文日時, sortDirection 1 ascending: oldest first, and orders arriving while
                # we page land on the last page instead of shifting the pages we have not read yet.
                "SortModelList": [{"sortColumn": 1, "sortDirection": 1}],
            },
        }
        if progress:
            payload["orderProgressList"] = list(progress)
        body = self._post(self.SEARCH_PATH, payload)
        errors = _errors(body, with_order_number=None)
        if errors:
            raise MallError(_("Rakuten searchOrder failed: %(errors)s") % {"errors": errors})
        return body

    def get_orders(self, numbers: Sequence[str]) -> list[ImportedOrder | FailedOrder]:
        """getOrder for up to GET_CHUNK numbers: each order read, or a FailedOrder with its reason. An order
        Rakuten reports an error for, or does not return at all, is a FailedOrder too: nothing is dropped."""
        if len(numbers) > self.GET_CHUNK:
            raise ValueError(f"getOrder takes at most {self.GET_CHUNK} order numbers")
        if not numbers:
            return []
        body = self._post(self.GET_PATH, {"orderNumberList": list(numbers), "version": self.VERSION})
        errors = _errors(body, with_order_number=False)
        if errors:
            raise MallError(_("Rakuten getOrder failed: %(errors)s") % {"errors": errors})
        out: list[ImportedOrder | FailedOrder] = []
        answered: set[str] = set()
        for message in body.get("MessageModelList") or []:
            if isinstance(message, dict) and message.get("orderNumber") and _is_error(message):
                number = str(message["orderNumber"])
                answered.add(number)
                out.append(FailedOrder(number, _message_text(message), _json_text(message)))
        raw_orders = body.get("OrderModelList") or []
        if not isinstance(raw_orders, list):
            raise MallError(_("Rakuten getOrder answered without an OrderModelList."))
        nameless: list[Any] = []
        for raw in raw_orders:
            number = str(raw.get("orderNumber") or "") if isinstance(raw, dict) else ""
            if not number:
                nameless.append(raw)
                continue
            answered.add(number)
            try:
                out.append(map_order(raw))
            except MalformedOrder as error:
                out.append(FailedOrder(number, str(error), _json_text(raw)))
            except (TypeError, AttributeError, KeyError, ValueError, ArithmeticError) as error:
                # A shape the mapping did not expect (an object where a list belongs …): still only this order.
                out.append(
                    FailedOrder(number, _("Unexpected order data: %(error)r") % {"error": error}, _json_text(raw))
                )
        missing = [n for n in numbers if n not in answered]
        if len(nameless) == 1 and len(missing) == 1:
            # The one order without a number can only be the one number nobody else answered for.
            out.append(FailedOrder(missing.pop(), _("The order has no orderNumber."), _json_text(nameless.pop())))
        out.extend(FailedOrder("", _("The order has no orderNumber."), _json_text(raw)) for raw in nameless)
        out.extend(FailedOrder(n, _("Rakuten's getOrder did not return this order."), "") for n in missing)
        return out

    # --- shipment data back (B12) -------------------------------------------------------------------------

    def report_shipment(self, *, mall_order: str, parcels: Sequence[Parcel]) -> str:
        """updateOrderShipping for the order's baskets. Our orders do not keep Rakuten's basketId, so getOrder
        first tells the baskets and the numbers they already carry (a number Rakuten holds is not sent again).
        With as many baskets as parcels (one parcel to each destination), parcel n goes to basket n; otherwise
        every parcel goes to the first basket (one destination, several parcels)."""
        try:
            body = self._post(self.GET_PATH, {"orderNumberList": [mall_order], "version": self.VERSION})
        except (AuthFailed, RateLimited, MallUnavailable):
            raise
        except MallError as error:
            raise ShipmentRefused(str(error)) from error
        errors = _errors(body, with_order_number=None)
        raw = next(
            (o for o in body.get("OrderModelList") or [] if isinstance(o, dict) and o.get("orderNumber") == mall_order),
            None,
        )
        if raw is None:
            raise ShipmentRefused(errors or _("Rakuten does not know the order %(number)s.") % {"number": mall_order})
        baskets = [p for p in raw.get("PackageModelList") or [] if isinstance(p, dict) and p.get("basketId")]
        if not baskets:
            raise ShipmentRefused(_("Rakuten's order %(number)s has no basket.") % {"number": mall_order})
        held = {
            str(s.get("shippingNumber") or "")
            for p in baskets
            for s in p.get("ShippingModelList") or []
            if isinstance(s, dict)
        }
        new = [parcel for parcel in parcels if parcel.number not in held]
        if not new:
            return _("Rakuten already has these tracking numbers.")
        paired = len(baskets) == len(new)
        models: list[dict[str, Any]] = []
        for index, basket in enumerate(baskets):
            mine = [new[index]] if paired else (new if index == 0 else [])
            if mine:
                models.append(
                    {
                        "basketId": basket["basketId"],
                        "ShippingModelList": [
                            {
                                "deliveryCompany": self.DELIVERY_COMPANIES.get(parcel.carrier, "1000"),
                                "shippingNumber": parcel.number,
                                "shippingDate": parcel.shipped_on.isoformat(),
                            }
                            for parcel in mine
                        ],
                    }
                )
        try:
            answer = self._post(self.SHIPPING_PATH, {"orderNumber": mall_order, "BasketidModelList": models})
        except (AuthFailed, RateLimited, MallUnavailable):
            raise
        except MallError as error:
            raise ShipmentRefused(str(error)) from error
        if errors := _errors(answer, with_order_number=None):
            raise ShipmentRefused(errors)
        infos = [_message_text(m) for m in answer.get("MessageModelList") or [] if isinstance(m, dict)]
        return "; ".join(infos) or _("Rakuten took the shipping data.")

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.request(
            "POST",
            self.base_url + path,
            content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={
                "Authorization": self._authorization(),
                "Content-Type": "application/json;charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            body = json_body(response)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        results = body.get("Results") if isinstance(body, dict) else None
        if isinstance(results, dict) and results.get("errorCode"):
            code, message = str(results.get("errorCode")), str(results.get("message") or "")
            if response.status_code in (401, 403) or code.startswith(_AUTH_CODE_PREFIXES):
                raise AuthFailed(_auth_message(code, message))
            raise MallError(
                _("Rakuten answered %(status)s: %(code)s %(message)s")
                % {"status": response.status_code, "code": code, "message": message}
            )
        if response.status_code in (401, 403):
            raise AuthFailed(_auth_message(str(response.status_code), response.reason_phrase))
        if response.status_code >= 400:
            errors = _errors(body, with_order_number=None) if isinstance(body, dict) else ""
            raise MallError(
                _("Rakuten answered %(status)s: %(code)s %(message)s")
                % {"status": response.status_code, "code": "", "message": errors or response.text[:300]}
            )
        if not isinstance(body, dict):
            raise MallError(
                _("Rakuten answered with something that is not JSON: %(text)s") % {"text": response.text[:300]}
            )
        return body

    def _authorization(self) -> str:
        secret = (self.credentials.get("service_secret") or "").strip()
        key = (self.credentials.get("license_key") or "").strip()
        if not secret or not key:
            raise AuthFailed(_("The shop has no Rakuten serviceSecret or licenseKey."))
        return "ESA " + base64.b64encode(f"{secret}:{key}".encode()).decode("ascii")


# --- mapping one order ----------------------------------------------------------------------------------------


def map_order(raw: dict[str, Any]) -> ImportedOrder:
    """One OrderModel → ImportedOrder; raises MalformedOrder with the reason when a field cannot be read.
    Public so that a single order fetched again (or a saved payload) maps the same way as a poll's."""
    number = _text(raw.get("orderNumber"))
    if not number:
        raise MalformedOrder(_("The order has no orderNumber."))
    progress = raw.get("orderProgress")
    if progress is None or not str(progress).strip().isdigit():
        raise MalformedOrder(_("orderProgress is missing or not a number: %(value)r") % {"value": progress})
    mall_status = str(progress).strip()
    ordered_at = _datetime(raw.get("orderDatetime"), "orderDatetime")
    if ordered_at is None:
        raise MalformedOrder(_("The order has no orderDatetime."))

    orderer = _model(raw, "OrdererModel")
    settlement = _model(raw, "SettlementModel")
    delivery = _model(raw, "DeliveryModel")
    packages = [p for p in (raw.get("PackageModelList") or []) if isinstance(p, dict)]
    first = packages[0] if packages else {}
    sender = _model(first, "SenderModel") or _model(first, "senderModel")  # the recipient (送付先)

    lines = tuple(_line(item) for package in packages for item in (package.get("ItemModelList") or []))

    remarks = "" if raw.get("remarks") is None else str(raw["remarks"])  # as sent: the operator reads it whole
    delivery_date = _date(raw.get("deliveryDate"), "deliveryDate")
    time_slot = _time_slot(raw.get("shippingTerm"))
    if delivery_date is None or not time_slot:
        text_date, text_slot = delivery_from_remarks(remarks)
        delivery_date = delivery_date or text_date
        time_slot = time_slot or text_slot

    payment_code = _text(settlement.get("settlementMethodCode"))
    shipping_fee = _order_amount(raw, packages, "postagePrice")
    cod_fee = _order_amount(raw, packages, "deliveryPrice")
    if not cod_fee and payment_code == COD_SETTLEMENT:
        cod_fee = _amount(raw.get("paymentCharge"), "paymentCharge")
    points = _model(raw, "PointModel")

    return ImportedOrder(
        external_id=number,
        ordered_at=ordered_at,
        mall_status=mall_status,
        cancelled=mall_status == CANCELLED_PROGRESS,
        updated_at=_updated_at(raw, ordered_at),
        payment_code=payment_code,
        payment_name=_text(settlement.get("settlementMethod")),
        delivery_name=_text(delivery.get("deliveryName")),
        orderer_name=_name(orderer),
        orderer_kana=_kana(orderer),
        orderer_email=_text(orderer.get("emailAddress")),
        orderer_phone=_phone(orderer),
        orderer_postal_code=_postal_code(orderer),
        orderer_prefecture=_text(orderer.get("prefecture")),
        orderer_city=_text(orderer.get("city")),
        orderer_address1=_text(orderer.get("subAddress")),
        dest_name=_name(sender),
        dest_kana=_kana(sender),
        dest_phone=_phone(sender),
        dest_postal_code=_postal_code(sender),
        dest_prefecture=_text(sender.get("prefecture")),
        dest_city=_text(sender.get("city")),
        dest_address1=_text(sender.get("subAddress")),
        requested_delivery_date=delivery_date,
        delivery_time_slot=time_slot,
        shipping_fee=shipping_fee,
        cod_fee=cod_fee,
        discount=_amount(raw.get("couponAllTotalPrice"), "couponAllTotalPrice"),
        points_used=_amount(points.get("usedPoint"), "PointModel.usedPoint"),
        total=_optional_amount(raw.get("requestPrice"), "requestPrice"),
        remarks=remarks,
        order_comment=_text(raw.get("memo")),
        remote_island=_remote_island(raw, sender),
        lines=lines,
    )


def _line(item: Any) -> ImportedLine:
    if not isinstance(item, dict):
        raise MalformedOrder(_("An item is not an object: %(value)r") % {"value": item})
    skus = [s for s in (item.get("SkuModelList") or []) if isinstance(s, dict)]
    sku_model = skus[0] if skus else {}
    sku = (
        _text(sku_model.get("merchantDefinedSkuId")) or _text(item.get("itemNumber")) or _text(item.get("manageNumber"))
    )
    price = _amount(item.get("price"), "price")
    if item.get("includeTaxFlag") == 0 and item.get("priceTaxIncl") not in (None, UNSET):
        price = _amount(item.get("priceTaxIncl"), "priceTaxIncl")
    units = item.get("units")
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise MalformedOrder(_("units is not a whole number: %(value)r") % {"value": units})
    detail_id = item.get("itemDetailId")
    return ImportedLine(
        sku=sku,
        name=_text(item.get("itemName")),
        unit_price=price,
        quantity=units,
        tax_rate=_tax_rate(item.get("taxRate")),
        options=_text(item.get("selectedChoice")) or _text(sku_model.get("skuInfo")),
        mall_line_id="" if detail_id is None else str(detail_id),
    )


# --- field readers ----------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"-?\d+")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")


def _amount(value: Any, field: str) -> int:
    """Whole yen; None and Rakuten's -9999 ("not fixed yet") are 0."""
    amount = _optional_amount(value, field)
    return 0 if amount is None else amount


def _optional_amount(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedOrder(_("%(field)s is not a number: %(value)r") % {"field": field, "value": value})
    return None if value == UNSET else value


def _order_amount(raw: dict[str, Any], packages: list[dict[str, Any]], field: str) -> int:
    """The order's own total of a fee; the sum over its packages when the order does not carry one."""
    if field in raw:
        return _amount(raw.get(field), field)
    return sum(_amount(p.get(field), field) for p in packages)


def _tax_rate(value: Any) -> int:
    """0.1 → 10, 0.08 → 8. Rakuten leaves it null on orders from before the shop set rates: the standard 10."""
    if value is None:
        return 10
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedOrder(_("taxRate is not a number: %(value)r") % {"value": value})
    return round(value * 100) if value < 1 else round(value)


def _datetime(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and _DATETIME.fullmatch(value.strip()):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return in_japan(moment)  # Rakuten always sends +0900; a bare time can only be Japan's
    raise MalformedOrder(_("%(field)s is not a date and time: %(value)r") % {"field": field, "value": value})


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise MalformedOrder(_("%(field)s is not a date: %(value)r") % {"field": field, "value": value})


def _updated_at(raw: dict[str, Any], ordered_at: dt.datetime) -> dt.datetime:
    """The latest moment the order says something happened to it: its own steps and its change records."""
    stamps = [ordered_at]
    for field in ("shopOrderCfmDatetime", "orderFixDatetime", "shippingInstDatetime", "shippingCmplRptDatetime"):
        stamp = _datetime(raw.get(field), field)
        if stamp:
            stamps.append(stamp)
    for change in raw.get("ChangeReasonModelList") or []:
        if isinstance(change, dict):
            for field in ("changeApplyDatetime", "changeFixDatetime", "changeCmplDatetime"):
                stamp = _datetime(change.get(field), field)
                if stamp:
                    stamps.append(stamp)
    return max(stamps)


def _time_slot(value: Any) -> str:
    """shippingTerm: 0 none, 1 午前, 2 午後, 9 other (told in remarks), or h1h2 such as 1416 (14–16 h)."""
    if value in (None, "", 0, 9, "0", "9"):
        return ""
    text = str(value).strip()
    if not text.isdigit():
        raise MalformedOrder(_("shippingTerm is not a number: %(value)r") % {"value": value})
    if text == "1":
        return "午前中"
    if text == "2":
        return "午後"
    if len(text) < 3:
        return ""
    start, end = int(text[:-2]), int(text[-2:])
    return "午前中" if (start, end) == (8, 12) else f"{start}時～{end}時"


_REMARKS_DELIVERY = re.compile(r"\[配送日時指定[:：]\](?P<body>.*?)(?=\n\s*\[|\Z)", re.S)
_REMARKS_DATE = re.compile(r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})")
_REMARKS_SLOT = re.compile(r"(\d{1,2})(?::00)?\s*時?\s*[～〜~\-ー－]\s*(\d{1,2})(?::00)?\s*時?")


def delivery_from_remarks(remarks: str) -> tuple[dt.date | None, str]:
    """The date and time slot in remarks' "[配送日時指定:]" part, which Rakuten fills from the order form's
    delivery-date choice. Free text: what does not read as a date or a slot is left to the operator."""
    match = _REMARKS_DELIVERY.search(remarks or "")
    if not match:
        return None, ""
    body = match.group("body")
    day: dt.date | None = None
    date_match = _REMARKS_DATE.search(body)
    if date_match:
        try:
            day = dt.date(*(int(part) for part in date_match.groups()))
        except ValueError:
            day = None
    slot = ""
    if "午前" in body:
        slot = "午前中"
    else:
        slot_match = _REMARKS_SLOT.search(body[date_match.end() :] if date_match else body)
        if slot_match:
            slot = f"{int(slot_match.group(1))}時～{int(slot_match.group(2))}時"
    return day, slot


def _remote_island(raw: dict[str, Any], sender: dict[str, Any]) -> bool | None:
    flags = [raw.get("isolatedIslandFlag"), sender.get("isolatedIslandFlag")]
    if any(flag in (1, "1") for flag in flags):
        return True
    if any(flag in (0, "0") for flag in flags):
        return False
    return None


def _model(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _name(model: dict[str, Any]) -> str:
    return " ".join(p for p in (_text(model.get("familyName")), _text(model.get("firstName"))) if p)


def _kana(model: dict[str, Any]) -> str:
    return " ".join(p for p in (_text(model.get("familyNameKana")), _text(model.get("firstNameKana"))) if p)


def _phone(model: dict[str, Any]) -> str:
    return "-".join(p for p in (_text(model.get(f"phoneNumber{i}")) for i in (1, 2, 3)) if p)


def _postal_code(model: dict[str, Any]) -> str:
    first, second = _text(model.get("zipCode1")), _text(model.get("zipCode2"))
    return f"{first}-{second}" if first and second else first + second


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON 1e999, read as infinity
        return 0


# --- messages ------------------------------------------------------------------------------------------------


def _is_error(message: dict[str, Any]) -> bool:
    return str(message.get("messageType", "")).upper() == "ERROR"


def _message_text(message: dict[str, Any]) -> str:
    return " ".join(p for p in (_text(message.get("messageCode")), _text(message.get("message"))) if p)


def _errors(body: Any, *, with_order_number: bool | None) -> str:
    """The ERROR messages of a MessageModelList as one text. with_order_number False: only those that are not
    about one order (getOrder reports a missing order that way, and the rest of the answer is good)."""
    if not isinstance(body, dict):
        return ""
    found = [
        _message_text(m)
        for m in (body.get("MessageModelList") or [])
        if isinstance(m, dict) and _is_error(m) and not (with_order_number is False and m.get("orderNumber"))
    ]
    return "; ".join(found)


def _auth_message(code: str, message: str) -> str:
    return _(
        "Rakuten refused the shop's keys (%(code)s %(message)s). Check the serviceSecret and licenseKey in "
        "RMS (the licenseKey expires every 90 days) and that RakutenPay_OrderAPI is enabled there."
    ) % {"code": code, "message": message}


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _rakuten_datetime(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def _windows(start: dt.datetime, end: dt.datetime, size: dt.timedelta) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    while start < end:
        stop = min(start + size, end)
        yield start, stop
        start = stop
