"""Tracking numbers back (issue 16 item 3): a carrier's issued-data file, matched by the management number we
exported (WaybillMark), becomes Shipment rows (one order may have several parcels) with the ship date; the
orders that got a new number move to the tenant's status after tracking (and take the ship date), each with a
TRACKING_REGISTERED event. Numbers typed or scanned on the order page go through the same path (a set of one).

Files: B2 Cloud's issued data (発行済データ → 外部ファイル) has the import layout with 伝票番号 filled, with or
without the header row (read by position 1 / 4 / 5 without it, by name with it). e飛伝 and ゆうプリR tracking
exports are not published: read by header with the tenant's mapping (IssuedDataMapping), defaults below.

Tracking number shapes: Yamato 12 digits, written 1234-5678-9012 or not (FORMATS.md); Sagawa 12 digits;
Japan Post 11–13 digits (ゆうパック 12, ゆうパケット 11–13: unconfirmed, kept wide). Stored as digits only.

A row that cannot be applied (no such management number, a number of the wrong shape, a number another order
already has, one number on two orders in the file) is listed by its row number and not applied; the rest are
applied in one transaction. A row already recorded changes nothing: uploading the same file twice is a no-op.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.csvtext import CsvRefused, Decoded
from backyard.models import Tenant
from orders.copy import save_events
from orders.events import Actor, order_tracking_registered_event
from orders.locks import orders_lock
from orders.models import Order
from orders.services.bulk import BulkChanges, orders_bulk_update
from orders.sets import chunked, ids_in, order_stubs
from shipping import hooks
from shipping.formats import b2cloud
from shipping.models import (
    FORMAT_CARRIER,
    Carrier,
    IssuedDataMapping,
    Shipment,
    ShipmentSource,
    WaybillFormat,
    WaybillMark,
    management_number_for,
)

from .waybills import shipping_settings

ISSUED_FORMATS = (WaybillFormat.B2CLOUD, WaybillFormat.EHIDEN, WaybillFormat.YUPRI)
DEFAULT_MAPPINGS: dict[str, tuple[str, str, str]] = {  # management number, tracking number, ship date
    WaybillFormat.B2CLOUD: ("お客様管理番号", "伝票番号", "出荷予定日"),
    WaybillFormat.EHIDEN: ("お客様管理番号", "お問い合せ送り状No.", "出荷日"),
    WaybillFormat.YUPRI: ("お客様側管理番号", "問合番号", "発送予定日"),
}
SHAPES: dict[str, re.Pattern[str]] = {
    Carrier.YAMATO: re.compile(r"\d{12}"),
    Carrier.SAGAWA: re.compile(r"\d{12}"),
    Carrier.JAPAN_POST: re.compile(r"\d{11,13}"),
}
B2_MIN_COLUMNS = 94  # the variant layout without 置き場所コード has 94


class TrackingRefused(ValueError):
    """A typed tracking number that cannot be recorded; the message names why."""


@dataclass(frozen=True)
class Mapping:
    management_number: str
    tracking_number: str
    shipped_on: str = ""


def mapping_for(tenant: Tenant, fmt: str) -> Mapping:
    saved = IssuedDataMapping.objects.for_tenant(tenant).filter(format=fmt).first()
    if saved is not None:
        return Mapping(saved.management_number, saved.tracking_number, saved.shipped_on)
    return Mapping(*DEFAULT_MAPPINGS[fmt])


def mapping_save(*, tenant: Tenant, fmt: str, mapping: Mapping) -> None:
    IssuedDataMapping.objects.update_or_create(
        tenant=tenant,
        format=fmt,
        defaults={
            "management_number": mapping.management_number,
            "tracking_number": mapping.tracking_number,
            "shipped_on": mapping.shipped_on,
        },
    )


@dataclass
class IssuedRow:
    line: int  # the row number in the file (the header is row 1 when there is one)
    management_number: str
    tracking_number: str
    shipped_on: str


def normal_number(text: str) -> str:
    return re.sub(r"[\s\-‐－ー]", "", unicodedata.normalize("NFKC", text))


def parse_date(text: str) -> dt.date | None:
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in ("%Y/%m/%d", "%Y-%m-%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def issued_rows(decoded: Decoded, fmt: str, mapping: Mapping) -> list[IssuedRow]:
    """The rows of an issued-data file; CsvRefused when the file is not this carrier's issued data."""
    records = list(csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter))
    if not records:
        raise CsvRefused(_("The file is empty."))
    header = [cell.strip().lstrip("\ufeff") for cell in records[0]]
    label = str(WaybillFormat(fmt).label)
    if fmt == WaybillFormat.B2CLOUD and mapping.management_number not in header:
        # B2 Cloud's issued data without a header row: read by position.
        if len(records[0]) < B2_MIN_COLUMNS:
            raise CsvRefused(
                _(
                    "This is not %(format)s issued data: its rows have %(n)d columns, B2 Cloud's have 95 (or 94). "
                    "Choose the carrier that issued the file."
                )
                % {"format": label, "n": len(records[0])}
            )
        positions = (b2cloud.MANAGEMENT_NUMBER, b2cloud.TRACKING_NUMBER, b2cloud.SHIP_DATE)
        first = 1
    else:
        missing = [name for name in (mapping.management_number, mapping.tracking_number) if name not in header]
        if missing:
            raise CsvRefused(
                _(
                    "This is not %(format)s issued data as mapped: the columns %(names)s are missing. Choose the "
                    "carrier that issued the file, or change the column mapping."
                )
                % {"format": label, "names": "、".join(f"「{name}」" for name in missing)}
            )
        date_at = header.index(mapping.shipped_on) if mapping.shipped_on in header else -1
        positions = (header.index(mapping.management_number), header.index(mapping.tracking_number), date_at)
        first = 2
    rows = []
    for line, record in enumerate(records[first - 1 :], start=first):
        if not any(cell.strip() for cell in record):
            continue

        def cell(at: int, record: list[str] = record) -> str:
            return record[at].strip() if 0 <= at < len(record) else ""

        rows.append(IssuedRow(line, cell(positions[0]), cell(positions[1]), cell(positions[2])))
    return rows


