"""Every write to an order that has business meaning. Each one writes its OrderEvent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant, TenantOwned
from japan.phones import normalize_phone
from shipping.constants import DEFAULT_SERVICES
from shipping.models import Carrier, DeliveryMethod, ShippingStore
from shops.constants import MallKind
from shops.models import Shop

from .. import events, hooks
from ..constants import PARTY_FIELDS, Stage
from ..destination import KEY_FIELDS, set_destination_keys
from ..events import Actor
from ..exceptions import StageMoveRefused, StaleOrder
from ..locks import order_lock
from ..models import Label, Order, OrderLabel, OrderLine, PaymentMethod, Status, StatusGroup
from ..search import search_text
from ..selectors import first_status
from ..slots import slot_value

# Fields an operator or an import may set on an order; everything else is derived or managed by services.
EDITABLE_FIELDS: frozenset[str] = frozenset(
    {
        "ordered_at",
        *PARTY_FIELDS,
        "payment_method",
        "delivery_method",
        "delivery_time_slot",
        "delivery_slot",
        "requested_delivery_date",
        "ship_date",
        "shipping_store",
        "shipping_fee",
        "cod_fee",
        "discount",
        "points_used",
        "remarks",
        "order_comment",
        "post_order_comment",
        "mail_inquiry",
        "mall_remote_island",
        "form_pending",
    }
)
SEARCH_FIELDS = (
    "external_id",
    "orderer_name",
    "orderer_kana",
    "orderer_email",
    "orderer_phone",
    "dest_name",
    "dest_kana",
    "dest_company",
    "dest_phone",
)
AMOUNT_FIELDS = ("item_subtotal", "shipping_fee", "cod_fee", "discount", "points_used", "tax", "total")
PHONE_FIELDS = ("orderer_phone", "dest_phone")  # stored through japan.phones.normalize_phone
LINE_FIELDS = ("sku", "name", "options", "unit_price", "quantity", "tax_rate")


# --- tenant defaults --------------------------------------------------------------------------------------

DEFAULT_STATUS_TREE: list[tuple[str, Stage, list[tuple[str, str]]]] = [
    ("新規", Stage.NEW, [("新規受付", "#0d6efd"), ("要確認", "#fd7e14")]),
    ("在庫確認済", Stage.STOCK_CHECKED, [("在庫引当済", "#20c997"), ("一部引当", "#6f42c1")]),
    ("欠品あり", Stage.SHORTAGE, [("欠品", "#dc3545"), ("入荷待ち", "#e83e8c")]),
    ("入金待ち", Stage.AWAITING_PAYMENT, [("入金待ち", "#ffc107"), ("催促済", "#fd7e14")]),
    ("入金済", Stage.PAID, [("入金済", "#198754"), ("与信済", "#20c997")]),
    ("発送待ち", Stage.READY_TO_SHIP, [("発送待ち", "#0dcaf0"), ("送り状発行済", "#0d6efd")]),
    ("出荷済", Stage.SHIPPED, [("出荷済", "#6610f2"), ("出荷メール送信済", "#6f42c1")]),
    ("売上", Stage.COMPLETED, [("売上確定", "#495057"), ("締め済", "#343a40")]),
    ("キャンセル", Stage.CANCELLED, [("キャンセル", "#6c757d"), ("返金済", "#adb5bd")]),
]
DEFAULT_PAYMENT_METHODS = [
    # (name, code, needs payment confirmation, cash on delivery)
    ("クレジットカード", "credit_card", False, False),
    ("銀行振込", "bank_transfer", True, False),
    ("代金引換", "cod", False, True),
    ("コンビニ前払い", "convenience_store", True, False),
    ("後払い", "deferred", False, False),
    ("楽天ペイ", "rakuten_pay", False, False),
]
DEFAULT_DELIVERY_METHODS = [
    ("宅急便", Carrier.YAMATO),
    ("ネコポス", Carrier.YAMATO),
    ("宅急便コンパクト", Carrier.YAMATO),
    ("飛脚宅配便", Carrier.SAGAWA),
    ("ゆうパック", Carrier.JAPAN_POST),
    ("ゆうパケット", Carrier.JAPAN_POST),
]
DEFAULT_LABELS = [("至急", "#dc3545"), ("ギフト", "#e83e8c"), ("要確認", "#fd7e14"), ("リピーター", "#198754")]


@transaction.atomic
def order_defaults_create(*, tenant: Tenant) -> None:
    """Give a new tenant the default statuses, payment and delivery methods, labels, a shipping store and a
    phone/FAX shop (backyard.provisioning calls this, then the defaults of the apps above orders).

    Set-based: one INSERT per table, a fixed number of queries whatever the tables hold
    (tests/backyard/test_provisioning.py counts them). Idempotent: a tenant that already has statuses keeps
    its own (they are the tenant's data); a method, label, store or shop the tenant already has under the same
    code or name is left as it is (ON CONFLICT DO NOTHING on the table's unique key), a missing one is added.
    """
    if not StatusGroup.objects.for_tenant(tenant).exists():
        groups = StatusGroup.objects.bulk_create(
            StatusGroup(tenant=tenant, name=group_name, stage=stage, position=g_pos)
            for g_pos, (group_name, stage, _children) in enumerate(DEFAULT_STATUS_TREE, start=1)
        )
        Status.objects.bulk_create(
            Status(tenant=tenant, group=group, name=name, colour=colour, position=pos)
            for group, (_name, _stage, children) in zip(groups, DEFAULT_STATUS_TREE, strict=True)
            for pos, (name, colour) in enumerate(children, start=1)
        )
    PaymentMethod.objects.bulk_create(
        [
            PaymentMethod(
                tenant=tenant,
                code=code,
                name=name,
                needs_payment_confirmation=confirm,
                is_cash_on_delivery=cod,
                is_credit_card=code == "credit_card",
                position=pos,
            )
            for pos, (name, code, confirm, cod) in enumerate(DEFAULT_PAYMENT_METHODS, start=1)
        ],
        ignore_conflicts=True,
    )
    DeliveryMethod.objects.bulk_create(
        [
            DeliveryMethod(
                tenant=tenant,
                name=name,
                carrier=carrier,
                service=DEFAULT_SERVICES[name][0],
                cod_allowed=DEFAULT_SERVICES[name][1],
                position=pos,
            )
            for pos, (name, carrier) in enumerate(DEFAULT_DELIVERY_METHODS, start=1)
        ],
        ignore_conflicts=True,
    )
    Label.objects.bulk_create(
        [
            Label(tenant=tenant, name=name, colour=colour, position=pos)
            for pos, (name, colour) in enumerate(DEFAULT_LABELS, start=1)
        ],
        ignore_conflicts=True,
    )
    ShippingStore.objects.bulk_create(
        [ShippingStore(tenant=tenant, code="main", name="本社倉庫", position=1)], ignore_conflicts=True
    )
    Shop.objects.bulk_create(
        [Shop(tenant=tenant, code="phone-fax", name="電話・FAX注文", mall=MallKind.MANUAL, position=99)],
        ignore_conflicts=True,
    )


def status_initial(*, tenant: Tenant) -> Status:
    """Where a new order lands: the first status of the "new" stage (orders.selectors.first_status)."""
    status = first_status(tenant=tenant, stage=Stage.NEW)
    if status is None:
        raise StageMoveRefused(_("This tenant has no status in the “new” stage; add one in the admin."))
    return status


# --- creating and editing orders --------------------------------------------------------------------------


def compute_amounts(
    *, lines: Iterable[OrderLine], shipping_fee: int, cod_fee: int, discount: int, points_used: int
) -> dict[str, int]:
    """Totals of a tax-included (内税) order; the included tax is rounded down once per rate.

    Shipping and COD fees are taxed at 10 %; a discount reduces the 10 % part (points are a means of
    payment and do not reduce the taxable amount).

    The same reckoning runs in SQL where a rule sets the shipping fee of thousands of orders in one UPDATE
    (automation.actions.amounts_with_shipping_fee): tests/orders/test_parity.py holds the two to the same
    figures.
    """
    lines = list(lines)
    subtotal = sum(line.unit_price * line.quantity for line in lines)
    by_rate = tax_by_rate(lines=lines, shipping_fee=shipping_fee, cod_fee=cod_fee, discount=discount)
    tax = sum(included for _amount, included in by_rate.values())
    total = subtotal + shipping_fee + cod_fee - discount - points_used
    return {"item_subtotal": subtotal, "tax": tax, "total": total}


class PricedLine(Protocol):
    unit_price: int
    quantity: int
    tax_rate: int


def tax_by_rate(
    *, lines: Iterable[PricedLine], shipping_fee: int, cod_fee: int, discount: int
) -> dict[int, tuple[int, int]]:
    """{rate: (tax-included amount, tax included in it)} of an order, rates ascending: what compute_amounts
    sums, and what a mail or a form shows per rate (8 % / 10 %)."""
    by_rate: dict[int, int] = {}
    for line in lines:
        by_rate[line.tax_rate] = by_rate.get(line.tax_rate, 0) + line.unit_price * line.quantity
    by_rate[10] = by_rate.get(10, 0) + shipping_fee + cod_fee - discount
    return {
        rate: (amount, max(amount, 0) * rate // (100 + rate) if rate else 0) for rate, amount in sorted(by_rate.items())
    }


def order_search_text(order: Order, skus: Iterable[str]) -> str:
    """The normalised free-text column of an order (see orders/search.py)."""
    return search_text([*(getattr(order, name) for name in SEARCH_FIELDS), *skus])


def _refresh_search_text(order: Order) -> None:
    order.search_text = order_search_text(order, order.lines.values_list("sku", flat=True))


def _check_editable(fields: Iterable[str]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")


def _stored_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as an order stores them: phones in their domestic form (japan.phones)."""
    return {
        name: normalize_phone(value) if name in PHONE_FIELDS and isinstance(value, str) else value
        for name, value in values.items()
    }


def _with_slot(values: dict[str, Any]) -> dict[str, Any]:
    """The carriers' time slot read from the slot text (orders.slots), unless the slot itself is given."""
    if "delivery_time_slot" in values and "delivery_slot" not in values:
        values["delivery_slot"] = slot_value(values["delivery_time_slot"])
    return values


def _check_same_tenant(tenant_id: int, values: Mapping[str, Any]) -> None:
    """Rows an order points at (payment method, delivery method, shipping store) must be the tenant's own."""
    foreign = sorted(
        name for name, value in values.items() if isinstance(value, TenantOwned) and value.tenant_id != tenant_id
    )
    if foreign:
        raise ValueError(f"belongs to another tenant: {foreign}")


@transaction.atomic
def order_create(
    *,
    tenant: Tenant,
    shop: Shop,
    external_id: str,
    fields: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    actor: Actor,
    status: Status | None = None,
    source: str = "",
) -> Order:
    """Create one order: its lines, amounts (compute_amounts), search column and "created" event, in the first
    "new" status unless `status` is given. Manual entry, the admin's and the tests' orders come in here.

    The shops' import (malls' polls and CSV files) creates whole batches set-based instead
    (shops.services.importer, `_create`: COPY of orders, lines and events). It must give the very same order;
    tests/orders/test_parity.py creates one order both ways and compares every column, line and event.
    """
    if shop.tenant_id != tenant.pk or (status is not None and status.tenant_id != tenant.pk):
        raise ValueError("shop and status must belong to the tenant")
    _check_editable(fields)
    _check_same_tenant(tenant.pk, fields)
    fields = _with_slot(_stored_values(fields))
    status = status or status_initial(tenant=tenant)
    order = Order(tenant=tenant, shop=shop, external_id=external_id, status=status, stage=status.group.stage)
    for name, value in fields.items():
        setattr(order, name, value)
    line_objs = [
        OrderLine(tenant=tenant, position=pos, **{k: v for k, v in line.items() if k in LINE_FIELDS})
        for pos, line in enumerate(lines, start=1)
    ]
    for name, value in compute_amounts(
        lines=line_objs,
        shipping_fee=order.shipping_fee,
        cod_fee=order.cod_fee,
        discount=order.discount,
        points_used=order.points_used,
    ).items():
        setattr(order, name, value)
    order.search_text = order_search_text(order, (line.sku for line in line_objs))
    set_destination_keys(order)
    order.save()
    for line in line_objs:
        line.order = order
    OrderLine.objects.bulk_create(line_objs)
    events.order_created_event(order=order, actor=actor, source=source)
    hooks.orders_entered_status(
        tenant_id=tenant.pk, entered={status.pk: [order.pk]}, actor=actor, stages={status.pk: status.group.stage}
    )
    return order


def check_version(locked: Order, expected_version: int | None) -> None:
    """Optimistic locking: `expected_version` is the version the operator loaded; None skips the check."""
    if expected_version is not None and locked.version != expected_version:
        raise StaleOrder(_("Someone else changed this order while you were editing it. Reload and try again."))


@transaction.atomic
def order_move_to_status(*, order: Order, status: Status, actor: Actor) -> Order:
    """Move one order to a child status; steps the lifecycle when the target group is in another stage.

    Raises StageMoveRefused with the reason when the lifecycle forbids the move; nothing changes then.
    """
    if status.tenant_id != order.tenant_id:
        raise ValueError("status belongs to another tenant")
    locked = order_lock(order, "status__group")
    old = locked.status
    if old.pk == status.pk:
        return locked
    locked.advance_to(status.group.stage)
    locked.status = status
    locked.version += 1
    locked.save(update_fields=["status", "stage", "version", "updated_at"])
    events.order_status_changed_event(order=locked, actor=actor, old=old, new=status)
    hooks.orders_entered_status(
        tenant_id=locked.tenant_id,
        entered={status.pk: [locked.pk]},
        actor=actor,
        stages={status.pk: status.group.stage},
    )
    return locked


@transaction.atomic
def order_update(
    *, order: Order, changes: Mapping[str, Any], actor: Actor, expected_version: int | None = None
) -> Order:
    """Edit fields of one order: one event per changed field with old and new values; totals recomputed.

    `expected_version` is the version the operator loaded: if someone saved in between, StaleOrder.
    The changed fields are announced to orders.hooks (a new destination is checked at once), in this
    transaction.
    """
    _check_editable(changes)
    _check_same_tenant(order.tenant_id, changes)
    changes = _stored_values(changes)
    locked = order_lock(order, "status__group")
    check_version(locked, expected_version)
    if changes.get("delivery_time_slot", locked.delivery_time_slot) != locked.delivery_time_slot:
        changes = _with_slot(changes)  # a new slot text: the slot it names (unless the slot is given too)
    changed: list[str] = []
    built = []
    for name, new in changes.items():
        old = getattr(locked, name)
        if old == new:
            continue
        setattr(locked, name, new)
        changed.append(name)
        built.append(
            events.order_field_changed_event(order=locked, actor=actor, field=name, old=old, new=new, commit=False)
        )
    if not changed:
        return locked
    _apply_amounts(locked, changed)
    if set(changed) & set(SEARCH_FIELDS):
        _refresh_search_text(locked)
    keys = set_destination_keys(locked) if set(changed) & set(KEY_FIELDS) else []
    locked.version += 1
    locked.save(update_fields=[*changed, *AMOUNT_FIELDS, "search_text", *keys, "version", "updated_at"])
    events.OrderEvent.objects.bulk_create(built)
    hooks.order_fields_changed(tenant_id=locked.tenant_id, order_ids=[locked.pk], fields=changed)
    return locked


def _apply_amounts(order: Order, changed: list[str]) -> None:
    amounts = compute_amounts(
        lines=list(order.lines.all()),
        shipping_fee=order.shipping_fee,
        cod_fee=order.cod_fee,
        discount=order.discount,
        points_used=order.points_used,
    )
    for name, value in amounts.items():
        setattr(order, name, value)


@transaction.atomic
def order_add_memo(*, order: Order, text: str, actor: Actor) -> Order:
    """Append a line to the work memo (作業メモ), stamped with the time and who wrote it."""
    text = text.strip()
    if not text:
        return order
    locked = order_lock(order, "status__group")
    stamp = timezone.localtime().strftime("%Y/%m/%d %H:%M")
    entry = f"[{stamp} {actor.name}] {text}"
    locked.work_memo = f"{locked.work_memo}\n{entry}" if locked.work_memo else entry
    locked.version += 1
    locked.save(update_fields=["work_memo", "version", "updated_at"])
    events.order_memo_added_event(order=locked, actor=actor, text=text)
    return locked


@transaction.atomic
def order_add_label(*, order: Order, label: Label, actor: Actor) -> bool:
    """Put a label on an order; False when it already had it (no event then)."""
    if label.tenant_id != order.tenant_id:
        raise ValueError("label belongs to another tenant")
    _, created = OrderLabel.objects.get_or_create(tenant_id=order.tenant_id, order=order, label=label)
    if created:
        events.order_label_added_event(order=order, actor=actor, label=label)
    return created


@transaction.atomic
def order_remove_label(*, order: Order, label: Label, actor: Actor) -> bool:
    deleted, _ = OrderLabel.objects.filter(tenant_id=order.tenant_id, order=order, label=label).delete()
    if deleted:
        events.order_label_removed_event(order=order, actor=actor, label=label)
    return bool(deleted)


@transaction.atomic
def order_line_update(
    *, line: OrderLine, changes: Mapping[str, Any], actor: Actor, expected_version: int | None = None
) -> OrderLine:
    """Change a line (unit price, quantity …); the order's totals follow; one event with old and new.

    `expected_version` is the order's version the operator loaded: if someone saved in between, StaleOrder.
    """
    unknown = set(changes) - set(LINE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    order = order_lock(line.order, "status__group")
    check_version(order, expected_version)
    line = OrderLine.objects.get(pk=line.pk, order=order)  # the stored values, read under the order's lock
    diff = {name: (getattr(line, name), new) for name, new in changes.items() if getattr(line, name) != new}
    if not diff:
        return line
    for name, (_old, new) in diff.items():
        setattr(line, name, new)
    line.save(update_fields=list(diff))
    _save_after_line_change(order)
    events.order_line_changed_event(order=order, actor=actor, line=line, changes=diff)
    return line


@transaction.atomic
def order_line_add(
    *, order: Order, values: Mapping[str, Any], actor: Actor, expected_version: int | None = None
) -> OrderLine:
    locked = order_lock(order, "status__group")
    check_version(locked, expected_version)
    last = locked.lines.order_by("-position").values_list("position", flat=True).first() or 0
    line = OrderLine.objects.create(
        tenant_id=locked.tenant_id,
        order=locked,
        position=last + 1,
        **{k: v for k, v in values.items() if k in LINE_FIELDS},
    )
    _save_after_line_change(locked)
    events.order_line_added_event(order=locked, actor=actor, line=line)
    return line


@transaction.atomic
def order_line_remove(*, line: OrderLine, actor: Actor, expected_version: int | None = None) -> None:
    order = order_lock(line.order, "status__group")
    check_version(order, expected_version)
    line = OrderLine.objects.get(pk=line.pk, order=order)  # the stored values, read under the order's lock
    events.order_line_removed_event(order=order, actor=actor, line=line)
    line.delete()
    _save_after_line_change(order)


def _save_after_line_change(order: Order) -> None:
    """Totals, the search column (SKUs) and the version follow any change to the lines; the apps above are told
    ("lines": the stock an order holds follows its lines)."""
    _apply_amounts(order, [])
    _refresh_search_text(order)
    order.version += 1
    order.save(update_fields=[*AMOUNT_FIELDS, "search_text", "version", "updated_at"])
    hooks.order_fields_changed(tenant_id=order.tenant_id, order_ids=[order.pk], fields={"lines"})
