"""What a rule does to the orders it matched (B3): one registry of action types, each validated when a rule is
saved and applied set-based when the rule runs.

An action is JSON, `{"type": "move_status", "status": 12}`. Each type in ACTIONS has a label, the settings it
takes, a validator that cleans them against the tenant's own rows (another tenant's id reads "does not exist",
exactly like a missing one) and an `apply` over a list of order ids. `apply` costs a fixed number of queries
per chunk of 5,000 orders, never one per order: moves, labels, memo, delivery method and shipping store go
through `orders_bulk_update` (the one set-based editing service, which locks, checks the lifecycle and writes
the events); the rest are UPDATEs with SQL expressions and inserts in bulk here.

Every change writes one OrderEvent per order and change, by `Actor.rule(rule.name, rule.pk)`, so the
order's history says which rule did it ("why", on the order page), and raises the order's version (the
optimistic lock of the operators' forms). An action that writes the order row raises it in the same UPDATE;
changes held in other tables (labels, tasks) leave it to the engine, which raises the version of the orders
changed but not written (`ActionOutcome.changed - written`) once at the end of the run: rewriting an order
row costs far more than the change (every index, the trigram one included), so it is not done just for that.
One-shot actions (memo, extra line, mail insert, task raised) and recorded refusals are remembered per order
and rule in RuleActionDone under the action's key, so running the engine again does not repeat them. The key
is derived from the action's type and settings, not its place in the list: reordering a rule's actions does
not repeat them, editing a memo's text does (it is a new memo).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import BigIntegerField, Case, F, Max, OuterRef, Subquery, Sum, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.models import Tenant
from inventory.services.allocation import stock_check
from mailer.models import MailKind
from mailer.selectors import MailBook, mail_book
from mailer.services.queueing import mail_queue
from orders import events
from orders.copy import copy_rows, save_events
from orders.events import Actor
from orders.hooks import StockChecked
from orders.models import Label, Order, OrderLine, Status
from orders.search import normalize
from orders.services.bulk import BulkChanges, BulkResult, orders_bulk_update
from orders.sets import chunked, ids_in, order_stubs
from shipping.models import DeliveryMethod, ShippingStore
from shipping.services.fees import fee_quotes

from .conditions import remote_island_q
from .defaults import BUILTIN_TASKS, BuiltinTask
from .models import OrderTask, Rule, RuleActionDone, TaskDefinition

MAX_TEXT = 1000  # memo and mail insert texts
MAX_FEE = 1_000_000  # yen; a shipping fee above this is a typing mistake
MAX_QUANTITY = 999
DONE_BATCH = 2_000


class ActionUnavailable(Exception):
    """A saved action points at a row that has gone since (a deleted label, say): the action is skipped and
    the engine reports it with the rule, instead of failing the whole run."""


@dataclass(frozen=True)
class Refusal:
    """An order a rule tried to move and the lifecycle refused, with the reason an operator can act on."""

    order_id: int
    external_id: str
    rule_id: int
    rule_name: str
    reason: str


@dataclass
class ActionOutcome:
    """What one rule's actions did in one run."""

    changed: set[int] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    written: set[int] = field(default_factory=set)  # of `changed`, orders whose row got a new version already
    tasks_raised: dict[int, int] = field(default_factory=dict)  # definition id → orders
    tasks_resolved: dict[int, int] = field(default_factory=dict)


class References:
    """The tenant's small tables, each read once per engine run (a few dozen rows), by id."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    @cached_property
    def statuses(self) -> dict[int, Status]:
        return {s.pk: s for s in Status.objects.for_tenant(self.tenant).select_related("group")}

    @cached_property
    def labels(self) -> dict[int, Label]:
        return {label.pk: label for label in Label.objects.for_tenant(self.tenant)}

    @cached_property
    def delivery_methods(self) -> dict[int, DeliveryMethod]:
        return {d.pk: d for d in DeliveryMethod.objects.for_tenant(self.tenant)}

    @cached_property
    def shipping_stores(self) -> dict[int, ShippingStore]:
        return {s.pk: s for s in ShippingStore.objects.for_tenant(self.tenant)}

    @cached_property
    def task_definitions(self) -> dict[int, TaskDefinition]:
        return {d.pk: d for d in TaskDefinition.objects.for_tenant(self.tenant)}

    @cached_property
    def mail_book(self) -> MailBook:
        """The tenant's mail setup (kinds, templates, senders) for the "send mail" actions of a run."""
        return mail_book(self.tenant)


@dataclass
class ActionRun:
    """One action of one rule being applied: who acts, under which key, and where the outcome goes."""

    tenant: Tenant
    rule: Rule
    key: str
    refs: References
    outcome: ActionOutcome

    @property
    def actor(self) -> Actor:
        return Actor.rule(self.rule.name, self.rule.pk)


Params = dict[str, Any]
Cleaner = Callable[[Tenant, Params], Params]
Applier = Callable[[ActionRun, Params, list[int]], None]


@dataclass(frozen=True)
class ActionType:
    code: str
    label: Promise
    settings: tuple[str, ...]
    clean: Cleaner
    apply: Applier
    once: bool = False  # applied at most once per order and rule (RuleActionDone)


