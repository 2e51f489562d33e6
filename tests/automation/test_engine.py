"""The engine: rule order, fresh matching per rule, idempotency, tenancy, broken rules, groups, the dry run
that predicts exactly, the "why" of an order, and a query count that does not grow with the orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from automation.models import OrderTask, Rule, RuleActionDone, RuleGroup, TaskDefinition
from automation.selectors import change_from_event, open_tasks_for, order_rule_history, task_counts
from automation.services import dry_run, order_task_raise, order_task_resolve, process, process_group
from backyard.models import Tenant
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import Label, Order, OrderEvent
from tests.automation.engine_helpers import (
    delivery,
    events_after,
    group,
    label,
    last_event_pk,
    payment,
    quiet,
    rule,
    snapshot,
    status_of,
    store,
    task,
)
from tests.factories import make_order


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def enable_tasks(tenant: Tenant, *codes: str) -> None:
    TaskDefinition.objects.for_tenant(tenant).filter(code__in=codes).update(enabled=True)


# --- order ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("memo_first", [False, True])
def test_a_rule_sees_what_earlier_rules_did(tenant, memo_first):
    """Rule "move" takes new orders to awaiting payment; rule "memo" looks only at awaiting payment. Run
    move then memo and the memo is written in the same run; run memo first and it finds nothing yet."""
    quiet(tenant)
    new, waiting = status_of(tenant, Stage.NEW), status_of(tenant, Stage.AWAITING_PAYMENT)
    g = group(tenant, "順序", 1)
    rule(g, "move", 2 if memo_first else 1, [new], [{"type": "move_status", "status": waiting.pk}])
    rule(g, "memo", 1 if memo_first else 2, [waiting], [{"type": "add_memo", "text": "入金を待つ"}])
    order = make_order(tenant)

    result = process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).status_id == waiting.pk
    assert fresh(order).work_memo.endswith("入金を待つ") is not memo_first
    assert [(r.name, r.matched) for r in result.rules] == (
        [("memo", 0), ("move", 1)] if memo_first else [("move", 1), ("memo", 1)]
    )


def test_groups_run_in_position_order_then_rules_in_theirs(tenant):
    quiet(tenant)
    new = status_of(tenant, Stage.NEW)
    later = group(tenant, "後", 20)
    earlier = group(tenant, "先", 10)
    rule(later, "later-1", 1, [new], [{"type": "add_mail_insert", "text": "C"}])
    rule(earlier, "earlier-2", 2, [new], [{"type": "add_mail_insert", "text": "B"}])
    rule(earlier, "earlier-1", 1, [new], [{"type": "add_mail_insert", "text": "A"}])
    order = make_order(tenant)

    result = process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).mail_insert == "A\nB\nC"
    assert [r.name for r in result.rules] == ["earlier-1", "earlier-2", "later-1"]


def test_switched_off_rules_and_groups_do_not_run(tenant):
    quiet(tenant)
    new = status_of(tenant, Stage.NEW)
    on, off = group(tenant, "on", 1), group(tenant, "off", 2, enabled=False)
    rule(on, "disabled rule", 1, [new], [{"type": "add_mail_insert", "text": "x"}], enabled=False)
    rule(off, "rule of a disabled group", 1, [new], [{"type": "add_mail_insert", "text": "y"}])
    rule(on, "enabled", 2, [new], [{"type": "add_mail_insert", "text": "z"}])
    order = make_order(tenant)

    result = process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).mail_insert == "z"
    assert [r.name for r in result.rules] == ["enabled"]


def test_conditions_and_statuses_select_the_orders(tenant):
    quiet(tenant)
    new, check = status_of(tenant, Stage.NEW), status_of(tenant, Stage.NEW, 2)
    g = group(tenant, "g", 1)
    rule(
        g,
        "bank in new",
        1,
        [new],
        [{"type": "add_label", "label": label(tenant, "要確認").pk}],
        items=[{"field": "payment_method", "op": "eq", "value": payment(tenant, "bank_transfer").pk}],
    )
    bank_new = make_order(tenant, payment_method=payment(tenant, "bank_transfer"))
    bank_check = make_order(tenant, payment_method=payment(tenant, "bank_transfer"), status=check)
    card_new = make_order(tenant)

    result = process(tenant=tenant, order_ids=[bank_new.pk, bank_check.pk, card_new.pk])

    labelled = set(Order.objects.filter(labels__name="要確認").values_list("pk", flat=True))
    assert labelled == {bank_new.pk}
    assert (result.rules[0].matched, result.rules[0].changed) == (1, 1)


# --- idempotency ------------------------------------------------------------------------------------------


def every_action_rules(tenant: Tenant) -> None:
    """Two groups that use every action type, and the built-in tasks that need no address data."""
    quiet(tenant)
    enable_tasks(tenant, "remarks", "delivery_date_check", "remote_island", "shipping_fee_change")
    new, waiting = status_of(tenant, Stage.NEW), status_of(tenant, Stage.AWAITING_PAYMENT)
    bank = payment(tenant, "bank_transfer")
    first, second = group(tenant, "基本", 1), group(tenant, "キャンペーン", 2)
    rule(
        first,
        "振込は入金待ちへ",
        1,
        [new],
        [{"type": "move_status", "status": waiting.pk}],
        items=[{"field": "payment_method", "op": "eq", "value": bank.pk}],
    )
    rule(
        first,
        "離島",
        2,
        [new, waiting],
        [
            {"type": "set_delivery_method", "delivery_method": delivery(tenant, "ゆうパック").pk},
            {"type": "set_shipping_fee", "amount": 1980},
            {"type": "add_mail_insert", "text": "離島のためお届けに日数がかかります"},
        ],
        items=[{"field": "remote_island", "op": "eq", "value": True}],
    )
    rule(
        second,
        "ノベルティ",
        1,
        [new, waiting],
        [
            {"type": "add_line", "sku": "NOVELTY-01", "name": "ノベルティ", "quantity": 1},
            {"type": "add_memo", "text": "ノベルティ同梱"},
            {"type": "add_label", "label": label(tenant, "ギフト").pk},
            {"type": "remove_label", "label": label(tenant, "至急").pk},
            {"type": "set_shipping_store", "shipping_store": store(tenant).pk},
            {"type": "raise_task", "task": task(tenant, "remarks").pk},
            {"type": "resolve_task", "task": task(tenant, "delivery_date_check").pk},
        ],
        items=[{"field": "total", "op": "gt", "value": 1000}],
    )


ISHIGAKI = {
    "dest_postal_code": "907-0022",
    "dest_prefecture": "沖縄県",
    "dest_city": "石垣市",
    "dest_address1": "大川1",
}


def order_mix(tenant: Tenant, n: int) -> list[int]:
    """`n` orders cycling through five kinds: card, bank transfer, remote island, remarks, a past order."""
    shipped = status_of(tenant, Stage.SHIPPED)
    kinds: list[dict[str, Any]] = [
        {},
        {"payment_method": payment(tenant, "bank_transfer")},
        {**ISHIGAKI, "payment_method": payment(tenant, "bank_transfer")},
        {"remarks": "のし希望", "requested_delivery_date": "2030-01-10"},
        {"status": shipped},
    ]
    return [make_order(tenant, **kinds[i % len(kinds)]).pk for i in range(n)]


def test_running_twice_changes_nothing_the_second_time(tenant):
    every_action_rules(tenant)
    ids = order_mix(tenant, 10)
    first = process(tenant=tenant, order_ids=ids)
    after_first = snapshot(tenant)

    second = process(tenant=tenant, order_ids=ids)

    assert snapshot(tenant) == after_first
    assert first.changed > 0
    assert second.changed == 0
    assert second.tasks_raised == second.tasks_resolved == 0
    assert first.errors == second.errors == []


def test_the_whole_mix_does_what_the_rules_say(tenant):
    every_action_rules(tenant)
    ids = order_mix(tenant, 5)
    card, bank, island, remarks, shipped = (Order.objects.get(pk=pk) for pk in ids)

    result = process(tenant=tenant, order_ids=ids)

    assert fresh(bank).stage == fresh(island).stage == Stage.AWAITING_PAYMENT
    assert fresh(card).stage == fresh(remarks).stage == Stage.NEW
    assert fresh(shipped).stage == Stage.SHIPPED
    assert fresh(shipped).version == shipped.version
    island = fresh(island)
    assert (island.delivery_method.name, island.shipping_fee) == ("ゆうパック", 1980)
    open_tasks = {(t.order_id, t.definition.code) for t in OrderTask.objects.filter(resolved_at=None)}
    # remote island: raised; shipping fee change: raised before the rules, resolved by the fee rule after;
    # remarks: raised by the built-in pass and (once) by the novelty rule; delivery date: resolved by the rule
    assert open_tasks == {
        (island.pk, "remote_island"),
        (card.pk, "remarks"),
        (bank.pk, "remarks"),
        (island.pk, "remarks"),
        (remarks.pk, "remarks"),
    }
    fee_task = OrderTask.objects.get(order=island, definition__code="shipping_fee_change")
    assert fee_task.resolved_automatically
    assert fee_task.resolved_at
    delivery_task = OrderTask.objects.get(order=remarks, definition__code="delivery_date_check")
    assert not delivery_task.resolved_automatically
    assert delivery_task.resolved_by_name == "ノベルティ"
    assert result.tasks_raised == 7
    assert result.tasks_resolved == 2
    assert result.changed == 4


# --- the state machine ------------------------------------------------------------------------------------


def test_a_forbidden_rule_move_is_recorded_not_swallowed(tenant):
    quiet(tenant)
    completed = status_of(tenant, Stage.COMPLETED)
    order = make_order(tenant, status=completed)
    made = rule(
        group(tenant, "g", 1),
        "売上を新規に戻す",
        1,
        [completed],
        [{"type": "move_status", "status": status_of(tenant, Stage.NEW).pk}],
    )

    result = process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).status_id == completed.pk
    refused = OrderEvent.objects.get(order=order, type=EventType.STATUS_REFUSED)
    assert refused.data["rule"] == made.pk
    assert refused.actor_name == made.name
    assert "booked as a sale" in refused.data["reason"]
    assert result.refusals[0].reason == refused.data["reason"]
    assert "1 move was refused." in result.summary()


# --- tenancy and robustness -------------------------------------------------------------------------------


def test_another_tenants_orders_are_not_touched(tenant, other_tenant):
    quiet(tenant)
    quiet(other_tenant)
    new = status_of(tenant, Stage.NEW)
    rule(group(tenant, "g", 1), "all new", 1, [new], [{"type": "add_memo", "text": "x"}])
    theirs = make_order(other_tenant)
    mine = make_order(tenant)
    before = snapshot(other_tenant)

    result = process(tenant=tenant, order_ids=[theirs.pk, mine.pk])

    assert (result.orders, result.not_found) == (1, 1)
    assert snapshot(other_tenant) == before
    assert fresh(mine).work_memo


def test_a_rule_whose_condition_broke_is_reported_and_the_others_run(tenant):
    quiet(tenant)
    new = status_of(tenant, Stage.NEW)
    doomed = Label.objects.create(tenant=tenant, name="消える")
    g = group(tenant, "g", 1)
    rule(
        g,
        "壊れた",
        1,
        [new],
        [{"type": "add_memo", "text": "x"}],
        items=[{"field": "label", "op": "eq", "value": doomed.pk}],
    )
    rule(g, "動く", 2, [new], [{"type": "add_mail_insert", "text": "ok"}])
    doomed.delete()
    order = make_order(tenant)

    result = process(tenant=tenant, order_ids=[order.pk])

    assert result.rules[0].errors
    assert "does not exist" in result.rules[0].errors[0]
    assert fresh(order).mail_insert == "ok"
    assert fresh(order).work_memo == ""
    assert "problem" in result.summary()


# --- groups from admin ------------------------------------------------------------------------------------


def test_process_group_runs_its_rules_over_the_orders_in_their_statuses(tenant):
    quiet(tenant)
    new, check = status_of(tenant, Stage.NEW), status_of(tenant, Stage.NEW, 2)
    sale = group(tenant, "セール時の自動処理", 1, enabled=False)  # tried from admin before switching it on
    rule(sale, "セールのチラシ", 1, [new], [{"type": "add_line", "sku": "FLYER", "name": "チラシ", "quantity": 1}])
    rule(group(tenant, "other", 2), "other", 1, [new], [{"type": "add_memo", "text": "other"}])
    in_new = [make_order(tenant) for _ in range(3)]
    held = make_order(tenant, status=check)

    result = process_group(group=sale)

    assert result.orders == 3
    assert [r.name for r in result.rules] == ["セールのチラシ"]
    assert {o.pk for o in in_new} == set(Order.objects.filter(lines__sku="FLYER").values_list("pk", flat=True))
    assert not fresh(held).lines.filter(sku="FLYER").exists()
    assert all(fresh(o).work_memo == "" for o in in_new)


# --- tasks ------------------------------------------------------------------------------------------------


def test_tasks_are_raised_and_resolved_when_their_condition_goes(tenant):
    quiet(tenant)
    enable_tasks(tenant, "remarks", "delivery_date_check", "remote_island", "shipping_fee_change")
    order = make_order(tenant, remarks="午前中に届けてください", requested_delivery_date="2030-02-01", **ISHIGAKI)

    first = process(tenant=tenant, order_ids=[order.pk])

    codes = set(OrderTask.objects.filter(order=order, resolved_at=None).values_list("definition__code", flat=True))
    assert codes == {"remarks", "delivery_date_check", "remote_island", "shipping_fee_change"}
    assert first.tasks_raised == 4
    raised = OrderEvent.objects.filter(order=order, type=EventType.TASK_RAISED)
    assert {e.data["task"]["code"] for e in raised} == codes

    from orders.services import order_update

    order_update(order=fresh(order), changes={"remarks": "", "shipping_fee": 1500}, actor=Actor.system("t"))
    before = last_event_pk()
    second = process(tenant=tenant, order_ids=[order.pk])

    codes = set(OrderTask.objects.filter(order=order, resolved_at=None).values_list("definition__code", flat=True))
    assert codes == {"delivery_date_check", "remote_island"}  # remarks cleared; the fee was changed by hand
    assert second.tasks_resolved == 2
    resolved = [e for e in events_after(tenant, before) if e.type == EventType.TASK_RESOLVED]
    assert {(e.data["task"]["code"], e.data["automatic"]) for e in resolved} == {
        ("remarks", True),
        ("shipping_fee_change", True),
    }


def test_a_task_resolved_by_hand_stays_resolved_one_resolved_automatically_comes_back(tenant, tenant_admin):
    quiet(tenant)
    enable_tasks(tenant, "remarks", "delivery_date_check")
    order = make_order(tenant, remarks="のし希望", requested_delivery_date="2030-02-01")
    process(tenant=tenant, order_ids=[order.pk])
    remarks_task = OrderTask.objects.get(order=order, definition__code="remarks")

    done = order_task_resolve(task=remarks_task, actor=Actor.for_user(tenant_admin))
    assert (done.resolved_by, done.resolved_automatically) == (tenant_admin, False)
    process(tenant=tenant, order_ids=[order.pk])
    assert not OrderTask.objects.filter(order=order, definition__code="remarks", resolved_at=None).exists()

    Order.objects.filter(pk=order.pk).update(requested_delivery_date=None)
    process(tenant=tenant, order_ids=[order.pk])  # resolved automatically …
    Order.objects.filter(pk=order.pk).update(requested_delivery_date="2030-03-01")
    process(tenant=tenant, order_ids=[order.pk])  # … and raised again when the date comes back
    dated = OrderTask.objects.filter(order=order, definition__code="delivery_date_check").order_by("pk")
    assert [(t.resolved_at is None, t.resolved_automatically) for t in dated] == [(False, True), (True, False)]


def test_a_custom_task_with_conditions_and_one_without(tenant):
    quiet(tenant)
    big = TaskDefinition.objects.create(
        tenant=tenant,
        name="高額注文",
        position=10,
        conditions={"match": "all", "items": [{"field": "total", "op": "gt", "value": 30000}]},
    )
    manual = TaskDefinition.objects.create(tenant=tenant, name="電話確認", position=11)
    small = make_order(tenant)
    large = make_order(tenant, lines=[{"sku": "KTL", "name": "南部鉄器", "unit_price": 40000, "quantity": 1}])

    process(tenant=tenant, order_ids=[small.pk, large.pk])

    assert set(OrderTask.objects.values_list("order_id", "definition_id")) == {(large.pk, big.pk)}
    assert not OrderTask.objects.filter(definition=manual).exists()


def test_a_rule_can_test_a_task_raised_in_the_same_run(tenant):
    """The task pass runs before the rules: "has task remote island" → ゆうパック on the first run."""
    quiet(tenant)
    enable_tasks(tenant, "remote_island")
    island_task = task(tenant, "remote_island")
    rule(
        group(tenant, "離島", 1),
        "離島はゆうパック",
        1,
        [status_of(tenant, Stage.NEW)],
        [{"type": "set_delivery_method", "delivery_method": delivery(tenant, "ゆうパック").pk}],
        items=[{"field": "task", "op": "eq", "value": island_task.pk}],
    )
    order = make_order(tenant, **ISHIGAKI)

    process(tenant=tenant, order_ids=[order.pk])

    assert fresh(order).delivery_method.name == "ゆうパック"


def test_tasks_by_hand(tenant, tenant_admin, other_tenant):
    order = make_order(tenant)
    definition = TaskDefinition.objects.create(tenant=tenant, name="電話確認", position=10)
    actor = Actor.for_user(tenant_admin)

    opened = order_task_raise(order=order, definition=definition, actor=actor, note="折り返し")
    again = order_task_raise(order=order, definition=definition, actor=actor)

    assert again.pk == opened.pk
    assert opened.note == "折り返し"
    assert fresh(order).version == order.version + 1
    with pytest.raises(ValueError, match="another tenant"):
        order_task_raise(order=make_order(other_tenant), definition=definition, actor=actor)
    order_task_resolve(task=opened, actor=actor)
    order_task_resolve(task=opened, actor=actor)  # twice: nothing more
    assert [e.type for e in OrderEvent.objects.filter(order=order).order_by("pk")][-2:] == [
        EventType.TASK_RAISED,
        EventType.TASK_RESOLVED,
    ]


# --- selectors --------------------------------------------------------------------------------------------


def test_task_counts_and_badges_in_one_query_each(tenant, django_assert_num_queries):
    quiet(tenant)
    enable_tasks(tenant, "remarks", "delivery_date_check")
    new, check = status_of(tenant, Stage.NEW), status_of(tenant, Stage.NEW, 2)
    a = make_order(tenant, remarks="x", requested_delivery_date="2030-01-01")
    b = make_order(tenant, remarks="y")
    c = make_order(tenant, remarks="z", status=check)
    process(tenant=tenant, order_ids=[a.pk, b.pk, c.pk])

    with django_assert_num_queries(1):
        counts = task_counts(tenant=tenant, status_id=new.pk)
    assert [(d.code, n) for d, n in counts] == [("delivery_date_check", 1), ("remarks", 2)]
    assert [(d.code, n) for d, n in task_counts(tenant=tenant, status_id=None)] == [
        ("delivery_date_check", 1),
        ("remarks", 3),
    ]
    with django_assert_num_queries(1):
        badges = open_tasks_for(tenant=tenant, order_ids=[a.pk, b.pk, c.pk])
    assert {pk: [d.code for d in defs] for pk, defs in badges.items()} == {
        a.pk: ["delivery_date_check", "remarks"],
        b.pk: ["remarks"],
        c.pk: ["remarks"],
    }


def test_task_counts_ignore_another_tenant(tenant, other_tenant):
    quiet(other_tenant)
    enable_tasks(other_tenant, "remarks")
    theirs = make_order(other_tenant, remarks="x")
    process(tenant=other_tenant, order_ids=[theirs.pk])
    assert task_counts(tenant=tenant, status_id=theirs.status_id) == []
    assert open_tasks_for(tenant=tenant, order_ids=[theirs.pk]) == {theirs.pk: []}


def test_the_why_of_an_order(tenant, django_assert_num_queries):
    every_action_rules(tenant)
    ids = order_mix(tenant, 3)
    island = Order.objects.get(pk=ids[2])
    process(tenant=tenant, order_ids=ids)
    Rule.objects.filter(name="振込は入金待ちへ").delete()  # a deleted rule keeps its name in the history

    with django_assert_num_queries(2):
        history = order_rule_history(order=island)

    assert [(t.rule_name, t.rule is None) for t in history] == [
        ("振込は入金待ちへ", True),
        ("離島", False),
        ("ノベルティ", False),
    ]
    assert [c.what for c in history[0].changes] == ["status"]
    assert {c.what for c in history[1].changes} == {"delivery method", "shipping fee", "mail insert text"}
    fee = next(c for c in history[1].changes if c.what == "shipping fee")
    assert (fee.old, fee.new) == ("¥600", "¥1,980")  # in yen, as the order page's history shows it


# --- the dry run ------------------------------------------------------------------------------------------


def comparable(changes: list[Any]) -> list[tuple[Any, ...]]:
    return [(c.order_id, c.type, c.actor_kind, c.actor_name, c.rule_id, c.what, c.old, c.new, c.note) for c in changes]


def test_a_dry_run_changes_nothing_and_predicts_the_real_run_exactly(tenant):
    every_action_rules(tenant)
    ids = order_mix(tenant, 10)
    before = snapshot(tenant)

    report = dry_run(tenant=tenant, order_ids=ids)

    assert snapshot(tenant) == before
    assert report.orders
    assert report.result.changed == len(report.orders)
    last = last_event_pk()
    real = process(tenant=tenant, order_ids=ids)
    happened = [change_from_event(e) for e in events_after(tenant, last)]
    assert comparable(report.changes) == comparable(sorted(happened, key=lambda c: c.order_id))
    assert report.result.changed_ids == real.changed_ids
    assert [(r.name, r.matched, r.changed) for r in report.result.rules] == [
        (r.name, r.matched, r.changed) for r in real.rules
    ]
    assert {o.external_id for o in report.orders} == set(
        Order.objects.filter(pk__in=real.changed_ids).values_list("external_id", flat=True)
    )


def test_a_dry_run_of_one_rule_not_yet_switched_on(tenant):
    quiet(tenant)
    new = status_of(tenant, Stage.NEW)
    made = rule(group(tenant, "g", 1), "試す", 1, [new], [{"type": "add_memo", "text": "試験"}], enabled=False)
    orders = [make_order(tenant) for _ in range(2)]
    before = snapshot(tenant)

    report = dry_run(tenant=tenant, rule=made)

    assert snapshot(tenant) == before
    assert not RuleActionDone.objects.exists()
    assert [(o.order_id, [(c.what, c.new, c.rule_id) for c in o.changes]) for o in report.orders] == [
        (o.pk, [("work memo", "試験", made.pk)]) for o in orders
    ]


def test_a_dry_run_of_a_group_matches_running_it(tenant):
    every_action_rules(tenant)
    order_mix(tenant, 5)
    campaign = RuleGroup.objects.get(tenant=tenant, name="キャンペーン")
    before = snapshot(tenant)

    report = dry_run(tenant=tenant, group=campaign)

    assert snapshot(tenant) == before
    last = last_event_pk()
    process_group(group=campaign)
    assert comparable(report.changes) == comparable(
        sorted((change_from_event(e) for e in events_after(tenant, last)), key=lambda c: c.order_id)
    )


def test_a_dry_run_refuses_another_tenants_rule(tenant, other_tenant):
    theirs = Rule.objects.for_tenant(other_tenant).first()
    with pytest.raises(ValueError, match="another tenant"):
        dry_run(tenant=tenant, rule=theirs)


# --- queries ----------------------------------------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_orders(tenant, django_assert_num_queries):
    every_action_rules(tenant)
    few = order_mix(tenant, 10)
    many = order_mix(tenant, 50)
    with CaptureQueriesContext(connection) as ten:
        small = process(tenant=tenant, order_ids=few)

    with django_assert_num_queries(len(ten.captured_queries)):
        large = process(tenant=tenant, order_ids=many)

    assert small.queries == large.queries == len(ten.captured_queries)
    assert large.changed == 5 * small.changed
    assert large.tasks_raised == 5 * small.tasks_raised
