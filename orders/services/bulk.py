"""Set-based work on many orders at once: bulk edit (B5, T14), payment confirmation and cancellation (T15).

Each call reads the selected orders once (one values() query per chunk of ids, rows locked in id order by
orders.locks), decides per order in Python, applies the changes with one UPDATE per outcome and chunk, and
writes one event per order per change in one go (orders.copy): the number of queries grows with the kinds of
change and the number of chunks, never with the number of orders.

The order page's payment confirmation and cancellation of one order are these same services over a set of
one (orders.services.payments).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backyard.models import Tenant, TenantOwned
from shipping.models import DeliveryMethod, ShippingStore
from shops.constants import MallKind

from .. import events, hooks
from ..constants import STAGE_RANK, Stage, is_allowed, refusal_reason, skips_stages
from ..copy import save_events
from ..events import Actor
from ..exceptions import StageMoveRefused, StaleOrder
from ..locks import OrderIds, Row, orders_lock
from ..models import Label, Order, OrderEvent, OrderLabel, Status
from ..selectors import first_status, statuses_in_order
from ..sets import chunked, ids_in, order_stubs

EVENT_BATCH = 2_000  # rows per INSERT of labels
SHORTCUT = "paid_without_confirmation"  # event data["shortcut"] of a T14 stock-checked move that went to paid


@dataclass
class BulkChanges:
    """What to change on every selected order; None / empty means "leave as it is"."""

    status: Status | None = None
    ship_date: dt.date | None = None
    clear_ship_date: bool = False
    delivery_method: DeliveryMethod | None = None
    shipping_store: ShippingStore | None = None
    memo: str = ""
    add_labels: list[Label] = field(default_factory=list)
    remove_labels: list[Label] = field(default_factory=list)
    # T14, auction orders only (others are left as they are): True marks the buyer rated now (an order already
    # marked keeps its date), False takes the mark back.
    buyer_rated: bool | None = None


@dataclass
class BulkResult:
    """The outcome, for the operator: counts, each refused order with its reason, and pending skips."""

    selected: int = 0
    changed: int = 0  # orders that changed in any way
    moved: int = 0  # orders whose status changed
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (order id, order number, reason)
    not_found: int = 0  # ids asked for that are not the tenant's orders
    needs_confirmation: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, number, from, to
    applied: bool = True  # False: nothing was changed, the skips in needs_confirmation wait for a yes
    changed_ids: set[int] = field(default_factory=set)  # which orders changed (rules count them per rule)
    written_ids: set[int] = field(default_factory=set)  # of those, orders whose row was written (new version)

    def summary(self) -> str:
        """One line for the operator, in their language."""
        if not self.applied:
            n = len(self.needs_confirmation)
            return ngettext(
                "%(n)d order would skip stages; confirm to go on.",
                "%(n)d orders would skip stages; confirm to go on.",
                n,
            ) % {"n": n}
        parts = [
            ngettext(
                "%(changed)d of %(selected)d order changed.",
                "%(changed)d of %(selected)d orders changed.",
                self.selected,
            )
            % {"changed": self.changed, "selected": self.selected}
        ]
        if self.refused:
            n = len(self.refused)
            parts.append(ngettext("%(n)d could not move.", "%(n)d could not move.", n) % {"n": n})
        if self.not_found:
            parts.append(
                ngettext("%(n)d order was not found.", "%(n)d orders were not found.", self.not_found)
                % {"n": self.not_found}
            )
        return " ".join(parts)


# --- reading and writing in chunks ------------------------------------------------------------------------


def _update(tenant: Tenant, ids: list[int], **values: Any) -> None:
    """One UPDATE per chunk of ids."""
    for chunk in chunked(sorted(ids)):
        Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant.pk).update(**values)


def _bumped() -> dict[str, Any]:
    """What every changed order gets once per call: a new version and updated_at."""
    return {"version": F("version") + 1, "updated_at": timezone.now()}


def _check_tenant(tenant: Tenant, *objects: TenantOwned | None) -> None:
    foreign = [str(obj) for obj in objects if obj is not None and obj.tenant_id != tenant.pk]
    if foreign:
        raise ValueError(f"belongs to another tenant: {foreign}")


# --- status moves -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Move:
    order_id: int
    old: Status
    new: Status
    shortcut: bool = False


def _status_event(move: _Move, stubs: dict[int, Order], actor: Actor) -> OrderEvent:
    event = events.order_status_changed_event(
        order=stubs[move.order_id], actor=actor, old=move.old, new=move.new, commit=False
    )
    if move.shortcut:
        event.data["shortcut"] = SHORTCUT
    return event


def _apply_moves(
    tenant: Tenant, moves: list[_Move], stubs: dict[int, Order], actor: Actor, **extra: Any
) -> list[OrderEvent]:
    """UPDATE the moved orders (with `extra`), one statement per target status and chunk; return their events."""
    by_target: dict[Status, list[int]] = defaultdict(list)
    for move in moves:
        by_target[move.new].append(move.order_id)
    for target, ids in by_target.items():
        _update(tenant, ids, status_id=target.pk, stage=target.group.stage, **extra)
    built = [_status_event(move, stubs, actor) for move in moves]
    hooks.orders_entered_status(
        tenant_id=tenant.pk,
        entered={target.pk: ids for target, ids in by_target.items()},
        actor=actor,
        stages={target.pk: target.group.stage for target in by_target},
    )
    return built


def _takes_shortcut(row: Row, target: Status) -> bool:
    """T14: an order arriving at "stock checked" (from new, or from shortage beside it) whose payment needs
    no confirmation (credit card, COD …) has nothing to wait for and goes on to "paid". Orders without a
    payment method, and orders taken back from later stages, move as asked."""
    source = Stage(row["stage"])
    return (
        target.group.stage == Stage.STOCK_CHECKED
        and row["payment_method__needs_payment_confirmation"] is False
        and source != Stage.STOCK_CHECKED
        and STAGE_RANK[source] <= STAGE_RANK[Stage.STOCK_CHECKED]
        and is_allowed(source, Stage.PAID)
    )


def _plan_moves(
    rows: list[Row], target: Status, statuses: list[Status], result: BulkResult, paid_shortcut: bool = True
) -> list[_Move]:
    """Per order: where it goes, or why it cannot; moves that skip stages are listed for confirmation."""
    by_id = {status.pk: status for status in statuses}
    paid = first_status(tenant=target.tenant_id, stage=Stage.PAID, statuses=statuses) if paid_shortcut else None
    moves = []
    for row in rows:
        goal, shortcut = target, False
        if paid is not None and _takes_shortcut(row, target):
            goal, shortcut = paid, True
        if row["status_id"] == goal.pk:
            continue
        source, stage = row["stage"], goal.group.stage
        if not is_allowed(source, stage):
            result.refused.append((row["id"], row["external_id"], refusal_reason(source, stage)))
            continue
        if not shortcut and skips_stages(source, stage):
            result.needs_confirmation.append(
                (row["id"], row["external_id"], str(Stage(source).label), str(Stage(stage).label))
            )
        moves.append(_Move(row["id"], by_id[row["status_id"]], goal, shortcut))
    return moves


# --- bulk edit (B5, T14) ----------------------------------------------------------------------------------

EDIT_FIELDS = (
    "id",
    "external_id",
    "stage",
    "status_id",
    "payment_method__needs_payment_confirmation",
    "ship_date",
    "delivery_method_id",
    "shipping_store_id",
    "buyer_rated_at",
    "shop__mall",
)


def _check_changes(tenant: Tenant, changes: BulkChanges) -> None:
    _check_tenant(
        tenant,
        changes.status,
        changes.delivery_method,
        changes.shipping_store,
        *changes.add_labels,
        *changes.remove_labels,
    )
    if changes.ship_date is not None and changes.clear_ship_date:
        raise ValueError("set a ship date or clear it, not both")
    both = {label.pk for label in changes.add_labels} & {label.pk for label in changes.remove_labels}
    if both:
        raise ValueError(f"labels both added and removed: {sorted(both)}")


def _field_plan(changes: BulkChanges) -> list[tuple[str, str, Any, Any]]:
    """(model field, row key, value for SQL, value for the event) of each field to set."""
    plan: list[tuple[str, str, Any, Any]] = []
    if changes.clear_ship_date:
        plan.append(("ship_date", "ship_date", None, None))
    elif changes.ship_date is not None:
        plan.append(("ship_date", "ship_date", changes.ship_date, changes.ship_date))
    if changes.delivery_method is not None:
        plan.append(("delivery_method", "delivery_method_id", changes.delivery_method.pk, changes.delivery_method))
    if changes.shipping_store is not None:
        plan.append(("shipping_store", "shipping_store_id", changes.shipping_store.pk, changes.shipping_store))
    return plan


def _field_events(
    tenant: Tenant,
    rows: list[Row],
    plan: list[tuple[str, str, Any, Any]],
    stubs: dict[int, Order],
    actor: Actor,
    touched: set[int],
) -> list[OrderEvent]:
    """One event per order and field that really changes (old and new); those orders are touched."""
    if not plan:
        return []
    olds: dict[str, dict[int, Any]] = {}  # the rows an old foreign key points at, for the event's {id, name}
    if any(name == "delivery_method" for name, *_rest in plan):
        olds["delivery_method"] = {d.pk: d for d in DeliveryMethod.objects.for_tenant(tenant)}
    if any(name == "shipping_store" for name, *_rest in plan):
        olds["shipping_store"] = {s.pk: s for s in ShippingStore.objects.for_tenant(tenant)}
    built: list[OrderEvent] = []
    for row in rows:
        for name, key, sql_value, event_value in plan:
            if row[key] == sql_value:
                continue
            old = olds[name].get(row[key]) if name in olds else row[key]
            built.append(
                events.order_field_changed_event(
                    order=stubs[row["id"]], actor=actor, field=name, old=old, new=event_value, commit=False
                )
            )
            touched.add(row["id"])
    return built


def _rating(
    rows: list[Row], rated: bool | None, stubs: dict[int, Order], actor: Actor, touched: set[int]
) -> tuple[dict[str, Any], set[int], list[OrderEvent]]:
    """T14: the auction orders whose "buyer rated" mark changes, the value they take and their events."""
    if rated is None:
        return {}, set(), []
    value = timezone.now() if rated else None
    changing = [
        row for row in rows if row["shop__mall"] == MallKind.AUCTION and (row["buyer_rated_at"] is None) == rated
    ]
    built = [
        events.order_field_changed_event(
            order=stubs[row["id"]], actor=actor, field="buyer_rated_at", old=row["buyer_rated_at"], new=value,
            commit=False,
        )
        for row in changing
    ]  # fmt: skip
    ids = {row["id"] for row in changing}
    touched.update(ids)
    return {"buyer_rated_at": value}, ids, built


def _memo_appended(text: str, actor: Actor) -> Case:
    """The work memo with a stamped line appended, as order_add_memo writes it, as one SQL expression."""
    entry = f"[{timezone.localtime().strftime('%Y/%m/%d %H:%M')} {actor.name}] {text}"
    return Case(
        When(work_memo="", then=Value(entry)),
        default=Concat(F("work_memo"), Value("\n" + entry), output_field=TextField()),
        output_field=TextField(),
    )


def _labels(
    tenant: Tenant, rows: list[Row], changes: BulkChanges, stubs: dict[int, Order], actor: Actor, touched: set[int]
) -> list[OrderEvent]:
    """Add and remove labels; events only for the orders that really gained or lost one."""
    built: list[OrderEvent] = []
    ids = [row["id"] for row in rows]
    if changes.add_labels:
        have: set[tuple[int, int]] = set()
        for chunk in chunked(ids):
            have.update(
                OrderLabel.objects.filter(
                    ids_in("order_id", chunk), tenant_id=tenant.pk, label__in=changes.add_labels
                ).values_list("order_id", "label_id")
            )
        new = [
            (order_id, label) for label in changes.add_labels for order_id in ids if (order_id, label.pk) not in have
        ]
        OrderLabel.objects.bulk_create(
            [OrderLabel(tenant_id=tenant.pk, order_id=order_id, label_id=label.pk) for order_id, label in new],
            batch_size=EVENT_BATCH,
            ignore_conflicts=True,
        )
        for order_id, label in new:
            built.append(events.order_label_added_event(order=stubs[order_id], actor=actor, label=label, commit=False))
            touched.add(order_id)
    if changes.remove_labels:
        labels = {label.pk: label for label in changes.remove_labels}
        for chunk in chunked(ids):
            doomed = list(
                OrderLabel.objects.filter(ids_in("order_id", chunk), tenant_id=tenant.pk, label__in=labels).values_list(
                    "pk", "order_id", "label_id"
                )
            )
            if not doomed:
                continue
            OrderLabel.objects.filter(pk__in=[pk for pk, _order, _label in doomed]).delete()
            for _pk, order_id, label_id in doomed:
                built.append(
                    events.order_label_removed_event(
                        order=stubs[order_id], actor=actor, label=labels[label_id], commit=False
                    )
                )
                touched.add(order_id)
    return built


@transaction.atomic
def orders_bulk_update(
    *,
    tenant: Tenant,
    order_ids: OrderIds,
    changes: BulkChanges,
    actor: Actor,
    confirm_skips: bool = False,
    paid_shortcut: bool = True,
    bump_unwritten: bool = True,
) -> BulkResult:
    """Apply several changes to many orders in one step (一括変更).

    An order the lifecycle does not let move keeps its status and is reported with the reason, while its
    other changes still apply. If any move would skip stages (new → ready to ship, say), nothing at all
    changes unless `confirm_skips`: the result lists those orders so the operator can say yes first.
    "Stock checked" takes orders whose payment needs no confirmation straight on to "paid" (T14); that is
    not a skip to confirm. That shortcut is the operator's convenience: `paid_shortcut=False` (what the
    auto-processing rules pass) moves every order exactly where it was asked to go.

    Each changed order row is written once: one UPDATE per target status (and one for the orders that do
    not move) per chunk sets the status, the fields, the memo and the new version together.
    An order whose only change is a label is not written otherwise; it gets an UPDATE of its own for the
    new version, unless `bump_unwritten=False`: a caller that makes many such calls in one transaction
    (automation's engine) raises the version of the orders changed but not written
    (`changed_ids - written_ids`) once at its end, instead of rewriting each row once more per call.
    """
    _check_changes(tenant, changes)
    rows, not_found = orders_lock(tenant, order_ids, EDIT_FIELDS)
    result = BulkResult(selected=len(rows), not_found=not_found)
    moves: list[_Move] = []
    if changes.status is not None:
        statuses = statuses_in_order(tenant=tenant)
        target = next((status for status in statuses if status.pk == changes.status.pk), None)
        if target is None:
            raise ValueError(f"no such status: {changes.status.pk}")
        moves = _plan_moves(rows, target, statuses, result, paid_shortcut)
        if result.needs_confirmation and not confirm_skips:
            result.applied = False
            return result
    stubs = order_stubs(tenant)
    touched = {move.order_id for move in moves}
    built = [_status_event(move, stubs, actor) for move in moves]
    plan = _field_plan(changes)
    built += _field_events(tenant, rows, plan, stubs, actor, touched)
    built += _labels(tenant, rows, changes, stubs, actor, touched)
    rating, rated_ids, rating_events = _rating(rows, changes.buyer_rated, stubs, actor, touched)
    built += rating_events
    values: dict[str, Any] = {key: sql_value for _name, key, sql_value, _event in plan}
    memo = changes.memo.strip()
    if memo:
        values["work_memo"] = _memo_appended(memo, actor)
        built += [
            events.order_memo_added_event(order=stubs[row["id"]], actor=actor, text=memo, commit=False) for row in rows
        ]
        touched.update(row["id"] for row in rows)
    # Setting a field to the value it already has is harmless, so every touched order takes all of them.
    groups: dict[Status | None, list[int]] = defaultdict(list)
    moved_to = {move.order_id: move.new for move in moves}
    for order_id in touched:
        groups[moved_to.get(order_id)].append(order_id)
    for status, group_ids in groups.items():
        moved = {"status_id": status.pk, "stage": status.group.stage} if status is not None else {}
        # The rating goes to the auction orders it changes only: those are written apart.
        for ids, extra in (
            ([i for i in group_ids if i not in rated_ids], {}),
            ([i for i in group_ids if i in rated_ids], rating),
        ):
            if not ids or not (values or moved or extra or bump_unwritten):
                continue  # label changes only: the caller raises their version
            _update(tenant, ids, **values, **moved, **extra, **_bumped())
            result.written_ids.update(ids)
    save_events(built)
    entered: dict[int, list[int]] = defaultdict(list)
    for move in moves:
        entered[move.new.pk].append(move.order_id)
    hooks.orders_entered_status(
        tenant_id=tenant.pk, entered=entered, actor=actor, stages={m.new.pk: m.new.group.stage for m in moves}
    )
    result.moved = len(moves)
    result.changed = len(touched)
    result.changed_ids = touched
    return result


# --- payment confirmation and cancellation (T15) ----------------------------------------------------------
# The order page's confirmation and cancellation of one order go through these too (orders.services.payments:
# one order is a set of one), so both give the same result and the same reasons.

PAYMENT_FIELDS = ("id", "external_id", "stage", "status_id", "version", "total", "paid_amount", "paid_on")
CANCEL_FIELDS = ("id", "external_id", "stage", "status_id", "version", "cancel_reason")


def _target(tenant: Tenant, stage: Stage) -> tuple[Status, dict[int, Status]]:
    """The first status of `stage` (orders.selectors.first_status) and the tenant's statuses by id; refused
    with a reason for the tenant admin when the tenant has no status in that stage."""
    statuses = statuses_in_order(tenant=tenant)
    target = first_status(tenant=tenant, stage=stage, statuses=statuses)
    if target is None:
        raise StageMoveRefused(
            _("This tenant has no status in the “%(stage)s” stage; add one in the admin.") % {"stage": stage.label}
        )
    return target, {status.pk: status for status in statuses}


def _check_one(rows: list[Row], expected_version: int | None) -> None:
    """`expected_version` (the version the operator loaded) is for one order: StaleOrder if it changed since."""
    if expected_version is None:
        return
    if len(rows) != 1:
        raise ValueError("an expected version can only be given for one order")
    if rows[0]["version"] != expected_version:
        raise StaleOrder(_("Someone else changed this order while you were editing it. Reload and try again."))


@transaction.atomic
def orders_confirm_payment(
    *,
    tenant: Tenant,
    order_ids: OrderIds,
    actor: Actor,
    paid_on: dt.date,
    amount: int | None = None,
    expected_version: int | None = None,
) -> BulkResult:
    """入金確認: orders awaiting payment get the amount paid (their total, or `amount` when confirming a
    single order) and the date, and move to the first "paid" status. Any other order is refused with the
    stage it is in.

    `expected_version` (one order only) is the version the operator loaded: StaleOrder if someone saved in
    between. StageMoveRefused when the tenant has no "paid" status. Nothing changes on any refusal."""
    if amount is not None and amount < 0:
        raise ValueError(_("The amount paid cannot be negative."))
    target, by_id = _target(tenant, Stage.PAID)
    rows, not_found = orders_lock(tenant, order_ids, PAYMENT_FIELDS)
    if amount is not None and len(rows) != 1:
        raise ValueError("an amount can only be given when confirming one order")
    _check_one(rows, expected_version)
    result = BulkResult(selected=len(rows), not_found=not_found)
    stubs = order_stubs(tenant)
    moves: list[_Move] = []
    built: list[OrderEvent] = []
    for row in rows:
        if row["stage"] != Stage.AWAITING_PAYMENT:
            reason = _("Only orders awaiting payment can be confirmed; this one is “%(stage)s”.") % {
                "stage": Stage(row["stage"]).label
            }
            result.refused.append((row["id"], row["external_id"], reason))
            continue
        moves.append(_Move(row["id"], by_id[row["status_id"]], target))
        stub, paid = stubs[row["id"]], row["total"] if amount is None else amount
        for name, new in (("paid_amount", paid), ("paid_on", paid_on)):
            if row[name] != new:
                built.append(
                    events.order_field_changed_event(
                        order=stub, actor=actor, field=name, old=row[name], new=new, commit=False
                    )
                )
    paid_amount = F("total") if amount is None else amount
    built += _apply_moves(tenant, moves, stubs, actor, paid_amount=paid_amount, paid_on=paid_on, **_bumped())
    save_events(built)
    result.moved = result.changed = len(moves)
    result.changed_ids = {move.order_id for move in moves}
    result.written_ids = set(result.changed_ids)
    return result


@transaction.atomic
def orders_cancel(
    *, tenant: Tenant, order_ids: OrderIds, actor: Actor, reason: str, expected_version: int | None = None
) -> BulkResult:
    """キャンセル with a reason: every order the lifecycle lets go to cancelled moves to the first cancelled
    status and keeps the reason. Shipped and completed orders are refused with the lifecycle's reason, orders
    already cancelled with "already cancelled" (they keep their status and reason).

    A blank reason is a ValueError; `expected_version` and a tenant without a "cancelled" status as for
    orders_confirm_payment."""
    reason = reason.strip()
    if not reason:
        raise ValueError(_("Enter a reason for cancelling."))
    target, by_id = _target(tenant, Stage.CANCELLED)
    rows, not_found = orders_lock(tenant, order_ids, CANCEL_FIELDS)
    _check_one(rows, expected_version)
    result = BulkResult(selected=len(rows), not_found=not_found)
    stubs = order_stubs(tenant)
    moves: list[_Move] = []
    built: list[OrderEvent] = []
    for row in rows:
        if row["stage"] == Stage.CANCELLED:
            result.refused.append((row["id"], row["external_id"], _("This order is already cancelled.")))
            continue
        if not is_allowed(row["stage"], Stage.CANCELLED):
            result.refused.append((row["id"], row["external_id"], refusal_reason(row["stage"], Stage.CANCELLED)))
            continue
        moves.append(_Move(row["id"], by_id[row["status_id"]], target))
        if row["cancel_reason"] != reason:
            built.append(
                events.order_field_changed_event(
                    order=stubs[row["id"]],
                    actor=actor,
                    field="cancel_reason",
                    old=row["cancel_reason"],
                    new=reason,
                    commit=False,
                )
            )
    built += _apply_moves(tenant, moves, stubs, actor, cancel_reason=reason, **_bumped())
    save_events(built)
    result.moved = result.changed = len(moves)
    result.changed_ids = {move.order_id for move in moves}
    result.written_ids = set(result.changed_ids)
    return result
