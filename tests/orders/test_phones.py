"""Phone numbers in international form (issue 10 item 10): a Japanese number sent as +81 … is stored in its
domestic form by every writer (the order page, phone entry, the import of malls and CSV files), the import
keeps what the mall sent in its mall values, and the search finds a number typed either way."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automation.defaults import BuiltinTask
from automation.models import OrderTask
from japan.phones import normalize_phone
from orders.constants import ActorKind, EventType
from orders.events import Actor
from orders.models import Order, OrderEvent
from orders.services import order_update
from shops.constants import MallKind
from shops.models import ImportRun, MallOrder, RunStatus
from shops.services import import_orders
from tests.factories import ShopFactory, make_member, make_order
from tests.orders.test_entry import URL as ENTRY_URL
from tests.orders.test_entry import _payload as entry_payload
from tests.shops.test_import import imported

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("+81 90-1234-5678", "090-1234-5678"),  # Shopify's form
        ("+819012345678", "090-1234-5678"),  # E.164: a mobile number's grouping is fixed
        ("+81-3-1234-5678", "03-1234-5678"),  # the sender's grouping kept
        ("+81 (0)3 1234 5678", "03-1234-5678"),  # "(0)" and spaces
        ("+81 090 1234 5678", "090-1234-5678"),  # the trunk 0 written after +81 by mistake
        ("＋８１ ９０－１２３４－５６７８", "090-1234-5678"),  # full width
        ("+81120123456", "0120-123-456"),  # free dial
        ("+81312345678", "0312345678"),  # a landline without grouping: its area code is not guessed
        ("03-1234-5678", "03-1234-5678"),  # domestic: as sent
        ("+1 212-555-0100", "+1 212-555-0100"),  # another country: as sent
        ("+81 90", "+81 90"),  # too short to be a number: as sent
        ("", ""),
    ],
)
def test_normalize_phone(sent, stored):
    assert normalize_phone(sent) == stored


def run_import(shop, batch):
    return import_orders(
        shop, batch, run=ImportRun.objects.create(tenant_id=shop.tenant_id, shop=shop, status=RunStatus.RUNNING)
    )


def test_an_imported_international_number_is_stored_domestic_and_the_malls_text_is_kept(tenant):
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY)
    run_import(shop, [imported(1, orderer_phone="+81 90-1234-5678", dest_phone="+81312345678")])

    order = shop.orders.get()
    assert (order.orderer_phone, order.dest_phone) == ("090-1234-5678", "0312345678")
    values = MallOrder.objects.get(order=order).values
    assert (values["orderer_phone"], values["dest_phone"]) == ("+81 90-1234-5678", "+81312345678")

    # the same order again: nothing to do (no churn between the mall's form and the stored one)
    events = OrderEvent.objects.filter(order=order).count()
    outcome = run_import(shop, [imported(1, orderer_phone="+81 90-1234-5678", dest_phone="+81312345678")])
    assert outcome.unchanged_ids == [order.pk]
    # another change from the mall leaves the phones alone: stored and sent forms count as the same
    outcome = run_import(
        shop, [imported(1, orderer_phone="+81 90-1234-5678", dest_phone="+81312345678", remarks="置き配希望")]
    )
    assert outcome.updated_ids == [order.pk]
    changed = {e.data["field"] for e in OrderEvent.objects.filter(order=order, type=EventType.FIELD_CHANGED)}
    assert changed == {"remarks"}
    assert OrderEvent.objects.filter(order=order).count() == events + 1

    # the mall's new number comes in its domestic form, with an event from the import
    run_import(shop, [imported(1, orderer_phone="+81 80-2222-3333", dest_phone="+81312345678", remarks="置き配希望")])
    order.refresh_from_db()
    assert order.orderer_phone == "080-2222-3333"
    event = OrderEvent.objects.get(order=order, type=EventType.FIELD_CHANGED, data__field="orderer_phone")
    assert (event.data["old"], event.data["new"], event.actor_kind) == (
        "090-1234-5678",
        "080-2222-3333",
        ActorKind.IMPORT,
    )
    assert MallOrder.objects.get(order=order).values["orderer_phone"] == "+81 80-2222-3333"


def test_the_merge_compares_the_malls_number_in_its_stored_form(tenant):
    """An operator who already typed the mall's new number gets no "mall changed an edited order" task for it;
    one who typed another number keeps it, with the task."""
    shop = ShopFactory(tenant=tenant, mall=MallKind.SHOPIFY)
    run_import(shop, [imported(1, dest_phone="+81 90-1234-5678"), imported(2, dest_phone="+81 90-1234-5678")])
    same, other = shop.orders.get(external_id="M-00001"), shop.orders.get(external_id="M-00002")
    operator = Actor.for_user(make_member(tenant))
    order_update(order=same, changes={"dest_phone": "080-2222-3333"}, actor=operator)
    order_update(order=other, changes={"dest_phone": "03-9999-0000"}, actor=operator)

    outcome = run_import(shop, [imported(1, dest_phone="+81 80-2222-3333"), imported(2, dest_phone="+81 80-2222-3333")])

    same.refresh_from_db()
    other.refresh_from_db()
    assert (same.dest_phone, other.dest_phone) == ("080-2222-3333", "03-9999-0000")
    assert outcome.kept == 1
    assert not OrderTask.objects.filter(order=same, definition__code=BuiltinTask.MALL_CHANGED_EDITED).exists()
    assert OrderTask.objects.filter(
        order=other, definition__code=BuiltinTask.MALL_CHANGED_EDITED, resolved_at=None
    ).exists()


def test_the_order_page_and_the_services_store_the_domestic_form(operator_client, tenant):
    order = make_order(tenant, orderer_phone="+81 90-1234-5678")
    assert order.orderer_phone == "090-1234-5678"

    data = {
        "orderer_name": "山田 太郎",
        "orderer_kana": "ヤマダ タロウ",
        "orderer_email": "taro@example.jp",
        "orderer_phone": "+81 3 1234 5678",
        "orderer_postal_code": "100-0005",
        "orderer_prefecture": "東京都",
        "orderer_city": "千代田区",
        "orderer_address1": "丸の内1-1-1",
        "orderer_address2": "",
        "version": order.version,
    }
    operator_client.post(reverse("order_edit_orderer", args=[order.pk]), data)

    order.refresh_from_db()
    assert order.orderer_phone == "03-1234-5678"
    event = OrderEvent.objects.get(order=order, type=EventType.FIELD_CHANGED, data__field="orderer_phone")
    assert event.data["new"] == "03-1234-5678"


def test_phone_entry_stores_the_domestic_form(operator_client, tenant):
    response = operator_client.post(ENTRY_URL, entry_payload(tenant, orderer_phone="+81 90-1234-5678"))
    assert response.status_code == 302
    order = Order.objects.for_tenant(tenant).get()
    assert (order.orderer_phone, order.dest_phone) == ("090-1234-5678", "090-1234-5678")


@pytest.mark.parametrize(
    "query", ["090-1234-5678", "09012345678", "+81 90-1234-5678", "+819012345678", "+81 (0)90 1234 5678", "1234-5678"]
)
def test_the_search_finds_a_number_typed_in_either_form(operator_client, tenant, query):
    sent_international = make_order(tenant, external_id="SHOPIFY-1", orderer_phone="+81 90-1234-5678", dest_phone="")
    typed_domestic = make_order(tenant, external_id="PHONE-1", orderer_phone="090-1234-5678", dest_phone="")
    make_order(tenant, external_id="OTHER-1", orderer_phone="090-8765-4321", dest_phone="")
    assert sent_international.orderer_phone == typed_domestic.orderer_phone

    page = operator_client.get(reverse("home"), {"q": query}).content.decode()

    assert "SHOPIFY-1" in page
    assert "PHONE-1" in page
    assert "OTHER-1" not in page
