"""Bulk edit, payment confirmation and cancellation: set-based, evented, with reasons for each refusal."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from backyard.models import Tenant
from orders.constants import EventType, Stage, refusal_reason
from orders.events import Actor
from orders.models import Label, Order, OrderEvent, OrderLabel, PaymentMethod, Status
from orders.services.bulk import (
    SHORTCUT,
    BulkChanges,
    BulkResult,
    orders_bulk_update,
    orders_cancel,
    orders_confirm_payment,
)
from shipping.models import DeliveryMethod, ShippingStore
from tests.factories import make_order

ACTOR = Actor.system("一括テスト")
STAMPED = re.compile(r"^\[\d{4}/\d{2}/\d{2} \d{2}:\d{2} (?P<who>[^\]]+)\] (?P<text>.+)$")


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Reasons and summaries are asserted in English, whatever translations the catalogue holds."""
    with translation.override("en"):
        yield


# --- helpers ----------------------------------------------------------------------------------------------


def status_of(tenant: Tenant, stage: Stage, position: int = 1) -> Status:
    """The tenant's `position`-th status in `stage` (the default tree has two per stage)."""
    statuses = Status.objects.for_tenant(tenant).filter(group__stage=stage).select_related("group")
    return statuses.order_by("group__position", "position")[position - 1]


def payment(tenant: Tenant, code: str) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code=code)


def label(tenant: Tenant, name: str) -> Label:
    return Label.objects.for_tenant(tenant).get(name=name)


def delivery(tenant: Tenant, name: str) -> DeliveryMethod:
    return DeliveryMethod.objects.for_tenant(tenant).get(name=name)


def bank_order(tenant: Tenant, **fields: Any) -> Order:
    """An order paid by bank transfer: its payment needs confirming, so stock checked stays stock checked."""
    return make_order(tenant, payment_method=payment(tenant, "bank_transfer"), **fields)


def fresh(order: Order) -> Order:
    return Order.objects.select_related("status__group").get(pk=order.pk)


def said(event: OrderEvent) -> tuple[Any, ...]:
    """An event as a comparable tuple: what changed, from what, to what."""
    data = event.data
    if event.type == EventType.STATUS_CHANGED:
        return (event.type, data["old"]["id"], data["new"]["id"])
    if event.type == EventType.FIELD_CHANGED:
        return (event.type, data["field"], data["old"], data["new"])
    if event.type == EventType.MEMO_ADDED:
        return (event.type, data["text"])
    return (event.type, data["label"]["name"])


def history(order: Order) -> list[tuple[Any, ...]]:
    """Everything written about the order after it was created, oldest first."""
    events = OrderEvent.objects.filter(order_id=order.pk).exclude(type=EventType.CREATED).order_by("pk")
    return [said(event) for event in events]


def ref(obj: Any) -> dict[str, Any]:
    return {"id": obj.pk, "name": str(obj)}


# --- bulk edit: each change ------------------------------------------------------------------------------


def one_change(tenant: Tenant, name: str, order: Order) -> tuple[BulkChanges, tuple[Any, ...], Callable[[Order], Any]]:
    """For each kind of change: the BulkChanges, the event it writes on `order`, and the stored value."""
    stock = status_of(tenant, Stage.STOCK_CHECKED)
    store = ShippingStore.objects.create(tenant=tenant, name="大阪倉庫", code="osaka")
    nekopos = delivery(tenant, "ネコポス")
    field_changed = EventType.FIELD_CHANGED
    cases: dict[str, tuple[BulkChanges, tuple[Any, ...], Callable[[Order], Any]]] = {
        "status": (
            BulkChanges(status=stock),
            (EventType.STATUS_CHANGED, order.status_id, stock.pk),
            lambda o: (o.status_id, o.stage) == (stock.pk, Stage.STOCK_CHECKED),
        ),
        "ship_date": (
            BulkChanges(ship_date=dt.date(2026, 12, 1)),
            (field_changed, "ship_date", "2026-11-30", "2026-12-01"),
            lambda o: o.ship_date == dt.date(2026, 12, 1),
        ),
        "clear_ship_date": (
            BulkChanges(clear_ship_date=True),
            (field_changed, "ship_date", "2026-11-30", None),
            lambda o: o.ship_date is None,
        ),
        "delivery_method": (
            BulkChanges(delivery_method=nekopos),
            (field_changed, "delivery_method", ref(order.delivery_method), ref(nekopos)),
            lambda o: o.delivery_method_id == nekopos.pk,
        ),
        "shipping_store": (
            BulkChanges(shipping_store=store),
            (field_changed, "shipping_store", None, ref(store)),
            lambda o: o.shipping_store_id == store.pk,
        ),
        "memo": (
            BulkChanges(memo="  午前中に出荷  "),
            (EventType.MEMO_ADDED, "午前中に出荷"),
            lambda o: STAMPED.match(o.work_memo)["text"] == "午前中に出荷",
        ),
        "add_labels": (
            BulkChanges(add_labels=[label(tenant, "至急")]),
            (EventType.LABEL_ADDED, "至急"),
            lambda o: o.labels.filter(name="至急").exists(),
        ),
        "remove_labels": (
            BulkChanges(remove_labels=[label(tenant, "ギフト")]),
            (EventType.LABEL_REMOVED, "ギフト"),
            lambda o: not o.labels.filter(name="ギフト").exists(),
        ),
    }
    return cases[name]