# --- ids, keys and one-shot bookkeeping -------------------------------------------------------------------


def action_key(action: Params) -> str:
    """The action's key within its rule: its type and a digest of its settings (fits RuleActionDone.action)."""
    settings = {k: v for k, v in action.items() if k != "type"}
    digest = hashlib.sha1(
        json.dumps(settings, sort_keys=True, ensure_ascii=False).encode(), usedforsecurity=False
    ).hexdigest()[:16]
    return f"{action.get('type', '')}:{digest}"[:64]


def _not_done(run: ActionRun, order_ids: list[int], key: str) -> list[int]:
    """The orders this rule has not yet applied `key` to (one query per chunk)."""
    done: set[int] = set()
    for chunk in chunked(order_ids):
        done.update(
            RuleActionDone.objects.filter(
                ids_in("order_id", chunk), tenant_id=run.tenant.pk, rule_id=run.rule.pk, action=key
            ).values_list("order_id", flat=True)
        )
    return [order_id for order_id in order_ids if order_id not in done]


def _mark_done(run: ActionRun, order_ids: Iterable[int], key: str) -> None:
    now = timezone.now()
    copy_rows(
        RuleActionDone,
        ("tenant_id", "order_id", "rule_id", "action", "at"),
        [(run.tenant.pk, order_id, run.rule.pk, key, now) for order_id in order_ids],
    )


def orders_write(tenant: Tenant, order_ids: Iterable[int], **values: Any) -> None:
    """Set `values` on the orders and raise their version (and updated_at), one UPDATE per chunk."""
    values = {**values, "version": F("version") + 1, "updated_at": timezone.now()}
    for chunk in chunked(sorted(set(order_ids))):
        Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant.pk).update(**values)


# --- validating settings ----------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _row_id(model: type[Any], noun: str | Promise) -> Callable[[Tenant, Any], int]:
    """A validator for a setting that names one of the tenant's rows by id."""

    def check(tenant: Tenant, value: Any) -> int:
        pk = _int(value)
        if pk is None:
            raise ValidationError(_("choose a %(noun)s") % {"noun": noun})
        if not model.objects.for_tenant(tenant).filter(pk=pk).exists():
            raise ValidationError(_("the %(noun)s %(id)s does not exist") % {"noun": noun, "id": pk})
        return pk

    return check


def _text(tenant: Tenant, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("enter a text"))
    if len(value) > MAX_TEXT:
        raise ValidationError(_("the text is longer than %(n)d characters") % {"n": MAX_TEXT})
    return value.strip()


def _short(limit: int, noun: str | Promise) -> Callable[[Tenant, Any], str]:
    def check(tenant: Tenant, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(_("enter the %(noun)s") % {"noun": noun})
        if len(value.strip()) > limit:
            raise ValidationError(_("the %(noun)s is longer than %(n)d characters") % {"noun": noun, "n": limit})
        return value.strip()

    return check


def _amount(tenant: Tenant, value: Any) -> int:
    amount = _int(value)
    if amount is None or not 0 <= amount <= MAX_FEE:
        raise ValidationError(_("enter an amount in yen between 0 and %(max)s") % {"max": f"{MAX_FEE:,}"})
    return amount


def _quantity(tenant: Tenant, value: Any) -> int:
    quantity = _int(value)
    if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("enter a quantity between 1 and %(max)d") % {"max": MAX_QUANTITY})
    return quantity


def _cleaner(**checks: Callable[[Tenant, Any], Any]) -> Cleaner:
    """Clean every setting with its check; a missing setting is checked as None (each says what is wanted)."""

    def clean(tenant: Tenant, params: Params) -> Params:
        return {name: check(tenant, params.get(name)) for name, check in checks.items()}

    return clean


# --- applying ---------------------------------------------------------------------------------------------


def _bulk(run: ActionRun, order_ids: list[int], changes: BulkChanges) -> BulkResult:
    """Through the one set-based editing service: it locks, checks the lifecycle and writes the events.

    Rules confirm stage skips (they were configured to make them) and never take the operator's T14
    "stock checked → paid" shortcut: an order goes exactly where the rule says."""
    result = orders_bulk_update(
        tenant=run.tenant,
        order_ids=order_ids,
        changes=changes,
        actor=run.actor,
        confirm_skips=True,
        paid_shortcut=False,
        bump_unwritten=False,
    )
    run.outcome.changed |= result.changed_ids
    run.outcome.written |= result.written_ids
    return result


def _one(mapping: dict[int, Any], pk: Any, noun: str) -> Any:
    """The tenant's row a saved action names; it may have been deleted since the rule was saved."""
    row = mapping.get(_int(pk))  # type: ignore[arg-type]
    if row is None:
        raise ActionUnavailable(_("the %(noun)s %(id)s no longer exists") % {"noun": noun, "id": pk})
    return row


def _status(run: ActionRun, params: Params) -> Status:
    return _one(run.refs.statuses, params["status"], _("status"))


