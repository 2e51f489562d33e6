"""The import pipeline: `import_orders(shop, batch, run=…)` upserts one batch of a mall's orders by (shop,
order number), in one transaction.

- new orders are written set-based (`_create`: COPY on PostgreSQL through orders.copy, bulk_create
  elsewhere), not one by one through `orders.services.order_create`, but to the same rows and events (first
  "new" status, amounts from compute_amounts, search column, lines, a "created" event):
  tests/orders/test_parity.py creates one order both ways and compares them. Plus the mall's values for the
  next comparison (MallOrder);
- an order whose mall values hash to what was stored last time is left alone: no write, no event, no new
  version; importing the same batch twice changes nothing;
- an order the mall changed is merged three ways, field by field and line by line, against what the mall
  said last time (MallOrder.values, "base"):
    * the mall did not change the field (new == base): nothing happens, whatever the order holds now; an
      operator's or a rule's edit stays, and a re-sent order never churns;
    * the mall changed it and nobody here did (current == base): the mall's value is applied, one
      field_changed event (actor: the import, named after the shop) with old and new;
    * the mall changed it and so did someone here: if the field's latest change was an operator's (a USER
      event), the operator's value is kept and the task "mall changed an edited order" is raised with what
      the mall now says; a rule's or the system's value gives way to the mall's (the rules run again on
      the order right after the import, so a rule that still holds sets its value again);
  lines merge the same way as multisets: lines the mall removed since last time go, lines it added come,
  lines nobody at the mall sent (a rule's freebie) stay; amounts follow;
- a cancellation at the mall (the connector's flag, or the tenant's mapping of the mall status) moves the
  order to the tenant's first cancelled status through orders_cancel (the lifecycle's rules); a shipped
  order cannot be cancelled: a status_refused event and the task instead;
- an order the connector could not read (FailedOrder), or whose values do not fit (an over-long field, a
  negative quantity, an amount, quantity or total beyond the bounds below), is recorded as an ImportFailure
  with its reason and payload; the others import. The bounds are checked here, in `prepare`, which the
  malls' polls, the CSV import and the CSV preview all go through, so the preview lists what the import
  would refuse;
- a batch that the database still refuses (an IntegrityError or DataError nobody foresaw) is rolled back to
  its savepoint and written again order by order, each in a savepoint of its own: only the order the
  database refuses is recorded as a failure, the others import and the poll's cursor moves on.

Bounds (MAX_AMOUNT, MAX_QUANTITY, from shops.connectors.parsing): every amount (unit price, fees, discount,
points) and every derived amount (a line's price × quantity, the item subtotal, the tax, the total) is at
most ¥999,999,999,999 either way, a line's quantity at most 999,999. Far below PostgreSQL's bigint
(±9.2e18) and its integer (2.1e9) for quantities, so nothing that passes can overflow a column or a sum;
far above any real order.

Without a stored base (an order entered by hand for a mall shop, or imported before MallOrder existed), the
order's current values stand in for it and the operator rule decides every difference.

Phones are stored in their domestic form (japan.phones: "+81 90-1234-5678" → "090-1234-5678") while
MallOrder keeps what the mall sent; the merge compares the two in the stored form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from django.db import DataError, IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automation.actions import tasks_raise
from automation.defaults import BUILTIN_TASKS, BuiltinTask
from automation.models import TaskDefinition
from backyard.models import Tenant
from japan.phones import normalize_phone
from orders import events
from orders.constants import PARTY_FIELDS, ActorKind, EventType, Stage
from orders.copy import JsonText, copy_rows, save_events
from orders.destination import KEY_COLUMNS, destination_keys, set_destination_keys
from orders.events import Actor
from orders.exceptions import StageMoveRefused
from orders.hooks import order_fields_changed, orders_entered_status
from orders.locks import orders_lock_objects, shop_lock
from orders.models import Order, OrderEvent, OrderLine, PaymentMethod, Status
from orders.search import search_text
from orders.selectors import first_status
from orders.services import EDITABLE_FIELDS, PHONE_FIELDS, SEARCH_FIELDS, compute_amounts, status_initial
from orders.services.bulk import orders_cancel
from orders.sets import chunked, ids_in, order_stub
from orders.slots import slot_value
from shipping.models import DeliveryMethod

from ..connectors.base import FailedOrder, ImportedOrder
from ..connectors.parsing import MAX_AMOUNT, MAX_QUANTITY
from ..constants import MallKind
from ..models import ImportFailure, ImportRun, MallCodeMapping, MallOrder, MappingKind, Shop, Trigger

logger = logging.getLogger(__name__)

TEXT_FIELDS = (
    *PARTY_FIELDS,
    "delivery_time_slot",
    "remarks",
    "order_comment",
)
# The buyer's personal data: once erased from an order (retention, T2), never taken from the mall again, and
# not kept in MallOrder either (see mall_state_erase).
PERSONAL_FIELDS = tuple(name for name in TEXT_FIELDS if name.startswith(("orderer_", "dest_")))
FEE_FIELDS = ("shipping_fee", "cod_fee", "discount", "points_used")
FK_FIELDS = ("payment_method", "delivery_method")
# What the mall decides about an order; all of them are fields an import may set (EDITABLE_FIELDS).
# delivery_slot: the carriers' slot the mall's slot text names (orders.slots), merged like any other field.
IMPORTED_FIELDS = (
    "ordered_at",
    *TEXT_FIELDS,
    "delivery_slot",
    *FEE_FIELDS,
    "requested_delivery_date",
    "mall_remote_island",
    *FK_FIELDS,
)
assert set(IMPORTED_FIELDS) <= EDITABLE_FIELDS
DERIVED_FIELDS = ("item_subtotal", "tax", "total", "search_text", *KEY_COLUMNS, "version", "updated_at")
LINES = "lines"  # the key of the lines in MallOrder.values and in the operator-edit lookup
NOTES_KEPT = 200  # notes an ImportRun keeps; the rest are counted
LINE_EVENTS = (EventType.LINE_ADDED, EventType.LINE_CHANGED, EventType.LINE_REMOVED)


class Line(NamedTuple):
    """A line as the mall sends it, in orders.services.LINE_FIELDS order; hashable, so lines compare as
    multisets."""

    sku: str
    name: str
    options: str
    unit_price: int
    quantity: int
    tax_rate: int


@dataclass
class BatchOutcome:
    """What one batch did, by order id; `failed` holds (order number, reason)."""

    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    unchanged_ids: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept: int = 0  # orders where a change from the mall was held back for an operator's edit

    @property
    def changed_ids(self) -> list[int]:
        """New and updated orders: what auto-processing runs on after the batch."""
        return [*self.new_ids, *self.updated_ids]

    def absorb(self, other: BatchOutcome) -> None:
        """Add what another part of the same batch did."""
        self.new_ids += other.new_ids
        self.updated_ids += other.updated_ids
        self.unchanged_ids += other.unchanged_ids
        self.failed += other.failed
        self.notes += [text for text in other.notes if text not in self.notes]
        self.kept += other.kept


class Unreadable(ValueError):
    """An order whose values cannot be stored as they are: recorded as a failure, never truncated."""


# --- reading the mall's values ------------------------------------------------------------------------------


@dataclass
class Mappings:
    """The tenant's code mappings for one mall, and its own method names (three queries per batch)."""

    payment: dict[str, int] = field(default_factory=dict)
    delivery: dict[str, int] = field(default_factory=dict)
    cancels: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def load(cls, shop: Shop) -> Mappings:
        found = cls()
        rows = (
            MallCodeMapping.objects.for_tenant(shop.tenant_id)
            .filter(mall=shop.mall)
            .values_list("kind", "mall_code", "payment_method_id", "delivery_method_id", "cancels")
        )
        for kind, code, payment_id, delivery_id, cancels in rows:
            if kind == MappingKind.PAYMENT and payment_id is not None:
                found.payment[code] = payment_id
            elif kind == MappingKind.DELIVERY and delivery_id is not None:
                found.delivery[code] = delivery_id
            elif kind == MappingKind.STATUS:
                found.cancels[code] = cancels
        # A name the mall (or a CSV) writes exactly as the tenant names its own payment or delivery method
        # means that method, unless a mapping says otherwise.
        tenant_id = shop.tenant_id
        for name, pk in PaymentMethod.objects.for_tenant(tenant_id).filter(active=True).values_list("name", "pk"):
            found.payment.setdefault(name, pk)
        for name, pk in DeliveryMethod.objects.for_tenant(tenant_id).filter(active=True).values_list("name", "pk"):
            found.delivery.setdefault(name, pk)
        return found


