"""The order lifecycle: every pair of stages against TRANSITIONS, the named business rules, and a random walk.

Orders reach a source stage only along a legal path (`order_in_stage`), through the real service.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation
from django_fsm import can_proceed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backyard.models import Tenant
from orders.constants import TRANSITIONS, EventType, Stage, is_allowed, refusal_reason, skips_stages
from orders.events import Actor
from orders.exceptions import StageMoveRefused
from orders.models import Order, OrderEvent, Status
from orders.services import order_move_to_status
from tests.factories import make_order

S = Stage
ACTOR = Actor.system("lifecycle-test")
ALL_PAIRS = [(source, target) for source in Stage for target in Stage if source != target]
ALLOWED = [(source, target) for source, target in ALL_PAIRS if target in TRANSITIONS[source]]
FORBIDDEN = [(source, target) for source, target in ALL_PAIRS if target not in TRANSITIONS[source]]
# Written out here, not derived from the code under test.
BEFORE_SHIPPED = [S.NEW, S.STOCK_CHECKED, S.SHORTAGE, S.AWAITING_PAYMENT, S.PAID, S.READY_TO_SHIP]


def pair_id(pair: tuple[Stage, Stage]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Reasons are asserted in English, whatever translations the catalogue holds."""
    with translation.override("en"):
        yield


# --- helpers ----------------------------------------------------------------------------------------------


def stage_path(target: Stage, start: Stage = S.NEW) -> list[Stage]:
    """The shortest legal route from `start` to `target` through TRANSITIONS (BFS), without `start`."""
    previous: dict[Stage, Stage | None] = {start: None}
    queue = deque([start])
    while queue:
        stage = queue.popleft()
        for nxt in sorted(TRANSITIONS[stage]):
            if nxt not in previous:
                previous[nxt] = stage
                queue.append(nxt)
    if target not in previous:
        raise AssertionError(f"{target} cannot be reached from {start}")
    path: list[Stage] = []
    node: Stage | None = target
    while node is not None and node != start:
        path.append(node)
        node = previous[node]
    return path[::-1]


def statuses_of(tenant: Tenant, stage: Stage) -> list[Status]:
    return list(
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .select_related("group")
        .order_by("group__position", "position", "pk")
    )


def order_in_stage(tenant: Tenant, stage: Stage) -> Order:
    """A new order walked to `stage` along a legal path, through `order_move_to_status`."""
    order = make_order(tenant)
    for step in stage_path(stage):
        order = order_move_to_status(order=order, status=statuses_of(tenant, step)[0], actor=ACTOR)
    assert order.stage == stage
    return order


def reload(order: Order) -> Order:
    return Order.objects.select_related("status__group").get(pk=order.pk)


def snapshot(order: Order) -> dict[str, Any]:
    """What a refused move must leave alone: the row's status, stage, version and time, and the events."""
    row = Order.objects.filter(pk=order.pk).values("status_id", "stage", "version", "updated_at").get()
    row["events"] = list(OrderEvent.objects.filter(order_id=order.pk).order_by("pk").values_list("pk", "type"))
    return row


def status_data(status: Status) -> dict[str, Any]:
    return {"id": status.pk, "name": status.name, "group": status.group.name, "stage": status.group.stage}


# --- the table itself -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(Stage), ids=lambda s: s.value)
def test_every_stage_is_reachable_from_new(stage: Stage) -> None:
    path = stage_path(stage)
    assert (path[-1] if path else S.NEW) == stage
    for source, target in pairwise([S.NEW, *path]):
        assert target in TRANSITIONS[source]


@pytest.mark.parametrize("source", list(Stage), ids=lambda s: s.value)
def test_fsm_transition_methods_agree_with_table(source: Stage) -> None:
    order = Order(stage=source)  # in memory only: can_proceed looks at nothing but the stage field
    for target in Stage:
        assert can_proceed(getattr(order, f"to_{target.value}")) == (target in TRANSITIONS[source]), target
    assert {t.target for t in order.get_available_stage_transitions()} == set(TRANSITIONS[source])


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[pair_id(p) for p in FORBIDDEN])
def test_advance_to_refuses_forbidden_step_in_memory(source: Stage, target: Stage) -> None:
    order = Order(stage=source)
    with pytest.raises(StageMoveRefused) as excinfo:
        order.advance_to(target)
    assert excinfo.value.reason == refusal_reason(source, target)
    assert order.stage == source


