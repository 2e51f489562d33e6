"""The stock check (在庫確認, T12, F11): allocate each order's lines from stock, oldest order first, and sort the
orders by the outcome; give stock back when an order is cancelled; take it off the shelf when it ships.

Set-based and safe under concurrency:
1. Read the orders (oldest first) and their lines, resolve each line's SKU — ours, or a mall's alias for the
   order's mall — and expand set products into their components. A line of quantity 0, an unknown SKU, or a
   SKU of another tenant is never allocated (an unknown one is reported by name).
2. Lock the products involved, in id order (`SELECT … FOR UPDATE OF` the products only, orders.locks' rule):
   two checks that need the same units queue behind each other instead of both promising them; the database
   holds 0 ≤ allocated ≤ on_hand besides, so nothing can oversell even past this code.
3. Walk the orders oldest first and allocate what each still lacks (what a line already holds stays), as far
   as the stock goes: the whole order ("full"), part of it ("partial"), or nothing ("short").
4. Write the allocations, the products' new `allocated`, a StockMove per product and order, then move the
   orders to the tenant's statuses for each outcome through orders_bulk_update (the status events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from backyard.models import Tenant
from orders import hooks
from orders.constants import Stage
from orders.copy import copy_rows
from orders.events import Actor
from orders.locks import orders_lock_ids
from orders.models import Order, OrderLine, Status
from orders.selectors import statuses_in_order
from orders.services.bulk import BulkChanges, orders_bulk_update
from orders.sets import chunked, ids_in

from ..models import Allocation, MoveKind, Product, SetComponent, SkuAlias, StockMove

# The stages an order may still be allocated in (before payment is settled and the parcel packed, or waiting).
CHECKABLE = (Stage.NEW, Stage.STOCK_CHECKED, Stage.SHORTAGE, Stage.AWAITING_PAYMENT, Stage.PAID)
# The default statuses of each outcome (orders.services.DEFAULT_STATUS_TREE): the first of the name wins.
FULL, PARTIAL, SHORT = "在庫引当済", "一部引当", "入荷待ち"


@dataclass
class CheckResult:
    full: list[int] = field(default_factory=list)
    partial: list[int] = field(default_factory=list)
    short: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # not in a stage that can be allocated
    unknown: dict[int, list[str]] = field(default_factory=dict)  # order → SKUs no product answers to
    missing: dict[int, dict[str, int]] = field(default_factory=dict)  # order → SKU → units still lacking
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # moves the lifecycle refused


@dataclass(frozen=True)
class _Need:
    line_id: int
    product_id: int
    quantity: int


def _products(tenant: Tenant, skus: set[str], malls: set[str]) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    by_sku = dict(Product.objects.for_tenant(tenant).filter(sku__in=skus, active=True).values_list("sku", "pk"))
    aliases = {
        (mall, mall_sku): product_id
        for mall, mall_sku, product_id in SkuAlias.objects.for_tenant(tenant)
        .filter(mall__in=malls, mall_sku__in=skus)
        .values_list("mall", "mall_sku", "product_id")
    }
    return by_sku, aliases


def _needs(tenant: Tenant, orders: list[dict], result: CheckResult) -> tuple[dict[int, list[_Need]], set[int]]:
    """Per order, what each line needs of which product (sets expanded), less what it already holds; and the
    orders that hold some stock already."""
    order_ids = [o["pk"] for o in orders]
    lines = list(
        OrderLine.objects.filter(tenant_id=tenant.pk)
        .filter(ids_in("order_id", order_ids))
        .order_by("order_id", "position", "pk")
        .values_list("pk", "order_id", "sku", "quantity")
    )
    mall_of = {o["pk"]: o["shop__mall"] for o in orders}
    by_sku, aliases = _products(tenant, {sku for _l, _o, sku, _q in lines if sku}, set(mall_of.values()))
    product_ids = set(by_sku.values()) | set(aliases.values())
    sets: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for set_id, component_id, quantity in (
        SetComponent.objects.for_tenant(tenant)
        .filter(set_product_id__in=product_ids)
        .values_list("set_product_id", "component_id", "quantity")
    ):
        sets[set_id].append((component_id, quantity))
    held: dict[tuple[int, int], int] = {}
    holding: set[int] = set()
    for order_id, line_id, product_id, quantity in (
        Allocation.objects.filter(tenant_id=tenant.pk)
        .filter(ids_in("order_id", order_ids))
        .values_list("order_id", "line_id", "product_id", "quantity")
    ):
        if line_id is not None:
            held[(line_id, product_id)] = quantity
        holding.add(order_id)
    needs: dict[int, list[_Need]] = defaultdict(list)
    for line_id, order_id, sku, quantity in lines:
        if quantity <= 0:
            continue
        found = aliases.get((mall_of[order_id], sku)) or by_sku.get(sku)
        if found is None:
            result.unknown.setdefault(order_id, []).append(sku or "—")
            continue
        parts = sets.get(found) or [(found, 1)]
        for component_id, per_set in parts:
            want = quantity * per_set - held.get((line_id, component_id), 0)
            if want > 0:
                needs[order_id].append(_Need(line_id, component_id, want))
    return needs, holding


def _lock(tenant: Tenant, product_ids: Iterable[int]) -> dict[int, list[int]]:
    """{product id: [on_hand, allocated]} of the products, locked in id order until the transaction ends."""
    stock: dict[int, list[int]] = {}
    for chunk in chunked(sorted(set(product_ids))):
        for pk, on_hand, allocated in (
            Product.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("pk", chunk))
            .order_by("pk")
            .select_for_update(of=("self",))
            .values_list("pk", "on_hand", "allocated")
        ):
            stock[pk] = [on_hand, allocated]
    return stock


def outcome_statuses(tenant: Tenant) -> dict[str, Status | None]:
    statuses = statuses_in_order(tenant=tenant)

    def named(name: str, stage: Stage) -> Status | None:
        return next((s for s in statuses if s.name == name and s.group.stage == stage), None)

    return {
        "full": named(FULL, Stage.STOCK_CHECKED),
        "partial": named(PARTIAL, Stage.STOCK_CHECKED),
        "short": named(SHORT, Stage.SHORTAGE),
    }


@transaction.atomic
def stock_check(
    *, tenant: Tenant, order_ids: Iterable[int], actor: Actor, move: bool = True, tell: bool = True
) -> CheckResult:
    """Allocate the orders' stock, oldest order first, and (with `move`) move each order to the status of its
    outcome. Orders in stages past payment and packing are left as they are (`skipped`).

    Locks the orders first, then the products (orders.locks' order, as auto-processing and every bulk edit
    lock orders before anything else), so a check beside auto-processing or receiving queues instead of
    deadlocking. With `tell`, orders.hooks.stock_checked follows in the same transaction (automation raises
    and resolves the 欠品 / SKU不明 tasks); a rule's stock check raises them itself, to count them."""
    result = CheckResult()
    ids, _missing = orders_lock_ids(tenant, sorted({int(i) for i in order_ids}))
    orders: list[dict[str, Any]] = []
    for chunk in chunked(ids):
        rows = (
            Order.objects.for_tenant(tenant)
            .filter(ids_in("pk", chunk))
            .values("pk", "stage", "ordered_at", "shop__mall")
        )
        orders += [dict(row) for row in rows]
    orders.sort(key=lambda o: (o["ordered_at"], o["pk"]))
    result.skipped = [o["pk"] for o in orders if o["stage"] not in CHECKABLE]
    orders = [o for o in orders if o["stage"] in CHECKABLE]
    if not orders:
        return result
    needs, holding = _needs(tenant, orders, result)
    stock = _lock(tenant, (need.product_id for wanted in needs.values() for need in wanted))
    skus = dict(Product.objects.filter(pk__in=list(stock)).values_list("pk", "sku"))
    new_rows: dict[tuple[int, int], list] = {}  # (line, product) → [order, quantity]
    moved: dict[tuple[int, int], int] = defaultdict(int)  # (product, order) → units allocated now
    for order in orders:
        order_id = order["pk"]
        wanted = needs.get(order_id, [])
        got_all, got_any = order_id not in result.unknown, False
        for need in wanted:
            on_hand, allocated = stock[need.product_id]
            take = max(0, min(need.quantity, on_hand - allocated))
            if take:
                stock[need.product_id][1] += take
                row = new_rows.setdefault((need.line_id, need.product_id), [order_id, 0])
                row[1] += take
                moved[(need.product_id, order_id)] += take
                got_any = True
            if take < need.quantity:
                got_all = False
                lacking = result.missing.setdefault(order_id, {})
                sku = skus[need.product_id]
                lacking[sku] = lacking.get(sku, 0) + need.quantity - take
        already = order_id not in needs and order_id not in result.unknown
        if got_all or already:
            result.full.append(order_id)
        elif got_any or order_id in holding:
            result.partial.append(order_id)
        else:
            result.short.append(order_id)
    _write(tenant, new_rows, moved, stock, actor, holding)
    if move:
        _move(tenant, result, actor)
    if tell:
        hooks.stock_checked(tenant_id=tenant.pk, result=result, actor=actor)
    return result