@dataclass
class Prepared:
    """One order of the batch, checked and mapped: its model values and the JSON form kept in MallOrder."""

    external_id: str
    fields: dict[str, Any]  # attname → value, as the Order model takes them
    values: dict[str, Any]  # field name → JSON value, with "lines", "cancelled" and "mall_status"
    encoded: JsonText  # the same, with its JSON text
    lines: list[Line]
    cancelled: bool
    mall_status: str
    mall_updated_at: dt.datetime | None
    mall_total: int | None
    digest: str
    amounts: dict[str, int]  # item_subtotal, tax and total as compute_amounts gives them, within the bounds


_MAX_LENGTH: dict[tuple[str, str], int | None] = {}


def _max_length(model: type[models.Model], name: str) -> int | None:
    key = (model._meta.label, name)
    if key not in _MAX_LENGTH:
        _MAX_LENGTH[key] = getattr(model._meta.get_field(name), "max_length", None)
    return _MAX_LENGTH[key]


def _label(name: str) -> str:
    return str(getattr(Order._meta.get_field(name), "verbose_name", name))


def _lazy_label(name: str) -> Callable[[], str]:
    return lambda: _label(name)


Label = str | Callable[[], str]  # a field's name for a message, computed only when there is one to give


def _say(label: Label) -> str:
    return label() if callable(label) else label


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: Any, label: Label, limit: int | None) -> str:
    """Text as stored: line ends unified, NUL dropped (PostgreSQL refuses it), outer spaces trimmed. A lone
    surrogate (JSON's "\\ud800", which no UTF-8 can carry) makes the order unreadable."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Unreadable(_("“%(field)s” is not text.") % {"field": _say(label)})
    if not value.isascii() and _SURROGATE.search(value):
        raise Unreadable(
            _("“%(field)s” contains a character that cannot be stored (a broken surrogate pair).")
            % {"field": _say(label)}
        )
    if "\r" in value or "\x00" in value:
        value = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise Unreadable(_("“%(field)s” is longer than %(limit)d characters.") % {"field": _say(label), "limit": limit})
    return value


def _whole(value: Any, label: Label, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unreadable(_("“%(field)s” is not a whole number.") % {"field": _say(label)})
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise Unreadable(_("“%(field)s” is out of range: %(value)s.") % {"field": _say(label), "value": value})
    return value


def _amount(value: Any, label: Label) -> int:
    """Whole yen within ±MAX_AMOUNT (see the module's docstring)."""
    value = _whole(value, label)
    if abs(value) > MAX_AMOUNT:
        raise Unreadable(
            _("“%(field)s” is too large an amount (the limit is ¥%(limit)s).")
            % {"field": _say(label), "limit": f"{MAX_AMOUNT:,}"}
        )
    return value


def _quantity(value: Any, label: Label) -> int:
    value = _whole(value, label, 0)
    if value > MAX_QUANTITY:
        raise Unreadable(
            _("“%(field)s” is too large a quantity (the limit is %(limit)s).")
            % {"field": _say(label), "limit": f"{MAX_QUANTITY:,}"}
        )
    return value


def _amounts(lines: list[Line], fields: dict[str, Any]) -> dict[str, int]:
    """The order's derived amounts (compute_amounts), each line's price × quantity and every sum within
    ±MAX_AMOUNT."""
    for number, line in enumerate(lines, start=1):
        if abs(line.unit_price * line.quantity) > MAX_AMOUNT:
            raise Unreadable(
                _("Line %(n)d: the unit price × the quantity is too large an amount (the limit is ¥%(limit)s).")
                % {"n": number, "limit": f"{MAX_AMOUNT:,}"}
            )
    amounts = compute_amounts(
        lines=cast(list[OrderLine], lines),
        shipping_fee=fields["shipping_fee"],
        cod_fee=fields["cod_fee"],
        discount=fields["discount"],
        points_used=fields["points_used"],
    )
    for name, value in amounts.items():
        if abs(value) > MAX_AMOUNT:
            raise Unreadable(
                _("“%(field)s” is too large an amount (the limit is ¥%(limit)s).")
                % {"field": _label(name), "limit": f"{MAX_AMOUNT:,}"}
            )
    return amounts


def as_json(value: Any) -> Any:
    """A field value as MallOrder.values keeps it: times in UTC ISO form, dates ISO, the rest as they are."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _encoded(values: dict[str, Any]) -> tuple[JsonText, str]:
    """The values with their canonical JSON text, and that text's digest."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return JsonText(values, text), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _attname(name: str) -> str:
    return f"{name}_id" if name in FK_FIELDS else name


def _line_label(number: int, name: str) -> Callable[[], str]:
    def label() -> str:
        field_name = getattr(OrderLine._meta.get_field(name), "verbose_name", name)
        return _("line %(n)d: %(field)s") % {"n": number, "field": field_name}

    return label


def _lines(order: ImportedOrder) -> list[Line]:
    lines = []
    limits = {name: _max_length(OrderLine, name) for name in ("sku", "name", "options")}
    for number, line in enumerate(order.lines, start=1):
        lines.append(
            Line(
                sku=clean_text(line.sku, _line_label(number, "sku"), limits["sku"]),
                name=clean_text(line.name, _line_label(number, "name"), limits["name"]),
                options=clean_text(line.options, _line_label(number, "options"), limits["options"]),
                unit_price=_amount(line.unit_price, _line_label(number, "unit_price")),
                quantity=_quantity(line.quantity, _line_label(number, "quantity")),
                tax_rate=_whole(line.tax_rate, _line_label(number, "tax_rate"), 0, 100),
            )
        )
    return lines


def prepare(order: ImportedOrder, mappings: Mappings, note: Callable[[str], None]) -> Prepared:
    """Check and map one order. Raises Unreadable with a reason an operator understands."""
    external_id = clean_text(order.external_id, _lazy_label("external_id"), _max_length(Order, "external_id"))
    if not external_id:
        raise Unreadable(_("The order has no order number."))
    fields: dict[str, Any] = {}
    ordered_at = order.ordered_at
    if not isinstance(ordered_at, dt.datetime):
        raise Unreadable(_("“%(field)s” is not a date and time.") % {"field": _label("ordered_at")})
    try:
        fields["ordered_at"] = ordered_at if timezone.is_aware(ordered_at) else timezone.make_aware(ordered_at)
        as_json(fields["ordered_at"])  # in UTC, as MallOrder keeps it: 0001-01-01T00:00+09:00 is not
    except (OverflowError, ValueError):
        raise Unreadable(_("“%(field)s” is not a date and time.") % {"field": _label("ordered_at")}) from None
    for name in TEXT_FIELDS:
        fields[name] = clean_text(getattr(order, name), _lazy_label(name), _max_length(Order, name))
    sent = {name: fields[name] for name in PHONE_FIELDS}  # as the mall wrote them: kept in its values
    for name in PHONE_FIELDS:
        fields[name] = normalize_phone(fields[name])  # "+81 90-…" stored as "090-…"
    fields["delivery_slot"] = slot_value(fields["delivery_time_slot"])  # none when no carrier has it (a task)
    for name in FEE_FIELDS:
        fields[name] = _amount(getattr(order, name), _lazy_label(name))
    wanted = order.requested_delivery_date
    if wanted is not None and not isinstance(wanted, dt.date):
        raise Unreadable(_("“%(field)s” is not a date.") % {"field": _label("requested_delivery_date")})
    fields["requested_delivery_date"] = wanted.date() if isinstance(wanted, dt.datetime) else wanted
    island = order.remote_island
    fields["mall_remote_island"] = None if island is None else bool(island)

    payment_code = clean_text(order.payment_code, lambda: _("payment code"), None)
    payment_name = clean_text(order.payment_name, lambda: _("payment"), None)
    payment = mappings.payment.get(payment_code) if payment_code else None
    if payment is None and payment_name:
        payment = mappings.payment.get(payment_name)
    if payment is None and (payment_code or payment_name):
        note(
            _(
                "Unknown payment code “%(code)s” (%(name)s): the payment method was left empty; map it under "
                "mall code mappings."
            )
            % {"code": payment_code, "name": payment_name}
        )
    fields["payment_method_id"] = payment
    delivery_name = clean_text(order.delivery_name, lambda: _("delivery method"), None)
    delivery = mappings.delivery.get(delivery_name) if delivery_name else None
    if delivery is None and delivery_name:
        note(
            _(
                "Unknown delivery method “%(name)s”: the delivery method was left empty; map it under mall code "
                "mappings."
            )
            % {"name": delivery_name}
        )
    fields["delivery_method_id"] = delivery
    for text in order.notes:  # what the connector read around (Yahoo!'s missing total)
        note(_storable(str(text)))

    lines = _lines(order)
    amounts = _amounts(lines, fields)
    mall_status = clean_text(order.mall_status, lambda: _("mall status"), 100)
    cancelled = mappings.cancels.get(mall_status, bool(order.cancelled))
    values = {name: as_json(fields[_attname(name)]) for name in IMPORTED_FIELDS}
    values.update(sent)
    values[LINES] = [list(line) for line in lines]
    values["cancelled"] = cancelled
    values["mall_status"] = mall_status
    total = order.total
    encoded, digest = _encoded(values)
    return Prepared(
        external_id=external_id,
        fields=fields,
        values=values,
        encoded=encoded,
        lines=lines,
        cancelled=cancelled,
        mall_status=mall_status,
        mall_updated_at=_mall_time(order.updated_at),
        digest=digest,
        mall_total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        amounts=amounts,
    )


def _mall_time(value: Any) -> dt.datetime | None:
    """The mall's time of its last change, kept for reference: None when it is not one PostgreSQL and Python
    both hold (an aware time whose UTC falls before year 1)."""
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        return None
    try:
        as_json(value)
    except (OverflowError, ValueError):
        return None
    return value


def _payload(order: ImportedOrder) -> str:
    return json.dumps(dataclasses.asdict(order), ensure_ascii=False, default=str)


# --- writing rows ---------------------------------------------------------------------------------------------

ROW_BATCH = 1_000


def _insert(model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert plain rows (attribute names in `columns`); no ids come back (orders.copy). The database's
    refusals come as Django's errors, which import_orders retries order by order."""
    copy_rows(model, columns, rows, batch_size=ROW_BATCH)


class _OrderRows:
    """Full rows of orders_order: every column, the model's defaults where the import sets nothing (the
    defaults are read from the model once, so a new column with a default needs nothing here)."""

    def __init__(self) -> None:
        self.fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
        self.defaults = {f.attname: f.get_default() for f in self.fields}

    def insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the orders; their new ids, in the order given."""
        if connection.vendor != "postgresql":
            objs = [Order(**{**self.defaults, **row}) for row in rows]
            Order.objects.bulk_create(objs, batch_size=ROW_BATCH)
            return [int(obj.pk) for obj in objs]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Order._meta.db_table, len(rows)],
            )
            ids = [int(row[0]) for row in cursor.fetchall()]
        attnames = [f.attname for f in self.fields]

        def full(pk: int, row: dict[str, Any]) -> tuple[Any, ...]:
            values = {**self.defaults, **row}
            return (pk, *(values[name] for name in attnames))

        copy_rows(
            Order, ["id", *attnames], [full(pk, row) for pk, row in zip(ids, rows, strict=True)], batch_size=ROW_BATCH
        )
        return ids


@functools.cache
def _order_rows() -> _OrderRows:
    """Built once per process, on first use (after the apps are ready)."""
    return _OrderRows()


def _stub(order_id: int, tenant_id: int, status: Status) -> Order:
    """An order carrying only what the event builders read (orders.sets.order_stub), and its status."""
    stub = order_stub(order_id, tenant_id)
    stub.status = status
    return stub


MALL_ORDER_COLUMNS = ("order_id", "tenant_id", "digest", "values", "mall_status", "mall_updated_at", "imported_at")
LINE_COLUMNS = ("tenant_id", "order_id", "position", "sku", "name", "options", "unit_price", "quantity", "tax_rate")


def _state_row(order_id: int, tenant_id: int, p: Prepared, now: dt.datetime) -> tuple[Any, ...]:
    return (order_id, tenant_id, p.digest, p.encoded, p.mall_status, p.mall_updated_at, now)


# --- the batch ---------------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """One call's state: who writes, what it found, what it will write."""

    shop: Shop
    run: ImportRun
    actor: Actor
    now: dt.datetime
    outcome: BatchOutcome
    built: list[OrderEvent] = field(default_factory=list)
    to_cancel: list[int] = field(default_factory=list)
    conflicts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    numbers: dict[int, str] = field(default_factory=dict)
    fields_changed: dict[int, frozenset[str]] = field(default_factory=dict)  # by order: the fields the merge set

    @property
    def tenant_id(self) -> int:
        return int(self.shop.tenant_id)

    def note(self, text: str) -> None:
        if text not in self.outcome.notes:
            self.outcome.notes.append(text)


def import_orders(shop: Shop, batch: Iterable[ImportedOrder | FailedOrder], *, run: ImportRun) -> BatchOutcome:
    """Upsert one batch of the shop's orders in one transaction; see the module's docstring for the rules.

    The shop's row is locked for the batch, so two imports of one shop (a poll and a CSV upload) take turns.
    Counts, failures and notes go to `run`; the caller runs auto-processing on `outcome.changed_ids`."""
    if run.shop_id != shop.pk or run.tenant_id != shop.tenant_id:
        raise ValueError("the run belongs to another shop")
    outcome = BatchOutcome()
    state = _Batch(shop=shop, run=run, actor=Actor.importer(shop.name), now=timezone.now(), outcome=outcome)
    with transaction.atomic():
        shop_lock(shop)
        mappings = Mappings.load(shop)
        prepared: dict[str, Prepared] = {}
        received: dict[str, ImportedOrder] = {}
        failures: list[ImportFailure] = []
        for item in batch:
            if isinstance(item, FailedOrder):
                failures.append(_failure(state, item.external_id, item.reason, item.payload))
                continue
            try:
                ready = prepare(item, mappings, state.note)
            except Unreadable as error:
                failures.append(_failure(state, str(getattr(item, "external_id", "")), str(error), _payload(item)))
                continue
            except Exception as error:  # a value nothing foresaw: this order fails, the batch goes on
                logger.exception("order %r of shop %s cannot be prepared", getattr(item, "external_id", ""), shop.pk)
                failures.append(
                    _failure(
                        state,
                        str(getattr(item, "external_id", "")),
                        _("The order cannot be read: %(error)s") % {"error": error},
                        _payload(item),
                    )
                )
                continue
            prepared.pop(ready.external_id, None)
            prepared[ready.external_id] = ready  # a later copy of the same order in the batch is the newer one
            received[ready.external_id] = item
        try:
            with transaction.atomic():  # a savepoint: a refusal of the database undoes this attempt only
                written = _write(state, prepared)
        except (IntegrityError, DataError) as error:
            logger.warning(
                "a batch of shop %s was refused by the database (%s); importing it order by order", shop.pk, error
            )
            written = BatchOutcome()
            for number, ready in prepared.items():
                try:
                    with transaction.atomic():
                        one = _write(state, {number: ready})
                except (IntegrityError, DataError) as refused:
                    failures.append(_failure(state, number, _refused(refused), _payload(received[number])))
                    continue
                written.absorb(one)
        outcome.absorb(written)
        ImportFailure.objects.bulk_create(failures, batch_size=ROW_BATCH)
        outcome.failed = [(f.external_id, f.reason) for f in failures]
        _count(state)
    return outcome


def _write(batch: _Batch, prepared: dict[str, Prepared]) -> BatchOutcome:
    """Write the prepared orders (new ones created, changed ones merged, cancellations, tasks); what it did.
    Its own state, so that an attempt the database refuses leaves nothing behind in the batch's."""
    state = dataclasses.replace(
        batch,
        outcome=BatchOutcome(),
        built=[],
        to_cancel=[],
        conflicts=defaultdict(list),
        numbers={},
        fields_changed={},
    )
    outcome = state.outcome
    existing = _existing(state.shop, list(prepared))
    new = [p for number, p in prepared.items() if number not in existing]
    changed: list[tuple[int, Prepared]] = []
    for number, p in prepared.items():
        if number not in existing:
            continue
        order_id, digest = existing[number]
        if digest == p.digest:
            outcome.unchanged_ids.append(order_id)
        else:
            changed.append((order_id, p))
    if new:
        outcome.new_ids = _create(state, new)
    if changed:
        _merge(state, changed)
    save_events(state.built)
    _announce_changes(state)
    _cancel(state)
    _raise_tasks(state)
    return outcome


def _refused(error: Exception) -> str:
    """An import failure's reason for an order the database refused, with the database's own first line."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return _("The database refused the order: %(error)s") % {"error": detail[:300]}


@dataclass
class ImportPreview:
    """What importing these orders would do, computed without writing: new, changed, unchanged by order
    number, the orders that would fail with their reasons, and the notes (unknown payment codes …)."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_preview(
    shop: Shop, orders: Iterable[ImportedOrder], progress: Callable[[int], None] | None = None
) -> ImportPreview:
    """The same checks and comparison as import_orders (prepare, then the stored digests), read-only: one
    query for the mappings and one per ROW_BATCH orders, which are prepared and compared a batch at a time
    (a 200,000-row file is never held prepared as a whole). `progress` is called with the number of orders
    checked so far after each batch."""
    preview = ImportPreview()
    mappings = Mappings.load(shop)
    notes: dict[str, None] = {}
    prepared: dict[str, Prepared] = {}
    seen = 0

    def compare() -> None:
        existing = _existing(shop, list(prepared))
        for number, ready in prepared.items():
            if number not in existing:
                preview.new.append(number)
            elif existing[number][1] == ready.digest:
                preview.unchanged.append(number)
            else:
                preview.changed.append(number)
        prepared.clear()
        if progress is not None:
            progress(seen)

    for order in orders:
        seen += 1
        try:
            ready = prepare(order, mappings, lambda text: notes.setdefault(text, None))
        except Unreadable as error:
            preview.failed.append((str(order.external_id), str(error)))
            continue
        except Exception as error:  # as import_orders: this order would fail, the others import
            preview.failed.append((str(order.external_id), _("The order cannot be read: %(error)s") % {"error": error}))
            continue
        prepared[ready.external_id] = ready
        if len(prepared) >= ROW_BATCH:
            compare()
    compare()
    preview.notes = list(notes)
    return preview


def _storable(text: str) -> str:
    """Text any database takes: NUL dropped, a lone surrogate replaced (a failure records what the mall sent,
    which may be what made the order fail)."""
    text = text.replace("\x00", "")
    return text if text.isascii() or not _SURROGATE.search(text) else _SURROGATE.sub("\ufffd", text)


def _failure(state: _Batch, external_id: str, reason: str, payload: str) -> ImportFailure:
    return ImportFailure(
        tenant_id=state.tenant_id,
        run=state.run,
        shop=state.shop,
        external_id=_storable(str(external_id or "")).strip()[:100],
        reason=_storable(reason),
        payload=_storable(payload or ""),
        at=state.now,
    )


def _existing(shop: Shop, numbers: list[str]) -> dict[str, tuple[int, str | None]]:
    """The shop's orders among these numbers: id and the stored digest (None: no MallOrder yet)."""
    found: dict[str, tuple[int, str | None]] = {}
    base = Order.objects.filter(tenant_id=shop.tenant_id, shop_id=shop.pk)
    for start in range(0, len(numbers), ROW_BATCH):
        rows = base.filter(external_id__in=numbers[start : start + ROW_BATCH]).values_list(
            "external_id", "pk", "mall_state__digest"
        )
        for number, pk, digest in rows:
            found[number] = (pk, digest)
    return found


def _create(state: _Batch, new: list[Prepared]) -> list[int]:
    """Write the new orders, their lines, "created" events and MallOrder rows; returns their ids."""
    status = status_initial(tenant=state.shop.tenant)
    now, tenant_id = state.now, state.tenant_id
    rows = []
    for p in new:
        amounts = p.amounts
        if p.mall_total is not None and p.mall_total != amounts["total"]:
            state.note(_total_note(p.external_id, p.mall_total, amounts["total"]))
        row = {
            **p.fields,
            **amounts,
            "tenant_id": tenant_id,
            "shop_id": state.shop.pk,
            "external_id": p.external_id,
            "status_id": status.pk,
            "stage": status.group.stage,
            # An auction buyer gives the address through the order form after winning: until then the
            # order-form reminder (mailer) goes to the order; an operator clears the flag by hand too.
            "form_pending": state.shop.mall == MallKind.AUCTION and not p.fields.get("dest_address1"),
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        row["search_text"] = search_text(
            [*(str(row.get(name) or "") for name in SEARCH_FIELDS), *(line.sku for line in p.lines)]
        )
        row.update(destination_keys(row))
        rows.append(row)
    ids = _order_rows().insert(rows)
    _insert(
        OrderLine,
        LINE_COLUMNS,
        [
            (tenant_id, order_id, position, *line)
            for order_id, p in zip(ids, new, strict=True)
            for position, line in enumerate(p.lines, start=1)
        ],
    )
    source = "csv" if state.run.trigger == Trigger.CSV else "import"
    state.built.extend(
        events.order_created_event(
            order=_stub(order_id, tenant_id, status), actor=state.actor, source=source, commit=False
        )
        for order_id in ids
    )
    _insert(
        MallOrder,
        MALL_ORDER_COLUMNS,
        [_state_row(order_id, tenant_id, p, now) for order_id, p in zip(ids, new, strict=True)],
    )
    for order_id, p in zip(ids, new, strict=True):
        state.numbers[order_id] = p.external_id
        if p.cancelled:
            state.to_cancel.append(order_id)
    orders_entered_status(
        tenant_id=tenant_id, entered={status.pk: ids}, actor=state.actor, stages={status.pk: status.group.stage}
    )
    return ids


def _total_note(number: str, mall: int, ours: int) -> str:
    return _("%(number)s: the mall's total is %(mall)s yen; the lines and fees add up to %(ours)s yen.") % {
        "number": number,
        "mall": f"{mall:,}",
        "ours": f"{ours:,}",
    }


class _LatestActors:
    """Who last changed each field (and the lines) of the orders being merged, read once on first need."""

    def __init__(self, tenant_id: int, order_ids: list[int]) -> None:
        self.tenant_id = tenant_id
        self.order_ids = order_ids
        self._latest: dict[tuple[int, str], str] | None = None

    def of(self, order_id: int, key: str) -> str | None:
        if self._latest is None:
            self._latest = {}
            for chunk in chunked(self.order_ids):
                rows = (
                    OrderEvent.objects.filter(
                        ids_in("order_id", chunk),
                        tenant_id=self.tenant_id,
                        type__in=[EventType.FIELD_CHANGED, *LINE_EVENTS],
                    )
                    .order_by("at", "pk")
                    .values_list("order_id", "type", "data__field", "actor_kind")
                )
                for event_order, type_, name, actor_kind in rows:
                    self._latest[(event_order, LINES if type_ in LINE_EVENTS else str(name))] = actor_kind
        return self._latest.get((order_id, key))

    def operator_edited(self, order_id: int, key: str) -> bool:
        return self.of(order_id, key) == ActorKind.USER


def _merge(state: _Batch, changed: list[tuple[int, Prepared]]) -> None:
    """The three-way merge of orders the mall changed (see the module's docstring)."""
    ids = sorted(order_id for order_id, _p in changed)
    incoming = dict(changed)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    states: dict[int, MallOrder] = {}
    orders = orders_lock_objects(state.tenant_id, ids, "status__group", "payment_method", "delivery_method")
    for chunk in chunked(ids):
        for line in OrderLine.objects.filter(ids_in("order_id", chunk), tenant_id=state.tenant_id).order_by(
            "order_id", "position", "pk"
        ):
            lines[line.order_id].append(line)
        states.update((s.order_id, s) for s in MallOrder.objects.filter(ids_in("order_id", chunk)))
    actors = _LatestActors(state.tenant_id, ids)
    written: list[Order] = []
    written_fields: set[str] = set()
    removed_lines: list[OrderLine] = []
    added_lines: list[tuple[Order, OrderLine]] = []
    for order_id in ids:
        order, p = orders[order_id], incoming[order_id]
        state.numbers[order_id] = order.external_id
        stored = states.get(order_id)
        base = stored.values if stored is not None else None
        erased = getattr(order, "personal_data_erased_at", None) is not None
        changed_fields = _merge_fields(state, order, p, base, actors, skip=PERSONAL_FIELDS if erased else ())
        if changed_fields:
            state.fields_changed[order_id] = frozenset(changed_fields)
        gone, come = _merge_lines(state, order, p, base, lines[order_id], actors)
        if gone or come:  # the apps above hear of it with the fields (inventory: the stock follows the lines)
            state.fields_changed[order_id] = frozenset({*changed_fields, LINES})
        _merge_cancel(state, order, p, base)
        if changed_fields or gone or come:
            kept = [line for line in lines[order_id] if line not in gone]
            position = max((line.position for line in lines[order_id]), default=0)
            new_lines = []
            for sent in come:
                position += 1
                new_lines.append(OrderLine(tenant_id=state.tenant_id, order=order, position=position, **sent._asdict()))
            final = [*kept, *new_lines]
            for name, value in compute_amounts(
                lines=final,
                shipping_fee=order.shipping_fee,
                cod_fee=order.cod_fee,
                discount=order.discount,
                points_used=order.points_used,
            ).items():
                setattr(order, name, value)
            if p.mall_total is not None and p.mall_total != order.total:
                state.note(_total_note(order.external_id, p.mall_total, order.total))
            order.search_text = search_text(
                [*(str(getattr(order, name) or "") for name in SEARCH_FIELDS), *(line.sku for line in final)]
            )
            set_destination_keys(order)
            order.version += 1
            order.updated_at = state.now
            written.append(order)
            written_fields.update(_attname(name) for name in changed_fields)
            removed_lines.extend(gone)
            added_lines.extend((order, line) for line in new_lines)
            state.outcome.updated_ids.append(order_id)
        elif order_id not in state.to_cancel and order_id not in state.conflicts:
            state.outcome.unchanged_ids.append(order_id)
        else:
            state.outcome.updated_ids.append(order_id)
        if stored is None:
            stored = MallOrder(order_id=order_id, tenant_id=state.tenant_id)
            states[order_id] = stored
        stored.digest, stored.values, stored.mall_status = p.digest, p.values, p.mall_status
        if erased:
            stored.values, stored.digest = _without_personal_data(p.values)
        stored.mall_updated_at, stored.imported_at = p.mall_updated_at, state.now
    if written:
        Order.objects.bulk_update(written, fields=sorted(written_fields | set(DERIVED_FIELDS)), batch_size=200)
    for line in removed_lines:
        state.built.append(
            events.order_line_removed_event(order=orders[line.order_id], actor=state.actor, line=line, commit=False)
        )
    if removed_lines:
        OrderLine.objects.filter(tenant_id=state.tenant_id, pk__in=[line.pk for line in removed_lines]).delete()
    if added_lines:
        OrderLine.objects.bulk_create([line for _order, line in added_lines], batch_size=ROW_BATCH)
        state.built.extend(
            events.order_line_added_event(order=order, actor=state.actor, line=line, commit=False)
            for order, line in added_lines
        )
    update = [s for s in states.values() if s._state.adding is False]
    create = [s for s in states.values() if s._state.adding]
    MallOrder.objects.bulk_update(
        update, fields=["digest", "values", "mall_status", "mall_updated_at", "imported_at"], batch_size=200
    )
    MallOrder.objects.bulk_create(create, batch_size=ROW_BATCH)


def _announce_changes(state: _Batch) -> None:
    """Tell orders.hooks which fields the merge changed on which orders (a new destination is re-checked at
    once), one call per set of fields."""
    by_fields: dict[frozenset[str], list[int]] = defaultdict(list)
    for order_id, names in state.fields_changed.items():
        by_fields[names].append(order_id)
    for names, order_ids in by_fields.items():
        order_fields_changed(tenant_id=state.tenant_id, order_ids=order_ids, fields=names)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return _("(empty)")
    return str(value)


def _merge_fields(
    state: _Batch,
    order: Order,
    p: Prepared,
    base: dict[str, Any] | None,
    actors: _LatestActors,
    skip: tuple[str, ...] = (),
) -> list[str]:
    """Apply the mall's changed fields to `order` (in memory) with their events; returns the names set.
    Fields in `skip` (an erased buyer's personal data) stay as they are."""
    applied: list[str] = []
    for name in IMPORTED_FIELDS:
        if name in skip:
            continue
        attname = _attname(name)
        new = p.values[name]
        known = base is not None and name in base
        if known and base[name] == new:  # type: ignore[index]
            continue  # the mall did not change it: whatever the order holds stays
        current = as_json(getattr(order, attname))
        if current == as_json(p.fields[attname]):  # the order already holds it (as it is stored)
            continue
        nobody_here = known and current == _as_stored(name, base[name])  # type: ignore[index]
        if not nobody_here and actors.operator_edited(order.pk, name):
            state.conflicts[order.pk].append(
                _("the mall changed “%(field)s” to “%(mall)s”; kept the operator's “%(ours)s”")
                % {"field": _label(name), "mall": _shown(new), "ours": _shown(current)}
            )
            continue
        old_value = getattr(order, name)  # the related row for a foreign key, for the event's {id, name}
        setattr(order, attname, p.fields[attname])
        new_value = getattr(order, name)
        state.built.append(
            events.order_field_changed_event(
                order=order, actor=state.actor, field=name, old=old_value, new=new_value, commit=False
            )
        )
        applied.append(name)
    return applied


def _as_stored(name: str, value: Any) -> Any:
    """A mall value (MallOrder.values keeps what the mall sent) in the form the order stores it."""
    return normalize_phone(value) if name in PHONE_FIELDS and isinstance(value, str) else value


def _line_key(line: OrderLine) -> Line:
    return Line(line.sku, line.name, line.options, line.unit_price, line.quantity, line.tax_rate)


def _merge_lines(
    state: _Batch,
    order: Order,
    p: Prepared,
    base: dict[str, Any] | None,
    current: list[OrderLine],
    actors: _LatestActors,
) -> tuple[list[OrderLine], list[Line]]:
    """(lines to remove, lines to add) so that the order's lines follow the mall's change since last time."""
    incoming = Counter(p.lines)
    here = Counter(_line_key(line) for line in current)
    known = base is not None and LINES in base
    before = Counter(Line(*item) for item in base[LINES]) if known else here  # type: ignore[index]
    if (known and before == incoming) or here == incoming:
        return [], []
    removed, added = before - incoming, incoming - before
    intact = known and not (removed - here)  # every line the mall took away is here as the mall had it
    if not intact and actors.operator_edited(order.pk, LINES):
        state.conflicts[order.pk].append(_("the mall changed the lines; kept the operator's lines"))
        return [], []
    gone: list[OrderLine] = []
    for line in current:
        key = _line_key(line)
        if removed[key] > 0:
            removed[key] -= 1
            gone.append(line)
    come = [line for line, n in added.items() for _i in range(n)]
    come.sort(key=p.lines.index)
    return gone, come


def _merge_cancel(state: _Batch, order: Order, p: Prepared, base: dict[str, Any] | None) -> None:
    """A cancellation at the mall since last time cancels the order here; an order the mall no longer lists
    as cancelled is left to a person (reinstating has consequences: stock, mail)."""
    was = base.get("cancelled") if base is not None and "cancelled" in base else None
    if p.cancelled and not was and order.stage != Stage.CANCELLED:
        state.to_cancel.append(order.pk)
    elif was and not p.cancelled and order.stage == Stage.CANCELLED:
        state.conflicts[order.pk].append(
            _("the mall no longer lists the order as cancelled (%(status)s)") % {"status": p.mall_status}
        )


def _cancel(state: _Batch) -> None:
    """Cancel what the mall cancelled, through the lifecycle's rules; refusals become events and tasks."""
    if not state.to_cancel:
        return
    reason = _("Cancelled at the mall (%(shop)s).") % {"shop": state.shop.name}
    try:
        result = orders_cancel(tenant=state.shop.tenant, order_ids=state.to_cancel, actor=state.actor, reason=reason)
    except StageMoveRefused as no_status:  # the tenant has no cancelled status
        for order_id in state.to_cancel:
            state.conflicts[order_id].append(no_status.reason)
        return
    if not result.refused:
        return
    target = first_status(tenant=state.tenant_id, stage=Stage.CANCELLED)
    refused = {order_id: why for order_id, _number, why in result.refused}
    orders = Order.objects.filter(tenant_id=state.tenant_id, pk__in=refused).select_related("status__group")
    built = []
    for order in orders:
        if target is not None:
            built.append(
                events.order_status_refused_event(
                    order=order, actor=state.actor, target=target, reason=refused[order.pk], commit=False
                )
            )
        state.conflicts[order.pk].append(
            _("the mall cancelled the order, but it cannot be cancelled here: %(reason)s")
            % {"reason": refused[order.pk]}
        )
    save_events(built)


def _without_personal_data(values: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """MallOrder values with the buyer's personal data blanked, and their digest."""
    blanked = {**values, **{name: "" for name in PERSONAL_FIELDS if name in values}}
    encoded, digest = _encoded(blanked)
    return encoded.value, digest


def mall_state_erase(*, tenant_id: int, order_ids: Iterable[int]) -> int:
    """Blank the buyer's personal data that MallOrder keeps for these orders (what the mall last sent), when
    the orders' personal data is erased (retention, T2): otherwise it would outlive the erasure here. Later
    imports of an erased order never bring it back (see _merge). Returns how many rows were blanked."""
    done = 0
    for chunk in chunked(sorted(set(order_ids))):
        states = list(MallOrder.objects.filter(ids_in("order_id", chunk), tenant_id=tenant_id))
        for mall_state in states:
            mall_state.values, mall_state.digest = _without_personal_data(mall_state.values)
        MallOrder.objects.bulk_update(states, fields=["values", "digest"], batch_size=200)
        done += len(states)
    return done


def mall_changed_definition(tenant: Tenant | int) -> TaskDefinition:
    """The built-in task "mall changed an edited order" of the tenant, made if the tenant lacks it (tenants
    made before it existed)."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    code = BuiltinTask.MALL_CHANGED_EDITED
    found = TaskDefinition.objects.for_tenant(tenant_id).filter(code=code).first()
    if found is not None:
        return found
    name, colour = next((name, colour) for key, name, colour in BUILTIN_TASKS if key == code)
    last = TaskDefinition.objects.for_tenant(tenant_id).order_by("-position").values_list("position", flat=True)
    definition, _created = TaskDefinition.objects.get_or_create(
        tenant_id=tenant_id,
        code=code,
        defaults={"name": name, "colour": colour, "position": (last.first() or 0) + 1},
    )
    return definition


def _raise_tasks(state: _Batch) -> None:
    """One task per order whose mall change was held back or refused, noting what the mall said."""
    if not state.conflicts:
        return
    definition = mall_changed_definition(state.tenant_id)
    tenant = state.shop.tenant
    for order_id, reasons in sorted(state.conflicts.items()):
        text = "; ".join(reasons)
        state.note(f"{state.numbers.get(order_id, order_id)}: {text}")
        if definition.enabled:
            tasks_raise(tenant=tenant, definition=definition, order_ids=[order_id], actor=state.actor, note=text)
        if order_id not in state.outcome.updated_ids and order_id not in state.outcome.new_ids:
            state.outcome.updated_ids.append(order_id)
            if order_id in state.outcome.unchanged_ids:
                state.outcome.unchanged_ids.remove(order_id)
    state.outcome.kept = len(state.conflicts)


def _count(state: _Batch) -> None:
    """Add the batch to its run: counts, and notes up to NOTES_KEPT (a run that needs more has one problem
    many times over, and the first notes name it)."""
    run, outcome = state.run, state.outcome
    run.new += len(outcome.new_ids)
    run.updated += len(outcome.updated_ids)
    run.unchanged += len(outcome.unchanged_ids)
    run.failed += len(outcome.failed)
    notes = list(run.notes or [])
    seen = set(notes)
    for text in outcome.notes:
        if len(notes) >= NOTES_KEPT:
            break
        if text not in seen:
            notes.append(text)
            seen.add(text)
    run.notes = notes
    run.save(update_fields=["new", "updated", "unchanged", "failed", "notes"])
