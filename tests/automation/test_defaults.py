"""A new tenant's automation: the seed's example rules switched on, the built-in tasks, the island table; and
the demo, whose new orders sort themselves."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from automation.defaults import BUILTIN_TASKS, DEFAULT_GROUP, automation_defaults_create
from automation.models import OrderTask, RemoteIsland, Rule, RuleGroup, TaskDefinition
from automation.services import process
from backyard.models import Tenant
from devtools.demo import orders_auto_process
from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent
from tests.automation.engine_helpers import payment, snapshot, status_of
from tests.factories import make_order


def test_a_new_tenant_gets_the_rules_tasks_and_islands(tenant):
    group = RuleGroup.objects.for_tenant(tenant).get()
    assert (group.name, group.enabled) == (DEFAULT_GROUP, True)
    rules = list(Rule.objects.for_tenant(tenant).order_by("position").prefetch_related("statuses"))
    assert [r.name for r in rules] == [
        "代金引換・備考なし → 発送待ち",
        "銀行振込 → 入金待ち",
        "クレジットカード → 入金済",
    ]
    assert all(r.enabled and r.group_id == group.pk for r in rules)
    assert all([s.pk for s in r.statuses.all()] == [status_of(tenant, Stage.NEW).pk] for r in rules)
    definitions = TaskDefinition.objects.for_tenant(tenant).order_by("position")
    assert [(d.code, d.name, d.enabled, d.auto_resolve) for d in definitions] == [
        (code, name, True, True) for code, name, _colour in BUILTIN_TASKS
    ]
    assert RemoteIsland.objects.for_tenant(tenant).filter(postal_code="907").exists()


def test_the_defaults_are_idempotent(tenant):
    before = snapshot(tenant)
    automation_defaults_create(tenant=tenant)
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("code", "remarks", "stage"),
    [
        ("cod", "", Stage.READY_TO_SHIP),
        ("cod", "置き配希望", Stage.NEW),  # a remark needs a human first
        ("bank_transfer", "", Stage.AWAITING_PAYMENT),
        ("bank_transfer", "領収書希望", Stage.AWAITING_PAYMENT),
        ("credit_card", "", Stage.PAID),
        ("rakuten_pay", "", Stage.NEW),  # no example rule for it
    ],
)
def test_the_example_rules_sort_new_orders(tenant, code, remarks, stage):
    order = make_order(tenant, payment_method=payment(tenant, code), remarks=remarks)

    result = process(tenant=tenant, order_ids=[order.pk])

    moved = Order.objects.get(pk=order.pk)
    assert moved.stage == stage
    if stage != Stage.NEW:
        assert moved.status == status_of(tenant, stage)  # the first status of that stage
        event = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
        assert event.data["rule"] in {r.pk for r in Rule.objects.for_tenant(tenant)}
    tasks = set(OrderTask.objects.filter(order=order, resolved_at=None).values_list("definition__code", flat=True))
    assert tasks == ({"remarks"} if remarks else set())
    assert result.errors == []


def test_an_order_to_an_island_with_a_bad_address_gets_its_tasks(tenant):
    order = make_order(
        tenant, dest_postal_code="907-0022", dest_prefecture="沖縄県", dest_city="那覇市", dest_address1="久茂地1-1"
    )

    process(tenant=tenant, order_ids=[order.pk])

    tasks = set(OrderTask.objects.filter(order=order, resolved_at=None).values_list("definition__code", flat=True))
    assert tasks == {"remote_island", "shipping_fee_change", "address_warning"}  # 907-0022 is 石垣市


def test_the_demo_sorts_its_new_orders_and_raises_tasks(db):
    out = StringIO()
    call_command("seed_demo", orders=120, stdout=out)

    tenant = Tenant.objects.get(slug="demo")
    assert "Auto-processing ran over" in out.getvalue() or "自動処理" in out.getvalue()
    moved = OrderEvent.objects.for_tenant(tenant).filter(type=EventType.STATUS_CHANGED, actor_kind="rule")
    assert moved.exists()
    # what the rules left in the first "new" status has nothing they would move
    arrived = status_of(tenant, Stage.NEW)
    left = Order.objects.for_tenant(tenant).filter(status=arrived).select_related("payment_method")
    assert all(o.payment_method is None or o.payment_method.code not in ("bank_transfer", "credit_card") for o in left)
    assert OrderTask.objects.filter(tenant=tenant, resolved_at=None).exists()
    # processing the same orders again changes nothing
    before = snapshot(tenant)
    again = orders_auto_process(tenant=tenant)
    assert snapshot(tenant) == before
    assert again.orders > 0
    assert again.changed == 0
