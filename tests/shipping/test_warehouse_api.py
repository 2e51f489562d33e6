"""Outside warehouses over their HTTP JSON API (issue 16 item 5): requests sent to the fake warehouse over real
HTTP, its answers polled — requested → accepted → shipped, which takes the tracking path (Shipment rows, the
status after tracking, events) — a refusal with the warehouse's reason, the same answers twice changing nothing,
a warehouse that cannot be reached, and the automatic request on entering a status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from devtools.fakewarehouse import FakeWarehouse
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import OrderEvent
from orders.services.bulk import BulkChanges, orders_bulk_update
from shipping.models import (
    Shipment,
    ShipmentSource,
    WarehouseBatch,
    WarehouseRequest,
    WarehouseState,
    auto_request_cache_key,
)
from shipping.services.warehouse import WarehouseUnreachable, batch_send, store_poll, warehouse_request
from shipping.tasks import request_automatically
from tests.shipping.warehouse_helpers import TOKEN, api_store, shipped_after_tracking, status_of, store_order

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _auto_request_pairs_forgotten(db, tenant) -> Iterator[None]:
    """The tenant's automatic-request pairs are cached (no query per status move); a later test's tenant may get
    this one's id, so none is left behind."""
    yield
    cache.delete(auto_request_cache_key(tenant.pk))


@pytest.fixture
def fake(settings) -> Iterator[FakeWarehouse]:
    settings.WAREHOUSE_ALLOW_PRIVATE_URLS = True  # the fake listens on 127.0.0.1
    with FakeWarehouse(token=TOKEN, delay=3600) as warehouse:
        yield warehouse


def send_all(tenant, result) -> None:
    """What the task does after the commit: each batch sent."""
    for batch_id in result.batches:
        assert batch_send(tenant=tenant, batch_id=batch_id)


