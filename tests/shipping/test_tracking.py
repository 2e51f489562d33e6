"""Tracking numbers back (issue 16 item 3): hand-written issued-data files of each carrier fed back; bad rows
named by row number; foreign and ambiguous numbers; re-upload changes nothing; events, moves, the order page's
panel, the shipped mail's number and URL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backyard.csvtext import CsvRefused, decode
from mailer.services.compose import orders_for_mail, tracking_of
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import OrderEvent, Status
from shipping.formats import b2cloud
from shipping.models import Carrier, Shipment, ShippingSettings, WaybillFormat, management_number_for, tracking_url
from shipping.services.tracking import Mapping, TrackingRefused, issued_rows, mapping_save, shipment_add
from shipping.services.tracking import tracking_apply as apply
from shipping.services.waybills import waybill_export
from tests.shipping.waybill_helpers import method, order

ACTOR = Actor.system("test")
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "b2cloud-issued-demo.csv"


def exported(tenant, fmt=WaybillFormat.B2CLOUD, n=2, **fields):
    orders = [order(tenant, **fields) for _ in range(n)]
    waybill_export(tenant=tenant, fmt=fmt, order_ids=[o.pk for o in orders], actor=ACTOR)
    return orders


def b2_issued(rows: list[tuple[str, str, str]], header: bool = True) -> bytes:
    """B2 Cloud's issued data: the import layout with 伝票番号 filled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(b2cloud.HEADER)
    for number, tracking, day in rows:
        row = [""] * 95
        row[0], row[1], row[3], row[4], row[15] = number, "0", tracking, day, "山田 太郎"
        writer.writerow(row)
    return buffer.getvalue().encode("cp932")


def by_header(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([header, *rows])
    return buffer.getvalue().encode("cp932")


def run(tenant, fmt, data: bytes, mapping=None):
    from shipping.services.tracking import mapping_for

    rows = issued_rows(decode(data), fmt, mapping or mapping_for(tenant, fmt))
    return apply(tenant=tenant, fmt=fmt, rows=rows, actor=ACTOR)


def shipped_status(tenant) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).first()


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.django_db
def test_b2cloud_issued_data_records_numbers_moves_orders_and_a_second_upload_changes_nothing(tenant, header):
    target = shipped_status(tenant)
    ready = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    ShippingSettings.objects.create(tenant=tenant, status_after_export=ready, status_after_tracking=target)
    one, two = exported(tenant)
    data = b2_issued(
        [
            (management_number_for(one.pk), "1234-5678-9012", "2026/12/05"),
            (management_number_for(one.pk), "123456789013", "2026/12/05"),  # a second parcel
            (management_number_for(two.pk), "223456789012", "2026/12/06"),
        ],
        header=header,
    )
    plan = run(tenant, WaybillFormat.B2CLOUD, data)
    assert (len(plan.new), plan.orders, plan.problems) == (3, 2, [])

    numbers = list(Shipment.objects.for_tenant(tenant).order_by("pk").values_list("order_id", "tracking_number"))
    assert numbers == [(one.pk, "123456789012"), (one.pk, "123456789013"), (two.pk, "223456789012")]
    one.refresh_from_db()
    assert one.status == target
    assert str(one.ship_date) == "2026-12-05"
    event = OrderEvent.objects.get(order=one, type=EventType.TRACKING_REGISTERED)
    assert [s["number"] for s in event.data["shipments"]] == ["123456789012", "123456789013"]

    events = OrderEvent.objects.count()
    again = run(tenant, WaybillFormat.B2CLOUD, data)
    assert (len(again.new), len(again.already), again.moved) == (0, 3, 0)
    assert OrderEvent.objects.count() == events
    assert Shipment.objects.for_tenant(tenant).count() == 3


@pytest.mark.django_db
def test_bad_rows_are_named_by_row_number_and_the_good_ones_applied(tenant, other_tenant):
    one, two, three = exported(tenant, n=3)
    Shipment.objects.create(tenant=tenant, order=three, carrier=Carrier.YAMATO, tracking_number="999999999999",
                            source="manual")  # fmt: skip
    data = b2_issued(
        [
            (management_number_for(one.pk), "12345", "2026/12/05"),  # row 2: wrong shape
            ("BY9999999999", "323456789012", "2026/12/05"),  # row 3: not ours
            (management_number_for(two.pk), "999999999999", "2026/12/05"),  # row 4: another order's number
            (management_number_for(one.pk), "555555555555", ""),  # rows 5, 6: one number for two orders
            (management_number_for(two.pk), "555555555555", ""),
            (management_number_for(two.pk), "", ""),  # row 7: no number
            (management_number_for(one.pk), "423456789012", "2026/12/05"),  # row 8: fine
        ]
    )
    plan = run(tenant, WaybillFormat.B2CLOUD, data)
    problems = dict(plan.problems)
    assert sorted(problems) == [2, 3, 4, 5, 6, 7]
    assert "形式が正しくありません" in problems[2]
    assert "BY9999999999" in problems[3]
    assert three.external_id in problems[4]
    assert "特定できません" in problems[5]
    assert [(line, number) for line, _o, _n, number, _d in plan.new] == [(8, "423456789012")]


@pytest.mark.django_db
def test_another_tenants_management_numbers_do_not_match(tenant, other_tenant):
    (theirs,) = exported(other_tenant, n=1)
    plan = run(tenant, WaybillFormat.B2CLOUD, b2_issued([(management_number_for(theirs.pk), "123456789012", "")]))
    assert not plan.new
    assert plan.problems[0][0] == 2
    assert not Shipment.objects.exists()


