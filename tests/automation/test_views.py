"""The operator's automation screens: task counts and badges on the list, the task filter, running
auto-processing on the selection, and the tasks and rule history on the order page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automation.models import OrderTask
from orders.constants import Stage
from orders.models import Order
from orders.selection import Selection
from tests.automation.engine_helpers import group, payment, quiet, rule, status_of, task
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def raise_task(order: Order, code: str) -> OrderTask:
    return OrderTask.objects.create(tenant_id=order.tenant_id, order=order, definition=task(order.tenant, code))


def test_a_status_shows_its_task_counts_and_one_click_filters_by_task(operator_client, tenant):
    new = status_of(tenant, Stage.NEW)
    with_remarks = [make_order(tenant, remarks="のし") for _ in range(2)]
    island = make_order(tenant)
    paid = make_order(tenant, status=status_of(tenant, Stage.PAID))
    for order in with_remarks:
        raise_task(order, "remarks")
    raise_task(island, "remote_island")
    raise_task(paid, "remarks")  # another status: not counted under 新規
    OrderTask.objects.filter(order=island).update(resolved_at="2026-12-01T00:00:00Z")  # resolved: not counted

    response = operator_client.get(reverse("home"), {"status": new.pk})
    counts = {d.code: n for d, n in response.context["task_counts"]}
    assert counts == {"remarks": 2}
    html = response.content.decode()
    remarks = task(tenant, "remarks")
    assert f'href="{reverse("home")}?status={new.pk}&amp;task={remarks.pk}"' in html

    response = operator_client.get(reverse("home"), {"status": new.pk, "task": remarks.pk})
    listed = {row.record.pk for row in response.context["table"].page.object_list}
    assert listed == {o.pk for o in with_remarks}
    assert response.content.decode().count(f'data-task="{remarks.pk}"') == 2  # a badge on each row


def test_another_tenants_task_definition_matches_nothing(operator_client, tenant, other_tenant):
    order = make_order(tenant, remarks="のし")
    raise_task(order, "remarks")
    foreign = task(other_tenant, "remarks")
    response = operator_client.get(reverse("home"), {"status": order.status_id, "task": foreign.pk})
    assert list(response.context["table"].page.object_list) == []


def test_run_auto_processing_on_the_selection(operator_client, tenant):
    quiet(tenant)
    new, ready = status_of(tenant, Stage.NEW), status_of(tenant, Stage.PAID)
    rule(
        group(tenant, "テスト", 1),
        "クレカは入金済へ",
        1,
        [new],
        [{"type": "move_status", "status": ready.pk}],
        items=[{"field": "payment_method", "op": "in", "value": [payment(tenant, "credit_card").pk]}],
    )
    chosen, left = make_order(tenant), make_order(tenant)
    session = operator_client.session
    selection = Selection(session, tenant)
    selection.add([chosen.pk])
    selection.save()
    session.save()

    response = operator_client.post(reverse("order_selection_process"), {"next": f"/orders/?status={new.pk}"})

    assert response.status_code == 302
    assert response["Location"] == f"/orders/?status={new.pk}"
    chosen.refresh_from_db()
    left.refresh_from_db()
    assert chosen.status_id == ready.pk
    assert left.status_id == new.pk  # not selected: untouched
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("1" in m for m in messages)


def test_a_big_selection_is_auto_processed_by_a_worker_not_in_the_request(
    operator_client, tenant, settings, django_capture_on_commit_callbacks
):
    """Issue 12: automation.tasks.process_orders was enqueued by nothing, while "all N matching" ran the
    engine in the request (10,000 orders: ~9 s). Past AUTOMATION_INLINE_ORDERS the request only queues it."""
    from celery import current_app

    settings.AUTOMATION_INLINE_ORDERS = 2
    quiet(tenant)
    new, paid = status_of(tenant, Stage.NEW), status_of(tenant, Stage.PAID)
    rule(
        group(tenant, "テスト", 1),
        "クレカは入金済へ",
        1,
        [new],
        [{"type": "move_status", "status": paid.pk}],
        items=[{"field": "payment_method", "op": "in", "value": [payment(tenant, "credit_card").pk]}],
    )
    chosen = [make_order(tenant) for _ in range(3)]
    session = operator_client.session
    selection = Selection(session, tenant)
    selection.add([order.pk for order in chosen])
    selection.save()
    session.save()

    with django_capture_on_commit_callbacks() as queued:
        response = operator_client.post(reverse("order_selection_process"), {"next": "/orders/"})

    assert response.status_code == 302
    assert all(Order.objects.get(pk=order.pk).status_id == new.pk for order in chosen)  # nothing ran yet
    assert len(queued) == 1
    texts = [str(m) for m in response.wsgi_request._messages]
    assert any("3 件" in text and "バックグラウンド" in text for text in texts), texts
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True  # the worker's part, in this process
    try:
        queued[0]()
    finally:
        current_app.conf.task_always_eager = eager
    assert all(Order.objects.get(pk=order.pk).status_id == paid.pk for order in chosen)


def test_run_auto_processing_with_nothing_selected_says_so(operator_client, tenant):
    response = operator_client.post(reverse("order_selection_process"), {"next": "/orders/"})
    assert response.status_code == 302
    warnings = [m for m in response.wsgi_request._messages if m.level_tag == "warning"]
    assert [str(m) for m in warnings] == ["処理する受注を先に選択してください。"]


def test_the_order_page_shows_tasks_and_what_the_rules_did_and_resolves_a_task(operator_client, tenant):
    quiet(tenant)
    new = status_of(tenant, Stage.NEW)
    rule(
        group(tenant, "メモ", 1),
        "備考ありはメモ",
        1,
        [new],
        [{"type": "add_memo", "text": "備考を確認"}],
        items=[{"field": "remarks", "op": "not_empty"}],
    )
    order = make_order(tenant, remarks="赤白の蝶結びで")
    from automation.services import process

    process(tenant=tenant, order_ids=[order.pk])
    open_task = raise_task(order, "remarks")

    page = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "備考ありはメモ" in page and "備考を確認" in page  # noqa: PT018 - the rule and what it did
    assert reverse("order_task_resolve", args=[order.pk, open_task.pk]) in page

    response = operator_client.post(
        reverse("order_task_resolve", args=[order.pk, open_task.pk]), {"back": "/orders/?status=1"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("order_detail", args=[order.pk]))
    open_task.refresh_from_db()
    assert open_task.resolved_at is not None
    assert order.events.filter(type="task_resolved").exists()


def test_a_task_of_another_order_is_not_found(operator_client, tenant):
    one, two = make_order(tenant), make_order(tenant)
    other_task = raise_task(two, "remarks")
    response = operator_client.post(reverse("order_task_resolve", args=[one.pk, other_task.pk]))
    assert response.status_code == 404
    other_task.refresh_from_db()
    assert other_task.resolved_at is None


def test_a_phone_order_is_sorted_by_the_rules_as_soon_as_it_is_registered(operator_client, tenant):
    from orders.models import PaymentMethod
    from tests.orders.test_entry import _payload

    bank = PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")
    response = operator_client.post(reverse("order_entry"), _payload(tenant, payment_method=bank.pk))

    assert response.status_code == 302
    order = Order.objects.for_tenant(tenant).get()
    assert order.stage == Stage.AWAITING_PAYMENT  # the default rule: bank transfer waits for the payment
    assert {t.definition.code for t in order.tasks.filter(resolved_at=None)} >= {"remarks", "delivery_date_check"}
