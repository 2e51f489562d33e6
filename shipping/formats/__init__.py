"""Carrier waybill layouts (issue 16, B10): one module per layout, each writing one order as one row of the
carrier's published columns (../shared/FORMATS.md), spelled exactly as published.

What every layout shares lives here:
- `WaybillOrder`: what a row reads of an order, as plain values (shipping.services.waybills loads them);
- `Cleaner`: text the carrier's software can hold. Carrier files are Shift_JIS (written as cp932); a character
  outside JIS X 0208 (𠮷, NBSP, ①, ㈱, 髙 …) is replaced (𠮷→吉, NBSP→space, ①→1, ㈱→(株)) and each replacement
  is recorded per order and field, so the preview lists them before the download;
- `cut` (a field's limit in cp932 bytes: a full-width character takes 2, a half-width one 1) and `kana`
  (half-width katakana for the ｶﾅ fields);
- `Refused`: the carrier cannot take the order (its reason is shown in the preview, the rest are exported).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

import jaconv
from django.utils.translation import gettext as _

from shipping.models import WaybillFormat

ENCODING = "cp932"
LINE_END = "\r\n"

# Characters outside JIS X 0208 that NFKC does not bring inside: the usual variants written in names.
VARIANTS: dict[str, str] = {
    "𠮷": "吉",
    "髙": "高",
    "﨑": "崎",
    "德": "徳",
    "濵": "濱",
    "邉": "邊",
    "\u00a0": " ",  # NBSP
    "〜": "～",  # WAVE DASH as the files write it (cp932 0x8160)
    "−": "－",
    "‐": "－",
    "–": "－",
    "—": "－",
}
FALLBACK = "？"


@functools.lru_cache(maxsize=8192)
def in_jis(ch: str) -> bool:
    """Whether Shift_JIS (JIS X 0201 + JIS X 0208) holds `ch` as cp932 writes it: cp932's NEC and IBM
    extensions (①, ㈱, 髙 …) are not JIS X 0208 and some carriers' software refuses them."""
    try:
        encoded = ch.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    try:
        encoded.decode("shift_jis")
    except UnicodeDecodeError:
        return False
    return True


def jis_text(text: str) -> tuple[str, list[tuple[str, str]]]:
    """`text` with each character outside JIS X 0208 replaced, and the replacements [(original, new)]."""
    if text.isascii():
        return text.replace("\r", " ").replace("\n", " "), []
    try:
        text.encode("shift_jis")  # the usual case: all of it in JIS X 0201 / 0208
    except UnicodeEncodeError:
        pass
    else:
        return text.replace("\r", " ").replace("\n", " ").replace("\t", " "), []
    out: list[str] = []
    replaced: list[tuple[str, str]] = []
    for ch in text:
        if ch in "\r\n\t":
            out.append(" ")
            continue
        if in_jis(ch):
            out.append(ch)
            continue
        new = VARIANTS.get(ch)
        if new is None or not all(in_jis(c) for c in new):
            normal = unicodedata.normalize("NFKC", ch)
            new = normal if normal != ch and all(in_jis(c) for c in normal) else FALLBACK
        out.append(new)
        replaced.append((ch, new))
    return "".join(out), replaced