@pytest.mark.parametrize(
    "name",
    [
        "status",
        "ship_date",
        "clear_ship_date",
        "delivery_method",
        "shipping_store",
        "memo",
        "add_labels",
        "remove_labels",
    ],
)
def test_each_change_alone_applies_to_every_order_with_one_event_each(tenant: Tenant, name: str) -> None:
    # given two orders with a ship date, a delivery method and the gift label
    orders = [
        bank_order(tenant, ship_date=dt.date(2026, 11, 30), delivery_method=delivery(tenant, "宅急便"))
        for _ in range(2)
    ]
    for order in orders:
        OrderLabel.objects.create(tenant=tenant, order=order, label=label(tenant, "ギフト"))
    changes, event, stored = one_change(tenant, name, orders[0])

    result = orders_bulk_update(tenant=tenant, order_ids=[o.pk for o in orders], changes=changes, actor=ACTOR)

    assert (result.selected, result.changed, result.refused, result.not_found, result.applied) == (2, 2, [], 0, True)
    assert result.moved == (2 if name == "status" else 0)
    for before in orders:
        after = fresh(before)
        assert stored(after)
        assert after.version == before.version + 1
        assert history(after) == [event]
        last = OrderEvent.objects.filter(order=after).latest("pk")
        assert (last.actor_kind, last.actor_name, last.tenant_id) == (ACTOR.kind, ACTOR.name, tenant.pk)


def test_all_changes_together_raise_the_version_once_and_write_one_event_per_change(tenant: Tenant) -> None:
    orders = [bank_order(tenant) for _ in range(3)]
    gift, nekopos = label(tenant, "ギフト"), delivery(tenant, "ネコポス")
    store = ShippingStore.objects.for_tenant(tenant).get(code="main")
    target = status_of(tenant, Stage.STOCK_CHECKED, 2)

    result = orders_bulk_update(
        tenant=tenant,
        order_ids=[o.pk for o in orders],
        actor=ACTOR,
        changes=BulkChanges(
            status=target,
            ship_date=dt.date(2026, 12, 1),
            delivery_method=nekopos,
            shipping_store=store,
            memo="まとめて発送",
            add_labels=[gift],
        ),
    )

    assert (result.selected, result.changed, result.moved, result.refused) == (3, 3, 3, [])
    for before in orders:
        after = fresh(before)
        assert (after.status_id, after.stage, after.ship_date) == (target.pk, Stage.STOCK_CHECKED, dt.date(2026, 12, 1))
        assert (after.delivery_method_id, after.shipping_store_id) == (nekopos.pk, store.pk)
        assert STAMPED.match(after.work_memo).group("who", "text") == ("一括テスト", "まとめて発送")
        assert list(after.labels.all()) == [gift]
        assert after.version == before.version + 1
        assert sorted(history(after), key=str) == sorted(
            [
                (EventType.STATUS_CHANGED, before.status_id, target.pk),
                (EventType.FIELD_CHANGED, "ship_date", None, "2026-12-01"),
                (EventType.FIELD_CHANGED, "delivery_method", None, ref(nekopos)),
                (EventType.FIELD_CHANGED, "shipping_store", None, ref(store)),
                (EventType.MEMO_ADDED, "まとめて発送"),
                (EventType.LABEL_ADDED, "ギフト"),
            ],
            key=str,
        )


