"""What the shipment-report tests share (B12): a shop connected to a fake mall, an order of it, and parcels
recorded through shipping's own path (so the hook runs as in production)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from backyard.models import Tenant
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, Status
from shipping.models import Carrier, ShippingSettings
from shipping.services.tracking import shipment_add
from shops.models import ShipmentReport, Shop
from shops.services import shop_create
from tests.factories import make_order

YAMATO = "123456789012"
SAGAWA = "400012345678"


def shipped_after_tracking(tenant: Tenant) -> None:
    """The tenant moves an order to its first shipped status when a tracking number is recorded."""
    status = Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).first()
    ShippingSettings.objects.update_or_create(tenant=tenant, defaults={"status_after_tracking": status})


def connected_shop(tenant: Tenant, mall: str, fake: Any, *, code: str = "", credentials: bool = True) -> Shop:
    """A shop of `mall` whose API is the fake's (credentials as the fake's admin would enter them); the tenant
    moves orders to shipped with their tracking numbers."""
    shipped_after_tracking(tenant)
    existing = Shop.objects.for_tenant(tenant).filter(code=code or f"{mall}-test").first()
    if existing is not None:
        return existing
    return shop_create(
        tenant=tenant,
        name=f"{mall} テスト店",
        mall=mall,
        code=code or f"{mall}-test",
        credentials=fake.credentials if credentials else None,
        base_url=fake.url if fake is not None else "",
    )


def mall_order(tenant: Tenant, shop: Shop, external_id: str, **fields: Any) -> Order:
    """An order of the shop, ready to ship (so that its tracking number moves it to shipped)."""
    fields.setdefault("status", Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first())
    return make_order(tenant, shop=shop, external_id=external_id, **fields)


def ship(
    tenant: Tenant,
    order: Order,
    number: str = YAMATO,
    carrier: str = Carrier.YAMATO,
    shipped_on: dt.date | None = None,
) -> ShipmentReport:
    """Record a parcel as the order page does; the report row the hook made (or refreshed) for it."""
    shipment_add(
        tenant=tenant,
        order=order,
        carrier=carrier,
        number=number,
        shipped_on=shipped_on or timezone.localdate(),
        actor=Actor.system("test"),
    )
    return ShipmentReport.objects.for_tenant(tenant).get(order=order)
