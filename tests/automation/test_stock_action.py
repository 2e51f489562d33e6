"""The rule action "stock check" (T12): after a real import (shops' import_page: the import, then
auto-processing of the page), a rule over the new orders allocates their stock oldest first, moves each to the
status of its outcome by the rule, and raises the 欠品 / SKU不明 tasks naming what is missing; a later run
over the waiting orders moves them on and resolves the tasks. Validated, offered in the rule builder, and
predicted by the dry run without allocating anything."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from automation.actions import clean_actions, validate_actions
from automation.defaults import BuiltinTask
from automation.models import OrderTask, Rule
from automation.services import dry_run, process
from automation.widgets import actions_schema
from backyard.models import Tenant
from inventory.models import Allocation, MoveKind, Product, StockMove
from orders.constants import ActorKind, EventType, Stage
from orders.models import Order, OrderEvent, PaymentMethod, Status
from shops.connectors.base import ImportedLine, ImportedOrder
from shops.constants import MallKind
from shops.models import ImportRun, MallCodeMapping, MappingKind, RunStatus, Shop
from shops.services import import_page
from tests.automation.engine_helpers import group, rule, status_of
from tests.factories import ShopFactory, make_order
from tests.shops.test_import import imported as shop_order

pytestmark = pytest.mark.django_db

TEA = ImportedLine(sku="TEA-001", name="有機緑茶 100g", unit_price=1080, quantity=2, tax_rate=8)
CUP = ImportedLine(sku="CUP-010", name="有田焼 湯呑み", unit_price=2750, quantity=1, tax_rate=10)
ODD = ImportedLine(sku="MYSTERY-9", name="謎の品", unit_price=500, quantity=1, tax_rate=10)


def imported(number: int, lines: tuple[ImportedLine, ...]) -> ImportedOrder:
    """tests.shops.test_import's mall order (a Tokyo customer paying by card) with these lines."""
    return shop_order(number, lines=lines)


@pytest.fixture
def shop(tenant: Tenant) -> Shop:
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY, name="テスト本店", code="main-store")
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    MallCodeMapping.objects.create(
        tenant=tenant, mall=MallKind.SHOPIFY, kind=MappingKind.PAYMENT, mall_code="card", payment_method=card
    )
    return shop


@pytest.fixture
def checking(tenant: Tenant) -> Rule:
    """TEA-001 ×3 and CUP-010 ×1 on the shelf; a rule, before the tenant's default ones, that stock-checks the
    orders that have just come in."""
    Product.objects.create(tenant=tenant, sku="TEA-001", name="有機緑茶 100g", on_hand=3)
    Product.objects.create(tenant=tenant, sku="CUP-010", name="有田焼 湯呑み", on_hand=1)
    return rule(
        group(tenant, "在庫", 0), "新着の在庫確認", 1, [status_of(tenant, Stage.NEW)], [{"type": "stock_check"}]
    )


def run_import(shop: Shop, batch: list[ImportedOrder]) -> Any:
    run = ImportRun.objects.create(tenant_id=shop.tenant_id, shop=shop, status=RunStatus.RUNNING)
    return import_page(shop=shop, batch=batch, run=run)


def by_number(shop: Shop, number: int) -> Order:
    return Order.objects.select_related("status").get(shop=shop, external_id=f"M-{number:05d}")


def open_notes(tenant: Tenant, code: str) -> dict[str, str]:
    rows = OrderTask.objects.for_tenant(tenant).filter(definition__code=code, resolved_at=None)
    return dict(rows.values_list("order__external_id", "note"))


def test_imported_orders_are_stock_checked_by_the_rule_and_the_short_ones_named(tenant, shop, checking):
    outcome, problem = run_import(shop, [imported(1, (TEA, CUP)), imported(2, (TEA, CUP)), imported(3, (ODD,))])

    assert problem == ""
    assert len(outcome.new_ids) == 3
    assert [by_number(shop, n).status.name for n in (1, 2, 3)] == ["在庫引当済", "一部引当", "入荷待ち"]
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {"M-00002": "欠品: TEA-001 ×1, CUP-010 ×1"}
    assert open_notes(tenant, BuiltinTask.UNKNOWN_SKU) == {"M-00003": "SKU不明: MYSTERY-9"}
    assert list(Product.objects.order_by("sku").values_list("sku", "on_hand", "allocated")) == [
        ("CUP-010", 1, 1),
        ("TEA-001", 3, 3),
    ]
    moved = OrderEvent.objects.get(order=by_number(shop, 1), type=EventType.STATUS_CHANGED)
    assert (moved.actor_kind, moved.actor_name, moved.data["rule"]) == (ActorKind.RULE, "新着の在庫確認", checking.pk)
    assert set(StockMove.objects.filter(kind=MoveKind.ALLOCATE).values_list("actor_name", flat=True)) == {
        "新着の在庫確認"
    }
    task = OrderTask.objects.get(order=by_number(shop, 2), definition__code=BuiltinTask.STOCK_SHORTAGE)
    assert task.raised_by == "新着の在庫確認"


