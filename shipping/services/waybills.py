"""Waybill files out (issue 16 item 2, B10): the orders of a selection or a search, written in a carrier's
layout (shipping.formats), after a preview that names the orders the carrier cannot take and every replaced
character; the export marks each order with the management number written for it and the file, writes a
WAYBILL_EXPORTED event per order and moves them to the status the tenant names (ShippingSettings).

Reads are set-based: orders, lines, methods and senders in a few queries per chunk of 2,000 orders.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from documents.models import DocumentSettings
from orders.copy import save_events
from orders.events import Actor, order_waybill_exported_event
from orders.models import Order, OrderLine, PaymentMethod
from orders.services.bulk import BulkChanges, orders_bulk_update
from orders.sets import chunked, ids_in, order_stubs
from shipping.formats import ENCODING, LINE_END, Cleaner, Layout, Refused, Sender, WaybillOrder
from shipping.formats.b2cloud import B2Cloud
from shipping.formats.clickpost import ClickPost
from shipping.formats.ehiden import EHiden
from shipping.formats.yupri import YuPri
from shipping.models import (
    DeliveryMethod,
    ShippingSettings,
    WaybillExport,
    WaybillFormat,
    WaybillMark,
    management_number_for,
)

ORDER_FIELDS = (
    "id", "external_id", "shop_id", "dest_name", "dest_kana", "dest_company", "dest_phone", "dest_postal_code",
    "dest_prefecture", "dest_city", "dest_address1", "dest_address2", "total", "tax", "payment_method_id",
    "delivery_method_id", "delivery_slot", "requested_delivery_date", "ship_date",
)  # fmt: skip


def shipping_settings(tenant: Tenant) -> ShippingSettings:
    """The tenant's settings (unsaved defaults until the tenant saves them)."""
    found = ShippingSettings.objects.for_tenant(tenant).select_related("status_after_export__group").first()
    return found or ShippingSettings(tenant=tenant)


def layout_for(fmt: str, settings: ShippingSettings) -> Layout:
    if fmt == WaybillFormat.B2CLOUD:
        return B2Cloud(
            billing_code=settings.b2_billing_code,
            billing_class=settings.b2_billing_class,
            freight_number=settings.b2_freight_number,
        )
    layouts: dict[str, type[Layout]] = {
        WaybillFormat.EHIDEN: EHiden,
        WaybillFormat.YUPRI: YuPri,
        WaybillFormat.CLICKPOST: ClickPost,
    }
    return layouts[WaybillFormat(fmt)]()


def _method_facts(method: DeliveryMethod) -> tuple[str, str, bool | None]:
    """(service, cool type, can carry COD) of a delivery method (fields of the fee part of issue 16)."""
    return method.service, method.cool_type, method.cod_allowed


def waybill_orders(tenant: Tenant, order_ids: Iterable[int]) -> Iterator[WaybillOrder]:
    """The orders as the layouts read them, in id order; a few queries per chunk of ids."""
    cod_methods = set(
        PaymentMethod.objects.for_tenant(tenant).filter(is_cash_on_delivery=True).values_list("pk", flat=True)
    )
    methods = {m.pk: m for m in DeliveryMethod.objects.for_tenant(tenant)}
    senders = {
        s.shop_id: Sender(s.issuer_name, s.issuer_postal_code, s.issuer_address, s.issuer_phone)
        for s in DocumentSettings.objects.for_tenant(tenant)
    }
    for chunk in chunked(sorted(set(order_ids))):
        rows = list(Order.objects.for_tenant(tenant).filter(ids_in("id", chunk)).order_by("pk").values(*ORDER_FIELDS))
        items: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for order_id, name, quantity in (
            OrderLine.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("order_id", chunk))
            .order_by("order_id", "position", "pk")
            .values_list("order_id", "name", "quantity")
        ):
            items[order_id].append((name, quantity))
        for row in rows:
            method = methods.get(row["delivery_method_id"])
            service, cool, takes = _method_facts(method) if method else ("", "", None)
            yield WaybillOrder(
                pk=row["id"],
                external_id=row["external_id"],
                management_number=management_number_for(row["id"]),
                dest_name=row["dest_name"],
                dest_kana=row["dest_kana"],
                dest_company=row["dest_company"],
                dest_phone=row["dest_phone"],
                dest_postal_code=row["dest_postal_code"],
                dest_prefecture=row["dest_prefecture"],
                dest_city=row["dest_city"],
                dest_address1=row["dest_address1"],
                dest_address2=row["dest_address2"],
                items=items.get(row["id"], []),
                total=row["total"],
                tax=row["tax"],
                cash_on_delivery=row["payment_method_id"] in cod_methods,
                method_name=method.name if method else "",
                method_carrier=method.carrier if method else "",
                method_service=service,
                method_cool=cool,
                method_takes_cod=takes,
                delivery_slot=row["delivery_slot"] or "",
                requested_delivery_date=row["requested_delivery_date"],
                ship_date=row["ship_date"],
                sender=senders.get(row["shop_id"], Sender()),
            )


