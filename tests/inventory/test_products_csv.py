"""Products by CSV: the export, the preview (which writes nothing) and the import, through the screens an
operator uses. Round trips in cp932 and UTF-8, stock changes in the history, every kind of bad row named in
Japanese with its row number (and skipped whole, the good rows imported, as the order CSV import does),
sets and mall aliases, the kept upload unreachable from another tenant or user, fixed query counts, and the
formula guard of the export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backyard.models import Role
from inventory.models import Allocation, MoveKind, Product, SetComponent, SkuAlias, StockMove
from inventory.services.products_csv import MAX_ROWS
from shops.constants import MallKind
from tests.factories import PASSWORD, make_member, make_order

pytestmark = pytest.mark.django_db

HEADER = (
    "SKU,商品名,オプション,JANコード,棚番,重量(g),サイズ区分,在庫数,引当数,発注点,セット商品,構成品,モール商品番号,有効"
)


@pytest.fixture(autouse=True)
def _japanese(settings: Any) -> None:
    settings.LANGUAGE_CODE = "ja"


def product(tenant: Any, sku: str, on_hand: int = 0, **fields: Any) -> Product:
    fields.setdefault("name", f"商品 {sku}")
    return Product.objects.create(tenant=tenant, sku=sku, on_hand=on_hand, **fields)


@pytest.fixture
def catalogue(tenant: Any) -> dict[str, Product]:
    """A small master: single products, a set of two of them, mall aliases, a name cp932 cannot write."""
    tea = product(tenant, "TEA-1", 10, name="有機緑茶 100g", jan="4901234567894", location="A-01", weight_g=120,
                  size_class="mail", reorder_point=3)  # fmt: skip
    cup = product(tenant, "CUP-1", 4, name="湯呑み 𠮷", options="白", weight_g=300, size_class="60")
    gift = product(tenant, "GIFT-1", 0, name="お茶セット", is_set=True)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=tea, quantity=2)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=cup, quantity=1)
    SkuAlias.objects.create(tenant=tenant, product=tea, mall=MallKind.RAKUTEN, mall_sku="rk-1")
    SkuAlias.objects.create(tenant=tenant, product=tea, mall=MallKind.YAHOO, mall_sku="y-1")
    return {"tea": tea, "cup": cup, "gift": gift}


def export(client: Client, encoding: str = "") -> bytes:
    url = reverse("products_export") + (f"?encoding={encoding}" if encoding else "")
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def rows_of(data: bytes, encoding: str = "cp932") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def upload(client: Client, data: bytes | str, name: str = "products.csv") -> Any:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return client.post(reverse("products_csv_upload"), {"file": SimpleUploadedFile(name, raw)})


def preview_of(client: Client, data: bytes | str) -> tuple[str, dict[str, Any]]:
    """Upload the file; its key and the preview the page shows."""
    response = upload(client, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    key = response["Location"].rstrip("/").split("/")[-1]
    page = client.get(response["Location"])
    assert page.status_code == 200
    return key, page.context["preview"]


def import_file(client: Client, data: bytes | str) -> dict[str, Any]:
    key, _preview = preview_of(client, data)
    response = client.post(reverse("products_csv_import", args=[key]))
    assert response.status_code == 302
    page = client.get(response["Location"])
    return page.context["result"]


def counts(preview: dict[str, Any]) -> tuple[int, int, int, int]:
    c = preview["counts"]
    return c["new"], c["changed"], c["unchanged"], c["bad"]


def state(tenant: Any) -> list[tuple[Any, ...]]:
    """Everything the import may write, to compare before and after."""
    products = list(
        Product.objects.filter(tenant=tenant)
        .order_by("sku")
        .values_list("sku", "name", "options", "jan", "location", "weight_g", "size_class", "on_hand",
                     "allocated", "reorder_point", "is_set", "active", "updated_at")
    )  # fmt: skip
    parts = list(
        SetComponent.objects.filter(tenant=tenant)
        .order_by("set_product__sku", "component__sku")
        .values_list("set_product__sku", "component__sku", "quantity")
    )
    aliases = list(
        SkuAlias.objects.filter(tenant=tenant)
        .order_by("mall", "mall_sku")
        .values_list("mall", "mall_sku", "product__sku")
    )
    return [*products, *parts, *aliases, StockMove.objects.filter(tenant=tenant).count()]


# --- export -------------------------------------------------------------------------------------------------


def test_the_export_is_cp932_with_crlf_and_japanese_columns_by_default(operator_client, catalogue):
    data = export(operator_client)

    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 4
    assert b"\n" not in data.replace(b"\r\n", b"")
    rows = rows_of(data)
    assert ",".join(rows[0]) == HEADER
    assert rows[1:] == [
        ["CUP-1", "湯呑み ?", "白", "", "", "300", "60", "4", "0", "0", "0", "", "", "1"],
        ["GIFT-1", "お茶セット", "", "", "", "", "", "0", "0", "0", "1", "TEA-1*2;CUP-1*1", "", "1"],
        ["TEA-1", "有機緑茶 100g", "", "4901234567894", "A-01", "120", "mail", "10", "0", "3", "0", "",
         "rakuten:rk-1;yahoo:y-1", "1"],
    ]  # fmt: skip


def test_the_utf8_export_has_a_bom_and_keeps_every_character(operator_client, catalogue):
    data = export(operator_client, "utf-8")

    assert data.startswith(b"\xef\xbb\xbf")
    assert rows_of(data, "utf-8-sig")[1][1] == "湯呑み 𠮷"


def test_the_export_writes_only_the_tenants_products(operator_client, catalogue, other_tenant):
    product(other_tenant, "OTHER-1", 5)

    skus = [row[0] for row in rows_of(export(operator_client))[1:]]

    assert skus == ["CUP-1", "GIFT-1", "TEA-1"]


def test_the_export_refuses_an_unknown_encoding_in_words(operator_client, catalogue):
    response = operator_client.get(reverse("products_export") + "?encoding=latin-1")

    assert response.status_code == 400
    assert "文字コード" in response.content.decode()


def test_cells_that_look_like_formulas_get_a_quote_and_import_back_as_they_were(operator_client, tenant):
    product(tenant, "-A1", 2, name='=HYPERLINK("http://evil")', options="+81", location="＠棚")
    product(tenant, "B-2", 1, name="@SUM(1)", options="－特価")

    data = export(operator_client)
    rows = {row[0]: row for row in rows_of(data)[1:]}

    assert rows["'-A1"][1:5] == ['\'=HYPERLINK("http://evil")', "'+81", "", "'＠棚"]
    assert rows["B-2"][1:3] == ["'@SUM(1)", "'－特価"]
    _key, preview = preview_of(operator_client, data)
    assert counts(preview) == (0, 0, 2, 0)


# --- round trips --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp932", "utf-8"])
def test_export_then_import_changes_nothing(operator_client, tenant, catalogue, encoding):
    data = export(operator_client, encoding)
    before = state(tenant)

    _key, preview = preview_of(operator_client, data)
    assert counts(preview) == (0, 0, 3, 0)
    assert preview["errors"] == []
    result = import_file(operator_client, data)

    assert (result["created"], result["changed"], result["skipped"], result["stock_moves"]) == (0, 0, 0, 0)
    assert state(tenant) == before  # the 𠮷 cp932 wrote as "?" stays 𠮷
    assert Product.objects.get(sku="CUP-1").name == "湯呑み 𠮷"


def test_a_changed_stock_writes_one_import_move_by_the_operator(operator_client, operator, tenant, catalogue):
    rows = rows_of(export(operator_client))
    tea = next(row for row in rows if row[0] == "TEA-1")
    tea[7] = "13"
    data = "\r\n".join(",".join(row) for row in rows).encode("cp932")

    key, preview = preview_of(operator_client, data)
    assert counts(preview) == (0, 1, 2, 0)
    assert preview["changed"] == [{"row": 4, "sku": "TEA-1", "changes": [("在庫数", "10", "13")]}]
    assert StockMove.objects.count() == 0  # the preview writes nothing
    operator_client.post(reverse("products_csv_import", args=[key]))

    move = StockMove.objects.get()
    assert (move.product.sku, move.kind, move.on_hand_change, move.on_hand_after) == ("TEA-1", MoveKind.IMPORT, 3, 13)
    assert (move.actor_user_id, move.actor_name) == (operator.pk, operator.username)
    assert "4行目" in move.note
    assert Product.objects.get(sku="TEA-1").on_hand == 13
    # The same file again: nothing changes, no second move.
    result = import_file(operator_client, data)
    assert (result["changed"], result["stock_moves"]) == (0, 0)
    assert StockMove.objects.count() == 1


def test_a_new_product_with_stock_is_created_with_its_first_move(operator_client, tenant):
    result = import_file(operator_client, "SKU,商品名,在庫数,重量(g),サイズ区分\nNEW-1,新茶,7,150,メール便\n")

    assert (result["created"], result["stock_moves"]) == (1, 1)
    new = Product.objects.get(sku="NEW-1")
    assert (new.name, new.on_hand, new.weight_g, new.size_class, new.active) == ("新茶", 7, 150, "mail", True)
    assert StockMove.objects.get().on_hand_change == 7


def test_english_headers_and_a_partial_file_leave_other_fields_alone(operator_client, tenant, catalogue):
    result = import_file(operator_client, "sku,location\nTEA-1,B-09\n")

    assert result["changed"] == 1
    tea = Product.objects.get(sku="TEA-1")
    assert (tea.location, tea.name, tea.on_hand, tea.jan) == ("B-09", "有機緑茶 100g", 10, "4901234567894")
    assert SkuAlias.objects.filter(product=tea).count() == 2  # no aliases column: kept


def test_a_blank_stock_cell_keeps_the_stock(operator_client, tenant, catalogue):
    _key, preview = preview_of(operator_client, "SKU,商品名,在庫数\nTEA-1,有機緑茶 100g,\n")

    assert counts(preview) == (0, 0, 1, 0)


# --- bad rows -----------------------------------------------------------------------------------------------

BAD_ROWS = [
    ("unknown component", "SET-9,箱,,,,,,0,,,1,NOPE-1*2,,1", "構成品", "構成品のSKU NOPE-1 は登録されていません。"),
    ("set of itself", "SET-9,箱,,,,,,0,,,1,SET-9*1,,1", "構成品", "自分自身は含められません"),
    ("set inside a set", "SET-9,箱,,,,,,0,,,1,GIFT-1*1,,1", "構成品", "GIFT-1 はセット商品です"),
    (
        "set made a component's set",
        "TEA-1,有機緑茶 100g,,,,,,10,,,1,CUP-1*1,,1",
        "セット商品",
        "TEA-1 はセット商品 GIFT-1 の構成品です",
    ),
    ("negative stock", "CUP-1,湯呑み,,,,,,-3,,,0,,,1", "在庫数", "マイナスの値は指定できません: -3"),
    ("negative weight", "CUP-1,湯呑み,,,,-1,,4,,,0,,,1", "重量(g)", "マイナスの値は指定できません: -1"),
    ("bad JAN check digit", "CUP-1,湯呑み,,4901234567890,,,,4,,,0,,,1", "JANコード", "チェックデジット"),
    ("unknown mall", "CUP-1,湯呑み,,,,,,4,,,0,,mercari:m-1,1", "モール商品番号", "モール「mercari」は不明です"),
    (
        "alias of another product",
        "CUP-1,湯呑み,,,,,,4,,,0,,rakuten:rk-1,1",
        "モール商品番号",
        "rakuten:rk-1 はすでに商品 TEA-1 のモール商品番号です。",
    ),
    (
        "too long name",
        "CUP-1," + "長" * 256 + ",,,,,,4,,,0,,,1",
        "商品名",
        "長すぎます。255 文字までです（256 文字）。",
    ),
    ("not a number", "CUP-1,湯呑み,,,,,,たくさん,,,0,,,1", "在庫数", "整数ではありません"),
    ("unknown size", "CUP-1,湯呑み,,,,,200,4,,,0,,,1", "サイズ区分", "サイズ区分「200」は不明です"),
    ("new product without name", "NEW-9,,,,,,,0,,,0,,,1", "商品名", "商品名"),
    ("bad components syntax", "SET-9,箱,,,,,,0,,,1,TEA-1*0,,1", "構成品", "「TEA-1*0」を読み取れません"),
]


@pytest.mark.parametrize(("case", "line", "column", "message"), BAD_ROWS, ids=[case[0] for case in BAD_ROWS])
def test_each_bad_row_is_named_in_japanese_with_its_row_and_column(
    operator_client, tenant, catalogue, case, line, column, message
):
    data = "\r\n".join([HEADER, "BOX-1,箱,,,,,,5,,,0,,,1", line])
    before = state(tenant)

    _key, preview = preview_of(operator_client, data)

    assert preview["counts"]["bad"] == 1
    assert preview["counts"]["new"] == 1
    [error] = [e for e in preview["errors"] if e["row"] == 3]
    assert error["column"] == column
    assert message in error["message"]
    assert state(tenant) == before
    page = operator_client.get(reverse("products_csv_preview", args=[_key])).content.decode()
    assert message.split("「")[0].split(" ")[0] in page


def test_a_duplicate_sku_names_both_rows_and_imports_neither(operator_client, tenant, catalogue):
    data = "SKU,商品名,在庫数\nTEA-1,緑茶,20\nCUP-1,湯呑み 𠮷,4\nTEA-1,緑茶,30\n"

    _key, preview = preview_of(operator_client, data)

    assert [(e["row"], e["column"]) for e in preview["errors"]] == [(2, "SKU"), (4, "SKU")]
    assert "SKU TEA-1 が 2, 4 行目にあります" in preview["errors"][0]["message"]
    result = import_file(operator_client, data)
    assert result["skipped"] == 2
    assert Product.objects.get(sku="TEA-1").on_hand == 10


def test_stock_below_what_orders_hold_is_refused_with_the_reason(operator_client, tenant, catalogue):
    tea = catalogue["tea"]
    order = make_order(tenant, lines=[{"sku": "TEA-1", "name": "緑茶", "unit_price": 500, "quantity": 6}])
    Allocation.objects.create(tenant=tenant, order=order, line=order.lines.get(), product=tea, quantity=6)
    Product.objects.filter(pk=tea.pk).update(allocated=6)

    result = import_file(operator_client, "SKU,在庫数\nTEA-1,5\nCUP-1,9\n")

    assert result["skipped"] == 1
    assert result["changed"] == 1
    [error] = result["errors"]
    assert (error["row"], error["column"]) == (2, "在庫数")
    assert "在庫数 5 は受注に引当済みの 6 個より少なくなります" in error["message"]
    assert Product.objects.get(sku="TEA-1").on_hand == 10
    assert Product.objects.get(sku="CUP-1").on_hand == 9


def test_the_import_applies_the_good_rows_and_skips_the_bad_ones_whole(operator_client, tenant, catalogue):
    data = "\r\n".join(
        [
            HEADER,
            "NEW-1,新茶,,,,,,5,,,0,,amazon:B0001,1",
            "CUP-1,湯呑み改,,,,,,-1,,,0,,yahoo:y-2,1",  # negative stock: the name and alias wait too
            "TEA-1,有機緑茶 100g,,4901234567894,A-01,120,mail,11,,3,0,,rakuten:rk-1,1",
        ]
    )

    result = import_file(operator_client, data)

    assert (result["created"], result["changed"], result["skipped"]) == (1, 1, 1)
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(3, "在庫数")]
    cup = Product.objects.get(sku="CUP-1")
    assert (cup.name, cup.on_hand, list(cup.aliases.values_list("mall_sku", flat=True))) == ("湯呑み 𠮷", 4, [])
    assert list(SkuAlias.objects.filter(product__sku="TEA-1").values_list("mall", "mall_sku")) == [("rakuten", "rk-1")]
    assert StockMove.objects.filter(kind=MoveKind.IMPORT).count() == 2  # NEW-1 +5, TEA-1 +1


def test_a_set_whose_new_component_row_is_bad_waits_for_it(operator_client, tenant):
    data = "SKU,商品名,在庫数,構成品\nPART-1,部品,-2,\nKIT-1,キット,0,PART-1*3\n"

    _key, preview = preview_of(operator_client, data)

    messages = {(e["row"], e["column"]): e["message"] for e in preview["errors"]}
    assert "マイナス" in messages[(2, "在庫数")]
    assert messages[(3, "構成品")] == "構成品 PART-1 は 2 行目で追加される商品ですが、その行は取り込めません。"


# --- sets and aliases ---------------------------------------------------------------------------------------


def test_components_and_aliases_are_replaced_for_the_rows_given(operator_client, tenant, catalogue):
    product(tenant, "SPOON-1", 8)
    data = "\r\n".join(
        [
            "SKU,セット商品,構成品,モール商品番号",
            "GIFT-1,1,TEA-1*3;SPOON-1,rakuten:gift-r",
            "KIT-2,1,CUP-1*2,",  # a new set: refused without a name
            "CUP-1,0,,楽天市場:rk-1;yahoo:y-cup",  # takes rk-1 from TEA-1, whose row gives it up
            "TEA-1,0,,yahoo:y-1",
        ]
    )

    result = import_file(operator_client, data)

    assert (result["created"], result["changed"], result["skipped"]) == (0, 3, 1)
    parts = SetComponent.objects.filter(set_product__sku="GIFT-1").order_by("component__sku")
    assert [(p.component.sku, p.quantity) for p in parts] == [("SPOON-1", 1), ("TEA-1", 3)]
    aliases = SkuAlias.objects.order_by("mall", "mall_sku").values_list("mall", "mall_sku", "product__sku")
    assert list(aliases) == [
        ("rakuten", "gift-r", "GIFT-1"), ("rakuten", "rk-1", "CUP-1"), ("yahoo", "y-1", "TEA-1"),
        ("yahoo", "y-cup", "CUP-1"),
    ]  # fmt: skip
    assert StockMove.objects.count() == 0


def test_a_set_made_single_loses_its_components(operator_client, tenant, catalogue):
    result = import_file(operator_client, "SKU,セット商品\nGIFT-1,0\n")

    assert result["changed"] == 1
    assert not SetComponent.objects.filter(set_product__sku="GIFT-1").exists()
    assert Product.objects.get(sku="GIFT-1").is_set is False


def test_an_alias_claimed_by_a_skipped_row_stays_with_its_owner(operator_client, tenant, catalogue):
    """TEA-1's row would give rk-1 up, but it is bad: TEA-1 keeps rk-1, so CUP-1 cannot take it."""
    data = "SKU,在庫数,モール商品番号\nTEA-1,-5,\nCUP-1,4,rakuten:rk-1\n"

    _key, preview = preview_of(operator_client, data)

    assert {e["row"] for e in preview["errors"]} == {2, 3}
    assert "すでに商品 TEA-1" in next(e["message"] for e in preview["errors"] if e["row"] == 3)


