"""Amazon SP-API connector: a Login with Amazon (LWA) access token, then the Orders API v2026-01-01.

Which Orders API, and why
-------------------------
Orders API v0 is deprecated: its getOrders / getOrder / getOrderItems / getOrderAddress / getOrderBuyerInfo
operations are scheduled for removal and Amazon requires migrating off them by 2027-03-27; v2026-01-01
replaces them. Today (2026-12) it is the current API, and Amazon's published model
(amzn/selling-partner-api-models, `models/orders-api-model/orders_2026-01-01.json`) gives its exact request
and response shapes, so this connector speaks v2026-01-01 and not v0:

    GET /orders/2026-01-01/orders?lastUpdatedAfter=…&marketplaceIds=…&maxResultsPerPage=100
        &includedData=BUYER,RECIPIENT,FULFILLMENT,PROCEEDS[&paginationToken=…]
    → {"orders": [Order…], "pagination": {"nextToken": …}}   (pagination absent on the last page)

One call per page of 100 orders carries items, buyer, address, status and money (v0 needed three more
calls per order, and a Restricted Data Token for the personal data). No getOrder per order: Amazon's
migration guide says searchOrders with includedData returns the same data for bulk sync. With a
paginationToken every other parameter must be sent again with the same value (only maxResultsPerPage and
includedData may change), and the token lives 24 hours.

The seam: `OrdersApi` is what the connector needs from an Orders API version (search one page, read one
order); `Orders20260101` implements it and is the default of `AmazonConnector(orders_api=…)`. A v0
implementation (getOrders, then getOrderItems / address / buyerInfo per order through the same `get`
callable) would slot in there; the cursor records which version wrote it, so a page token of one version
is never sent to the other.

v0 field → what is read here: AmazonOrderId → orderId; PurchaseDate → createdTime; LastUpdateDate →
lastUpdatedTime; OrderStatus → fulfillment.fulfillmentStatus (PENDING, UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED,
CANCELLED → cancelled, UNFULFILLABLE, PENDING_AVAILABILITY); FulfillmentChannel MFN/AFN →
fulfillment.fulfilledBy MERCHANT/AMAZON; OrderTotal → proceeds.grandTotal; ShippingAddress →
recipient.deliveryAddress; BuyerInfo → buyer; SellerSKU, Title → product.sellerSku, product.title;
QuantityOrdered → quantityOrdered; ItemPrice (v0: the total for the quantity) → product.price.unitPrice
(v2026: per unit; the ITEM proceeds subtotal ÷ quantity when it is missing); ShippingPrice,
PromotionDiscount, COD fee → the SHIPPING, DISCOUNT and COD_FEE proceeds breakdowns; OrderItemId →
orderItemId.

Decisions
---------
- Personal data "as the API returns it": v2026-01-01 needs no Restricted Data Token; the app's roles gate
  buyer and address data. A PENDING order (not paid yet, e.g. convenience-store payment) or an app without
  the Direct-to-Consumer Delivery role gets no buyer or address: the order is imported with those fields
  blank, and the update that follows payment (lastUpdatedTime moves) brings them in through the upsert.
- FBA orders (fulfilledBy AMAZON, v0's AFN) are imported, with order_comment "FBA": they are sales the
  merchant reports and counts, but Amazon ships them, so a rule on "order_comment contains FBA" can move
  them straight past the shipping steps. Skipping them would make the order list disagree with Seller
  Central.
- Payment: v2026-01-01 has no PaymentMethod (the Order model has no payment field and the v0 PaymentMethods
  filter has no counterpart). Cash on delivery is recognisable (an item's shippingConstraints.cashOnDelivery is
  MANDATORY, or a COD_FEE breakdown) → payment_code "COD"; everything else was collected by Amazon →
  "Other". v0's "CVS" cannot be told apart any more: such an order simply stays PENDING until paid.
- Amounts are whole yen; an order in another currency is recorded as failed rather than imported wrong.
  Amazon sends no tax rate per line: lines carry 10 %, the connector's default (a product master can
  correct reduced-rate food).
- Requested delivery date and time slot are read from a SCHEDULED (お届け日時指定) order's
  scheduledDeliveryWindow, in Japan time ("14時～16時", "午前中"). Gift messages, gift wrap and delivery
  instructions go to the remarks.

Cursor
------
JSON: `{"api": "2026-01-01", "since": <ISO>}` once a page set is done, where `since` is the lastUpdatedTime of
the newest order seen (`lastUpdatedAfter` is inclusive, so that one boundary order is fetched again next
time: a harmless upsert that never loses an order updated in the same second). Mid-way it also holds
`next` (the nextToken) and `newest`; `since` stays the page set's own start, because Amazon wants the same
lastUpdatedAfter with the token. A token Amazon rejects (expired after 24 hours) restarts from `since`.
The first poll starts `initial_lookback` (7 days) back.

Access token and limits
-----------------------
`POST {lwa}/auth/o2/token` (grant_type=refresh_token, client_id, client_secret, refresh_token) gives an
access token for `expires_in` seconds; it is kept in memory and renewed a minute before it expires. A 403
"Unauthorized" from the API (expired or revoked token) fetches a new token once and retries; a second
refusal, or LWA refusing the refresh token, is AuthFailed. SP-API needs no request signing since 2023.
A 429 usually has no Retry-After: the wait is Retry-After when sent, else 1 / the x-amzn-RateLimit-Limit
rate (of the 429, or of the last answer of the same operation), else one second.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
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
from .parsing import aware_datetime, is_later, json_body, round_yen

SP_API_FAR_EAST = "https://sellingpartnerapi-fe.amazon.com"  # JP, AU and SG sellers
LWA_URL = "https://api.amazon.com"
MARKETPLACE_JP = "A1VC38T7YXB528"
USER_AGENT = "Backyard/1.0 (Language=Python)"
TOKEN_MARGIN = 60.0  # seconds: renew before expiry so a token never runs out mid-request
DEFAULT_429_WAIT = 1.0
INITIAL_LOOKBACK = dt.timedelta(days=7)
JST = ZoneInfo("Asia/Tokyo")

# The connector's payment codes → the tenant's default PaymentMethod codes (orders.services).
# "Other" is everything Amazon collected itself (card, Amazon Pay balance, points, convenience store
# once paid): the merchant confirms nothing, like a card payment.
PAYMENT_CODES: dict[str, str] = {"COD": "cod", "Other": "credit_card"}
PAYMENT_NAMES: dict[str, str] = {"COD": "代金引換", "Other": "Amazon決済"}


# shipmentConfirmation's carrierCode (SP-API's CarrierCode list names the Japanese carriers so).
CARRIER_CODES: dict[str, str] = {
    "yamato": "Yamato Transport",
    "sagawa": "Sagawa Express",
    "japanpost": "Japan Post",
    "other": "Other",
}
CONFIRM_PATH = "/orders/v0/orders/{order_id}/shipmentConfirmation"


class BadRequest(MallError):
    """SP-API answered 400 (invalid input, or a pagination token it no longer accepts)."""


# path and query → the decoded JSON body; raises MallError subclasses.
Get = Callable[[str, dict[str, str]], Any]


@dataclass
class SearchPage:
    orders: list[Any]
    next_token: str | None


class OrdersApi(Protocol):
    """One version of the Orders API, as the connector uses it: the seam where another version slots in."""

    version: str
    path: str  # the orders resource: searchOrders here, getOrder under it (the shipment report reads one order)

    def search(self, get: Get, *, marketplace_id: str, since: str, token: str | None) -> SearchPage:
        """One page of orders updated at or after `since` (ISO), the next page's token or None."""
        ...

    def to_imported(self, raw: Any) -> ImportedOrder:
        """One order as returned by `search`; raises KeyError/TypeError/ValueError when unreadable."""
        ...

    def order_id(self, raw: Any) -> str: ...

    def updated_at(self, raw: Any) -> str | None: ...