def width(text: str) -> int:
    """Length in cp932 bytes (the unit of the carriers' field limits)."""
    return len(text.encode(ENCODING, errors="replace"))


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` cp932 bytes, never in the middle of a character."""
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        size = width(ch)
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return "".join(out)


def kana(text: str) -> str:
    """Half-width katakana (and half-width digits, letters, spaces) for the ｶﾅ fields."""
    text = jaconv.hira2kata(unicodedata.normalize("NFKC", text))
    return jaconv.z2h(text, kana=True, digit=True, ascii=True).replace("\u3000", " ")


def postal(code: str) -> str:
    """A postal code as 123-4567 ("" when it is not 7 digits)."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", code))
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else ""


def phone(number: str) -> str:
    """A phone number in half-width digits and hyphens."""
    return re.sub(r"[^\d-]", "", unicodedata.normalize("NFKC", number).replace("ー", "-").replace("−", "-"))


class Refused(Exception):
    """The carrier cannot take this order; the message says why, in the operator's language."""


@dataclass
class Sender:
    """ご依頼主: the shop's issuer (documents' settings per shop)."""

    name: str = ""
    postal_code: str = ""
    address: str = ""
    phone: str = ""


@dataclass
class WaybillOrder:
    """What a waybill row reads of one order."""

    pk: int
    external_id: str
    management_number: str
    dest_name: str
    dest_kana: str
    dest_company: str
    dest_phone: str
    dest_postal_code: str
    dest_prefecture: str
    dest_city: str
    dest_address1: str
    dest_address2: str
    items: list[tuple[str, int]]  # (name, quantity) per line
    total: int
    tax: int
    cash_on_delivery: bool  # the order's payment method is COD
    method_name: str
    method_carrier: str
    method_service: str  # shipping.constants.Service ("" when the method does not say)
    method_cool: str  # shipping.constants.CoolType
    method_takes_cod: bool | None  # None: the method does not say (then the carrier decides)
    delivery_slot: str  # orders.slots.DeliverySlot's value
    requested_delivery_date: dt.date | None
    ship_date: dt.date | None
    sender: Sender


@dataclass
class Cleaner:
    """Makes one order's fields fit the file; records each replaced character by field."""

    replacements: list[tuple[str, str, str]] = field(default_factory=list)  # (field, original, new)

    def __call__(self, field_name: str, text: str, limit: int | None = None, *, refuse: bool = False) -> str:
        clean, replaced = jis_text(text.strip())
        for original, new in replaced:
            self.replacements.append((field_name, original, new))
        if limit is not None and width(clean) > limit:
            if refuse:
                raise Refused(
                    _("%(field)s is longer than the carrier takes (%(limit)d bytes, %(chars)d full-width characters)")
                    % {"field": field_name, "limit": limit, "chars": limit // 2}
                )
            clean = cut(clean, limit)
        return clean


class Layout:
    """One carrier layout. `row` raises Refused for an order the carrier cannot take."""

    code: ClassVar[str]
    carrier: ClassVar[str]
    header: ClassVar[tuple[str, ...]]
    write_header: ClassVar[bool] = True
    rows_per_file: ClassVar[int | None] = None  # Click Post: 40
    needs_phone: ClassVar[bool] = True
    takes_cod: ClassVar[bool] = True

    def row(self, order: WaybillOrder, clean: Cleaner, today: dt.date) -> list[str]:
        raise NotImplementedError

    def check(self, order: WaybillOrder) -> None:
        """The refusals every layout shares: COD where it cannot go, a missing postal code or phone."""
        if order.cash_on_delivery:
            if not self.takes_cod:
                raise Refused(_("cash on delivery is not possible with %(format)s") % {"format": self.label()})
            if order.method_takes_cod is False:
                raise Refused(
                    _("cash on delivery is not possible with the delivery method “%(method)s”")
                    % {"method": order.method_name}
                )
        if not postal(order.dest_postal_code):
            raise Refused(_("the recipient's postal code is missing or not 7 digits"))
        if self.needs_phone and not phone(order.dest_phone):
            raise Refused(_("the recipient's phone number is missing"))
        if not order.dest_name.strip():
            raise Refused(_("the recipient's name is missing"))

    def label(self) -> str:
        return str(WaybillFormat(self.code).label)

    def by_name(self, values: dict[str, str]) -> list[str]:
        """The row in the header's order from {header: value}; a name not in the header is a bug."""
        unknown = set(values) - set(self.header)
        assert not unknown, f"not in the {self.code} header: {sorted(unknown)}"
        return [values.get(name, "") for name in self.header]


def item_text(order: WaybillOrder) -> list[str]:
    """Each line as the carriers' 品名 fields write it: "name ×2" for more than one."""
    return [f"{name} ×{quantity}" if quantity > 1 else name for name, quantity in order.items]


def date_slash(day: dt.date | None) -> str:
    return day.strftime("%Y/%m/%d") if day else ""


def date_plain(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""