def test_requested_accepted_shipped_through_the_tracking_path(db, tenant, fake, django_capture_on_commit_callbacks):
    target = shipped_after_tracking(tenant)
    store = api_store(tenant, fake.url)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    orders = [store_order(tenant, store, external_id=f"WH-{n}", status=ready) for n in range(3)]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = warehouse_request(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
    assert (result.requested, len(result.batches), result.plan.refused) == (3, 1, [])
    assert len(callbacks) == 1  # the batch goes after the commit, through a task
    batch = WarehouseBatch.objects.get(pk=result.batches[0])
    assert batch.sent_at is None
    assert len(batch.payload["shipments"]) == 3
    send_all(tenant, result)
    batch.refresh_from_db()
    assert batch.sent_at is not None
    assert batch.payload == {}
    method, path, body = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/shipments")
    shipment = body["shipments"][0]
    assert shipment["order_number"] == "WH-0"
    assert shipment["destination"]["phone"] == "03-1234-5678"
    assert shipment["destination"]["prefecture"] == "東京都"
    assert shipment["items"] == [{"name": "煎茶 100g", "quantity": 2}]
    assert shipment["sender"]["name"] == "テスト商店"
    assert set(WarehouseRequest.objects.values_list("state", flat=True)) == {WarehouseState.REQUESTED}

    applied = store_poll(tenant=tenant, store_id=store.pk)
    assert (applied.changed, applied.problems) == (3, [])
    assert set(WarehouseRequest.objects.values_list("state", flat=True)) == {WarehouseState.ACCEPTED}
    assert all(r.remote_id.startswith("WH") for r in WarehouseRequest.objects.all())

    assert fake.book.ship_due(now=10**9) == 3
    applied = store_poll(tenant=tenant, store_id=store.pk)
    assert (applied.shipped, applied.problems) == (3, [])
    for made in orders:
        made.refresh_from_db()
        request = WarehouseRequest.objects.get(order=made)
        shipment = Shipment.objects.get(order=made)
        assert request.state == WarehouseState.SHIPPED
        assert request.numbers == [shipment.tracking_number]
        assert len(shipment.tracking_number) == 12
        assert shipment.tracking_number.isdigit()
        assert int(shipment.tracking_number[:11]) % 7 == int(shipment.tracking_number[11])
        assert (shipment.carrier, shipment.source) == ("yamato", ShipmentSource.WAREHOUSE)
        assert made.status_id == target.pk
        types = list(OrderEvent.objects.filter(order=made).values_list("type", flat=True))
        assert types.count(EventType.WAREHOUSE_REQUESTED) == 1
        assert types.count(EventType.WAREHOUSE_ANSWERED) == 2  # accepted, shipped
        assert EventType.TRACKING_REGISTERED in types

    # The same answers again (the cursor set back, as after a crash before it was saved): nothing changes.
    events = OrderEvent.objects.count()
    type(store).objects.filter(pk=store.pk).update(api_cursor="")
    again = store_poll(tenant=tenant, store_id=store.pk)
    assert (again.changed, again.shipped, again.problems) == (0, 0, [])
    assert again.unchanged == 6
    assert OrderEvent.objects.count() == events
    assert Shipment.objects.count() == 3


def test_a_refusal_carries_the_warehouse_reason_and_the_order_can_be_requested_again(db, tenant, fake):
    store = api_store(tenant, fake.url)
    made = store_order(tenant, store)
    fake.refuse_next("在庫が不足しています")
    send_all(tenant, warehouse_request(tenant=tenant, order_ids=[made.pk], actor=ACTOR))
    store_poll(tenant=tenant, store_id=store.pk)
    request = WarehouseRequest.objects.get(order=made)
    assert (request.state, request.reason) == (WarehouseState.REFUSED, "在庫が不足しています")
    event = OrderEvent.objects.filter(order=made, type=EventType.WAREHOUSE_ANSWERED).get()
    assert event.data["warehouse"]["reason"] == "在庫が不足しています"

    again = warehouse_request(tenant=tenant, order_ids=[made.pk], actor=ACTOR)
    assert again.requested == 1
    assert WarehouseRequest.objects.filter(order=made).count() == 2


def test_the_fake_refuses_an_unknown_prefecture_with_its_reason(db, tenant, fake):
    store = api_store(tenant, fake.url)
    made = store_order(tenant, store, dest_prefecture="東京")
    send_all(tenant, warehouse_request(tenant=tenant, order_ids=[made.pk], actor=ACTOR))
    store_poll(tenant=tenant, store_id=store.pk)
    request = WarehouseRequest.objects.get(order=made)
    assert request.state == WarehouseState.REFUSED
    assert "都道府県「東京」が不明です" in request.reason


def test_an_unreachable_warehouse_keeps_the_batch_and_the_poll_sends_it_again(db, tenant, fake):
    store = api_store(tenant, fake.url)
    made = store_order(tenant, store)
    result = warehouse_request(tenant=tenant, order_ids=[made.pk], actor=ACTOR)
    fake.queue_server_error()
    with pytest.raises(WarehouseUnreachable, match="HTTP 500"):
        batch_send(tenant=tenant, batch_id=result.batches[0])
    batch = WarehouseBatch.objects.get()
    assert batch.sent_at is None
    assert batch.attempts == 1
    assert "HTTP 500" in batch.error
    assert batch.payload["shipments"]
    WarehouseBatch.objects.update(created_at=batch.created_at.replace(year=2020))
    store_poll(tenant=tenant, store_id=store.pk)
    batch.refresh_from_db()
    assert batch.sent_at is not None
    assert WarehouseRequest.objects.get().state == WarehouseState.ACCEPTED


def test_a_wrong_token_is_named_on_the_store(db, tenant, fake):
    store = api_store(tenant, fake.url)
    store.set_api_token("wrong")
    store.save()
    applied = store_poll(tenant=tenant, store_id=store.pk)
    store.refresh_from_db()
    assert applied.problems == ["倉庫が API トークンを受け付けませんでした（HTTP 401）"]
    assert store.poll_problems == applied.problems


def test_orders_entering_the_named_status_are_requested_automatically(
    db, tenant, fake, django_capture_on_commit_callbacks
):
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    store = api_store(tenant, fake.url, auto_request_status=ready)
    good = store_order(tenant, store, external_id="AUTO-1")
    no_phone = store_order(tenant, store, external_id="AUTO-2", dest_phone="")
    elsewhere = store_order(tenant, None, external_id="AUTO-3")
    ids = [good.pk, no_phone.pk, elsewhere.pk]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        orders_bulk_update(tenant=tenant, order_ids=ids, changes=BulkChanges(status=ready), actor=ACTOR,
                           confirm_skips=True)  # fmt: skip
    assert not WarehouseRequest.objects.exists()  # nothing before the commit
    assert callbacks
    outcome = request_automatically.run(tenant.pk, store.pk, ids)  # what the task does after the commit
    assert outcome == {"requested": 1, "refused": 1}
    assert WarehouseRequest.objects.get(order=good).state == WarehouseState.REQUESTED
    refused = WarehouseRequest.objects.get(order=no_phone)
    assert refused.state == WarehouseState.REFUSED
    assert refused.reason == "自動では依頼できませんでした：お届け先電話番号がありません"
    assert not WarehouseRequest.objects.filter(order=elsewhere).exists()
    # Entering the status again requests nothing twice.
    assert request_automatically.run(tenant.pk, store.pk, ids) == {"requested": 0, "refused": 0}
    assert WarehouseRequest.objects.count() == 2


def test_the_automatic_request_hook_asks_the_database_once_until_a_store_changes(db, tenant, fake):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shipping.services.warehouse import auto_request_pairs

    ready = status_of(tenant, Stage.READY_TO_SHIP)
    store = api_store(tenant, fake.url)
    with CaptureQueriesContext(connection) as first:
        assert auto_request_pairs(tenant.pk) == []
    with CaptureQueriesContext(connection) as second:
        assert auto_request_pairs(tenant.pk) == []
    assert (len(first), len(second)) == (1, 0)
    store.auto_request_status = ready
    store.save()  # drops the cached pairs
    assert auto_request_pairs(tenant.pk) == [(store.pk, ready.pk)]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "http://127.0.0.1:9/",
            "倉庫のホスト 127.0.0.1 はインターネット上にありません（プライベートまたはローカルのアドレス）",
        ),
        (
            "http://10.1.2.3/",
            "倉庫のホスト 10.1.2.3 はインターネット上にありません（プライベートまたはローカルのアドレス）",
        ),
        ("ftp://example.com/", "倉庫の API アドレス ftp://example.com/ は http(s) のアドレスではありません"),
    ],
)
def test_an_address_inside_our_network_is_refused(db, tenant, settings, url, problem):
    settings.WAREHOUSE_ALLOW_PRIVATE_URLS = False
    store = api_store(tenant, url)
    made = store_order(tenant, store)
    result = warehouse_request(tenant=tenant, order_ids=[made.pk], actor=ACTOR)
    with pytest.raises(WarehouseUnreachable) as refused:
        batch_send(tenant=tenant, batch_id=result.batches[0])
    assert str(refused.value) == problem
    assert store_poll(tenant=tenant, store_id=store.pk).problems == [problem]
