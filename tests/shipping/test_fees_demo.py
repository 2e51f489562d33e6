"""The demo's fee tables after demo_seed (make run): Yamato and Japan Post tables on the delivery methods, the
free-shipping shop, and the demo's own orders quoted from them."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.demo import SHOP_SPECS, demo_seed
from orders.models import Order
from shipping.models import DeliveryMethod, FeeTable, ShippingSettings
from shipping.services.fees import fee_quotes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_seeded_demo_quotes_its_orders_from_yamato_and_japan_post_tables():
    tenant = demo_seed(count=40).tenant
    tables = {t.name: t for t in FeeTable.objects.for_tenant(tenant)}
    assert len(tables) == 8
    assert [s.code for s in tables["宅急便（ヤマト運輸）"].free_shops.all()] == [SHOP_SPECS[0].code]
    methods = {m.name: m for m in DeliveryMethod.objects.for_tenant(tenant)}
    assert methods["ネコポス"].fee_table == tables["ネコポス（ヤマト運輸）"]
    assert methods["ゆうパック"].cod_allowed
    assert not methods["クリックポスト"].cod_allowed
    ids = list(Order.objects.for_tenant(tenant).exclude(delivery_method=None).values_list("pk", flat=True))
    quotes = fee_quotes(tenant, ids)
    assert quotes
    assert sum(1 for q in quotes.values() if q.ok) >= len(quotes) // 2
    demo_seed(count=0)  # idempotent: nothing doubled
    assert FeeTable.objects.for_tenant(tenant).count() == 8


def test_the_demo_moves_exported_orders_to_waybill_issued_and_tracked_ones_to_shipped():
    tenant = demo_seed(count=0).tenant
    settings_row = ShippingSettings.objects.get(tenant=tenant)

    assert (settings_row.status_after_export.name, settings_row.status_after_tracking.name) == (
        "送り状発行済",
        "出荷済",
    )
    settings_row.status_after_export = None
    settings_row.save()
    demo_seed(count=0)  # a second seed keeps what the tenant changed
    assert ShippingSettings.objects.get(tenant=tenant).status_after_export is None
