"""Sagawa e飛伝II / e飛伝III import layout: 74 columns, Shift_JIS (cp932), CRLF, header row written, spelled as
../shared/FORMATS.md lists them (full-width digits in お届け先住所１–３, 品名１–５, 荷札品名１–１１, 指定シール１–３;
編集01–10 half-width, as FORMATS.md writes them).

Codes: クール便指定 001 通常, 002 冷蔵, 003 冷凍; 配達指定時間帯 through shipping.constants.slot_code
(01 午前中, 12, 14, 16, 18, 19; 04 = 18–21 is no canonical slot). 元着区分 1 (元払) — FORMATS.md does not give
its codes: unconfirmed. 代引金額 and 消費税 from the order's total and included tax. Dates YYYYMMDD.

Field limits used (cp932 bytes): お届け先住所１–３ 32 each (address 1 = prefecture + city, 2 = address line 1,
3 = line 2: a longer one refuses the order), お届け先名称１–２ 32, お客様管理番号 16 (half-width), 品名１–５ 32
(cut), ご依頼主住所１–２ 32, ご依頼主名称１ 32.

The tracking-number export of e飛伝 is not published: shipping.services.tracking reads it by header with the
tenant's saved mapping (default お客様管理番号 ↔ お問い合せ送り状No., 出荷日).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from shipping.constants import CoolType, slot_code
from shipping.models import Carrier, WaybillFormat

from . import Cleaner, Layout, Refused, WaybillOrder, date_plain, item_text, phone, postal

FW = "０１２３４５６７８９"


def _fw(n: int) -> str:
    return "".join(FW[int(d)] for d in str(n))


HEADER: tuple[str, ...] = (
    "お届け先コード取得区分", "お届け先コード", "お届け先電話番号", "お届け先郵便番号",
    *(f"お届け先住所{_fw(i)}" for i in range(1, 4)),
    *(f"お届け先名称{_fw(i)}" for i in range(1, 3)),
    "お客様管理番号", "お客様コード", "部署ご担当者コード取得区分", "部署ご担当者コード", "部署ご担当者名称",
    "荷送人電話番号", "ご依頼主コード取得区分", "ご依頼主コード", "ご依頼主電話番号", "ご依頼主郵便番号",
    *(f"ご依頼主住所{_fw(i)}" for i in range(1, 3)),
    *(f"ご依頼主名称{_fw(i)}" for i in range(1, 3)),
    "荷姿",
    *(f"品名{_fw(i)}" for i in range(1, 6)),
    "荷札荷姿",
    *(f"荷札品名{_fw(i)}" for i in range(1, 12)),
    "出荷個数", "スピード指定", "クール便指定", "配達日", "配達指定時間帯", "配達指定時間（時分）", "代引金額",
    "消費税",
    "決済種別", "保険金額",
    *(f"指定シール{_fw(i)}" for i in range(1, 4)),
    "営業所受取", "SRC区分", "営業所受取営業所コード", "元着区分", "メールアドレス", "ご不在時連絡先", "出荷日",
    "お問い合せ送り状No.", "出荷場印字区分", "集約解除指定",
    *(f"編集{i:02d}" for i in range(1, 11)),
)  # fmt: skip

COOL: dict[str, str] = {CoolType.NORMAL: "001", CoolType.CHILLED: "002", CoolType.FROZEN: "003"}
PREPAID = "1"


class EHiden(Layout):
    code = WaybillFormat.EHIDEN
    carrier = Carrier.SAGAWA
    header = HEADER

    def row(self, order: WaybillOrder, clean: Cleaner, today: dt.date) -> list[str]:
        self.check(order)
        slot = ""
        if order.delivery_slot:
            slot = slot_code(Carrier.SAGAWA, order.delivery_slot)
            if not slot:
                raise Refused(_("Sagawa has no delivery time slot %(slot)s") % {"slot": order.delivery_slot})
        sender = order.sender
        if not (sender.name and sender.address and phone(sender.phone) and postal(sender.postal_code)):
            raise Refused(_("the shop's sender (name, postal code, address, phone in the form settings) is incomplete"))
        items = item_text(order)[:5]
        cod = order.cash_on_delivery
        values = {
            "お届け先電話番号": phone(order.dest_phone)[:14],
            "お届け先郵便番号": postal(order.dest_postal_code),
            "お届け先住所１": clean("お届け先住所１", f"{order.dest_prefecture}{order.dest_city}", 32, refuse=True),
            "お届け先住所２": clean("お届け先住所２", order.dest_address1, 32, refuse=True),
            "お届け先住所３": clean("お届け先住所３", order.dest_address2, 32, refuse=True),
            "お届け先名称１": clean("お届け先名称１", order.dest_name, 32, refuse=True),
            "お届け先名称２": clean("お届け先名称２", order.dest_company, 32),
            "お客様管理番号": order.management_number[:16],
            "ご依頼主電話番号": phone(sender.phone)[:14],
            "ご依頼主郵便番号": postal(sender.postal_code),
            "ご依頼主住所１": clean("ご依頼主住所１", sender.address[:16], 32),
            "ご依頼主住所２": clean("ご依頼主住所２", sender.address[16:], 32, refuse=True),
            "ご依頼主名称１": clean("ご依頼主名称１", sender.name, 32, refuse=True),
            **{f"品名{_fw(i + 1)}": clean(f"品名{_fw(i + 1)}", text, 32) for i, text in enumerate(items)},
            "出荷個数": "1",
            "クール便指定": COOL.get(order.method_cool, "001"),
            "配達日": date_plain(order.requested_delivery_date),
            "配達指定時間帯": slot,
            "代引金額": str(order.total) if cod else "",
            "消費税": str(order.tax) if cod else "",
            "元着区分": PREPAID,
            "出荷日": date_plain(max(order.ship_date or today, today)),
        }
        return self.by_name(values)
