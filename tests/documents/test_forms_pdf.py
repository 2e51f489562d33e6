"""The printed forms as PDF, read back with poppler: the Japanese text, every amount, the tax per rate, the
registration number, page breaks of a long order, the receipt's marks, the picking list's sums, and fonts.

Several orders go into one PDF wherever a test can (a render costs 0.1–0.5 s)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backyard.models import Tenant
from documents.models import (
    DocumentKind,
    DocumentSettings,
    Layout,
    PrintMark,
    ReceiptDetails,
    corporate_check_digit,
    validate_registration_number,
)
from documents.services.data import order_forms
from documents.services.render import render_pdf
from inventory.models import Product
from orders.models import Order, PaymentMethod
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from shops.models import Shop
from tests.factories import make_order

REGISTRATION = f"T{corporate_check_digit('000012050002')}000012050002"  # T7000012050002

# The three-line order's figures, reckoned by hand (内税; tax rounded down once per rate):
#   8 %: 2,160 + 4,860 = 7,020 → tax 7,020 × 8 / 108 = 520
#  10 %: 2,200 + shipping 600 + COD fee 330 − discount 200 = 2,930 → tax 2,930 × 10 / 110 = 266.36… → 266
#  total: 9,220 + 600 + 330 − 200 − points 100 = 9,850
THREE_LINES = [
    {"sku": "TEA-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8},
    {"sku": "CUP-010", "name": "有田焼 湯呑み", "options": "色:藍", "unit_price": 2200, "quantity": 1, "tax_rate": 10},
    {"sku": "KAS-200", "name": "和菓子詰め合わせ", "unit_price": 1620, "quantity": 3, "tax_rate": 8},
]


# --- helpers ----------------------------------------------------------------------------------------------


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, check=True, text=True, timeout=60).stdout


def text_of(path: Path, page: int | None = None) -> str:
    """pdftotext -layout, then white space removed (letter-spaced titles come out as 納 品 書)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return re.sub(r"\s+", "", run("pdftotext", "-layout", *pages, str(path), "-"))


