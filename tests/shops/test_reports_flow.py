"""Shipment reports (B12) from shipping's side to the operator's: the hook on an issued-data file and on a
number typed on the order page, malls without an API told by file (read back), the order panel, the shops
page's failures with retry, and the queries each costs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools.fakemalls.rakuten import FakeRakuten
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent
from shipping.models import Carrier, Shipment, ShipmentSource, WaybillFormat, management_number_for
from shipping.services.waybills import waybill_export
from shops.constants import MallKind
from shops.models import ReportState, ShipmentReport
from shops.services import shop_create
from shops.services.reports import FILE_COLUMNS, STALE_SENDING, reports_queue, reports_retry, shipment_report_send
from tests.factories import make_order
from tests.shipping.test_tracking import b2_issued, run
from tests.shipping.waybill_helpers import order as exportable_order
from tests.shops.reportkit import YAMATO, connected_shop, mall_order, ship, shipped_after_tracking

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.SHOPS_REPORT_MAX_WAIT = 0.2
    settings.SHOPS_REPORT_BACKOFF = 1.0


@pytest.fixture
def rakuten() -> Iterator[FakeRakuten]:
    mall = FakeRakuten(seed=17).start()
    yield mall
    mall.stop()


def queued(callbacks: list) -> bool:
    return any(c.__qualname__.startswith("reports_queue") for c in callbacks)


def test_an_issued_data_file_reports_each_mall_order_and_leaves_phone_orders_alone(
    tenant, rakuten, django_capture_on_commit_callbacks
):
    shop = connected_shop(tenant, MallKind.RAKUTEN, rakuten)
    orders = [exportable_order(tenant, shop=shop, external_id=rakuten.add_order(), status=None) for _ in range(3)]
    phone_shop = shop_create(tenant=tenant, name="電話注文", mall=MallKind.MANUAL, code="phone-desk")
    phone = exportable_order(tenant, shop=phone_shop, external_id="TEL-1")
    waybill_export(tenant=tenant, fmt=WaybillFormat.B2CLOUD, order_ids=[o.pk for o in [*orders, phone]], actor=ACTOR)
    day = timezone.localdate().strftime("%Y/%m/%d")
    data = b2_issued([(management_number_for(o.pk), f"1234567890{n:02d}", day) for n, o in enumerate([*orders, phone])])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        plan = run(tenant, WaybillFormat.B2CLOUD, data)
    assert plan.orders == 4
    assert queued(callbacks)
    reports = list(ShipmentReport.objects.for_tenant(tenant).order_by("order_id"))
    assert [(r.order_id, r.mall_order, r.state) for r in reports] == [
        (o.pk, o.external_id, ReportState.PENDING) for o in orders
    ]  # the phone order has no mall to tell
    for report in reports:
        assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    assert sorted(u["orderNumber"] for u in rakuten.shipping_updates) == sorted(o.external_id for o in orders)
    # the same file again: nothing new recorded, nothing told again
    run(tenant, WaybillFormat.B2CLOUD, data)
    assert ShipmentReport.objects.for_tenant(tenant).filter(state=ReportState.PENDING).count() == 0
    assert len(rakuten.shipping_updates) == 3


def test_the_hook_costs_a_fixed_few_queries_for_many_orders(tenant, django_assert_max_num_queries):
    shop = shop_create(tenant=tenant, name="CSV店", mall=MallKind.CSV, code="csv-many")
    orders = [make_order(tenant, shop=shop, external_id=f"C-{n}") for n in range(300)]
    Shipment.objects.bulk_create(
        Shipment(tenant=tenant, order=o, carrier=Carrier.YAMATO, tracking_number=f"5{n:011d}",
                 shipped_on=timezone.localdate(), source=ShipmentSource.MANUAL)
        for n, o in enumerate(orders)
    )  # fmt: skip
    with django_assert_max_num_queries(10):  # reads 3, inserts in batches (SQLite's variable limit), shops 1
        reports_queue(tenant.pk, [o.pk for o in orders], ACTOR)
    assert ShipmentReport.objects.for_tenant(tenant).filter(state=ReportState.PENDING).count() == 300


@pytest.mark.parametrize(("mall", "credentials"), [(MallKind.AUCTION, False), (MallKind.CSV, False),
                                                   (MallKind.RAKUTEN, False)])  # fmt: skip
def test_a_mall_without_api_is_told_by_a_file_read_back_in_amazons_layout(
    tenant, operator_client, mall, credentials, django_capture_on_commit_callbacks
):
    shop = connected_shop(tenant, mall, None, credentials=credentials)
    first = mall_order(tenant, shop, "F-0001")
    second = mall_order(tenant, shop, "F-0002")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ship(tenant, first)
        ship(tenant, first, number="600012345678", carrier=Carrier.SAGAWA)
        ship(tenant, second, number="12345678901", carrier=Carrier.JAPAN_POST)
    assert not queued(callbacks)  # no API: nothing for the workers

    response = operator_client.post(reverse("shop_reports_file", args=[shop.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="shipments-')
    text = response.content.decode("cp932")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    assert rows[0] == list(FILE_COLUMNS)
    day = timezone.localdate().isoformat()
    assert rows[1:] == [
        ["F-0001", "", "", day, "Yamato Transport", "ヤマト運輸", YAMATO, ""],
        ["F-0001", "", "", day, "Sagawa Express", "佐川急便", "600012345678", ""],
        ["F-0002", "", "", day, "Japan Post", "日本郵便", "12345678901", ""],
    ]
    assert set(ShipmentReport.objects.for_tenant(tenant).values_list("state", flat=True)) == {ReportState.BY_FILE}
    assert OrderEvent.objects.filter(order__in=[first, second], type=EventType.MALL_NOTIFIED).count() == 2
    again = operator_client.post(reverse("shop_reports_file", args=[shop.pk]))
    assert again.status_code == 302  # nothing waiting any more


def test_order_panel_shows_the_malls_answer_and_retries_a_refusal(
    tenant, operator_client, rakuten, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    order = mall_order(tenant, connected_shop(tenant, MallKind.RAKUTEN, rakuten), rakuten.add_order())
    rakuten.cancel(order.external_id)
    report = ship(tenant, order)
    shipment_report_send(report_id=report.pk)
    url = reverse("shops_order_reports", args=[order.pk])

    operator_client.get(url)  # the session and the user, loaded once
    with django_assert_max_num_queries(8):
        part = operator_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert part.startswith('<div id="order-mall-reports"')
    assert 'data-state="refused"' in part
    assert "キャンセルされた受注の発送情報は更新できません" in part
    assert f'id="mall-report-retry-{report.pk}"' in part

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = operator_client.post(
            reverse("shops_order_reports_retry", args=[order.pk]), HTTP_HX_REQUEST="true"
        ).content.decode()
    report.refresh_from_db()
    assert report.state == ReportState.PENDING
    assert report.attempts == 0
    assert 'data-state="pending"' in again
    assert any(c.__qualname__.startswith("reports_retry") for c in callbacks)


def test_shops_page_lists_failures_with_a_fixed_number_of_queries(
    tenant, operator_client, rakuten, django_assert_max_num_queries
):
    shop = connected_shop(tenant, MallKind.RAKUTEN, rakuten)
    shop_create(tenant=tenant, name="ヤフオク", mall=MallKind.AUCTION, code="auction")
    for n in range(12):
        order = mall_order(tenant, shop, f"382915-20261201-{n:010d}")  # orders Rakuten does not know
        shipment_report_send(report_id=ship(tenant, order, number=f"7{n:011d}").pk)
    url = reverse("shops_reports")
    operator_client.get(url)
    with django_assert_max_num_queries(10):
        part = operator_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert part.startswith('<div id="mall-reports"')
    assert part.count('data-report="') == 12
    assert f'data-shop="{shop.pk}"' in part
    assert "存在しません" in part
    assert 'id="mall-reports-retry-all"' in part
    page = operator_client.get(reverse("shop_list")).content.decode()
    assert f'hx-get="{url}"' in page

    response = operator_client.post(reverse("shop_reports_retry", args=[shop.pk]))
    assert response.status_code == 302
    assert ShipmentReport.objects.for_tenant(tenant).filter(state=ReportState.PENDING).count() == 12


def test_a_shop_of_another_tenant_in_the_query_is_not_found(tenant, other_tenant, operator_client):
    shipped_after_tracking(other_tenant)
    foreign = shop_create(tenant=other_tenant, name="他社", mall=MallKind.CSV, code="other")
    assert operator_client.get(reverse("shops_reports") + f"?shop={foreign.pk}").status_code == 404


def test_a_pending_report_left_behind_is_sent_again_by_the_retry(
    tenant, operator_client, rakuten, django_capture_on_commit_callbacks
):
    """A task the broker lost (or a shop connected after its parcels): the row stays pending; after
    STALE_SENDING the shops page's "send again" picks it up, a fresh one it leaves to its task."""
    shop = connected_shop(tenant, MallKind.RAKUTEN, rakuten)
    left = ship(tenant, mall_order(tenant, shop, rakuten.add_order()))
    fresh = ship(tenant, mall_order(tenant, shop, rakuten.add_order()), number="223456789012")
    ShipmentReport.objects.filter(pk=left.pk).update(updated_at=timezone.now() - STALE_SENDING * 2)
    part = operator_client.get(reverse("shops_reports"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="mall-reports-retry-all"' in part  # waiting API reports: the button is there
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = reports_retry(tenant=tenant)
    assert sent == [left.pk]
    assert any(c.__qualname__.startswith("reports_retry") for c in callbacks)
    assert shipment_report_send(report_id=left.pk).state == ReportState.TOLD
    assert [u["orderNumber"] for u in rakuten.shipping_updates] == [left.mall_order]
    fresh.refresh_from_db()
    assert fresh.state == ReportState.PENDING


def test_beat_sends_again_the_reports_no_worker_carried_out(
    tenant, other_tenant, rakuten, django_capture_on_commit_callbacks
):
    """Without an operator: every few minutes the reports of API shops left pending or "sending" past
    STALE_SENDING go to the workers again, every tenant's; a fresh one and a refused one are left alone."""
    from shops.services.reports import reports_left_behind_send

    shop = connected_shop(tenant, MallKind.RAKUTEN, rakuten)
    left = ship(tenant, mall_order(tenant, shop, rakuten.add_order()))
    stuck = ship(tenant, mall_order(tenant, shop, rakuten.add_order()), number="323456789012")
    fresh = ship(tenant, mall_order(tenant, shop, rakuten.add_order()), number="223456789012")
    refused = ship(tenant, mall_order(tenant, shop, rakuten.add_order()), number="423456789012")
    theirs_shop = connected_shop(other_tenant, MallKind.RAKUTEN, rakuten)
    theirs = ship(other_tenant, mall_order(other_tenant, theirs_shop, rakuten.add_order()), number="523456789012")
    old = timezone.now() - STALE_SENDING * 2
    ShipmentReport.objects.filter(pk__in=[left.pk, theirs.pk]).update(updated_at=old)
    ShipmentReport.objects.filter(pk=stuck.pk).update(state=ReportState.SENDING, updated_at=old)
    ShipmentReport.objects.filter(pk=refused.pk).update(state=ReportState.REFUSED, updated_at=old)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reports_left_behind_send() == 3
    assert len(callbacks) == 1
    for report in (left, stuck, theirs):
        assert shipment_report_send(report_id=report.pk).state == ReportState.TOLD
    fresh.refresh_from_db()
    refused.refresh_from_db()
    assert (fresh.state, refused.state) == (ReportState.PENDING, ReportState.REFUSED)
