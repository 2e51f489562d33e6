"""Shopify connector: the Admin REST API's `orders.json`, paged by the `Link` header.

Which API, and why
------------------
Shopify calls the REST Admin API "legacy" (since 2024-10) and builds new features in GraphQL, but REST is
still published and served for every stable version (the 2026-10 Order resource page exists) and custom
apps with an admin access token (`shpat_…`) use it. It is what FORMATS.md documents and what the fake mall
speaks. API_VERSION is the newest stable version on 2026-12-02, 2026-10 (supported until 2027-10); when a
version retires Shopify "falls forward" to the oldest supported one, so an old constant degrades rather
than breaks, but it should still be moved on each quarter.

Paging and the cursor
---------------------
The first request is `orders.json?status=any&updated_at_min=…&limit=250&order=updated_at asc` (`status=any`
so cancelled and archived orders come too: a cancellation is an update we must see). The next page is the
`page_info` of the `Link` header's rel="next" URL, sent with `limit` only: Shopify answers 400
`{"errors":{"page_info":"Invalid value."}}` when filters come with it (the filters live inside page_info).

The cursor is JSON, `{"since": <updated_at>, "page_info": <token>, "from": <updated_at>}`:
- `since` is the `updated_at` of the last order of the last fully imported page (Shopify's own ISO text with
  its offset; the newest one seen, should an order ever come out of turn). `updated_at_min` is inclusive, so
  the next poll fetches that one boundary order again; the import upserts, so this costs one unchanged row
  and never loses an order updated in the same second.
- `page_info` and `from` are there only while a page set is half done: a poll that dies resumes on the next
  page. `from` is the updated_at_min that page set started from: if Shopify rejects a saved page_info, the
  page set starts again from there, which loses nothing whatever order the pages came in.
The `order=updated_at asc` parameter is what makes `since` exact when orders change while we page (a changed
order moves to the end of the set). Integrations rely on it and Shopify honours it on orders.json, but its
REST reference does not list it, so nothing else here depends on the order of the pages.
The first poll of a shop starts `initial_lookback` (7 days) back, not at the beginning of the shop's
history: older orders are finished business, and REST only shows 60 days without `read_all_orders`.

Mapping decisions
-----------------
- external_id is the order's `name` ("#1001"), exactly what the merchant sees and searches in Shopify
  admin. It is unique per shop in practice; the numeric `id` can be found again with `orders.json?name=`.
- Names are written family name first ("山田 太郎"), as a Japanese label and the carriers' CSV expect.
- The prefecture comes from `province_code` ("JP-13" → 東京都) through the 47-row table below, because
  `province` is "Tokyo" or "東京都" depending on the shop's locale; a romanised or kanji `province` is
  accepted when the code is missing.
- Line prices are the mall's `price` per unit (Japanese shops charge tax-inclusive prices,
  `taxes_included: true`; a tax-exclusive shop's total will differ from its lines, which the import flags);
  the tax rate is the line's `tax_lines` rate (0.08 → 8, 0.1 → 10), 10 when there is none.
- Delivery date and time slot come from `note_attributes` that delivery-date apps write (配達希望日 …);
  other note attributes are appended to the remarks so nothing the customer typed is lost.
- payment_code is the gateway name as Shopify sends it (`payment_gateway_names`, ignoring "gift_card" when
  something else paid too); PAYMENT_CODES maps the common ones onto the tenant's default payment methods.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import register
from .base import (
    AuthFailed,
    Connector,
    CredentialsInvalid,
    FailedOrder,
    ImportedLine,
    ImportedOrder,
    MallError,
    MallUnavailable,
    Page,
    Parcel,
    ShipmentRefused,
)
from .parsing import aware_datetime, is_later, json_body, round_yen

API_VERSION = "2026-10"
# tracking_info.company: the names Shopify lists for the Japanese carriers (FORMATS.md).
TRACKING_COMPANIES: dict[str, str] = {
    "yamato": "Yamato (JA)",
    "sagawa": "Sagawa (JA)",
    "japanpost": "Japan Post (JA)",
    "other": "Other",
}
FULFILLABLE = frozenset({"open", "in_progress", "scheduled"})  # a fulfillment order that can still be fulfilled
PAGE_SIZE = 250  # Shopify's maximum for orders.json

# Shopify gateway name → the tenant's default PaymentMethod code (orders.services.DEFAULT_PAYMENT_METHODS).
# The English names are Shopify's built-in manual methods; the Japanese ones are what Japanese shops name
# their own manual methods. A name missing here is mapped by the shop's admin-editable mapping.
PAYMENT_CODES: dict[str, str] = {
    "shopify_payments": "credit_card",
    "paypal": "credit_card",
    "amazon_payments": "credit_card",
    "Cash on Delivery (COD)": "cod",
    "代金引換": "cod",
    "代引き": "cod",
    "Bank Deposit": "bank_transfer",
    "銀行振込": "bank_transfer",
    "コンビニ決済": "convenience_store",
    "後払い": "deferred",
    "paidy": "deferred",
}

# ISO 3166-2:JP, the codes Shopify sends as province_code, with the romanised names Shopify uses.
JP_PREFECTURES: tuple[tuple[str, str, str], ...] = (
    ("JP-01", "北海道", "Hokkaido"),
    ("JP-02", "青森県", "Aomori"),
    ("JP-03", "岩手県", "Iwate"),
    ("JP-04", "宮城県", "Miyagi"),
    ("JP-05", "秋田県", "Akita"),
    ("JP-06", "山形県", "Yamagata"),
    ("JP-07", "福島県", "Fukushima"),
    ("JP-08", "茨城県", "Ibaraki"),
    ("JP-09", "栃木県", "Tochigi"),
    ("JP-10", "群馬県", "Gunma"),
    ("JP-11", "埼玉県", "Saitama"),
    ("JP-12", "千葉県", "Chiba"),
    ("JP-13", "東京都", "Tokyo"),
    ("JP-14", "神奈川県", "Kanagawa"),
    ("JP-15", "新潟県", "Niigata"),
    ("JP-16", "富山県", "Toyama"),
    ("JP-17", "石川県", "Ishikawa"),
    ("JP-18", "福井県", "Fukui"),
    ("JP-19", "山梨県", "Yamanashi"),
    ("JP-20", "長野県", "Nagano"),
    ("JP-21", "岐阜県", "Gifu"),
    ("JP-22", "静岡県", "Shizuoka"),
    ("JP-23", "愛知県", "Aichi"),
    ("JP-24", "三重県", "Mie"),
    ("JP-25", "滋賀県", "Shiga"),
    ("JP-26", "京都府", "Kyoto"),
    ("JP-27", "大阪府", "Osaka"),
    ("JP-28", "兵庫県", "Hyogo"),
    ("JP-29", "奈良県", "Nara"),
    ("JP-30", "和歌山県", "Wakayama"),
    ("JP-31", "鳥取県", "Tottori"),
    ("JP-32", "島根県", "Shimane"),
    ("JP-33", "岡山県", "Okayama"),
    ("JP-34", "広島県", "Hiroshima"),
    ("JP-35", "山口県", "Yamaguchi"),
    ("JP-36", "徳島県", "Tokushima"),
    ("JP-37", "香川県", "Kagawa"),
    ("JP-38", "愛媛県", "Ehime"),
    ("JP-39", "高知県", "Kochi"),
    ("JP-40", "福岡県", "Fukuoka"),
    ("JP-41", "佐賀県", "Saga"),
    ("JP-42", "長崎県", "Nagasaki"),
    ("JP-43", "熊本県", "Kumamoto"),
    ("JP-44", "大分県", "Oita"),
    ("JP-45", "宮崎県", "Miyazaki"),
    ("JP-46", "鹿児島県", "Kagoshima"),
    ("JP-47", "沖縄県", "Okinawa"),
)
_BY_CODE = {code: kanji for code, kanji, _romaji in JP_PREFECTURES}
_BY_ROMAJI = {romaji.lower(): kanji for _code, kanji, romaji in JP_PREFECTURES}
_KANJI = frozenset(kanji for _code, kanji, _romaji in JP_PREFECTURES)

# note_attributes names that delivery-date apps and themes write, compared after NFKC and lower-casing.
DELIVERY_DATE_ATTRIBUTES = frozenset(
    {
        "配達希望日",
        "お届け希望日",
        "配送希望日",
        "配達日",
        "お届け日",
        "配送日",
        "delivery date",
        "delivery_date",
        "delivery-date",
    }
)
DELIVERY_TIME_ATTRIBUTES = frozenset(
    {
        "配達希望時間帯",
        "お届け希望時間帯",
        "配送希望時間帯",
        "配達時間帯",
        "お届け時間帯",
        "配送時間帯",
        "配達希望時間",
        "お届け希望時間",
        "delivery time",
        "delivery_time",
        "delivery-time",
    }
)

INITIAL_LOOKBACK = dt.timedelta(days=7)


def prefecture_name(code: str | None, province: str | None) -> str:
    """The kanji prefecture for Shopify's province_code ("JP-13") or province ("Tokyo", "Tōkyō", "東京都")."""
    if code and code.upper() in _BY_CODE:
        return _BY_CODE[code.upper()]
    text = (province or "").strip()
    if not text or text in _KANJI:
        return text
    # "Tōkyō" → "tokyo"; "Osaka-fu", "Aichi Prefecture" → the bare name.
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    plain = re.sub(r"(?:[\s-]+(?:ken|fu|to|do)|\s*prefecture)$", "", plain).strip()
    plain = {"hokkai": "hokkaido"}.get(plain, plain)
    return _BY_ROMAJI.get(plain, text)


