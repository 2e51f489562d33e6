"""The auto-processing engine (B3, B4): rules over orders, then tasks; on demand, after imports, as a dry run.

`process(tenant=…, order_ids=…)` runs, in one transaction:

1. the task pass: every enabled task definition whose condition holds raises its task on the orders that lack
   it, and resolves (when `auto_resolve`) the open ones whose condition no longer holds. It runs before the
   rules, so a rule can test "has task X" (DESIGN: task definitions tag orders, then the groups run) …
2. the rules: enabled groups in position order, enabled rules in position order within them. Each rule is
   one query over the orders among `order_ids` that sit in one of its statuses *at that moment* and match
   its compiled conditions (fresh per rule, so a rule sees what earlier rules did), then its actions, each
   set-based (automation.actions);
3. … and the task pass again, so tasks follow what the rules changed (a rule that sets the shipping fee
   resolves "shipping fee change needed"). What no rule action can change (the address check, the remote
   island, remarks, the requested delivery date) is computed once per call and reused by both passes;
4. one new version for the orders changed only in other tables (labels, tasks); orders whose row an action
   wrote got theirs with that UPDATE (see automation.actions).

Queries grow with the number of rules and task definitions (and chunks of 5,000 orders), never with the
number of orders; `ProcessResult.queries` counts them. Running it twice changes nothing the second time:
one-shot actions are remembered (RuleActionDone), the other actions and the task pass only write what
differs. Every order in scope is locked first (orders.locks: the order rows only, in id order), so an
operator's edit queues behind the run instead of interleaving with it.

Built-in task definitions (TaskDefinition.code); a built-in's own `conditions`, when it has items, narrow it:

- `shipping_fee_change` 送料変更が必要: the destination is a remote island and nobody (person or rule) has
  changed the order's shipping fee since it came in: the mall charged its mainland fee, the carrier bills a
  relay fee. Setting the fee (by hand or a rule's "set the shipping fee") resolves it.
- `remote_island` 離島: the destination's postal code is in the tenant's remote-island table, or the mall
  flagged it (the conditions' `remote_island` field).
- `address_warning` 住所要確認: `automation.address.check_orders` finds the postal code unknown or at odds
  with the written address. Also re-checked at once, for that order only, when a writer changes the
  destination (`tasks_recheck`, through orders.hooks).
- `delivery_date_check` お届け希望日の確認: a requested delivery date is present.
- `remarks` 備考あり: the customer wrote remarks.
- `delivery_slot_check` 配達時間帯を確認: the order's slot text (what the mall wrote) names a time that is none
  of the carriers' slots (orders.slots), and no slot was chosen instead: the slot would otherwise be lost.
  Choosing a slot on the order resolves it. Re-checked at once when a writer changes the slot.

A tenant's own definition (no code) is raised by its conditions; one without condition items is raised only
by rules and by hand. Only a task the engine raised (its condition held) is resolved automatically when the
condition goes; one a rule or a person raised stays until a rule or a person resolves it. A task resolved by
a person or a rule is not raised again for that order; one the engine resolved is raised again when its
condition comes back.

`dry_run(…)` runs the very same code inside a savepoint, reads the events it wrote and rolls back: the report
is what the real run would do, because it *is* the real run, undone. Nothing it does survives the rollback
(rows, StatusCount triggers, RuleActionDone, tasks); the engine enqueues no Celery task and sends nothing, so
there are no side effects outside the database. What does survive on PostgreSQL is the id sequences'
advance (sequences are not transactional): later rows get higher ids, which nothing relies on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backyard.models import Tenant
from orders.bundling import orders_with_siblings
from orders.constants import EventType
from orders.events import Actor
from orders.locks import order_lock, orders_lock_ids
from orders.models import Order, OrderEvent, Status
from orders.sets import chunked, ids_in
from orders.slots import is_unmappable

from . import address
from .actions import ActionOutcome, References, Refusal, apply_action, orders_write, tasks_raise, tasks_resolve
from .conditions import ConditionError, compile_conditions
from .defaults import BuiltinTask
from .models import OrderTask, Rule, RuleGroup, TaskDefinition
from .selectors import Change, change_from_event

OrderIds = Iterable[int] | QuerySet[Order]


# --- results ----------------------------------------------------------------------------------------------


@dataclass
class RuleOutcome:
    rule_id: int
    name: str
    group: str
    matched: int = 0  # orders in the rule's statuses that met its conditions when its turn came
    changed: int = 0  # of those, orders one of its actions changed
    errors: list[str] = field(default_factory=list)  # a condition or action that could not run (and why)


@dataclass
class TaskOutcome:
    definition_id: int
    name: str
    raised: int = 0
    resolved: int = 0


@dataclass
class ProcessResult:
    """What a run did, for the operator's message, the admin and the bench."""

    orders: int = 0  # orders of the tenant in scope
    not_found: int = 0  # ids asked for that are not the tenant's orders
    rules: list[RuleOutcome] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    tasks: dict[int, TaskOutcome] = field(default_factory=dict)
    changed_ids: set[int] = field(default_factory=set)
    task_errors: list[str] = field(default_factory=list)  # a task definition whose conditions cannot compile
    queries: int = 0  # SQL statements the run sent (COPY of events counts as none)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return len(self.changed_ids)

    @property
    def tasks_raised(self) -> int:
        return sum(t.raised for t in self.tasks.values())

    @property
    def tasks_resolved(self) -> int:
        return sum(t.resolved for t in self.tasks.values())

    @property
    def errors(self) -> list[str]:
        return [f"{rule.name}: {error}" for rule in self.rules for error in rule.errors] + self.task_errors

    def summary(self) -> str:
        """One line for the operator, in their language."""
        parts = [
            ngettext(
                "Auto-processing ran over %(n)d order: %(changed)d changed.",
                "Auto-processing ran over %(n)d orders: %(changed)d changed.",
                self.orders,
            )
            % {"n": self.orders, "changed": self.changed},
            _("Tasks raised: %(raised)d, resolved: %(resolved)d.")
            % {"raised": self.tasks_raised, "resolved": self.tasks_resolved},
        ]
        if self.refusals:
            n = len(self.refusals)
            parts.append(ngettext("%(n)d move was refused.", "%(n)d moves were refused.", n) % {"n": n})
        if self.errors:
            n = len(self.errors)
            parts.append(
                ngettext("%(n)d problem stopped a rule or task.", "%(n)d problems stopped rules or tasks.", n)
                % {"n": n}
            )
        return " ".join(parts)