def lines_of(path: Path, page: int | None = None) -> list[str]:
    """Each printed line with its white space removed: a table row stays one line."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return [re.sub(r"\s+", "", line) for line in run("pdftotext", "-layout", *pages, str(path), "-").splitlines()]


def page_count(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(path)), re.M).group(1))  # type: ignore[union-attr]


def page_size(path: Path) -> str:
    return re.search(r"^Page size:\s+([\d.]+ x [\d.]+)", run("pdfinfo", str(path)), re.M).group(1)  # type: ignore[union-attr]


def render(tenant: Tenant, kind: str, orders: list[Order], tmp_path: Path, **options: Any) -> Path:
    data = render_pdf(tenant, kind, order_forms(tenant, [o.pk for o in orders]), options)
    path = tmp_path / f"{kind}-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(data)
    return path


def method(tenant: Tenant, code: str) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code=code)


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def shop(tenant: Tenant) -> Shop:
    shop = Shop.objects.create(tenant=tenant, name="お茶の山田屋 楽天市場店", mall=MallKind.RAKUTEN, code="yamadaya")
    DocumentSettings.objects.create(
        tenant=tenant,
        shop=shop,
        issuer_name="株式会社テスト商店",
        issuer_postal_code="150-0001",
        issuer_address="東京都渋谷区神宮前1-2-3 テストビル4F",
        issuer_phone="03-9876-5432",
        registration_number=REGISTRATION,
        delivery_note_with_invoice=True,
    )
    return shop


@pytest.fixture
def three(tenant: Tenant, shop: Shop) -> Order:
    """Mixed rates, COD with its fee, a discount and points; everything the order sheet shows is set."""
    order = make_order(
        tenant,
        shop=shop,
        external_id="R-0003",
        lines=THREE_LINES,
        payment_method=method(tenant, "cod"),
        delivery_method=DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便"),
        delivery_time_slot="午前中",
        requested_delivery_date=dt.date(2026, 3, 14),
        ship_date=dt.date(2026, 3, 12),
        cod_fee=330,
        discount=200,
        points_used=100,
        dest_name="佐藤 花子",
        dest_phone="06-1111-2222",
        dest_postal_code="530-0001",
        dest_prefecture="大阪府",
        dest_city="大阪市北区",
        dest_address1="梅田2-2-2",
        dest_address2="梅田グランドタワー 1203号室",
        remarks="のし紙をお願いします",
        order_comment="ギフト包装希望",
    )
    Order.objects.filter(pk=order.pk).update(work_memo="緩衝材多め")
    return order


@pytest.fixture
def one(tenant: Tenant, shop: Shop) -> Order:
    """One line, a card payment, and a name in kanji outside JIS level 1–2 (𠮷 is not in IPAex)."""
    return make_order(
        tenant,
        shop=shop,
        external_id="R-0001",
        orderer_name="𠮷野 髙橋﨑",
        lines=[{"sku": "TEA-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 1, "tax_rate": 8}],
    )


@pytest.fixture
def sixty(tenant: Tenant, shop: Shop) -> Order:
    return make_order(
        tenant,
        shop=shop,
        external_id="R-0060",
        payment_method=method(tenant, "bank_transfer"),
        lines=[
            {
                "sku": f"SKU-{n:03d}",
                "name": f"季節の詰め合わせ 第{n}号",
                "unit_price": 100 * n,
                "quantity": 1 + n % 3,
                "tax_rate": 8 if n % 2 else 10,
            }
            for n in range(1, 61)
        ],
    )


@pytest.fixture
def big_transfer(tenant: Tenant, shop: Shop) -> Order:
    """¥55,600 paid by bank transfer: the receipt needs a revenue stamp."""
    return make_order(
        tenant,
        shop=shop,
        external_id="R-5000",
        payment_method=method(tenant, "bank_transfer"),
        lines=[{"sku": "POT-900", "name": "南部鉄器 急須", "unit_price": 55000, "quantity": 1, "tax_rate": 10}],
    )


@pytest.fixture
def big_card(tenant: Tenant, shop: Shop) -> Order:
    """The same amount by card: no revenue stamp."""
    return make_order(
        tenant,
        shop=shop,
        external_id="R-5001",
        lines=[{"sku": "POT-900", "name": "南部鉄器 急須", "unit_price": 55000, "quantity": 1, "tax_rate": 10}],
    )


# --- registration numbers ------------------------------------------------------------------------------


def test_registration_number_check_digit() -> None:
    assert REGISTRATION == "T7000012050002"
    validate_registration_number(REGISTRATION)


@pytest.mark.parametrize(
    "value",
    ["7000012050002", "T700001205000", "T70000120500021", "t7000012050002", "T７000012050002", "T70000-2050002", ""],
)
def test_registration_number_shape(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_registration_number(value)
    assert caught.value.code == "shape"


def test_registration_number_wrong_check_digit_refused_for_a_corporation_only() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_registration_number("T1000012050002")
    assert caught.value.code == "check_digit"
    validate_registration_number("T1000012050002", corporation=False)  # an individual's number has no check


# --- the order's figures -------------------------------------------------------------------------------


def test_three_line_order_figures(three: Order, tenant: Tenant) -> None:
    """The hand-reckoned figures the tests below look for are the order's own."""
    three.refresh_from_db()
    assert (three.item_subtotal, three.tax, three.total) == (9220, 786, 9850)
    (form,) = order_forms(tenant, [three.pk])
    assert [(r.rate, r.amount, r.tax, r.net) for r in form.rates] == [(8, 7020, 520, 6500), (10, 2930, 266, 2664)]
    assert form.rates_total == 9950


# --- 納品書 (with the invoice items) -----------------------------------------------------------------------


