"""Orders, senders and methods for the waybill and tracking tests (tests/shipping/test_waybills*.py,
test_tracking*.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

from backyard.models import Tenant
from documents.models import DocumentSettings
from orders.models import Order, PaymentMethod
from shipping.models import Carrier, DeliveryMethod
from shops.models import Shop
from tests.factories import make_order

SENDER = {
    "issuer_name": "テスト商店",
    "issuer_postal_code": "150-0001",
    "issuer_address": "東京都渋谷区神宮前1-2-3",
    "issuer_phone": "03-9999-0000",
}


def sender_for(tenant: Tenant) -> None:
    """Every shop of the tenant gets the same sender (documents' settings)."""
    for shop in Shop.objects.for_tenant(tenant):
        DocumentSettings.objects.update_or_create(tenant=tenant, shop=shop, defaults=SENDER)


def method(tenant: Tenant, name: str = "宅急便", carrier: str = Carrier.YAMATO, **fields: Any) -> DeliveryMethod:
    fields.setdefault("cod_allowed", True)
    return DeliveryMethod.objects.update_or_create(tenant=tenant, name=name, defaults={"carrier": carrier, **fields})[0]


def cod(tenant: Tenant) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code="cod")


def order(tenant: Tenant, **fields: Any) -> Order:
    fields.setdefault("delivery_method", method(tenant))
    lines = fields.pop("lines", [{"sku": "TEA-1", "name": "煎茶 100g", "unit_price": 1200, "quantity": 2}])
    made = make_order(tenant, lines=lines, **fields)
    sender_for(tenant)
    return made


def read_cp932(data: bytes) -> list[list[str]]:
    """The file as the carrier's software reads it: cp932, CRLF line ends, csv."""
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
