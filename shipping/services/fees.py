"""Shipping fees from the fee tables (issue 16, item 1): what an order's shipping and COD fees come to, with an
explanation an operator can read, or the reason no fee can be given.

`fee_quotes(tenant, order_ids)` is set-based: the tenant's delivery methods, fee tables, zones and COD bands
are read once (`FeeBook`), then per chunk of orders one query each for the orders, their lines, the products
of their SKUs and the remote-island check; never one per order. `shipping_fee_for(order)` quotes one order.

How a quote is reckoned:
- the order's delivery method and its fee table (none → refused);
- the parcel's class: for a size table the largest size class among the products of the order's lines, the
  method's default size class standing in for a product without one or a SKU no product answers to; for a
  weight table the summed weight (product weight × quantity, the method's default weight per item where a
  product has none), in the smallest weight class that holds it; a flat table has no class. A set product
  without its own size or weight counts as its components (their largest size, their summed weights);
- the zone of the destination's prefecture, and that zone's rate for the class;
- remote islands (the tenant's island postal codes, through the check automation provides, or the mall's
  flag): the table's surcharge is added, or the table refuses islands;
- free shipping: an item subtotal at or above the table's threshold (for the shops it names, or every shop)
  ships free; a remote-island surcharge is still charged;
- the COD fee, for an order paid cash on delivery: the band holding the amount to collect (items + shipping −
  discount − points). A method that cannot carry COD refuses; a table without bands leaves the COD fee as it
  is. An order not paid on delivery has no COD fee.

Shipping sits below automation and cannot read its remote-island table: automation registers the check in
its AppConfig.ready() (`provide_island_check`); without it only the mall's flag counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from backyard.models import Tenant
from inventory.models import Product, SetComponent
from orders.models import Order, OrderLine
from orders.sets import chunked, ids_in

from ..constants import SIZE_ORDER, prefecture_name, size_label
from ..models import CodFeeBand, DeliveryMethod, FeeBasis, FeeTable, FeeZone, IslandPolicy

IslandCheck = Callable[[int, list[int]], set[int]]
_island_checks: list[IslandCheck] = []


def provide_island_check(check: IslandCheck) -> None:
    """Register `check(tenant_id, order_ids) -> ids of those going to a remote island`; the last one counts."""
    _island_checks[:] = [check]


def island_orders(tenant_id: int, order_ids: list[int], flagged: Iterable[int] = ()) -> set[int]:
    """Of `order_ids`, those going to a remote island: the registered check, or the mall's flag alone."""
    if _island_checks:
        return set(_island_checks[0](tenant_id, order_ids))
    return set(flagged)


@dataclass
class FeeQuote:
    """What an order's fees come to. `fee` / `cod_fee` None: no figure (refused, or "leave as it is" for the
    COD fee of a table without bands). `lines` explain the reckoning in the operator's language."""

    order_id: int
    fee: int | None = None
    cod_fee: int | None = None
    lines: list[str] = field(default_factory=list)
    refused: str = ""
    method: str = ""
    table: str = ""
    zone: str = ""
    parcel_class: str = ""
    base_fee: int | None = None
    surcharge: int = 0
    free: bool = False
    cod_band: str = ""

    @property
    def ok(self) -> bool:
        return not self.refused


@dataclass
class TableBook:
    table: FeeTable
    zones: list[FeeZone] = field(default_factory=list)
    zone_of: dict[str, FeeZone] = field(default_factory=dict)
    bands: list[CodFeeBand] = field(default_factory=list)
    free_shops: set[int] = field(default_factory=set)


@dataclass
class FeeBook:
    """The tenant's delivery methods and fee tables, read once for any number of orders."""

    methods: dict[int, DeliveryMethod]
    tables: dict[int, TableBook]


def fee_book(tenant: Tenant) -> FeeBook:
    """Four queries whatever the tables' size."""
    methods = {m.pk: m for m in DeliveryMethod.objects.for_tenant(tenant)}
    tables = {t.pk: TableBook(t) for t in FeeTable.objects.for_tenant(tenant)}
    for zone in FeeZone.objects.filter(table__tenant=tenant).order_by("position", "pk"):
        book = tables[zone.table_id]
        book.zones.append(zone)
        for name in zone.prefectures:
            book.zone_of.setdefault(prefecture_name(name), zone)
    for band in CodFeeBand.objects.filter(table__tenant=tenant).order_by("min_amount", "pk"):
        tables[band.table_id].bands.append(band)
    through = FeeTable.free_shops.through
    for table_id, shop_id in through.objects.filter(feetable__tenant=tenant).values_list("feetable_id", "shop_id"):
        tables[table_id].free_shops.add(shop_id)
    for method in methods.values():
        if method.fee_table_id in tables:
            method.fee_table = tables[method.fee_table_id].table  # no query per method
    return FeeBook(methods=methods, tables=tables)


ORDER_FIELDS = (
    "pk",
    "shop_id",
    "delivery_method_id",
    "dest_prefecture",
    "item_subtotal",
    "discount",
    "points_used",
    "shipping_fee",
    "cod_fee",
    "mall_remote_island",
    "payment_method__is_cash_on_delivery",
)