def test_the_status_event_carries_the_old_and_new_status_with_group_and_stage(tenant: Tenant) -> None:
    order = bank_order(tenant)
    target = status_of(tenant, Stage.STOCK_CHECKED)

    orders_bulk_update(tenant=tenant, order_ids=[order.pk], changes=BulkChanges(status=target), actor=ACTOR)

    event = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert event.data == {
        "old": {"id": order.status_id, "name": "新規受付", "group": "新規", "stage": "new"},
        "new": {"id": target.pk, "name": "在庫引当済", "group": "在庫確認済", "stage": "stock_checked"},
    }


def test_orders_already_as_asked_are_not_counted_and_keep_their_version(tenant: Tenant) -> None:
    target = status_of(tenant, Stage.STOCK_CHECKED)
    already = bank_order(tenant, status=target, ship_date=dt.date(2026, 12, 1))
    other = bank_order(tenant, ship_date=dt.date(2026, 12, 1))

    result = orders_bulk_update(
        tenant=tenant,
        order_ids=[already.pk, other.pk],
        actor=ACTOR,
        changes=BulkChanges(status=target, ship_date=dt.date(2026, 12, 1), memo="  "),
    )

    assert (result.selected, result.changed, result.moved) == (2, 1, 1)
    assert fresh(already).version == already.version
    assert history(already) == []
    assert history(other) == [(EventType.STATUS_CHANGED, other.status_id, target.pk)]


# --- refusals and skips -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Stage.SHIPPED, Stage.CANCELLED),
        (Stage.COMPLETED, Stage.NEW),
        (Stage.CANCELLED, Stage.PAID),
    ],
)
def test_a_refused_order_keeps_its_status_but_takes_the_other_changes(
    tenant: Tenant, source: Stage, target: Stage
) -> None:
    movable = bank_order(tenant, status=status_of(tenant, Stage.STOCK_CHECKED))
    stuck = bank_order(tenant, status=status_of(tenant, source))
    goal = status_of(tenant, target)

    result = orders_bulk_update(
        tenant=tenant,
        order_ids=[movable.pk, stuck.pk],
        actor=ACTOR,
        changes=BulkChanges(status=goal, memo="確認済"),
        confirm_skips=True,
    )

    assert (result.selected, result.changed, result.moved) == (2, 2, 1)
    assert result.refused == [(stuck.pk, stuck.external_id, refusal_reason(source, target))]
    assert fresh(movable).status_id == goal.pk
    kept = fresh(stuck)
    assert (kept.status_id, kept.stage, kept.version) == (stuck.status_id, source, stuck.version + 1)
    assert history(kept) == [(EventType.MEMO_ADDED, "確認済")]
    assert "1 could not move." in result.summary()


def test_a_move_that_skips_stages_changes_nothing_until_confirmed(tenant: Tenant) -> None:
    skipping = bank_order(tenant)  # new → ready to ship skips stock checked, awaiting payment and paid
    stepping = bank_order(tenant, status=status_of(tenant, Stage.PAID))  # paid → ready to ship is the next step
    target = status_of(tenant, Stage.READY_TO_SHIP)
    changes = BulkChanges(status=target, memo="先に出荷", add_labels=[label(tenant, "至急")])
    ids = [skipping.pk, stepping.pk]

    asked = orders_bulk_update(tenant=tenant, order_ids=ids, actor=ACTOR, changes=changes)

    assert not asked.applied
    assert asked.needs_confirmation == [(skipping.pk, skipping.external_id, "New", "Ready to ship")]
    assert (asked.changed, asked.moved) == (0, 0)
    assert asked.summary() == "1 order would skip stages; confirm to go on."
    for order in (skipping, stepping):
        unchanged = fresh(order)
        assert (unchanged.status_id, unchanged.work_memo, unchanged.version) == (order.status_id, "", order.version)
        assert history(order) == []
    assert not OrderLabel.objects.filter(order_id__in=ids).exists()

    confirmed = orders_bulk_update(tenant=tenant, order_ids=ids, actor=ACTOR, changes=changes, confirm_skips=True)

    assert confirmed.applied
    assert (confirmed.changed, confirmed.moved) == (2, 2)
    assert confirmed.needs_confirmation == [(skipping.pk, skipping.external_id, "New", "Ready to ship")]
    assert {fresh(order).stage for order in (skipping, stepping)} == {Stage.READY_TO_SHIP}


