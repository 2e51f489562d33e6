"""A bulk action never works on orders the operator cannot see without saying so, and clears the selection.

The forms of the list send its filters (`query`); when the selection holds orders that list does not show,
the action asks first, naming the count, and runs on all selected or only on those shown as answered.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from django.urls import reverse

from backyard.models import Tenant
from orders.constants import Stage
from orders.models import Order, PaymentMethod, Status
from orders.selection import Selection
from orders.selectors import tenant_reference
from tests.factories import make_order

QUESTION = "選択中の 4 件のうち 3 件はこの一覧に表示されていません。"


def status_of(tenant: Tenant, stage: Stage) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position")[0]


def bank_order(tenant: Tenant, **fields: Any) -> Order:
    return make_order(
        tenant, payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer"), **fields
    )


def select(client: Any, orders: list[Order]) -> None:
    client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in orders]})


def selection_of(client: Any, tenant: Tenant) -> Selection:
    return Selection(client.session, tenant)


def stages(orders: list[Order]) -> list[str]:
    return [Order.objects.get(pk=o.pk).stage for o in orders]


@pytest.fixture
def one_here_three_elsewhere(operator_client: Any, tenant: Tenant) -> tuple[Order, list[Order], str]:
    """The issue's case: three orders were ticked on 入金待ち, then the operator ticks one on 新規."""
    waiting = status_of(tenant, Stage.AWAITING_PAYMENT)
    elsewhere = [bank_order(tenant, status=waiting) for _ in range(3)]
    select(operator_client, elsewhere)
    here = bank_order(tenant)
    select(operator_client, [here])
    return here, elsewhere, f"status={status_of(tenant, Stage.NEW).pk}"


ACTIONS = {
    "edit": ("order_bulk_edit", lambda tenant: {"status": status_of(tenant, Stage.STOCK_CHECKED).pk}),
    "payment": ("order_bulk_confirm_payment", lambda tenant: {"paid_on": "2026-11-21"}),
    "cancel": ("order_bulk_cancel", lambda tenant: {"reason": "在庫切れ"}),
    "process": ("order_selection_process", lambda tenant: {}),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_no_bulk_action_runs_on_unseen_orders_without_asking(operator_client, tenant, one_here_three_elsewhere, action):
    here, elsewhere, query = one_here_three_elsewhere
    url, data = ACTIONS[action]
    before = [Order.objects.get(pk=o.pk).version for o in [here, *elsewhere]]

    response = operator_client.post(reverse(url), {**data(tenant), "query": query, "next": f"/orders/?{query}"})

    assert response.status_code == 200
    page = response.content.decode()
    assert QUESTION in page
    assert 'id="bulk-scope-all"' in page
    assert "選択中の 4 件すべてに実行" in page
    assert "この一覧の 1 件だけ" in page
    assert [Order.objects.get(pk=o.pk).version for o in [here, *elsewhere]] == before  # nothing ran
    assert selection_of(operator_client, tenant).ids == {o.pk for o in [here, *elsewhere]}


def test_cancel_only_those_shown_leaves_the_unseen_ones(operator_client, tenant, one_here_three_elsewhere):
    here, elsewhere, query = one_here_three_elsewhere

    response = operator_client.post(
        reverse("order_bulk_cancel"),
        {"reason": "在庫切れ", "query": query, "next": f"/orders/?{query}", "scope": "shown"},
        follow=True,
    )

    assert response.status_code == 200
    assert stages([here]) == [Stage.CANCELLED]
    assert stages(elsewhere) == [Stage.AWAITING_PAYMENT] * 3
    assert "1 件中 1 件を変更しました。" in response.content.decode()


def test_cancel_all_selected_when_the_operator_says_so(operator_client, tenant, one_here_three_elsewhere):
    here, elsewhere, query = one_here_three_elsewhere

    operator_client.post(
        reverse("order_bulk_cancel"),
        {"reason": "在庫切れ", "query": query, "next": f"/orders/?{query}", "scope": "all"},
    )

    assert stages([here, *elsewhere]) == [Stage.CANCELLED] * 4


def test_the_answer_is_kept_through_the_stage_skip_question(operator_client, tenant, one_here_three_elsewhere):
    here, elsewhere, query = one_here_three_elsewhere
    ready = status_of(tenant, Stage.READY_TO_SHIP)
    form = {"status": ready.pk, "query": query, "next": f"/orders/?{query}"}

    asked = operator_client.post(reverse("order_bulk_edit"), {**form, "scope": "shown"}).content.decode()
    assert 'name="confirm_skips" value="on"' in asked
    assert '<input type="hidden" name="scope" value="shown">' in asked
    operator_client.post(reverse("order_bulk_edit"), {**form, "scope": "shown", "confirm_skips": "on"})

    assert stages([here]) == [Stage.READY_TO_SHIP]
    assert stages(elsewhere) == [Stage.AWAITING_PAYMENT] * 3


def test_a_selection_inside_the_list_runs_at_once(operator_client, tenant):
    new = status_of(tenant, Stage.NEW)
    orders = [bank_order(tenant) for _ in range(2)]
    select(operator_client, orders)
    operator_client.post(reverse("order_bulk_cancel"), {"reason": "重複", "query": f"status={new.pk}"})
    assert stages(orders) == [Stage.CANCELLED] * 2


def test_after_a_bulk_change_nothing_stays_selected_and_the_bar_says_so(operator_client, tenant):
    new, checked = status_of(tenant, Stage.NEW), status_of(tenant, Stage.STOCK_CHECKED)
    orders = [bank_order(tenant) for _ in range(3)]
    select(operator_client, orders)

    response = operator_client.post(
        reverse("order_bulk_edit"),
        {"status": checked.pk, "query": f"status={new.pk}", "next": f"/orders/?status={new.pk}"},
        follow=True,
    )

    assert stages(orders) == [Stage.STOCK_CHECKED] * 3
    assert response.context["selected_count"] == 0
    assert "直前の一括処理の後、選択を解除しました。" in response.content.decode()
    moved = operator_client.get(reverse("home"), {"status": checked.pk})
    assert moved.context["selected_count"] == 0
    assert " checked>" not in moved.content.decode()  # the moved orders are listed there, unticked
    # ticking one order there selects that one order, not four
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [orders[0].pk]})
    again = operator_client.get(reverse("home"), {"status": checked.pk})
    assert again.context["selected_count"] == 1
    assert "選択を解除しました" not in again.content.decode()