# A shop's handle: one DNS label (letters, digits, hyphens inside), as Shopify gives every shop.
_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
SHOP_DOMAIN_REFUSED = gettext_lazy(
    "Enter the shop's own Shopify domain, like your-shop.myshopify.com (only a myshopify.com address, "
    "without a port or a login)."
)


def shop_host(shop_domain: str) -> str | None:
    """`<handle>.myshopify.com` from what an admin types (a bare handle, the domain, or its https URL with
    a path); None for anything else: another host, an address, a port, a login (`user@`), a second label.
    The host is the only thing taken from the credential: the workers connect nowhere else."""
    text = shop_domain.strip().lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    host = text.split("/", 1)[0]
    handle = host.removesuffix(".myshopify.com")
    return f"{handle}.myshopify.com" if _HANDLE.fullmatch(handle) else None


def shop_base_url(shop_domain: str) -> str:
    """https://<handle>.myshopify.com from what an admin types ("" when nothing was typed); CredentialsInvalid
    when it is not a myshopify.com shop (see shop_host)."""
    if not shop_domain.strip():
        return ""
    host = shop_host(shop_domain)
    if host is None:
        raise CredentialsInvalid({"shop_domain": str(SHOP_DOMAIN_REFUSED)})
    return f"https://{host}"


@register
class ShopifyConnector(Connector):
    """Orders of one Shopify shop, oldest change first (see the module docstring for the cursor)."""

    kind = "shopify"
    credential_fields = ("shop_domain", "access_token")
    secret_fields = ("access_token",)
    credential_labels: ClassVar[Mapping[str, Any]] = {
        "shop_domain": gettext_lazy("Shop domain"),
        "access_token": gettext_lazy("Admin API access token"),
    }
    INITIAL_LOOKBACK = INITIAL_LOOKBACK  # the module's, for the shops page (Connector.INITIAL_LOOKBACK)

    @classmethod
    def clean_credentials(cls, values: Mapping[str, str]) -> dict[str, str]:
        """The shop domain as `<handle>.myshopify.com`, or CredentialsInvalid: the domain is where the access
        token is sent, so nothing but a Shopify shop's own host is accepted."""
        cleaned = dict(values)
        if (cleaned.get("shop_domain") or "").strip():
            cleaned["shop_domain"] = shop_base_url(cleaned["shop_domain"]).removeprefix("https://")
        return cleaned

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        base_url: str = "",
        page_size: int = PAGE_SIZE,
        initial_lookback: dt.timedelta = INITIAL_LOOKBACK,
        now: Callable[[], dt.datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        # The platform's base URL (Shop.base_url: a test or demo mall, set by a superuser only) comes first;
        # else the shop's own myshopify.com host, the only one a credential can name (CredentialsInvalid).
        super().__init__(credentials, base_url=base_url or shop_base_url(credentials.get("shop_domain", "")), **kwargs)
        self.page_size = page_size
        self.initial_lookback = initial_lookback
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    @property
    def orders_url(self) -> str:
        return f"{self.base_url}/admin/api/{API_VERSION}/orders.json"

    def pages(self, cursor: str) -> Iterator[Page]:
        if not self.base_url or not self.credentials.get("access_token"):
            raise AuthFailed("Shopify needs the shop domain and an Admin API access token")
        state = _load_cursor(cursor)
        since = state.get("since") or _iso(self.first_poll_start(self.now(), self.initial_lookback))
        page_info: str | None = state.get("page_info")
        start = state.get("from") or since  # the updated_at_min of the page set page_info belongs to
        restarted = False
        while True:
            if page_info:
                params: dict[str, Any] = {"limit": self.page_size, "page_info": page_info}
            else:
                start = since
                params = {"status": "any", "updated_at_min": since, "limit": self.page_size, "order": "updated_at asc"}
            response = self._get(params)
            if response.status_code == 400 and page_info and not restarted:
                # A saved page_info Shopify no longer accepts: the page set again from its own start.
                page_info, since, restarted = None, start, True
                continue
            _raise_for_status(response)
            orders: list[ImportedOrder | FailedOrder] = []
            for raw in _orders_of(response):
                orders.append(self.to_imported(raw))
                updated = raw.get("updated_at") if isinstance(raw, dict) else None
                if isinstance(updated, str) and is_later(updated, since):
                    since = updated
            page_info = _next_page_info(response)
            yield Page(orders=orders, cursor=_dump_cursor(since, page_info, start))
            if not page_info:
                return

    def _get(self, params: Mapping[str, Any]) -> httpx.Response:
        return self.request(
            "GET",
            self.orders_url,
            params=params,
            headers={
                "X-Shopify-Access-Token": self.credentials["access_token"],
                "Accept": "application/json",
            },
        )

    # --- shipment data back (B12) -------------------------------------------------------------------------

    def report_shipment(self, *, mall_order: str, parcels: Sequence[Parcel]) -> str:
        """Fulfil the order with tracking: find its id by name (we keep "#1001", what the shop's staff see), read
        its fulfillment orders, and POST one fulfillment for those still open with the first parcel's number
        and carrier (Shopify's tracking_info holds one). An order with no open fulfillment order is already
        fulfilled (in Shopify's admin, or by an earlier report) and is not fulfilled twice."""
        if not parcels:
            return ""
        headers = {"X-Shopify-Access-Token": self.credentials.get("access_token", ""), "Accept": "application/json"}
        base = f"{self.base_url}/admin/api/{API_VERSION}"
        found = self._checked(
            self.request(
                "GET",
                f"{base}/orders.json",
                params={"name": mall_order, "status": "any", "fields": "id,name"},
                headers=headers,
            )
        )
        ids = [o.get("id") for o in found.get("orders") or [] if isinstance(o, dict) and o.get("name") == mall_order]
        if len(ids) != 1:
            raise ShipmentRefused(_("Shopify has no order named %(name)s.") % {"name": mall_order})
        order_id = ids[0]
        listed = self._checked(
            self.request("GET", f"{base}/orders/{order_id}/fulfillment_orders.json", headers=headers)
        )
        open_ids = [
            fo["id"]
            for fo in listed.get("fulfillment_orders") or []
            if isinstance(fo, dict) and fo.get("status") in FULFILLABLE and fo.get("id")
        ]
        if not open_ids:
            return _("Shopify: the order is already fulfilled; nothing was sent.")
        first = parcels[0]
        payload = {
            "fulfillment": {
                "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo_id} for fo_id in open_ids],
                "tracking_info": {"number": first.number, "company": TRACKING_COMPANIES.get(first.carrier, "Other")},
                "notify_customer": True,
            }
        }
        answered = self._checked(self.request("POST", f"{base}/fulfillments.json", json=payload, headers=headers))
        created = answered.get("fulfillment")
        status = created.get("status", "") if isinstance(created, dict) else ""
        extra = [parcel.number for parcel in parcels[1:]]
        answer = _("Shopify fulfilled the order (%(status)s).") % {"status": status or "success"}
        if extra:
            answer += " " + _("Shopify holds one tracking number a fulfillment; not sent: %(numbers)s") % {
                "numbers": ", ".join(extra)
            }
        return answer

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON of a good answer; AuthFailed for 401/403, ShipmentRefused with Shopify's errors for 4xx."""
        if response.status_code in (401, 403):
            _raise_for_status(response)
        if response.status_code >= 400:
            try:
                errors = json_body(response).get("errors")
            except (ValueError, AttributeError):
                errors = response.text[:200]
            raise ShipmentRefused(f"Shopify {response.status_code}: {_error_words(errors)}")
        try:
            body = json_body(response)
        except ValueError as error:
            raise MallUnavailable(f"Shopify answered {response.status_code} with a body that is not JSON") from error
        if not isinstance(body, dict):
            raise MallError("Shopify answered with something that is not an object")
        return body

    # --- mapping ------------------------------------------------------------------------------------------

    def to_imported(self, raw: Any) -> ImportedOrder | FailedOrder:
        """One orders.json element as an ImportedOrder, or a FailedOrder saying what could not be read."""
        name = raw.get("name") if isinstance(raw, dict) else None
        try:
            return _to_imported(raw)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:  # decimal's errors too
            return FailedOrder(
                external_id=name if isinstance(name, str) else "",
                reason=f"unreadable Shopify order: {type(error).__name__}: {error}",
                payload=json.dumps(raw, ensure_ascii=False),
            )


def _to_imported(raw: dict[str, Any]) -> ImportedOrder:
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise ValueError("order has no name")
    if (currency := raw.get("currency")) not in (None, "JPY"):
        raise ValueError(f"currency {currency} is not yen")
    shipping = raw.get("shipping_address") or {}
    billing = raw.get("billing_address") or {}
    customer = raw.get("customer") or {}
    orderer = billing or customer.get("default_address") or {}
    financial = raw.get("financial_status") or "unknown"
    fulfillment = raw.get("fulfillment_status") or "unfulfilled"
    gateway = _gateway(raw)
    delivery_date, time_slot, extra_notes = _note_attributes(raw.get("note_attributes") or [])
    remarks = "\n".join(part for part in [(raw.get("note") or "").strip(), *extra_notes] if part)
    shipping_lines = raw.get("shipping_lines") or []
    return ImportedOrder(
        external_id=name.strip(),
        ordered_at=aware_datetime(raw["created_at"]),
        updated_at=aware_datetime(raw["updated_at"]) if raw.get("updated_at") else None,
        mall_status=f"{financial}/{fulfillment}",
        cancelled=bool(raw.get("cancelled_at")),
        payment_code=gateway,
        payment_name=gateway,
        delivery_name=str(shipping_lines[0].get("title") or "") if shipping_lines else "",
        orderer_name=_person(orderer) or _person(customer),
        orderer_email=raw.get("email") or raw.get("contact_email") or customer.get("email") or "",
        orderer_phone=orderer.get("phone") or raw.get("phone") or customer.get("phone") or "",
        orderer_postal_code=orderer.get("zip") or "",
        orderer_prefecture=prefecture_name(orderer.get("province_code"), orderer.get("province")),
        orderer_city=orderer.get("city") or "",
        orderer_address1=orderer.get("address1") or "",
        orderer_address2=orderer.get("address2") or "",
        dest_name=_person(shipping),
        dest_company=shipping.get("company") or "",
        dest_phone=shipping.get("phone") or "",
        dest_postal_code=shipping.get("zip") or "",
        dest_prefecture=prefecture_name(shipping.get("province_code"), shipping.get("province")),
        dest_city=shipping.get("city") or "",
        dest_address1=shipping.get("address1") or "",
        dest_address2=shipping.get("address2") or "",
        requested_delivery_date=delivery_date,
        delivery_time_slot=time_slot,
        shipping_fee=sum((round_yen(line["price"]) for line in shipping_lines), 0),
        discount=round_yen(raw.get("total_discounts") or "0"),
        total=round_yen(raw["total_price"]) if raw.get("total_price") is not None else None,
        remarks=remarks,
        lines=tuple(_line(item) for item in raw["line_items"]),
    )


def _line(item: dict[str, Any]) -> ImportedLine:
    quantity = item["quantity"]
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise ValueError(f"line {item.get('id')}: quantity {quantity!r} is not a count")
    rates = [Decimal(str(tax["rate"])) for tax in item.get("tax_lines") or [] if tax.get("rate") is not None]
    percent = max(rates) * 100 if rates else Decimal(10)
    if not percent.is_finite() or abs(percent) > 100:  # int() of "1e999999999" would take minutes
        raise ValueError(f"line {item.get('id')}: tax rate {max(rates)} is not a rate")
    rate = int(percent.to_integral_value(ROUND_HALF_UP))
    return ImportedLine(
        sku=item.get("sku") or "",
        name=item.get("title") or item.get("name") or "",
        unit_price=round_yen(item["price"]),
        quantity=quantity,
        tax_rate=rate,
        options=item.get("variant_title") or "",
        mall_line_id=str(item.get("id") or ""),
    )


def _gateway(raw: dict[str, Any]) -> str:
    names = [str(n) for n in raw.get("payment_gateway_names") or [] if n]
    paying = [n for n in names if n != "gift_card"] or names
    return paying[0] if paying else str(raw.get("gateway") or "")


def _person(address: Mapping[str, Any]) -> str:
    """Family name first, as Japanese write it; Shopify's `name` is "first last"."""
    last, first = (address.get("last_name") or "").strip(), (address.get("first_name") or "").strip()
    if last or first:
        return f"{last} {first}".strip()
    return str(address.get("name") or "").strip()


def _note_attributes(attributes: list[Any]) -> tuple[dt.date | None, str, list[str]]:
    """(requested delivery date, time slot, the other attributes as "name: value" lines)."""
    date: dt.date | None = None
    slot = ""
    rest: list[str] = []
    for attribute in attributes:
        name, value = str(attribute.get("name") or ""), str(attribute.get("value") or "").strip()
        key = unicodedata.normalize("NFKC", name).strip().lower()
        if key in DELIVERY_DATE_ATTRIBUTES and (parsed := _date(value)) is not None:
            date = parsed
        elif key in DELIVERY_TIME_ATTRIBUTES and value:
            slot = value
        elif value:
            rest.append(f"{name}: {value}")
    return date, slot, rest


def _date(text: str) -> dt.date | None:
    """2026-12-10, 2026/12/10, 2026年12月10日 (any width), optionally followed by a weekday."""
    match = re.match(r"(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})", unicodedata.normalize("NFKC", text))
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _next_page_info(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    return httpx.URL(link["url"]).params.get("page_info") or None


def _orders_of(response: httpx.Response) -> list[Any]:
    try:
        body = json_body(response)
    except ValueError as error:
        raise MallUnavailable(f"Shopify answered {response.status_code} with a body that is not JSON") from error
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list):
        raise MallError("Shopify's orders.json answer has no orders list")
    return orders


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        errors = json_body(response).get("errors")
    except (ValueError, AttributeError):
        errors = response.text[:200]
    message = f"Shopify answered {response.status_code}: {errors}"
    if response.status_code in (401, 403):
        raise AuthFailed(message)  # wrong or revoked token, or a missing read_orders scope
    raise MallError(message)


def _error_words(errors: Any) -> str:
    """Shopify's errors as one line: a text, a list of texts, or {field: [texts]}."""
    if isinstance(errors, dict):
        parts = (f"{key}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for key, v in errors.items())
        return "; ".join(parts)
    if isinstance(errors, list):
        return "; ".join(map(str, errors))
    return str(errors)


def _load_cursor(cursor: str) -> dict[str, str]:
    """{} for a first poll; a bare ISO time (a hand-set start) is accepted as `since`."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if isinstance(state, dict):
        return {key: str(value) for key, value in state.items() if key in ("since", "page_info", "from") and value}
    try:
        aware_datetime(cursor)
    except ValueError as error:
        raise MallError(f"unreadable Shopify cursor {cursor[:80]!r}") from error
    return {"since": cursor}


def _dump_cursor(since: str, page_info: str | None, start: str) -> str:
    state = {"since": since, "page_info": page_info, "from": start} if page_info else {"since": since}
    return json.dumps(state, separators=(",", ":"))