# --- T14: stock checked goes on to paid when the payment needs no confirmation ----------------------------


@pytest.mark.parametrize(
    ("code", "source", "expected"),
    [
        ("credit_card", Stage.NEW, Stage.PAID),
        ("cod", Stage.NEW, Stage.PAID),
        ("credit_card", Stage.SHORTAGE, Stage.PAID),
        ("bank_transfer", Stage.NEW, Stage.STOCK_CHECKED),
        ("convenience_store", Stage.SHORTAGE, Stage.STOCK_CHECKED),
        (None, Stage.NEW, Stage.STOCK_CHECKED),  # no payment method: nothing says it needs no confirmation
        ("credit_card", Stage.PAID, Stage.STOCK_CHECKED),  # taken back from paid: moves as asked
    ],
)
def test_stock_checked_goes_straight_to_paid_when_the_payment_needs_no_confirmation(
    tenant: Tenant, code: str | None, source: Stage, expected: Stage
) -> None:
    method = payment(tenant, code) if code else None
    order = make_order(tenant, payment_method=method, status=status_of(tenant, source, 2))
    asked = status_of(tenant, Stage.STOCK_CHECKED, 2)

    result = orders_bulk_update(tenant=tenant, order_ids=[order.pk], changes=BulkChanges(status=asked), actor=ACTOR)

    assert (result.applied, result.needs_confirmation, result.moved) == (True, [], 1)
    goal = asked if expected == Stage.STOCK_CHECKED else status_of(tenant, Stage.PAID)  # the first paid status
    after = fresh(order)
    assert (after.status_id, after.stage) == (goal.pk, expected)
    event = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert event.data["new"]["id"] == goal.pk
    assert event.data.get("shortcut") == (SHORTCUT if expected == Stage.PAID else None)


def test_the_shortcut_and_the_plain_move_in_one_step(tenant: Tenant) -> None:
    card = make_order(tenant)  # credit card, the factory's default
    transfer = bank_order(tenant)

    result = orders_bulk_update(
        tenant=tenant,
        order_ids=[card.pk, transfer.pk],
        actor=ACTOR,
        changes=BulkChanges(status=status_of(tenant, Stage.STOCK_CHECKED)),
    )

    assert (result.moved, result.needs_confirmation) == (2, [])
    assert (fresh(card).stage, fresh(transfer).stage) == (Stage.PAID, Stage.STOCK_CHECKED)


# --- labels and memo --------------------------------------------------------------------------------------


def test_labels_are_added_and_removed_once_and_a_second_run_writes_nothing(tenant: Tenant) -> None:
    had, lacked = make_order(tenant), make_order(tenant)
    gift, rush = label(tenant, "ギフト"), label(tenant, "至急")
    OrderLabel.objects.create(tenant=tenant, order=had, label=gift)
    ids = [had.pk, lacked.pk]

    added = orders_bulk_update(tenant=tenant, order_ids=ids, actor=ACTOR, changes=BulkChanges(add_labels=[gift]))
    again = orders_bulk_update(tenant=tenant, order_ids=ids, actor=ACTOR, changes=BulkChanges(add_labels=[gift]))

    assert (added.changed, again.changed) == (1, 0)
    assert (history(had), history(lacked)) == ([], [(EventType.LABEL_ADDED, "ギフト")])
    assert (fresh(had).version, fresh(lacked).version) == (had.version, lacked.version + 1)
    assert OrderLabel.objects.filter(order_id__in=ids, label=gift).count() == 2

    removed = orders_bulk_update(
        tenant=tenant, order_ids=ids, actor=ACTOR, changes=BulkChanges(remove_labels=[gift, rush])
    )
    again = orders_bulk_update(
        tenant=tenant, order_ids=ids, actor=ACTOR, changes=BulkChanges(remove_labels=[gift, rush])
    )

    assert (removed.changed, again.changed) == (2, 0)
    assert not OrderLabel.objects.filter(order_id__in=ids).exists()
    assert history(had) == [(EventType.LABEL_REMOVED, "ギフト")]
    assert history(lacked) == [(EventType.LABEL_ADDED, "ギフト"), (EventType.LABEL_REMOVED, "ギフト")]