# --- every pair of stages through the service -------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[pair_id(p) for p in ALLOWED])
def test_allowed_stage_move_succeeds(tenant: Tenant, source: Stage, target: Stage) -> None:
    order = order_in_stage(tenant, source)
    old_status, before = order.status, snapshot(order)
    new_status = statuses_of(tenant, target)[0]

    moved = order_move_to_status(order=order, status=new_status, actor=ACTOR)

    fresh = reload(order)
    assert (moved.stage, moved.status_id) == (target, new_status.pk)
    assert (fresh.stage, fresh.status_id) == (target, new_status.pk)
    assert fresh.status.group.stage == fresh.stage
    assert fresh.version == before["version"] + 1
    new_events = list(OrderEvent.objects.filter(order=order).exclude(pk__in=[pk for pk, _ in before["events"]]))
    assert [e.type for e in new_events] == [EventType.STATUS_CHANGED]
    assert new_events[0].data == {"old": status_data(old_status), "new": status_data(new_status)}


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[pair_id(p) for p in FORBIDDEN])
def test_forbidden_stage_move_is_refused_and_changes_nothing(tenant: Tenant, source: Stage, target: Stage) -> None:
    order = order_in_stage(tenant, source)
    before = snapshot(order)

    with pytest.raises(StageMoveRefused) as excinfo:
        order_move_to_status(order=order, status=statuses_of(tenant, target)[0], actor=ACTOR)

    reason = excinfo.value.reason
    assert reason == str(excinfo.value) == refusal_reason(source, target)
    # Specific: it names the stage the order is in, and for the plain case also where it was asked to go.
    assert source.label.split()[0].lower() in reason.lower()
    if source not in (S.SHIPPED, S.COMPLETED):
        assert f"“{source.label}”" in reason
        assert f"“{target.label}”" in reason
    assert snapshot(order) == before
    assert reload(order).stage == source


@pytest.mark.parametrize("stage", list(Stage), ids=lambda s: s.value)
def test_moves_between_statuses_of_one_group_always_work(tenant: Tenant, stage: Stage) -> None:
    order = order_in_stage(tenant, stage)
    first, second = statuses_of(tenant, stage)
    assert order.status_id == first.pk
    events_before = OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED).count()

    order = order_move_to_status(order=order, status=second, actor=ACTOR)
    assert (reload(order).status_id, reload(order).stage) == (second.pk, stage)
    order = order_move_to_status(order=order, status=first, actor=ACTOR)

    fresh = reload(order)
    assert (fresh.status_id, fresh.stage) == (first.pk, stage)
    changes = OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED).order_by("pk")
    assert changes.count() == events_before + 2
    assert [(e.data["old"]["id"], e.data["new"]["id"]) for e in changes][-2:] == [
        (first.pk, second.pk),
        (second.pk, first.pk),
    ]


def test_moving_to_the_current_status_is_a_no_op(tenant: Tenant) -> None:
    order = make_order(tenant)
    before = snapshot(order)
    moved = order_move_to_status(order=order, status=order.status, actor=ACTOR)
    assert moved.status_id == order.status_id
    assert snapshot(order) == before


# --- business rules by name -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", BEFORE_SHIPPED, ids=lambda s: s.value)
def test_cancel_is_allowed_from_every_stage_before_shipped(tenant: Tenant, stage: Stage) -> None:
    order = order_in_stage(tenant, stage)
    cancelled = order_move_to_status(order=order, status=statuses_of(tenant, S.CANCELLED)[0], actor=ACTOR)
    assert reload(cancelled).stage == S.CANCELLED


def test_shipped_order_cannot_be_cancelled_and_the_reason_names_only_what_exists(tenant: Tenant) -> None:
    order = order_in_stage(tenant, S.SHIPPED)
    before = snapshot(order)
    with pytest.raises(StageMoveRefused, match="cannot be cancelled; it can only move on to"):
        order_move_to_status(order=order, status=statuses_of(tenant, S.CANCELLED)[0], actor=ACTOR)
    assert snapshot(order) == before


def test_shipped_order_only_goes_on_to_completed(tenant: Tenant) -> None:
    order = order_in_stage(tenant, S.SHIPPED)
    for target in Stage:
        if target in (S.SHIPPED, S.COMPLETED):
            continue
        with pytest.raises(StageMoveRefused):
            order_move_to_status(order=order, status=statuses_of(tenant, target)[0], actor=ACTOR)
    order = order_move_to_status(order=order, status=statuses_of(tenant, S.COMPLETED)[0], actor=ACTOR)
    assert reload(order).stage == S.COMPLETED


