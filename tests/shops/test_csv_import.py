# ruff: noqa: E501 (rows of CSV files are long; ruff counts a Japanese character as two columns)
"""CSV import (T6): encodings detected, columns mapped by header and saved per shop (with a Yahoo! Auctions
guess), a preview with per-row errors that writes nothing, the import through the same pipeline as a poll
(a bad order recorded, the rest in), re-uploading the same file changes nothing; every page tenant-scoped."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from backyard import celery_app
from orders.models import Order, OrderEvent
from shops import csvfiles
from shops.constants import MallKind
from shops.csvfiles import CsvRefused
from shops.models import CsvMapping, CsvUpload, ImportFailure, ImportRun, RunStatus, Shop, Trigger
from shops.services import shop_create
from shops.services.csvimport import csv_import_run, csv_import_start, csv_upload_create

TOKYO = ZoneInfo("Asia/Tokyo")

# Our own export's names (受注番号 …), one row per line; order 1002 has two lines on non-adjacent rows,
# 1003 has a price that is not a number (a bad row), 1004 has no lines' worth of trouble.
HEADER = "受注番号,受注日時,注文者名,注文者カナ,注文者電話,送付先郵便番号,送付先住所,決済方法,送料,合計,商品コード,商品名,単価,数量,税率"
ROWS = [
    "1001,2026/11/20 10:15,山田 太郎,ヤマダ タロウ,090-1234-5678,100-0005,東京都千代田区丸の内1-1-1 丸の内ビル5F,クレジットカード,600,3580,A-1,有機緑茶 100g,1490,2,8%",
    "1002,2026/11/21 09:00,佐藤 花子,サトウ ハナコ,03-1111-2222,〒530-0001,大阪府大阪市北区梅田1-1-3,銀行振込,0,1980,B-2,湯呑み,1980,1,10",
    '1003,2026/11/21 11:30,鈴木 一郎,スズキ イチロウ,045-000-1111,220-0012,神奈川県横浜市西区みなとみらい2-2-1,代金引換,600,"￥2,580",C-3,急須,千九百八十,1,10',
    "1002,2026/11/21 09:00,佐藤 花子,サトウ ハナコ,03-1111-2222,〒530-0001,大阪府大阪市北区梅田1-1-3,銀行振込,0,1980,B-3,茶托,0,1,10",
    '1004,２０２６年１１月２２日 8時05分,高橋 次郎,タカハシ ジロウ,011-222-3333,060-0001,北海道札幌市中央区北一条西2丁目,代金引換,0,"1,200",D-4,ほうじ茶,"1,200",1,8',
    "",
]
TEXT = "\r\n".join([HEADER, *ROWS])


def as_bytes(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    return text.encode(encoding)


@pytest.fixture
def csv_shop(tenant) -> Shop:
    return shop_create(tenant=tenant, name="自社カート", mall=MallKind.CSV, code="cart")


@pytest.fixture
def eager_worker() -> Iterator[None]:
    """Celery runs each task in the process that sends it (the real worker is tested in test_polling)."""
    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def upload(client, shop: Shop, data: bytes, name: str = "orders.csv"):
    return client.post(reverse("csv_upload"), {"shop": shop.pk, "file": SimpleUploadedFile(name, data)})


def mapping_post(columns: dict[str, str], **extra: str) -> dict[str, str]:
    return {**{f"col_{key}": value for key, value in columns.items()}, **extra}


# --- the file ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"), [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("cp932", "cp932"), ("utf-16", "utf-16")]
)
def test_encodings_are_detected_and_read_alike(encoding, detected):
    file = csvfiles.decode(as_bytes(TEXT, encoding))

    assert file.encoding == detected
    assert file.header[0] == "受注番号"  # no BOM left on the first name
    reading = csvfiles.read_orders(file, csvfiles.guess_mapping(file.header))
    assert [order.external_id for order in reading.orders] == ["1001", "1002", "1004"]
    assert reading.orders[0].orderer_name == "山田 太郎"


def test_a_file_in_neither_encoding_is_refused_in_japanese():
    data = "受注番号\n1001".encode("cp932") + b"\x81\x20\xff"  # a lead byte without its pair, and 0xFF

    with pytest.raises(CsvRefused, match="UTF-8 でも Shift_JIS"):
        csvfiles.decode(data)


def test_empty_and_headless_files_are_refused():
    with pytest.raises(CsvRefused, match="空です"):
        csvfiles.decode(b"\r\n\r\n")
    with pytest.raises(CsvRefused, match="見出し"):
        csvfiles.decode(b",,\n1,2,3\n")


def test_tab_separated_and_repeated_names():
    file = csvfiles.decode("受注番号\t商品名\t商品名\t\n1\ta\tb\tc\n".encode())

    assert file.delimiter == "\t"
    assert file.header == ["受注番号", "商品名", "商品名 (2)", "列4"]


def test_values_are_read_the_ways_people_write_them():
    jst = dt.datetime(2026, 11, 23, 10, 15, tzinfo=TOKYO)
    for text in (
        "2026/11/23 10:15",
        "2026-11-23 10:15:00",
        "2026年11月23日 10時15分",
        "２０２６/１１/２３ １０:１５",
        "2026/11/23(月) 10:15",
        "2026-11-23T01:15:00Z",
        "2026-11-23T10:15:00+09:00",
    ):
        assert csvfiles.parse_datetime(text) == jst, text
    assert csvfiles.parse_datetime("2026/11/23") == dt.datetime(2026, 11, 23, tzinfo=TOKYO)
    assert csvfiles.parse_date("2026年12月5日(土)") == dt.date(2026, 12, 5)
    assert [csvfiles.parse_money(v) for v in ("1,980", "¥1,980", "1980円", "１９８０", "-500", "1980.0")] == [
        1980,
        1980,
        1980,
        1980,
        -500,
        1980,
    ]
    assert [csvfiles.parse_rate(v) for v in ("10", "8%", "８％", "0.08", "0")] == [10, 8, 8, 8, 0]
    assert csvfiles.parse_postal("1000005") == "100-0005"
    for parse, bad in (
        (csvfiles.parse_datetime, "2026/13/01 10:00"),
        (csvfiles.parse_datetime, "昨日"),
        (csvfiles.parse_money, "19.5"),
        (csvfiles.parse_money, "千円"),
        (csvfiles.parse_count, "0"),
        (csvfiles.parse_count, "1.5"),
        (csvfiles.parse_rate, "110"),
        (csvfiles.parse_date, "12/5"),
    ):
        with pytest.raises(csvfiles.BadValue):
            parse(bad)


def test_rows_make_orders_and_a_bad_row_fails_only_its_order():
    file = csvfiles.decode(TEXT.encode())
    reading = csvfiles.read_orders(file, csvfiles.guess_mapping(file.header))

    assert (reading.rows, reading.lines) == (5, 4)
    assert [type(item).__name__ for item in reading.items] == [
        "ImportedOrder",
        "ImportedOrder",
        "FailedOrder",
        "ImportedOrder",
    ]
    first, second, fourth = reading.orders
    assert (first.dest_prefecture, first.dest_city, first.dest_address1) == (
        "東京都",
        "千代田区",
        "丸の内1-1-1 丸の内ビル5F",
    )
    assert first.dest_name == "山田 太郎"  # one person per order: the orderer is who it goes to
    assert first.orderer_postal_code == "100-0005"
    assert (first.payment_name, first.shipping_fee, first.total) == ("クレジットカード", 600, 3580)
    assert first.lines[0] == csvfiles.ImportedLine(
        sku="A-1", name="有機緑茶 100g", unit_price=1490, quantity=2, tax_rate=8
    )
    assert [line.sku for line in second.lines] == ["B-2", "B-3"]  # rows 3 and 5, one order
    assert second.dest_postal_code == "530-0001"
    assert second.dest_city == "大阪市北区"
    assert fourth.ordered_at == dt.datetime(2026, 11, 22, 8, 5, tzinfo=TOKYO)
    assert fourth.dest_city == "札幌市中央区"
    [error] = reading.errors
    assert (error.row, error.order, error.column) == (4, "1003", "単価")
    assert "千九百八十" in error.message
    failed = reading.failed[0]
    assert failed.external_id == "1003"
    assert "4 行目" in failed.reason
    assert failed.payload.splitlines() == [HEADER, ROWS[2]]


def test_rows_of_one_order_must_agree_and_rows_need_a_number():
    text = "\n".join(
        [
            HEADER,
            ROWS[0],
            ROWS[0].replace("2026/11/20 10:15", "2026/11/20 11:00"),
            ",2026/11/20 10:15,名無し,,,,,,0,0,X,品,1,1,10",
        ]
    )
    file = csvfiles.decode(text.encode())
    reading = csvfiles.read_orders(file, csvfiles.guess_mapping(file.header))

    assert reading.orders == []
    assert [(e.row, e.order, e.column) for e in reading.errors] == [(3, "1001", "受注日時"), (4, "", "受注番号")]
    assert "2 行目" in reading.errors[0].message


def test_yahoo_auctions_mapping_is_built_from_the_header():
    header = [
        "オークションID",
        "商品名",
        "落札者ID",
        "落札者氏名",
        "落札者メールアドレス",
        "落札価格",
        "落札数量",
        "落札日時",
        "送付先氏名",
        "送付先郵便番号",
        "送付先住所",
        "送付先電話番号",
        "支払い方法",
        "送料",
        "取引メッセージ",
    ]

    mapping = csvfiles.guess_mapping(header, csvfiles.YAHOO_AUCTION)

    assert mapping == {
        "external_id": "オークションID",
        "ordered_at": "落札日時",
        "payment": "支払い方法",
        "orderer_name": "落札者氏名",
        "orderer_email": "落札者メールアドレス",
        "dest_name": "送付先氏名",
        "dest_phone": "送付先電話番号",
        "dest_postal_code": "送付先郵便番号",
        "dest_address": "送付先住所",
        "shipping_fee": "送料",
        "order_comment": "取引メッセージ",
        "sku": "オークションID",
        "item_name": "商品名",
        "unit_price": "落札価格",
        "quantity": "落札数量",
    }
    assert csvfiles.mapping_problems(mapping, header) == []
    generic = csvfiles.guess_mapping(header)
    assert "external_id" not in generic
    assert "unit_price" not in generic
    assert len(csvfiles.mapping_problems(generic, header)) == 3  # order number, order date, unit price


# --- the pages and the import --------------------------------------------------------------------------------


def test_upload_previews_with_row_errors_and_writes_nothing(operator_client, tenant, csv_shop):
    response = upload(operator_client, csv_shop, as_bytes(TEXT, "cp932"), "受注.csv")

    upload_row = CsvUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("csv_upload_detail", args=[upload_row.pk])
    page = operator_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="csv-encoding">Shift_JIS (cp932)<' in html
    assert 'data-new="3" data-changed="0" data-unchanged="0" data-failed="1"' in html
    assert "<td>4</td><td>1003</td><td>単価</td>" in html
    assert "「千九百八十」は円単位の金額ではありません。" in html
    assert "<option selected>受注番号</option>" in html
    assert "ヘッダーから推定" in html
    assert (Order.objects.count(), ImportRun.objects.count(), CsvMapping.objects.count()) == (0, 0, 0)


def test_import_goes_through_the_pipeline_and_reupload_changes_nothing(
    operator_client, tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    upload(operator_client, csv_shop, as_bytes(TEXT, "utf-8-sig"))
    first = CsvUpload.objects.get()
    columns = csvfiles.guess_mapping(first.header)

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("csv_upload_detail", args=[first.pk]), mapping_post(columns, preset="generic", **{"import": "1"})
        )

    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_run_detail", args=[run.pk])
    assert (run.trigger, run.status, run.new, run.updated, run.failed) == (Trigger.CSV, RunStatus.PARTIAL, 3, 0, 1)
    assert run.started_by.username == "operator"
    orders = {o.external_id: o for o in Order.objects.filter(shop=csv_shop).prefetch_related("lines")}
    assert sorted(orders) == ["1001", "1002", "1004"]
    tea = orders["1001"]
    assert (tea.payment_method.name, tea.dest_city, tea.item_subtotal, tea.shipping_fee) == (
        "クレジットカード",
        "千代田区",
        2980,
        600,
    )
    assert [(line.sku, line.quantity, line.tax_rate) for line in tea.lines.all()] == [("A-1", 2, 8)]
    assert orders["1002"].payment_method.name == "銀行振込"
    assert OrderEvent.objects.filter(order=tea, type="created").count() == 1
    failure = ImportFailure.objects.get()
    assert failure.external_id == "1003"
    assert failure.payload.splitlines()[1] == ROWS[2]
    assert CsvMapping.objects.get(shop=csv_shop).columns == columns
    first.refresh_from_db()
    assert first.text == ""  # personal data not kept once imported
    run_page = operator_client.get(reverse("import_run_detail", args=[run.pk])).content.decode()
    assert 'id="run-file">orders.csv<' in run_page
    assert "hx-trigger" not in run_page

    # The same file again: the preview says it was imported and that nothing would change …
    events = OrderEvent.objects.count()
    versions = sorted(Order.objects.values_list("external_id", "version"))
    response = upload(operator_client, csv_shop, as_bytes(TEXT, "utf-8-sig"))
    second = CsvUpload.objects.exclude(pk=first.pk).get()
    html = operator_client.get(response["Location"]).content.decode()
    assert 'data-new="0" data-changed="0" data-unchanged="3" data-failed="1"' in html
    assert 'id="csv-earlier"' in html
    assert "保存済みの割り当て" in html  # the shop's saved mapping is offered

    # … and importing it changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(reverse("csv_upload_detail", args=[second.pk]), mapping_post(columns, **{"import": "1"}))
    again = ImportRun.objects.exclude(pk=run.pk).get()
    assert (again.status, again.new, again.updated, again.unchanged, again.failed) == (RunStatus.PARTIAL, 0, 0, 3, 1)
    assert OrderEvent.objects.count() == events
    assert sorted(Order.objects.values_list("external_id", "version")) == versions


def test_a_changed_row_updates_its_order_with_an_event(
    tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    first = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())
    with django_capture_on_commit_callbacks(execute=True):
        csv_import_start(upload=first, columns=csvfiles.guess_mapping(first.header))
    changed = TEXT.replace("600,3580,A-1,有機緑茶 100g,1490,2", "600,5070,A-1,有機緑茶 100g,1490,3")
    second = csv_upload_create(tenant=tenant, shop=csv_shop, filename="b.csv", data=changed.encode())

    with django_capture_on_commit_callbacks(execute=True):
        run = csv_import_start(upload=second, columns=csvfiles.guess_mapping(second.header))

    run.refresh_from_db()
    assert (run.new, run.updated, run.unchanged) == (0, 1, 2)
    order = Order.objects.get(shop=csv_shop, external_id="1001")
    assert order.lines.get().quantity == 3
    # the old line's removal and the new line's addition, each with its values, by the import
    events = list(OrderEvent.objects.filter(order=order, type__in=["line_removed", "line_added"]).order_by("pk"))
    assert [(event.type, event.actor_kind) for event in events][-2:] == [
        ("line_removed", "import"),
        ("line_added", "import"),
    ]
    assert (events[-2].data["line"]["quantity"], events[-1].data["line"]["quantity"]) == (2, 3)


def test_a_poison_order_is_named_by_the_preview_and_only_it_fails_the_import(
    operator_client, tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    """Issue 11.1: one order of 1,200 with a 23-digit price (in the second batch of 500) and one with a
    shipping fee of 1e13: the preview lists both as orders that cannot be imported, with the bound, and
    the import brings in the other 1,198 and records the two, instead of stopping at the batch."""
    lines = _orders_text(1200).splitlines()
    lines[700] = lines[700].replace(",1490,1,8", ",12345678901234567890123,1,8")  # order 5699
    lines[1100] = lines[1100].replace(",600,2090,", ",10000000000000,2090,")  # order 6099
    response = upload(operator_client, csv_shop, "\n".join(lines).encode())
    row = CsvUpload.objects.get()

    html = operator_client.get(response["Location"]).content.decode()
    assert 'data-new="1198" data-changed="0" data-unchanged="0" data-failed="2"' in html
    assert "「明細 1: 単価」の金額が大きすぎます（上限 ¥999,999,999,999）。" in html
    assert "「送料」の金額が大きすぎます（上限 ¥999,999,999,999）。" in html
    assert "<td>701</td><td>5699</td>" in html

    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("csv_upload_detail", args=[row.pk]),
            mapping_post(csvfiles.guess_mapping(row.header), **{"import": "1"}),
        )

    run = ImportRun.objects.get()
    assert (run.status, run.new, run.failed) == (RunStatus.PARTIAL, 1198, 2)
    assert Order.objects.filter(shop=csv_shop).count() == 1198
    assert sorted(ImportFailure.objects.filter(run=run).values_list("external_id", flat=True)) == ["5699", "6099"]


def test_numbers_too_long_to_read_are_refused_with_the_bound():
    with translation.override("ja"):
        with pytest.raises(csvfiles.BadValue, match="上限 ¥999,999,999,999"):
            csvfiles.parse_money("9" * 5000)
        with pytest.raises(csvfiles.BadValue, match="上限 999,999"):
            csvfiles.parse_count("9" * 5000)
    assert csvfiles.parse_money("12345678901234567890123") == 12345678901234567890123  # the import bounds it


def test_a_missing_required_column_is_named_and_nothing_is_written(operator_client, tenant, csv_shop):
    text = TEXT.replace("受注番号,", "伝票,", 1)  # the order number column is not recognisable
    response = upload(operator_client, csv_shop, text.encode("cp932"))
    row = CsvUpload.objects.get()

    html = operator_client.get(response["Location"]).content.decode()
    assert 'id="csv-problems"' in html
    assert "「受注番号」に使う列が選ばれていません" in html
    assert 'id="csv-import" disabled' in html
    response = operator_client.post(
        reverse("csv_upload_detail", args=[row.pk]),
        mapping_post(csvfiles.guess_mapping(row.header), **{"import": "1"}),
        follow=True,
    )
    assert "「受注番号」に使う列が選ばれていません" in response.content.decode()
    assert (Order.objects.count(), ImportRun.objects.count(), CsvMapping.objects.count()) == (0, 0, 0)
    CsvUpload.objects.filter(pk=row.pk, run__isnull=True).get()

    # Chosen by hand, the same file imports.
    columns = {**csvfiles.guess_mapping(row.header), "external_id": "伝票"}
    response = operator_client.post(reverse("csv_upload_detail", args=[row.pk]), mapping_post(columns, preview="1"))
    assert 'data-new="3"' in response.content.decode()


def test_a_saved_mapping_whose_column_is_gone_is_not_offered(tenant, csv_shop):
    from shops.selectors import csv_mapping_suggested

    CsvMapping.objects.create(tenant=tenant, shop=csv_shop, columns={"external_id": "伝票番号", "item_name": "品"})
    row = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())

    suggested = csv_mapping_suggested(upload=row)

    assert not suggested.saved
    assert suggested.columns["external_id"] == "受注番号"
    assert csvfiles.mapping_problems({"external_id": "伝票番号"}, row.header)[0] == (
        "列「伝票番号」（「受注番号」用）はこのファイルにありません。"
    )


def test_an_auction_shop_is_offered_the_auction_mapping(operator_client, tenant):
    shop = shop_create(tenant=tenant, name="ヤフオク店", mall=MallKind.AUCTION, code="auction")
    text = "オークションID,商品名,落札者氏名,落札価格,落札日時,送付先住所\nx123,中古カメラ,山田 太郎,15000,2026/11/20 21:03,東京都港区芝公園4-2-8\n"
    response = upload(operator_client, shop, text.encode("cp932"))

    html = operator_client.get(response["Location"]).content.decode()
    assert 'data-new="1"' in html
    assert "<option selected>落札価格</option>" in html


def test_double_delivery_and_a_second_start_do_nothing_more(tenant, csv_shop, django_capture_on_commit_callbacks):
    row = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())
    columns = csvfiles.guess_mapping(row.header)
    with django_capture_on_commit_callbacks() as callbacks:
        run = csv_import_start(upload=row, columns=columns)
    assert csv_import_start(upload=row, columns=columns) == run  # the same run, not a second import
    assert len(callbacks) == 1

    assert csv_import_run(upload_id=row.pk, run_id=run.pk).status == RunStatus.PARTIAL
    assert csv_import_run(upload_id=row.pk, run_id=run.pk) is None
    assert Order.objects.count() == 3


def test_pages_are_tenant_scoped(operator_client, tenant, other_tenant, csv_shop):
    theirs = shop_create(tenant=other_tenant, name="他社カート", mall=MallKind.CSV, code="cart")
    their_upload = csv_upload_create(tenant=other_tenant, shop=theirs, filename="x.csv", data=TEXT.encode())

    assert operator_client.get(reverse("csv_upload_detail", args=[their_upload.pk])).status_code == 404
    response = upload(operator_client, theirs, TEXT.encode())
    assert response.status_code == 200
    assert CsvUpload.objects.filter(tenant=tenant).count() == 0
    page = operator_client.get(reverse("csv_upload")).content.decode()
    assert "x.csv" not in page
    assert "他社カート" not in page


def test_a_bad_file_is_refused_on_the_upload_page(operator_client, csv_shop):
    response = upload(operator_client, csv_shop, b"\x81\x20\xff\xfe\xfd")

    assert response.status_code == 200
    assert "UTF-8 でも Shift_JIS" in response.content.decode()
    assert CsvUpload.objects.count() == 0


def test_a_run_whose_worker_died_is_taken_over_and_counted_afresh(tenant, csv_shop, settings):
    settings.SHOPS_DEAD_AFTER = 90
    row = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())
    run = csv_import_start(upload=row, columns=csvfiles.guess_mapping(row.header))
    # the first worker took it, imported part of it: its message comes again (delivered twice)
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        new=2,
        failed=1,
        started_at=now - dt.timedelta(minutes=20),
        heartbeat_at=now - dt.timedelta(seconds=30),
    )
    assert csv_import_run(upload_id=row.pk, run_id=run.pk) is None  # its worker still signs: still someone's

    # ... and was killed: silent for longer than SHOPS_DEAD_AFTER
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=100))
    taken = csv_import_run(upload_id=row.pk, run_id=run.pk)

    assert (taken.status, taken.new, taken.failed) == (RunStatus.PARTIAL, 3, 1)
    assert ImportFailure.objects.filter(run=taken).count() == 1
    assert "やり直しました" in taken.notes[0]
    assert Order.objects.filter(shop=csv_shop).count() == 3


def test_a_poll_of_the_shop_leaves_a_running_csv_import_alone(tenant, csv_shop):
    from shops.services.polling import poll_shop

    row = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())
    csv_run = csv_import_start(upload=row, columns=csvfiles.guess_mapping(row.header))
    ImportRun.objects.filter(pk=csv_run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now())
    dead_poll = ImportRun.objects.create(
        tenant=tenant, shop=csv_shop, trigger=Trigger.BEAT, status=RunStatus.RUNNING, started_at=timezone.now()
    )

    poll_shop(shop_id=csv_shop.pk)

    assert ImportRun.objects.get(pk=dead_poll.pk).status == RunStatus.FAILED
    assert ImportRun.objects.get(pk=csv_run.pk).status == RunStatus.RUNNING


def test_beat_restarts_a_csv_import_whose_worker_went_silent_within_minutes(
    tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    """A worker killed mid-file: two minutes later (SHOPS_DEAD_AFTER 90 s, beat every minute) beat queues the
    run again and a worker takes it over; every order is in once, counted afresh. It used to wait for the
    task's time limit (30 min) and for Redis to give the message back (1 h)."""
    from shops.tasks import poll_due_shops

    row = csv_upload_create(tenant=tenant, shop=csv_shop, filename="a.csv", data=TEXT.encode())
    run = csv_import_start(upload=row, columns=csvfiles.guess_mapping(row.header))
    ImportRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, new=2, started_at=timezone.now() - dt.timedelta(minutes=2)
    )

    with django_capture_on_commit_callbacks(execute=True):
        poll_due_shops()

    taken = ImportRun.objects.get(pk=run.pk)
    assert (taken.status, taken.new, taken.failed) == (RunStatus.PARTIAL, 3, 1)
    assert "やり直しました" in taken.notes[0]
    assert Order.objects.filter(shop=csv_shop).count() == 3
    assert CsvUpload.objects.get(pk=row.pk).text == ""