def test_a_label_cannot_be_added_and_removed_in_one_step(tenant: Tenant) -> None:
    order = make_order(tenant)
    gift = label(tenant, "ギフト")
    with pytest.raises(ValueError, match="added and removed"):
        orders_bulk_update(
            tenant=tenant,
            order_ids=[order.pk],
            actor=ACTOR,
            changes=BulkChanges(add_labels=[gift], remove_labels=[gift]),
        )


def test_setting_and_clearing_the_ship_date_at_once_is_refused(tenant: Tenant) -> None:
    order = make_order(tenant)
    with pytest.raises(ValueError, match="not both"):
        orders_bulk_update(
            tenant=tenant,
            order_ids=[order.pk],
            actor=ACTOR,
            changes=BulkChanges(ship_date=dt.date(2026, 12, 1), clear_ship_date=True),
        )


def test_the_memo_is_appended_on_a_new_line_or_starts_an_empty_memo(tenant: Tenant) -> None:
    empty, filled = make_order(tenant), make_order(tenant)
    Order.objects.filter(pk=filled.pk).update(work_memo="前のメモ\n二行目")

    orders_bulk_update(
        tenant=tenant, order_ids=[empty.pk, filled.pk], actor=Actor.system("田中"), changes=BulkChanges(memo="追記")
    )

    first = fresh(empty).work_memo
    assert "\n" not in first
    assert STAMPED.match(first).group("who", "text") == ("田中", "追記")
    lines = fresh(filled).work_memo.split("\n")
    assert lines[:2] == ["前のメモ", "二行目"]
    assert len(lines) == 3
    assert STAMPED.match(lines[2]).group("who", "text") == ("田中", "追記")


# --- tenancy ----------------------------------------------------------------------------------------------


def test_another_tenants_orders_are_not_found_and_not_touched(tenant: Tenant, other_tenant: Tenant) -> None:
    mine, theirs = make_order(tenant), make_order(other_tenant)

    result = orders_bulk_update(
        tenant=tenant, order_ids=[mine.pk, theirs.pk, 10**9], actor=ACTOR, changes=BulkChanges(memo="x")
    )

    assert (result.selected, result.changed, result.not_found) == (1, 1, 2)
    assert result.summary() == "1 of 1 order changed. 2 orders were not found."
    untouched = fresh(theirs)
    assert (untouched.work_memo, untouched.version) == ("", theirs.version)
    assert history(theirs) == []


def test_a_queryset_is_scoped_to_the_tenant_and_its_filter_kept(tenant: Tenant, other_tenant: Tenant) -> None:
    """ "All matching this search" arrives as a queryset; whatever it holds, only the tenant's orders count."""
    transfers = [bank_order(tenant) for _ in range(2)]
    card = make_order(tenant)
    theirs = bank_order(other_tenant)

    everything = orders_bulk_update(
        tenant=tenant,
        order_ids=Order.objects.filter(payment_method__code="bank_transfer"),
        actor=ACTOR,
        changes=BulkChanges(memo="振込"),
    )

    assert (everything.selected, everything.changed) == (2, 2)
    assert [bool(fresh(o).work_memo) for o in (*transfers, card, theirs)] == [True, True, False, False]


@pytest.mark.parametrize("kind", ["status", "delivery_method", "shipping_store", "add_labels", "remove_labels"])
def test_another_tenants_status_label_or_method_is_refused(tenant: Tenant, other_tenant: Tenant, kind: str) -> None:
    order = make_order(tenant)
    foreign: dict[str, BulkChanges] = {
        "status": BulkChanges(status=status_of(other_tenant, Stage.STOCK_CHECKED)),
        "delivery_method": BulkChanges(delivery_method=delivery(other_tenant, "ネコポス")),
        "shipping_store": BulkChanges(shipping_store=ShippingStore.objects.for_tenant(other_tenant).get()),
        "add_labels": BulkChanges(add_labels=[label(other_tenant, "ギフト")]),
        "remove_labels": BulkChanges(remove_labels=[label(other_tenant, "ギフト")]),
    }

    with pytest.raises(ValueError, match="another tenant"):
        orders_bulk_update(tenant=tenant, order_ids=[order.pk], actor=ACTOR, changes=foreign[kind])

    assert fresh(order).version == order.version
    assert history(order) == []


