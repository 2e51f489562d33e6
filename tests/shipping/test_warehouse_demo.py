"""What `make run` shows of outside warehouses: the Procfile starts the fake warehouse, and the demo's second
shipping store is connected to it, so an order of that store requested from the list is answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command

from devtools.demo import DEMO_WAREHOUSE_CODE
from devtools.fakewarehouse import DEMO_WAREHOUSE_TOKEN, FakeWarehouse
from orders.events import Actor
from orders.models import Order
from shipping.models import ShippingStore, StoreKind, WarehouseRequest
from shipping.services.warehouse import batch_send, store_poll, warehouse_request

ROOT = Path(__file__).resolve().parents[2]


def test_the_procfile_starts_the_demo_warehouse() -> None:
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    assert "devtools.fakewarehouse --port ${BACKYARD_DEMO_WAREHOUSE_PORT:-8802}" in procfile["demowarehouse"]


def test_the_demo_warehouse_store_is_connected_to_the_fake(db: Any, monkeypatch: Any, settings: Any) -> None:
    settings.WAREHOUSE_ALLOW_PRIVATE_URLS = True  # as `make run` sets it: the demo warehouse is on 127.0.0.1
    with FakeWarehouse(token=DEMO_WAREHOUSE_TOKEN, delay=3600) as fake:
        monkeypatch.setenv("BACKYARD_DEMO_WAREHOUSE_PORT", fake.url.rsplit(":", 1)[1])
        call_command("seed_demo", orders=20, verbosity=0)
        call_command("seed_demo", orders=0, verbosity=0)  # seeding again keeps one store
        store = ShippingStore.objects.get(tenant__slug="demo", code=DEMO_WAREHOUSE_CODE)
        assert (store.kind, store.api_base_url, store.api_token) == (StoreKind.API, fake.url, DEMO_WAREHOUSE_TOKEN)
        assert ShippingStore.objects.filter(tenant__slug="demo").count() == 2
        tenant = store.tenant
        order = Order.objects.for_tenant(tenant).filter(stage__in=["new", "paid", "ready_to_ship"]).first()
        Order.objects.filter(pk=order.pk).update(shipping_store=store)
        result = warehouse_request(tenant=tenant, order_ids=[order.pk], actor=Actor.system("test"))
        assert result.requested == 1, result.plan.refused
        assert batch_send(tenant=tenant, batch_id=result.batches[0])
        store_poll(tenant=tenant, store_id=store.pk)
        assert WarehouseRequest.objects.get(order=order).state == "accepted"