# --- the engine -------------------------------------------------------------------------------------------


@contextmanager
def _counting(result: ProcessResult) -> Iterator[None]:
    """Count the statements sent (cheaper than CaptureQueriesContext: nothing is kept)."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result.queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(wrapper):
        yield
    result.seconds = time.perf_counter() - started


def _lock_scope(tenant: Tenant, order_ids: OrderIds, result: ProcessResult) -> list[int]:
    """The tenant's orders among `order_ids`, locked in id order (orders.locks); another tenant's id is simply
    not found."""
    ids, not_found = orders_lock_ids(tenant, order_ids)
    result.orders, result.not_found = len(ids), not_found
    return ids


def _has_items(conditions: Any) -> bool:
    return isinstance(conditions, dict) and bool(conditions.get("items"))


@dataclass
class _TaskState:
    open: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    open_automatic: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    settled: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))


class _Engine:
    """One call's state: the tenant's reference rows, compiled conditions and the address checks, each
    computed once and reused by every rule and both task passes."""

    def __init__(self, tenant: Tenant, result: ProcessResult, actor_name: str) -> None:
        self.tenant = tenant
        self.result = result
        self.refs = References(tenant)
        self.task_actor = Actor.system(actor_name or _("Auto tasks"))
        self._compiled: dict[tuple[str, int], Q] = {}
        self._address_bad: set[int] | None = None
        self._islands: set[int] | None = None
        self._slots_unread: set[int] | None = None
        self._static: dict[str, set[int]] = {}  # built-in task conditions no rule action can change
        self.written: set[int] = set()  # orders whose row got a new version during the run

    # selecting orders
    def matching(self, ids: list[int], q: Q, status_ids: Iterable[int] | None = None) -> list[int]:
        """The orders among `ids` (in the statuses) that meet `q` right now, in id order: one query per chunk.

        No DISTINCT: conditions compile to EXISTS subqueries, never to joins that repeat an order; the set
        below makes sure of it for free."""
        found: set[int] = set()
        statuses = list(status_ids) if status_ids is not None else None
        for chunk in chunked(ids):
            qs = Order.objects.for_tenant(self.tenant).filter(ids_in("pk", chunk))
            if statuses is not None:
                qs = qs.filter(status_id__in=statuses)
            found.update(qs.filter(q).order_by().values_list("pk", flat=True))
        return sorted(found)

    def compiled(self, kind: str, pk: int, conditions: Any) -> Q:
        key = (kind, pk)
        if key not in self._compiled:
            self._compiled[key] = compile_conditions(self.tenant, conditions)
        return self._compiled[key]

    # rules
    def run_rule(self, rule: Rule, ids: list[int]) -> None:
        outcome = RuleOutcome(rule_id=rule.pk, name=rule.name, group=rule.group.name)
        self.result.rules.append(outcome)
        status_ids = [status.pk for status in rule.statuses.all()]
        if not ids or not status_ids:
            return
        try:
            q = self.compiled("rule", rule.pk, rule.conditions)
        except ConditionError as error:
            outcome.errors.extend(error.messages)
            return
        matched = self.matching(ids, q, status_ids)
        outcome.matched = len(matched)
        if not matched:
            return
        done = ActionOutcome()
        for action in rule.actions if isinstance(rule.actions, list) else []:
            apply_action(tenant=self.tenant, rule=rule, action=action, order_ids=matched, refs=self.refs, outcome=done)
        outcome.changed = len(done.changed)
        outcome.errors.extend(done.errors)
        self.result.refusals.extend(done.refusals)
        self.result.changed_ids |= done.changed
        self.written |= done.written
        for definition_id, n in done.tasks_raised.items():
            self.task_outcome(definition_id).raised += n
        for definition_id, n in done.tasks_resolved.items():
            self.task_outcome(definition_id).resolved += n

    def task_outcome(self, definition_id: int) -> TaskOutcome:
        """The run's counts for one task definition, whether the task pass or a rule raised them."""
        definition = self.refs.task_definitions[definition_id]
        return self.result.tasks.setdefault(definition_id, TaskOutcome(definition_id, definition.name))

    # tasks
    # The built-in tasks' conditions, in the conditions' own language (the same notion of "empty remarks" or
    # "remote island" a rule tests).
    BUILTIN_CONDITIONS: dict[str, dict[str, Any]] = {
        BuiltinTask.REMARKS: {"field": "remarks", "op": "not_empty"},
        BuiltinTask.DELIVERY_DATE_CHECK: {"field": "requested_delivery_date", "op": "not_empty"},
        BuiltinTask.REMOTE_ISLAND: {"field": "remote_island", "op": "eq", "value": True},
    }

    def builtin_q(self, code: str) -> Q:
        return self.compiled(f"builtin:{code}", 0, {"match": "all", "items": [self.BUILTIN_CONDITIONS[code]]})

    def _builtin(self, code: str, ids: list[int]) -> set[int]:
        return set(self.matching(ids, self.builtin_q(code)))

    def _island_orders(self, ids: list[int]) -> set[int]:
        """Orders going to a remote island, computed once per run: no rule action changes the destination,
        the mall's flag or the island table, and two built-in tasks (in two passes) ask."""
        if self._islands is None:
            self._islands = self._builtin(BuiltinTask.REMOTE_ISLAND, ids)
        return self._islands

    def _address_warned(self, ids: list[int]) -> set[int]:
        """Orders whose address check fails, once per run (no rule action changes the destination)."""
        if self._address_bad is None:
            checks = address.check_orders(self.tenant, ids)
            self._address_bad = {order_id for order_id, check in checks.items() if not check.ok}
        return self._address_bad

    def _slot_unread(self, ids: list[int]) -> set[int]:
        """Orders whose slot text names no carrier's slot while no slot is set, once per run (no rule action
        sets the slot): one query per chunk for the orders with a text and no slot, read by orders.slots."""
        if self._slots_unread is None:
            found: set[int] = set()
            for chunk in chunked(ids):
                rows = (
                    Order.objects.for_tenant(self.tenant)
                    .filter(ids_in("pk", chunk), delivery_slot="")
                    .exclude(delivery_time_slot="")
                    .values_list("pk", "delivery_time_slot")
                )
                found.update(pk for pk, text in rows if is_unmappable(text))
            self._slots_unread = found
        return self._slots_unread

    def _fee_never_changed(self, ids: set[int]) -> set[int]:
        """Of these orders, those whose shipping fee no person or rule has changed since they came in."""
        fee_changed = OrderEvent.objects.filter(
            tenant_id=self.tenant.pk, order_id=OuterRef("pk"), type=EventType.FIELD_CHANGED, data__field="shipping_fee"
        )
        return set(self.matching(sorted(ids), ~Q(Exists(fee_changed)))) if ids else set()

    def holding(self, definition: TaskDefinition, ids: list[int]) -> set[int] | None:
        """The orders among `ids` the definition's condition holds for; None: never raised automatically."""
        code = definition.code
        narrowed = _has_items(definition.conditions)
        extra = self.compiled("task", definition.pk, definition.conditions) if narrowed else Q()
        if code in (BuiltinTask.REMARKS, BuiltinTask.DELIVERY_DATE_CHECK):
            if narrowed:  # the tenant's narrowing may test what rules change: ask again each pass
                return set(self.matching(ids, self.builtin_q(code) & extra))
            if code not in self._static:  # remarks and the requested date: no rule action changes them
                self._static[code] = set(self.matching(ids, self.builtin_q(code)))
            return set(self._static[code])
        if code == BuiltinTask.ADDRESS_WARNING:
            base = self._address_warned(ids)
        elif code == BuiltinTask.REMOTE_ISLAND:
            base = self._island_orders(ids)
        elif code == BuiltinTask.SHIPPING_FEE_CHANGE:
            base = self._fee_never_changed(self._island_orders(ids))
        elif code == BuiltinTask.DELIVERY_SLOT_CHECK:
            base = self._slot_unread(ids)
        elif code == BuiltinTask.BUNDLE_CANDIDATE:
            base = orders_with_siblings(self.tenant, ids)
        elif code:
            return None  # a code this version does not know
        else:
            return set(self.matching(ids, extra)) if narrowed else None
        return set(self.matching(sorted(base), extra)) if narrowed and base else set(base)

    def _task_state(self, ids: list[int]) -> _TaskState:
        """Per definition: orders with an open task (and which of those the engine raised), and orders whose
        task a person or a rule resolved. One query per chunk."""
        state = _TaskState()
        for chunk in chunked(ids):
            rows = (
                OrderTask.objects.filter(ids_in("order_id", chunk), tenant_id=self.tenant.pk)
                .filter(Q(resolved_at=None) | Q(resolved_automatically=False))
                .values_list("order_id", "definition_id", "resolved_at", "raised_automatically")
            )
            for order_id, definition_id, resolved_at, automatic in rows:
                if resolved_at is not None:
                    state.settled[definition_id].add(order_id)
                    continue
                state.open[definition_id].add(order_id)
                if automatic:
                    state.open_automatic[definition_id].add(order_id)
        return state

    def task_pass(self, ids: list[int], codes: frozenset[str] | None = None) -> None:
        """Raise and resolve the tasks of the enabled definitions (of the built-ins in `codes` only, if given)."""
        definitions = sorted(
            (d for d in self.refs.task_definitions.values() if d.enabled and (codes is None or d.code in codes)),
            key=lambda d: (d.position, d.pk),
        )
        if not ids or not definitions:
            return
        state = self._task_state(ids)
        for definition in definitions:
            try:
                holds = self.holding(definition, ids)
            except ConditionError as error:
                self.result.task_errors += [f"{definition.name}: {message}" for message in error.messages]
                continue
            if holds is None:
                continue
            outcome = self.task_outcome(definition.pk)
            to_raise = holds - state.open[definition.pk] - state.settled[definition.pk]
            if to_raise:
                raised = tasks_raise(
                    tenant=self.tenant,
                    definition=definition,
                    order_ids=to_raise,
                    actor=self.task_actor,
                    automatic=True,
                    bump_version=False,
                )
                outcome.raised += len(raised)
                self.result.changed_ids.update(raised)
            if definition.auto_resolve:
                gone = state.open_automatic[definition.pk] - holds
                if gone:
                    resolved = tasks_resolve(
                        tenant=self.tenant,
                        definition=definition,
                        order_ids=gone,
                        actor=self.task_actor,
                        automatic=True,
                        bump_version=False,
                    )
                    outcome.resolved += len(resolved)
                    self.result.changed_ids.update(resolved)