# --- queries ----------------------------------------------------------------------------------------------

# savepoint, the rows, the statuses, the labels they have, the labels added, one UPDATE of the orders (all go
# to one status), the events, release
QUERIES = 8


def shape(queries: list[dict[str, str]]) -> list[str]:
    """Each statement as its verb and table; back-to-back INSERT batches into one table count once."""
    out: list[str] = []
    for query in queries:
        sql = query["sql"]
        verb = sql.split()[0]
        table = re.search(r'"(\w+)"', sql) if verb in ("SELECT", "INSERT", "UPDATE", "DELETE") else None
        kind = f"{verb} {table.group(1) if table else ''}"
        if not (kind.startswith("INSERT") and out and out[-1] == kind):
            out.append(kind)
    return out


def test_queries_do_not_grow_with_the_number_of_orders(tenant: Tenant, django_assert_max_num_queries: Any) -> None:
    few = [bank_order(tenant) for _ in range(30)]
    many = [bank_order(tenant) for _ in range(300)]
    changes = BulkChanges(
        status=status_of(tenant, Stage.STOCK_CHECKED),
        ship_date=dt.date(2026, 12, 2),
        memo="m",
        add_labels=[label(tenant, "ギフト")],
    )
    # SQLite takes 999 parameters a statement, so there Django splits the bulk INSERTs into more batches; and
    # there the count also holds the SAVEPOINT and RELEASE of the mover's atomic block (a run of this test on
    # its own, on SQLite, counted them: 9 statements for the 7 that read and write).
    batches = 0 if connection.vendor == "postgresql" else 20
    savepoints = 0 if connection.vendor == "postgresql" else 2

    with django_assert_max_num_queries(QUERIES + savepoints) as for_few:
        orders_bulk_update(tenant=tenant, order_ids=[o.pk for o in few], changes=changes, actor=ACTOR)
    with django_assert_max_num_queries(QUERIES + savepoints + batches) as for_many:
        result = orders_bulk_update(
            tenant=tenant, order_ids=Order.objects.filter(pk__in=[o.pk for o in many]), changes=changes, actor=ACTOR
        )

    assert (result.changed, result.moved) == (300, 300)
    assert shape(for_many.captured_queries) == shape(for_few.captured_queries)
    if connection.vendor == "postgresql":
        assert len(for_many) == len(for_few)
    assert OrderEvent.objects.filter(order__in=many, type=EventType.STATUS_CHANGED).count() == 300


def test_the_selected_rows_are_read_once_and_locked(tenant: Tenant, require_postgres: None) -> None:
    orders = [bank_order(tenant) for _ in range(3)]
    with CaptureQueriesContext(connection) as captured:
        orders_bulk_update(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR, changes=BulkChanges(memo="m"))
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 1
    assert reads[0].endswith('FOR UPDATE OF "orders_order"')


# --- payment confirmation (T15) ---------------------------------------------------------------------------


def test_confirm_payment_records_the_total_and_date_and_moves_to_the_first_paid_status(tenant: Tenant) -> None:
    waiting = [bank_order(tenant, status=status_of(tenant, Stage.AWAITING_PAYMENT, n)) for n in (1, 2)]
    new = bank_order(tenant)
    shipped = bank_order(tenant, status=status_of(tenant, Stage.SHIPPED))
    paid = status_of(tenant, Stage.PAID)

    result = orders_confirm_payment(
        tenant=tenant, order_ids=[o.pk for o in (*waiting, new, shipped)], actor=ACTOR, paid_on=dt.date(2026, 11, 20)
    )

    assert (result.selected, result.changed, result.moved) == (4, 2, 2)
    reason = "Only orders awaiting payment can be confirmed; this one is “%s”."  # as the order page says it
    assert result.refused == [
        (new.pk, new.external_id, reason % "New"),
        (shipped.pk, shipped.external_id, reason % "Shipped"),
    ]
    for before in waiting:
        after = fresh(before)
        assert (after.status_id, after.stage) == (paid.pk, Stage.PAID)
        assert (after.paid_amount, after.paid_on) == (before.total, dt.date(2026, 11, 20))
        assert after.version == before.version + 1
        assert sorted(history(after), key=str) == sorted(
            [
                (EventType.FIELD_CHANGED, "paid_amount", None, before.total),
                (EventType.FIELD_CHANGED, "paid_on", None, "2026-11-20"),
                (EventType.STATUS_CHANGED, before.status_id, paid.pk),
            ],
            key=str,
        )
    for refused in (new, shipped):
        assert (fresh(refused).version, history(refused)) == (refused.version, [])