def test_delivery_notes_with_invoice(tenant: Tenant, three: Order, one: Order, sixty: Order, tmp_path: Path) -> None:
    path = render(tenant, DocumentKind.DELIVERY_NOTE, [three, one, sixty], tmp_path)
    assert page_count(path) == 4  # 1 + 1 + 2: each order on a new page, the 60 lines run on to a second

    page1 = text_of(path, 1)
    for text in [
        "納品書兼適格請求書",
        f"登録番号{REGISTRATION}",
        "株式会社テスト商店",
        "〒150-0001",
        "注文番号：R-0003",
        "山田太郎様",
        "佐藤花子様",
        "〒530-0001",
        "梅田グランドタワー1203号室",
        "この度はお買い上げいただき",
        "有機緑茶100g※",
        "和菓子詰め合わせ※",
        "色:藍",
        "※は軽減税率(8%)対象",
    ]:
        assert text in page1, text
    assert "有田焼湯呑み※" not in page1  # a 10 % line carries no mark
    lines = lines_of(path, 1)
    for row in [
        "有機緑茶100g※¥1,0802¥2,160",
        "¥2,2001¥2,200",
        "¥1,6203¥4,860",
        "8%対象（軽減）¥7,020（内消費税¥520）",
        "10%対象¥2,930（内消費税¥266）",
    ]:
        assert any(row in line for line in lines), row
    for label, amount in [
        ("商品合計", "¥9,220"),
        ("送料", "¥600"),
        ("代引手数料", "¥330"),
        ("割引", "−¥200"),
        ("ポイント利用", "−¥100"),
        ("お支払合計", "¥9,850"),
        ("（内消費税）", "¥786"),
    ]:
        assert any(line.endswith(label + amount) for line in lines), (label, amount)

    page2 = text_of(path, 2)
    assert "𠮷野髙橋﨑様" in page2  # rare kanji print (𠮷 from Noto Sans CJK JP, the rest from IPAex)
    assert "8%対象（軽減）¥1,080（内消費税¥80）" in page2
    assert "10%対象¥600（内消費税¥54）" in page2  # the shipping fee alone at 10 %

    sixty.refresh_from_db()
    page3, page4 = text_of(path, 3), text_of(path, 4)
    assert "次ページへ続く" in page3
    assert "次ページへ続く" not in page4
    assert "注文番号R-0060（続き）" in page4
    assert "（続き）" not in page3
    assert "No商品名単価（税込）数量金額（税込）" in page4  # the column header repeats
    assert "季節の詰め合わせ第60号※" not in page4
    assert "季節の詰め合わせ第59号※" in page4
    rows = [line for line in lines_of(path, 3) + lines_of(path, 4) if re.match(r"\d+季節", line)]
    assert len(rows) == 60
    for n, row in enumerate(rows, start=1):  # every line once, in order, with its amount
        mark = "※" if n % 2 else ""
        assert row == f"{n}季節の詰め合わせ第{n}号{mark}{yen(100 * n)}{1 + n % 3}{yen(100 * n * (1 + n % 3))}", row
    assert f"お支払合計{yen(sixty.total)}" in page4
    assert "お支払合計" not in page3  # the totals follow the last line


def test_delivery_note_without_invoice_layouts(tenant: Tenant, shop: Shop, three: Order, tmp_path: Path) -> None:
    """Without the invoice option: a plain 納品書, no registration number, no per-rate table; the compact and
    formal layouts print the same facts."""
    DocumentSettings.objects.filter(shop=shop).update(delivery_note_with_invoice=False)
    for layout in Layout:
        DocumentSettings.objects.filter(shop=shop).update(layout=layout)
        path = render(tenant, DocumentKind.DELIVERY_NOTE, [three], tmp_path)
        text = text_of(path)
        assert page_count(path) == 1
        assert "納品書" in text
        assert "適格請求書" not in text
        assert REGISTRATION not in text
        assert "内消費税¥520" not in text
        assert "※" not in text
        assert "お支払合計¥9,850" in text
        assert "山田太郎様" in text


# --- 受注明細書 ------------------------------------------------------------------------------------------


def test_order_sheets(tenant: Tenant, three: Order, sixty: Order, tmp_path: Path) -> None:
    path = render(tenant, DocumentKind.ORDER_SHEET, [three, sixty], tmp_path)
    assert page_count(path) == 3

    page1 = text_of(path, 1)
    for text in [
        "受注明細書",
        "注文番号：R-0003",
        "お茶の山田屋楽天市場店",
        "代金引換",
        "代引¥9,850",
        "宅急便",
        "2026年3月12日",  # ship date
        "2026年3月14日",  # requested date
        "午前中",
        "ご注文者",
        "ヤマダタロウ",
        "TEL03-1234-5678",
        "お届け先",
        "佐藤花子様",
        "TEL06-1111-2222",
        "大阪府大阪市北区梅田2-2-2",
        "TEA-001",
        "CUP-010",
        "色:藍",
        "のし紙をお願いします",
        "ギフト包装希望",
        "緩衝材多め",
        "お支払合計¥9,850",
    ]:
        assert text in page1, text
    lines = lines_of(path, 1)
    assert any("TEA-001有機緑茶100g8%※¥1,0802¥2,160" in line for line in lines)
    assert any("CUP-010有田焼湯呑み10%¥2,2001¥2,200" in line for line in lines)

    page3 = text_of(path, 3)
    assert "注文番号R-0060（続き）" in page3
    assert "NoSKU商品名/オプション税率単価数量金額" in page3
    assert "SKU-060" in page3
    assert "1/3" in text_of(path, 1)
    assert "3/3" in page3


