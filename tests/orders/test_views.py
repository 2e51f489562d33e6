from django.urls import reverse

from orders.constants import EventType, Stage
from orders.models import OrderEvent, Status
from tests.factories import make_order


def _status(tenant, stage, name=None):
    qs = Status.objects.for_tenant(tenant).filter(group__stage=stage)
    return qs.get(name=name) if name else qs.order_by("group__position", "position").first()


def test_detail_shows_lines_and_history(operator_client, tenant):
    order = make_order(tenant, external_id="R-100")
    body = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "有機緑茶 100g" in body
    assert "受注登録" in body  # the created event, in Japanese


def test_move_refused_shows_the_reason_and_changes_nothing(operator_client, tenant):
    order = make_order(tenant)
    shipped = _status(tenant, Stage.SHIPPED)

    response = operator_client.post(reverse("order_move", args=[order.pk]), {"status": shipped.pk}, follow=True)

    order.refresh_from_db()
    assert order.stage == Stage.NEW
    assert "に移動できません" in response.content.decode()
    assert not OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED).exists()


def test_move_allowed_records_the_user(operator_client, operator, tenant):
    order = make_order(tenant)
    paid = _status(tenant, Stage.PAID)

    operator_client.post(reverse("order_move", args=[order.pk]), {"status": paid.pk})

    order.refresh_from_db()
    assert order.status == paid
    assert order.stage == Stage.PAID
    event = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED)
    assert event.actor_user_id == operator.pk
    assert event.data["new"]["stage"] == Stage.PAID


def test_english_is_available(operator_client):
    operator_client.post(reverse("set_language"), {"language": "en", "next": "/orders/"})
    body = operator_client.get(reverse("home"), follow=True).content.decode()
    assert "More filters" in body
    assert "Log out" in body