def test_confirm_payment_takes_a_different_amount_for_one_order_only(tenant: Tenant) -> None:
    orders = [bank_order(tenant, status=status_of(tenant, Stage.AWAITING_PAYMENT)) for _ in range(2)]

    with pytest.raises(ValueError, match="one order"):
        orders_confirm_payment(
            tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR, paid_on=dt.date(2026, 11, 20), amount=1000
        )
    orders_confirm_payment(
        tenant=tenant, order_ids=[orders[0].pk], actor=ACTOR, paid_on=dt.date(2026, 11, 20), amount=1000
    )

    assert (fresh(orders[0]).paid_amount, fresh(orders[1]).paid_amount) == (1000, None)
    assert (EventType.FIELD_CHANGED, "paid_amount", None, 1000) in history(orders[0])


def test_confirm_payment_does_not_reach_another_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = bank_order(other_tenant, status=status_of(other_tenant, Stage.AWAITING_PAYMENT))

    result = orders_confirm_payment(tenant=tenant, order_ids=[theirs.pk], actor=ACTOR, paid_on=dt.date(2026, 11, 20))

    assert (result.selected, result.not_found) == (0, 1)
    assert fresh(theirs).paid_on is None


# --- cancellation (T15) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(tenant: Tenant, reason: str) -> None:
    order = make_order(tenant)
    with pytest.raises(ValueError, match="reason"):
        orders_cancel(tenant=tenant, order_ids=[order.pk], actor=ACTOR, reason=reason)
    assert fresh(order).stage == Stage.NEW


def test_cancel_moves_what_may_be_cancelled_and_refuses_shipped_completed_and_cancelled(tenant: Tenant) -> None:
    new = make_order(tenant)
    ready = make_order(tenant, status=status_of(tenant, Stage.READY_TO_SHIP, 2))
    shipped = make_order(tenant, status=status_of(tenant, Stage.SHIPPED))
    completed = make_order(tenant, status=status_of(tenant, Stage.COMPLETED))
    cancelled = make_order(tenant, status=status_of(tenant, Stage.CANCELLED, 2))
    target = status_of(tenant, Stage.CANCELLED)
    ids = [o.pk for o in (new, ready, shipped, completed, cancelled)]

    result = orders_cancel(tenant=tenant, order_ids=ids, actor=ACTOR, reason=" お客様都合 ")

    assert (result.selected, result.changed, result.moved) == (5, 2, 2)
    assert result.refused == [
        (shipped.pk, shipped.external_id, refusal_reason(Stage.SHIPPED, Stage.CANCELLED)),
        (completed.pk, completed.external_id, refusal_reason(Stage.COMPLETED, Stage.CANCELLED)),
        (cancelled.pk, cancelled.external_id, "This order is already cancelled."),  # as the order page says it
    ]
    assert result.refused[0][2] == (
        "A shipped order cannot be cancelled; it can only move on to Completed (sale). "
        "Note what happened in its work memo."
    )
    for before in (new, ready):
        after = fresh(before)
        assert (after.status_id, after.stage, after.cancel_reason) == (target.pk, Stage.CANCELLED, "お客様都合")
        assert after.version == before.version + 1
        assert sorted(history(after), key=str) == sorted(
            [
                (EventType.FIELD_CHANGED, "cancel_reason", "", "お客様都合"),
                (EventType.STATUS_CHANGED, before.status_id, target.pk),
            ],
            key=str,
        )
    for untouched in (shipped, completed, cancelled):
        after = fresh(untouched)
        assert (after.status_id, after.cancel_reason, after.version) == (untouched.status_id, "", untouched.version)