def _write(
    tenant: Tenant,
    new_rows: dict[tuple[int, int], list],
    moved: dict[tuple[int, int], int],
    stock: dict[int, list[int]],
    actor: Actor,
    holding: set[int],
) -> None:
    """The new allocations (COPY), the grown ones, the products' `allocated` and a StockMove per product and
    order. Only an order that held stock before this check can have a row to grow: the others' rows are new,
    without reading anything (a fresh check of 10,000 orders reads no allocation here)."""
    if not new_rows:
        return
    existing: dict[tuple[int, int], Allocation] = {}
    held_lines = sorted({line for (line, _p), (order_id, _q) in new_rows.items() if order_id in holding})
    for chunk in chunked(held_lines):
        existing.update(
            ((a.line_id, a.product_id), a)
            for a in Allocation.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("line_id", chunk))
            .only("pk", "line_id", "product_id", "quantity")
            if a.line_id is not None
        )
    create, update = [], []
    for (line_id, product_id), (order_id, quantity) in new_rows.items():
        row = existing.get((line_id, product_id))
        if row is None:
            create.append((tenant.pk, order_id, line_id, product_id, quantity))
        else:
            row.quantity += quantity
            update.append(row)
    copy_rows(Allocation, ("tenant_id", "order_id", "line_id", "product_id", "quantity"), create)
    Allocation.objects.bulk_update(update, ["quantity"], batch_size=2_000)
    changed = {product_id for product_id, _o in moved}
    products = [Product(pk=pk, tenant_id=tenant.pk, allocated=stock[pk][1]) for pk in changed]
    Product.objects.bulk_update(products, ["allocated"], batch_size=2_000)
    _moves(tenant, MoveKind.ALLOCATE, [(p, o, 0, n) for (p, o), n in moved.items()], actor)


