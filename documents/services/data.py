"""What a form prints, as plain values read once from the orders: the one place a form's amounts come from.

Every amount is the order's own (item subtotal, fees, discount, points, tax, total as stored, which
orders.services.compute_amounts wrote) or its lines' (unit price × quantity), and the tax per rate is
orders.services.tax_by_rate — the reckoning the order's tax was computed with, rounded once per rate per
order (invoice). Templates only format these values; they never add or multiply.

`order_forms(tenant, order_ids)` reads the orders in a fixed number of queries whatever their number (orders
with shop, payment and delivery method; their lines; the shops' form settings; receipt details; print marks),
and returns `OrderForm`s in the order of `order_ids`. `picking_rows(tenant, forms, sort)` sums their lines by
SKU and options for the picking list, with the shelf location when inventory knows the SKU.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from backyard.models import Tenant
from inventory.models import Product
from orders.models import Order, OrderLine
from orders.services import tax_by_rate
from orders.sets import chunked, ids_in
from shops.models import Shop

from ..models import DocumentKind, DocumentSettings, PrintMark, ReceiptDetails

REDUCED_RATE = 8  # 軽減税率: lines at this rate carry the ※ mark on invoices
STAMP_THRESHOLD = 50_000  # 収入印紙: a receipt of this amount or more (cash, transfer) needs a revenue stamp


@dataclass(frozen=True)
class Party:
    name: str
    kana: str
    company: str
    postal_code: str
    address: str  # prefecture, city and line 1
    address2: str  # building, room
    phone: str
    email: str = ""


@dataclass(frozen=True)
class Line:
    position: int
    sku: str
    name: str
    options: str
    unit_price: int
    quantity: int
    amount: int  # unit price × quantity, tax included
    tax_rate: int
    reduced: bool  # 軽減税率対象 (※)


@dataclass(frozen=True)
class RateRow:
    rate: int
    amount: int  # tax-included amount at this rate (after the discount on the 10 % part)
    tax: int  # the tax included in it, rounded down once
    net: int  # amount − tax (税抜)


@dataclass(frozen=True)
class Issuer:
    shop_id: int
    name: str
    postal_code: str
    address: str
    phone: str
    email: str
    registration_number: str
    logo_path: str  # a local file path for the renderer, "" when none
    seal_path: str
    layout: str
    with_invoice: bool  # the delivery note serves as a qualified invoice
    messages: dict[str, str]  # kind → message
    receipt_proviso: str


@dataclass(frozen=True)
class OrderForm:
    """One order as every form prints it."""

    id: int
    number: str  # the mall's order number
    shop_name: str
    ordered_at: dt.datetime  # in Tokyo time
    ship_date: dt.date | None
    requested_delivery_date: dt.date | None
    delivery_slot: str
    payment: str
    is_cod: bool
    is_card: bool
    delivery: str
    orderer: Party
    destination: Party
    lines: list[Line]
    item_subtotal: int
    shipping_fee: int
    cod_fee: int
    discount: int
    points_used: int
    tax: int
    total: int
    rates: list[RateRow]
    remarks: str
    order_comment: str
    work_memo: str
    issuer: Issuer
    receipt_addressee: str
    receipt_proviso: str
    printed: dict[str, int] = field(default_factory=dict)  # kind → times printed before

    @property
    def has_reduced(self) -> bool:
        return any(line.reduced for line in self.lines)

    @property
    def rates_total(self) -> int:
        """The tax-included amount the per-rate rows cover (items, fees, less the discount; before points)."""
        return sum(row.amount for row in self.rates)

    @property
    def needs_stamp(self) -> bool:
        """A receipt for cash or transfer of ¥50,000 or more carries a revenue stamp; a card payment's does
        not (a card receipt is not a receipt of money under the Stamp Tax Act)."""
        return self.total >= STAMP_THRESHOLD and not self.is_card

    def reprint(self, kind: str) -> bool:
        return self.printed.get(kind, 0) > 0


@dataclass(frozen=True)
class PickingRow:
    sku: str
    name: str
    options: str
    location: str
    quantity: int
    orders: list[str]  # order numbers the units go to, in print order


def _address(prefecture: str, city: str, line1: str) -> str:
    return f"{prefecture}{city}{line1}"


def _issuer(shop: Shop, settings: DocumentSettings | None) -> Issuer:
    if settings is None:
        settings = DocumentSettings(shop=shop, tenant_id=shop.tenant_id)
    return Issuer(
        shop_id=shop.pk,
        name=settings.issuer_name or shop.name,
        postal_code=settings.issuer_postal_code,
        address=settings.issuer_address,
        phone=settings.issuer_phone,
        email=settings.issuer_email,
        registration_number=settings.registration_number,
        logo_path=_path(settings.logo),
        seal_path=_path(settings.seal),
        layout=settings.layout,
        with_invoice=settings.delivery_note_with_invoice,
        messages={
            DocumentKind.ORDER_SHEET: settings.order_sheet_message,
            DocumentKind.DELIVERY_NOTE: settings.delivery_note_message,
            DocumentKind.RECEIPT: settings.receipt_message,
            DocumentKind.INVOICE: settings.invoice_message,
            DocumentKind.PICKING_LIST: "",
        },
        receipt_proviso=settings.receipt_proviso,
    )


def _path(image: Any) -> str:
    if not image:
        return ""
    try:
        return str(image.path)
    except (NotImplementedError, ValueError):  # a storage without local paths: the renderer reads the URL
        return str(image.url)


def order_forms(tenant: Tenant, order_ids: Sequence[int]) -> list[OrderForm]:
    """The tenant's orders among `order_ids`, as forms print them, in the order given (ids of other tenants'
    orders, or of deleted ones, are left out)."""
    wanted = list(dict.fromkeys(int(i) for i in order_ids))
    orders: dict[int, Order] = {}
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    details: dict[int, ReceiptDetails] = {}
    printed: dict[int, dict[str, int]] = defaultdict(dict)
    for chunk in chunked(sorted(wanted)):
        for order in (
            Order.objects.for_tenant(tenant)
            .filter(ids_in("pk", chunk))
            .select_related("shop", "payment_method", "delivery_method")
        ):
            orders[order.pk] = order
        for line in (
            OrderLine.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("order_id", chunk))
            .order_by("order_id", "position", "pk")
        ):
            lines[line.order_id].append(line)
        for detail in ReceiptDetails.objects.filter(tenant_id=tenant.pk).filter(ids_in("order_id", chunk)):
            details[detail.order_id] = detail
        for order_id, kind, times in (
            PrintMark.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("order_id", chunk))
            .values_list("order_id", "kind", "times")
        ):
            printed[order_id][kind] = times
    shop_ids = {order.shop_id for order in orders.values()}
    settings = {s.shop_id: s for s in DocumentSettings.objects.filter(tenant_id=tenant.pk, shop_id__in=shop_ids)}
    issuers = {order.shop_id: _issuer(order.shop, settings.get(order.shop_id)) for order in orders.values()}
    return [
        _form(orders[i], lines[i], issuers[orders[i].shop_id], details.get(i), printed.get(i, {}))
        for i in wanted
        if i in orders
    ]


def _form(
    order: Order, lines: list[OrderLine], issuer: Issuer, detail: ReceiptDetails | None, printed: dict[str, int]
) -> OrderForm:
    rates = tax_by_rate(lines=lines, shipping_fee=order.shipping_fee, cod_fee=order.cod_fee, discount=order.discount)
    method = order.payment_method
    return OrderForm(
        id=order.pk,
        number=order.external_id,
        shop_name=order.shop.name,
        ordered_at=timezone.localtime(order.ordered_at),
        ship_date=order.ship_date,
        requested_delivery_date=order.requested_delivery_date,
        delivery_slot=order.get_delivery_slot_display() if order.delivery_slot else order.delivery_time_slot,
        payment=method.name if method else "",
        is_cod=bool(method and method.is_cash_on_delivery),
        is_card=bool(method and method.is_credit_card),
        delivery=order.delivery_method.name if order.delivery_method else "",
        orderer=Party(
            name=order.orderer_name,
            kana=order.orderer_kana,
            company="",
            postal_code=order.orderer_postal_code,
            address=_address(order.orderer_prefecture, order.orderer_city, order.orderer_address1),
            address2=order.orderer_address2,
            phone=order.orderer_phone,
            email=order.orderer_email,
        ),
        destination=Party(
            name=order.dest_name,
            kana=order.dest_kana,
            company=order.dest_company,
            postal_code=order.dest_postal_code,
            address=_address(order.dest_prefecture, order.dest_city, order.dest_address1),
            address2=order.dest_address2,
            phone=order.dest_phone,
        ),
        lines=[
            Line(
                position=n,
                sku=line.sku,
                name=line.name,
                options=line.options,
                unit_price=line.unit_price,
                quantity=line.quantity,
                amount=line.unit_price * line.quantity,
                tax_rate=line.tax_rate,
                reduced=line.tax_rate == REDUCED_RATE,
            )
            for n, line in enumerate(lines, start=1)
        ],
        item_subtotal=order.item_subtotal,
        shipping_fee=order.shipping_fee,
        cod_fee=order.cod_fee,
        discount=order.discount,
        points_used=order.points_used,
        tax=order.tax,
        total=order.total,
        rates=[RateRow(rate, amount, tax, amount - tax) for rate, (amount, tax) in rates.items() if amount or tax],
        remarks=order.remarks,
        order_comment=order.order_comment,
        work_memo=order.work_memo,
        issuer=issuer,
        receipt_addressee=(detail.addressee if detail and detail.addressee else order.orderer_name),
        receipt_proviso=(detail.proviso if detail and detail.proviso else issuer.receipt_proviso),
        printed=printed,
    )


def picking_rows(tenant: Tenant, forms: Iterable[OrderForm], *, sort: str = "sku") -> list[PickingRow]:
    """The forms' lines summed by SKU and options (a line without SKU by its name), with the shelf location
    inventory knows for the SKU; sorted by SKU, or by location ("location": rows without one last, by SKU)."""
    summed: dict[tuple[str, str, str], dict[str, Any]] = {}
    for form in forms:
        for line in form.lines:
            key = (line.sku, line.options, "" if line.sku else line.name)
            row = summed.setdefault(key, {"name": line.name, "quantity": 0, "orders": []})
            row["quantity"] += line.quantity
            if form.number not in row["orders"]:
                row["orders"].append(form.number)
    skus = sorted({sku for sku, _options, _name in summed if sku})
    locations: dict[str, str] = {}
    for start in range(0, len(skus), 2_000):
        chunk = skus[start : start + 2_000]
        locations.update(
            Product.objects.for_tenant(tenant).filter(sku__in=chunk).exclude(location="").values_list("sku", "location")
        )
    rows = [
        PickingRow(sku, row["name"], options, locations.get(sku, ""), row["quantity"], row["orders"])
        for (sku, options, _name), row in summed.items()
    ]
    if sort == "location":
        rows.sort(key=lambda r: (r.location == "", r.location, r.sku, r.options, r.name))
    else:
        rows.sort(key=lambda r: (r.sku == "", r.sku, r.options, r.name))
    return rows
