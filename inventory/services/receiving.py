"""Receiving (入荷) and stock adjustments: goods arrive, on hand rises, and the orders waiting for those SKUs are
checked again, oldest first, so that they move on by themselves.

`stock_receive` takes {SKU: units}: unknown SKUs and non-positive quantities are refused by name before
anything is written (all or nothing). The products are locked in id order (as the stock check locks them), on
hand raised with one UPDATE per product, a StockMove written per product; then every order still waiting for
one of them — in the stock-checked or shortage stage, short of some unit — is checked again through the same
`stock_check`, which allocates the new units to the oldest orders first and moves them.

Stock rises in two other ways, and both end in `recheck_waiting` the same way: a stock count above what the
system had (inventory.services.adjust) and a products CSV import that raises on hand, adds a product or gives
one a mall item number or components (inventory.services.products_csv). They check the waiting orders in a
transaction of their own, after the one that raised the stock: orders are always locked before products.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders.constants import Stage
from orders.events import Actor
from orders.locks import orders_lock_ids
from orders.models import Order, OrderLine
from orders.sets import chunked, ids_in

from ..models import MoveKind, Product, SetComponent, SkuAlias
from .allocation import CheckResult, _lock, _moves, outcome_statuses, stock_check

WAITING = (Stage.STOCK_CHECKED, Stage.SHORTAGE)


class ReceiveRefused(ValueError):
    """Nothing was received: the reasons, one per bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ReceiveResult:
    received: dict[str, int] = field(default_factory=dict)  # SKU → units
    check: CheckResult = field(default_factory=CheckResult)  # the orders checked again


def _check_rows(tenant: Tenant, units: Mapping[str, int]) -> dict[int, int]:
    """{product id: units}, or ReceiveRefused naming every bad row."""
    problems = []
    products = dict(Product.objects.for_tenant(tenant).filter(sku__in=list(units)).values_list("sku", "pk"))
    sets = set(
        Product.objects.for_tenant(tenant).filter(sku__in=list(units), is_set=True).values_list("sku", flat=True)
    )
    for sku, quantity in units.items():
        if sku not in products:
            problems.append(_("%(sku)s: no product has this SKU.") % {"sku": sku})
        elif sku in sets:
            problems.append(_("%(sku)s: a set product is received as its components.") % {"sku": sku})
        elif not isinstance(quantity, int) or quantity <= 0:
            problems.append(_("%(sku)s: the quantity must be 1 or more.") % {"sku": sku})
    if problems:
        raise ReceiveRefused(problems)
    return {products[sku]: quantity for sku, quantity in units.items()}


def _waiting(tenant: Tenant) -> Q:
    """Orders that may still lack units: in the shortage stage, or in the status partly allocated orders go
    to (一部引当). Fully allocated orders (在庫引当済) lack nothing and are not checked again."""
    partial = outcome_statuses(tenant)["partial"]
    waiting = Q(stage=Stage.SHORTAGE)
    if partial is not None:
        waiting |= Q(status_id=partial.pk)
    return waiting


def waiting_orders(tenant: Tenant, product_ids: list[int]) -> list[int]:
    """Orders still waiting for one of these products (directly, as a set's component, or by a mall's alias),
    in a stage a check may move on, oldest first."""
    skus = set(Product.objects.filter(tenant_id=tenant.pk, pk__in=product_ids).values_list("sku", flat=True))
    set_ids = SetComponent.objects.filter(tenant_id=tenant.pk, component_id__in=product_ids).values_list(
        "set_product_id", flat=True
    )
    skus |= set(Product.objects.filter(tenant_id=tenant.pk, pk__in=set_ids).values_list("sku", flat=True))
    aliases = set(
        SkuAlias.objects.filter(tenant_id=tenant.pk)
        .filter(Q(product_id__in=product_ids) | Q(product_id__in=set_ids))
        .values_list("mall_sku", flat=True)
    )
    lines = OrderLine.objects.filter(order_id=OuterRef("pk"), sku__in=skus | aliases, quantity__gt=0)
    return list(
        Order.objects.for_tenant(tenant)
        .filter(_waiting(tenant))
        .filter(Exists(lines))
        .order_by("ordered_at", "pk")
        .values_list("pk", flat=True)
    )


def recheck_waiting(*, tenant: Tenant, product_ids: Iterable[int], actor: Actor) -> CheckResult:
    """The orders waiting for these products checked again, oldest first, in a transaction of their own (call
    it after the transaction that raised the stock has committed). An empty result when none waits."""
    ids = sorted(set(product_ids))
    waiting = waiting_orders(tenant, ids) if ids else []
    if not waiting:
        return CheckResult()
    with transaction.atomic():
        return stock_check(tenant=tenant, order_ids=waiting, actor=actor)


@transaction.atomic
def stock_receive(*, tenant: Tenant, units: Mapping[str, int], actor: Actor, note: str = "") -> ReceiveResult:
    """Receive `units` ({SKU: quantity}) and check the waiting orders again."""
    by_id = _check_rows(tenant, units)
    waiting = waiting_orders(tenant, list(by_id))
    orders_lock_ids(tenant, waiting)  # orders before products, as every writer locks them
    _lock(tenant, by_id)
    for chunk in chunked(sorted(by_id)):  # one UPDATE per chunk of products, not one per product
        received = Case(*(When(pk=pk, then=Value(by_id[pk])) for pk in chunk), output_field=IntegerField())
        Product.objects.filter(tenant_id=tenant.pk).filter(ids_in("pk", chunk)).update(on_hand=F("on_hand") + received)
    _moves(tenant, MoveKind.RECEIVE, [(pk, None, quantity, 0) for pk, quantity in by_id.items()], actor, note=note)
    result = ReceiveResult(received=dict(units))
    if waiting:
        result.check = stock_check(tenant=tenant, order_ids=waiting, actor=actor)
    return result
