"""The screens of outside warehouses (issue 16 item 5): 出荷依頼 from the list's selection → the confirmation
naming each order that cannot go → the result; the order page's panel (state, reason, numbers, "request again"
after a refusal); the requests page by state and store; another tenant's store is a 404; the panel and the page
take the same number of queries whatever the number of requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.events import Actor
from shipping.models import WarehouseBatch, WarehouseRequest, WarehouseState
from shipping.services.warehouse import Answer, answers_apply, warehouse_request
from tests.shipping.warehouse_helpers import csv_store, store_order

ACTOR = Actor.system("test")


@pytest.fixture
def store(settings, tmp_path, tenant):
    settings.WAREHOUSE_DROP_ROOT = tmp_path
    return csv_store(tenant, tmp_path)


def refuse(tenant, store, request: WarehouseRequest, reason: str) -> None:
    answer = Answer(request_id=str(request.pk), state="refused", reason=reason, where="test")
    answers_apply(tenant=tenant, store=store, actor=ACTOR, answers=[answer])


@pytest.mark.django_db
def test_the_list_button_confirmation_and_result(operator_client, tenant, store, django_capture_on_commit_callbacks):
    good = [store_order(tenant, store, external_id=f"OK-{n}") for n in range(3)]
    no_phone = store_order(tenant, store, external_id="NG-PHONE", dest_phone="")
    no_store = store_order(tenant, None, external_id="NG-STORE")
    operator_client.get(reverse("home"))
    ids = [o.pk for o in [*good, no_phone, no_store]]
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": ids})
    assert 'id="warehouse-request"' in operator_client.get(reverse("home"), follow=True).content.decode()

    response = operator_client.post(reverse("warehouse_request"), {"next": "/"})
    assert response.status_code == 302
    confirm = response["Location"]
    page = operator_client.get(confirm).content.decode()
    assert "選択した 5 件のうち 3 件を依頼できます。" in page
    assert "依頼できない受注 2 件" in page
    assert "NG-PHONE" in page
    assert "お届け先電話番号がありません" in page
    assert "NG-STORE" in page
    assert "出荷店舗が設定されていません" in page
    assert not WarehouseRequest.objects.exists()  # the confirmation writes nothing

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = operator_client.post(confirm)
    assert response["Location"] == confirm
    assert len(callbacks) == 1  # the batch goes to a worker after the commit
    assert WarehouseRequest.objects.count() == 3
    result = operator_client.get(confirm).content.decode()
    assert 'data-requested="3"' in result
    assert "依頼しなかった受注 2 件" in result
    assert "NG-PHONE" in result
    operator_client.post(confirm)  # sent twice: nothing more
    assert WarehouseRequest.objects.count() == 3
    assert WarehouseBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_order_panel_shows_the_state_and_requests_again_after_a_refusal(operator_client, tenant, store):
    made = store_order(tenant, store)
    url = reverse("shipping_order_warehouse", args=[made.pk])
    panel = operator_client.get(url).content.decode()
    assert panel.startswith('<div id="order-warehouse"')
    assert "まだ倉庫へ依頼していません。" in panel
    assert 'id="order-warehouse-request"' in panel

    operator_client.post(url, HTTP_HX_REQUEST="true")
    request = WarehouseRequest.objects.get(order=made)
    panel = operator_client.get(url).content.decode()
    assert 'data-state="requested"' in panel
    assert 'id="order-warehouse-request"' not in panel

    refuse(tenant, store, request, "住所不備のため出荷できません")
    panel = operator_client.get(url).content.decode()
    assert 'data-state="refused"' in panel
    assert "住所不備のため出荷できません" in panel
    assert "もう一度依頼する" in panel
    panel = operator_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert panel.count("<li class") == 2
    assert WarehouseRequest.objects.filter(order=made, state=WarehouseState.REQUESTED).count() == 1


@pytest.mark.django_db
def test_the_panel_is_empty_for_an_order_of_the_own_warehouse(operator_client, tenant):
    made = store_order(tenant, None)
    panel = operator_client.get(reverse("shipping_order_warehouse", args=[made.pk])).content.decode()
    assert panel.strip() == '<div id="order-warehouse"></div>'


@pytest.mark.django_db
def test_the_requests_page_by_state_and_store(operator_client, tenant, other_tenant, store):
    orders = [store_order(tenant, store, external_id=f"RQ-{n}") for n in range(3)]
    warehouse_request(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
    refuse(tenant, store, WarehouseRequest.objects.get(order=orders[0]), "在庫不足")
    page = operator_client.get(reverse("warehouse_requests")).content.decode()
    assert all(o.external_id in page for o in orders)
    assert "在庫不足" in page
    refused = operator_client.get(reverse("warehouse_requests"), {"state": "refused"}).content.decode()
    assert "RQ-0" in refused
    assert "RQ-1" not in refused
    by_store = operator_client.get(reverse("warehouse_requests"), {"store": store.pk})
    assert by_store.status_code == 200
    foreign = csv_store(other_tenant, Path("/tmp"), code="foreign")
    assert operator_client.get(reverse("warehouse_requests"), {"store": foreign.pk}).status_code == 404
    assert operator_client.get(reverse("warehouse_requests"), {"store": "x"}).status_code == 404


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_requests(operator_client, tenant, store):
    def measure(n: int) -> tuple[int, int]:
        orders = [store_order(tenant, store) for _ in range(n)]
        warehouse_request(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
        for request in WarehouseRequest.objects.filter(order__in=orders)[: n // 2]:
            refuse(tenant, store, request, "在庫不足")
        operator_client.get(reverse("warehouse_requests"))  # warm the session and the caches
        with CaptureQueriesContext(connection) as page:
            operator_client.get(reverse("warehouse_requests"))
        target = orders[0]
        for _again in range(n // 2):  # several requests of one order on its panel
            WarehouseRequest.objects.filter(order=target).exclude(state="refused").update(state="refused")
            warehouse_request(tenant=tenant, order_ids=[target.pk], actor=ACTOR)
        with CaptureQueriesContext(connection) as panel:
            operator_client.get(reverse("shipping_order_warehouse", args=[target.pk]))
        return len(page), len(panel)

    small = measure(2)
    large = measure(20)
    assert small == large, (small, large)
    print(f"requests page: {small[0]} queries; order panel: {small[1]} queries")  # noqa: T201