def test_nothing_leaves_completed(tenant: Tenant) -> None:
    order = order_in_stage(tenant, S.COMPLETED)
    before = snapshot(order)
    for target in Stage:
        if target == S.COMPLETED:
            continue
        with pytest.raises(StageMoveRefused, match="booked as a sale"):
            order_move_to_status(order=order, status=statuses_of(tenant, target)[0], actor=ACTOR)
    assert snapshot(order) == before


def test_cancelled_order_can_be_reinstated_as_new(tenant: Tenant) -> None:
    order = order_in_stage(tenant, S.CANCELLED)
    reinstated = order_move_to_status(order=order, status=statuses_of(tenant, S.NEW)[0], actor=ACTOR)
    fresh = reload(reinstated)
    assert (fresh.stage, fresh.status.group.stage) == (S.NEW, S.NEW)


def test_cancelled_order_goes_nowhere_but_new(tenant: Tenant) -> None:
    order = order_in_stage(tenant, S.CANCELLED)
    before = snapshot(order)
    for target in (S.STOCK_CHECKED, S.PAID, S.READY_TO_SHIP, S.SHIPPED, S.COMPLETED):
        with pytest.raises(StageMoveRefused):
            order_move_to_status(order=order, status=statuses_of(tenant, target)[0], actor=ACTOR)
    assert snapshot(order) == before


@pytest.mark.parametrize("stage", [S.NEW, S.STOCK_CHECKED], ids=lambda s: s.value)
def test_moving_to_another_tenants_status_is_refused(tenant: Tenant, other_tenant: Tenant, stage: Stage) -> None:
    """Even where the lifecycle would allow the stage, another tenant's status is never taken."""
    order = make_order(tenant)
    before = snapshot(order)
    with pytest.raises(ValueError, match="another tenant"):
        order_move_to_status(order=order, status=statuses_of(other_tenant, stage)[1], actor=ACTOR)
    assert snapshot(order) == before
    assert reload(order).status.tenant_id == tenant.pk


# --- skipping stages (the operator is asked to confirm) ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "skips"),
    [
        (S.NEW, S.READY_TO_SHIP, True),
        (S.NEW, S.PAID, True),
        (S.STOCK_CHECKED, S.PAID, True),
        (S.NEW, S.STOCK_CHECKED, False),
        (S.NEW, S.SHORTAGE, False),
        (S.SHORTAGE, S.AWAITING_PAYMENT, False),
        (S.PAID, S.READY_TO_SHIP, False),
        (S.READY_TO_SHIP, S.SHIPPED, False),
        (S.PAID, S.AWAITING_PAYMENT, False),
        (S.CANCELLED, S.NEW, False),
    ],
    ids=lambda v: v.value if isinstance(v, Stage) else str(v),
)
def test_skips_stages(source: Stage, target: Stage, skips: bool) -> None:
    assert skips_stages(source, target) is skips


@pytest.mark.parametrize("source", list(Stage), ids=lambda s: s.value)
def test_cancelling_never_counts_as_skipping(source: Stage) -> None:
    assert skips_stages(source, S.CANCELLED) is False


# --- property: a random walk over the tenant's statuses ---------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_moves_keep_status_and_stage_in_step(tenant: Tenant, data: st.DataObject) -> None:
    statuses = list(Status.objects.for_tenant(tenant).select_related("group"))
    targets = data.draw(st.lists(st.sampled_from(statuses), min_size=1, max_size=15), label="targets")
    # Each example works in its own savepoint, rolled back at the end, so examples cannot see each other.
    with transaction.atomic():
        order = make_order(tenant)
        moves = 0
        for target in targets:
            current = reload(order)
            before = snapshot(order)
            if not is_allowed(current.stage, target.group.stage):
                with pytest.raises(StageMoveRefused, match=r"\w"):
                    order_move_to_status(order=current, status=target, actor=ACTOR)
                assert snapshot(order) == before
            else:
                order_move_to_status(order=current, status=target, actor=ACTOR)
                moves += target.pk != current.status_id
                fresh = reload(order)
                assert fresh.status_id == target.pk
                assert fresh.status.group.stage == fresh.stage
        assert OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED).count() == moves
        assert reload(order).version == 1 + moves
        transaction.set_rollback(True)