class Orders20260101:
    """Orders API v2026-01-01: searchOrders with includedData, one call per page."""

    version = "2026-01-01"
    path = "/orders/2026-01-01/orders"
    included_data = ("BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS")

    def __init__(self, page_size: int = 100) -> None:
        self.page_size = page_size  # Amazon's maximum and default

    def search(self, get: Get, *, marketplace_id: str, since: str, token: str | None) -> SearchPage:
        params = {
            "lastUpdatedAfter": since,
            "marketplaceIds": marketplace_id,
            "includedData": ",".join(self.included_data),
            "maxResultsPerPage": str(self.page_size),
        }
        if token:
            params["paginationToken"] = token
        body = get(self.path, params)
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list):
            raise MallError("searchOrders answered without an orders list")
        pagination = body.get("pagination") or {}
        next_token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        return SearchPage(orders=orders, next_token=next_token or None)

    def order_id(self, raw: Any) -> str:
        value = raw.get("orderId") if isinstance(raw, dict) else None
        return value if isinstance(value, str) else ""

    def updated_at(self, raw: Any) -> str | None:
        value = raw.get("lastUpdatedTime") if isinstance(raw, dict) else None
        return value if isinstance(value, str) else None

    def to_imported(self, raw: Any) -> ImportedOrder:
        order_id = raw["orderId"]
        if not isinstance(order_id, str) or not order_id:
            raise ValueError("order has no orderId")
        fulfillment = raw.get("fulfillment") or {}
        status = str(fulfillment.get("fulfillmentStatus") or "")
        service_level = str(fulfillment.get("fulfillmentServiceLevel") or "")
        buyer = raw.get("buyer") or {}
        recipient = raw.get("recipient") or {}
        address = recipient.get("deliveryAddress") or {}
        preference = recipient.get("deliveryPreference") or {}

        lines: list[ImportedLine] = []
        shipping_fee = cod_fee = discount = 0
        cash_on_delivery = False
        remarks: list[str] = []
        delivery_window: Mapping[str, Any] = {}
        for item in raw["orderItems"]:
            breakdowns = _breakdowns(item)
            line = _line(item, breakdowns)
            lines.append(line)
            shipping_fee += breakdowns.get("SHIPPING", 0)
            cod_fee += breakdowns.get("COD_FEE", 0)
            discount += abs(breakdowns.get("DISCOUNT", 0))
            item_fulfillment = item.get("fulfillment") or {}
            shipping = item_fulfillment.get("shipping") or {}
            constraints = shipping.get("shippingConstraints") or {}
            cash_on_delivery |= constraints.get("cashOnDelivery") == "MANDATORY"
            delivery_window = delivery_window or shipping.get("scheduledDeliveryWindow") or {}
            gift = (item_fulfillment.get("packing") or {}).get("giftOption") or {}
            if gift.get("giftWrapLevel"):
                remarks.append(f"ギフト包装: {gift['giftWrapLevel']} ({line.sku})")
            if gift.get("giftMessage"):
                remarks.append(f"ギフトメッセージ: {gift['giftMessage']}")
        for label, key in (("配送指示", "addressInstruction"), ("置き配場所", "dropOffLocation")):
            if preference.get(key):
                remarks.append(f"{label}: {preference[key]}")

        payment = "COD" if cash_on_delivery or cod_fee else "Other"
        grand_total = (raw.get("proceeds") or {}).get("grandTotal")
        requested_date, time_slot = _delivery_window(delivery_window) if service_level == "SCHEDULED" else (None, "")
        return ImportedOrder(
            external_id=order_id,
            ordered_at=aware_datetime(raw["createdTime"]),
            updated_at=aware_datetime(raw["lastUpdatedTime"]),
            mall_status=status,
            cancelled=status == "CANCELLED",
            payment_code=payment,
            payment_name=PAYMENT_NAMES[payment],
            delivery_name=service_level,
            orderer_name=buyer.get("buyerName") or "",
            orderer_email=buyer.get("buyerEmail") or "",
            dest_name=address.get("name") or "",
            dest_company=address.get("companyName") or "",
            dest_phone=address.get("phone") or "",
            dest_postal_code=address.get("postalCode") or "",
            dest_prefecture=address.get("stateOrRegion") or "",
            dest_city=address.get("city") or "",
            dest_address1=address.get("addressLine1") or "",
            dest_address2=" ".join(part for part in (address.get("addressLine2"), address.get("addressLine3")) if part),
            requested_delivery_date=requested_date,
            delivery_time_slot=time_slot,
            shipping_fee=shipping_fee,
            cod_fee=cod_fee,
            discount=discount,
            total=_money(grand_total) if grand_total else None,
            remarks="\n".join(remarks),
            order_comment="FBA" if fulfillment.get("fulfilledBy") == "AMAZON" else "",
            lines=tuple(lines),
        )