def test_a_later_run_over_the_waiting_orders_moves_them_on_and_resolves_the_task(tenant, shop, checking):
    run_import(shop, [imported(1, (TEA, CUP)), imported(2, (TEA, CUP))])
    waiting = by_number(shop, 2)
    waiting_rule = rule(
        group(tenant, "入荷", 2),
        "入荷待ちの再確認",
        1,
        [Status.objects.get(tenant=tenant, name="一部引当"), Status.objects.get(tenant=tenant, name="入荷待ち")],
        [{"type": "stock_check"}],
    )
    Product.objects.filter(sku__in=["TEA-001", "CUP-010"]).update(on_hand=10)  # the goods arrived
    version = Order.objects.get(pk=waiting.pk).version

    result = process(tenant=tenant, order_ids=[waiting.pk], actor_name="テスト")

    assert by_number(shop, 2).status.name == "在庫引当済"
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {}
    shortage = next(t for t in result.tasks.values() if t.name == "欠品")
    assert shortage.resolved == 1
    outcome = next(r for r in result.rules if r.rule_id == waiting_rule.pk)
    assert (outcome.matched, outcome.changed) == (1, 1)
    assert Order.objects.get(pk=waiting.pk).version == version + 1  # one new version for the whole run
    assert Allocation.objects.filter(order=waiting).count() == 2

    again = process(tenant=tenant, order_ids=[waiting.pk], actor_name="テスト")  # nothing left to do
    assert again.changed == 0
    assert Product.objects.get(sku="TEA-001").allocated == 4


def test_a_run_counts_the_tasks_the_rule_raised(tenant, checking):
    short = make_order(
        tenant, lines=[{"sku": "CUP-010", "name": "湯呑み", "unit_price": 2750, "quantity": 3, "tax_rate": 10}]
    )
    result = process(tenant=tenant, order_ids=[short.pk])
    shortage = next(t for t in result.tasks.values() if t.name == "欠品")
    assert shortage.raised == 1
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {short.external_id: "欠品: CUP-010 ×2"}


def test_the_dry_run_predicts_the_moves_and_allocates_nothing(tenant, checking):
    order = make_order(
        tenant, lines=[{"sku": "TEA-001", "name": "緑茶", "unit_price": 1080, "quantity": 1, "tax_rate": 8}]
    )
    report = dry_run(tenant=tenant, order_ids=[order.pk], rule=checking)

    (changes,) = [o.changes for o in report.orders]
    assert any(change.new == "在庫確認済 / 在庫引当済" for change in changes), changes
    assert Order.objects.select_related("status").get(pk=order.pk).status.name == "新規受付"
    assert not Allocation.objects.exists()
    assert Product.objects.get(sku="TEA-001").allocated == 0
    assert not OrderTask.objects.filter(definition__code=BuiltinTask.STOCK_SHORTAGE).exists()


def _queries(tenant: Tenant, n: int) -> int:
    lines = [
        {"sku": "TEA-001", "name": "緑茶", "unit_price": 1080, "quantity": 1, "tax_rate": 8},
        {"sku": "CUP-010", "name": "湯呑み", "unit_price": 2750, "quantity": 1, "tax_rate": 10},
        {"sku": "MYSTERY-9", "name": "謎", "unit_price": 1, "quantity": 1, "tax_rate": 10},
    ]
    ids = [make_order(tenant, lines=lines).pk for _ in range(n)]
    with CaptureQueriesContext(connection) as captured:
        process(tenant=tenant, order_ids=ids)
    return len(captured)


def test_the_action_costs_the_same_queries_for_3_or_30_orders(tenant, checking):
    Product.objects.filter(sku="TEA-001").update(on_hand=1000)
    Product.objects.filter(sku="CUP-010").update(on_hand=1000)
    assert _queries(tenant, 3) == _queries(tenant, 30)


def test_the_action_takes_no_settings_and_the_builder_offers_it(tenant):
    assert clean_actions(tenant, [{"type": "stock_check"}]) == [{"type": "stock_check"}]
    with translation.override("ja"):
        (problem,) = validate_actions(tenant, [{"type": "stock_check", "status": 1}])
        schema = actions_schema(tenant)
    assert problem == "アクション 1（在庫確認）: 設定項目「status」はありません。"
    offered = next(t for t in schema["types"] if t["code"] == "stock_check")
    assert (offered["label"], offered["settings"]) == ("在庫確認", [])


def test_another_tenants_products_are_never_allocated_by_the_rule(tenant, other_tenant, checking):
    theirs = Product.objects.create(tenant=other_tenant, sku="RARE-1", name="他社の品", on_hand=5)
    order = make_order(
        tenant, lines=[{"sku": "RARE-1", "name": "他社の品", "unit_price": 1, "quantity": 1, "tax_rate": 10}]
    )
    process(tenant=tenant, order_ids=[order.pk])
    theirs.refresh_from_db()
    assert theirs.allocated == 0
    assert open_notes(tenant, BuiltinTask.UNKNOWN_SKU) == {order.external_id: "SKU不明: RARE-1"}
