"""The receiving screen: rows typed or a CSV file (UTF-8 or cp932), every bad row named in Japanese and then
nothing received, and after a receipt the units and the orders that moved on, each linked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import MoveKind, StockMove
from inventory.services.allocation import stock_check

from .test_allocation import ACTOR, order, product, status_of, stock

pytestmark = pytest.mark.django_db


def receive(client: Any, rows: str = "", note: str = "", file: bytes | None = None, name: str = "arrivals.csv") -> Any:
    data: dict[str, Any] = {"rows": rows, "note": note}
    if file is not None:
        data["file"] = SimpleUploadedFile(name, file, content_type="text/csv")
    return client.post(reverse("receiving"), data)


def errors(response: Any) -> list[str]:
    assert response.status_code == 200
    html = response.content.decode()
    box = html[html.index('id="receiving-errors"') :].split("</ul>")[0]
    return re.findall(r"<li>(.*?)</li>", box)


def test_received_rows_raise_on_hand_and_the_result_names_the_orders_moved(operator_client, tenant, operator):
    product(tenant, "TEA", 0)
    product(tenant, "CUP", 0)
    first, second, third = (
        order(tenant, 1, [("TEA", 2)]),
        order(tenant, 2, [("TEA", 2)]),
        order(tenant, 3, [("TEA", 9)]),
    )
    stock_check(tenant=tenant, order_ids=[first.pk, second.pk, third.pk], actor=ACTOR)

    response = receive(operator_client, "TEA,5\r\nCUP\t３\r\n\r\n", note="納品書 A-123")

    assert response.status_code == 302
    assert stock("TEA") == (5, 5)
    assert stock("CUP") == (3, 0)
    assert (status_of(first), status_of(second), status_of(third)) == ("在庫引当済", "在庫引当済", "一部引当")
    move = StockMove.objects.get(kind=MoveKind.RECEIVE, product__sku="TEA")
    assert (move.on_hand_change, move.note, move.actor_name) == (5, "納品書 A-123", operator.username)
    html = operator_client.get(response["Location"]).content.decode()
    assert "2 商品 8 個を入荷しました。" in html
    result = html[html.index('id="receiving-result"') :].split('id="receiving-form"')[0]
    assert "進んだ受注: 全数引当 2 件、一部引当 1 件。入荷待ちのまま 0 件。" in result
    full = result[result.index('id="moved-full"') :].split("</div>")[0]
    assert re.findall(r'href="(/orders/\d+/)">(S-\d)</a>', full) == [
        (reverse("order_detail", args=[first.pk]), "S-1"),
        (reverse("order_detail", args=[second.pk]), "S-2"),
    ]
    partial = result[result.index('id="moved-partial"') :].split("</div>")[0]
    assert re.findall(r">(S-\d)</a>", partial) == ["S-3"]
    assert "納品書 A-123" in result
    again = operator_client.get(reverse("receiving")).content.decode()
    assert 'id="receiving-result"' not in again  # shown once; a reload receives nothing twice
    assert stock("TEA") == (5, 5)


def test_a_cp932_csv_file_with_a_header_is_received(operator_client, tenant):
    product(tenant, "茶-100", 0)
    product(tenant, "CUP", 0)
    data = '商品コード,数量\r\n茶-100,12\r\n"CUP","1,000"\r\nCUP,2個\r\n'.encode("cp932")

    response = receive(operator_client, file=data)

    assert response.status_code == 302
    assert stock("茶-100") == (12, 0)
    assert stock("CUP") == (1002, 0)  # the same SKU twice: both received


def test_a_utf8_csv_with_a_bom_is_received(operator_client, tenant):
    product(tenant, "TEA", 0)
    assert receive(operator_client, file="\ufeffSKU,quantity\nTEA,4\n".encode()).status_code == 302
    assert stock("TEA") == (4, 0)


def test_bad_rows_are_each_named_in_japanese_and_nothing_is_received(operator_client, tenant):
    product(tenant, "TEA", 0)
    rows = "TEA,3\nCUP\nBAG,0\n,4\nPOT,1,000\nKETTLE,abc\nNOPE,1\n"

    found = errors(receive(operator_client, rows))

    assert found == [
        "2 行目（CUP）: 数量がありません。",
        "3 行目（BAG）: 「0」は数量（1以上の整数）ではありません。",
        "4 行目: 商品コードが空です。",
        "5 行目（POT）: 値が 3 個あります。商品コードと数量の2つにしてください"
        "（1,000 のようにカンマを含む数量はダブルクォートで囲みます）。",
        "6 行目（KETTLE）: 「abc」は数量（1以上の整数）ではありません。",
        "7 行目（NOPE）: この商品コードの商品はありません。",  # named with the others, not after them
    ]
    assert stock("TEA") == (0, 0)
    assert not StockMove.objects.exists()


def test_unknown_skus_and_sets_are_named_by_row_and_nothing_is_received(operator_client, tenant):
    product(tenant, "TEA", 0)
    product(tenant, "GIFT", 0, is_set=True)

    response = receive(operator_client, "TEA,3\nNOPE,1\nGIFT,2\n", note="入荷")

    assert errors(response) == [
        "2 行目（NOPE）: この商品コードの商品はありません。",
        "3 行目（GIFT）: セット商品は構成品ごとに入荷してください。",
    ]
    assert stock("TEA") == (0, 0)
    assert not StockMove.objects.exists()
    html = response.content.decode()
    assert "TEA,3\nNOPE,1\nGIFT,2\n" in html  # the rows stay in the box to be corrected


def test_another_tenants_sku_is_unknown_here(operator_client, tenant, other_tenant):
    product(other_tenant, "THEIRS", 0)
    assert errors(receive(operator_client, "THEIRS,5")) == ["1 行目（THEIRS）: この商品コードの商品はありません。"]
    assert stock("THEIRS") == (0, 0)


@pytest.mark.parametrize(
    ("rows", "file", "message"),
    [
        ("", None, "入荷した商品コードと数量を入力するか、その CSV ファイルを選んでください。"),
        ("   \n", None, "入荷した商品コードと数量を入力するか、その CSV ファイルを選んでください。"),
        ("SKU,数量\n", None, "入荷する行がありません。"),
        ("TEA,1", b"TEA,1\n", "入力欄かファイルのどちらか一方にしてください。"),
        ("", b"\xff\xfe\x00\x00garbage\x81", "UTF-8"),
        ("", "TEA,1\nTEA,2\n".encode("utf-16-le"), "BOM（バイトオーダーマーク）のない UTF-16"),
        ("", b"", "入力されたファイルは空です。"),
        ("TEA,1000000", None, "一度に入荷できるのは 999,999 個までです。"),
        ("TEA,999999\nTEA,1", None, "2 行目（TEA）: 一度に入荷できるのは 999,999 個までです。"),
    ],
)
def test_what_cannot_be_read_is_said_and_nothing_is_received(operator_client, tenant, rows, file, message):
    product(tenant, "TEA", 0)
    response = receive(operator_client, rows, file=file)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stock("TEA") == (0, 0)


def test_many_bad_rows_are_cut_short_with_a_count(operator_client, tenant):
    rows = "\n".join(f"X-{n},abc" for n in range(60))
    found = errors(receive(operator_client, rows))
    assert len(found) == 51
    assert found[-1] == "…ほか 10 件の問題があります。"


def test_the_result_page_has_a_fixed_number_of_queries(operator_client, tenant, django_assert_max_num_queries):
    product(tenant, "TEA", 0)
    waiting = [order(tenant, n, [("TEA", 1)]) for n in range(1, 31)]
    stock_check(tenant=tenant, order_ids=[o.pk for o in waiting], actor=ACTOR)
    receive(operator_client, "TEA,20")
    with django_assert_max_num_queries(8):  # session, user, memberships; order numbers; red count; session saved (3)
        html = operator_client.get(reverse("receiving")).content.decode()
    assert len(re.findall(r'href="/orders/\d+/"', html)) == 20
    assert "全数引当 20 件、一部引当 0 件。入荷待ちのまま 10 件。" in html


def test_receiving_needs_a_login(client):
    response = client.get(reverse("receiving"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
