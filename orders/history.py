"""An order's history in words: the one presenter of an OrderEvent.

The order page's history (orders.views.detail) and automation's screens (the dry run's report and "what
auto-processing did" on the order page, through automation.selectors.Change) both read events through
`describe_event`, so an event reads the same wherever it is shown: the field's name as the model calls it
now, amounts in yen, dates as 2026/04/01, a carrier's slot by its name, statuses as "group / status".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from .constants import SYSTEM_ACTOR_LABELS, ActorKind, EventType, OrderSource
from .models import Order, OrderEvent, OrderLine
from .slots import slot_label

NOTHING = "—"  # an empty value in a row of changes
AMOUNT_FIELDS = frozenset(
    {"item_subtotal", "shipping_fee", "cod_fee", "discount", "points_used", "tax", "total", "paid_amount", "unit_price"}
)


@dataclass(frozen=True)
class EventText:
    """One event in words.

    `what` changed (a field's name, "status", "label" …), from `old` to `new` ("" where there was nothing:
    an addition has no old, a removal no new), with a `note` (a refusal's reason, "automatically …").
    `summary` is the event in one line where it is not a change of values (created, memo, label, line,
    task, refusal); `changes` are the (name, old, new) rows where it is, with NOTHING for an empty value."""

    what: str
    old: str = ""
    new: str = ""
    note: str = ""
    summary: str = ""
    changes: tuple[tuple[str, str, str], ...] = ()


def _field_label(model: type[Model], name: str, fallback: str = "") -> str:
    """A field's name as the model calls it now (in the reader's language); the name the event kept (or the
    bare field name) for a field removed since."""
    try:
        return str(getattr(model._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return fallback or name


def value_text(name: str, value: Any) -> str:
    """A field's value as people read it; "" for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return str(value.get("name", ""))
    if name in AMOUNT_FIELDS and isinstance(value, int):
        return f"¥{number_format(value, force_grouping=True)}"
    if name == "tax_rate":
        return f"{value}%"
    if name == "delivery_slot" and isinstance(value, str):
        return slot_label(value) or value
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%Y/%m/%d")
        except ValueError:
            return value
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:  # a moment (buyer_rated_at), in the tenant's time
            return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y/%m/%d %H:%M")
        except ValueError:
            return value
    return str(value)


