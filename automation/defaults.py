"""What a new tenant gets from automation: the built-in tasks, the remote-island table and the seed's example
rules, switched on, so that new orders sort themselves from the first import (issue 4, "Defaults").

The rules are the seed document's examples, over orders that have just come in (the first status of the
"new" stage, where imports put them):

- cash on delivery without remarks → ready to ship (nothing to wait for; remarks need a human first);
- bank transfer → awaiting payment;
- credit card → paid (the card was authorised at the mall).

They are the tenant's data from then on: renamed, switched off, reordered or deleted in admin. Idempotent:
task definitions are matched by code, the group by name (its rules are only created with it).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from backyard.models import Tenant
from orders.constants import Stage
from orders.models import PaymentMethod
from orders.selectors import first_status, statuses_in_order

from .islands import remote_islands_seed
from .models import Rule, RuleGroup, TaskDefinition


class BuiltinTask:
    """Codes of the built-in task definitions; the engine (automation.services) knows what each tests."""

    SHIPPING_FEE_CHANGE = "shipping_fee_change"
    REMOTE_ISLAND = "remote_island"
    ADDRESS_WARNING = "address_warning"
    DELIVERY_DATE_CHECK = "delivery_date_check"
    REMARKS = "remarks"
    # Raised by the import (shops.services.importer), never by the engine: the mall changed something an
    # operator had edited on the order, and the operator's value was kept.
    MALL_CHANGED_EDITED = "mall_changed_edited"
    # The order's time slot text names a time that is none of the carriers' slots (orders.slots).
    DELIVERY_SLOT_CHECK = "delivery_slot_check"
    # Raised by the stock check (inventory, through orders.hooks.stock_checked), never by the engine: the order
    # still lacks units of some SKUs (the note names them and how many), or a line's SKU is no product's.
    # Resolved by the next check that finds the order whole / every SKU known.
    STOCK_SHORTAGE = "stock_shortage"
    UNKNOWN_SKU = "unknown_sku"
    # Another open order of the same shop goes to the same destination (orders.bundling, issue 17): the two
    # could travel as one parcel. Resolved by itself once the order has no such sibling any more.
    BUNDLE_CANDIDATE = "bundle_candidate"


DEFAULT_GROUP = "基本の自動処理"

# (code, name, colour)
BUILTIN_TASKS: list[tuple[str, str, str]] = [
    (BuiltinTask.SHIPPING_FEE_CHANGE, "送料変更が必要", "#dc3545"),
    (BuiltinTask.REMOTE_ISLAND, "離島", "#6f42c1"),
    (BuiltinTask.ADDRESS_WARNING, "住所要確認", "#fd7e14"),
    (BuiltinTask.DELIVERY_DATE_CHECK, "お届け希望日の確認", "#0dcaf0"),
    (BuiltinTask.REMARKS, "備考あり", "#198754"),
    (BuiltinTask.MALL_CHANGED_EDITED, "モール側の変更を確認", "#d63384"),
    (BuiltinTask.DELIVERY_SLOT_CHECK, "配達時間帯を確認", "#0d6efd"),
    (BuiltinTask.STOCK_SHORTAGE, "欠品", "#b02a37"),
    (BuiltinTask.UNKNOWN_SKU, "SKU不明", "#6c757d"),
    (BuiltinTask.BUNDLE_CANDIDATE, "同梱候補", "#20c997"),
]

# (rule name, payment method code, also "no remarks", target stage)
DEFAULT_RULES: list[tuple[str, str, bool, Stage]] = [
    ("代金引換・備考なし → 発送待ち", "cod", True, Stage.READY_TO_SHIP),
    ("銀行振込 → 入金待ち", "bank_transfer", False, Stage.AWAITING_PAYMENT),
    ("クレジットカード → 入金済", "credit_card", False, Stage.PAID),
]


def task_definitions_create(*, tenant: Tenant) -> None:
    """The built-in task definitions, switched on and resolving themselves; one INSERT, and a code the tenant
    already has keeps its row as it is (ON CONFLICT DO NOTHING on the unique code)."""
    TaskDefinition.objects.bulk_create(
        [
            TaskDefinition(tenant=tenant, code=code, name=name, colour=colour, position=position)
            for position, (code, name, colour) in enumerate(BUILTIN_TASKS, start=1)
        ],
        ignore_conflicts=True,
    )


def default_rules_create(*, tenant: Tenant) -> RuleGroup | None:
    """The group 基本の自動処理 with the seed's three rules; None when the tenant already has that group.

    A rule whose payment method or target stage the tenant lacks is left out. Set-based: the rules and their
    statuses are one INSERT each."""
    groups = dict(RuleGroup.objects.for_tenant(tenant).values_list("name", "position"))
    if DEFAULT_GROUP in groups:
        return None
    statuses = statuses_in_order(tenant=tenant)
    arrived = first_status(tenant=tenant, stage=Stage.NEW, statuses=statuses)
    payments = dict(PaymentMethod.objects.for_tenant(tenant).values_list("code", "pk"))
    position = max(groups.values(), default=0) + 1
    group = RuleGroup.objects.create(tenant=tenant, name=DEFAULT_GROUP, enabled=True, position=position)
    if arrived is None:
        return group
    rules: list[Rule] = []
    for rule_position, (name, payment_code, no_remarks, stage) in enumerate(DEFAULT_RULES, start=1):
        target = first_status(tenant=tenant, stage=stage, statuses=statuses)
        if target is None or payment_code not in payments:
            continue
        items: list[dict[str, Any]] = [{"field": "payment_method", "op": "in", "value": [payments[payment_code]]}]
        if no_remarks:
            items.append({"field": "remarks", "op": "empty", "value": None})
        rules.append(
            Rule(
                tenant=tenant,
                group=group,
                name=name,
                enabled=True,
                position=rule_position,
                conditions={"match": "all", "items": items},
                actions=[{"type": "move_status", "status": target.pk}],
            )
        )
    Rule.objects.bulk_create(rules)
    Rule.statuses.through.objects.bulk_create(
        [Rule.statuses.through(rule_id=rule.pk, status_id=arrived.pk) for rule in rules]
    )
    return group


@transaction.atomic
def automation_defaults_create(*, tenant: Tenant) -> None:
    """Everything above, for a tenant that has just been created (backyard.provisioning.tenant_defaults_create)."""
    task_definitions_create(tenant=tenant)
    remote_islands_seed(tenant=tenant)
    default_rules_create(tenant=tenant)
