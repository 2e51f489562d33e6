"""Outside warehouses by CSV drop (issue 16 item 5): the request file written into the outbox (cp932, read back
with csv, column by column), the fake warehouse's answer files read from the inbox (moved to done/), shipped
answers through the tracking path; a broken answer file and a bad row named, the rest applied; who cannot be
requested and why."""

from __future__ import annotations

import csv
import io

import pytest

from devtools.fakewarehouse import FakeWarehouseDrop
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order
from shipping.models import Shipment, ShipmentSource, StoreKind, WarehouseRequest, WarehouseState
from shipping.services.warehouse import (
    ANSWER_HEADER,
    REQUEST_HEADER,
    batch_send,
    request_plan,
    store_poll,
    warehouse_request,
)
from tests.shipping.warehouse_helpers import api_store, csv_store, shipped_after_tracking, status_of, store_order

ACTOR = Actor.system("test")


@pytest.fixture
def root(settings, tmp_path):
    settings.WAREHOUSE_DROP_ROOT = tmp_path
    return tmp_path


def test_csv_drop_round_trip(db, tenant, root):
    target = shipped_after_tracking(tenant)
    store = csv_store(tenant, root)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    orders = [store_order(tenant, store, external_id=f"CSV-{n}", status=ready, dest_name="髙橋 花子") for n in range(2)]
    result = warehouse_request(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
    assert batch_send(tenant=tenant, batch_id=result.batches[0])

    outbox = root / "drop" / "out"
    files = sorted(p.name for p in outbox.iterdir())
    assert files == [f"request-drop-{result.batches[0]:08d}.csv"]  # no temporary file left behind
    data = (outbox / files[0]).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    assert tuple(rows[0]) == REQUEST_HEADER
    first = dict(zip(REQUEST_HEADER, rows[1], strict=True))
    request = WarehouseRequest.objects.get(order=orders[0])
    assert first["依頼番号"] == str(request.pk)
    assert first["受注番号"] == "CSV-0"
    assert first["お届け先名"] == "高橋 花子"  # 髙 is outside JIS X 0208: replaced, as on a waybill
    assert first["お届け先電話番号"] == "03-1234-5678"
    assert first["お届け先都道府県"] == "東京都"
    assert first["品名"] == "煎茶 100g×2"
    assert first["ご依頼主名"] == "テスト商店"
    assert first["代引金額"] == "0"

    fake = FakeWarehouseDrop(outbox, root / "drop" / "in", delay=3600)
    assert len(fake.process()) == 1  # the accepted answers at once
    assert fake.files_taken == files
    applied = store_poll(tenant=tenant, store_id=store.pk)
    assert (applied.changed, applied.problems) == (2, [])
    assert set(WarehouseRequest.objects.values_list("state", flat=True)) == {WarehouseState.ACCEPTED}
    assert len(list((root / "drop" / "in" / "done").iterdir())) == 1

    fake.process(now=10**9)  # the delay has passed: shipped
    applied = store_poll(tenant=tenant, store_id=store.pk)
    assert (applied.shipped, applied.problems) == (2, [])
    for made in orders:
        made.refresh_from_db()
        shipment = Shipment.objects.get(order=made)
        assert shipment.source == ShipmentSource.WAREHOUSE
        assert WarehouseRequest.objects.get(order=made).numbers == [shipment.tracking_number]
        assert made.status_id == target.pk
    assert not [p for p in (root / "drop" / "in").iterdir() if p.is_file()]  # every answer file moved to done/

    # The same answer file dropped again: nothing changes.
    done = sorted((root / "drop" / "in" / "done").iterdir())
    (root / "drop" / "in" / done[-1].name).write_bytes(done[-1].read_bytes())
    again = store_poll(tenant=tenant, store_id=store.pk)
    assert (again.changed, again.shipped, again.unchanged, again.problems) == (0, 0, 2, [])
    assert Shipment.objects.count() == 2


def answer_file(rows: list[list[str]], encoding: str = "cp932") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([list(ANSWER_HEADER), *rows])
    return buffer.getvalue().encode(encoding)


def test_a_broken_answer_file_and_a_bad_row_are_named_and_the_rest_applied(db, tenant, root):
    shipped_after_tracking(tenant)
    store = csv_store(tenant, root)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    orders = [store_order(tenant, store, external_id=f"BR-{n}", status=ready) for n in range(4)]
    warehouse_request(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
    ids = [str(WarehouseRequest.objects.get(order=o).pk) for o in orders]
    inbox = root / "drop" / "in"
    inbox.mkdir(parents=True)
    (inbox / "a-broken.csv").write_bytes(b"\x00\x01garbage,without,the,columns\r\n1,2,3,4\r\n")
    (inbox / "b-answers.csv").write_bytes(
        answer_file(
            [
                [ids[0], "accepted", "", "R1", "", "", ""],
                [ids[1], "出荷済", "", "R2", "ヤマト運輸", "4000-0000-0016", "2026/12/05"],
                [ids[2], "shipped", "", "R3", "yamato", "12345", "2026-12-05"],  # a number of the wrong shape
                [ids[3], "lost", "", "", "", "", ""],  # an unknown state
                ["999999", "accepted", "", "", "", "", ""],  # not one of ours
            ]
        )
    )
    applied = store_poll(tenant=tenant, store_id=store.pk)

    assert applied.changed == 2
    assert applied.problems[0].startswith("a-broken.csv：倉庫の回答ファイルではありません")
    assert applied.problems[0].endswith("（failed/ に移動しました）")
    assert "b-answers.csv の 5 行目：状態「lost」が不明です" in applied.problems
    assert "b-answers.csv の 6 行目：依頼番号 999999 はこの倉庫への依頼ではありません" in applied.problems
    assert any(p.startswith("b-answers.csv の 4 行目：") and "12345" in p for p in applied.problems)
    states = dict(WarehouseRequest.objects.values_list("order__external_id", "state"))
    assert states == {"BR-0": "accepted", "BR-1": "shipped", "BR-2": "requested", "BR-3": "requested"}
    assert Shipment.objects.get().tracking_number == "400000000016"
    assert (inbox / "failed" / "a-broken.csv").exists()
    assert (inbox / "done" / "b-answers.csv").exists()
    store.refresh_from_db()
    assert store.poll_problems == applied.problems


def test_plan_names_each_order_that_cannot_be_requested(db, tenant, root):
    outside = csv_store(tenant, root)
    own = type(outside).objects.for_tenant(tenant).get(kind=StoreKind.OWN)
    off = csv_store(tenant, root, code="off", active=False)
    unset = api_store(tenant, "", code="unset")
    cases = {
        "OK": store_order(tenant, outside),
        "NOSTORE": store_order(tenant, None),
        "OWN": store_order(tenant, own),
        "OFF": store_order(tenant, off),
        "UNSET": store_order(tenant, unset),
        "NOPHONE": store_order(tenant, outside, dest_phone=""),
        "NOPOSTAL": store_order(tenant, outside, dest_postal_code=""),
        "NOADDRESS": store_order(tenant, outside, dest_prefecture="", dest_city="", dest_address1=""),
        "CANCELLED": store_order(tenant, outside),
        "TWICE": store_order(tenant, outside),
    }
    for number, made in cases.items():
        Order.objects.filter(pk=made.pk).update(external_id=number)
    Order.objects.filter(pk=cases["CANCELLED"].pk).update(stage=Stage.CANCELLED)
    warehouse_request(tenant=tenant, order_ids=[cases["TWICE"].pk], actor=ACTOR)

    plan = request_plan(tenant=tenant, order_ids=[o.pk for o in cases.values()])

    assert [order.external_id for order, _store in plan.ready] == ["OK"]
    reasons = {number: reason for _pk, number, reason in plan.refused}
    assert reasons == {
        "NOSTORE": "出荷店舗が設定されていません",
        "OWN": f"出荷店舗「{own.name}」は外部倉庫ではありません",
        "OFF": "倉庫「CSV倉庫 off」との連携は停止中です",
        "UNSET": "倉庫「外部倉庫 unset」に接続できません：API のベース URL またはトークンが未設定です",
        "NOPHONE": "お届け先電話番号がありません",
        "NOPOSTAL": "お届け先郵便番号がありません",
        "NOADDRESS": "お届け先住所がありません",
        "CANCELLED": "キャンセル済みの受注です",
        "TWICE": "「CSV倉庫 drop」へ依頼済みです（依頼済）",
    }


def test_a_folder_outside_the_warehouse_root_is_refused(db, tenant, root):
    from django.core.exceptions import ValidationError

    store = csv_store(tenant, root)
    store.csv_outbox = "../../etc"
    with pytest.raises(ValidationError, match="倉庫用フォルダ"):
        store.full_clean()
