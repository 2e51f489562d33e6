"""Absurd dates (issue 11, item 8): every date an operator or a URL can send — the list's date filters, the
CSV export and the selection and bulk actions that re-run a search, the date fields of the entry, detail
and bulk forms — answers with a Japanese message, never a 500 (`ordered_to=9999-12-31` used to add a day
past the calendar's end).

The fuzz is generated: the filters from `OrderFilter.base_filters`, the form fields from the forms, so a date
filter or field added later is fuzzed too.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django import forms
from django.urls import reverse
from django_filters import DateFilter, DateFromToRangeFilter, DateTimeFilter, IsoDateTimeFilter

import orders.forms
import orders.forms_bulk
import orders.forms_entry
from orders.constants import Stage
from orders.filters import OrderFilter
from orders.models import Order, PaymentMethod, Status
from tests.factories import make_order

OUT_OF_RANGE = "2000年から2100年までの日付を入力してください。"
NOT_A_DATE = "日付を正しく入力してください。"
NOT_A_DATETIME = "日時を正しく入力してください。"
MESSAGES = (OUT_OF_RANGE, NOT_A_DATE, NOT_A_DATETIME)

# The calendar's ends, a day past them, years a date input lets a browser send, and plain typos.
ABSURD = [
    "9999-12-31",
    "9999-12-30",
    "10000-01-01",
    "99999-12-31",
    "275760-09-13",
    "0001-01-01",
    "0001-01-02",
    "0000-01-01",
    "1-1-1",
    "1999-12-31",
    "2101-01-01",
    "2026-02-30",
    "2026-13-01",
    "-2026-01-01",
    "9" * 30,
    "２０２６-０２-３０",
]
DATE_FILTERS = [
    name
    for name, f in OrderFilter.base_filters.items()
    if isinstance(f, DateFilter | DateTimeFilter | IsoDateTimeFilter | DateFromToRangeFilter)
]
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_fuzz_covers_the_lists_date_filters():
    assert {"ordered_from", "ordered_to", "ship_from", "ship_to"} <= set(DATE_FILTERS)


def said(response: Any) -> str:
    return response.content.decode()


def assert_told(response: Any, *, status: int = 200) -> None:
    assert response.status_code == status, response.status_code
    body = said(response)
    assert any(message in body for message in MESSAGES), body[:500]


@pytest.fixture
def kept_order(tenant):
    """An order the absurd searches must not reach, in the first new status."""
    return [make_order(tenant, external_id="KEEP-1")]


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("name", DATE_FILTERS)
def test_an_absurd_date_filter_is_a_message_on_every_page_that_searches(
    operator_client, tenant, kept_order, name, value
):
    params = {name: value}
    assert_told(operator_client.get(reverse("home"), params))
    assert_told(operator_client.get(reverse("home"), params, HTTP_HX_TARGET="order-results", **HTMX))
    assert_told(operator_client.get(reverse("order_filters"), params, **HTMX))
    assert operator_client.get(reverse("status_tree"), params, **HTMX).status_code == 200
    assert operator_client.get(reverse("order_export_options"), params).status_code == 200

    # The download and its check: a 400 that says why, not a file that is silently empty.
    for extra in ({}, {"encoding": "cp932"}, {"check": "1"}, {"check": "1", "encoding": "cp932"}):
        response = operator_client.get(reverse("order_export"), {**params, **extra})
        assert_told(response, status=400)
    response = operator_client.get(reverse("order_export"), {**params, "check": "1", "encoding": "cp932"}, **HTMX)
    assert_told(response)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "99999-12-31", "2026-02-30"])
@pytest.mark.parametrize("name", DATE_FILTERS)
def test_a_selection_of_an_absurd_search_holds_nothing_and_no_action_reaches_an_order(
    operator_client, tenant, kept_order, name, value
):
    query = f"{name}={value}"
    response = operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": query}, **HTMX)
    assert response.status_code == 200
    before = list(Order.objects.values_list("pk", "status_id", "ship_date", "version"))

    assert operator_client.get(reverse("home"), {name: value}).status_code == 200
    new = Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).first()
    assert operator_client.get(reverse("home"), {"status": new.pk}).status_code == 200
    export = operator_client.get(reverse("order_export"), {"scope": "selection"})
    assert export.status_code == 200
    assert len(list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))) == 1
    paid = PaymentMethod.objects.for_tenant(tenant).first()
    assert paid is not None
    for url, data in (
        (reverse("order_bulk_edit"), {"ship_date": "2026-11-20"}),
        (reverse("order_bulk_confirm_payment"), {"paid_on": "2026-11-20"}),
        (reverse("order_bulk_cancel"), {"reason": "テスト"}),
    ):
        for scope in ("", "all", "shown"):
            response = operator_client.post(url, {**data, "query": query, "scope": scope})
            assert response.status_code in (200, 302), (url, scope)
    assert list(Order.objects.values_list("pk", "status_id", "ship_date", "version")) == before
    assert operator_client.post(reverse("saved_search_create"), {"name": "変な日付", "query": query}).status_code == 302
    assert operator_client.get(reverse("home"), {name: value}).status_code == 200


# --- the forms an operator types dates into -------------------------------------------------------------

DATE_FIELD_TYPES = (forms.DateField, forms.DateTimeField)


def date_fields(form_class: type[forms.BaseForm]) -> list[str]:
    return [name for name, field in form_class.base_fields.items() if isinstance(field, DATE_FIELD_TYPES)]


# (form, field) → what the tests below post it through; a new date field fails here until it is fuzzed.
FUZZED_FIELDS = {
    ("DeliveryForm", "requested_delivery_date"),
    ("DeliveryForm", "ship_date"),
    ("PaymentConfirmForm", "paid_on"),
    ("BulkEditForm", "ship_date"),
    ("ConfirmPaymentForm", "paid_on"),
    ("OrderEntryForm", "ordered_at"),
    ("OrderEntryForm", "requested_delivery_date"),
}


def test_the_fuzz_covers_every_date_field_of_the_order_forms():
    found = set()
    for module in (orders.forms, orders.forms_bulk, orders.forms_entry):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__:
                found |= {(obj.__name__, name) for name in date_fields(obj)}
    assert found == FUZZED_FIELDS


def snapshot(order: Order) -> dict[str, Any]:
    return Order.objects.filter(pk=order.pk).values().get()


def _delivery(order: Order, field: str, value: str) -> dict[str, Any]:
    return {
        "payment_method": order.payment_method_id or "",
        "delivery_method": order.delivery_method_id or "",
        "delivery_slot": "",
        "requested_delivery_date": "",
        "ship_date": "",
        "shipping_store": "",
        field: value,
        "version": order.version,
    }


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_date_in_a_detail_form_is_refused_with_a_message(operator_client, tenant, value):
    order = make_order(tenant)
    for field in ("requested_delivery_date", "ship_date"):
        before = snapshot(order)
        response = operator_client.post(
            reverse("order_edit_delivery", args=[order.pk]), _delivery(order, field, value), **HTMX
        )
        assert_told(response)
        assert snapshot(order) == before

    waiting = Status.objects.for_tenant(tenant).filter(group__stage=Stage.AWAITING_PAYMENT).first()
    awaiting = make_order(tenant, status=waiting)
    before = snapshot(awaiting)
    response = operator_client.post(
        reverse("order_confirm_payment", args=[awaiting.pk]),
        {"version": awaiting.version, "amount": awaiting.total, "paid_on": value},
    )
    assert_told(response)
    assert snapshot(awaiting) == before


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_date_in_a_bulk_form_is_refused_with_a_message(operator_client, tenant, value):
    order = make_order(tenant)
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [order.pk]})
    before = snapshot(order)
    for url, data in (
        (reverse("order_bulk_edit"), {"ship_date": value}),
        (reverse("order_bulk_confirm_payment"), {"paid_on": value}),
    ):
        response = operator_client.post(url, data, follow=True)
        assert_told(response)
    assert snapshot(order) == before


@pytest.mark.parametrize("value", [*ABSURD, "9999-12-31T23:59", "0001-01-01T00:00", "10000-01-01T00:00"])
def test_an_absurd_date_in_the_entry_form_is_refused_with_a_message(operator_client, tenant, value):
    from tests.orders.test_entry import _payload

    count = Order.objects.count()
    for field in ("ordered_at", "requested_delivery_date"):
        response = operator_client.post(reverse("order_entry"), _payload(tenant, **{field: value}))
        assert_told(response)
    assert Order.objects.count() == count