# --- 領収書 -------------------------------------------------------------------------------------------------


def test_receipts(
    tenant: Tenant, three: Order, one: Order, big_transfer: Order, big_card: Order, tmp_path: Path
) -> None:
    now = timezone.now()
    PrintMark.objects.create(
        tenant=tenant, order=big_transfer, kind=DocumentKind.RECEIPT, first_printed_at=now, last_printed_at=now
    )
    PrintMark.objects.create(  # printed as a delivery note before: the receipt is still the first one
        tenant=tenant, order=big_card, kind=DocumentKind.DELIVERY_NOTE, first_printed_at=now, last_printed_at=now
    )
    ReceiptDetails.objects.create(
        tenant=tenant, order=three, addressee="株式会社サンプル 経理部", proviso="茶葉代として"
    )
    path = render(tenant, DocumentKind.RECEIPT, [three, one, big_transfer, big_card], tmp_path)
    assert page_count(path) == 4
    cod, card, transfer, card_big = (text_of(path, n) for n in range(1, 5))

    assert "領収書" in cod
    assert "株式会社サンプル経理部様" in cod
    assert "¥9,850-" in cod
    assert "但し茶葉代として" in cod
    assert "8%対象（軽減）¥7,020（内消費税¥520）" in cod
    assert "10%対象¥2,930（内消費税¥266）" in cod
    assert "ポイント利用−¥100" in cod
    assert f"登録番号{REGISTRATION}" in cod
    assert "株式会社テスト商店" in cod
    assert "No.：R-0003" in cod
    assert "上記正に領収いたしました" in cod

    assert "𠮷野髙橋﨑様" in card
    assert "¥1,680-" in card
    assert "但しお品代として" in card
    assert "クレジットカード決済" in card

    assert "¥55,600-" in transfer
    assert "収入印紙" in transfer
    assert "再発行" in transfer
    assert "クレジットカード決済" not in transfer

    assert "¥55,600-" in card_big
    assert "収入印紙" not in card_big
    assert "クレジットカード決済" in card_big
    assert "再発行" not in card_big
    for page in (cod, card):
        assert "収入印紙" not in page
        assert "再発行" not in page


# --- 適格請求書 --------------------------------------------------------------------------------------------


def test_invoices(tenant: Tenant, three: Order, one: Order, tmp_path: Path) -> None:
    path = render(tenant, DocumentKind.INVOICE, [three, one], tmp_path)
    assert page_count(path) == 2
    page1 = text_of(path, 1)
    for text in [
        "適格請求書",
        f"登録番号{REGISTRATION}",
        "株式会社テスト商店",
        "請求先",
        "山田太郎様",
        "取引年月日：2026年3月12日",  # the ship date
        "有機緑茶100g※",
        "和菓子詰め合わせ※",
        "※は軽減税率(8%)対象",
        "送料10%¥600",
        "代引手数料10%¥330",
        "割引10%−¥200",
        "8%対象（軽減）¥6,500¥7,020（内消費税¥520）",
        "10%対象¥2,664¥2,930（内消費税¥266）",
        "合計（税込）¥9,950",
        "（内消費税）¥786",
        "ポイント利用−¥100",
        "ご請求金額¥9,850",
    ]:
        assert text in page1, text
    assert "有田焼湯呑み※" not in page1

    page2 = text_of(path, 2)
    one.refresh_from_db()
    assert f"取引年月日：{timezone.localtime(one.ordered_at):%Y年%-m月%-d日}" in page2  # no ship date: the order date
    assert "ご請求金額¥1,680" in page2
    assert "10%対象¥546¥600（内消費税¥54）" in page2


# --- ピッキングリスト ----------------------------------------------------------------------------------------