def _breakdowns(item: Mapping[str, Any]) -> dict[str, int]:
    """The item's proceeds by type (ITEM, SHIPPING, COD_FEE, DISCOUNT …), in yen."""
    totals: dict[str, int] = {}
    for breakdown in (item.get("proceeds") or {}).get("breakdowns") or []:
        kind = str(breakdown["type"])
        totals[kind] = totals.get(kind, 0) + _money(breakdown["subtotal"])
    return totals


def _line(item: Mapping[str, Any], breakdowns: Mapping[str, int]) -> ImportedLine:
    quantity = item["quantityOrdered"]
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise ValueError(f"item {item.get('orderItemId')}: quantityOrdered {quantity!r} is not a count")
    product = item["product"]
    unit_price = (product.get("price") or {}).get("unitPrice")
    if unit_price:
        price = _money(unit_price)
    else:  # no unit price (seen on pending orders): the ITEM proceeds are the total for the quantity
        price = round(breakdowns.get("ITEM", 0) / quantity) if quantity else 0
    return ImportedLine(
        sku=product.get("sellerSku") or "",
        name=product.get("title") or "",
        unit_price=price,
        quantity=quantity,
        mall_line_id=str(item.get("orderItemId") or ""),
    )


def _delivery_window(window: Mapping[str, Any]) -> tuple[dt.date | None, str]:
    """A scheduled delivery window as (date, slot) in Japan time: 08:00–12:00 is 午前中, else "14時～16時"."""
    if not window.get("earliestDateTime"):
        return None, ""
    start = aware_datetime(window["earliestDateTime"]).astimezone(JST)
    if not window.get("latestDateTime"):
        return start.date(), ""
    end = aware_datetime(window["latestDateTime"]).astimezone(JST)
    if start.hour == 8 and end.hour == 12:
        return start.date(), "午前中"
    return start.date(), f"{start.hour}時～{end.hour}時"


