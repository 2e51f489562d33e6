"""The import pipeline (shops.services.import_orders): new orders as order_create writes them, the same batch
twice changing nothing, the three-way merge of mall-side changes against operators' and rules' edits,
cancellations through the lifecycle, broken orders recorded while the rest import."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from automation.defaults import BuiltinTask
from automation.models import OrderTask, TaskDefinition
from automation.services import process
from orders.constants import ActorKind, EventType, Stage
from orders.events import Actor
from orders.models import Order, OrderEvent, OrderLine, PaymentMethod, Status
from orders.services import order_create, order_line_add, order_move_to_status, order_update
from shops.connectors.base import FailedOrder, ImportedLine, ImportedOrder
from shops.constants import MallKind
from shops.models import ImportFailure, ImportRun, MallCodeMapping, MallOrder, MappingKind, RunStatus, Shop
from shops.services import (
    import_orders,
    import_page,
    import_run_finish,
    import_run_start,
    mall_changed_definition,
    mall_state_erase,
)
from tests.automation.engine_helpers import status_of
from tests.factories import ShopFactory, make_member

JST = dt.timezone(dt.timedelta(hours=9))
ORDERED = dt.datetime(2026, 11, 20, 9, 30, tzinfo=JST)
LINES = (
    ImportedLine(sku="TEA-001", name="有機緑茶 100g", unit_price=1080, quantity=2, tax_rate=8),
    ImportedLine(sku="CUP-010", name="有田焼 湯呑み", unit_price=2750, quantity=1, tax_rate=10),
)


def imported(number: int, **changes: Any) -> ImportedOrder:
    """A mall order as a connector yields it: a Tokyo customer paying by card."""
    order = ImportedOrder(
        external_id=f"M-{number:05d}",
        ordered_at=ORDERED + dt.timedelta(minutes=number),
        mall_status="paid",
        payment_code="card",
        payment_name="クレジットカード",
        orderer_name="山田 太郎",
        orderer_kana="ヤマダ タロウ",
        orderer_email=f"taro{number}@example.jp",
        orderer_phone="03-1234-5678",
        orderer_postal_code="100-0005",
        orderer_prefecture="東京都",
        orderer_city="千代田区",
        orderer_address1="丸の内1-1-1",
        dest_name="山田 太郎",
        dest_kana="ヤマダ タロウ",
        dest_phone="03-1234-5678",
        dest_postal_code="100-0005",
        dest_prefecture="東京都",
        dest_city="千代田区",
        dest_address1="丸の内1-1-1",
        shipping_fee=600,
        remarks="",
        lines=LINES,
    )
    return dataclasses.replace(order, **changes)


@pytest.fixture
def shop(tenant):
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY, name="テスト本店", code="main-store")
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    MallCodeMapping.objects.create(
        tenant=tenant, mall=MallKind.SHOPIFY, kind=MappingKind.PAYMENT, mall_code="card", payment_method=card
    )
    return shop


def new_run(shop: Shop) -> ImportRun:
    return ImportRun.objects.create(tenant_id=shop.tenant_id, shop=shop, status=RunStatus.RUNNING)


def run_import(shop: Shop, batch: list[Any]) -> Any:
    return import_orders(shop, batch, run=new_run(shop))


def order_of(shop: Shop, number: int) -> Order:
    return Order.objects.select_related("status__group", "payment_method").get(shop=shop, external_id=f"M-{number:05d}")


def state(tenant) -> dict[str, Any]:
    """Everything an import could touch, to compare before and after."""
    return {
        "orders": list(Order.objects.for_tenant(tenant).order_by("pk").values()),
        "lines": list(OrderLine.objects.for_tenant(tenant).order_by("pk").values()),
        "events": OrderEvent.objects.for_tenant(tenant).count(),
        "tasks": list(OrderTask.objects.for_tenant(tenant).order_by("pk").values()),
        "mall": list(MallOrder.objects.for_tenant(tenant).order_by("pk").values()),
    }


def user_actor(tenant) -> Actor:
    return Actor.for_user(make_member(tenant))


# --- new orders -----------------------------------------------------------------------------------------


def test_new_orders_are_written_as_order_create_writes_them(tenant, shop):
    """The set-based path writes the same order, lines and "created" event as the one-by-one service."""
    outcome = run_import(shop, [imported(1)])

    order = order_of(shop, 1)
    assert outcome.new_ids == [order.pk]
    other_shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY)
    source = imported(1)
    reference = order_create(
        tenant=tenant,
        shop=other_shop,
        external_id=source.external_id,
        actor=Actor.importer(shop.name),
        source="import",
        fields={
            name: getattr(order, name)
            for name in (
                "ordered_at",
                "orderer_name",
                "orderer_kana",
                "orderer_email",
                "orderer_phone",
                "orderer_postal_code",
                "orderer_prefecture",
                "orderer_city",
                "orderer_address1",
                "dest_name",
                "dest_kana",
                "dest_phone",
                "dest_postal_code",
                "dest_prefecture",
                "dest_city",
                "dest_address1",
                "shipping_fee",
                "payment_method",
            )
        },
        lines=[dataclasses.asdict(line) for line in LINES],
    )
    ignore = {"id", "shop_id", "created_at", "updated_at"}

    def row(o: Order) -> dict[str, Any]:
        return {k: v for k, v in Order.objects.filter(pk=o.pk).values().get().items() if k not in ignore}

    assert row(order) == row(reference)
    assert order.payment_method.code == "credit_card"
    assert (order.item_subtotal, order.total) == (2 * 1080 + 2750, 2 * 1080 + 2750 + 600)
    line_fields = ("position", "sku", "name", "options", "unit_price", "quantity", "tax_rate")
    assert list(order.lines.values_list(*line_fields)) == list(reference.lines.values_list(*line_fields))
    event = OrderEvent.objects.get(order=order)
    model = OrderEvent.objects.get(order=reference)
    assert (event.type, event.actor_kind, event.actor_name, event.data) == (
        EventType.CREATED,
        ActorKind.IMPORT,
        "テスト本店",
        model.data,
    )
    assert order.status == status_of(tenant, Stage.NEW)


def test_the_same_batch_twice_changes_nothing(tenant, shop):
    batch = [imported(n) for n in range(1, 6)]
    first = run_import(shop, batch)
    before = state(tenant)

    second = run_import(shop, batch)

    assert len(first.new_ids) == 5
    assert (second.new_ids, second.updated_ids, sorted(second.unchanged_ids)) == ([], [], sorted(first.new_ids))
    assert state(tenant) == before  # no row, no event, no new version


def test_a_batch_costs_the_same_queries_for_10_or_50_new_orders(tenant, shop):
    run_import(shop, [imported(0)])  # warm: the tenant's first status, caches
    counts = []
    for start, n in ((100, 10), (200, 50)):
        with CaptureQueriesContext(connection) as queries:
            run_import(shop, [imported(start + i) for i in range(n)])
        counts.append(len(queries.captured_queries))
    if connection.vendor == "postgresql":
        assert counts[0] == counts[1]  # COPY: one statement per table whatever the number of rows
    else:
        assert counts[1] - counts[0] <= 4  # SQLite's INSERTs hold ~14 orders each (its parameter limit)
    assert Order.objects.filter(shop=shop).count() == 61


def test_the_same_order_twice_in_one_batch_is_one_order(tenant, shop):
    outcome = run_import(shop, [imported(1, dest_city="港区"), imported(1, dest_city="中央区")])

    assert len(outcome.new_ids) == 1
    assert order_of(shop, 1).dest_city == "中央区"  # the later copy is the newer one


def test_orders_of_another_tenant_with_the_same_numbers_are_untouched(tenant, other_tenant, shop):
    theirs = ShopFactory(tenant=other_tenant, mall=MallKind.SHOPIFY, code="main-store")
    run_import(theirs, [imported(1)])
    before = state(other_tenant)

    outcome = run_import(shop, [imported(1, dest_city="港区")])

    assert len(outcome.new_ids) == 1
    assert state(other_tenant) == before
    assert order_of(shop, 1).dest_city == "港区"


# --- changes from the mall ----------------------------------------------------------------------------------


def test_a_mall_side_change_updates_the_order_with_old_and_new(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)

    outcome = run_import(shop, [imported(1, dest_address1="丸の内2-2-2", dest_phone="03-9999-0000")])

    changed = order_of(shop, 1)
    assert outcome.updated_ids == [order.pk]
    assert (changed.dest_address1, changed.dest_phone, changed.version) == (
        "丸の内2-2-2",
        "03-9999-0000",
        order.version + 1,
    )
    events = {e.data["field"]: e for e in OrderEvent.objects.filter(order=order, type=EventType.FIELD_CHANGED)}
    assert set(events) == {"dest_address1", "dest_phone"}
    assert (events["dest_address1"].data["old"], events["dest_address1"].data["new"]) == ("丸の内1-1-1", "丸の内2-2-2")
    assert {(e.actor_kind, e.actor_name) for e in events.values()} == {(ActorKind.IMPORT, "テスト本店")}
    assert "0399990000" not in order.search_text  # the phone is searchable: the column follows
    assert "0399990000" in changed.search_text


def test_a_fee_change_at_the_mall_recomputes_the_totals(tenant, shop):
    run_import(shop, [imported(1)])

    run_import(shop, [imported(1, shipping_fee=1200)])

    order = order_of(shop, 1)
    assert (order.shipping_fee, order.total) == (1200, 2 * 1080 + 2750 + 1200)


def test_an_operator_edit_is_kept_and_the_task_raised(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    order_update(order=order, changes={"dest_address1": "丸の内1-1-1 3階"}, actor=user_actor(tenant))

    outcome = run_import(shop, [imported(1, dest_address1="大手町1-1-1", dest_phone="03-9999-0000")])

    kept = order_of(shop, 1)
    assert kept.dest_address1 == "丸の内1-1-1 3階"  # the operator's value
    assert kept.dest_phone == "03-9999-0000"  # what nobody here changed follows the mall
    assert outcome.kept == 1
    assert outcome.updated_ids == [order.pk]
    task = OrderTask.objects.get(order=order, resolved_at=None)
    assert task.definition.code == BuiltinTask.MALL_CHANGED_EDITED
    assert "大手町1-1-1" in task.note
    assert "丸の内1-1-1 3階" in task.note
    assert OrderEvent.objects.filter(order=order, type=EventType.TASK_RAISED).count() == 1
    run = ImportRun.objects.filter(shop=shop).latest("pk")
    assert any("大手町1-1-1" in note for note in run.notes)


def test_an_operator_edit_of_a_field_the_mall_did_not_change_raises_nothing(tenant, shop):
    """The three-way merge: the mall re-sends the order for another reason; the edit is not a conflict."""
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    order_update(order=order, changes={"dest_address1": "丸の内1-1-1 3階"}, actor=user_actor(tenant))

    run_import(shop, [imported(1, remarks="置き配希望")])

    kept = order_of(shop, 1)
    assert (kept.dest_address1, kept.remarks) == ("丸の内1-1-1 3階", "置き配希望")
    assert not OrderTask.objects.filter(order=order).exists()


def test_a_rule_set_value_gives_way_to_the_mall_and_never_churns(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    order_update(order=order, changes={"shipping_fee": 1980}, actor=Actor.rule("離島送料", rule_id=None))

    unchanged = run_import(shop, [imported(1, mall_status="shipping")])  # re-sent, fee unchanged at the mall
    assert order_of(shop, 1).shipping_fee == 1980
    assert not unchanged.updated_ids

    changed = run_import(shop, [imported(1, mall_status="shipping", shipping_fee=800)])
    assert order_of(shop, 1).shipping_fee == 800
    assert changed.updated_ids == [order.pk]
    assert not OrderTask.objects.filter(order=order, definition__code=BuiltinTask.MALL_CHANGED_EDITED).exists()


def test_changed_lines_are_replaced_with_events_and_a_rules_freebie_stays(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    order_line_add(
        order=order,
        values={"sku": "NOVELTY", "name": "ノベルティ", "unit_price": 0, "quantity": 1},
        actor=Actor.rule("ノベルティ"),
    )
    more_tea = ImportedLine(sku="TEA-001", name="有機緑茶 100g", unit_price=1080, quantity=5, tax_rate=8)

    outcome = run_import(shop, [imported(1, lines=(more_tea, LINES[1]))])

    changed = order_of(shop, 1)
    assert outcome.updated_ids == [order.pk]
    assert sorted(changed.lines.values_list("sku", "quantity")) == [("CUP-010", 1), ("NOVELTY", 1), ("TEA-001", 5)]
    assert (changed.item_subtotal, changed.total) == (5 * 1080 + 2750, 5 * 1080 + 2750 + 600)
    line_events = OrderEvent.objects.filter(
        order=order, actor_kind=ActorKind.IMPORT, type__in=[EventType.LINE_REMOVED, EventType.LINE_ADDED]
    )
    assert sorted((e.type, e.data["line"]["quantity"]) for e in line_events) == [
        (EventType.LINE_ADDED, 5),
        (EventType.LINE_REMOVED, 2),
    ]


def test_lines_an_operator_edited_are_kept_when_the_mall_changes_them(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    from orders.services import order_line_update

    order_line_update(line=order.lines.get(sku="TEA-001"), changes={"quantity": 3}, actor=user_actor(tenant))
    fewer = ImportedLine(sku="TEA-001", name="有機緑茶 100g", unit_price=1080, quantity=1, tax_rate=8)

    run_import(shop, [imported(1, lines=(fewer, LINES[1]))])

    assert order_of(shop, 1).lines.get(sku="TEA-001").quantity == 3
    assert OrderTask.objects.filter(
        order=order, resolved_at=None, definition__code=BuiltinTask.MALL_CHANGED_EDITED
    ).exists()


def test_an_order_entered_before_the_import_knew_it_follows_the_operator_rule(tenant, shop):
    """No MallOrder yet (typed in by hand for this shop): differences apply unless an operator made them."""
    actor = user_actor(tenant)
    typed = order_create(
        tenant=tenant,
        shop=shop,
        external_id="M-00001",
        actor=actor,
        fields={"dest_name": "山田 太郎", "dest_city": "千代田区", "ordered_at": ORDERED},
        lines=[dataclasses.asdict(line) for line in LINES],
    )
    order_update(order=typed, changes={"dest_city": "千代田区 (確認済)"}, actor=actor)

    outcome = run_import(shop, [imported(1)])

    order = order_of(shop, 1)
    assert outcome.updated_ids == [typed.pk]
    assert order.dest_city == "千代田区 (確認済)"
    assert order.dest_address1 == "丸の内1-1-1"
    assert MallOrder.objects.filter(order=order).exists()
    assert run_import(shop, [imported(1)]).unchanged_ids == [typed.pk]


def test_a_mapping_added_later_fills_the_payment_method_on_the_next_change(tenant, shop):
    run = new_run(shop)
    import_orders(shop, [imported(1, payment_code="konbini", payment_name="コンビニ決済")], run=run)
    assert order_of(shop, 1).payment_method is None
    run.refresh_from_db()
    assert any("konbini" in note for note in run.notes)
    assert run.failed == 0

    MallCodeMapping.objects.create(
        tenant=tenant,
        mall=MallKind.SHOPIFY,
        kind=MappingKind.PAYMENT,
        mall_code="konbini",
        payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="convenience_store"),
    )
    run_import(shop, [imported(1, payment_code="konbini", payment_name="コンビニ決済")])

    assert order_of(shop, 1).payment_method.code == "convenience_store"


# --- cancellations ----------------------------------------------------------------------------------------------


def test_a_cancellation_at_the_mall_cancels_the_order(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)

    outcome = run_import(shop, [imported(1, mall_status="cancelled", cancelled=True)])

    cancelled = order_of(shop, 1)
    assert outcome.updated_ids == [order.pk]
    assert cancelled.stage == Stage.CANCELLED
    assert cancelled.status == status_of(tenant, Stage.CANCELLED)
    assert "テスト本店" in cancelled.cancel_reason
    moved = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert (moved.actor_kind, moved.data["new"]["stage"]) == (ActorKind.IMPORT, Stage.CANCELLED)
    before = state(tenant)
    run_import(shop, [imported(1, mall_status="cancelled", cancelled=True)])
    assert state(tenant) == before


def test_a_new_order_cancelled_already_arrives_cancelled(tenant, shop):
    outcome = run_import(shop, [imported(1, cancelled=True)])

    assert order_of(shop, 1).stage == Stage.CANCELLED
    assert outcome.new_ids == [order_of(shop, 1).pk]


def test_a_cancellation_for_a_tenant_without_a_cancelled_status_imports_and_raises_the_task(tenant, shop):
    Status.objects.for_tenant(tenant).filter(group__stage=Stage.CANCELLED).delete()

    with translation.override("ja"):
        outcome = run_import(shop, [imported(1, cancelled=True)])

    order = order_of(shop, 1)
    assert (outcome.new_ids, order.stage) == ([order.pk], Stage.NEW)
    task = OrderTask.objects.get(order=order, definition__code=BuiltinTask.MALL_CHANGED_EDITED)
    assert "「キャンセル」段階のステータスがありません" in task.note


def test_a_shipped_order_cancelled_at_the_mall_is_refused_and_raises_the_task(tenant, shop):
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    order_move_to_status(order=order, status=status_of(tenant, Stage.READY_TO_SHIP), actor=user_actor(tenant))
    order_move_to_status(order=order, status=status_of(tenant, Stage.SHIPPED), actor=user_actor(tenant))

    run_import(shop, [imported(1, cancelled=True)])

    assert order_of(shop, 1).stage == Stage.SHIPPED
    refused = OrderEvent.objects.get(order=order, type=EventType.STATUS_REFUSED)
    assert refused.actor_kind == ActorKind.IMPORT
    assert refused.data["target"]["stage"] == Stage.CANCELLED
    task = OrderTask.objects.get(order=order, resolved_at=None)
    assert task.definition.code == BuiltinTask.MALL_CHANGED_EDITED


def test_a_mapped_mall_status_means_cancelled(tenant, shop):
    MallCodeMapping.objects.create(
        tenant=tenant, mall=MallKind.SHOPIFY, kind=MappingKind.STATUS, mall_code="refunded", cancels=True
    )
    run_import(shop, [imported(1)])

    run_import(shop, [imported(1, mall_status="refunded")])

    assert order_of(shop, 1).stage == Stage.CANCELLED


# --- what cannot be imported ----------------------------------------------------------------------------------


def test_a_failed_order_is_recorded_while_the_rest_import(tenant, shop):
    run = new_run(shop)
    broken = FailedOrder(external_id="M-00099", reason="quantity is not a number", payload='{"qty": "two"}')
    too_long = imported(3, dest_address1="長" * 201)
    negative = imported(4, lines=(ImportedLine(sku="X", name="X", unit_price=100, quantity=-1),))

    outcome = import_orders(shop, [imported(1), broken, too_long, imported(2), negative], run=run)

    assert len(outcome.new_ids) == 2
    assert sorted(number for number, _reason in outcome.failed) == ["M-00003", "M-00004", "M-00099"]
    failures = {f.external_id: f for f in ImportFailure.objects.filter(run=run)}
    assert failures["M-00099"].payload == '{"qty": "two"}'
    assert "200" in failures["M-00003"].reason
    assert "長" * 201 in failures["M-00003"].payload  # the whole order as received, not truncated
    assert "-1" in failures["M-00004"].reason
    run.refresh_from_db()
    assert (run.new, run.failed) == (2, 3)
    assert not Order.objects.filter(external_id__in=["M-00003", "M-00004", "M-00099"]).exists()


def test_amounts_quantities_and_totals_beyond_the_bounds_fail_only_their_order(tenant, shop):
    """Issue 11.1: an amount that fits no column (a shipping fee of 1e30, a 23-digit price) or whose sum
    would not is a named failure in Japanese with the bound; the orders around it import."""
    run = new_run(shop)
    huge_fee = imported(2, shipping_fee=10**30)
    huge_price = imported(3, lines=(ImportedLine(sku="X", name="X", unit_price=12345678901234567890123, quantity=1),))
    huge_quantity = imported(4, lines=(ImportedLine(sku="X", name="X", unit_price=1, quantity=10**12),))
    huge_line = imported(5, lines=(ImportedLine(sku="X", name="X", unit_price=999_999_999, quantity=999_999),))
    huge_total = imported(6, shipping_fee=999_999_999_999, cod_fee=999_999_999_999)
    at_the_bound = imported(
        7, lines=(ImportedLine(sku="X", name="X", unit_price=999_999_999_999, quantity=1),), shipping_fee=0
    )

    with translation.override("ja"):
        outcome = import_orders(
            shop,
            [imported(1), huge_fee, huge_price, huge_quantity, huge_line, huge_total, at_the_bound, imported(8)],
            run=run,
        )

    assert sorted(Order.objects.filter(shop=shop).values_list("external_id", flat=True)) == [
        "M-00001",
        "M-00007",
        "M-00008",
    ]
    assert order_of(shop, 7).total == 999_999_999_999
    reasons = dict(ImportFailure.objects.filter(run=run).values_list("external_id", "reason"))
    assert reasons == {
        "M-00002": "「送料」の金額が大きすぎます（上限 ¥999,999,999,999）。",
        "M-00003": "「明細 1: 単価」の金額が大きすぎます（上限 ¥999,999,999,999）。",
        "M-00004": "「明細 1: 数量」の数量が大きすぎます（上限 999,999）。",
        "M-00005": "明細 1: 単価 × 数量の金額が大きすぎます（上限 ¥999,999,999,999）。",
        "M-00006": "「合計金額」の金額が大きすぎます（上限 ¥999,999,999,999）。",
    }
    assert len(outcome.failed) == 5
    run.refresh_from_db()
    assert (run.new, run.failed) == (3, 5)


def test_text_no_database_can_store_and_times_out_of_range_fail_only_their_order(tenant, shop):
    run = new_run(shop)
    surrogate = imported(2, dest_name="山田\ud800")
    year_one = imported(3, ordered_at=dt.datetime(1, 1, 1, tzinfo=JST))

    import_orders(shop, [imported(1), surrogate, year_one, imported(4)], run=run)

    assert Order.objects.filter(shop=shop).count() == 2
    failures = {f.external_id: f for f in ImportFailure.objects.filter(run=run)}
    assert sorted(failures) == ["M-00002", "M-00003"]
    assert "山田\ufffd" in failures["M-00002"].payload  # what the mall sent, as far as it can be stored


def test_a_batch_the_database_refuses_is_imported_order_by_order(tenant, shop):
    """Whatever the checks before it miss, the database may still refuse one order (here a constraint the
    test adds): the batch is written again order by order, the refused order is a failure and the others
    import, on PostgreSQL (COPY) and on SQLite alike."""
    if connection.vendor == "postgresql":
        statement = "ALTER TABLE orders_order ADD CONSTRAINT refuse_poison CHECK (external_id <> 'M-00002') NOT VALID"
    else:
        statement = (
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON orders_order WHEN NEW.external_id = 'M-00002' "
            "BEGIN SELECT RAISE(ABORT, 'refuse_poison'); END"
        )
    with connection.cursor() as cursor:
        cursor.execute(statement)
    run = new_run(shop)

    with translation.override("ja"):
        outcome = import_orders(shop, [imported(1), imported(2), imported(3)], run=run)

    assert sorted(Order.objects.filter(shop=shop).values_list("external_id", flat=True)) == ["M-00001", "M-00003"]
    assert len(outcome.new_ids) == 2
    failure = ImportFailure.objects.get(run=run)
    assert failure.external_id == "M-00002"
    assert failure.reason.startswith("データベースがこの受注を受け付けませんでした: ")
    assert "refuse_poison" in failure.reason
    assert '"M-00002"' in failure.payload
    assert OrderEvent.objects.filter(type=EventType.CREATED).count() == 2
    assert MallOrder.objects.count() == 2
    run.refresh_from_db()
    assert (run.new, run.failed) == (2, 1)
    # the same batch again: the two are unchanged, the refused one fails again, nothing doubles
    outcome = import_orders(shop, [imported(1), imported(2), imported(3)], run=new_run(shop))
    assert (len(outcome.new_ids), len(outcome.unchanged_ids), len(outcome.failed)) == (0, 2, 1)


def test_a_total_that_differs_from_the_lines_is_noted(tenant, shop):
    run = new_run(shop)
    import_orders(shop, [imported(1, total=9999)], run=run)
    run.refresh_from_db()
    assert any("9,999" in note for note in run.notes)


def test_the_run_must_be_the_shops(tenant, shop):
    other = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY)
    with pytest.raises(ValueError, match="another shop"):
        import_orders(shop, [imported(1)], run=new_run(other))


# --- after the import -------------------------------------------------------------------------------------------


def test_auto_processing_sorts_what_the_import_hands_over(tenant, shop):
    outcome = run_import(
        shop,
        [
            imported(1),
            imported(2, payment_code="unknown", payment_name="謎の決済"),
            imported(3, payment_code="unknown"),
        ],
    )

    process(tenant=tenant, order_ids=outcome.changed_ids)

    assert order_of(shop, 1).stage == Stage.PAID  # the default rule for credit cards
    assert order_of(shop, 2).stage == Stage.NEW  # no payment method: stays for a person
    # no mapping for the code, but the name is the tenant's own method's name (a CSV's 決済方法 column)
    assert order_of(shop, 3).payment_method.code == "credit_card"
    assert order_of(shop, 3).stage == Stage.PAID


def test_the_task_definition_is_made_once_for_an_older_tenant(tenant):
    TaskDefinition.objects.for_tenant(tenant).filter(code=BuiltinTask.MALL_CHANGED_EDITED).delete()
    first = mall_changed_definition(tenant)
    assert mall_changed_definition(tenant) == first
    assert TaskDefinition.objects.for_tenant(tenant).filter(code=BuiltinTask.MALL_CHANGED_EDITED).count() == 1


def test_an_upload_imports_its_pages_like_a_poll_and_records_the_run(tenant, shop):
    """What a CSV upload calls: a run of its own, import_page per batch (import, then auto-processing)."""
    user = make_member(tenant)
    run = import_run_start(shop=shop, trigger="csv", user=user)

    outcome, problem = import_page(shop=shop, batch=[imported(1), FailedOrder("M-9", "列が足りません", "a,b")], run=run)
    finished = import_run_finish(run=run)

    assert problem == ""
    assert order_of(shop, 1).stage == Stage.PAID  # auto-processed within the page
    assert OrderEvent.objects.get(order_id=outcome.new_ids[0], type=EventType.CREATED).data["source"] == "csv"
    assert (finished.status, finished.trigger, finished.new, finished.failed, finished.pages, finished.processed) == (
        RunStatus.PARTIAL,
        "csv",
        1,
        1,
        1,
        1,
    )
    assert finished.started_by == user
    assert finished.finished_at is not None
    assert import_run_finish(run=run, error="文字コードを判定できません").status == RunStatus.FAILED


def test_an_erased_buyer_is_not_brought_back_by_the_mall(tenant, shop):
    """Retention (T2) erased the buyer's data; the mall still sends it (and a change): the change applies,
    the personal data does not come back, and MallOrder keeps none of it."""
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    Order.objects.filter(pk=order.pk).update(
        orderer_name="（削除済み）",
        dest_name="（削除済み）",
        dest_address1="",
        orderer_phone="",
        dest_phone="",
        personal_data_erased_at=ORDERED,
    )
    assert mall_state_erase(tenant_id=tenant.pk, order_ids=[order.pk]) == 1
    assert "山田" not in str(MallOrder.objects.get(order=order).values)

    run_import(shop, [imported(1, shipping_fee=900, dest_address1="丸の内9-9-9")])

    again = order_of(shop, 1)
    assert (again.dest_name, again.dest_address1, again.shipping_fee) == ("（削除済み）", "", 900)
    kept = MallOrder.objects.get(order=order).values
    assert "山田" not in str(kept)
    assert "丸の内9-9-9" not in str(kept)
