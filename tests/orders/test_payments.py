"""入金確認 and キャンセル of one order (T15): the services in orders/services/payments.py and the detail page's
forms that call them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from orders.constants import EventType, Stage, refusal_reason
from orders.events import Actor
from orders.exceptions import StageMoveRefused, StaleOrder
from orders.models import Order, OrderEvent, Status, StatusGroup
from orders.services import order_update
from orders.services.payments import order_cancel, order_confirm_payment
from tests.factories import make_order

ACTOR = Actor.system("test")
PAID_ON = dt.date(2026, 4, 1)


def status_of(tenant, stage):
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .select_related("group")
        .order_by("group__position", "group_id", "position", "pk")
        .first()
    )


def order_in(tenant, stage, **fields):
    return make_order(tenant, status=status_of(tenant, stage), **fields)


def snapshot(order):
    return Order.objects.filter(pk=order.pk).values().get(), OrderEvent.objects.filter(order=order).count()


def field_events(order):
    return {e.data["field"]: e.data for e in OrderEvent.objects.filter(order=order, type=EventType.FIELD_CHANGED)}


# --- order_confirm_payment ---------------------------------------------------------------------------------


def test_confirm_payment_records_amount_and_date_and_moves_to_the_first_paid_status(tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)

    paid = order_confirm_payment(order=order, amount=2760, paid_on=PAID_ON, actor=ACTOR)

    paid.refresh_from_db()
    assert (paid.paid_amount, paid.paid_on) == (2760, PAID_ON)
    assert paid.stage == Stage.PAID
    assert paid.status == status_of(tenant, Stage.PAID)
    assert paid.version == order.version + 1
    changes = field_events(order)
    assert changes["paid_amount"]["old"] is None
    assert changes["paid_amount"]["new"] == 2760
    assert changes["paid_on"]["new"] == "2026-04-01"
    moved = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert moved.data["old"]["stage"] == Stage.AWAITING_PAYMENT
    assert moved.data["new"]["stage"] == Stage.PAID


def test_confirm_payment_uses_the_first_group_of_the_paid_stage_in_the_tenants_order(tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    first = StatusGroup.objects.create(tenant=tenant, name="先頭の入金済", stage=Stage.PAID, position=0)
    wanted = Status.objects.create(tenant=tenant, group=first, name="入金確認済", position=5)
    Status.objects.create(tenant=tenant, group=first, name="後ろ", position=9)

    paid = order_confirm_payment(order=order, amount=100, paid_on=PAID_ON, actor=ACTOR)

    assert paid.status == wanted


@pytest.mark.parametrize(
    "stage",
    [Stage.NEW, Stage.STOCK_CHECKED, Stage.PAID, Stage.READY_TO_SHIP, Stage.SHIPPED, Stage.COMPLETED, Stage.CANCELLED],
)
def test_confirm_payment_only_from_awaiting_payment(tenant, stage):
    order = order_in(tenant, stage)
    before = snapshot(order)

    with pytest.raises(StageMoveRefused) as refused:
        order_confirm_payment(order=order, amount=100, paid_on=PAID_ON, actor=ACTOR)

    assert str(Stage(stage).label) in refused.value.reason
    assert snapshot(order) == before


def test_confirm_payment_refuses_a_negative_amount(tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    before = snapshot(order)
    with translation.override("en"), pytest.raises(ValueError, match="negative"):
        order_confirm_payment(order=order, amount=-1, paid_on=PAID_ON, actor=ACTOR)
    assert snapshot(order) == before


def test_confirm_payment_with_a_stale_version_changes_nothing(tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    loaded = order.version
    order_update(order=order, changes={"shipping_fee": 900}, actor=ACTOR)
    before = snapshot(order)

    with pytest.raises(StaleOrder):
        order_confirm_payment(order=order, amount=100, paid_on=PAID_ON, actor=ACTOR, expected_version=loaded)

    assert snapshot(order) == before


def test_confirm_payment_without_a_paid_status_is_refused(tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    Status.objects.for_tenant(tenant).filter(group__stage=Stage.PAID).delete()
    with pytest.raises(StageMoveRefused):
        order_confirm_payment(order=order, amount=100, paid_on=PAID_ON, actor=ACTOR)
    order.refresh_from_db()
    assert order.paid_amount is None
    assert order.stage == Stage.AWAITING_PAYMENT


# --- order_cancel ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stage", [Stage.NEW, Stage.STOCK_CHECKED, Stage.SHORTAGE, Stage.AWAITING_PAYMENT, Stage.PAID, Stage.READY_TO_SHIP]
)
def test_cancel_records_the_reason_and_moves_to_the_first_cancelled_status(tenant, stage):
    order = order_in(tenant, stage)

    cancelled = order_cancel(order=order, reason="  お客様都合  ", actor=ACTOR)

    cancelled.refresh_from_db()
    assert cancelled.cancel_reason == "お客様都合"
    assert cancelled.stage == Stage.CANCELLED
    assert cancelled.status == status_of(tenant, Stage.CANCELLED)
    assert field_events(order)["cancel_reason"]["old"] == ""
    assert field_events(order)["cancel_reason"]["new"] == "お客様都合"
    moved = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert moved.data["new"]["stage"] == Stage.CANCELLED


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_cancel_needs_a_reason_in_the_operators_language(tenant, reason):
    order = order_in(tenant, Stage.NEW)
    before = snapshot(order)
    with translation.override("ja"), pytest.raises(ValueError, match="キャンセル理由を入力してください"):
        order_cancel(order=order, reason=reason, actor=ACTOR)
    assert snapshot(order) == before


@pytest.mark.parametrize("stage", [Stage.SHIPPED, Stage.COMPLETED])
def test_cancel_refuses_shipped_and_completed_with_the_lifecycles_reason(tenant, stage):
    order = order_in(tenant, stage)
    before = snapshot(order)

    with pytest.raises(StageMoveRefused) as refused:
        order_cancel(order=order, reason="間違い", actor=ACTOR)

    assert refused.value.reason == refusal_reason(stage, Stage.CANCELLED)
    assert snapshot(order) == before


def test_cancel_refuses_an_order_already_cancelled(tenant):
    order = order_in(tenant, Stage.CANCELLED)
    before = snapshot(order)
    with pytest.raises(StageMoveRefused):
        order_cancel(order=order, reason="二重", actor=ACTOR)
    assert snapshot(order) == before


def test_cancel_with_a_stale_version_changes_nothing(tenant):
    order = order_in(tenant, Stage.NEW)
    loaded = order.version
    order_update(order=order, changes={"remarks": "変更"}, actor=ACTOR)
    before = snapshot(order)
    with pytest.raises(StaleOrder):
        order_cancel(order=order, reason="理由", actor=ACTOR, expected_version=loaded)
    assert snapshot(order) == before


# --- the detail page's forms -------------------------------------------------------------------------------


def test_payment_form_shows_only_while_awaiting_payment_with_the_total_and_today(operator_client, tenant):
    waiting = order_in(tenant, Stage.AWAITING_PAYMENT)
    body = operator_client.get(reverse("order_detail", args=[waiting.pk])).content.decode()
    assert 'id="payment-form"' in body
    assert f'name="amount" value="{waiting.total}"' in body
    assert f'name="paid_on" value="{timezone.localdate():%Y-%m-%d}"' in body

    new = order_in(tenant, Stage.NEW)
    assert 'id="payment-form"' not in operator_client.get(reverse("order_detail", args=[new.pk])).content.decode()


def test_cancel_form_shows_only_while_the_order_can_be_cancelled(operator_client, tenant):
    for stage, shown in [(Stage.NEW, True), (Stage.PAID, True), (Stage.SHIPPED, False), (Stage.CANCELLED, False)]:
        order = order_in(tenant, stage)
        body = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
        assert ('id="cancel-form"' in body) is shown, stage


def test_payment_view_confirms_and_records_the_user(operator_client, operator, tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)

    response = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]),
        {"version": order.version, "amount": "２，７６０", "paid_on": "2026-04-01"},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.paid_amount, order.paid_on, order.stage) == (2760, PAID_ON, Stage.PAID)
    assert set(
        OrderEvent.objects.filter(order=order).exclude(type=EventType.CREATED).values_list("actor_user_id", flat=True)
    ) == {operator.pk}
    assert 'id="payment-form"' not in operator_client.get(response["Location"]).content.decode()


def test_payment_view_on_an_order_not_awaiting_payment_says_why(operator_client, tenant):
    order = order_in(tenant, Stage.NEW)
    before = snapshot(order)

    response = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]),
        {"version": order.version, "amount": "100", "paid_on": "2026-04-01"},
    )

    assert response.status_code == 200
    assert "入金待ち" in response.content.decode()  # the reason names the stage it must be in
    assert snapshot(order) == before


@pytest.mark.parametrize(
    ("amount", "paid_on"),
    [("-5", "2026-04-01"), ("abc", "2026-04-01"), ("100", ""), ("100", "2026-02-30"), ("1.5", "2026-04-01")],
)
def test_payment_view_refuses_bad_input(operator_client, tenant, amount, paid_on):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    before = snapshot(order)
    response = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]),
        {"version": order.version, "amount": amount, "paid_on": paid_on},
    )
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert snapshot(order) == before


def test_payment_view_with_a_stale_version_saves_nothing(operator_client, tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    loaded = order.version
    order_update(order=order, changes={"shipping_fee": 1500}, actor=ACTOR)
    before = snapshot(order)

    response = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]), {"version": loaded, "amount": "100", "paid_on": "2026-04-01"}
    )

    assert "他の人がこの受注を変更しました" in response.content.decode()
    assert snapshot(order) == before


def test_cancel_view_needs_a_reason(operator_client, tenant):
    order = order_in(tenant, Stage.NEW)
    before = snapshot(order)
    response = operator_client.post(
        reverse("order_cancel", args=[order.pk]), {"version": order.version, "reason": "  "}
    )
    assert response.status_code == 200
    assert "このフィールドは必須です" in response.content.decode()
    assert snapshot(order) == before


def test_cancel_view_cancels_with_the_reason(operator_client, tenant):
    order = order_in(tenant, Stage.PAID)
    response = operator_client.post(
        reverse("order_cancel", args=[order.pk]), {"version": order.version, "reason": "在庫切れのため"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.stage == Stage.CANCELLED
    assert order.cancel_reason == "在庫切れのため"
    body = operator_client.get(response["Location"]).content.decode()
    assert "在庫切れのため" in body
    assert 'id="cancel-form"' not in body


def test_cancel_view_on_a_shipped_order_gives_the_lifecycles_reason(operator_client, tenant):
    order = order_in(tenant, Stage.SHIPPED)
    before = snapshot(order)
    response = operator_client.post(
        reverse("order_cancel", args=[order.pk]), {"version": order.version, "reason": "返品"}
    )
    assert response.status_code == 200
    assert "出荷済の受注はキャンセルできません" in response.content.decode()
    assert snapshot(order) == before


def test_payment_view_answers_htmx_with_the_payment_box_and_the_new_header(operator_client, tenant):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    response = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]),
        {"version": order.version, "amount": "500", "paid_on": "2026-04-01"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="order-actions"')
    assert 'id="order-header" class="card mb-2 by-detail-header" hx-swap-oob="true"' in body
    assert f'value="{order.version + 1}" class="by-version" hx-swap-oob="outerHTML:.by-version"' in body
    assert "¥500" in body


# --- one order and many say the same (orders.services.payments is bulk's set of one) ------------------------


def _bulk_post(client, name, order, data):
    client.post(reverse("order_selection"), {"action": "add", "ids": [order.pk]})
    return client.post(reverse(name), data, follow=True).content.decode()


def test_an_order_already_cancelled_gets_the_same_answer_on_its_page_and_in_bulk(operator_client, tenant):
    order = order_in(tenant, Stage.CANCELLED)
    before = snapshot(order)
    page = operator_client.post(
        reverse("order_cancel", args=[order.pk]), {"version": order.version, "reason": "二重"}
    ).content.decode()
    listed = _bulk_post(operator_client, "order_bulk_cancel", order, {"reason": "二重"})

    said = "この受注はすでにキャンセルされています。"
    assert said in page
    assert f"{order.external_id}: {said}" in listed  # the list used to pass over it in silence
    assert snapshot(order) == before


def test_an_order_not_awaiting_payment_gets_the_same_reason_on_its_page_and_in_bulk(operator_client, tenant):
    order = order_in(tenant, Stage.NEW)
    before = snapshot(order)
    page = operator_client.post(
        reverse("order_confirm_payment", args=[order.pk]),
        {"version": order.version, "amount": "100", "paid_on": "2026-04-01"},
    ).content.decode()
    listed = _bulk_post(operator_client, "order_bulk_confirm_payment", order, {"paid_on": "2026-04-01"})

    said = "入金確認できるのは入金待ちの受注だけです。この受注は「新規」です。"
    assert said in page
    assert f"{order.external_id}: {said}" in listed
    assert snapshot(order) == before


@pytest.mark.parametrize(
    ("name", "data", "stage", "said"),
    [
        ("order_bulk_confirm_payment", {"paid_on": "2026-04-01"}, Stage.PAID, "入金済"),
        ("order_bulk_cancel", {"reason": "在庫切れ"}, Stage.CANCELLED, "キャンセル"),
    ],
)
def test_a_tenant_without_the_target_status_is_told_so_in_bulk_too(operator_client, tenant, name, data, stage, said):
    order = order_in(tenant, Stage.AWAITING_PAYMENT)
    Status.objects.for_tenant(tenant).filter(group__stage=stage).delete()
    before = snapshot(order)

    listed = _bulk_post(operator_client, name, order, data)

    assert f"「{said}」段階のステータスがありません。設定画面で追加してください。" in listed
    assert snapshot(order) == before
