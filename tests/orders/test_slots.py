"""Delivery time slots (issue 10 item 11): every mall's way of writing a slot becomes one of the carriers'
slots, the mall's text is kept beside it, and a slot no carrier offers raises 配達時間帯を確認 instead of
vanishing; the order list and page show the slot, and the mall's text when it reads otherwise."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automation.defaults import BuiltinTask, task_definitions_create
from automation.models import OrderTask, TaskDefinition
from automation.services import process
from orders.constants import EventType
from orders.events import Actor
from orders.models import Order, OrderEvent
from orders.services import order_update
from orders.slots import UNMAPPABLE, DeliverySlot, slot_from_text
from shops.constants import MallKind
from shops.models import MallOrder
from shops.services import import_page, import_run_start
from tests.factories import ShopFactory, make_order
from tests.orders.test_detail import delivery_data
from tests.orders.test_entry import URL as ENTRY_URL
from tests.orders.test_entry import _payload as entry_payload
from tests.shops.test_import import imported

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        # what each source writes
        ("14時～16時", DeliverySlot.H14_16),  # Rakuten (shippingTerm 1416, as the connector writes it)
        ("午前中", DeliverySlot.MORNING),  # Rakuten 1 / 812, Amazon 08:00–12:00, phone entry
        ("18:00-20:00", DeliverySlot.H18_20),  # Yahoo! ShipRequestTime
        ("19時〜21時", DeliverySlot.H19_21),  # a Shopify delivery-date app, with the wave dash
        ("12時～14時", DeliverySlot.H12_14),
        ("16時～18時", DeliverySlot.H16_18),
        # the many ways of writing them
        ("午前", DeliverySlot.MORNING),
        ("AM", DeliverySlot.MORNING),
        ("8-12", DeliverySlot.MORNING),
        ("08:00-12:00", DeliverySlot.MORNING),
        ("0812", DeliverySlot.MORNING),
        ("午前中希望", DeliverySlot.MORNING),
        ("１４時～１６時", DeliverySlot.H14_16),
        ("14～16時", DeliverySlot.H14_16),
        ("14-16", DeliverySlot.H14_16),
        ("1416", DeliverySlot.H14_16),
        ("14:00 ～ 16:00", DeliverySlot.H14_16),
        ("１８：００－２０：００", DeliverySlot.H18_20),
        ("配達希望時間帯: 19時-21時頃", DeliverySlot.H19_21),
        # no slot
        ("", DeliverySlot.NONE),
        ("指定なし", DeliverySlot.NONE),
        ("時間指定なし", DeliverySlot.NONE),
        # a time no carrier offers
        ("午後", UNMAPPABLE),
        ("10時～12時", UNMAPPABLE),
        ("20時～21時", UNMAPPABLE),
        ("夜間", UNMAPPABLE),
        ("14時～16時または18時～20時", UNMAPPABLE),
    ],
)
def test_slot_from_text(text, slot):
    assert slot_from_text(text) == slot


def slot_tasks(order, open_only: bool = True):
    qs = OrderTask.objects.filter(order=order, definition__code=BuiltinTask.DELIVERY_SLOT_CHECK)
    return qs.filter(resolved_at=None) if open_only else qs


@pytest.mark.parametrize(
    ("text", "slot"), [("14時～16時", "14-16"), ("18:00-20:00", "18-20"), ("午前中", "am"), ("19時〜21時", "19-21")]
)
def test_an_imported_slot_is_stored_canonical_with_the_malls_text_kept(tenant, text, slot):
    shop = ShopFactory(tenant=tenant, mall=MallKind.YAHOO)
    run = import_run_start(shop=shop, trigger="poll")

    import_page(shop=shop, batch=[imported(1, delivery_time_slot=text)], run=run)

    order = shop.orders.get()
    assert (order.delivery_slot, order.delivery_time_slot) == (slot, text)
    assert MallOrder.objects.get(order=order).values["delivery_time_slot"] == text
    assert not slot_tasks(order).exists()


def test_a_slot_no_carrier_offers_raises_a_task_instead_of_vanishing(tenant):
    """Rakuten's 午後 (shippingTerm 2) after an import and its auto-processing, as a poll runs them."""
    shop = ShopFactory(tenant=tenant, mall=MallKind.RAKUTEN)
    run = import_run_start(shop=shop, trigger="poll")

    import_page(shop=shop, batch=[imported(1, delivery_time_slot="午後"), imported(2, delivery_time_slot="")], run=run)

    unreadable, empty = shop.orders.get(external_id="M-00001"), shop.orders.get(external_id="M-00002")
    assert (unreadable.delivery_slot, unreadable.delivery_time_slot) == ("", "午後")  # the text is kept
    assert slot_tasks(unreadable).get().raised_automatically
    assert not slot_tasks(empty).exists()