def _money(money: Any) -> int:
    if not isinstance(money, Mapping):
        raise TypeError(f"amount {money!r} is not a Money object")
    if money.get("currencyCode") != "JPY":
        raise ValueError(f"amount in {money.get('currencyCode')!r}, not yen")
    amount = money["amount"]
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise ValueError(f"amount {amount!r} is not a decimal")
    return round_yen(amount)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(text: str | None) -> float | None:
    try:
        return float(text or "")
    except ValueError:
        return None


def _rate(header: str | None) -> float | None:
    """x-amzn-RateLimit-Limit as requests per second; None when absent or not a positive number."""
    rate = _number(header)
    return rate if rate is not None and rate > 0 else None


def _errors(response: httpx.Response) -> str:
    """SP-API's {"errors": [{code, message, details}]} or LWA's {error, error_description} as one line."""
    try:
        body = json_body(response)
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(
            " ".join(str(e.get(k)) for k in ("code", "message", "details") if isinstance(e, dict) and e.get(k))
            for e in body["errors"]
        )
    if isinstance(body, dict) and body.get("error"):
        return f"{body['error']}: {body.get('error_description', '')}"
    return str(body)[:200]


def _error_code(response: httpx.Response) -> str:
    try:
        errors = json_body(response).get("errors") or [{}]
        return str(errors[0].get("code") or "")
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _json(response: httpx.Response) -> Any:
    try:
        return json_body(response)
    except ValueError as error:
        raise MallUnavailable(f"Amazon answered {response.status_code} with a body that is not JSON") from error


