"""Manual entry of phone and FAX orders (B1): /orders/new/."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from orders.constants import ActorKind, EventType, Stage
from orders.models import Order, OrderEvent, OrderLine, PaymentMethod, StatusGroup
from orders.services.entry import manual_order_create, order_number_next
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from shops.models import Shop
from tests.factories import PASSWORD, ShopFactory, make_member, make_order

URL = "/orders/new/"


def _manual_shop(tenant):
    return Shop.objects.for_tenant(tenant).get(code="phone-fax")


def _payload(tenant, **changes: Any) -> dict[str, Any]:
    """A complete phone order as the form posts it: two lines and a blank row between them."""
    data: dict[str, Any] = {
        "shop": _manual_shop(tenant).pk,
        "external_id": "",
        "ordered_at": "2026-11-23T10:30",
        "orderer_name": "山田 花子",
        "orderer_kana": "やまだ はなこ",
        "orderer_phone": "０３－１２３４－５６７８",
        "orderer_email": "hanako@example.jp",
        "orderer_postal_code": "〒１００ー０００５",
        "orderer_prefecture": "東京都",
        "orderer_city": "千代田区",
        "orderer_address1": "丸の内1-9-1",
        "orderer_address2": "グラントウキョウ 12F",
        "same_as_orderer": "on",
        "dest_name": "",
        "dest_kana": "",
        "dest_company": "",
        "dest_phone": "",
        "dest_postal_code": "",
        "dest_prefecture": "",
        "dest_city": "",
        "dest_address1": "",
        "dest_address2": "",
        "payment_method": PaymentMethod.objects.for_tenant(tenant).get(code="cod").pk,
        "delivery_method": DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便").pk,
        "delivery_time_slot": "午前中",
        "requested_delivery_date": "2026-11-26",
        "shipping_fee": "600",
        "cod_fee": "330",
        "discount": "100",
        "remarks": "のし希望",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-sku": "TEA-100",
        "lines-0-name": "有機緑茶 100g",
        "lines-0-options": "",
        "lines-0-unit_price": "1080",
        "lines-0-quantity": "2",
        "lines-0-tax_rate": "8",
        "lines-0-DELETE": "",
        "lines-1-sku": "",
        "lines-1-name": "",
        "lines-1-options": "",
        "lines-1-unit_price": "",
        "lines-1-quantity": "1",
        "lines-1-tax_rate": "10",
        "lines-1-DELETE": "",
        "lines-2-sku": "CUP-01",
        "lines-2-name": "湯呑み",
        "lines-2-options": "色: 藍",
        "lines-2-unit_price": "2200",
        "lines-2-quantity": "1",
        "lines-2-tax_rate": "10",
        "lines-2-DELETE": "",
    }
    data.update(changes)
    return data


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), OrderEvent.objects.count()


def _ja(message: str, **params: Any) -> str:
    """A message as the Japanese UI shows it (English until the catalogue has it)."""
    with translation.override("ja"):
        text = gettext(message)
    return text % params if params else text


def _refused(client, data) -> Any:
    """Post, expect the form back (not a redirect), nothing saved; return the response."""
    before = _counts()
    response = client.post(URL, data)
    assert response.status_code == 200, response.status_code
    assert _counts() == before
    assert 'id="entry-errors"' in response.content.decode()
    return response


# --- the empty form ----------------------------------------------------------------------------------------


def test_url_is_named():
    assert reverse("order_entry") == URL


def test_form_offers_the_tenants_active_shops_with_phone_fax_first_choice(operator_client, tenant, other_tenant):
    rakuten = ShopFactory(tenant=tenant, name="楽天本店", mall=MallKind.RAKUTEN)
    ShopFactory(tenant=tenant, name="閉店したショップ", active=False)
    ShopFactory(tenant=other_tenant, name="他社のショップ")
    body = operator_client.get(URL).content.decode()
    manual = _manual_shop(tenant)
    assert f'<option value="{manual.pk}" selected>電話・FAX注文</option>' in body
    assert f'<option value="{rakuten.pk}">楽天本店</option>' in body
    assert "閉店したショップ" not in body
    assert "他社のショップ" not in body
    assert body.count('<option value="北海道">') == 2  # orderer and destination
    assert '<option value="沖縄県">' in body
    assert 'name="lines-TOTAL_FORMS" value="3"' in body
    assert 'id="line-template"' in body
    assert 'name="lines-__prefix__-name"' in body
    assert 'hx-get="/orders/postal/"' in body


def test_form_defaults_to_now_and_same_destination(operator_client):
    body = operator_client.get(URL).content.decode()
    now = timezone.localtime()
    assert f'value="{now:%Y-%m-%d}T' in body
    checkbox = '<input type="checkbox" name="same_as_orderer" class="form-check-input" id="id_same_as_orderer" checked>'
    assert checkbox in body


def test_form_payment_and_delivery_methods_are_the_tenants(operator_client, tenant, other_tenant):
    PaymentMethod.objects.create(tenant=other_tenant, name="他社専用決済", code="foreign")
    PaymentMethod.objects.filter(tenant=tenant, code="rakuten_pay").update(active=False)
    body = operator_client.get(URL).content.decode()
    assert "代金引換</option>" in body
    assert "宅急便</option>" in body
    assert "他社専用決済" not in body
    assert "楽天ペイ" not in body


def test_get_form_query_count_is_bounded(operator_client, tenant, django_assert_max_num_queries):
    for i in range(10):
        ShopFactory(tenant=tenant, name=f"店{i}")
    operator_client.get(URL)  # the first request after login stores the chosen company in the session
    # session, user, memberships; shops, payment methods, delivery methods
    with django_assert_max_num_queries(7):  # with the navigation's count of mail problems
        response = operator_client.get(URL)
    assert response.status_code == 200


def test_login_required(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- a good submission -------------------------------------------------------------------------------------


def test_success_creates_the_order_with_lines_totals_and_history(operator_client, operator, tenant):
    before = _counts()
    response = operator_client.post(URL, _payload(tenant))

    order = Order.objects.get(tenant=tenant, shop=_manual_shop(tenant))
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert _counts()[:2] == (before[0] + 1, before[1] + 2)  # the events: created, then auto-processing's

    assert order.external_id == "TEL-20261123-0001"
    assert order.ordered_at == dt.datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert order.stage == Stage.NEW
    lines = list(
        order.lines.order_by("position").values_list("sku", "name", "options", "unit_price", "quantity", "tax_rate")
    )
    assert lines == [("TEA-100", "有機緑茶 100g", "", 1080, 2, 8), ("CUP-01", "湯呑み", "色: 藍", 2200, 1, 10)]
    # 2,160 + 2,200 = 4,360; + 600 shipping + 330 COD − 100 discount = 5,190
    assert (order.item_subtotal, order.shipping_fee, order.cod_fee, order.discount) == (4360, 600, 330, 100)
    assert order.total == 5190
    # included tax: 8 % of 2,160 → 160; 10 % of 2,200 + 600 + 330 − 100 = 3,030 → 275
    assert order.tax == 160 + 275
    assert order.payment_method.code == "cod"
    assert order.delivery_method.name == "宅急便"
    assert (order.delivery_time_slot, order.requested_delivery_date) == ("午前中", dt.date(2026, 11, 26))
    assert order.remarks == "のし希望"

    event = OrderEvent.objects.get(order=order, type=EventType.CREATED)
    assert (event.actor_kind, event.actor_user_id, event.actor_name) == (ActorKind.USER, operator.pk, "operator")
    assert event.data["source"] == "manual"


def test_success_normalises_and_copies_the_orderer_to_the_destination(operator_client, tenant):
    operator_client.post(URL, _payload(tenant, dest_name="別の人", dest_postal_code="999-9999"))
    order = Order.objects.get(tenant=tenant)
    assert order.orderer_kana == "ヤマダ ハナコ"
    assert order.orderer_phone == "03-1234-5678"
    assert order.orderer_postal_code == "100-0005"
    assert (order.dest_name, order.dest_kana, order.dest_phone) == ("山田 花子", "ヤマダ ハナコ", "03-1234-5678")
    assert (order.dest_postal_code, order.dest_prefecture, order.dest_city) == ("100-0005", "東京都", "千代田区")
    assert (order.dest_address1, order.dest_address2) == ("丸の内1-9-1", "グラントウキョウ 12F")


def test_success_with_a_different_destination(operator_client, tenant):
    response = operator_client.post(
        URL,
        _payload(
            tenant,
            same_as_orderer="",
            dest_name="佐藤 一郎",
            dest_company="佐藤商事 総務部",
            dest_phone="06-1111-2222",
            dest_postal_code="5300001",
            dest_prefecture="大阪府",
            dest_city="大阪市北区",
            dest_address1="梅田1-1",
        ),
    )
    assert response.status_code == 302
    order = Order.objects.get(tenant=tenant)
    assert (order.dest_name, order.dest_company, order.dest_postal_code) == ("佐藤 一郎", "佐藤商事 総務部", "530-0001")
    assert order.orderer_name == "山田 花子"


def test_success_message_on_the_detail_page(operator_client, tenant):
    response = operator_client.post(URL, _payload(tenant), follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][1] == 302
    assert _ja("Registered order %(number)s.", number="TEL-20261123-0001") in body
    assert response.request["PATH_INFO"] == reverse("order_detail", args=[Order.objects.get().pk])


def test_order_numbers_count_up_per_shop_and_day(operator_client, tenant):
    other_shop = ShopFactory(tenant=tenant, name="FAX窓口", mall=MallKind.MANUAL)
    numbers = []
    for changes in ({}, {}, {"shop": other_shop.pk}, {"ordered_at": "2026-11-24T09:00"}, {}):
        assert operator_client.post(URL, _payload(tenant, **changes)).status_code == 302
        numbers.append(Order.objects.for_tenant(tenant).latest("pk").external_id)
    assert numbers == [
        "TEL-20261123-0001",
        "TEL-20261123-0002",
        "TEL-20261123-0001",
        "TEL-20261124-0001",
        "TEL-20261123-0003",
    ]


def test_generated_number_skips_numbers_typed_by_hand(operator_client, tenant):
    make_order(tenant, shop=_manual_shop(tenant), external_id="TEL-20261123-0007")
    make_order(tenant, shop=_manual_shop(tenant), external_id="TEL-20261123-memo")
    operator_client.post(URL, _payload(tenant))
    assert Order.objects.for_tenant(tenant).latest("pk").external_id == "TEL-20261123-0008"


def test_a_typed_order_number_is_kept(operator_client, tenant):
    operator_client.post(URL, _payload(tenant, external_id="  FAX-0042 "))
    assert Order.objects.get(tenant=tenant).external_id == "FAX-0042"


def test_a_typed_order_number_that_exists_is_refused(operator_client, tenant):
    make_order(tenant, shop=_manual_shop(tenant), external_id="FAX-0042")
    response = _refused(operator_client, _payload(tenant, external_id="FAX-0042"))
    assert response.context["form"].has_error("external_id", "number_taken")


def test_the_same_number_in_another_shop_is_fine(operator_client, tenant):
    mall_order = make_order(tenant, external_id="FAX-0042")  # a mall shop
    response = operator_client.post(URL, _payload(tenant, external_id="FAX-0042"))
    entered = Order.objects.get(tenant=tenant, shop=_manual_shop(tenant))
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", args=[entered.pk])
    assert entered.external_id == "FAX-0042"
    assert entered.orderer_name == "山田 花子"
    assert Order.objects.for_tenant(tenant).filter(external_id="FAX-0042").count() == 2
    assert Order.objects.get(pk=mall_order.pk).shop_id != entered.shop_id


def test_removed_and_blank_lines_are_ignored(operator_client, tenant):
    response = operator_client.post(URL, _payload(tenant, **{"lines-2-DELETE": "on", "lines-1-tax_rate": "10"}))
    assert response.status_code == 302
    assert list(OrderLine.objects.values_list("sku", flat=True)) == ["TEA-100"]


def test_lines_added_in_the_browser_count(operator_client, tenant):
    extra = {
        "lines-TOTAL_FORMS": "5",
        "lines-3-name": "急須",
        "lines-3-unit_price": "5500",
        "lines-3-quantity": "1",
        "lines-3-tax_rate": "10",
        "lines-4-name": "",
        "lines-4-unit_price": "",
        "lines-4-quantity": "1",
        "lines-4-tax_rate": "10",
    }
    operator_client.post(URL, _payload(tenant, **extra))
    assert Order.objects.get(tenant=tenant).item_subtotal == 4360 + 5500


def test_email_alone_is_enough_contact(operator_client, tenant):
    response = operator_client.post(URL, _payload(tenant, orderer_phone=""))
    order = Order.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert (order.orderer_phone, order.orderer_email) == ("", "hanako@example.jp")
    assert order.dest_phone == ""  # the destination copies the orderer, phone and all
    assert order.lines.count() == 2


# --- refused submissions: every error shown, nothing saved -------------------------------------------------


def test_unknown_postal_code_is_refused_with_a_clear_message(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, orderer_postal_code="999-9999"))
    form = response.context["form"]
    assert form.has_error("orderer_postal_code", "postal_unknown")
    body = response.content.decode()
    assert _ja("Postal code %(code)s was not found. Check the number.", code="999-9999") in body
    assert 'value="999-9999"' in body  # what was typed comes back
    assert 'value="有機緑茶 100g"' in body


def test_malformed_postal_code_is_refused(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, orderer_postal_code="100-00"))
    assert response.context["form"].has_error("orderer_postal_code", "postal_malformed")


def test_prefecture_must_match_the_postal_code(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, orderer_prefecture="大阪府"))
    assert response.context["form"].has_error("orderer_prefecture", "prefecture_mismatch")
    message = _ja(
        "%(entered)s does not match postal code %(code)s, which is in %(expected)s.",
        entered="大阪府",
        code="100-0005",
        expected="東京都",
    )
    assert message in response.content.decode()


def test_destination_address_is_checked_when_it_differs(operator_client, tenant):
    response = _refused(
        operator_client,
        _payload(
            tenant,
            same_as_orderer="",
            dest_name="佐藤",
            dest_postal_code="530-0001",
            dest_prefecture="東京都",
            dest_city="大阪市北区",
            dest_address1="",
        ),
    )
    form = response.context["form"]
    assert form.has_error("dest_prefecture", "prefecture_mismatch")
    assert form.has_error("dest_address1", "required")
    assert not form.has_error("orderer_prefecture")


def test_no_lines_is_refused(operator_client, tenant):
    blank = {f"lines-{i}-{name}": "" for i in (0, 2) for name in ("sku", "name", "options", "unit_price")}
    blank.update({"lines-0-quantity": "1", "lines-0-tax_rate": "10", "lines-2-quantity": "1", "lines-2-tax_rate": "10"})
    response = _refused(operator_client, _payload(tenant, **blank))
    assert [e.code for e in response.context["lines"].non_form_errors().as_data()] == ["no_lines"]
    assert _ja("Enter at least one line.") in response.content.decode()


def test_only_removed_lines_is_refused(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, **{"lines-0-DELETE": "on", "lines-2-DELETE": "on"}))
    assert "no_lines" in [e.code for e in response.context["lines"].non_form_errors().as_data()]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("shipping_fee", "-1", "min_value"),
        ("cod_fee", "1.5", "invalid"),
        ("discount", "abc", "invalid"),
        ("shipping_fee", "100000000", "max_value"),
        ("discount", "9" * 5000, "invalid"),
    ],
)
def test_amounts_must_be_whole_yen_zero_or_more(operator_client, tenant, field, value, code):
    response = _refused(operator_client, _payload(tenant, **{field: value}))
    assert response.context["form"].has_error(field, code)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("lines-0-quantity", "0", "min_value"),
        ("lines-0-quantity", "-2", "min_value"),
        ("lines-0-quantity", "1.5", "invalid"),
        ("lines-0-unit_price", "-100", "min_value"),
        ("lines-0-unit_price", "", "required"),
        ("lines-0-name", "", "required"),
        ("lines-0-tax_rate", "5", "invalid_choice"),
    ],
)
def test_line_values_are_checked(operator_client, tenant, field, value, code):
    response = _refused(operator_client, _payload(tenant, **{field: value}))
    assert response.context["lines"].forms[0].has_error(field.split("-")[-1], code)


def test_discount_larger_than_the_order_is_refused(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, discount="10000"))
    assert response.context["form"].has_error("discount", "discount_too_large")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"orderer_name": "  "}, "orderer_name", "required"),
        ({"orderer_phone": "", "orderer_email": ""}, "orderer_phone", "contact"),
        ({"orderer_phone": "03-1234"}, "orderer_phone", "phone"),
        ({"orderer_email": "hanako@"}, "orderer_email", "invalid"),
        ({"orderer_postal_code": ""}, "orderer_postal_code", "required"),
        ({"orderer_prefecture": "東京"}, "orderer_prefecture", "invalid_choice"),
        ({"orderer_city": ""}, "orderer_city", "required"),
        ({"ordered_at": ""}, "ordered_at", "required"),
        ({"ordered_at": "0001-01-01T00:00"}, "ordered_at", "date_range"),
        ({"requested_delivery_date": "2026-11-20"}, "requested_delivery_date", "date_order"),
        ({"delivery_time_slot": "深夜"}, "delivery_time_slot", "invalid_choice"),
    ],
)
def test_order_fields_are_checked(operator_client, tenant, changes, field, code):
    response = _refused(operator_client, _payload(tenant, **changes))
    assert response.context["form"].has_error(field, code)


def test_with_the_same_destination_an_error_shows_once_at_the_orderer(operator_client, tenant):
    response = _refused(operator_client, _payload(tenant, orderer_phone="12", orderer_postal_code="999-9999"))
    form = response.context["form"]
    assert form.has_error("orderer_phone", "phone")
    assert form.has_error("orderer_postal_code", "postal_unknown")
    assert not [name for name in form.errors if name.startswith("dest_")]
    assert response.context["errors_count"] == 2


def test_a_company_without_a_new_status_gets_the_reason_not_an_error_page(operator_client, tenant):
    StatusGroup.objects.filter(tenant=tenant, stage=Stage.NEW).update(stage=Stage.PAID)
    response = _refused(operator_client, _payload(tenant))
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["no_initial_status"]


def test_every_error_is_shown_at_once(operator_client, tenant):
    response = _refused(
        operator_client,
        _payload(
            tenant,
            orderer_name="",
            orderer_postal_code="999-9999",
            shipping_fee="-5",
            **{"lines-0-quantity": "0", "lines-2-name": ""},
        ),
    )
    form, lines = response.context["form"], response.context["lines"]
    assert {"orderer_name", "orderer_postal_code", "shipping_fee"} <= set(form.errors)
    assert lines.forms[0].has_error("quantity")
    assert lines.forms[2].has_error("name")
    body = response.content.decode()
    assert body.count('class="invalid-feedback d-block"') >= 5
    assert response.context["errors_count"] >= 5


@pytest.mark.parametrize("field", ["shop", "payment_method", "delivery_method"])
def test_another_tenants_row_is_refused(operator_client, tenant, other_tenant, field):
    foreign = {
        "shop": _manual_shop(other_tenant),
        "payment_method": PaymentMethod.objects.for_tenant(other_tenant).first(),
        "delivery_method": DeliveryMethod.objects.for_tenant(other_tenant).first(),
    }[field]
    response = _refused(operator_client, _payload(tenant, **{field: foreign.pk}))
    assert response.context["form"].has_error(field, "invalid_choice")
    assert not Order.objects.for_tenant(other_tenant).exists()


def test_an_inactive_shop_is_refused(operator_client, tenant):
    closed = ShopFactory(tenant=tenant, active=False)
    response = _refused(operator_client, _payload(tenant, shop=closed.pk))
    assert response.context["form"].has_error("shop", "invalid_choice")


@pytest.mark.parametrize(
    "changes",
    [
        {"shop": "abc"},
        {"shop": "99999999999999999999"},
        {"payment_method": "-1"},
        {"delivery_method": "1.5"},
        {"orderer_name": "山田\x00"},
        {"remarks": "x" * 5000},
        {"ordered_at": "9999-12-31T23:59"},
        {"requested_delivery_date": "0001-01-01"},
        {"lines-TOTAL_FORMS": "100000"},
        {"lines-TOTAL_FORMS": "x"},
        {"lines-0-unit_price": "99999999999999999999999"},
        {"lines-0-quantity": "1e9"},
        {"orderer_postal_code": "〒" * 30},
        {"same_as_orderer": "on", "orderer_prefecture": "<b>"},
    ],
)
def test_nothing_posted_causes_an_error_page(operator_client, tenant, changes):
    _refused(operator_client, _payload(tenant, **changes))


def test_a_missing_management_form_is_refused(operator_client, tenant):
    data = {k: v for k, v in _payload(tenant).items() if not k.startswith("lines-") or k[6].isdigit()}
    _refused(operator_client, data)


def test_another_tenants_operator_gets_their_own_defaults(client, other_tenant):
    user = make_member(other_tenant, username="other_op")
    client.login(username=user.username, password=PASSWORD)
    body = client.get(URL).content.decode()
    assert f'<option value="{_manual_shop(other_tenant).pk}" selected>' in body


# --- numbering under concurrency --------------------------------------------------------------------------


def test_order_number_next_reads_the_highest_serial(tenant):
    shop = _manual_shop(tenant)
    day = dt.date(2026, 11, 23)
    assert order_number_next(tenant=tenant, shop=shop, day=day) == "TEL-20261123-0001"
    make_order(tenant, shop=shop, external_id="TEL-20261123-0009")
    make_order(tenant, shop=shop, external_id="TEL-20261123-１２")  # full-width digits are not a serial
    assert order_number_next(tenant=tenant, shop=shop, day=day) == "TEL-20261123-0010"


@pytest.mark.django_db(transaction=True)
def test_two_operators_saving_at_once_get_different_numbers(require_postgres, tenant):
    """Real concurrent transactions on PostgreSQL: every save succeeds, every number is different."""
    users = [make_member(tenant, username=f"op{i}") for i in range(6)]
    data = _payload(tenant)
    outcomes: list[Any] = []
    start = threading.Barrier(len(users))

    def operator_saves(username: str) -> None:
        try:
            client = Client()
            client.login(username=username, password=PASSWORD)
            start.wait()
            for _ in range(3):
                outcomes.append(client.post(URL, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=operator_saves, args=(u.username,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [302] * 18
    numbers = sorted(Order.objects.for_tenant(tenant).values_list("external_id", flat=True))
    assert numbers == [f"TEL-20261123-{n:04d}" for n in range(1, 19)]


def test_manual_order_create_numbers_after_an_order_saved_just_before(tenant, operator):
    """The number is chosen inside the save, under the shop's lock: one taken a moment ago is skipped."""
    from orders.events import Actor

    shop = _manual_shop(tenant)
    fields = {"ordered_at": dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")), "orderer_name": "山田"}
    lines = [{"name": "茶", "unit_price": 100, "quantity": 1, "tax_rate": 8}]
    make_order(tenant, shop=shop, external_id="TEL-20261123-0001")
    order = manual_order_create(
        tenant=tenant, shop=shop, external_id="", fields=fields, lines=lines, actor=Actor.for_user(operator)
    )
    assert order.external_id == "TEL-20261123-0002"
    assert OrderEvent.objects.get(order=order).data["source"] == "manual"
