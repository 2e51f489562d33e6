"""Each rule action on real orders: what changes, the event naming the rule, the version, once-only actions;
and the validators that refuse a bad action with a message naming it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from automation.actions import ACTIONS, action_key, clean_actions, validate_actions
from automation.models import OrderTask, Rule, RuleActionDone
from automation.services import process
from backyard.models import Tenant
from orders.constants import ActorKind, EventType, Stage
from orders.events import Actor
from orders.models import Label, Order, OrderEvent, OrderLabel, OrderLine
from orders.search import normalize
from orders.services import compute_amounts, order_add_label, order_update
from shipping.models import DeliveryMethod, ShippingStore
from tests.automation.engine_helpers import (
    delivery,
    events_after,
    group,
    label,
    last_event_pk,
    payment,
    quiet,
    rule,
    status_of,
    task,
)
from tests.factories import make_order


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def world(tenant: Tenant) -> dict[str, Any]:
    quiet(tenant)
    return {"new": status_of(tenant, Stage.NEW), "group": group(tenant, "テスト", 10)}


def run_rule(
    tenant: Tenant,
    world: dict[str, Any],
    actions: list[dict[str, Any]],
    orders: list[Order],
    statuses: list[Any] | None = None,
) -> tuple[Rule, Any, list[OrderEvent]]:
    """One rule with `actions` over the orders; the rule, the result and the events the run wrote."""
    made = rule(world["group"], "テストルール", 1, statuses or [world["new"]], actions)
    before = last_event_pk()
    result = process(tenant=tenant, order_ids=[o.pk for o in orders])
    return made, result, events_after(tenant, before)


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def assert_by_rule(events: list[OrderEvent], made: Rule) -> None:
    assert events
    for event in events:
        assert (event.actor_kind, event.actor_name, event.data["rule"]) == (ActorKind.RULE, made.name, made.pk)


# --- moves ------------------------------------------------------------------------------------------------


def test_move_status_moves_through_the_lifecycle(tenant, world):
    orders = [make_order(tenant) for _ in range(3)]
    target = status_of(tenant, Stage.AWAITING_PAYMENT)

    made, result, events = run_rule(tenant, world, [{"type": "move_status", "status": target.pk}], orders)

    assert {fresh(o).status_id for o in orders} == {target.pk}
    assert {fresh(o).stage for o in orders} == {Stage.AWAITING_PAYMENT}
    assert {fresh(o).version for o in orders} == {2}
    assert [e.type for e in events] == [EventType.STATUS_CHANGED] * 3
    assert_by_rule(events, made)
    assert result.rules[0].matched == result.rules[0].changed == 3


def test_a_rule_skips_stages_without_asking_and_without_the_paid_shortcut(tenant, world):
    """An operator moving a card order to "stock checked" lands in "paid" (T14); a rule lands where it says,
    and new → ready to ship (a skip an operator must confirm) just happens."""
    card = make_order(tenant, payment_method=payment(tenant, "credit_card"))
    cod = make_order(tenant, payment_method=payment(tenant, "cod"))
    checked = status_of(tenant, Stage.STOCK_CHECKED)
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    made = rule(
        world["group"],
        "在庫確認",
        1,
        [world["new"]],
        [{"type": "move_status", "status": checked.pk}],
        items=[{"field": "payment_method", "op": "eq", "value": payment(tenant, "credit_card").pk}],
    )
    rule(
        world["group"],
        "代引きは発送待ちへ",
        2,
        [world["new"]],
        [{"type": "move_status", "status": ready.pk}],
        items=[{"field": "payment_method", "op": "eq", "value": payment(tenant, "cod").pk}],
    )

    process(tenant=tenant, order_ids=[card.pk, cod.pk])

    assert fresh(card).status_id == checked.pk
    assert fresh(cod).status_id == ready.pk
    moved = OrderEvent.objects.get(order=card, type=EventType.STATUS_CHANGED)
    assert "shortcut" not in moved.data
    assert moved.data["rule"] == made.pk


def test_a_forbidden_move_is_recorded_on_the_order_once(tenant, world):
    shipped = status_of(tenant, Stage.SHIPPED)
    order = make_order(tenant, status=shipped)
    cancelled = status_of(tenant, Stage.CANCELLED)

    made, result, events = run_rule(
        tenant, world, [{"type": "move_status", "status": cancelled.pk}], [order], statuses=[shipped]
    )

    assert fresh(order).status_id == shipped.pk
    assert [e.type for e in events] == [EventType.STATUS_REFUSED]
    assert_by_rule(events, made)
    assert events[0].data["target"]["id"] == cancelled.pk
    assert events[0].data["current"]["id"] == shipped.pk
    assert "cannot be cancelled" in events[0].data["reason"]
    assert [(r.order_id, r.rule_id) for r in result.refusals] == [(order.pk, made.pk)]
    assert fresh(order).version == order.version  # nothing about the order changed

    again = process(tenant=tenant, order_ids=[order.pk])

    assert len(again.refusals) == 1  # still refused, and said so in the result …
    assert OrderEvent.objects.filter(order=order, type=EventType.STATUS_REFUSED).count() == 1  # … recorded once


# --- labels, delivery method, shipping store --------------------------------------------------------------


def test_add_and_remove_labels(tenant, world):
    gift, urgent = label(tenant, "ギフト"), label(tenant, "至急")
    has_both = make_order(tenant)
    order_add_label(order=has_both, label=urgent, actor=Actor.system("t"))
    plain = make_order(tenant)

    made, _result, events = run_rule(
        tenant,
        world,
        [{"type": "add_label", "label": gift.pk}, {"type": "remove_label", "label": urgent.pk}],
        [has_both, plain],
    )

    assert set(OrderLabel.objects.filter(order=has_both).values_list("label_id", flat=True)) == {gift.pk}
    assert set(OrderLabel.objects.filter(order=plain).values_list("label_id", flat=True)) == {gift.pk}
    assert fresh(plain).version == plain.version + 1  # a change held in another table still raises it
    assert sorted((e.order_id, e.type) for e in events) == sorted(
        [
            (has_both.pk, EventType.LABEL_ADDED),
            (plain.pk, EventType.LABEL_ADDED),
            (has_both.pk, EventType.LABEL_REMOVED),
        ]
    )
    assert_by_rule(events, made)


def test_set_delivery_method_and_shipping_store(tenant, world):
    yupack = delivery(tenant, "ゆうパック")
    other_store = ShippingStore.objects.create(tenant=tenant, name="第二倉庫", code="second", position=2)
    already = make_order(tenant, delivery_method=yupack, shipping_store=other_store)
    order = make_order(tenant, delivery_method=delivery(tenant, "宅急便"))

    made, _result, events = run_rule(
        tenant,
        world,
        [
            {"type": "set_delivery_method", "delivery_method": yupack.pk},
            {"type": "set_shipping_store", "shipping_store": other_store.pk},
        ],
        [already, order],
    )

    assert (fresh(order).delivery_method_id, fresh(order).shipping_store_id) == (yupack.pk, other_store.pk)
    assert {e.order_id for e in events} == {order.pk}  # the other already had both: no event, no version
    assert {
        (e.data["field"], e.data["old"]["name"] if e.data["old"] else None, e.data["new"]["name"]) for e in events
    } == {("delivery_method", "宅急便", "ゆうパック"), ("shipping_store", None, "第二倉庫")}
    assert fresh(already).version == already.version
    assert_by_rule(events, made)


# --- shipping fee -----------------------------------------------------------------------------------------

MIXED_LINES = [
    {"sku": "TEA", "name": "緑茶", "unit_price": 1080, "quantity": 3, "tax_rate": 8},
    {"sku": "TWL", "name": "タオル", "unit_price": 1650, "quantity": 1, "tax_rate": 10},
    {"sku": "RCE", "name": "米", "unit_price": 3980, "quantity": 1, "tax_rate": 8},
]


@pytest.mark.parametrize(
    ("fields", "lines"),
    [
        ({}, MIXED_LINES),
        ({"payment_method": "cod", "cod_fee": 330, "discount": 500, "points_used": 100}, MIXED_LINES),
        ({"discount": 3000}, [{"sku": "X", "name": "安い品", "unit_price": 500, "quantity": 1, "tax_rate": 10}]),
        ({}, [{"sku": "F", "name": "食品のみ", "unit_price": 2160, "quantity": 2, "tax_rate": 8}]),
    ],
    ids=["mixed-rates", "cod-discount-points", "discount-over-10pct-part", "food-only"],
)
def test_set_shipping_fee_recomputes_the_totals_like_compute_amounts(tenant, world, fields, lines):
    if "payment_method" in fields:
        fields = {**fields, "payment_method": payment(tenant, fields["payment_method"])}
    order = make_order(tenant, lines=lines, shipping_fee=600, **fields)

    made, _result, events = run_rule(tenant, world, [{"type": "set_shipping_fee", "amount": 1980}], [order])

    after = fresh(order)
    expected = compute_amounts(
        lines=list(after.lines.all()),
        shipping_fee=1980,
        cod_fee=after.cod_fee,
        discount=after.discount,
        points_used=after.points_used,
    )
    assert after.shipping_fee == 1980
    assert (after.item_subtotal, after.tax, after.total) == (
        expected["item_subtotal"],
        expected["tax"],
        expected["total"],
    )
    assert after.total == order.total + 1980 - 600
    assert after.version == order.version + 1
    assert [(e.type, e.data["field"], e.data["old"], e.data["new"]) for e in events] == [
        (EventType.FIELD_CHANGED, "shipping_fee", 600, 1980)
    ]
    assert_by_rule(events, made)


def test_set_shipping_fee_leaves_orders_already_at_that_fee(tenant, world):
    order = make_order(tenant, shipping_fee=880)
    _made, result, events = run_rule(tenant, world, [{"type": "set_shipping_fee", "amount": 880}], [order])
    assert events == []
    assert result.rules[0].changed == 0
    assert fresh(order).version == order.version


# --- once-only actions ------------------------------------------------------------------------------------


def test_add_memo_once_per_order_and_rule(tenant, world):
    order = make_order(tenant)
    made, _result, events = run_rule(tenant, world, [{"type": "add_memo", "text": "ギフト包装を確認"}], [order])

    memo = fresh(order).work_memo
    assert memo.endswith(f"{made.name}] ギフト包装を確認")
    assert [(e.type, e.data["text"]) for e in events] == [(EventType.MEMO_ADDED, "ギフト包装を確認")]
    assert_by_rule(events, made)

    process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).work_memo == memo
    assert OrderEvent.objects.filter(order=order, type=EventType.MEMO_ADDED).count() == 1


def test_add_line_once_after_the_last_line_and_searchable(tenant, world):
    order = make_order(tenant, lines=MIXED_LINES)
    action = {"type": "add_line", "sku": "NOV-Catalog-2026", "name": "カタログ（同梱）", "quantity": 1}

    made, _result, events = run_rule(tenant, world, [action], [order])

    lines = list(OrderLine.objects.filter(order=order).order_by("position"))
    assert [(ln.position, ln.sku, ln.unit_price, ln.quantity) for ln in lines][-1] == (4, "NOV-Catalog-2026", 0, 1)
    after = fresh(order)
    assert (after.item_subtotal, after.tax, after.total) == (order.item_subtotal, order.tax, order.total)
    assert f"|{normalize('NOV-Catalog-2026')}|" in after.search_text
    assert Order.objects.filter(search_text__contains=normalize("nov catalog 2026")).get() == after
    assert after.version == order.version + 1
    assert [(e.type, e.data["line"]["sku"], e.data["line"]["id"]) for e in events] == [
        (EventType.LINE_ADDED, "NOV-Catalog-2026", lines[-1].pk)
    ]
    assert_by_rule(events, made)

    process(tenant=tenant, order_ids=[order.pk])

    assert OrderLine.objects.filter(order=order).count() == 4


def test_add_line_to_an_order_whose_search_text_has_the_sku_already(tenant, world):
    order = make_order(tenant, lines=[{"sku": "CAT-1", "name": "品", "unit_price": 100, "quantity": 1}])
    run_rule(tenant, world, [{"type": "add_line", "sku": "cat-1", "name": "カタログ", "quantity": 2}], [order])
    after = fresh(order)
    assert after.search_text.count("|cat1|") == 1
    assert OrderLine.objects.filter(order=order).count() == 2


def test_add_mail_insert_once_appends_to_existing_text(tenant, world):
    first = make_order(tenant)
    second = make_order(tenant)
    Order.objects.filter(pk=second.pk).update(mail_insert="既存の文面")

    made, _result, events = run_rule(
        tenant, world, [{"type": "add_mail_insert", "text": "離島のため数日かかります"}], [first, second]
    )

    assert fresh(first).mail_insert == "離島のため数日かかります"
    assert fresh(second).mail_insert == "既存の文面\n離島のため数日かかります"
    assert {(e.order_id, e.data["old"], e.data["new"]) for e in events} == {
        (first.pk, "", "離島のため数日かかります"),
        (second.pk, "既存の文面", "既存の文面\n離島のため数日かかります"),
    }
    assert_by_rule(events, made)

    process(tenant=tenant, order_ids=[first.pk, second.pk])
    assert fresh(second).mail_insert == "既存の文面\n離島のため数日かかります"


def test_reordering_a_rules_actions_does_not_repeat_them(tenant, world):
    order = make_order(tenant)
    memo = {"type": "add_memo", "text": "確認"}
    mail = {"type": "add_mail_insert", "text": "同梱物あり"}
    made, _result, _events = run_rule(tenant, world, [memo, mail], [order])
    made.actions = [mail, memo]
    made.save()

    before = last_event_pk()
    process(tenant=tenant, order_ids=[order.pk])

    assert events_after(tenant, before) == []
    assert set(RuleActionDone.objects.filter(rule=made).values_list("action", flat=True)) == {
        action_key(memo),
        action_key(mail),
    }


# --- tasks ------------------------------------------------------------------------------------------------


def test_raise_task_once_and_resolve_task(tenant, world):
    remarks = task(tenant, "remarks")  # switched off by quiet(): only the rule raises it
    order = make_order(tenant)
    made, _result, events = run_rule(tenant, world, [{"type": "raise_task", "task": remarks.pk}], [order])

    opened = OrderTask.objects.get(order=order, definition=remarks, resolved_at=None)
    assert opened.raised_by == made.name
    assert [(e.type, e.data["task"]["id"]) for e in events] == [(EventType.TASK_RAISED, remarks.pk)]
    assert_by_rule(events, made)
    assert fresh(order).version == order.version + 1

    # an operator resolves it: the rule does not raise it again
    OrderTask.objects.filter(pk=opened.pk).update(resolved_at=opened.raised_at, resolved_by_name="operator")
    process(tenant=tenant, order_ids=[order.pk])
    assert not OrderTask.objects.filter(order=order, resolved_at=None).exists()

    resolver = rule(world["group"], "タスク解除", 2, [world["new"]], [{"type": "resolve_task", "task": remarks.pk}])
    other = make_order(tenant)
    OrderTask.objects.create(tenant=tenant, order=other, definition=remarks)
    before = last_event_pk()
    process(tenant=tenant, order_ids=[other.pk])
    resolved = OrderTask.objects.get(order=other, definition=remarks)
    assert resolved.resolved_at is not None
    assert (resolved.resolved_by_name, resolved.resolved_automatically) == (resolver.name, False)
    assert [(e.type, e.actor_name) for e in events_after(tenant, before) if e.type == EventType.TASK_RESOLVED] == [
        (EventType.TASK_RESOLVED, resolver.name)
    ]


# --- an action whose row has gone -------------------------------------------------------------------------


def test_an_action_whose_label_was_deleted_is_reported_and_the_rest_runs(tenant, world):
    doomed = Label.objects.create(tenant=tenant, name="消えるラベル")
    order = make_order(tenant)
    made = rule(
        world["group"],
        "壊れたルール",
        1,
        [world["new"]],
        [{"type": "add_label", "label": doomed.pk}, {"type": "add_memo", "text": "残りは動く"}],
    )
    doomed.delete()

    result = process(tenant=tenant, order_ids=[order.pk])

    outcome = result.rules[0]
    assert outcome.rule_id == made.pk
    assert "no longer exists" in outcome.errors[0]
    assert fresh(order).work_memo.endswith("残りは動く")


# --- validation -------------------------------------------------------------------------------------------


def test_every_action_type_is_covered_by_these_tests():
    assert set(ACTIONS) == {
        "move_status",
        "raise_task",
        "resolve_task",
        "add_label",
        "remove_label",
        "set_delivery_method",
        "set_shipping_fee",
        "add_memo",
        "add_line",
        "set_shipping_store",
        "add_mail_insert",
        "send_mail",  # tests/automation/test_mail_action.py
        "stock_check",  # tests/automation/test_stock_action.py
        "set_shipping_fee_from_table",  # tests/shipping/test_fees_actions.py
        "set_delivery_method_for_islands",  # tests/shipping/test_fees_actions.py
    }


def test_clean_actions_normalises(tenant):
    gift = label(tenant, "ギフト")
    cleaned = clean_actions(
        tenant,
        [
            {"type": "add_label", "label": str(gift.pk)},
            {"type": "add_memo", "text": "  メモ  "},
            {"type": "set_shipping_fee", "amount": "880"},
            {"type": "add_line", "sku": " CAT ", "name": "カタログ", "quantity": "2"},
        ],
    )
    assert cleaned == [
        {"type": "add_label", "label": gift.pk},
        {"type": "add_memo", "text": "メモ"},
        {"type": "set_shipping_fee", "amount": 880},
        {"type": "add_line", "sku": "CAT", "name": "カタログ", "quantity": 2},
    ]


@pytest.mark.parametrize(
    ("make_action", "expected"),
    [
        (lambda t, o: {"type": "move_status", "status": 999_999}, "Action 1 (Move to a status): the status 999999"),
        (lambda t, o: {"type": "move_status"}, "Action 1 (Move to a status): choose a status"),
        (
            lambda t, o: {"type": "add_label", "label": Label.objects.for_tenant(o).first().pk},
            "Action 1 (Add a label): the label",
        ),
        (
            lambda t, o: {
                "type": "set_delivery_method",
                "delivery_method": DeliveryMethod.objects.for_tenant(o).first().pk,
            },
            "Action 1 (Set the delivery method): the delivery method",
        ),
        (lambda t, o: {"type": "raise_task", "task": task(o, "remarks").pk}, "Action 1 (Raise a task): the task"),
        (lambda t, o: {"type": "set_shipping_fee", "amount": -1}, "Action 1 (Set the shipping fee): enter an amount"),
        (
            lambda t, o: {"type": "set_shipping_fee", "amount": "千円"},
            "Action 1 (Set the shipping fee): enter an amount",
        ),
        (lambda t, o: {"type": "add_memo", "text": "  "}, "Action 1 (Add a work memo): enter a text"),
        (
            lambda t, o: {"type": "add_line", "sku": "X", "name": "Y", "quantity": 0},
            "Action 1 (Add a freebie or enclosure line): enter a quantity",
        ),
        (lambda t, o: {"type": "explode"}, "Action 1: unknown type “explode”"),
        (lambda t, o: {"type": "add_memo", "text": "x", "colour": "red"}, "unknown setting “colour”"),
        (lambda t, o: "add_memo", "Action 1: write it as"),
    ],
    ids=[
        "missing-status",
        "no-status",
        "foreign-label",
        "foreign-delivery",
        "foreign-task",
        "negative-fee",
        "fee-not-a-number",
        "blank-memo",
        "zero-quantity",
        "unknown-type",
        "unknown-setting",
        "not-an-object",
    ],
)
def test_a_bad_action_is_refused_naming_it(tenant, other_tenant, make_action, expected):
    actions = [make_action(tenant, other_tenant)]
    problems = validate_actions(tenant, actions)
    assert len(problems) == 1
    assert problems[0].startswith(expected) or expected in problems[0], problems
    with pytest.raises(ValidationError):
        clean_actions(tenant, actions)


def test_problems_name_each_bad_action_by_number(tenant):
    gift = label(tenant, "ギフト")
    problems = validate_actions(
        tenant,
        [{"type": "add_label", "label": gift.pk}, {"type": "add_memo"}, {"type": "set_shipping_fee", "amount": 10**9}],
    )
    assert [p.split(" (")[0] for p in problems] == ["Action 2", "Action 3"]
    assert validate_actions(tenant, {"type": "add_memo"}) == ['Write the actions as a list: [{"type": …}, …].']


def test_an_order_edit_after_a_rule_keeps_its_own_version(tenant, world):
    """Rules bump the version like any edit, so an operator's stale form is refused, not silently merged."""
    order = make_order(tenant)
    run_rule(tenant, world, [{"type": "add_memo", "text": "ルールのメモ"}], [order])
    with pytest.raises(Exception, match="Someone else changed this order"):
        order_update(order=order, changes={"remarks": "x"}, actor=Actor.system("t"), expected_version=order.version)
