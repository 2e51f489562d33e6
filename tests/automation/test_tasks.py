"""The Celery entry point the shops app calls after an import: by ids, idempotent, tenant-scoped."""

from __future__ import annotations

from automation.models import OrderTask
from automation.tasks import process_orders
from orders.constants import Stage
from orders.models import Order
from tests.automation.engine_helpers import payment
from tests.factories import make_order


def test_process_orders_runs_the_engine_and_reports_counts(tenant):
    card = make_order(tenant)
    bank = make_order(  # to another address: the two would be bundle candidates (同梱候補) otherwise
        tenant, payment_method=payment(tenant, "bank_transfer"), remarks="領収書希望", dest_address1="丸の内2-2-2"
    )

    outcome = process_orders.apply(args=[tenant.pk, [card.pk, bank.pk]], kwargs={"actor_name": "import"}).get()

    assert Order.objects.get(pk=card.pk).stage == Stage.PAID
    assert Order.objects.get(pk=bank.pk).stage == Stage.AWAITING_PAYMENT
    task = OrderTask.objects.get(order=bank, resolved_at=None)
    assert (task.definition.code, task.raised_by) == ("remarks", "import")
    assert outcome["orders"] == outcome["changed"] == 2
    assert outcome["tasks_raised"] == 1
    assert outcome["errors"] == []
    assert outcome["queries"] > 0


def test_delivered_twice_it_changes_nothing_more(tenant):
    order = make_order(tenant, remarks="のし希望")
    process_orders(tenant.pk, [order.pk])
    version = Order.objects.get(pk=order.pk).version

    outcome = process_orders(tenant.pk, [order.pk])

    assert outcome["changed"] == 0
    assert Order.objects.get(pk=order.pk).version == version


def test_another_tenants_ids_and_a_missing_tenant_are_ignored(tenant, other_tenant):
    theirs = make_order(other_tenant)
    outcome = process_orders(tenant.pk, [theirs.pk])
    assert outcome["orders"] == 0
    assert Order.objects.get(pk=theirs.pk).stage == Stage.NEW
    assert process_orders(999_999, [theirs.pk]) == {"orders": 0}
