"""The address check screen (B6): warned orders with what the postal code says and what fits the written
address; either side fixed in one click, an event recording it and the task resolving."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automation.models import OrderTask
from automation.services import process
from orders.models import OrderEvent
from tests.factories import make_order

pytestmark = pytest.mark.django_db

WRONG_CITY = {
    "dest_postal_code": "100-0005",
    "dest_prefecture": "東京都",
    "dest_city": "港区",
    "dest_address1": "丸の内1-9-1",
}
WRONG_CODE = {
    "dest_postal_code": "100-0004",
    "dest_prefecture": "東京都",
    "dest_city": "千代田区",
    "dest_address1": "丸の内1-9-1",
}


def warned(tenant, **fields):
    order = make_order(tenant, **fields)
    process(tenant=tenant, order_ids=[order.pk])
    assert OrderTask.objects.filter(order=order, definition__code="address_warning", resolved_at=None).exists()
    order.refresh_from_db()  # the run may have changed it (and its version)
    return order


def open_warning(order):
    return OrderTask.objects.filter(order=order, definition__code="address_warning", resolved_at=None).exists()


def test_the_screen_lists_warned_orders_only_with_both_sides(operator_client, tenant, other_tenant):
    wrong = warned(tenant, external_id="WRONG-CITY", **WRONG_CITY)
    fine = make_order(
        tenant,
        external_id="FINE",
        dest_postal_code="100-0005",
        dest_prefecture="東京都",
        dest_city="千代田区",
        dest_address1="丸の内1-9-1",
    )
    process(tenant=tenant, order_ids=[fine.pk])
    warned(other_tenant, external_id="FOREIGN", **WRONG_CITY)

    page = operator_client.get(reverse("address_check")).content.decode()

    assert "WRONG-CITY" in page
    assert "FINE" not in page
    assert "FOREIGN" not in page
    assert "東京都千代田区丸の内" in page  # what 100-0005 says
    assert reverse("order_address_fix", args=[wrong.pk]) in page


def test_taking_the_postal_codes_address_fixes_it_and_resolves_the_task(operator_client, tenant, operator):
    order = warned(tenant, **WRONG_CITY)
    response = operator_client.post(
        reverse("order_address_fix", args=[order.pk]),
        {
            "use": "address",
            "prefecture": "東京都",
            "city": "千代田区",
            "address1": "丸の内1-9-1",
            "version": order.version,
        },
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.dest_city == "千代田区"
    assert not open_warning(order)
    event = OrderEvent.objects.get(order=order, type="field_changed", data__field="dest_city")
    assert (event.data["old"], event.data["new"], event.actor_name) == ("港区", "千代田区", operator.username)


def test_taking_a_code_that_fits_the_written_address_fixes_it(operator_client, tenant):
    order = warned(tenant, **WRONG_CODE)
    page = operator_client.get(reverse("address_check")).content.decode()
    assert 'data-code="100-0005"' in page  # the code of 千代田区丸の内 is offered

    operator_client.post(
        reverse("order_address_fix", args=[order.pk]),
        {"use": "code", "postal_code": "100-0005", "version": order.version},
    )
    order.refresh_from_db()
    assert order.dest_postal_code == "100-0005"
    assert not open_warning(order)


def test_a_fix_that_still_does_not_match_keeps_the_task_and_says_why(operator_client, tenant):
    order = warned(tenant, **WRONG_CITY)
    response = operator_client.post(
        reverse("order_address_fix", args=[order.pk]),
        {
            "use": "address",
            "prefecture": "東京都",
            "city": "新宿区",
            "address1": "丸の内1-9-1",
            "version": order.version,
        },
        follow=True,
    )
    order.refresh_from_db()
    assert order.dest_city == "新宿区"
    assert open_warning(order)
    assert any(m.level_tag == "warning" for m in response.context["messages"])


def test_a_stale_page_changes_nothing(operator_client, tenant):
    order = warned(tenant, **WRONG_CITY)
    operator_client.post(
        reverse("order_address_fix", args=[order.pk]),
        {"use": "code", "postal_code": "100-0005", "version": order.version - 1},
    )
    order.refresh_from_db()
    assert order.dest_city == "港区"
    assert open_warning(order)


@pytest.mark.parametrize(
    "data",
    [
        {"use": "code", "postal_code": "abc"},
        {"use": "what"},
        {"use": "address", "prefecture": "火星", "city": "x", "address1": "y"},
    ],
)
def test_bad_input_is_a_message_not_an_error(operator_client, tenant, data):
    order = warned(tenant, **WRONG_CITY)
    response = operator_client.post(reverse("order_address_fix", args=[order.pk]), data, follow=True)
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    order.refresh_from_db()
    assert order.dest_city == "港区"