def _rules(tenant: Tenant, *, group: RuleGroup | None = None, rule: Rule | None = None) -> list[Rule]:
    """The rules to run, in order, with their statuses (two queries).

    Normally: enabled rules of enabled groups. A group run from admin runs its enabled rules even if the
    group itself is switched off (trying a group before switching it on); a single rule runs as asked."""
    qs = (
        Rule.objects.for_tenant(tenant)
        .select_related("group")
        .prefetch_related(Prefetch("statuses", queryset=Status.objects.for_tenant(tenant).only("pk")))
        .order_by("group__position", "group_id", "position", "pk")
    )
    if rule is not None:
        qs = qs.filter(pk=rule.pk)
    elif group is not None:
        qs = qs.filter(group_id=group.pk, enabled=True)
    else:
        qs = qs.filter(enabled=True, group__enabled=True)
    return list(qs)


def _run(
    *, tenant: Tenant, order_ids: OrderIds, rules: list[Rule] | None, tasks: bool, actor_name: str = ""
) -> ProcessResult:
    """The engine: lock, task pass, rules, task pass. `rules=None` runs the tenant's enabled rules."""
    result = ProcessResult()
    with _counting(result), transaction.atomic():
        ids = _lock_scope(tenant, order_ids, result)
        engine = _Engine(tenant, result, actor_name)
        if not ids:
            return result
        if tasks:
            engine.task_pass(ids)
        for rule in rules if rules is not None else _rules(tenant):
            engine.run_rule(rule, ids)
        if tasks:
            engine.task_pass(ids)
        # A new version (and updated_at) for the orders changed only in other tables (labels, tasks), once for
        # the whole run; the others got theirs with their UPDATE. See automation.actions.
        orders_write(tenant, result.changed_ids - engine.written)
    return result


