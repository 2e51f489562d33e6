"""The auction buyer rating (T14): 「評価済にする」 and its undo on the order page of an auction order, "mark the
buyer rated" in the bulk edit, each change an event in the order's history, and the list filter "not yet rated
after shipping"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from backyard.models import Tenant
from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent, Status
from shops.constants import MallKind
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db
EARLIER = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def status(tenant: Tenant, stage: Stage) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position")[0]


@pytest.fixture
def auction(tenant: Tenant) -> Any:
    return ShopFactory(tenant=tenant, mall=MallKind.AUCTION, name="ヤフオク店")


@pytest.fixture
def rakuten(tenant: Tenant) -> Any:
    return ShopFactory(tenant=tenant, mall=MallKind.RAKUTEN, name="楽天店")


def shipped(tenant: Tenant, shop: Any, number: str, **fields: Any) -> Order:
    return make_order(tenant, shop=shop, external_id=number, status=status(tenant, Stage.SHIPPED), **fields)


def rated_events(order: Order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, type=EventType.FIELD_CHANGED, data__field="buyer_rated_at"))


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_the_order_page_offers_the_rating_on_auction_orders_only(operator_client, tenant, auction, rakuten):
    theirs = operator_client.get(reverse("order_detail", args=[shipped(tenant, auction, "A-1").pk])).content.decode()
    other = operator_client.get(reverse("order_detail", args=[shipped(tenant, rakuten, "R-1").pk])).content.decode()
    assert "評価済にする" in theirs
    assert "未評価" in theirs
    assert 'id="buyer-rating"' not in other


def test_marking_the_buyer_rated_and_taking_it_back_are_events_in_the_history(operator_client, tenant, auction):
    order = shipped(tenant, auction, "A-1")
    url = reverse("order_buyer_rated", args=[order.pk])

    response = operator_client.post(url, {"rated": "1", "version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.buyer_rated_at is not None
    assert messages_of(response) == ["評価済にしました。"]
    (event,) = rated_events(order)
    assert (event.actor_name, event.data["label"], event.data["old"]) == ("operator", "評価日時", None)
    page = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    when = timezone.localtime(order.buyer_rated_at).strftime("%Y/%m/%d %H:%M")
    assert f"評価済 {when}" in page  # the mark, with its date
    assert "評価済を取り消す" in page
    history = page.split('id="order-history"')[1]
    assert "評価日時" in history
    assert when in history  # the event's moment as people read it, not an ISO string
    assert "T" + when[-5:] not in history

    again = operator_client.post(url, {"rated": "1", "version": order.version})
    assert messages_of(again)[-1] == "変更はありません。"
    assert len(rated_events(order)) == 1  # marking twice keeps the first date

    undone = operator_client.post(url, {"rated": "0", "version": order.version})
    order.refresh_from_db()
    assert order.buyer_rated_at is None
    assert messages_of(undone)[-1] == "評価済を取り消しました。"
    assert [e.data["new"] for e in rated_events(order)][-1] is None


def test_htmx_gets_the_panel_and_the_new_version(operator_client, tenant, auction):
    order = shipped(tenant, auction, "A-1")
    response = operator_client.post(
        reverse("order_buyer_rated", args=[order.pk]), {"rated": "1", "version": order.version}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="buyer-rated-at"' in page
    assert re.search(rf'name="version" value="{order.version + 1}" class="by-version" hx-swap-oob', page)


def test_a_non_auction_order_has_no_rating(operator_client, tenant, rakuten):
    order = shipped(tenant, rakuten, "R-1")
    response = operator_client.post(reverse("order_buyer_rated", args=[order.pk]), {"rated": "1"})
    assert "評価があるのはオークションの注文だけです。" in messages_of(response)
    order.refresh_from_db()
    assert order.buyer_rated_at is None
    assert rated_events(order) == []


def test_another_tenants_order_is_not_found(operator_client, other_tenant):
    theirs = shipped(other_tenant, ShopFactory(tenant=other_tenant, mall=MallKind.AUCTION), "X-1")
    assert operator_client.post(reverse("order_buyer_rated", args=[theirs.pk]), {"rated": "1"}).status_code == 404
    assert operator_client.post(reverse("order_buyer_rated", args=[987_654_321]), {"rated": "1"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.buyer_rated_at is None


def test_the_bulk_edit_marks_the_selected_auction_orders_not_yet_rated(operator_client, tenant, auction, rakuten):
    fresh = shipped(tenant, auction, "A-1")
    before = shipped(tenant, auction, "A-2")
    Order.objects.filter(pk=before.pk).update(buyer_rated_at=EARLIER)
    other = shipped(tenant, rakuten, "R-1")
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [fresh.pk, before.pk, other.pk]})

    response = operator_client.post(reverse("order_bulk_edit"), {"mark_buyer_rated": "on", "next": "/orders/"})

    assert response.status_code == 302
    assert messages_of(response)[0] == "3 件中 1 件を変更しました。"
    rated = dict(
        Order.objects.filter(pk__in=[fresh.pk, before.pk, other.pk]).values_list("external_id", "buyer_rated_at")
    )
    assert rated["A-1"] is not None
    assert rated["A-2"] == EARLIER  # already rated: keeps its date
    assert rated["R-1"] is None  # not an auction order
    assert [len(rated_events(o)) for o in (fresh, before, other)] == [1, 0, 0]
    assert Order.objects.get(pk=fresh.pk).version == fresh.version + 1


def test_the_bulk_panel_offers_the_rating(operator_client):
    page = operator_client.get(reverse("order_bulk_panel"), {"next": "/orders/"}).content.decode()
    assert 'name="mark_buyer_rated"' in page
    assert "評価済にする（オークションの注文）" in page


def test_the_list_filter_finds_auction_orders_shipped_and_not_rated(operator_client, tenant, auction, rakuten):
    wanted = shipped(tenant, auction, "A-1")
    completed = make_order(tenant, shop=auction, external_id="A-2", status=status(tenant, Stage.COMPLETED))
    rated = shipped(tenant, auction, "A-3")
    Order.objects.filter(pk=rated.pk).update(buyer_rated_at=EARLIER)
    not_shipped = make_order(tenant, shop=auction, external_id="A-4")
    other_mall = shipped(tenant, rakuten, "R-1")

    page = operator_client.get(reverse("home"), {"not_rated": "on"}, follow=True).content.decode()
    listed = {int(i) for i in re.findall(r'<tr[^>]* data-id="(\d+)"', page)}

    assert listed == {wanted.pk, completed.pk}
    assert not listed & {rated.pk, not_shipped.pk, other_mall.pk}
    assert "発送後 未評価" in page  # the filter panel names it