# --- whole files refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("商品名,在庫数\n茶,1\n".encode(), "SKUの列がありません"),
        ("SKU,商品名\nA,茶\n".encode("utf-16-le"), "BOM（バイトオーダーマーク）のない UTF-16"),
        (b"SKU,\x81 \n", "UTF-8 でも Shift_JIS (cp932) でもありません"),
        (b"\r\n \r\n", "ファイルが空です"),
        (("SKU\n" + "".join(f"S{n}\n" for n in range(MAX_ROWS + 1))).encode(), "100,000 行を超えています"),
    ],
    ids=["no SKU column", "UTF-16 without BOM", "neither encoding", "empty", "too many rows"],
)
def test_a_file_that_cannot_be_read_is_refused_in_japanese(operator_client, data, message):
    response = upload(operator_client, data)

    assert response.status_code == 200  # the form again, with the reason
    assert message in response.context["form"].errors["file"][0]


def test_cp932_and_utf8_files_are_both_read(operator_client, tenant):
    text = "SKU,商品名,在庫数\r\nA-1,煎茶,1\r\n"
    for data in (text.encode("cp932"), text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        _key, preview = preview_of(operator_client, data)
        assert preview["new"] == [{"row": 2, "sku": "A-1", "name": "煎茶"}]


# --- tenancy, the kept upload ---------------------------------------------------------------------------------


def test_another_tenants_or_users_upload_is_a_404(operator_client, tenant, other_tenant, catalogue):
    key, _preview = preview_of(operator_client, "SKU,在庫数\nTEA-1,99\n")
    strangers = [make_member(other_tenant, Role.OPERATOR, "stranger"), make_member(tenant, Role.OPERATOR, "colleague")]
    for user in strangers:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        assert client.get(reverse("products_csv_preview", args=[key])).status_code == 404
        assert client.post(reverse("products_csv_import", args=[key])).status_code == 404
        assert client.post(reverse("products_csv_retry", args=[key])).status_code == 404
    assert operator_client.get(reverse("products_csv_preview", args=["0" * 32])).status_code == 404
    assert Product.objects.get(sku="TEA-1").on_hand == 10


def test_importing_twice_from_the_same_page_imports_once(operator_client, tenant, catalogue):
    key, _preview = preview_of(operator_client, "SKU,在庫数\nTEA-1,12\n")

    operator_client.post(reverse("products_csv_import", args=[key]))
    operator_client.post(reverse("products_csv_import", args=[key]))

    assert StockMove.objects.count() == 1
    page = operator_client.get(reverse("products_csv_preview", args=[key]))
    assert page.context["result"]["changed"] == 1
    assert "このファイルは取込済みです" in page.content.decode()


# --- cost -------------------------------------------------------------------------------------------------------


def _file(n: int) -> str:
    lines = [HEADER]
    for i in range(n):
        if i % 10 == 9:  # a set of the two products before it, with an alias
            lines.append(f"S{i},セット{i},,,,,,0,,,1,S{i - 1}*2;S{i - 2},rakuten:r{i},1")
        else:
            lines.append(f"S{i},商品{i},白,,A-{i},100,60,{i},,0,0,,yahoo:y{i},1")
    return "\r\n".join(lines)


def test_the_preview_costs_the_same_queries_for_10_and_500_rows(operator_client, tenant):
    for i in range(0, 500, 2):  # half the products exist, half are new
        product(tenant, f"S{i}", 1)
    queries = []
    for n in (10, 500):
        key, _preview = preview_of(operator_client, _file(n))
        with CaptureQueriesContext(connection) as captured:
            page = operator_client.get(reverse("products_csv_preview", args=[key]))
        assert page.context["preview"]["counts"]["rows"] == n
        queries.append(len(captured))
    assert queries[0] == queries[1]
    assert queries[1] <= 10


def test_another_tenants_products_and_aliases_are_neither_read_nor_written(operator_client, tenant, other_tenant):
    theirs = product(other_tenant, "TEA-1", 3, name="他社の茶")
    SkuAlias.objects.create(tenant=other_tenant, product=theirs, mall=MallKind.RAKUTEN, mall_sku="rk-1")

    result = import_file(operator_client, "SKU,商品名,在庫数,構成品,モール商品番号\nTEA-1,緑茶,8,,rakuten:rk-1\n")

    assert (result["created"], result["skipped"]) == (1, 0)
    assert Product.objects.get(tenant=tenant, sku="TEA-1").aliases.get().mall_sku == "rk-1"
    theirs.refresh_from_db()
    assert (theirs.name, theirs.on_hand, theirs.aliases.count()) == ("他社の茶", 3, 1)


def test_a_mall_item_number_given_to_two_rows_names_the_first(operator_client, tenant):
    _key, preview = preview_of(operator_client, "SKU,商品名,モール商品番号\nA-1,茶,yahoo:y-9\nB-1,器,yahoo:y-9\n")

    [error] = preview["errors"]
    assert (error["row"], error["column"]) == (3, "モール商品番号")
    assert error["message"] == "yahoo:y-9 は 2 行目の A-1 にも指定されています。"


def test_a_utf16_file_with_its_byte_order_mark_is_read_as_the_order_import_reads_it():
    """One set of decoding rules for every import (backyard.csvtext): Excel's "Unicode text" with its BOM."""
    from backyard.csvtext import decode

    decoded = decode("SKU\t商品名\nA\t茶\n".encode("utf-16"))
    assert (decoded.encoding, decoded.delimiter, decoded.header) == ("utf-16", "\t", ["SKU", "商品名"])
