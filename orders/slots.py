"""Delivery time slots (配達時間帯, issue 10 item 11): one canonical slot per order, whatever the mall wrote.

Rakuten sends a code that the connector writes as 14時～16時, Yahoo! 18:00-20:00, Shopify's delivery-date apps
their own text, Amazon a window in UTC, phone entry its own labels. An order keeps what it was given in
`delivery_time_slot` (the mall's text) and the slot carriers know in `delivery_slot` (`DeliverySlot`): the
set Yamato, Sagawa and Japan Post share — morning (8–12), 12–14, 14–16, 16–18, 18–20, 19–21 — or none. The
carrier files are written from `delivery_slot`.

`slot_from_text` is the one mapping from any text to the canonical slot. It reads full-width and half-width
forms alike, 時 or :00, any dash or wave (～ 〜 ~ - ー –), a 4-digit code (1416, as carriers and Rakuten write
it) and the usual words (午前中, 午前, AM, 指定なし); words around a slot (希望, 指定, 頃, お届け) do not
matter. A text that names a time no carrier offers (午後, 10時～12時, 夜間, two slots at once) reads as
UNMAPPABLE: the order's canonical slot stays "none" and automation's built-in task 配達時間帯を確認 asks a
person, instead of the slot vanishing.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliverySlot(models.TextChoices):
    NONE = "", _("No time slot")
    MORNING = "am", _("Morning")
    H12_14 = "12-14", _("12:00–14:00")
    H14_16 = "14-16", _("14:00–16:00")
    H16_18 = "16-18", _("16:00–18:00")
    H18_20 = "18-20", _("18:00–20:00")
    H19_21 = "19-21", _("19:00–21:00")


# How each slot is written in Japanese (phone entry offers these, and the demo writes them).
SLOT_TEXT: dict[str, str] = {
    DeliverySlot.MORNING: "午前中",
    DeliverySlot.H12_14: "12時～14時",
    DeliverySlot.H14_16: "14時～16時",
    DeliverySlot.H16_18: "16時～18時",
    DeliverySlot.H18_20: "18時～20時",
    DeliverySlot.H19_21: "19時～21時",
}
UNMAPPABLE = None

_BY_HOURS = {
    (8, 12): DeliverySlot.MORNING,
    (12, 14): DeliverySlot.H12_14,
    (14, 16): DeliverySlot.H14_16,
    (16, 18): DeliverySlot.H16_18,
    (18, 20): DeliverySlot.H18_20,
    (19, 21): DeliverySlot.H19_21,
}
_NONE_WORDS = frozenset(
    {
        "",
        "なし",
        "無し",
        "指定なし",
        "指定無し",
        "時間指定なし",
        "時間指定無し",
        "希望なし",
        "特になし",
        "none",
        "no",
        "nopreference",
        "-",
        "0",
        "00",
    }
)
_MORNING_WORDS = frozenset({"午前中", "午前", "am", "a.m.", "morning"})
# Words around a slot that do not change it ("14時～16時希望", "お届け時間: 午前中指定", "19-21時頃").
_FILLER = re.compile(r"お?届け|配達|配送|希望|指定|時間帯|時間|頃|ごろ|まで|着|(?<!\d):|[()「」\[\]【】]")
_HOUR = r"(\d{1,2})(?:時|:00|時00分)?"
_RANGE = re.compile(rf"{_HOUR}[~〜\-ー‐–—―−]{_HOUR}")
_CODE = re.compile(r"(\d{2})(\d{2})")


def _hours(start: str, end: str) -> str | None:
    return _BY_HOURS.get((int(start), int(end)), UNMAPPABLE)


def slot_from_text(text: str | None) -> str | None:
    """The canonical slot (a DeliverySlot value) the text names: "" for none (empty, 指定なし), UNMAPPABLE
    (None) for a text that names a time that is none of the carriers' slots."""
    norm = unicodedata.normalize("NFKC", text or "").strip().lower()
    norm = re.sub(r"\s+", "", norm)
    if norm in _NONE_WORDS:
        return DeliverySlot.NONE
    bare = _FILLER.sub("", norm)
    if bare in _NONE_WORDS and bare != norm:  # "時間指定なし", "指定無し"
        return DeliverySlot.NONE
    if bare in _MORNING_WORDS:
        return DeliverySlot.MORNING
    match = _RANGE.fullmatch(bare) or _CODE.fullmatch(bare)
    if match:
        return _hours(*match.groups())
    return UNMAPPABLE


def slot_value(text: str | None) -> str:
    """What `delivery_slot` stores for a text: its slot, or none when it names no carrier's slot."""
    return slot_from_text(text) or DeliverySlot.NONE


def is_unmappable(text: str | None) -> bool:
    """Whether the text names a time (it is not empty, nor "none") that no carrier's slot matches."""
    return slot_from_text(text) is UNMAPPABLE


def slot_label(value: str) -> str:
    """The operator's name of a stored slot ("" for an unknown value)."""
    try:
        return str(DeliverySlot(value).label)
    except ValueError:
        return ""


def slot_shown(slot: str, written: str) -> tuple[str, str]:
    """What the order list and page show of an order's slot: the carriers' slot ("" for none), and the text
    the order came with when it reads otherwise ("" when it is the slot's own text, or empty)."""
    differs = written if written and written != SLOT_TEXT.get(slot, "") else ""
    return (slot_label(slot) if slot else ""), differs