def yen(amount: int) -> str:
    return f"{amount:,}円"


def fee_quotes(
    tenant: Tenant, order_ids: Iterable[int], *, book: FeeBook | None = None, islands: set[int] | None = None
) -> dict[int, FeeQuote]:
    """{order id: quote} for the tenant's orders among `order_ids` (another tenant's ids are not there).
    `islands`: the ids going to a remote island when the caller knows them already."""
    book = book or fee_book(tenant)
    quotes: dict[int, FeeQuote] = {}
    for chunk in chunked(sorted(set(order_ids))):
        orders = list(Order.objects.filter(ids_in("pk", chunk), tenant_id=tenant.pk).order_by().values(*ORDER_FIELDS))
        if not orders:
            continue
        ids = [row["pk"] for row in orders]
        lines: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for order_id, sku, quantity in (
            OrderLine.objects.filter(ids_in("order_id", ids), tenant_id=tenant.pk)
            .order_by("order_id", "position", "pk")
            .values_list("order_id", "sku", "quantity")
        ):
            lines[order_id].append((sku, quantity))
        skus = sorted({sku for rows in lines.values() for sku, _q in rows if sku})
        products = _parcel_products(tenant, skus)
        if islands is not None:
            on_island = islands
        else:
            on_island = island_orders(tenant.pk, ids, [row["pk"] for row in orders if row["mall_remote_island"]])
        for row in orders:
            quotes[row["pk"]] = _quote(book, row, lines.get(row["pk"], []), products, row["pk"] in on_island)
    return quotes


def shipping_fee_for(order: Order, *, book: FeeBook | None = None) -> FeeQuote:
    """The quote of one order (a handful of queries)."""
    quote = fee_quotes(order.tenant, [order.pk], book=book).get(order.pk)
    return quote or FeeQuote(order_id=order.pk, refused=_("The order does not exist."))


def _refuse(quote: FeeQuote, reason: str) -> FeeQuote:
    quote.refused = reason
    quote.fee = None
    quote.cod_fee = None
    quote.lines.append(reason)
    return quote


def _quote(
    book: FeeBook,
    row: dict[str, Any],
    lines: list[tuple[str, int]],
    products: dict[str, tuple[str, int | None]],
    on_island: bool,
) -> FeeQuote:
    quote = FeeQuote(order_id=row["pk"])
    method = book.methods.get(row["delivery_method_id"] or 0)
    if method is None:
        return _refuse(quote, _("The order has no delivery method."))
    quote.method = method.name
    tbook = book.tables.get(method.fee_table_id or 0)
    if tbook is None:
        return _refuse(quote, _("The delivery method %(method)s has no fee table.") % {"method": method.name})
    table = tbook.table
    quote.table = table.name
    quote.lines.append(_("Fee table: %(table)s (%(method)s)") % {"table": table.name, "method": method.name})

    if table.basis == FeeBasis.FLAT:
        base = table.flat_fee or 0
        quote.lines.append(_("Flat fee: %(fee)s") % {"fee": yen(base)})
    else:
        prefecture = prefecture_name(row["dest_prefecture"])
        zone = tbook.zone_of.get(prefecture)
        if zone is None:
            return _refuse(
                quote,
                _("The prefecture “%(prefecture)s” is in no zone of the fee table.") % {"prefecture": prefecture},
            )
        quote.zone = zone.name
        if table.basis == FeeBasis.SIZE:
            parcel = _size_class(method, lines, products)
            if parcel is None:
                return _refuse(
                    quote, _("A product has no size class and the delivery method has no default size class.")
                )
            label = size_label(parcel)
            offered = (
                sorted(
                    (
                        key
                        for key in zone.rates
                        if key in SIZE_ORDER and SIZE_ORDER.index(key) >= SIZE_ORDER.index(parcel)
                    ),
                    key=SIZE_ORDER.index,
                )
                if parcel in SIZE_ORDER
                else []
            )
            if offered and offered[0] != parcel:  # a smaller parcel goes at the smallest size the table has
                label = _("%(size)s, charged as %(charged)s") % {"size": label, "charged": size_label(offered[0])}
                parcel = offered[0]
        else:
            weight = _weight(method, lines, products)
            if weight is None:
                return _refuse(quote, _("A product has no weight and the delivery method has no default weight."))
            limits = sorted(int(key) for key in zone.rates if str(key).isdigit())
            fitting = [limit for limit in limits if weight <= limit]
            if not fitting:
                return _refuse(
                    quote,
                    _("The parcel weighs %(weight)s g, more than the fee table's heaviest class.") % {"weight": weight},
                )
            parcel = str(fitting[0])
            label = _("%(weight)s g (up to %(limit)s g)") % {"weight": f"{weight:,}", "limit": f"{fitting[0]:,}"}
        quote.parcel_class = label
        rate = zone.rates.get(parcel)
        if rate is None:
            return _refuse(
                quote,
                _("The zone %(zone)s has no rate for %(class)s.") % {"zone": zone.name, "class": label},
            )
        base = int(rate)
        quote.lines.append(
            _("%(prefecture)s → zone %(zone)s, %(class)s: %(fee)s")
            % {"prefecture": prefecture, "zone": zone.name, "class": label, "fee": yen(base)}
        )
    quote.base_fee = base
    fee = base

    if on_island:
        if table.island_policy == IslandPolicy.UNAVAILABLE:
            return _refuse(quote, _("This delivery method does not deliver to remote islands."))
        if table.island_policy == IslandPolicy.SURCHARGE and table.island_surcharge:
            quote.surcharge = table.island_surcharge
            quote.lines.append(_("Remote-island surcharge: %(fee)s") % {"fee": yen(table.island_surcharge)})

    threshold = table.free_threshold
    if threshold is not None and (not tbook.free_shops or row["shop_id"] in tbook.free_shops):
        if row["item_subtotal"] >= threshold:
            quote.free = True
            fee = 0
            quote.lines.append(
                _("Free shipping: the item subtotal %(subtotal)s reaches %(threshold)s.")
                % {"subtotal": yen(row["item_subtotal"]), "threshold": yen(threshold)}
            )
    fee += quote.surcharge
    quote.fee = fee

    if row["payment_method__is_cash_on_delivery"]:
        if not method.cod_allowed:
            return _refuse(
                quote, _("The delivery method %(method)s cannot carry cash on delivery.") % {"method": method.name}
            )
        if not tbook.bands:
            quote.cod_fee = None
            quote.lines.append(_("The fee table has no COD fee bands: the COD fee stays as it is."))
        else:
            collect = row["item_subtotal"] + fee - row["discount"] - row["points_used"]
            band = next((b for b in tbook.bands if b.min_amount <= max(collect, 0) <= b.max_amount), None)
            if band is None:
                return _refuse(
                    quote, _("No COD fee band holds the amount to collect, %(amount)s.") % {"amount": yen(collect)}
                )
            quote.cod_fee = band.fee
            quote.cod_band = f"{band.min_amount:,}〜{band.max_amount:,}円"
            quote.lines.append(
                _("COD fee: %(amount)s to collect is in the band %(band)s: %(fee)s")
                % {"amount": yen(collect), "band": quote.cod_band, "fee": yen(band.fee)}
            )
    else:
        quote.cod_fee = 0
    quote.lines.append(_("Shipping fee: %(fee)s") % {"fee": yen(fee)})
    return quote