def _status(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    return f"{data.get('group', '')} / {data.get('name', '')}"


def _line(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    text = f"{data.get('sku') or ''} {data.get('name') or ''} × {data.get('quantity')}"
    price = value_text("unit_price", data.get("unit_price"))
    return f"{text} @ {price}".strip() if price else text.strip()


def _name(data: Any) -> str:
    return str(data.get("name", "")) if isinstance(data, dict) else ""


def _row(what: str, old: str, new: str) -> tuple[str, str, str]:
    return capfirst(what), old or NOTHING, new or NOTHING


def describe_event(event_type: str, data: Mapping[str, Any] | None) -> EventText:
    """An event (its type and data) in the reader's language."""
    d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    if event_type == EventType.CREATED:
        source = d.get("source", "")
        origin = str(OrderSource(source).label) if source in OrderSource.values else str(source)
        status = _status(d.get("status"))
        return EventText(
            str(EventType.CREATED.label), new=status, note=origin, summary=" ".join(filter(None, [origin, status]))
        )
    if event_type == EventType.STATUS_CHANGED:
        old, new = _status(d.get("old")), _status(d.get("new"))
        return EventText(_("status"), old, new, changes=(_row(_("status"), old, new),))
    if event_type == EventType.STATUS_REFUSED:
        target, reason = _status(d.get("target")), str(d.get("reason", ""))
        return EventText(_("status"), _status(d.get("current")), target, reason, summary=f"→ {target}: {reason}")
    if event_type == EventType.FIELD_CHANGED:
        name = str(d.get("field", ""))
        what = _field_label(Order, name, str(d.get("label") or ""))
        old, new = value_text(name, d.get("old")), value_text(name, d.get("new"))
        return EventText(what, old, new, changes=(_row(what, old, new),))
    if event_type == EventType.MEMO_ADDED:
        text = str(d.get("text", ""))
        return EventText(_("work memo"), new=text, summary=text)
    if event_type == EventType.LABEL_ADDED:
        name = _name(d.get("label"))
        return EventText(_("label"), new=name, summary=name)
    if event_type == EventType.LABEL_REMOVED:
        name = _name(d.get("label"))
        return EventText(_("label"), old=name, summary=name)
    if event_type == EventType.LINE_ADDED:
        line = _line(d.get("line"))
        return EventText(_("line"), new=line, summary=line)
    if event_type == EventType.LINE_REMOVED:
        line = _line(d.get("line"))
        return EventText(_("line"), old=line, summary=line)
    if event_type == EventType.LINE_CHANGED:
        changed: Mapping[str, Any] = d["line"] if isinstance(d.get("line"), dict) else {}
        rows = tuple(
            _row(
                _field_label(OrderLine, str(c.get("field", ""))),
                value_text(str(c.get("field", "")), c.get("old")),
                value_text(str(c.get("field", "")), c.get("new")),
            )
            for c in d.get("changes", [])
            if isinstance(c, dict)
        )
        return EventText(
            _("line"),
            old="; ".join(f"{name}: {old}" for name, old, _new in rows),
            new="; ".join(f"{name}: {new}" for name, _old, new in rows),
            summary=f"{changed.get('sku') or ''} {changed.get('name') or ''}".strip(),
            changes=rows,
        )
    if event_type == EventType.TASK_RAISED:
        name = _name(d.get("task"))
        return EventText(_("task"), new=name, summary=name)
    if event_type == EventType.TASK_RESOLVED:
        name = _name(d.get("task"))
        note = _("automatically: the condition no longer holds") if d.get("automatic") else ""
        return EventText(_("task"), old=name, note=note, summary=f"{name} ({note})" if note else name)
    if event_type in (EventType.MAIL_SENT, EventType.MAIL_FAILED, EventType.MAIL_MARKED):
        mail: Mapping[str, Any] = d["mail"] if isinstance(d.get("mail"), dict) else {}
        kind, to, subject = str(mail.get("kind", "")), str(mail.get("to", "")), str(mail.get("subject", ""))
        if mail.get("reminder"):
            kind = _("%(kind)s (reminder %(n)s)") % {"kind": kind, "n": mail["reminder"]}
        note = str(mail.get("error", ""))
        label = str(EventType(event_type).label)
        return EventText(
            label, new=f"{kind} → {to}" if to else kind, note=note or subject, summary=f"{kind} {subject}".strip()
        )
    if event_type == EventType.DOCUMENT_PRINTED:
        printed: Mapping[str, Any] = d["printed"] if isinstance(d.get("printed"), dict) else {}
        name, times = str(printed.get("name", "")), printed.get("times", 1)
        note = _("printed again (%(n)s times)") % {"n": times} if isinstance(times, int) and times > 1 else ""
        return EventText(_("form"), new=name, note=note, summary=f"{name} ({note})" if note else name)
    if event_type == EventType.WAYBILL_EXPORTED:
        waybill: Mapping[str, Any] = d["waybill"] if isinstance(d.get("waybill"), dict) else {}
        file, number = str(waybill.get("file", "")), str(waybill.get("number", ""))
        return EventText(_("waybill"), new=file, note=number, summary=f"{file} ({number})" if number else file)
    if event_type == EventType.TRACKING_REGISTERED:
        parcels: list[Any] = d["shipments"] if isinstance(d.get("shipments"), list) else []
        numbers = ", ".join(str(p.get("number", "")) for p in parcels if isinstance(p, dict))
        return EventText(_("tracking number"), new=numbers, summary=numbers)
    if event_type in (EventType.MALL_NOTIFIED, EventType.MALL_NOT_NOTIFIED):
        push: Mapping[str, Any] = d["push"] if isinstance(d.get("push"), dict) else {}
        told = ", ".join(str(n) for n in push.get("numbers", []) if n) if isinstance(push.get("numbers"), list) else ""
        mall, answer = str(push.get("mall", "")), str(push.get("answer", ""))
        label = str(EventType(event_type).label)
        return EventText(
            label, new=f"{mall}: {told}" if told else mall, note=answer, summary=f"{mall} {answer}".strip()
        )
    if event_type in (EventType.WAREHOUSE_REQUESTED, EventType.WAREHOUSE_ANSWERED):
        wh: Mapping[str, Any] = d["warehouse"] if isinstance(d.get("warehouse"), dict) else {}
        name, reason = str(wh.get("warehouse", "")), str(wh.get("reason", ""))
        state = str(WAREHOUSE_STATES.get(str(wh.get("state", "")), wh.get("state", "")))
        nums = ", ".join(str(n) for n in wh.get("numbers", []) if n) if isinstance(wh.get("numbers"), list) else ""
        label = str(EventType(event_type).label)
        note = reason or nums
        return EventText(
            label, new=f"{name}: {state}" if state else name, note=note, summary=f"{name} {state} {note}".strip()
        )
    label = str(EventType(event_type).label) if event_type in EventType.values else event_type
    return EventText(label)


WAREHOUSE_STATES = {  # the states of a warehouse request as its events store them (shipping.models)
    "requested": _("Requested"),
    "accepted": _("Accepted"),
    "shipped": _("Shipped"),
    "refused": _("Refused"),
}


def actor_text(event: OrderEvent) -> str:
    """Who, in words: an operator's login, a rule's or shop's name, or the system's job by its label."""
    if event.actor_kind == ActorKind.USER:
        return event.actor_name
    name = event.actor_name
    if event.actor_kind == ActorKind.SYSTEM:
        name = str(SYSTEM_ACTOR_LABELS.get(name, name))
    kind = str(event.get_actor_kind_display())
    return f"{kind}: {name}" if name else kind