@dataclass
class Plan:
    """What applying the rows does: new shipments, rows already recorded, and rows that cannot be applied."""

    carrier: str
    new: list[tuple[int, int, str, str, dt.date | None]] = field(default_factory=list)  # line, order, no., number, date
    already: list[tuple[int, str, str]] = field(default_factory=list)  # line, order number, tracking number
    problems: list[tuple[int, str]] = field(default_factory=list)  # line, reason
    moved: int = 0
    refused_moves: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def orders(self) -> int:
        return len({order_id for _l, order_id, _n, _t, _d in self.new})


def _marks(tenant: Tenant, rows: list[IssuedRow]) -> dict[str, int]:
    """{management number: order id} of the rows' numbers that are the tenant's."""
    marks: dict[str, int] = {}
    wanted = sorted({row.management_number for row in rows if row.management_number})
    for start in range(0, len(wanted), 2000):
        marks.update(
            WaybillMark.objects.for_tenant(tenant)
            .filter(management_number__in=wanted[start : start + 2000])
            .values_list("management_number", "order_id")
        )
    return marks


def tracking_plan(*, tenant: Tenant, fmt: str, rows: list[IssuedRow], marks: dict[str, int] | None = None) -> Plan:
    """Match the rows (writes nothing). A few queries whatever the file's length. `marks`: the rows' management
    numbers already read (_marks)."""
    carrier = FORMAT_CARRIER[fmt]
    plan = Plan(carrier=carrier)
    shape = SHAPES[carrier]
    if marks is None:
        marks = _marks(tenant, rows)
    external = _external_ids(tenant, marks.values())
    tracking = [normal_number(row.tracking_number) for row in rows]
    recorded: dict[str, int] = {}
    candidates = sorted({t for t in tracking if t})
    for start in range(0, len(candidates), 2000):
        recorded.update(
            Shipment.objects.for_tenant(tenant)
            .filter(carrier=carrier, tracking_number__in=candidates[start : start + 2000])
            .values_list("tracking_number", "order_id")
        )
    in_file: dict[str, set[str]] = defaultdict(set)
    for row, number in zip(rows, tracking, strict=True):
        if number:
            in_file[number].add(row.management_number)
    foreign_ids = {order_id for order_id in recorded.values() if order_id not in external}
    external.update(_external_ids(tenant, foreign_ids))
    seen: set[tuple[int, str]] = set()
    for row, number in zip(rows, tracking, strict=True):
        order_id = marks.get(row.management_number)
        if not row.management_number:
            plan.problems.append((row.line, _("no management number (お客様管理番号)")))
        elif order_id is None:
            plan.problems.append(
                (
                    row.line,
                    _("management number %(number)s is not one of our exported orders")
                    % {"number": row.management_number},
                )
            )
        elif not number:
            plan.problems.append((row.line, _("no tracking number")))
        elif not shape.fullmatch(number):
            plan.problems.append(
                (row.line, _("tracking number %(number)s has the wrong shape") % {"number": row.tracking_number})
            )
        elif len(in_file[number]) > 1:
            plan.problems.append(
                (
                    row.line,
                    _("tracking number %(number)s is given to more than one order in this file (ambiguous)")
                    % {"number": number},
                )
            )
        elif number in recorded and recorded[number] != order_id:
            plan.problems.append(
                (
                    row.line,
                    _("tracking number %(number)s is already recorded for order %(order)s")
                    % {"number": number, "order": external.get(recorded[number], recorded[number])},
                )
            )
        elif number in recorded or (order_id, number) in seen:
            plan.already.append((row.line, external.get(order_id, ""), number))
        else:
            seen.add((order_id, number))
            plan.new.append((row.line, order_id, external.get(order_id, ""), number, parse_date(row.shipped_on)))
    return plan


