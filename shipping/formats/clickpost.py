"""Click Post bulk application (まとめ申込): 8 columns as ../shared/FORMATS.md gives them, cp932, CRLF, header row,
at most 40 rows a file.

More than 40 orders: several files of at most 40 rows each, in one zip (clickpost-1.csv, clickpost-2.csv …).
Chosen over refusing orders beyond the 40th because まとめ申込 takes one file at a time anyway, so the operator
uploads the files one after the other instead of exporting the same search again and again (and each export
would have to remember which orders the last one took).

Click Post carries no cash on delivery (refused) and needs no phone. Its size limits (34 × 25 cm, 3 cm thick,
1 kg) cannot be checked here: products carry no dimensions a parcel's thickness could be read from.

Field limits used (cp932 bytes): お届け先氏名 40 (20 full-width), お届け先住所1–4行目 40 each (line 1 =
prefecture + city, 2 = address line 1, 3 = line 2, 4 = company: a longer line refuses the order), 内容品 30
(15 full-width, cut).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from shipping.models import Carrier, WaybillFormat

from . import Cleaner, Layout, WaybillOrder, postal

HEADER: tuple[str, ...] = (
    "お届け先郵便番号", "お届け先氏名", "お届け先敬称", "お届け先住所1行目", "お届け先住所2行目",
    "お届け先住所3行目", "お届け先住所4行目", "内容品",
)  # fmt: skip
ROWS_PER_FILE = 40


class ClickPost(Layout):
    code = WaybillFormat.CLICKPOST
    carrier = Carrier.JAPAN_POST
    header = HEADER
    rows_per_file = ROWS_PER_FILE
    needs_phone = False
    takes_cod = False

    def row(self, order: WaybillOrder, clean: Cleaner, today: dt.date) -> list[str]:
        self.check(order)
        names = [name for name, _quantity in order.items]
        return self.by_name(
            {
                "お届け先郵便番号": postal(order.dest_postal_code).replace("-", ""),
                "お届け先氏名": clean("お届け先氏名", order.dest_name, 40, refuse=True),
                "お届け先敬称": "様",
                "お届け先住所1行目": clean(
                    "お届け先住所1行目", f"{order.dest_prefecture}{order.dest_city}", 40, refuse=True
                ),
                "お届け先住所2行目": clean("お届け先住所2行目", order.dest_address1, 40, refuse=True),
                "お届け先住所3行目": clean("お届け先住所3行目", order.dest_address2, 40, refuse=True),
                "お届け先住所4行目": clean("お届け先住所4行目", order.dest_company, 40, refuse=True),
                "内容品": clean("内容品", names[0] if names else _("goods"), 30),
            }
        )