def process(*, tenant: Tenant, order_ids: OrderIds, actor_name: str = "") -> ProcessResult:
    """Auto-process these orders of the tenant: after an import, or "自動処理を実行" on selected orders.

    `actor_name` says who started it (an import, an operator); it names the task pass in the history."""
    return _run(tenant=tenant, order_ids=order_ids, rules=None, tasks=True, actor_name=actor_name)


# Built-in tasks whose condition reads nothing but these fields of the order: a writer that changes one of them
# (orders.hooks.order_fields_changed, registered in automation.apps) has the task re-checked at once.
DESTINATION_FIELDS = frozenset({"dest_postal_code", "dest_prefecture", "dest_city", "dest_address1", "dest_address2"})
RECHECKED_ON_CHANGE: dict[str, frozenset[str]] = {
    BuiltinTask.ADDRESS_WARNING: DESTINATION_FIELDS,
    BuiltinTask.DELIVERY_SLOT_CHECK: frozenset({"delivery_time_slot", "delivery_slot"}),
    BuiltinTask.BUNDLE_CANDIDATE: DESTINATION_FIELDS | {"dest_name", "dest_phone"},
}


def tasks_recheck(*, tenant: Tenant, order_ids: OrderIds, codes: Iterable[str], actor_name: str = "") -> ProcessResult:
    """The task pass of `process`, for the built-in tasks in `codes` only, over these orders only: the same
    conditions and the same rules for raising and resolving (a task a person resolved is not raised again),
    in the caller's transaction. The orders' version is left alone: the edit that called it raised it."""
    result = ProcessResult()
    with _counting(result), transaction.atomic():
        ids = _lock_scope(tenant, order_ids, result)
        if ids:
            _Engine(tenant, result, actor_name).task_pass(ids, codes=frozenset(codes))
    return result


