"""What delivery methods and fee tables name (issue 16): services, cool types, size classes, and each carrier's
code for the canonical delivery slots. Lies below orders with shipping.models: the slot values repeat
orders.slots.DeliverySlot's and the size classes inventory.models.SizeClass's (tests/shipping/test_fees.py
holds them equal), since this layer may not import either.
"""

from __future__ import annotations

import unicodedata

from django.db import models
from django.utils.translation import gettext_lazy as _


class Service(models.TextChoices):
    TAKKYUBIN = "takkyubin", _("TA-Q-BIN (宅急便)")
    COMPACT = "compact", _("TA-Q-BIN Compact (宅急便コンパクト)")
    NEKOPOS = "nekopos", _("Nekopos (ネコポス)")
    COOL = "cool", _("Cool TA-Q-BIN (クール宅急便)")
    HIKYAKU = "hikyaku", _("Hikyaku Express (飛脚宅配便)")
    YUPACK = "yupack", _("Yu-Pack (ゆうパック)")
    YUPACKET = "yupacket", _("Yu-Packet (ゆうパケット)")
    CLICKPOST = "clickpost", _("Click Post (クリックポスト)")
    TEIKEIGAI = "teikeigai", _("Non-standard mail (定形外郵便)")
    OTHER = "other", _("Other")


class CoolType(models.TextChoices):
    NORMAL = "", _("Normal")
    CHILLED = "chilled", _("Chilled (冷蔵)")
    FROZEN = "frozen", _("Frozen (冷凍)")


# inventory.models.SizeClass's values, smallest first: a parcel's class is the largest of its products'.
SIZE_ORDER: tuple[str, ...] = ("mail", "compact", "60", "80", "100", "120", "140", "160")
SIZE_LABELS: dict[str, str] = {"mail": "メール便", "compact": "コンパクト"}


def size_label(size: str) -> str:
    return SIZE_LABELS.get(size, f"{size}サイズ")


# orders.slots.DeliverySlot's values (morning, 12–14, 14–16, 16–18, 18–20, 19–21).
SLOTS: tuple[str, ...] = ("am", "12-14", "14-16", "16-18", "18-20", "19-21")

# The one mapping from a canonical slot to each carrier's code (../shared/FORMATS.md). Yamato B2 Cloud's
# 配達時間帯 has no 12–14 slot; Sagawa e飛伝's 配達指定時間帯 writes 18–21 as 04, which no canonical
# slot means. Japan Post's ゆうプリR 配達希望時間帯 codes are not in FORMATS.md (unconfirmed: 51 午前中 … 56 19–21).
SLOT_CODES: dict[str, dict[str, str]] = {
    "yamato": {"am": "0812", "14-16": "1416", "16-18": "1618", "18-20": "1820", "19-21": "1921"},
    "sagawa": {"am": "01", "12-14": "12", "14-16": "14", "16-18": "16", "18-20": "18", "19-21": "19"},
    "japanpost": {"am": "51", "12-14": "52", "14-16": "53", "16-18": "54", "18-20": "55", "19-21": "56"},
}


def slot_code(carrier: str, slot: str) -> str:
    """The carrier's code for a canonical slot; "" for no slot or one the carrier does not offer."""
    return SLOT_CODES.get(carrier, {}).get(slot, "")


def carrier_slots(carrier: str) -> list[str]:
    """The canonical slots a carrier has a code for, in the day's order."""
    codes = SLOT_CODES.get(carrier, {})
    return [slot for slot in SLOTS if slot in codes]


def prefecture_name(written: str) -> str:
    """'東京都', '東京', ' 東京都 ' → '東京都'; anything else as written, stripped (it will match no zone)."""
    from japan.address import PREFECTURES

    text = unicodedata.normalize("NFKC", written or "").strip()
    if text in PREFECTURES:
        return text
    for suffix in ("都", "府", "県"):
        if text + suffix in PREFECTURES:
            return text + suffix
    return text


# The service and whether it carries cash on delivery, for the delivery methods every tenant starts with
# (orders.services.DEFAULT_DELIVERY_METHODS, by name); migration 0002 sets them on existing tenants' methods.
DEFAULT_SERVICES: dict[str, tuple[str, bool]] = {
    "宅急便": (Service.TAKKYUBIN, True),
    "ネコポス": (Service.NEKOPOS, False),
    "宅急便コンパクト": (Service.COMPACT, True),
    "クール宅急便": (Service.COOL, True),
    "飛脚宅配便": (Service.HIKYAKU, True),
    "ゆうパック": (Service.YUPACK, True),
    "ゆうパケット": (Service.YUPACKET, False),
    "クリックポスト": (Service.CLICKPOST, False),
}
