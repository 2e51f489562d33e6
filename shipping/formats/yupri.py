"""Japan Post ゆうパックプリントR (ゆうプリR) import layout, as far as ../shared/FORMATS.md gives it.

Confirmed (FORMATS.md): the first columns お客様側管理番号, 発送予定日, 発送予定時間区分, 出荷期限日, 到着期限日,
郵便種別 (0 ゆうパック, 9 ゆうパケット), 保冷種別 (0 / 1 チルド / 2 冷凍), 元／着払／代引 (0 元払, 1 着払, 2 代引),
dates yyyymmdd.

UNCONFIRMED: FORMATS.md gives only "… then recipient, sender, handling and goods blocks", not their names or
order. The columns after 元／着払／代引 below are our own names in that block order; ゆうプリR's import
takes a user-defined layout (取込レイアウト設定) mapped by column, so the operator maps these once there. The
配達希望時間帯 codes (51 午前中 … 56 19–21) come from shipping.constants and are unconfirmed as well. Its
tracking export is read by header with the tenant's saved mapping (shipping.services.tracking).

Field limits used (cp932 bytes): addresses 40 each (prefecture + city / line 1 / line 2: longer refuses),
名称 40, 品名 40 (cut).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from shipping.constants import CoolType, Service, slot_code
from shipping.models import Carrier, WaybillFormat

from . import Cleaner, Layout, Refused, WaybillOrder, date_plain, item_text, phone, postal

HEADER: tuple[str, ...] = (
    "お客様側管理番号", "発送予定日", "発送予定時間区分", "出荷期限日", "到着期限日", "郵便種別", "保冷種別",
    "元／着払／代引",
    # recipient block (unconfirmed names)
    "お届け先郵便番号", "お届け先住所1", "お届け先住所2", "お届け先住所3", "お届け先名称", "お届け先敬称",
    "お届け先電話番号",
    # sender block (unconfirmed names)
    "ご依頼主郵便番号", "ご依頼主住所1", "ご依頼主名称", "ご依頼主電話番号",
    # handling block (unconfirmed names)
    "配達希望日", "配達希望時間帯", "代引金額", "代引消費税",
    # goods block (unconfirmed names)
    "品名", "個数",
)  # fmt: skip

KIND: dict[str, str] = {Service.YUPACKET: "9"}
COOL: dict[str, str] = {CoolType.NORMAL: "0", CoolType.CHILLED: "1", CoolType.FROZEN: "2"}


class YuPri(Layout):
    code = WaybillFormat.YUPRI
    carrier = Carrier.JAPAN_POST
    header = HEADER

    def row(self, order: WaybillOrder, clean: Cleaner, today: dt.date) -> list[str]:
        self.check(order)
        kind = KIND.get(order.method_service, "0")
        if kind == "9" and order.cash_on_delivery:
            raise Refused(_("ゆうパケット cannot carry cash on delivery"))
        slot = ""
        if order.delivery_slot and kind == "0":
            slot = slot_code(Carrier.JAPAN_POST, order.delivery_slot)
            if not slot:
                raise Refused(_("Japan Post has no delivery time slot %(slot)s") % {"slot": order.delivery_slot})
        sender = order.sender
        if not (sender.name and sender.address and postal(sender.postal_code)):
            raise Refused(_("the shop's sender (name, postal code, address in the form settings) is incomplete"))
        items = item_text(order)
        cod = order.cash_on_delivery
        values = {
            "お客様側管理番号": order.management_number,
            "発送予定日": date_plain(max(order.ship_date or today, today)),
            "郵便種別": kind,
            "保冷種別": COOL.get(order.method_cool, "0"),
            "元／着払／代引": "2" if cod else "0",
            "お届け先郵便番号": postal(order.dest_postal_code),
            "お届け先住所1": clean("お届け先住所1", f"{order.dest_prefecture}{order.dest_city}", 40, refuse=True),
            "お届け先住所2": clean("お届け先住所2", order.dest_address1, 40, refuse=True),
            "お届け先住所3": clean("お届け先住所3", order.dest_address2, 40, refuse=True),
            "お届け先名称": clean("お届け先名称", order.dest_name, 40, refuse=True),
            "お届け先敬称": "様",
            "お届け先電話番号": phone(order.dest_phone),
            "ご依頼主郵便番号": postal(sender.postal_code),
            "ご依頼主住所1": clean("ご依頼主住所1", sender.address, 80, refuse=True),
            "ご依頼主名称": clean("ご依頼主名称", sender.name, 40, refuse=True),
            "ご依頼主電話番号": phone(sender.phone),
            "配達希望日": date_plain(order.requested_delivery_date),
            "配達希望時間帯": slot,
            "代引金額": str(order.total) if cod else "",
            "代引消費税": str(order.tax) if cod else "",
            "品名": clean("品名", " / ".join(items), 40),
            "個数": "1",
        }
        return self.by_name(values)