def recheck_changed_fields(tenant_id: int, order_ids: list[int], fields: frozenset[str]) -> None:
    """orders.hooks' "fields changed" hook: re-check the built-in tasks that read any of `fields`."""
    codes = [code for code, watched in RECHECKED_ON_CHANGE.items() if watched & fields]
    if codes:
        tasks_recheck(tenant=Tenant.objects.get(pk=tenant_id), order_ids=order_ids, codes=codes)


def _group_scope(tenant: Tenant, rules: list[Rule]) -> QuerySet[Order]:
    status_ids = {status.pk for rule in rules for status in rule.statuses.all()}
    return Order.objects.for_tenant(tenant).filter(status_id__in=status_ids)


def process_group(*, group: RuleGroup, actor_name: str = "") -> ProcessResult:
    """Run one group ("run now" in admin) over the tenant's orders in its rules' statuses, then the task
    pass over those orders."""
    tenant = group.tenant
    rules = _rules(tenant, group=group)
    return _run(tenant=tenant, order_ids=_group_scope(tenant, rules), rules=rules, tasks=True, actor_name=actor_name)


# --- tasks by hand ----------------------------------------------------------------------------------------


@transaction.atomic
def order_task_raise(*, order: Order, definition: TaskDefinition, actor: Actor, note: str = "") -> OrderTask:
    """Raise a task on one order by hand; the open task of that definition if the order already has one."""
    if definition.tenant_id != order.tenant_id:
        raise ValueError("task definition belongs to another tenant")
    locked = order_lock(order, "tenant")
    tasks_raise(tenant=locked.tenant, definition=definition, order_ids=[locked.pk], actor=actor, note=note)
    return OrderTask.objects.get(tenant_id=locked.tenant_id, order=locked, definition=definition, resolved_at=None)