@pytest.mark.django_db
def test_a_file_of_another_carrier_is_refused_as_a_whole(tenant):
    exported(tenant, n=1)
    ehiden = by_header(["お客様管理番号", "お問い合せ送り状No."], [["BY1", "123456789012"]])
    with pytest.raises(CsvRefused, match="伝票番号"):
        run(tenant, WaybillFormat.B2CLOUD, ehiden)
    with pytest.raises(CsvRefused, match="95"):
        run(tenant, WaybillFormat.B2CLOUD, b"BY1,123456789012\r\n")
    with pytest.raises(CsvRefused, match="お問い合せ送り状No."):
        run(tenant, WaybillFormat.EHIDEN, b2_issued([("BY1", "123456789012", "")]))


@pytest.mark.django_db
def test_ehiden_issued_data_is_read_by_header(tenant):
    sagawa = method(tenant, "飛脚宅配便", Carrier.SAGAWA, service="hikyaku")
    (one,) = exported(tenant, WaybillFormat.EHIDEN, n=1, delivery_method=sagawa)
    data = by_header(
        ["出荷日", "お問い合せ送り状No.", "お届け先名称１", "お客様管理番号"],
        [["20261205", "5012-3456-7890", "山田 太郎", management_number_for(one.pk)]],
    )
    plan = run(tenant, WaybillFormat.EHIDEN, data)
    assert plan.problems == []
    shipment = Shipment.objects.get(order=one)
    assert (shipment.carrier, shipment.tracking_number, str(shipment.shipped_on)) == (
        Carrier.SAGAWA, "501234567890", "2026-12-05",
    )  # fmt: skip
    assert shipment.url == tracking_url(Carrier.SAGAWA, "501234567890")


@pytest.mark.django_db
def test_yupri_issued_data_uses_the_saved_mapping(tenant):
    post = method(tenant, "ゆうパック", Carrier.JAPAN_POST, service="yupack")
    (one,) = exported(tenant, WaybillFormat.YUPRI, n=1, delivery_method=post)
    data = by_header(
        ["管理番号", "追跡番号", "差出日"], [[management_number_for(one.pk), "112233445566", "2026/12/05"]]
    )
    with pytest.raises(CsvRefused):
        run(tenant, WaybillFormat.YUPRI, data)
    mapping_save(tenant=tenant, fmt=WaybillFormat.YUPRI, mapping=Mapping("管理番号", "追跡番号", "差出日"))
    plan = run(tenant, WaybillFormat.YUPRI, data)
    assert [n for _l, _o, _e, n, _d in plan.new] == ["112233445566"]


@pytest.mark.django_db
def test_the_sample_issued_file_reads(tenant):
    rows = issued_rows(decode(SAMPLE.read_bytes()), WaybillFormat.B2CLOUD, Mapping("お客様管理番号", "伝票番号"))
    assert len(rows) == 30
    assert rows[0].management_number == "BY0000000001"


@pytest.mark.django_db
def test_a_number_typed_on_the_order_page_and_refused_when_another_order_has_it(tenant):
    one, two = order(tenant), order(tenant)
    shipment_add(tenant=tenant, order=one, carrier=Carrier.YAMATO, number="1111-2222-3333", shipped_on=None,
                 actor=ACTOR)  # fmt: skip
    with pytest.raises(TrackingRefused, match=one.external_id):
        shipment_add(tenant=tenant, order=two, carrier=Carrier.YAMATO, number="111122223333", shipped_on=None,
                     actor=ACTOR)  # fmt: skip
    assert tracking_of(orders_for_mail(tenant.pk, [one.pk])[one.pk]) == (
        "111122223333", tracking_url(Carrier.YAMATO, "111122223333"),
    )  # fmt: skip


@pytest.mark.django_db
def test_upload_preview_apply_pages(operator_client, tenant, django_assert_max_num_queries):
    one, two = exported(tenant)
    data = b2_issued([(management_number_for(one.pk), "123456789012", ""), ("BY0", "x", "")])
    response = operator_client.post(
        reverse("tracking_upload"), {"format": "b2cloud", "file": SimpleUploadedFile("issued.csv", data)}
    )
    assert response.status_code == 302
    preview = response["Location"]
    with django_assert_max_num_queries(15):
        page = operator_client.get(preview).content.decode()
    assert "tracking-apply" in page
    assert "BY0" in page
    key = preview.rstrip("/").split("/")[-1]
    done = operator_client.post(reverse("tracking_apply", args=[key]), follow=True).content.decode()
    assert "tracking-result" in done
    assert Shipment.objects.for_tenant(tenant).count() == 1
    operator_client.post(reverse("tracking_apply", args=[key]))  # twice: nothing more
    assert Shipment.objects.for_tenant(tenant).count() == 1


@pytest.mark.django_db
def test_the_order_panel_adds_a_number(operator_client, tenant, django_assert_max_num_queries):
    one = order(tenant)
    url = reverse("order_tracking", args=[one.pk])
    response = operator_client.post(url, {"carrier": "yamato", "number": "123456789012"}, HTTP_HX_REQUEST="true")
    assert "123456789012" in response.content.decode()
    with django_assert_max_num_queries(10):
        page = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert "toi.kuronekoyamato.co.jp" in page.content.decode()
    bad = operator_client.post(url, {"carrier": "yamato", "number": "12"}, HTTP_HX_REQUEST="true")
    assert "order-tracking-error" in bad.content.decode()
