"""Small fee tables written by hand for the fee tests (tests/shipping/test_fees*.py)."""

from __future__ import annotations

from typing import Any

from backyard.models import Tenant
from inventory.models import Product
from shipping.models import CodFeeBand, DeliveryMethod, FeeBasis, FeeTable, FeeZone, IslandPolicy

ZONES = {
    "関東": ("東京都 神奈川県 千葉県 埼玉県", {"60": 1000, "80": 1300, "100": 1600}),
    "関西": ("大阪府 京都府", {"60": 1200, "80": 1500, "100": 1800}),
    "九州": ("福岡県 熊本県", {"60": 1500, "80": 1800}),
    "離島県": ("新潟県 沖縄県", {"60": 1100, "80": 1400}),
}
BANDS = ((0, 10_000, 330), (10_001, 30_000, 440), (30_001, 100_000, 660), (100_001, 300_000, 1_100))


def size_table(tenant: Tenant, **fields: Any) -> FeeTable:
    table = FeeTable.objects.create(
        tenant=tenant, name=fields.pop("name", "宅急便テスト"), basis=FeeBasis.SIZE, **fields
    )
    for pos, (zone, (prefs, rates)) in enumerate(ZONES.items(), start=1):
        FeeZone.objects.create(table=table, name=zone, position=pos, prefectures=prefs.split(), rates=rates)
    for low, high, fee in BANDS:
        CodFeeBand.objects.create(table=table, min_amount=low, max_amount=high, fee=fee)
    return table


def weight_table(tenant: Tenant) -> FeeTable:
    table = FeeTable.objects.create(tenant=tenant, name="定形外テスト", basis=FeeBasis.WEIGHT)
    FeeZone.objects.create(
        table=table,
        name="全国",
        prefectures=["東京都", "大阪府", "新潟県"],
        rates={"100": 180, "250": 320, "500": 510, "1000": 750},
    )
    return table


def method(tenant: Tenant, name: str, table: FeeTable, **fields: Any) -> DeliveryMethod:
    defaults = {"carrier": "yamato", "service": "takkyubin", "default_size_class": "60", "cod_allowed": True}
    defaults.update(fields)
    found, _created = DeliveryMethod.objects.update_or_create(
        tenant=tenant, name=name, defaults={**defaults, "fee_table": table}
    )
    return found


def product(tenant: Tenant, sku: str, size: str = "", weight: int | None = None) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=sku, size_class=size, weight_g=weight)


def line(sku: str, price: int = 1000, quantity: int = 1, rate: int = 10) -> dict[str, Any]:
    return {"sku": sku, "name": sku, "unit_price": price, "quantity": quantity, "tax_rate": rate}


__all__ = ["IslandPolicy"]