@transaction.atomic
def order_task_resolve(*, task: OrderTask, actor: Actor) -> OrderTask:
    """Resolve one task by hand (an operator looked): it stays resolved, the engine does not raise it again
    for this order. Resolving a task already resolved changes nothing."""
    locked = order_lock(task.order, "tenant")
    current = OrderTask.objects.select_related("definition").get(pk=task.pk, tenant_id=locked.tenant_id)
    if current.resolved_at is None:
        tasks_resolve(tenant=locked.tenant, definition=current.definition, order_ids=[locked.pk], actor=actor)
        current.refresh_from_db()
    return current


# --- dry run ----------------------------------------------------------------------------------------------


@dataclass
class DryRunOrder:
    order_id: int
    external_id: str
    changes: list[Change] = field(default_factory=list)  # in the order they would happen


@dataclass
class DryRunReport:
    """What a run would do: per order, each change (what, old → new, which rule); refusals; task counts."""

    result: ProcessResult
    orders: list[DryRunOrder] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [change for order in self.orders for change in order.changes]


class _Rollback(Exception):
    """Leaves the dry run's savepoint, undoing everything the engine wrote."""


def dry_run(
    *, tenant: Tenant, order_ids: OrderIds | None = None, rule: Rule | None = None, group: RuleGroup | None = None
) -> DryRunReport:
    """What `process` (order_ids), `process_group` (group) or one rule (rule, without the task pass; even a
    rule not yet switched on) would do now, changing nothing.

    It runs the real engine in a savepoint, reads back the events it wrote (they hold old and new values),
    then rolls the savepoint back: the prediction cannot drift from the real run, because it is the real
    run. Scope: `order_ids` if given, else the tenant's orders in the statuses of the rule or the group."""
    if rule is not None and group is not None:
        raise ValueError("dry-run a rule or a group, not both")
    for owned in (rule, group):
        if owned is not None and owned.tenant_id != tenant.pk:
            raise ValueError("rule or group belongs to another tenant")
    rules = _rules(tenant, rule=rule) if rule is not None else _rules(tenant, group=group) if group else None
    scope: OrderIds
    if order_ids is not None:
        scope = order_ids
    elif rules is not None:
        scope = _group_scope(tenant, rules)
    else:
        scope = Order.objects.for_tenant(tenant)
    report = DryRunReport(result=ProcessResult())
    written: list[OrderEvent] = []
    numbers: dict[int, str] = {}
    try:
        with transaction.atomic():
            last = OrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            report.result = _run(tenant=tenant, order_ids=scope, rules=rules, tasks=rule is None)
            written = list(OrderEvent.objects.for_tenant(tenant).filter(pk__gt=last).order_by("pk"))
            numbers = dict(
                Order.objects.for_tenant(tenant)
                .filter(pk__in={e.order_id for e in written})
                .values_list("pk", "external_id")
            )
            raise _Rollback
    except _Rollback:
        pass
    by_order: dict[int, DryRunOrder] = {}
    for event in written:
        entry = by_order.setdefault(event.order_id, DryRunOrder(event.order_id, numbers.get(event.order_id, "")))
        entry.changes.append(change_from_event(event))
    report.orders = sorted(by_order.values(), key=lambda o: o.order_id)
    return report
