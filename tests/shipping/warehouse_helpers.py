"""Outside warehouses for the warehouse-request tests (tests/shipping/test_warehouse_*.py): a store pointed at a
fake warehouse (devtools/fakewarehouse.py) over its API or its CSV drop, and orders of that store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backyard.models import Tenant
from orders.constants import Stage
from orders.models import Order, Status
from shipping.models import ShippingSettings, ShippingStore, StoreKind
from tests.shipping.waybill_helpers import order

TOKEN = "wh_test_token_0123456789"  # noqa: S105 - a fake's


def status_of(tenant: Tenant, stage: str) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("pk").first()


def shipped_after_tracking(tenant: Tenant) -> Status:
    """The tenant's status after tracking numbers: the first shipped status."""
    target = status_of(tenant, Stage.SHIPPED)
    ShippingSettings.objects.update_or_create(tenant=tenant, defaults={"status_after_tracking": target})
    return target


def api_store(tenant: Tenant, url: str, code: str = "3pl", **fields: Any) -> ShippingStore:
    store = ShippingStore(tenant=tenant, code=code, name=f"外部倉庫 {code}", kind=StoreKind.API, api_base_url=url,
                          position=5, **fields)  # fmt: skip
    store.set_api_token(fields.pop("token", TOKEN))
    store.save()
    return store


def csv_store(tenant: Tenant, root: Path, code: str = "drop", **fields: Any) -> ShippingStore:
    """A CSV-drop store whose folders lie under `root` (the test's WAREHOUSE_DROP_ROOT)."""
    return ShippingStore.objects.create(
        tenant=tenant, code=code, name=f"CSV倉庫 {code}", kind=StoreKind.CSV, csv_outbox=f"{code}/out",
        csv_inbox=f"{code}/in", position=6, **fields,
    )  # fmt: skip


def store_order(tenant: Tenant, store: ShippingStore, **fields: Any) -> Order:
    made = order(tenant, **fields)
    Order.objects.filter(pk=made.pk).update(shipping_store=store)
    made.refresh_from_db()
    return made