@dataclass
class Built:
    """Rows of a file and what the preview tells: refused orders and replaced characters."""

    format: str
    rows: list[list[str]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # the orders of `rows`, in the same order
    numbers: dict[int, str] = field(default_factory=dict)  # order id → management number
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (order id, order number, reason)
    replacements: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # id, number, field, old, new

    @property
    def count(self) -> int:
        return len(self.ids)

    def files(self) -> int:
        per = layout_rows_per_file(self.format)
        return max(1, -(-len(self.rows) // per)) if per else 1


def layout_rows_per_file(fmt: str) -> int | None:
    return ClickPost.rows_per_file if fmt == WaybillFormat.CLICKPOST else None


def waybill_build(*, tenant: Tenant, fmt: str, order_ids: Iterable[int], today: dt.date | None = None) -> Built:
    """Every row of the file (writes nothing): the preview shows its refusals and replacements."""
    layout = layout_for(fmt, shipping_settings(tenant))
    today = today or timezone.localdate()
    built = Built(format=fmt)
    for order in waybill_orders(tenant, order_ids):
        clean = Cleaner()
        try:
            if order.method_carrier and order.method_carrier != layout.carrier:
                raise Refused(
                    _("its delivery method “%(method)s” is not carried by %(format)s")
                    % {"method": order.method_name, "format": layout.label()}
                )
            row = layout.row(order, clean, today)
        except Refused as refused:
            built.refused.append((order.pk, order.external_id, str(refused)))
            continue
        built.rows.append(row)
        built.ids.append(order.pk)
        built.numbers[order.pk] = order.management_number
        built.replacements += [(order.pk, order.external_id, *r) for r in clean.replacements]
    return built


def export_filename(fmt: str, at: dt.datetime, zipped: bool) -> str:
    return f"{fmt}-{timezone.localtime(at):%Y%m%d-%H%M%S}.{'zip' if zipped else 'csv'}"


@transaction.atomic
def waybill_export(
    *, tenant: Tenant, fmt: str, order_ids: Iterable[int], actor: Actor, user: Any = None
) -> tuple[WaybillExport, Built]:
    """Build the file and record it: the export, each order's mark (its management number, reused on every
    export) and event, and the move to the tenant's status after export."""
    built = waybill_build(tenant=tenant, fmt=fmt, order_ids=order_ids)
    now = timezone.now()
    export = WaybillExport.objects.create(
        tenant=tenant,
        format=fmt,
        created_by=user if user is not None and user.is_authenticated else None,
        filename=export_filename(fmt, now, built.files() > 1),
        order_count=built.count,
        replacements=[list(r) for r in built.replacements[:1000]],
        refused=[list(r) for r in built.refused[:1000]],
    )
    if not built.ids:
        return export, built
    marked: set[int] = set()
    for chunk in chunked(built.ids):
        marks = WaybillMark.objects.for_tenant(tenant).filter(ids_in("order_id", chunk))
        marked.update(marks.values_list("order_id", flat=True))
        marks.update(export=export, exported_at=now, times=F("times") + 1)
    WaybillMark.objects.bulk_create(
        [
            WaybillMark(tenant=tenant, order_id=i, management_number=built.numbers[i], export=export, exported_at=now)
            for i in built.ids
            if i not in marked
        ],
        batch_size=1000,
    )
    stubs = order_stubs(tenant)
    label = str(WaybillFormat(fmt).label)
    events = [
        order_waybill_exported_event(
            order=stubs[i],
            actor=actor,
            waybill={"format": label, "file": export.filename, "number": built.numbers[i], "export": export.pk},
            commit=False,
        )
        for i in built.ids
    ]
    save_events(events)
    target = shipping_settings(tenant).status_after_export
    if target is not None:
        orders_bulk_update(
            tenant=tenant, order_ids=built.ids, changes=BulkChanges(status=target), actor=actor, confirm_skips=True
        )
    return export, built


def _csv_bytes(header: tuple[str, ...] | None, rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(ENCODING)


def waybill_stream(fmt: str, built: Built, chunk: int = 500) -> Iterator[bytes]:
    """The CSV file, cp932 and CRLF, a chunk of rows at a time (StreamingHttpResponse)."""
    layout = layout_for(fmt, ShippingSettings())
    yield _csv_bytes(layout.header if layout.write_header else None, [])
    for start in range(0, len(built.rows), chunk):
        yield _csv_bytes(None, built.rows[start : start + chunk])


def waybill_zip(fmt: str, built: Built) -> bytes:
    """Click Post: files of at most 40 rows, in one zip."""
    layout = layout_for(fmt, ShippingSettings())
    per = layout.rows_per_file or len(built.rows) or 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, start in enumerate(range(0, len(built.rows), per), start=1):
            archive.writestr(f"{fmt}-{n}.csv", _csv_bytes(layout.header, built.rows[start : start + per]))
    return buffer.getvalue()
