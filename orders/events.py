"""One function per event type. Each builds an OrderEvent; `commit=False` leaves it for a bulk_create."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.db import models

from .constants import ActorKind, EventType
from .models import Label, Order, OrderEvent, OrderLine, Status

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class TaskDefinitionLike(Protocol):
    """What a task event keeps of a task definition (automation's, which orders does not import)."""

    pk: Any
    name: str
    code: str
    colour: str


@dataclass(frozen=True)
class Actor:
    """Who made a change: an operator, a rule, an import from a shop, or the system."""

    kind: ActorKind
    name: str
    user_id: int | None = None
    rule_id: int | None = None  # a rule's changes carry its id in the event data ("rule"), for "why" on the order

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> Actor:
        return cls(ActorKind.USER, user.get_username(), int(user.pk))

    @classmethod
    def rule(cls, name: str, rule_id: int | None = None) -> Actor:
        return cls(ActorKind.RULE, name, rule_id=rule_id)

    @classmethod
    def importer(cls, source: str) -> Actor:
        return cls(ActorKind.IMPORT, source)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)


def jsonable(value: Any) -> Any:
    """Event data is JSON: dates as ISO strings, model rows as {id, name}."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return {"id": value.pk, "name": str(value)}
    return value


def _event(order: Order, actor: Actor, type_: EventType, data: dict[str, Any], commit: bool) -> OrderEvent:
    event = OrderEvent(
        tenant_id=order.tenant_id,
        order=order,
        actor_kind=actor.kind,
        actor_name=actor.name,
        actor_user_id=actor.user_id,
        type=type_,
        data={**data, "rule": actor.rule_id} if actor.rule_id is not None else data,
    )
    if commit:
        event.save()
    return event


def _status_data(status: Status | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {"id": status.pk, "name": status.name, "group": status.group.name, "stage": status.group.stage}


def order_created_event(*, order: Order, actor: Actor, source: str = "", commit: bool = True) -> OrderEvent:
    return _event(order, actor, EventType.CREATED, {"source": source, "status": _status_data(order.status)}, commit)


def order_status_changed_event(
    *, order: Order, actor: Actor, old: Status, new: Status, commit: bool = True
) -> OrderEvent:
    data = {"old": _status_data(old), "new": _status_data(new)}
    return _event(order, actor, EventType.STATUS_CHANGED, data, commit)


def order_status_refused_event(
    *, order: Order, actor: Actor, target: Status, reason: str, commit: bool = True
) -> OrderEvent:
    data = {"current": _status_data(order.status), "target": _status_data(target), "reason": reason}
    return _event(order, actor, EventType.STATUS_REFUSED, data, commit)


def order_field_changed_event(
    *, order: Order, actor: Actor, field: str, old: Any, new: Any, commit: bool = True
) -> OrderEvent:
    label = str(getattr(Order._meta.get_field(field), "verbose_name", field))
    data = {"field": field, "label": label, "old": jsonable(old), "new": jsonable(new)}
    return _event(order, actor, EventType.FIELD_CHANGED, data, commit)


def order_memo_added_event(*, order: Order, actor: Actor, text: str, commit: bool = True) -> OrderEvent:
    return _event(order, actor, EventType.MEMO_ADDED, {"text": text}, commit)


def order_label_added_event(*, order: Order, actor: Actor, label: Label, commit: bool = True) -> OrderEvent:
    data = {"label": {"id": label.pk, "name": label.name, "colour": label.colour}}
    return _event(order, actor, EventType.LABEL_ADDED, data, commit)


def order_label_removed_event(*, order: Order, actor: Actor, label: Label, commit: bool = True) -> OrderEvent:
    data = {"label": {"id": label.pk, "name": label.name, "colour": label.colour}}
    return _event(order, actor, EventType.LABEL_REMOVED, data, commit)


def _line_data(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "sku": line.sku,
        "name": line.name,
        "options": line.options,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "tax_rate": line.tax_rate,
    }


def order_line_added_event(*, order: Order, actor: Actor, line: OrderLine, commit: bool = True) -> OrderEvent:
    return _event(order, actor, EventType.LINE_ADDED, {"line": _line_data(line)}, commit)


def order_line_changed_event(
    *, order: Order, actor: Actor, line: OrderLine, changes: dict[str, tuple[Any, Any]], commit: bool = True
) -> OrderEvent:
    data = {
        "line": _line_data(line),
        "changes": [{"field": f, "old": jsonable(o), "new": jsonable(n)} for f, (o, n) in changes.items()],
    }
    return _event(order, actor, EventType.LINE_CHANGED, data, commit)


def order_line_removed_event(*, order: Order, actor: Actor, line: OrderLine, commit: bool = True) -> OrderEvent:
    return _event(order, actor, EventType.LINE_REMOVED, {"line": _line_data(line)}, commit)


def _task_data(definition: TaskDefinitionLike) -> dict[str, Any]:
    """A task definition as events keep it: enough to show the badge even after the definition is gone."""
    return {"id": definition.pk, "name": definition.name, "code": definition.code, "colour": definition.colour}


def order_task_raised_event(
    *, order: Order, actor: Actor, definition: TaskDefinitionLike, commit: bool = True
) -> OrderEvent:
    """A task (要対応, automation.TaskDefinition) was raised on the order."""
    return _event(order, actor, EventType.TASK_RAISED, {"task": _task_data(definition)}, commit)


def order_task_resolved_event(
    *, order: Order, actor: Actor, definition: TaskDefinitionLike, automatic: bool = False, commit: bool = True
) -> OrderEvent:
    """A task was resolved: by a person, by a rule, or `automatic`ally when its condition stopped holding."""
    data = {"task": _task_data(definition), "automatic": automatic}
    return _event(order, actor, EventType.TASK_RESOLVED, data, commit)


def order_personal_data_erased_event(
    *, order: Order, actor: Actor, fields: list[str], reason: str, commit: bool = True
) -> OrderEvent:
    """The buyer's personal data was erased (T2: Amazon's 30 days after shipment); which fields, and why.
    The old values are not kept: keeping them in the history would defeat the erasure."""
    return _event(order, actor, EventType.PERSONAL_DATA_ERASED, {"fields": fields, "reason": reason}, commit)


def order_mail_event(
    *, order: Order, actor: Actor, type_: EventType, mail: dict[str, Any], commit: bool = True
) -> OrderEvent:
    """A mail to the customer (mailer): sent, failed, or marked as sent without sending. `mail` holds what the
    history shows: {"id", "kind", "to", "subject"} and, for a failure, "error"; for a reminder, "reminder" (its
    number)."""
    if type_ not in (EventType.MAIL_SENT, EventType.MAIL_FAILED, EventType.MAIL_MARKED):
        raise ValueError(f"not a mail event: {type_}")
    return _event(order, actor, type_, {"mail": mail}, commit)


def order_printed_event(*, order: Order, actor: Actor, printed: dict[str, Any], commit: bool = True) -> OrderEvent:
    """A form printed for the order (documents): {"kind": code, "name": the form's name, "times": how many
    times now, "job": the bulk job's id or None}; times > 1 is a reprint."""
    return _event(order, actor, EventType.DOCUMENT_PRINTED, {"printed": printed}, commit)


def order_waybill_exported_event(
    *, order: Order, actor: Actor, waybill: dict[str, Any], commit: bool = True
) -> OrderEvent:
    """Issue 16: a waybill file for the order ({"format", "file", "number", "export"})."""
    return _event(order, actor, EventType.WAYBILL_EXPORTED, {"waybill": waybill}, commit)


def order_tracking_registered_event(
    *, order: Order, actor: Actor, shipments: list[dict[str, Any]], commit: bool = True
) -> OrderEvent:
    """Issue 16: tracking numbers recorded for the order ([{"carrier", "number", "shipped_on", "source"}])."""
    return _event(order, actor, EventType.TRACKING_REGISTERED, {"shipments": shipments}, commit)


def order_mall_push_event(*, order: Order, actor: Actor, push: dict[str, Any], commit: bool = True) -> OrderEvent:
    """Issue 16 (B12): the shipment reported to the order's mall, or refused by it. {"mall": the shop's name,
    "mall_order": the mall's order number told, "numbers": [tracking numbers], "ok": bool, "answer": the mall's
    words (its error when not ok)}. ok → MALL_NOTIFIED, else MALL_NOT_NOTIFIED."""
    type_ = EventType.MALL_NOTIFIED if push.get("ok") else EventType.MALL_NOT_NOTIFIED
    return _event(order, actor, type_, {"push": push}, commit)


def order_warehouse_event(
    *, order: Order, actor: Actor, warehouse: dict[str, Any], requested: bool, commit: bool = True
) -> OrderEvent:
    """Issue 16 (B11): a shipment request sent to an outside warehouse (requested=True) or its answer.
    {"warehouse": the shipping store's name, "request": the request's id, "state": the state now
    (requested, accepted, shipped, refused), "reason": the warehouse's reason when refused, "numbers": tracking
    numbers when shipped}."""
    type_ = EventType.WAREHOUSE_REQUESTED if requested else EventType.WAREHOUSE_ANSWERED
    return _event(order, actor, type_, {"warehouse": warehouse}, commit)