def test_picking_list_sums_and_sorts(
    tenant: Tenant, three: Order, one: Order, big_transfer: Order, tmp_path: Path
) -> None:
    Product.objects.create(tenant=tenant, sku="TEA-001", name="有機緑茶 100g", location="C-03-2")
    Product.objects.create(tenant=tenant, sku="KAS-200", name="和菓子詰め合わせ", location="A-01-1")
    Product.objects.create(tenant=tenant, sku="POT-900", name="南部鉄器 急須", location="B-12-4")
    orders = [three, one, big_transfer]

    by_location = render(tenant, DocumentKind.PICKING_LIST, orders, tmp_path, sort="location", orientation="landscape")
    assert page_count(by_location) == 1
    assert page_size(by_location) == "841.89 x 595.276"  # A4 landscape
    text = text_of(by_location)
    assert "ピッキングリスト" in text
    assert "対象注文：3件" in text
    assert "ロケーション順" in text
    rows = [line for line in lines_of(by_location) if line.startswith("□")]
    assert rows == [
        "□A-01-1KAS-200和菓子詰め合わせ3R-0003",
        "□B-12-4POT-900南部鉄器急須1R-5000",
        "□C-03-2TEA-001有機緑茶100g3R-0003,R-0001",  # 2 + 1 summed, both orders named
        "□—CUP-010有田焼湯呑み1R-0003",  # no location: last
    ]
    assert "□—CUP-010有田焼湯呑み1R-0003色:藍" in text  # the options under the name

    by_sku = render(tenant, DocumentKind.PICKING_LIST, orders, tmp_path, sort="sku")
    assert page_size(by_sku) == "595.276 x 841.89"  # A4 portrait
    skus = [re.search(r"[A-Z]{3}-\d{3}", line).group(0) for line in lines_of(by_sku) if line.startswith("□")]  # type: ignore[union-attr]
    assert skus == ["CUP-010", "KAS-200", "POT-900", "TEA-001"]
    assert "SKU順" in text_of(by_sku)


# --- fonts ------------------------------------------------------------------------------------------------


def test_fonts_embedded_and_rare_kanji(tenant: Tenant, shop: Shop, one: Order, tmp_path: Path) -> None:
    """Every font is embedded (a subset); 𠮷, which IPAex lacks, comes from Noto Sans CJK JP (Noto Serif CJK JP in
    the formal layout's Mincho title), 髙 and 﨑 from IPAex."""
    for layout, fonts in [(Layout.STANDARD, ["IPAexGothic", "Noto-Sans-CJK-JP"]), (Layout.FORMAL, ["IPAexMincho"])]:
        DocumentSettings.objects.filter(shop=shop).update(layout=layout)
        path = render(tenant, DocumentKind.RECEIPT, [one], tmp_path)
        report = run("pdffonts", str(path)).splitlines()[2:]
        assert report, "no fonts listed"
        for row in report:
            assert row.split()[-5:-3] == ["yes", "yes"], row  # embedded, as a subset
        names = " ".join(row.split()[0] for row in report)
        for font in fonts:
            assert font in names, names
        assert "𠮷野髙橋﨑様" in text_of(path)


# --- images ----------------------------------------------------------------------------------------------


def test_logo_and_seal_from_the_tenants_media(
    tenant: Tenant, shop: Shop, one: Order, big_transfer: Order, tmp_path: Path, settings: Any
) -> None:
    """The delivery note and the invoice carry the logo, the receipt the seal (read from MEDIA_ROOT)."""
    from PIL import Image

    settings.MEDIA_ROOT = str(tmp_path / "media")
    folder = tmp_path / "media" / f"tenants/{tenant.pk}/documents"
    folder.mkdir(parents=True)
    Image.new("RGB", (300, 80), (40, 90, 60)).save(folder / "logo.png")
    Image.new("RGBA", (120, 120), (200, 30, 30, 255)).save(folder / "seal.png")
    DocumentSettings.objects.filter(shop=shop).update(
        logo=f"tenants/{tenant.pk}/documents/logo.png", seal=f"tenants/{tenant.pk}/documents/seal.png"
    )
    out = tmp_path / "out"
    out.mkdir()
    for kind, size in [
        (DocumentKind.DELIVERY_NOTE, "300x80"),
        (DocumentKind.INVOICE, "300x80"),
        (DocumentKind.RECEIPT, "120x120"),
    ]:
        path = render(tenant, kind, [one, big_transfer], out)
        images = [line.split() for line in run("pdfimages", "-list", str(path)).splitlines()[2:]]
        drawn = [(row[0], f"{row[3]}x{row[4]}") for row in images if row[2] == "image"]  # a seal's alpha is an smask
        assert drawn == [("1", size), ("2", size)], kind