@register
class AmazonConnector(Connector):
    """Orders of one Amazon seller account in one marketplace (see the module docstring)."""

    kind = "amazon"
    default_base_url = SP_API_FAR_EAST
    credential_fields = ("client_id", "client_secret", "refresh_token", "marketplace_id")
    secret_fields = ("client_secret", "refresh_token")
    credential_labels: ClassVar[Mapping[str, Any]] = {
        "client_id": gettext_lazy("LWA client ID"),
        "client_secret": gettext_lazy("LWA client secret"),
        "refresh_token": gettext_lazy("Refresh token"),
        "marketplace_id": gettext_lazy("Marketplace ID"),
    }
    INITIAL_LOOKBACK = INITIAL_LOOKBACK  # the module's, for the shops page (Connector.INITIAL_LOOKBACK)

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        base_url: str = "",
        lwa_base_url: str = "",
        initial_lookback: dt.timedelta = INITIAL_LOOKBACK,
        now: Callable[[], dt.datetime] | None = None,
        clock: Callable[[], float] = time.monotonic,
        orders_api: OrdersApi | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(credentials, base_url=base_url, **kwargs)
        # Amazon's LWA lives on its own host; a fake mall serves both from one address.
        own_host = httpx.URL(self.base_url).host.endswith("amazon.com")
        self.lwa_base_url = (lwa_base_url or (LWA_URL if own_host else self.base_url)).rstrip("/")
        self.initial_lookback = initial_lookback
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.clock = clock
        self.api: OrdersApi = orders_api or Orders20260101()  # the Orders API version in use (the seam)
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._rates: dict[str, float] = {}  # operation path → requests per second, as Amazon last said

    @property
    def marketplace_id(self) -> str:
        return self.credentials.get("marketplace_id") or MARKETPLACE_JP

    def pages(self, cursor: str) -> Iterator[Page]:
        missing = [f for f in ("client_id", "client_secret", "refresh_token") if not self.credentials.get(f)]
        if missing:
            raise AuthFailed(f"Amazon credentials incomplete: {', '.join(missing)}")
        state = _load_cursor(cursor, self.api.version)
        since = state.get("since") or _iso(self.first_poll_start(self.now(), self.initial_lookback))
        token = state.get("next")
        newest = state.get("newest") or since
        restarted = False
        while True:
            try:
                page = self.api.search(self._get, marketplace_id=self.marketplace_id, since=since, token=token)
            except BadRequest:
                if not token or restarted:
                    raise
                token, restarted = None, True  # an expired (24 h) page token: the page set again from its start
                continue
            orders: list[ImportedOrder | FailedOrder] = []
            for raw in page.orders:
                orders.append(self._convert(raw))
                updated = self.api.updated_at(raw)
                if updated and is_later(updated, newest):
                    newest = updated
            token = page.next_token
            if token:
                state = {"api": self.api.version, "since": since, "next": token, "newest": newest}
            else:
                state = {"api": self.api.version, "since": newest}
            yield Page(orders=orders, cursor=json.dumps(state, separators=(",", ":")))
            if not token:
                return

    def _convert(self, raw: Any) -> ImportedOrder | FailedOrder:
        try:
            return self.api.to_imported(raw)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:  # decimal's errors too
            return FailedOrder(
                external_id=self.api.order_id(raw),
                reason=f"unreadable Amazon order: {type(error).__name__}: {error}",
                payload=json.dumps(raw, ensure_ascii=False),
            )

    # --- shipment data back (B12) -------------------------------------------------------------------------

    def report_shipment(self, *, mall_order: str, parcels: Sequence[Parcel]) -> str:
        """shipmentConfirmation for a merchant-fulfilled order: one package with the first parcel's carrier,
        number and day, carrying every item of the order (getOrder tells the orderItemIds and quantities,
        which our order lines do not keep). Amazon holds one tracking number a package; further parcels of the
        same order are named in the answer. 204 is success; 400 and 404 are Amazon's refusal."""
        if not parcels:
            return ""
        try:
            body = self._get(f"{self.api.path}/{_path_part(mall_order)}", {})
        except (AuthFailed, RateLimited, MallUnavailable):
            raise
        except MallError as error:
            raise ShipmentRefused(str(error)) from error
        order = body.get("order") if isinstance(body, dict) else None
        items = [
            {"orderItemId": str(item["orderItemId"]), "quantity": int(item.get("quantityOrdered") or 1)}
            for item in (order or {}).get("orderItems") or []
            if isinstance(item, dict) and item.get("orderItemId")
        ]
        if not items:
            raise ShipmentRefused(_("Amazon's order %(number)s has no items to confirm.") % {"number": mall_order})
        first = parcels[0]
        # Noon of the ship day in Japan, or now when that is still to come (Amazon refuses a future shipDate).
        shipped = min(dt.datetime.combine(first.shipped_on, dt.time(12), tzinfo=JST), self.now())
        payload = {
            "marketplaceId": self.marketplace_id,
            "packageDetail": {
                "packageReferenceId": "1",
                "carrierCode": CARRIER_CODES.get(first.carrier, "Other"),
                "trackingNumber": first.number,
                "shipDate": _iso(shipped),
                "orderItems": items,
            },
        }
        response = self._send("POST", CONFIRM_PATH.format(order_id=_path_part(mall_order)), payload)
        if response.status_code in (400, 404, 409, 422):
            raise ShipmentRefused(f"SP-API {response.status_code}: {_errors(response)}")
        if response.status_code >= 400:
            raise MallError(f"SP-API answered {response.status_code} to shipmentConfirmation: {_errors(response)}")
        extra = [parcel.number for parcel in parcels[1:]]
        if extra:
            return _("Amazon confirmed the shipment (one tracking number a package; also sent: %(numbers)s)") % {
                "numbers": ", ".join(extra)
            }
        return _("Amazon confirmed the shipment (%(status)d).") % {"status": response.status_code}

    # --- HTTP ----------------------------------------------------------------------------------------------

    def _authorized(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bool]:
        """A request with the access token, asked once more with a fresh token on a 403 "Unauthorized"; the
        answer and whether the token was renewed."""
        refreshed = False
        while True:
            response = self.request(
                method,
                f"{self.base_url}{path}",
                headers={"x-amz-access-token": self._access_token(), "accept": "application/json",
                         "user-agent": USER_AGENT},
                **kwargs,
            )  # fmt: skip
            if response.status_code == 403 and not refreshed and _error_code(response) == "Unauthorized":
                self._token, refreshed = None, True
                continue
            return response, refreshed

    def _send(self, method: str, path: str, payload: Any) -> httpx.Response:
        """A JSON request with the access token; one fresh token on a 403 "Unauthorized", AuthFailed after."""
        response, _refreshed = self._authorized(method, path, json=payload)
        if response.status_code in (401, 403):
            raise AuthFailed(f"SP-API refused access: {_errors(response)}")
        return response

    def _get(self, path: str, params: dict[str, str]) -> Any:
        """GET an SP-API path with the access token; one fresh token on a 403 "Unauthorized"."""
        response, refreshed = self._authorized("GET", path, params=params)
        if response.status_code in (401, 403):
            after = " even with a new access token" if refreshed else ""
            raise AuthFailed(f"SP-API refused access{after}: {_errors(response)}")
        if response.status_code == 400:
            raise BadRequest(f"SP-API rejected GET {path}: {_errors(response)}")
        if response.status_code >= 400:
            raise MallError(f"SP-API answered {response.status_code} to GET {path}: {_errors(response)}")
        return _json(response)

    def _access_token(self) -> str:
        if self._token is not None and self.clock() < self._token_expires_at:
            return self._token
        response = self.request(
            "POST",
            f"{self.lwa_base_url}/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.credentials["refresh_token"],
                "client_id": self.credentials["client_id"],
                "client_secret": self.credentials["client_secret"],
            },
            headers={"accept": "application/json", "user-agent": USER_AGENT},
        )
        if response.status_code in (400, 401, 403):
            raise AuthFailed(f"Login with Amazon refused the refresh token: {_errors(response)}")
        if response.status_code >= 400:
            raise MallError(f"Login with Amazon answered {response.status_code}: {_errors(response)}")
        body = _json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise MallError("Login with Amazon answered without an access token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._token_expires_at = self.clock() + max(lifetime - TOKEN_MARGIN, 0.0)
        return token

    # Connector.request's retry policy, with SP-API's 429 wait: Retry-After when sent, else one over the
    # x-amzn-RateLimit-Limit rate of the 429 or of the operation's last answer.
    def observe(self, response: httpx.Response) -> None:
        if (rate := _rate(response.headers.get("x-amzn-RateLimit-Limit"))) is not None:
            self._rates[response.request.url.path] = rate

    def retry_after(self, response: httpx.Response) -> float:
        """Retry-After when Amazon sends it, else one over the operation's rate, else a second."""
        told = _number(response.headers.get("Retry-After"))
        if told is not None:
            return max(told, 0.0)
        rate = self._rates.get(response.request.url.path)
        return round(1.0 / rate, 3) if rate else DEFAULT_429_WAIT

    def error_detail(self, response: httpx.Response) -> str:
        return f" ({_errors(response)})"


def _path_part(text: str) -> str:
    """An order id as one path segment (Amazon's are digits and hyphens; anything else is escaped)."""
    return quote(text, safe="")


def _load_cursor(cursor: str, version: str) -> dict[str, str]:
    """{} for a first poll. A cursor written for another Orders API version keeps its time, drops its page
    token (tokens are not portable). A bare ISO time (a hand-set start) is accepted as `since`."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if isinstance(state, dict):
        kept = {key: str(value) for key, value in state.items() if key in ("since", "next", "newest") and value}
        if state.get("api") != version:
            kept.pop("next", None)
            kept.pop("newest", None)
        return kept
    try:
        aware_datetime(cursor)
    except ValueError as error:
        raise MallError(f"unreadable Amazon cursor {cursor[:80]!r}") from error
    return {"since": cursor}