def _moves(
    tenant: Tenant, kind: str, changes: list[tuple[int, int | None, int, int]], actor: Actor, note: str = ""
) -> None:
    """StockMove rows for (product, order, on-hand change, allocated change), with the numbers after them
    (read once after the writes: one query per chunk of products)."""
    if not changes:
        return
    after = {}
    for chunk in chunked(sorted({product_id for product_id, *_rest in changes})):
        after.update(
            {
                pk: (on_hand, allocated)
                for pk, on_hand, allocated in Product.objects.filter(ids_in("pk", chunk)).values_list(
                    "pk", "on_hand", "allocated"
                )
            }
        )
    now, name, user_id, note = timezone.now(), actor.name[:200], actor.user_id, note[:300]
    copy_rows(
        StockMove,
        (
            "tenant_id",
            "product_id",
            "at",
            "kind",
            "on_hand_change",
            "allocated_change",
            "on_hand_after",
            "allocated_after",
            "order_id",
            "actor_name",
            "actor_user_id",
            "note",
        ),
        [
            (
                tenant.pk,
                product_id,
                now,
                kind,
                on_hand_change,
                allocated_change,
                after[product_id][0],
                after[product_id][1],
                order_id,
                name,
                user_id,
                note,
            )
            for product_id, order_id, on_hand_change, allocated_change in changes
        ],
    )