def apply_move_status(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Move through the state machine. A move it forbids is recorded on the order as a refusal naming the
    rule (once per order and rule: running again does not pile up the same refusal)."""
    target = _status(run, params)
    result = _bulk(run, order_ids, BulkChanges(status=target))
    if not result.refused:
        return
    for order_id, external_id, reason in result.refused:
        run.outcome.refusals.append(Refusal(order_id, external_id, run.rule.pk, run.rule.name, reason))
    key = f"{run.key}:refused"
    reasons = {order_id: reason for order_id, _number, reason in result.refused}
    new = _not_done(run, sorted(reasons), key)
    if not new:
        return
    current: dict[int, int] = {}
    for chunk in chunked(new):
        current.update(
            Order.objects.filter(ids_in("pk", chunk), tenant_id=run.tenant.pk).values_list("pk", "status_id")
        )
    stubs = order_stubs(run.tenant)
    built = []
    for order_id in new:
        stub = stubs[order_id]
        stub.status = run.refs.statuses[current[order_id]]
        built.append(
            events.order_status_refused_event(
                order=stub, actor=run.actor, target=target, reason=reasons[order_id], commit=False
            )
        )
    save_events(built)
    _mark_done(run, new, key)


def apply_add_label(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    _bulk(run, order_ids, BulkChanges(add_labels=[_one(run.refs.labels, params["label"], _("label"))]))


def apply_remove_label(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    _bulk(run, order_ids, BulkChanges(remove_labels=[_one(run.refs.labels, params["label"], _("label"))]))


def apply_set_delivery_method(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    method = _one(run.refs.delivery_methods, params["delivery_method"], _("delivery method"))
    _bulk(run, order_ids, BulkChanges(delivery_method=method))


def apply_set_shipping_store(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    store = _one(run.refs.shipping_stores, params["shipping_store"], _("shipping store"))
    _bulk(run, order_ids, BulkChanges(shipping_store=store))


def apply_add_memo(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Once per order and rule: a rule that runs after every import must not stamp the same memo again."""
    todo = _not_done(run, order_ids, run.key)
    if todo:
        _bulk(run, todo, BulkChanges(memo=_text(run.tenant, params["text"])))
        _mark_done(run, todo, run.key)


def _line_sum(tax_rate: int | None = None) -> Coalesce:
    """Σ unit price × quantity of the order's lines (at one tax rate), as a correlated subquery."""
    lines = OrderLine.objects.filter(order_id=OuterRef("pk"))
    if tax_rate is not None:
        lines = lines.filter(tax_rate=tax_rate)
    summed = (
        lines.order_by()
        .values("order_id")
        .annotate(s=Sum(F("unit_price") * F("quantity"), output_field=BigIntegerField()))
        .values("s")
    )
    return Coalesce(Subquery(summed, output_field=BigIntegerField()), Value(0), output_field=BigIntegerField())


def _included_tax(amount: Any, rate: int) -> Any:
    """floor(max(amount, 0) × rate / (100 + rate)): integer division of non-negative integers is a floor on
    both PostgreSQL and SQLite. Both operands are cast to bigint: psycopg may send a bare number as numeric,
    and numeric division would round instead."""
    big = BigIntegerField()
    taxable = Cast(Greatest(amount, Value(0), output_field=big) * Value(rate), output_field=big)
    return taxable / Cast(Value(100 + rate), output_field=big)


def amounts_with_shipping_fee(fee: int, tax_rates: Iterable[int], cod_fee: int | None = None) -> dict[str, Any]:
    """The order's amounts after its shipping fee becomes `fee`, as SQL expressions, the way
    orders.services.compute_amounts reckons them: lines summed per tax rate, the included tax rounded down
    once per rate, shipping and COD fees taxed at 10 % and the discount taken off the 10 % part.
    `tax_rates` are the rates the orders' lines carry (10 is always counted: the fees are at 10 %).
    `cod_fee`: the COD fee becomes this too (None: it stays as it is).
    tests/orders/test_parity.py holds this and compute_amounts to the same figures."""
    cod: Any = F("cod_fee") if cod_fee is None else Value(cod_fee)
    ten = _line_sum(10) + Value(fee) + cod - F("discount")
    tax: Any = _included_tax(ten, 10)
    for rate in sorted(set(tax_rates) - {0, 10}):
        tax = tax + _included_tax(_line_sum(rate), rate)
    subtotal = _line_sum()
    values = {
        "shipping_fee": Value(fee),
        "item_subtotal": subtotal,
        "tax": tax,
        "total": subtotal + Value(fee) + cod - F("discount") - F("points_used"),
    }
    if cod_fee is not None:
        values["cod_fee"] = cod
    return values


def apply_set_shipping_fee(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """A fixed fee (the shipping issue adds fee tables); totals and the included tax follow in the same
    UPDATE. Orders already at that fee are left alone (no event, no new version)."""
    fee = _amount(run.tenant, params["amount"])
    olds: dict[int, int] = {}
    for chunk in chunked(order_ids):
        olds.update(
            Order.objects.filter(ids_in("pk", chunk), tenant_id=run.tenant.pk)
            .exclude(shipping_fee=fee)
            .values_list("pk", "shipping_fee")
        )
    if not olds:
        return
    changed = sorted(olds)
    rates: set[int] = set()
    for chunk in chunked(changed):
        rates.update(
            OrderLine.objects.filter(ids_in("order_id", chunk), tenant_id=run.tenant.pk)
            .order_by()
            .values_list("tax_rate", flat=True)
            .distinct()
        )
    orders_write(run.tenant, changed, **amounts_with_shipping_fee(fee, rates))
    run.outcome.written.update(changed)
    stubs = order_stubs(run.tenant)
    save_events(
        [
            events.order_field_changed_event(
                order=stubs[pk], actor=run.actor, field="shipping_fee", old=olds[pk], new=fee, commit=False
            )
            for pk in changed
        ]
    )
    run.outcome.changed.update(changed)


def island_order_ids(tenant_id: int, order_ids: list[int]) -> set[int]:
    """Of the orders, those going to a remote island (the conditions' `remote_island`): one query per chunk.
    Registered as shipping's island check (shipping.services.fees.provide_island_check)."""
    found: set[int] = set()
    for chunk in chunked(sorted(set(order_ids))):
        found.update(
            Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant_id)
            .filter(remote_island_q(tenant_id))
            .values_list("pk", flat=True)
        )
    return found


def apply_set_shipping_fee_from_table(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """The shipping fee (and, for COD orders, the COD fee) from the fee table of each order's delivery method
    (shipping.services.fees): zone × size or weight class, island surcharge, free shipping, COD band. Orders
    grouped by their new fees are written one UPDATE per group and chunk, totals and included tax in the same
    UPDATE (amounts_with_shipping_fee, held to compute_amounts by tests/orders/test_parity.py); one event per
    changed fee. Orders the table gives no fee for are left alone and named in the run's problems."""
    quotes = fee_quotes(run.tenant, order_ids)
    current: dict[int, tuple[int, int]] = {}
    for chunk in chunked(sorted(quotes)):
        current.update(
            (pk, (fee, cod))
            for pk, fee, cod in Order.objects.filter(ids_in("pk", chunk), tenant_id=run.tenant.pk).values_list(
                "pk", "shipping_fee", "cod_fee"
            )
        )
    refused = [quote for quote in quotes.values() if quote.refused]
    if refused:
        numbers = dict(
            Order.objects.filter(ids_in("pk", [q.order_id for q in refused[:5]]), tenant_id=run.tenant.pk).values_list(
                "pk", "external_id"
            )
        )
        run.outcome.errors.append(
            _("Shipping fee from the table: no fee for %(n)d orders (%(examples)s).")
            % {
                "n": len(refused),
                "examples": "; ".join(f"{numbers.get(q.order_id, q.order_id)}: {q.refused}" for q in refused[:5]),
            }
        )
    groups: dict[tuple[int, int | None], list[int]] = {}
    for pk, quote in quotes.items():
        if quote.refused or quote.fee is None or pk not in current:
            continue
        old_fee, old_cod = current[pk]
        cod = None if quote.cod_fee is None or quote.cod_fee == old_cod else quote.cod_fee
        if quote.fee == old_fee and cod is None:
            continue
        groups.setdefault((quote.fee, cod), []).append(pk)
    if not groups:
        return
    changed = sorted(pk for ids in groups.values() for pk in ids)
    rates: set[int] = set()
    for chunk in chunked(changed):
        rates.update(
            OrderLine.objects.filter(ids_in("order_id", chunk), tenant_id=run.tenant.pk)
            .order_by()
            .values_list("tax_rate", flat=True)
            .distinct()
        )
    for (fee, cod), ids in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        orders_write(run.tenant, ids, **amounts_with_shipping_fee(fee, rates, cod_fee=cod))
    stubs = order_stubs(run.tenant)
    built = []
    for (fee, cod), ids in groups.items():
        for pk in ids:
            old_fee, old_cod = current[pk]
            if fee != old_fee:
                built.append(
                    events.order_field_changed_event(
                        order=stubs[pk], actor=run.actor, field="shipping_fee", old=old_fee, new=fee, commit=False
                    )
                )
            if cod is not None:
                built.append(
                    events.order_field_changed_event(
                        order=stubs[pk], actor=run.actor, field="cod_fee", old=old_cod, new=cod, commit=False
                    )
                )
    save_events(built)
    run.outcome.written.update(changed)
    run.outcome.changed.update(changed)


def apply_set_delivery_method_for_islands(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Change carrier for remote islands: of the matched orders, those going to a remote island (the tenant's
    island postal codes or the mall's flag) get this delivery method, through orders_bulk_update (events)."""
    method = _one(run.refs.delivery_methods, params["delivery_method"], _("delivery method"))
    islands = sorted(island_order_ids(run.tenant.pk, order_ids))
    if islands:
        _bulk(run, islands, BulkChanges(delivery_method=method))


def apply_add_line(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """A freebie or enclosure (同梱物) at price 0, once per order and rule, after the order's last line. The
    SKU joins the order's search text (as the services build it: appended, unless already there)."""
    sku = _short(100, _("SKU"))(run.tenant, params["sku"])
    name = _short(255, _("item name"))(run.tenant, params["name"])
    quantity = _quantity(run.tenant, params["quantity"])
    todo = _not_done(run, order_ids, run.key)
    if not todo:
        return
    last: dict[int, int] = {}
    for chunk in chunked(todo):
        last.update(
            OrderLine.objects.filter(ids_in("order_id", chunk), tenant_id=run.tenant.pk)
            .order_by()
            .values("order_id")
            .annotate(m=Max("position"))
            .values_list("order_id", "m")
        )
    lines = [
        OrderLine(
            tenant_id=run.tenant.pk,
            order_id=order_id,
            position=last.get(order_id, 0) + 1,
            sku=sku,
            name=name,
            quantity=quantity,
            unit_price=0,
            tax_rate=10,
        )
        for order_id in todo
    ]
    OrderLine.objects.bulk_create(lines, batch_size=DONE_BATCH)
    values: dict[str, Any] = {}
    token = normalize(sku)
    if token:
        values["search_text"] = Case(
            When(search_text="", then=Value(f"|{token}|")),
            When(search_text__contains=f"|{token}|", then=F("search_text")),
            default=Concat(F("search_text"), Value(f"{token}|"), output_field=TextField()),
            output_field=TextField(),
        )
    orders_write(run.tenant, todo, **values)
    run.outcome.written.update(todo)
    stubs = order_stubs(run.tenant)
    save_events(
        [
            events.order_line_added_event(order=stubs[line.order_id], actor=run.actor, line=line, commit=False)
            for line in lines
        ]
    )
    _mark_done(run, todo, run.key)
    run.outcome.changed.update(todo)


def apply_add_mail_insert(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Text for the mails to this order (the mailer puts it in), appended once per order and rule."""
    todo = _not_done(run, order_ids, run.key)
    if not todo:
        return
    text = _text(run.tenant, params["text"])
    olds: dict[int, str] = {}
    for chunk in chunked(todo):
        olds.update(Order.objects.filter(ids_in("pk", chunk), tenant_id=run.tenant.pk).values_list("pk", "mail_insert"))
    appended = Case(
        When(mail_insert="", then=Value(text)),
        default=Concat(F("mail_insert"), Value("\n" + text), output_field=TextField()),
        output_field=TextField(),
    )
    orders_write(run.tenant, todo, mail_insert=appended)
    run.outcome.written.update(todo)
    stubs = order_stubs(run.tenant)
    save_events(
        [
            events.order_field_changed_event(
                order=stubs[pk],
                actor=run.actor,
                field="mail_insert",
                old=olds[pk],
                new=f"{olds[pk]}\n{text}" if olds[pk] else text,
                commit=False,
            )
            for pk in todo
        ]
    )
    _mark_done(run, todo, run.key)
    run.outcome.changed.update(todo)


def apply_send_mail(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Queue the mail of a kind (sent after the commit, on the mail queue). Once per order and kind: the
    mailer's ledger skips the orders that have had it (from this rule, another, or an operator), so running
    again sends nothing twice; orders that cannot get it (no address, no template) are left alone."""
    kind = _one(run.refs.mail_book.kinds, params["kind"], _("mail kind"))
    mail_queue(tenant=run.tenant, order_ids=order_ids, kind=kind, actor=run.actor, book=run.refs.mail_book)


# --- tasks: shared by the rule actions, the engine's task pass and the manual services -------------------


def tasks_raise(
    *,
    tenant: Tenant,
    definition: TaskDefinition,
    order_ids: Iterable[int],
    actor: Actor,
    note: str = "",
    notes: Mapping[int, str] | None = None,
    automatic: bool = False,
    bump_version: bool = True,
) -> list[int]:
    """Raise `definition` on the orders that have no open task of it; returns those orders. `automatic`:
    the engine raises it because the definition's condition holds (and will resolve it when it goes).
    `bump_version=False`: the caller (the engine) raises the orders' version itself. `notes`: a note per
    order (the stock check's "欠品: TEA-1 ×2"), `note` for the orders it does not name.

    The caller holds the orders' row locks (the engine locks its scope first; the manual service locks the
    order), so the check and the insert cannot race the partial unique constraint."""
    ids = sorted(set(order_ids))
    have: set[int] = set()
    for chunk in chunked(ids):
        have.update(
            OrderTask.objects.filter(
                ids_in("order_id", chunk), tenant_id=tenant.pk, definition=definition, resolved_at=None
            ).values_list("order_id", flat=True)
        )
    new = [order_id for order_id in ids if order_id not in have]
    if not new:
        return []
    now = timezone.now()
    noted = notes or {}
    copy_rows(
        OrderTask,
        (
            "tenant_id",
            "order_id",
            "definition_id",
            "raised_at",
            "raised_by",
            "raised_automatically",
            "note",
            "resolved_by_name",
            "resolved_automatically",
        ),
        [
            (tenant.pk, order_id, definition.pk, now, actor.name, automatic, noted.get(order_id, note), "", False)
            for order_id in new
        ],
    )
    if bump_version:
        orders_write(tenant, new)
    stubs = order_stubs(tenant)
    save_events(
        [
            events.order_task_raised_event(order=stubs[pk], actor=actor, definition=definition, commit=False)
            for pk in new
        ]
    )
    return new


def tasks_resolve(
    *,
    tenant: Tenant,
    definition: TaskDefinition,
    order_ids: Iterable[int],
    actor: Actor,
    automatic: bool = False,
    bump_version: bool = True,
) -> list[int]:
    """Resolve the open tasks of `definition` on the orders; returns the orders that had one."""
    ids = sorted(set(order_ids))
    resolved: list[int] = []
    now = timezone.now()
    for chunk in chunked(ids):
        open_tasks = OrderTask.objects.filter(
            ids_in("order_id", chunk), tenant_id=tenant.pk, definition=definition, resolved_at=None
        )
        found = list(open_tasks.values_list("order_id", flat=True))
        if found:
            open_tasks.update(
                resolved_at=now,
                resolved_by_id=actor.user_id,
                resolved_by_name=actor.name,
                resolved_automatically=automatic,
            )
            resolved += found
    if not resolved:
        return []
    if bump_version:
        orders_write(tenant, resolved)
    stubs = order_stubs(tenant)
    save_events(
        [
            events.order_task_resolved_event(
                order=stubs[pk], actor=actor, definition=definition, automatic=automatic, commit=False
            )
            for pk in sorted(resolved)
        ]
    )
    return sorted(resolved)


def _definition(run: ActionRun, params: Params) -> TaskDefinition:
    return _one(run.refs.task_definitions, params["task"], _("task"))


def apply_raise_task(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """Once per order and rule: when an operator resolves the task, the rule does not raise it again."""
    todo = _not_done(run, order_ids, run.key)
    if not todo:
        return
    definition = _definition(run, params)
    raised = tasks_raise(tenant=run.tenant, definition=definition, order_ids=todo, actor=run.actor, bump_version=False)
    _mark_done(run, todo, run.key)
    run.outcome.changed.update(raised)
    run.outcome.tasks_raised[definition.pk] = run.outcome.tasks_raised.get(definition.pk, 0) + len(raised)


def apply_resolve_task(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    definition = _definition(run, params)
    resolved = tasks_resolve(
        tenant=run.tenant, definition=definition, order_ids=order_ids, actor=run.actor, bump_version=False
    )
    run.outcome.changed.update(resolved)
    run.outcome.tasks_resolved[definition.pk] = run.outcome.tasks_resolved.get(definition.pk, 0) + len(resolved)


# --- the stock check: its rule action and its tasks (欠品, SKU不明) -----------------------------------------

STOCK_TASKS = (BuiltinTask.STOCK_SHORTAGE, BuiltinTask.UNKNOWN_SKU)


def stock_definitions(tenant: Tenant, known: Mapping[int, TaskDefinition] | None = None) -> dict[str, TaskDefinition]:
    """The tenant's 欠品 and SKU不明 definitions by code (`known`: the rows already read, by id), made if the
    tenant lacks them (tenants made before they existed), as the import makes its own built-in task."""
    found = {d.code: d for d in (known or {}).values() if d.code in STOCK_TASKS}
    if len(found) < len(STOCK_TASKS) and known is None:
        found = {d.code: d for d in TaskDefinition.objects.for_tenant(tenant).filter(code__in=STOCK_TASKS)}
    missing = [code for code in STOCK_TASKS if code not in found]
    if missing:
        last = TaskDefinition.objects.for_tenant(tenant).order_by("-position").values_list("position", flat=True)
        position = last.first() or 0
        names = {code: (name, colour) for code, name, colour in BUILTIN_TASKS}
        TaskDefinition.objects.bulk_create(
            [
                TaskDefinition(
                    tenant=tenant, code=code, name=names[code][0], colour=names[code][1], position=position + n
                )
                for n, code in enumerate(missing, start=1)
            ],
            ignore_conflicts=True,
        )
        found.update({d.code: d for d in TaskDefinition.objects.for_tenant(tenant).filter(code__in=missing)})
    return found


def _items(pairs: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{sku} ×{quantity}" for sku, quantity in pairs)


def stock_task_notes(result: StockChecked) -> dict[str, dict[int, str]]:
    """Per task code, the note of each checked order it holds for: the SKUs still lacking with their units in
    the order of the lines ("欠品: TEA-1 ×2, CUP-1 ×1"), and the SKUs no product answers to."""
    checked = {*result.full, *result.partial, *result.short}
    return {
        BuiltinTask.STOCK_SHORTAGE: {
            order_id: _("Short: %(items)s") % {"items": _items(lacking.items())}
            for order_id, lacking in result.missing.items()
            if order_id in checked and lacking
        },
        BuiltinTask.UNKNOWN_SKU: {
            order_id: _("Unknown SKU: %(skus)s") % {"skus": ", ".join(dict.fromkeys(skus))}
            for order_id, skus in result.unknown.items()
            if order_id in checked and skus
        },
    }


def stock_tasks_follow(
    *,
    tenant: Tenant,
    result: StockChecked,
    actor: Actor,
    definitions: Mapping[str, TaskDefinition] | None = None,
    bump_version: bool = True,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """The 欠品 and SKU不明 tasks after a stock check: raised on the checked orders it found short (a note
    naming the SKUs and units; an open task's note follows the latest check), resolved on the checked orders
    it found without (the order is whole again, every SKU known). Orders the check skipped keep theirs; a
    definition switched off is left alone. Returns {definition id: orders} raised and resolved.

    A fixed number of queries per chunk of orders; the caller holds the orders (the check's transaction)."""
    checked = sorted({*result.full, *result.partial, *result.short})
    raised: dict[int, list[int]] = {}
    resolved: dict[int, list[int]] = {}
    if not checked:
        return raised, resolved
    definitions = definitions or stock_definitions(tenant)
    for code, notes in stock_task_notes(result).items():
        definition = definitions[code]
        if not definition.enabled:
            continue
        open_notes: dict[int, tuple[int, str]] = {}
        for chunk in chunked(checked):
            open_notes.update(
                (order_id, (pk, note))
                for pk, order_id, note in OrderTask.objects.filter(
                    ids_in("order_id", chunk), tenant_id=tenant.pk, definition=definition, resolved_at=None
                ).values_list("pk", "order_id", "note")
            )
        stale = [
            OrderTask(pk=pk, note=notes[order_id])
            for order_id, (pk, note) in open_notes.items()
            if order_id in notes and note != notes[order_id]
        ]
        OrderTask.objects.bulk_update(stale, ["note"], batch_size=DONE_BATCH)
        new = [order_id for order_id in notes if order_id not in open_notes]
        if new:
            raised[definition.pk] = tasks_raise(
                tenant=tenant,
                definition=definition,
                order_ids=new,
                actor=actor,
                notes=notes,
                automatic=True,
                bump_version=bump_version,
            )
        gone = [order_id for order_id in open_notes if order_id not in notes]
        if gone:
            resolved[definition.pk] = tasks_resolve(
                tenant=tenant,
                definition=definition,
                order_ids=gone,
                actor=actor,
                automatic=True,
                bump_version=bump_version,
            )
    return raised, resolved


def _statuses(tenant: Tenant, order_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in chunked(order_ids):
        found.update(Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant.pk).values_list("pk", "status_id"))
    return found


def apply_stock_check(run: ActionRun, params: Params, order_ids: list[int]) -> None:
    """在庫確認 (T12) of the orders the rule matched: inventory's stock check, set-based and oldest first, moves
    each to the status of its outcome (在庫引当済 / 一部引当 / 入荷待ち), then the 欠品 and SKU不明 tasks follow
    what it found. Running it again allocates only what is still missing."""
    before = _statuses(run.tenant, order_ids)
    result = stock_check(tenant=run.tenant, order_ids=order_ids, actor=run.actor, tell=False)
    after = _statuses(run.tenant, order_ids)
    moved = {order_id for order_id, status_id in after.items() if before.get(order_id) != status_id}
    run.outcome.changed |= moved
    run.outcome.written |= moved  # orders_bulk_update wrote their rows (and new versions)
    for order_id, external_id, reason in result.refused:
        run.outcome.refusals.append(Refusal(order_id, external_id, run.rule.pk, run.rule.name, reason))
    definitions = stock_definitions(run.tenant, run.refs.task_definitions)
    for definition in definitions.values():
        run.refs.task_definitions.setdefault(definition.pk, definition)  # the run counts tasks by definition
    raised, resolved = stock_tasks_follow(
        tenant=run.tenant, result=result, actor=run.actor, definitions=definitions, bump_version=False
    )
    for definition_id, ids in raised.items():
        run.outcome.changed.update(ids)
        run.outcome.tasks_raised[definition_id] = run.outcome.tasks_raised.get(definition_id, 0) + len(ids)
    for definition_id, ids in resolved.items():
        run.outcome.changed.update(ids)
        run.outcome.tasks_resolved[definition_id] = run.outcome.tasks_resolved.get(definition_id, 0) + len(ids)


# --- the registry -----------------------------------------------------------------------------------------

ACTIONS: dict[str, ActionType] = {
    action.code: action
    for action in [
        ActionType(
            "move_status",
            gettext_lazy("Move to a status"),
            ("status",),
            _cleaner(status=_row_id(Status, gettext_lazy("status"))),
            apply_move_status,
        ),
        ActionType(
            "raise_task",
            gettext_lazy("Raise a task"),
            ("task",),
            _cleaner(task=_row_id(TaskDefinition, gettext_lazy("task"))),
            apply_raise_task,
            once=True,
        ),
        ActionType(
            "resolve_task",
            gettext_lazy("Resolve a task"),
            ("task",),
            _cleaner(task=_row_id(TaskDefinition, gettext_lazy("task"))),
            apply_resolve_task,
        ),
        ActionType(
            "add_label",
            gettext_lazy("Add a label"),
            ("label",),
            _cleaner(label=_row_id(Label, gettext_lazy("label"))),
            apply_add_label,
        ),
        ActionType(
            "remove_label",
            gettext_lazy("Remove a label"),
            ("label",),
            _cleaner(label=_row_id(Label, gettext_lazy("label"))),
            apply_remove_label,
        ),
        ActionType(
            "set_delivery_method",
            gettext_lazy("Set the delivery method"),
            ("delivery_method",),
            _cleaner(delivery_method=_row_id(DeliveryMethod, gettext_lazy("delivery method"))),
            apply_set_delivery_method,
        ),
        ActionType(
            "set_shipping_fee",
            gettext_lazy("Set the shipping fee"),
            ("amount",),
            _cleaner(amount=_amount),
            apply_set_shipping_fee,
        ),
        ActionType(
            "set_shipping_fee_from_table",
            gettext_lazy("Set the shipping fee from the fee table"),
            (),
            _cleaner(),
            apply_set_shipping_fee_from_table,
        ),
        ActionType(
            "set_delivery_method_for_islands",
            gettext_lazy("Change the delivery method for remote islands"),
            ("delivery_method",),
            _cleaner(delivery_method=_row_id(DeliveryMethod, gettext_lazy("delivery method"))),
            apply_set_delivery_method_for_islands,
        ),
        ActionType(
            "add_memo", gettext_lazy("Add a work memo"), ("text",), _cleaner(text=_text), apply_add_memo, once=True
        ),
        ActionType(
            "add_line",
            gettext_lazy("Add a freebie or enclosure line"),
            ("sku", "name", "quantity"),
            _cleaner(
                sku=_short(100, gettext_lazy("SKU")), name=_short(255, gettext_lazy("item name")), quantity=_quantity
            ),
            apply_add_line,
            once=True,
        ),
        ActionType(
            "set_shipping_store",
            gettext_lazy("Set the shipping store"),
            ("shipping_store",),
            _cleaner(shipping_store=_row_id(ShippingStore, gettext_lazy("shipping store"))),
            apply_set_shipping_store,
        ),
        ActionType(
            "add_mail_insert",
            gettext_lazy("Add a mail insert text"),
            ("text",),
            _cleaner(text=_text),
            apply_add_mail_insert,
            once=True,
        ),
        ActionType(
            "send_mail",
            gettext_lazy("Send a mail"),
            ("kind",),
            _cleaner(kind=_row_id(MailKind, gettext_lazy("mail kind"))),
            apply_send_mail,
        ),
        ActionType("stock_check", gettext_lazy("Stock check"), (), _cleaner(), apply_stock_check),
    ]
}


def _clean_one(tenant: Tenant, position: int, action: Any) -> Params:
    if not isinstance(action, dict):
        raise ValidationError(_('Action %(n)d: write it as {"type": …} with its settings.') % {"n": position})
    action_type = ACTIONS.get(action.get("type", ""))
    if action_type is None:
        raise ValidationError(
            _("Action %(n)d: unknown type “%(type)s”. Choose one of: %(types)s.")
            % {"n": position, "type": action.get("type", ""), "types": ", ".join(ACTIONS)}
        )
    unexpected = sorted(set(action) - {"type", *action_type.settings})
    if unexpected:
        raise ValidationError(
            _("Action %(n)d (%(label)s): unknown setting “%(name)s”.")
            % {"n": position, "label": action_type.label, "name": unexpected[0]}
        )
    try:
        return {"type": action_type.code, **action_type.clean(tenant, action)}
    except ValidationError as error:
        raise ValidationError(
            _("Action %(n)d (%(label)s): %(problem)s.")
            % {"n": position, "label": action_type.label, "problem": "; ".join(error.messages)}
        ) from None


def validate_actions(tenant: Tenant, actions: Any) -> list[str]:
    """Every problem with a rule's actions, each naming the action by its number and type; [] when fine."""
    if not isinstance(actions, list):
        return [_('Write the actions as a list: [{"type": …}, …].')]
    problems: list[str] = []
    for position, action in enumerate(actions, start=1):
        try:
            _clean_one(tenant, position, action)
        except ValidationError as error:
            problems.extend(error.messages)
    return problems


def clean_actions(tenant: Tenant, actions: Any) -> list[Params]:
    """The actions with their settings cleaned (ids as integers, texts stripped); ValidationError listing
    every problem otherwise."""
    problems = validate_actions(tenant, actions)
    if problems:
        raise ValidationError(problems)
    return [_clean_one(tenant, position, action) for position, action in enumerate(actions, start=1)]


def apply_action(
    *, tenant: Tenant, rule: Rule, action: Params, order_ids: list[int], refs: References, outcome: ActionOutcome
) -> None:
    """Apply one saved action of `rule` to the orders; a broken one is reported in `outcome.errors`."""
    action_type = ACTIONS.get(action.get("type", "")) if isinstance(action, dict) else None
    if action_type is None:
        outcome.errors.append(_("unknown action %(action)s") % {"action": json.dumps(action, ensure_ascii=False)})
        return
    try:
        params = {name: action.get(name) for name in action_type.settings}
        run = ActionRun(tenant=tenant, rule=rule, key=action_key(action), refs=refs, outcome=outcome)
        action_type.apply(run, params, order_ids)
    except ActionUnavailable as error:
        outcome.errors.append(f"{action_type.label}: {error}")
    except ValidationError as error:  # saved JSON that the form never saw (edited in the database, say)
        outcome.errors.append(f"{action_type.label}: {'; '.join(error.messages)}")