# --- the summary --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (BulkResult(selected=3, changed=3), "3 of 3 orders changed."),
        (BulkResult(selected=1, changed=0), "0 of 1 order changed."),
        (BulkResult(selected=3, changed=2, refused=[(1, "A-1", "…")]), "2 of 3 orders changed. 1 could not move."),
        (
            BulkResult(applied=False, needs_confirmation=[(1, "A-1", "New", "Paid")] * 2),
            "2 orders would skip stages; confirm to go on.",
        ),
    ],
)
def test_summary(result: BulkResult, text: str) -> None:
    assert result.summary() == text


def test_summary_in_japanese() -> None:
    with translation.override("ja"):
        assert BulkResult(selected=3, changed=2).summary() == "3 件中 2 件を変更しました。"


# --- the views ------------------------------------------------------------------------------------------


def select(client: Any, orders: list[Order]) -> None:
    client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in orders]})


def test_bulk_view_moves_the_selection_with_memo_and_label(operator_client: Any, operator: Any, tenant: Tenant) -> None:
    orders = [bank_order(tenant) for _ in range(3)]
    untouched = bank_order(tenant)
    gift = Label.objects.for_tenant(tenant).get(name="ギフト")
    target = status_of(tenant, Stage.STOCK_CHECKED)
    select(operator_client, orders)

    response = operator_client.post(
        reverse("order_bulk_edit"),
        {
            "status": target.pk,
            "memo": "一括",
            "add_labels": [gift.pk],
            "next": "/orders/?status=1",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/orders/?status=1"
    assert "3 件中 3 件" in response.content.decode() or "3 of 3" in response.content.decode()
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=target).count() == 3
    assert Order.objects.get(pk=untouched.pk).stage == Stage.NEW
    assert OrderEvent.objects.filter(type=EventType.STATUS_CHANGED, actor_user=operator).count() == 3


def test_bulk_view_asks_before_skipping_stages(operator_client: Any, tenant: Tenant) -> None:
    order = bank_order(tenant)
    select(operator_client, [order])
    target = status_of(tenant, Stage.READY_TO_SHIP)

    response = operator_client.post(reverse("order_bulk_edit"), {"status": target.pk})

    assert response.status_code == 200
    assert 'name="confirm_skips" value="on"' in response.content.decode()
    assert Order.objects.get(pk=order.pk).stage == Stage.NEW
    operator_client.post(reverse("order_bulk_edit"), {"status": target.pk, "confirm_skips": "on"})
    assert Order.objects.get(pk=order.pk).stage == Stage.READY_TO_SHIP


def test_bulk_view_refuses_an_empty_change_and_foreign_choices(
    operator_client: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = make_order(tenant)
    select(operator_client, [order])
    empty = operator_client.post(reverse("order_bulk_edit"), {}, follow=True)
    assert "変更内容" in empty.content.decode() or "Choose at least one change" in empty.content.decode()
    foreign = operator_client.post(
        reverse("order_bulk_edit"), {"status": status_of(other_tenant, Stage.PAID).pk}, follow=True
    )
    assert foreign.status_code == 200
    assert Order.objects.get(pk=order.pk).stage == Stage.NEW


def test_bulk_views_for_payment_and_cancel(operator_client: Any, tenant: Tenant) -> None:
    waiting = bank_order(tenant, status=status_of(tenant, Stage.AWAITING_PAYMENT))
    select(operator_client, [waiting])
    operator_client.post(reverse("order_bulk_confirm_payment"), {"paid_on": "2026-11-21"})
    assert Order.objects.get(pk=waiting.pk).paid_on == dt.date(2026, 11, 21)
    select(operator_client, [waiting])  # an action that ran clears the selection
    response = operator_client.post(reverse("order_bulk_cancel"), {"reason": ""}, follow=True)
    assert Order.objects.get(pk=waiting.pk).stage == Stage.PAID
    assert response.status_code == 200
    operator_client.post(reverse("order_bulk_cancel"), {"reason": "在庫切れ"})
    assert Order.objects.get(pk=waiting.pk).stage == Stage.CANCELLED