def _parcel_products(tenant: Tenant, skus: list[str]) -> dict[str, tuple[str, int | None]]:
    """{SKU: (size class, weight in g)} of the tenant's products among `skus`. A set product without its own
    size or weight has its components': the largest of their size classes, the sum of their weights × the
    quantity in the set (unknown when a component's is). Two queries per 5,000 SKUs."""
    products: dict[str, tuple[str, int | None]] = {}
    sets: dict[int, tuple[str, str, int | None]] = {}  # set product id: (SKU, own size, own weight)
    for start in range(0, len(skus), 5000):
        for pk, sku, size, weight, is_set in Product.objects.filter(
            tenant_id=tenant.pk, sku__in=skus[start : start + 5000]
        ).values_list("pk", "sku", "size_class", "weight_g", "is_set"):
            products[sku] = (size, weight)
            if is_set and (not size or weight is None):
                sets[pk] = (sku, size, weight)
    parts: dict[int, list[tuple[str, int | None, int]]] = defaultdict(list)
    wanted = sorted(sets)
    for start in range(0, len(wanted), 5000):
        for set_id, size, weight, quantity in SetComponent.objects.filter(
            tenant_id=tenant.pk, set_product_id__in=wanted[start : start + 5000]
        ).values_list("set_product_id", "component__size_class", "component__weight_g", "quantity"):
            parts[set_id].append((size, weight, quantity))
    for set_id, (sku, size, weight) in sets.items():
        components = parts.get(set_id)
        if not components:
            continue
        if not size and all(part_size for part_size, _w, _q in components):
            size = max((part_size for part_size, _w, _q in components), key=_size_rank)
        if weight is None and all(part_weight is not None for _s, part_weight, _q in components):
            weight = sum((part_weight or 0) * quantity for _s, part_weight, quantity in components)
        products[sku] = (size, weight)
    return products


def _size_rank(size: str) -> int:
    return SIZE_ORDER.index(size) if size in SIZE_ORDER else len(SIZE_ORDER)


def _size_class(
    method: DeliveryMethod, lines: list[tuple[str, int]], products: dict[str, tuple[str, int | None]]
) -> str | None:
    """The largest size class among the lines' products (the method's default where there is none)."""
    default = method.default_size_class
    sizes = [(products.get(sku) or ("", None))[0] or default for sku, _quantity in lines] or [default]
    if not all(sizes):
        return None
    return max(sizes, key=_size_rank)


def _weight(
    method: DeliveryMethod, lines: list[tuple[str, int]], products: dict[str, tuple[str, int | None]]
) -> int | None:
    total = 0
    for sku, quantity in lines:
        weight = (products.get(sku) or ("", None))[1]
        if weight is None:
            weight = method.default_weight_g
        if weight is None:
            return None
        total += weight * quantity
    return total