def test_choosing_a_slot_on_the_order_page_resolves_the_task_at_once(operator_client, tenant):
    order = make_order(tenant, delivery_time_slot="午後")
    process(tenant=tenant, order_ids=[order.pk])
    assert slot_tasks(order).exists()
    order.refresh_from_db()  # the run raised its version
    page = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "午後" in page  # what the mall wrote, beside the slot

    operator_client.post(
        reverse("order_edit_delivery", args=[order.pk]),
        {**delivery_data(order), "delivery_slot": "14-16", "version": order.version},
    )

    order.refresh_from_db()
    assert (order.delivery_slot, order.delivery_time_slot) == ("14-16", "午後")
    assert not slot_tasks(order).exists()
    assert slot_tasks(order, open_only=False).get().resolved_automatically
    event = OrderEvent.objects.get(order=order, type=EventType.FIELD_CHANGED, data__field="delivery_slot")
    assert (event.data["old"], event.data["new"]) == ("", "14-16")


def test_a_new_slot_text_from_the_mall_or_a_writer_sets_the_slot(tenant):
    order = make_order(tenant, delivery_time_slot="14時～16時")
    assert order.delivery_slot == "14-16"
    updated = order_update(order=order, changes={"delivery_time_slot": "18:00-20:00"}, actor=Actor.system("test"))
    assert updated.delivery_slot == "18-20"
    # an unreadable text sets none and raises the task at once, in the same edit
    updated = order_update(order=order, changes={"delivery_time_slot": "夜間"}, actor=Actor.system("test"))
    assert updated.delivery_slot == ""
    assert slot_tasks(order).exists()


def test_phone_entry_offers_every_carrier_slot(operator_client, tenant):
    page = operator_client.get(ENTRY_URL).content.decode()
    for text in ("午前中", "12時～14時", "14時～16時", "16時～18時", "18時～20時", "19時～21時"):
        assert f'value="{text}"' in page

    response = operator_client.post(ENTRY_URL, entry_payload(tenant, delivery_time_slot="12時～14時"))
    assert response.status_code == 302
    order = Order.objects.for_tenant(tenant).get()
    assert (order.delivery_slot, order.delivery_time_slot) == ("12-14", "12時～14時")


def test_the_list_shows_the_slot_and_the_malls_text_when_it_differs(operator_client, tenant):
    make_order(tenant, external_id="SLOT-1", delivery_time_slot="18:00-20:00")
    make_order(tenant, external_id="SLOT-2", delivery_time_slot="午後")

    page = operator_client.get(reverse("home"), follow=True).content.decode()

    assert "18〜20時 (18:00-20:00)" in page  # the carriers' slot, and what the mall wrote: it reads otherwise
    assert 'title="午後"' in page  # no carrier's slot: what the mall wrote


def test_the_built_in_task_exists_for_new_tenants_and_is_made_once(tenant):
    definition = TaskDefinition.objects.get(tenant=tenant, code=BuiltinTask.DELIVERY_SLOT_CHECK)
    assert definition.name == "配達時間帯を確認"
    task_definitions_create(tenant=tenant)
    assert TaskDefinition.objects.filter(tenant=tenant, code=BuiltinTask.DELIVERY_SLOT_CHECK).count() == 1