def _move(tenant: Tenant, result: CheckResult, actor: Actor) -> None:
    targets = outcome_statuses(tenant)
    for outcome in ("full", "partial", "short"):
        ids, status = getattr(result, outcome), targets[outcome]
        if ids and status is not None:
            moved = orders_bulk_update(
                tenant=tenant, order_ids=ids, changes=BulkChanges(status=status), actor=actor, confirm_skips=True,
                paid_shortcut=False,
            )  # fmt: skip
            result.refused += moved.refused


def _give_back(tenant_id: int, order_ids: list[int], actor: Actor, *, ship: bool) -> None:
    """Release (cancelled) or consume (shipped) what the orders hold: allocated falls, and on shipping on hand
    too; the allocations go. Products locked in id order, as the check locks them."""
    held = list(
        Allocation.objects.filter(tenant_id=tenant_id)
        .filter(ids_in("order_id", order_ids))
        .values_list("product_id", "order_id", "quantity")
    )
    if not held:
        return
    tenant = Tenant(pk=tenant_id)
    _lock(tenant, (product_id for product_id, _o, _q in held))
    per_product: dict[int, int] = defaultdict(int)
    for product_id, _order_id, quantity in held:
        per_product[product_id] += quantity
    for chunk in chunked(sorted(per_product)):  # one UPDATE per chunk of products, not one per product
        given = Case(*(When(pk=pk, then=Value(per_product[pk])) for pk in chunk), output_field=IntegerField())
        values = {"allocated": F("allocated") - given}
        if ship:
            values["on_hand"] = F("on_hand") - given
        Product.objects.filter(tenant_id=tenant_id).filter(ids_in("pk", chunk)).update(**values)
    Allocation.objects.filter(tenant_id=tenant_id).filter(ids_in("order_id", order_ids)).delete()
    kind = MoveKind.SHIP if ship else MoveKind.RELEASE
    _moves(tenant, kind, [(p, o, -q if ship else 0, -q) for p, o, q in held], actor)


def follow_status_entries(
    tenant_id: int, entered: dict[int, list[int]], actor: Actor, stages: dict[int, str] | None = None
) -> None:
    """orders.hooks.orders_entered_status: orders that entered a cancelled status give their stock back;
    orders that entered a shipped status take it off the shelf. The stages come with the call: no query when
    neither happened."""
    stages = stages or {}
    cancelled = [i for status_id, ids in entered.items() if stages.get(status_id) == Stage.CANCELLED for i in ids]
    shipped = [i for status_id, ids in entered.items() if stages.get(status_id) == Stage.SHIPPED for i in ids]
    if cancelled:
        _give_back(tenant_id, cancelled, actor, ship=False)
    if shipped:
        _give_back(tenant_id, shipped, actor, ship=True)


def lines_changed(tenant_id: int, order_ids: list[int], fields: frozenset[str]) -> None:
    """orders.hooks.order_fields_changed: an order's lines were edited, added or removed (by an operator or
    the mall). What the order held goes back (a removed line's units too), and an order that had been checked
    is checked again, so it holds what its lines now need and stands where that puts it."""
    if "lines" not in fields:
        return
    held = set(
        Allocation.objects.filter(tenant_id=tenant_id)
        .filter(ids_in("order_id", order_ids))
        .values_list("order_id", flat=True)
    )
    checked = set(
        Order.objects.filter(tenant_id=tenant_id, stage__in=(Stage.STOCK_CHECKED, Stage.SHORTAGE))
        .filter(ids_in("pk", order_ids))
        .values_list("pk", flat=True)
    )
    if not held and not checked:
        return
    actor = Actor.system("system")
    if held:
        _give_back(tenant_id, sorted(held), actor, ship=False)
    if held | checked:
        stock_check(tenant=Tenant.objects.get(pk=tenant_id), order_ids=sorted(held | checked), actor=actor)