def _external_ids(tenant: Tenant, order_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in chunked(sorted(set(order_ids))):
        found.update(Order.objects.for_tenant(tenant).filter(ids_in("id", chunk)).values_list("pk", "external_id"))
    return found


@transaction.atomic
def tracking_apply(
    *, tenant: Tenant, fmt: str, rows: list[IssuedRow], actor: Actor, source: str = ShipmentSource.IMPORT
) -> Plan:
    """Record the new shipments, write the events, move the orders. The orders the file names are locked first
    (in id order) and the plan made under the locks, so that two uploads of one file at once queue and the
    second records nothing."""
    marks = _marks(tenant, rows)
    if marks:
        orders_lock(tenant, sorted(set(marks.values())), ("id",))
    plan = tracking_plan(tenant=tenant, fmt=fmt, rows=rows, marks=marks)
    return _record(tenant=tenant, plan=plan, actor=actor, source=source)


def _record(*, tenant: Tenant, plan: Plan, actor: Actor, source: str) -> Plan:
    if not plan.new:
        return plan
    today = timezone.localdate()
    export_of = dict(
        WaybillMark.objects.for_tenant(tenant)
        .filter(order_id__in={order_id for _l, order_id, _n, _t, _d in plan.new})
        .values_list("order_id", "export_id")
    )
    Shipment.objects.bulk_create(
        [
            Shipment(
                tenant=tenant,
                order_id=order_id,
                carrier=plan.carrier,
                tracking_number=number,
                shipped_on=shipped_on or today,
                source=source,
                export_id=export_of.get(order_id),
            )
            for _line, order_id, _n, number, shipped_on in plan.new
        ],
        batch_size=1000,
    )
    per_order: dict[int, list[dict[str, str]]] = defaultdict(list)
    dates: dict[int, dt.date] = {}
    for _line, order_id, _n, number, shipped_on in plan.new:
        day = shipped_on or today
        per_order[order_id].append(
            {"carrier": plan.carrier, "number": number, "shipped_on": day.isoformat(), "source": source}
        )
        dates[order_id] = max(dates.get(order_id, day), day)
    stubs = order_stubs(tenant)
    save_events(
        [
            order_tracking_registered_event(order=stubs[order_id], actor=actor, shipments=shipments, commit=False)
            for order_id, shipments in per_order.items()
        ]
    )
    target = shipping_settings(tenant).status_after_tracking
    by_date: dict[dt.date, list[int]] = defaultdict(list)
    for order_id, day in dates.items():
        by_date[day].append(order_id)
    for day, ids in sorted(by_date.items()):
        result = orders_bulk_update(
            tenant=tenant,
            order_ids=sorted(ids),
            changes=BulkChanges(status=target, ship_date=day),
            actor=actor,
            confirm_skips=True,
        )
        plan.moved += result.moved
        plan.refused_moves += result.refused
    hooks.shipments_recorded(tenant_id=tenant.pk, order_ids=per_order, actor=actor)
    return plan


def shipment_add(*, tenant: Tenant, order: Order, carrier: str, number: str, shipped_on: dt.date | None,
                 actor: Actor) -> Plan:  # fmt: skip
    """A tracking number typed or scanned on the order page: the file's path for a set of one row."""
    fmt = next((f for f, c in FORMAT_CARRIER.items() if c == carrier and f in ISSUED_FORMATS), None)
    if fmt is None:
        raise TrackingRefused(_("tracking numbers of this carrier are not recorded"))
    mark, _created = WaybillMark.objects.get_or_create(
        tenant=tenant,
        order=order,
        defaults={"management_number": management_number_for(order.pk), "exported_at": timezone.now(), "times": 0},
    )
    row = IssuedRow(1, mark.management_number, number, shipped_on.isoformat() if shipped_on else "")
    with transaction.atomic():
        orders_lock(tenant, [order.pk], ("id",))
        plan = tracking_plan(tenant=tenant, fmt=fmt, rows=[row])
        if plan.problems:
            raise TrackingRefused(plan.problems[0][1])
        return _record(tenant=tenant, plan=plan, actor=actor, source=ShipmentSource.MANUAL)


def rows_for_orders(*, tenant: Tenant, entries: list[tuple[int, int, str, dt.date | None]]) -> list[IssuedRow]:
    """Numbers known by order rather than by a file's management number (an outside warehouse's answer, issue 16
    item 5): (line, order id, tracking number, ship date) become the rows of an issued-data file, so that they
    take the file's path (tracking_plan, then tracking_record). Each order without a mark gets one, as a number
    typed on the order page does; the caller's transaction."""
    order_ids = sorted({order_id for _line, order_id, _n, _d in entries})
    marks: dict[int, str] = {}
    for chunk in chunked(order_ids):
        marks.update(
            WaybillMark.objects.for_tenant(tenant)
            .filter(ids_in("order_id", chunk))
            .values_list("order_id", "management_number")
        )
    now = timezone.now()
    missing = [order_id for order_id in order_ids if order_id not in marks]
    WaybillMark.objects.bulk_create(
        [
            WaybillMark(
                tenant=tenant,
                order_id=order_id,
                management_number=management_number_for(order_id),
                exported_at=now,
                times=0,
            )  # fmt: skip
            for order_id in missing
        ],
        batch_size=1000,
    )
    marks.update({order_id: management_number_for(order_id) for order_id in missing})
    return [
        IssuedRow(line, marks[order_id], number, day.isoformat() if day else "")
        for line, order_id, number, day in entries
    ]


def issued_format_of(carrier: str) -> str | None:
    """The issued-data format whose plan checks this carrier's numbers (None: the carrier's are not recorded)."""
    return next((f for f, c in FORMAT_CARRIER.items() if c == carrier and f in ISSUED_FORMATS), None)


def tracking_record(*, tenant: Tenant, plan: Plan, actor: Actor, source: str) -> Plan:
    """Record a plan made in the caller's transaction (tracking_plan): the Shipment rows, events, status move
    and the shipments_recorded hook, as a file's apply does."""
    return _record(tenant=tenant, plan=plan, actor=actor, source=source)