@pytest.mark.parametrize("action", ACTIONS)
def test_every_bulk_action_clears_the_selection_once_it_ran(operator_client, tenant, action):
    new = status_of(tenant, Stage.NEW)
    order = (
        bank_order(tenant, status=status_of(tenant, Stage.AWAITING_PAYMENT))
        if action == "payment"
        else bank_order(tenant)
    )
    select(operator_client, [order])
    url, data = ACTIONS[action]
    query = f"status={order.status_id}" if action == "payment" else f"status={new.pk}"

    operator_client.post(reverse(url), {**data(tenant), "query": query})

    selection = selection_of(operator_client, tenant)
    assert selection.is_empty()
    assert selection.cleared_by_action


def test_a_refused_form_keeps_the_selection(operator_client, tenant):
    order = bank_order(tenant)
    select(operator_client, [order])
    operator_client.post(reverse("order_bulk_cancel"), {"reason": "", "query": ""})
    assert selection_of(operator_client, tenant).ids == {order.pk}


def test_the_unseen_count_is_one_query(operator_client, tenant, one_here_three_elsewhere, django_assert_num_queries):
    _here, _elsewhere, query = one_here_three_elsewhere
    request = operator_client.get(reverse("home"), {"page": 1}).wsgi_request
    reference = tenant_reference(tenant=tenant, user=request.user)
    selection = Selection(request.session, tenant)
    with django_assert_num_queries(1):
        assert selection.outside_list(tenant=tenant, reference=reference, query=query) == (4, 3)
    selection.clear()
    selection.select_all_matching(QueryDict("status=1"))
    with django_assert_num_queries(0):  # "all matching" this very list: nothing is outside it
        assert selection.outside_list(tenant=tenant, reference=reference, query="status=1&page=3") == (0, 0)


def test_the_forms_send_the_list_they_are_on(operator_client, tenant):
    new = status_of(tenant, Stage.NEW)
    bank_order(tenant)
    page = operator_client.get(reverse("home"), {"status": new.pk, "page": 1, "sort": "total"}).content.decode()
    assert f'<input type="hidden" name="query" value="status={new.pk}">' in page  # auto-processing
    panel = operator_client.get(
        reverse("order_bulk_panel"), {"next": f"/orders/?status={new.pk}&q=x&page=2"}
    ).content.decode()
    assert panel.count(f'<input type="hidden" name="query" value="q=x&amp;status={new.pk}">') == 3


def test_all_matching_one_list_does_not_tick_the_rows_of_another(operator_client, tenant):
    new, waiting = status_of(tenant, Stage.NEW), status_of(tenant, Stage.AWAITING_PAYMENT)
    for _ in range(3):
        bank_order(tenant, status=waiting)
    for _ in range(2):
        bank_order(tenant)
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": f"status={waiting.pk}"})

    assert operator_client.get(reverse("home"), {"status": waiting.pk}).content.decode().count(" checked>") == 3
    assert " checked>" not in operator_client.get(reverse("home"), {"status": new.pk}).content.decode()
    everything = operator_client.get(reverse("home"), {"page": 1})  # both statuses: only the three are ticked
    assert everything.content.decode().count(" checked>") == 3


def test_ticking_one_more_on_another_list_adds_that_one_order(operator_client, tenant):
    new, waiting = status_of(tenant, Stage.NEW), status_of(tenant, Stage.AWAITING_PAYMENT)
    there = [bank_order(tenant, status=waiting) for _ in range(3)]
    here = bank_order(tenant)
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": f"status={waiting.pk}"})

    bar = operator_client.post(
        reverse("order_selection"),
        {"action": "add", "ids": [here.pk], "query": f"status={new.pk}"},
        HTTP_HX_REQUEST="true",
    )

    assert 'data-count="4"' in bar.content.decode()
    selection = selection_of(operator_client, tenant)
    assert not selection.all_matching
    assert selection.ids == {o.pk for o in [*there, here]}
    page = operator_client.get(reverse("home"), {"status": new.pk})
    assert page.context["selected_count"] == 4
    assert page.content.decode().count(" checked>") == 1