def test_a_file_left_unimported_is_emptied_after_a_day(
    tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    from shops.tasks import prune_import_runs

    left = csv_upload_create(tenant=tenant, shop=csv_shop, filename="left.csv", data=TEXT.encode())
    csv_upload_create(tenant=tenant, shop=csv_shop, filename="fresh.csv", data=TEXT.encode())
    imported = csv_upload_create(tenant=tenant, shop=csv_shop, filename="done.csv", data=TEXT.encode())
    with django_capture_on_commit_callbacks(execute=True):
        csv_import_start(upload=imported, columns=csvfiles.guess_mapping(imported.header))
    CsvUpload.objects.filter(pk__in=[left.pk, imported.pk]).update(uploaded_at=timezone.now() - dt.timedelta(days=2))

    assert prune_import_runs()["uploads"] == 1

    texts = dict(CsvUpload.objects.values_list("filename", "text"))
    assert texts["left.csv"] == ""
    assert texts["fresh.csv"] == TEXT
    assert texts["done.csv"] == ""  # emptied by its import
    assert CsvUpload.objects.count() == 3  # who uploaded what and when stays


def test_the_demo_sample_reads_with_the_auction_guess_and_names_its_broken_row(tenant):
    """docs/samples/yahoo-auction.csv, which the README offers for the demo's auction shop: Shift_JIS, the
    auction guess reads it, and the row with an unquoted 3,000 is named with the reason."""
    data = (Path(__file__).resolve().parents[2] / "docs/samples/yahoo-auction.csv").read_bytes()
    file = csvfiles.decode(data)
    reading = csvfiles.read_orders(file, csvfiles.guess_mapping(file.header, csvfiles.YAHOO_AUCTION))

    assert file.encoding == "cp932"
    assert [order.external_id for order in reading.orders] == ["x1156789012", "c1098765432", "m1199887766"]
    first = reading.orders[0]
    assert (first.dest_prefecture, first.dest_city, first.lines[0].unit_price) == ("宮城県", "仙台市青葉区", 12800)
    assert [failed.external_id for failed in reading.failed] == ["n1122334455"]
    assert "ダブルクォートで囲む" in reading.errors[0].message
    assert reading.errors[0].row == 4


# --- limits (issue 11.6, 11.11) ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_refused_not_read_as_cp932(encoding):
    with translation.override("ja"), pytest.raises(CsvRefused, match="BOM（バイトオーダーマーク）のない UTF-16"):
        csvfiles.decode(TEXT.encode(encoding))
    assert csvfiles.decode(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")).header[0] == "受注番号"  # with it: read


def test_a_file_of_too_many_columns_is_refused_at_once_naming_the_limit(operator_client, csv_shop):
    """The review's 10,000-column file took 56 s of CPU and 18 MB of HTML per view of its preview."""
    wide = ",".join(["受注番号", "受注日時", "商品名", "単価", *(f"列{n}" for n in range(9_996))])
    data = (wide + "\n" + ",".join(["1", "2026/11/20 10:15", "茶", "100", *("x" * 9_996)]) + "\n").encode()

    started = time.process_time()
    response = upload(operator_client, csv_shop, data)

    assert time.process_time() - started < 2
    assert response.status_code == 200
    assert "このファイルには 10,000 列あります。読み込めるのは 200 列までです。" in response.content.decode()
    assert CsvUpload.objects.count() == 0


def test_at_the_column_limit_the_mapping_page_stays_small(operator_client, csv_shop):
    """200 columns, each offered to 40 order fields: the page is a few hundred KB, not megabytes."""
    names = ["受注番号", "受注日時", "商品名", "単価", *(f"お届け先の追加情報その{n}" for n in range(196))]
    data = (",".join(names) + "\n" + ",".join(["1", "2026/11/20 10:15", "茶", "100", *("x" * 196)]) + "\n").encode()
    response = upload(operator_client, csv_shop, data)

    html = operator_client.get(response["Location"]).content.decode()

    assert 'data-new="1"' in html
    assert html.count("<option>お届け先の追加情報その195</option>") == len(csvfiles.TARGETS)
    assert len(html.encode()) < 800_000


def test_a_long_file_is_previewed_by_a_worker_with_progress_and_kept(
    operator_client, tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    """Past INLINE_LINES the file is read by a worker: the page answers at once with progress, the import
    waits for the preview, and once read the preview is kept: viewing it again reads nothing."""
    from shops.services.csvpreview import INLINE_LINES

    count = INLINE_LINES + 100
    response = upload(operator_client, csv_shop, _orders_text(count).encode())
    row = CsvUpload.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        html = operator_client.get(response["Location"]).content.decode()
    assert 'id="csv-progress" aria-live="polite" data-state="queued"' in html
    assert 'id="csv-import" disabled' in html
    assert 'id="csv-summary"' not in html
    progress = operator_client.get(reverse("csv_upload_detail", args=[row.pk]), {"progress": "1"})
    assert progress.status_code == 200
    assert 'data-state="queued"' in progress.content.decode()
    # a second view while it waits queues nothing more
    with django_capture_on_commit_callbacks() as more:
        operator_client.get(response["Location"])
    assert len(callbacks) == 1
    assert not more

    callbacks[0]()  # the worker's part (eager Celery)

    done = operator_client.get(reverse("csv_upload_detail", args=[row.pk]), {"progress": "1"})
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    html = operator_client.get(response["Location"]).content.decode()
    assert f'data-new="{count}"' in html
    assert 'id="csv-import" disabled' not in html
    assert CsvUpload.objects.get().preview["state"] == "ready"


def test_other_columns_while_a_worker_reads_replace_its_preview(
    tenant, csv_shop, eager_worker, django_capture_on_commit_callbacks
):
    from shops.services.csvpreview import INLINE_LINES, csv_preview_request, csv_preview_run

    row = csv_upload_create(
        tenant=tenant, shop=csv_shop, filename="a.csv", data=_orders_text(INLINE_LINES + 10).encode()
    )
    columns = csvfiles.guess_mapping(row.header)
    with django_capture_on_commit_callbacks():
        first = csv_preview_request(upload=row, columns=columns)
        second = csv_preview_request(upload=row, columns={**columns, "dest_name": "注文者名"})

    assert csv_preview_run(upload_id=row.pk, key=first["key"]) == "replaced"
    assert csv_preview_run(upload_id=row.pk, key=second["key"]) == "ready"
    row.refresh_from_db()
    assert row.preview["columns"]["dest_name"] == "注文者名"
    assert row.preview["result"]["new"] == INLINE_LINES + 10


def test_a_preview_whose_worker_went_silent_is_asked_for_again(tenant, csv_shop, django_capture_on_commit_callbacks):
    from shops.services.csvpreview import INLINE_LINES, STALE, csv_preview_request

    row = csv_upload_create(
        tenant=tenant, shop=csv_shop, filename="a.csv", data=_orders_text(INLINE_LINES + 10).encode()
    )
    columns = csvfiles.guess_mapping(row.header)
    with django_capture_on_commit_callbacks() as callbacks:
        first = csv_preview_request(upload=row, columns=columns)
        assert csv_preview_request(upload=row, columns=columns)["key"] == first["key"]  # still someone's
        silent = (timezone.now() - STALE - dt.timedelta(seconds=1)).isoformat()
        CsvUpload.objects.filter(pk=row.pk).update(preview={**first, "state": "running", "at": silent})
        row.refresh_from_db()
        again = csv_preview_request(upload=row, columns=columns)
    assert again["key"] != first["key"]
    assert len(callbacks) == 2


# --- queries per page ---------------------------------------------------------------------------------------------


def _orders_text(count: int) -> str:
    rows = [
        f"{5000 + n},2026/11/20 10:15,山田 太郎,ヤマダ タロウ,090-1234-5678,100-0005,"
        f"東京都千代田区丸の内1-1-{n},クレジットカード,600,2090,A-1,有機緑茶 100g,1490,1,8"
        for n in range(count)
    ]
    return "\n".join([HEADER, *rows]) + "\n"


def test_the_upload_page_lists_uploads_in_fixed_queries(
    operator_client, tenant, csv_shop, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n: int) -> None:
        for i in range(n):
            row = csv_upload_create(tenant=tenant, shop=csv_shop, filename=f"{i}.csv", data=TEXT.encode())
            if i % 2:
                csv_import_start(upload=row, columns=csvfiles.guess_mapping(row.header))

    add(2)
    operator_client.get(reverse("csv_upload"))
    with CaptureQueriesContext(connection) as two:
        operator_client.get(reverse("csv_upload"))
    add(12)
    with django_assert_max_num_queries(len(two.captured_queries)):
        html = operator_client.get(reverse("csv_upload")).content.decode()
    assert html.count('href="/shops/csv/') == 14


def test_the_preview_reads_a_large_file_in_as_many_queries_as_a_small_one(
    operator_client, tenant, csv_shop, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = csv_upload_create(tenant=tenant, shop=csv_shop, filename="s.csv", data=_orders_text(3).encode())
    large = csv_upload_create(tenant=tenant, shop=csv_shop, filename="l.csv", data=_orders_text(800).encode())
    operator_client.get(reverse("csv_upload"))  # the session's first request
    with CaptureQueriesContext(connection) as few:
        operator_client.get(reverse("csv_upload_detail", args=[small.pk]))  # the file read, the preview kept
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = operator_client.get(reverse("csv_upload_detail", args=[large.pk])).content.decode()
    assert 'data-new="800"' in html
    assert len(few.captured_queries) <= 14, [q["sql"][:80] for q in few.captured_queries]
    # Viewing it again reads the kept preview, not the file.
    with CaptureQueriesContext(connection) as again:
        html = operator_client.get(reverse("csv_upload_detail", args=[large.pk])).content.decode()
    assert 'data-new="800"' in html
    assert not any("orders_order" in query["sql"] for query in again.captured_queries)
    assert len(again.captured_queries) < len(few.captured_queries)
