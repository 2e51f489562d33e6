"""Waybill files out (issue 16 item 2): each layout read back with csv in cp932 and compared column by column
with the header lists of ../shared/FORMATS.md; refusals and replacements before download; marks, events and
the move after export; the list's button, the search, the preview and the streamed download."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import OrderEvent, Status
from shipping.formats import b2cloud, clickpost, yupri
from shipping.models import (
    Carrier,
    ShippingSettings,
    WaybillExport,
    WaybillFormat,
    WaybillMark,
    management_number_for,
)
from shipping.services.waybills import waybill_build, waybill_export, waybill_stream, waybill_zip
from tests.shipping.waybill_helpers import cod, method, order, read_cp932

ACTOR = Actor.system("test")

# Hand-copied from ../shared/FORMATS.md (B2 Cloud: columns 1–42 and 74 are named there one by one).
B2_NAMED = {
    1: "お客様管理番号", 2: "送り状種類", 3: "クール区分", 4: "伝票番号", 5: "出荷予定日", 6: "お届け予定日",
    7: "配達時間帯", 8: "お届け先コード", 9: "お届け先電話番号", 10: "お届け先電話番号枝番", 11: "お届け先郵便番号",
    12: "お届け先住所", 13: "お届け先アパートマンション名", 14: "お届け先会社・部門１", 15: "お届け先会社・部門２",
    16: "お届け先名", 17: "お届け先名(ｶﾅ)", 18: "敬称", 19: "ご依頼主コード", 20: "ご依頼主電話番号",
    21: "ご依頼主電話番号枝番", 22: "ご依頼主郵便番号", 23: "ご依頼主住所", 24: "ご依頼主アパートマンション",
    25: "ご依頼主名", 26: "ご依頼主名(ｶﾅ)", 27: "品名コード１", 28: "品名１", 29: "品名コード２", 30: "品名２",
    31: "荷扱い１", 32: "荷扱い２", 33: "記事", 34: "ｺﾚｸﾄ代金引換額（税込)", 35: "内消費税額等", 36: "止置き",
    37: "営業所コード", 38: "発行枚数", 39: "個数口表示フラグ", 40: "請求先顧客コード", 41: "請求先分類コード",
    42: "運賃管理番号", 74: "複数口くくりキー",
    75: "検索キータイトル1", 76: "検索キー1", 84: "検索キー5", 85: "予備", 86: "予備",
}  # fmt: skip
B2_GROUPS = {range(43, 48): "クロネコwebコレクト", range(48, 55): "ｅメール", range(87, 96): "メール"}

EHIDEN_NAMED = (
    "お届け先コード取得区分 お届け先コード お届け先電話番号 お届け先郵便番号 お届け先住所１ お届け先住所２ "
    "お届け先住所３ "
    "お届け先名称１ お届け先名称２ お客様管理番号 お客様コード 部署ご担当者コード取得区分 部署ご担当者コード "
    "部署ご担当者名称 荷送人電話番号 ご依頼主コード取得区分 ご依頼主コード ご依頼主電話番号 ご依頼主郵便番号 "
    "ご依頼主住所１ ご依頼主住所２ ご依頼主名称１ ご依頼主名称２ 荷姿 品名１ 品名２ 品名３ 品名４ 品名５ 荷札荷姿 "
    "荷札品名１ 荷札品名２ 荷札品名３ 荷札品名４ 荷札品名５ 荷札品名６ 荷札品名７ 荷札品名８ 荷札品名９ 荷札品名１０ "
    "荷札品名１１ 出荷個数 スピード指定 クール便指定 配達日 配達指定時間帯 配達指定時間（時分） 代引金額 消費税 "
    "決済種別 "
    "保険金額 指定シール１ 指定シール２ 指定シール３ 営業所受取 SRC区分 営業所受取営業所コード 元着区分 メールアドレス "
    "ご不在時連絡先 出荷日 お問い合せ送り状No. 出荷場印字区分 集約解除指定 "
    "編集01 編集02 編集03 編集04 編集05 編集06 編集07 編集08 編集09 編集10"
).split()
CLICKPOST_HEADER = (
    "お届け先郵便番号,お届け先氏名,お届け先敬称,お届け先住所1行目,お届け先住所2行目,お届け先住所3行目,"
    "お届け先住所4行目,内容品"
).split(",")
YUPRI_CONFIRMED = [
    "お客様側管理番号",
    "発送予定日",
    "発送予定時間区分",
    "出荷期限日",
    "到着期限日",
    "郵便種別",
    "保冷種別",
    "元／着払／代引",
]  # noqa: E501


def exported(tenant, fmt, orders) -> tuple[list[list[str]], object]:
    export, built = waybill_export(tenant=tenant, fmt=fmt, order_ids=[o.pk for o in orders], actor=ACTOR)
    return read_cp932(b"".join(waybill_stream(fmt, built))), built


def col(header: list[str], row: list[str], name: str) -> str:
    return row[header.index(name)]


@pytest.mark.django_db
def test_b2cloud_file_has_the_95_published_columns_and_each_value(tenant):
    paid = order(tenant, delivery_slot="14-16", requested_delivery_date=dt.date(2030, 1, 10), dest_address2="ハイツ101")
    collect = order(tenant, payment_method=cod(tenant), dest_company="株式会社テスト")
    rows, built = exported(tenant, WaybillFormat.B2CLOUD, [paid, collect])

    header = rows[0]
    assert len(header) == 95
    assert all(len(r) == 95 for r in rows)
    for number, name in B2_NAMED.items():
        assert header[number - 1] == name, number
    for columns, word in B2_GROUPS.items():
        assert all(word in header[n - 1] or header[n - 1] == "入力機種" for n in columns)
    assert tuple(header) == b2cloud.HEADER
    first, second = rows[1], rows[2]
    assert col(header, first, "お客様管理番号") == management_number_for(paid.pk)
    assert col(header, first, "送り状種類") == "0"
    assert col(header, first, "伝票番号") == ""
    assert col(header, first, "配達時間帯") == "1416"
    assert col(header, first, "お届け予定日") == "2030/01/10"
    assert col(header, first, "出荷予定日") == timezone.localdate().strftime("%Y/%m/%d")
    assert col(header, first, "お届け先郵便番号") == "100-0005"
    assert col(header, first, "お届け先住所") == "東京都千代田区丸の内1-1-1"
    assert col(header, first, "お届け先アパートマンション名") == "ハイツ101"
    assert col(header, first, "お届け先名(ｶﾅ)") == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert col(header, first, "品名１") == "煎茶 100g ×2"
    assert col(header, first, "ご依頼主名") == "テスト商店"
    assert col(header, first, "ｺﾚｸﾄ代金引換額（税込)") == ""
    collect.refresh_from_db()
    assert col(header, second, "送り状種類") == "2"
    assert col(header, second, "ｺﾚｸﾄ代金引換額（税込)") == str(collect.total)
    assert col(header, second, "内消費税額等") == str(collect.tax)
    assert col(header, second, "お届け先会社・部門１") == "株式会社テスト"


@pytest.mark.django_db
def test_b2cloud_codes_for_compact_nekopos_and_cool(tenant):
    compact = order(tenant, delivery_method=method(tenant, "コンパクト", service="compact"))
    nekopos = order(tenant, delivery_method=method(tenant, "ネコポス", service="nekopos"), delivery_slot="am")
    frozen = order(tenant, delivery_method=method(tenant, "クール冷凍", service="cool", cool_type="frozen"))
    cool_compact = order(
        tenant, delivery_method=method(tenant, "冷蔵コンパクト", service="compact", cool_type="chilled")
    )
    rows, built = exported(tenant, WaybillFormat.B2CLOUD, [compact, nekopos, frozen, cool_compact])
    header = rows[0]
    kinds = [
        (col(header, r, "送り状種類"), col(header, r, "クール区分"), col(header, r, "配達時間帯")) for r in rows[1:]
    ]
    assert kinds == [("8", "0", ""), ("A", "0", ""), ("0", "1", "")]
    assert [r[0] for r in built.refused] == [cool_compact.pk]


@pytest.mark.django_db
def test_ehiden_file_has_the_74_published_columns(tenant):
    sagawa = method(tenant, "飛脚宅配便", Carrier.SAGAWA, service="hikyaku")
    one = order(tenant, delivery_method=sagawa, delivery_slot="am", payment_method=cod(tenant))
    rows, _built = exported(tenant, WaybillFormat.EHIDEN, [one])
    header = rows[0]
    assert header == EHIDEN_NAMED
    assert len(header) == 74
    assert len(rows[1]) == 74
    one.refresh_from_db()
    row = rows[1]
    assert col(header, row, "お客様管理番号") == management_number_for(one.pk)
    assert col(header, row, "配達指定時間帯") == "01"
    assert col(header, row, "クール便指定") == "001"
    assert col(header, row, "代引金額") == str(one.total)
    assert col(header, row, "お届け先住所１") == "東京都千代田区"
    assert col(header, row, "品名１") == "煎茶 100g ×2"


@pytest.mark.django_db
def test_yupri_file_starts_with_the_confirmed_columns(tenant):
    post = method(tenant, "ゆうパック", Carrier.JAPAN_POST, service="yupack")
    rows, _built = exported(tenant, WaybillFormat.YUPRI, [order(tenant, delivery_method=post)])
    assert rows[0][:8] == YUPRI_CONFIRMED
    assert tuple(rows[0]) == yupri.HEADER
    assert col(rows[0], rows[1], "郵便種別") == "0"
    assert col(rows[0], rows[1], "元／着払／代引") == "0"


@pytest.mark.django_db
def test_clickpost_writes_files_of_40_rows_in_a_zip_and_refuses_cod(tenant):
    post = method(tenant, "クリックポスト", Carrier.JAPAN_POST, service="clickpost", cod_allowed=False)
    orders = [order(tenant, delivery_method=post, dest_phone="") for _ in range(41)]
    refused = order(tenant, delivery_method=post, payment_method=cod(tenant))
    export, built = waybill_export(
        tenant=tenant, fmt=WaybillFormat.CLICKPOST, order_ids=[o.pk for o in [*orders, refused]], actor=ACTOR
    )
    assert export.filename.endswith(".zip")
    assert [r[0] for r in built.refused] == [refused.pk]
    archive = zipfile.ZipFile(io.BytesIO(waybill_zip(WaybillFormat.CLICKPOST, built)))
    files = [read_cp932(archive.read(name)) for name in sorted(archive.namelist())]
    assert [len(f) - 1 for f in files] == [40, 1]
    for rows in files:
        assert rows[0] == CLICKPOST_HEADER == list(clickpost.HEADER)
    assert files[0][1][:4] == ["1000005", "山田 太郎", "様", "東京都千代田区"]


@pytest.mark.django_db
def test_characters_cp932_cannot_hold_are_replaced_and_reported_by_order_and_field(tenant):
    odd = order(tenant, dest_name="𠮷田\u00a0花子", dest_address1="丸の内①-1")
    built = waybill_build(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[odd.pk])
    assert [r[2:] for r in built.replacements] == [
        ("お届け先住所", "①", "1"),
        ("お届け先名", "𠮷", "吉"),
        ("お届け先名", "\u00a0", " "),
    ]
    header = list(b2cloud.HEADER)
    assert built.rows[0][header.index("お届け先名")] == "吉田 花子"
    b"".join(waybill_stream(WaybillFormat.B2CLOUD, built)).decode("cp932")  # encodes


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"dest_phone": ""}, "お届け先電話番号がありません"),
        ({"dest_postal_code": "12"}, "郵便番号"),
        ({"delivery_slot": "12-14"}, "配達時間帯 12-14"),
        ({"dest_address1": "とても長い住所" * 6}, "お届け先住所が運送会社の上限（64バイト"),
    ],
)
@pytest.mark.django_db
def test_orders_the_carrier_cannot_take_are_refused_with_the_reason(tenant, fields, reason):
    bad = order(tenant, **fields)
    good = order(tenant)
    built = waybill_build(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[bad.pk, good.pk])
    assert built.ids == [good.pk]
    assert built.refused[0][0] == bad.pk
    assert reason in built.refused[0][2]


@pytest.mark.django_db
def test_cod_on_a_method_without_cod_is_refused(tenant):
    bad = order(
        tenant, payment_method=cod(tenant), delivery_method=method(tenant, "宅急便（代引不可）", cod_allowed=False)
    )
    built = waybill_build(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[bad.pk])
    assert not built.ids
    assert "代金引換ができません" in built.refused[0][2]


@pytest.mark.django_db
def test_a_method_of_another_carrier_is_refused(tenant):
    sagawa = order(tenant, delivery_method=method(tenant, "飛脚", Carrier.SAGAWA))
    built = waybill_build(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[sagawa.pk])
    assert not built.ids
    assert "飛脚" in built.refused[0][2]


@pytest.mark.django_db
def test_export_marks_each_order_writes_events_moves_them_and_reuses_the_number(tenant):
    target = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    ShippingSettings.objects.create(tenant=tenant, status_after_export=target)
    one, two = order(tenant), order(tenant)
    first, _ = waybill_export(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[one.pk, two.pk], actor=ACTOR)
    second, _ = waybill_export(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[one.pk], actor=ACTOR)

    marks = {m.order_id: m for m in WaybillMark.objects.for_tenant(tenant)}
    assert marks[one.pk].management_number == management_number_for(one.pk)
    assert (marks[one.pk].times, marks[one.pk].export_id) == (2, second.pk)
    assert (marks[two.pk].times, marks[two.pk].export_id) == (1, first.pk)
    events = OrderEvent.objects.filter(order=one, type=EventType.WAYBILL_EXPORTED)
    assert [e.data["waybill"]["file"] for e in events.order_by("pk")] == [first.filename, second.filename]
    one.refresh_from_db()
    assert one.status == target
    assert WaybillExport.objects.for_tenant(tenant).count() == 2


@pytest.mark.django_db
def test_the_list_button_preview_and_streamed_download(operator_client, tenant, django_assert_max_num_queries):
    orders = [order(tenant) for _ in range(3)]
    bad = order(tenant, dest_phone="")
    operator_client.get(reverse("home"))
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in [*orders, bad]]})
    response = operator_client.post(reverse("waybill_export"), {"next": "/"})
    assert response.status_code == 302
    preview = response["Location"]

    with django_assert_max_num_queries(20):
        page = operator_client.get(preview)
    text = page.content.decode()
    assert bad.external_id in text
    assert "waybill-refused" in text
    key = preview.rstrip("/").split("/")[-1]
    download = operator_client.post(reverse("waybill_download", args=[key]), {"format": "b2cloud"})
    assert download.streaming
    rows = read_cp932(b"".join(download.streaming_content))
    assert len(rows) == 4
    assert rows[0][0] == "お客様管理番号"
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.django_db
def test_the_search_leads_to_the_preview(operator_client, tenant):
    one = order(tenant)
    status = one.status_id
    response = operator_client.post(reverse("waybill_search"), {"status": status})
    assert response.status_code == 302
    page = operator_client.get(response["Location"] + "?format=ehiden")
    assert page.status_code == 200


@pytest.mark.django_db
def test_another_users_or_tenants_key_is_a_404(operator_client, client, tenant, other_tenant):
    response = operator_client.get(reverse("waybill_preview", args=["0" * 32]))
    assert response.status_code == 404
