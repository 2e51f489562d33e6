"""The condition language: every field × operator on real rows, all/any, and refusing bad conditions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone, translation

from automation.conditions import (
    FIELDS,
    OPERATORS,
    ConditionError,
    clean_conditions,
    compile_conditions,
    validate_conditions,
)
from automation.islands import remote_islands_seed
from automation.models import OrderTask, TaskDefinition
from backyard.models import Tenant
from orders.models import Label, Order, OrderLabel, PaymentMethod, Status
from shipping.models import DeliveryMethod
from shops.models import Shop
from tests.factories import ShopFactory, make_order


@dataclass
class World:
    """The tenant's rows the conditions refer to, and its orders by name (A … F)."""

    tenant: Tenant
    orders: dict[str, Order]
    shop1: Shop
    shop2: Shop
    initial: Status
    check: Status
    cc: PaymentMethod
    bank: PaymentMethod
    cod: PaymentMethod
    takkyubin: DeliveryMethod
    gift: Label
    urgent: Label
    task1: TaskDefinition
    task2: TaskDefinition


def _same_party(prefix: str, **fields: str) -> dict[str, str]:
    return {f"{prefix}_{name}": value for name, value in fields.items()}


def _build(tenant: Tenant) -> World:
    """Six orders, each differing from the default (A) in a few fields; see the comments for what."""
    pm = {p.code: p for p in PaymentMethod.objects.for_tenant(tenant)}
    shop1, shop2 = ShopFactory(tenant=tenant), ShopFactory(tenant=tenant)
    check = Status.objects.for_tenant(tenant).get(name="要確認")
    okinawa = {"postal_code": "907-0022", "prefecture": "沖縄県", "city": "石垣市", "address1": "大川1"}
    hokkaido = {"postal_code": "060-0042", "prefecture": "北海道", "city": "札幌市中央区", "address1": "大通西1"}
    orders = {
        # A: the default — credit card, Tokyo 100-0005, SKU-001 × 2, total 2,760, orderer = destination
        "A": make_order(tenant, shop=shop1, external_id="A"),
        # B: a gift to Osaka (postal code stored without hyphen), bank transfer, 宅急便, remarks, date, 2 lines
        "B": make_order(
            tenant,
            shop=shop2,
            external_id="B",
            payment_method=pm["bank_transfer"],
            delivery_method=DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便"),
            remarks="ギフト包装をお願いします",
            requested_delivery_date=dt.date(2026, 1, 10),
            mail_inquiry=True,
            dest_name="佐藤 花子",
            dest_postal_code="5300001",
            dest_prefecture="大阪府",
            dest_city="大阪市北区",
            dest_address1="梅田1-1",
            lines=[
                {"sku": "ABC-100", "name": "Premium Coffee 200g", "unit_price": 3000, "quantity": 1},
                {"sku": "SKU-002", "name": "ほうじ茶", "unit_price": 500, "quantity": 3},
            ],
        ),
        # C: COD to Ishigaki (a seeded remote island), blank remarks, full-width comment, 10 items, 要確認
        "C": make_order(
            tenant,
            shop=shop1,
            external_id="C",
            payment_method=pm["cod"],
            status=check,
            remarks="  \n",
            order_comment="Ｂｉｇ\u3000ｏｒｄｅｒ",
            **_same_party("dest", **okinawa),
            **_same_party("orderer", **okinawa),
            lines=[{"sku": "SKU-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 10}],
        ),
        # D: no payment method, the mall's island flag, Hokkaido, a post-order comment, one lower-case SKU
        "D": make_order(
            tenant,
            shop=shop1,
            external_id="D",
            payment_method=None,
            post_order_comment="再配達希望",
            **_same_party("dest", **hokkaido),
            **_same_party("orderer", **hokkaido),
            lines=[{"sku": "sku-001x", "name": "有機緑茶 お徳用", "unit_price": 5000, "quantity": 1}],
        ),
        # E: orderer and destination differ only in spaces and hyphens: the same person
        "E": make_order(
            tenant,
            shop=shop1,
            external_id="E",
            orderer_name="山田\u3000太郎",
            orderer_postal_code="1000005",
            orderer_address1="丸の内 1－1－1",
        ),
        # F: no separate destination at all (ships to the orderer)
        "F": make_order(
            tenant,
            shop=shop1,
            external_id="F",
            **_same_party("dest", name="", kana="", phone="", postal_code="", prefecture="", city="", address1=""),
        ),
    }
    # The mall's own island flag is set by the import, not by order_create.
    Order.objects.filter(pk=orders["D"].pk).update(mall_remote_island=True)
    labels = {label.name: label for label in Label.objects.for_tenant(tenant)}
    OrderLabel.objects.create(tenant=tenant, order=orders["B"], label=labels["ギフト"])
    OrderLabel.objects.create(tenant=tenant, order=orders["D"], label=labels["至急"])
    task1 = TaskDefinition.objects.create(tenant=tenant, name="要確認タスク1")
    task2 = TaskDefinition.objects.create(tenant=tenant, name="要確認タスク2")
    OrderTask.objects.create(tenant=tenant, order=orders["C"], definition=task1)
    OrderTask.objects.create(tenant=tenant, order=orders["D"], definition=task1, resolved_at=timezone.now())
    OrderTask.objects.create(tenant=tenant, order=orders["B"], definition=task2)
    remote_islands_seed(tenant=tenant)
    return World(
        tenant=tenant,
        orders=orders,
        shop1=shop1,
        shop2=shop2,
        initial=Status.objects.for_tenant(tenant).get(name="新規受付"),
        check=check,
        cc=pm["credit_card"],
        bank=pm["bank_transfer"],
        cod=pm["cod"],
        takkyubin=DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便"),
        gift=labels["ギフト"],
        urgent=labels["至急"],
        task1=task1,
        task2=task2,
    )


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> World:
    built = _build(tenant)
    # Another tenant's order that would meet almost any condition: it must never show up.
    _build(other_tenant)
    return built


ALL = "ABCDEF"
V = Callable[[World], Any]

# (field, operator, value or a function of the world, the orders that match)
CASES: list[tuple[str, str, Any, str]] = [
    ("shop", "eq", lambda w: w.shop2.pk, "B"),
    ("shop", "ne", lambda w: w.shop2.pk, "ACDEF"),
    ("shop", "in", lambda w: [w.shop1.pk], "ACDEF"),
    ("shop", "not_in", lambda w: [w.shop2.pk], "ACDEF"),
    ("payment_method", "eq", lambda w: w.cc.pk, "AEF"),
    ("payment_method", "ne", lambda w: w.cc.pk, "BCD"),  # includes D, which has none
    ("payment_method", "in", lambda w: [w.bank.pk, w.cod.pk], "BC"),
    ("payment_method", "not_in", lambda w: [w.cc.pk], "BCD"),
    ("payment_method", "empty", None, "D"),
    ("payment_method", "not_empty", None, "ABCEF"),
    ("delivery_method", "eq", lambda w: w.takkyubin.pk, "B"),
    ("delivery_method", "ne", lambda w: w.takkyubin.pk, "ACDEF"),
    ("delivery_method", "in", lambda w: [str(w.takkyubin.pk)], "B"),  # ids as strings are fine
    ("delivery_method", "not_in", lambda w: [w.takkyubin.pk], "ACDEF"),
    ("delivery_method", "empty", None, "ACDEF"),
    ("delivery_method", "not_empty", None, "B"),
    ("remarks", "contains", "ｷﾞﾌﾄ", "B"),  # half-width kana typed: NFKC makes it ギフト
    ("remarks", "startswith", "ギフト包装", "B"),
    ("remarks", "eq", " ギフト包装をお願いします ", "B"),
    ("remarks", "empty", None, "ACDEF"),  # C's remarks are only spaces and a line break
    ("remarks", "not_empty", None, "B"),
    ("order_comment", "contains", "order", "C"),  # stored full width: ｏｒｄｅｒ
    ("order_comment", "startswith", "Ｂｉｇ", "C"),
    ("order_comment", "eq", "Ｂｉｇ\u3000ｏｒｄｅｒ", "C"),
    ("order_comment", "empty", None, "ABDEF"),
    ("order_comment", "not_empty", None, "C"),
    ("post_order_comment", "contains", "配達", "D"),
    ("post_order_comment", "startswith", "再配達", "D"),
    ("post_order_comment", "eq", "再配達希望", "D"),
    ("post_order_comment", "empty", None, "ABCEF"),
    ("post_order_comment", "not_empty", None, "D"),
    ("mail_inquiry", "eq", True, "B"),
    ("mail_inquiry", "eq", False, "ACDEF"),
    ("total", "eq", 2760, "AEF"),
    ("total", "ne", 2760, "BCD"),
    ("total", "gt", 5100, "CD"),
    ("total", "lt", 5100, "AEF"),
    ("total", "between", [5100, 5600], "BD"),  # both ends included
    ("item_subtotal", "eq", "4,500", "B"),
    ("item_subtotal", "ne", 2160, "BCD"),
    ("item_subtotal", "gt", "５０００", "C"),
    ("item_subtotal", "lt", 4500, "AEF"),
    ("item_subtotal", "between", ["4500", "5000円"], "BD"),
    ("line_sku", "eq", "SKU-001", "ACEF"),  # exact: D's sku-001x is another code
    ("line_sku", "in", ["ABC-100", "sku-001x"], "BD"),
    ("line_sku", "contains", "001", "ACDEF"),
    ("line_sku", "startswith", "abc", "B"),  # case-insensitive
    ("line_name", "contains", "COFFEE", "B"),
    ("line_name", "eq", "ほうじ茶", "B"),
    ("line_name", "startswith", "有機緑茶", "ACDEF"),
    ("total_quantity", "eq", 2, "AEF"),
    ("total_quantity", "ne", 2, "BCD"),
    ("total_quantity", "gt", 3, "BC"),
    ("total_quantity", "lt", 2, "D"),
    ("total_quantity", "between", [1, 4], "ABDEF"),
    ("dest_prefecture", "eq", "東京都", "AE"),
    ("dest_prefecture", "ne", "東京都", "BCDF"),
    ("dest_prefecture", "in", ["大阪府", "沖縄県"], "BC"),
    ("dest_prefecture", "not_in", ["東京都", "北海道"], "BCF"),
    ("dest_postal_code", "eq", "530-0001", "B"),  # stored as 5300001
    ("dest_postal_code", "eq", "〒１００ー０００５", "AE"),
    ("dest_postal_code", "startswith", "907", "C"),
    ("dest_postal_code", "startswith", "5300", "B"),
    ("dest_postal_code", "startswith", "100-0", "AE"),
    ("dest_postal_code", "in", ["5300001", "060-0042"], "BD"),
    ("dest_postal_code", "empty", None, "F"),
    ("dest_postal_code", "not_empty", None, "ABCDE"),
    ("remote_island", "eq", True, "CD"),  # C by the seeded 907 prefix, D by the mall's flag
    ("remote_island", "eq", False, "ABEF"),
    ("requested_delivery_date", "not_empty", None, "B"),
    ("requested_delivery_date", "empty", None, "ACDEF"),
    ("orderer_differs", "eq", True, "B"),  # E differs only in spacing; F has no destination
    ("orderer_differs", "eq", False, "ACDEF"),
    ("label", "eq", lambda w: w.gift.pk, "B"),
    ("label", "ne", lambda w: w.gift.pk, "ACDEF"),
    ("label", "in", lambda w: [w.gift.pk, w.urgent.pk], "BD"),
    ("label", "not_in", lambda w: [w.urgent.pk], "ABCEF"),
    ("label", "empty", None, "ACEF"),
    ("label", "not_empty", None, "BD"),
    ("task", "eq", lambda w: w.task1.pk, "C"),  # D's task 1 is resolved
    ("task", "ne", lambda w: w.task1.pk, "ABDEF"),
    ("task", "in", lambda w: [w.task1.pk, w.task2.pk], "BC"),
    ("task", "not_in", lambda w: [w.task1.pk], "ABDEF"),
    ("task", "empty", None, "ADEF"),
    ("task", "not_empty", None, "BC"),
    ("status", "eq", lambda w: w.initial.pk, "ABDEF"),
    ("status", "ne", lambda w: w.initial.pk, "C"),
    ("status", "in", lambda w: [w.initial.pk, w.check.pk], ALL),
    ("status", "not_in", lambda w: [w.check.pk], "ABDEF"),
]


def _matching(world: World, conditions: dict[str, Any]) -> str:
    """The names of the orders the conditions select — from ALL orders, so a missing tenant scope shows."""
    q = compile_conditions(world.tenant, conditions)
    return "".join(sorted(Order.objects.filter(q).values_list("external_id", flat=True)))


def _value(world: World, value: Any) -> Any:
    return value(world) if callable(value) else value


def test_the_cases_cover_every_field_and_operator():
    covered = {(field, op) for field, op, _value, _expected in CASES}
    wanted = {(code, op) for code, spec in FIELDS.items() for op in spec.operators}
    assert wanted == covered
    assert set(OPERATORS) >= {"eq", "ne", "in", "contains", "startswith", "empty", "not_empty", "gt", "lt", "between"}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"), CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_field_and_operator_matches_exactly_the_right_orders(world, field, op, value, expected):
    conditions = {"match": "all", "items": [{"field": field, "op": op, "value": _value(world, value)}]}
    assert _matching(world, conditions) == expected


def test_an_empty_condition_set_matches_every_order_of_the_tenant_only(world):
    assert _matching(world, {"match": "all", "items": []}) == ALL
    assert _matching(world, {"match": "any", "items": []}) == ALL


def test_all_requires_every_item_and_any_one_of_them(world):
    items = [
        {"field": "payment_method", "op": "in", "value": [world.cc.pk, world.bank.pk]},  # A B E F
        {"field": "total_quantity", "op": "gt", "value": 2},  # B C
    ]
    assert _matching(world, {"match": "all", "items": items}) == "B"
    assert _matching(world, {"match": "any", "items": items}) == "ABCEF"


def test_a_rule_over_every_field_is_one_query(world, django_assert_num_queries):
    items = [{"field": f, "op": op, "value": _value(world, v)} for f, op, v, _e in CASES if (f, op) != ("status", "eq")]
    q = compile_conditions(world.tenant, {"match": "any", "items": items})
    with django_assert_num_queries(1):
        assert len(list(Order.objects.filter(q))) == len(ALL)


def test_remote_island_rows_the_tenant_adds_count(world):
    from automation.models import RemoteIsland

    conditions = {"match": "all", "items": [{"field": "remote_island", "op": "eq", "value": True}]}
    assert _matching(world, conditions) == "CD"
    RemoteIsland.objects.create(tenant=world.tenant, postal_code="5300001", area="テスト")  # an exact code
    assert _matching(world, conditions) == "BCD"


# --- normalisation ------------------------------------------------------------------------------------------


def test_clean_returns_a_normalised_copy(world):
    cleaned = clean_conditions(
        world.tenant,
        {
            "items": [
                {"field": "payment_method", "op": "in", "value": [str(world.cc.pk), world.cc.pk, world.bank.pk]},
                {"field": "total", "op": "between", "value": ["１,０００", 2000.0]},
                {"field": "remarks", "op": "contains", "value": "  ギフト  "},
                {"field": "dest_postal_code", "op": "eq", "value": "１０００００５"},
                {"field": "dest_postal_code", "op": "startswith", "value": "100-00"},
                {"field": "remarks", "op": "empty", "value": "ignored"},
                {"field": "mail_inquiry", "op": "eq", "value": "true"},
            ]
        },
    )
    assert cleaned == {
        "match": "all",
        "items": [
            {"field": "payment_method", "op": "in", "value": [world.cc.pk, world.bank.pk]},
            {"field": "total", "op": "between", "value": [1000, 2000]},
            {"field": "remarks", "op": "contains", "value": "ギフト"},
            {"field": "dest_postal_code", "op": "eq", "value": "100-0005"},
            {"field": "dest_postal_code", "op": "startswith", "value": "10000"},
            {"field": "remarks", "op": "empty", "value": None},
            {"field": "mail_inquiry", "op": "eq", "value": True},
        ],
    }


# --- refusing bad conditions ----------------------------------------------------------------------------------


def _item(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"match": "all", "items": [{"field": field, "op": op, "value": value}]}


BAD: list[tuple[str, Any, str]] = [
    # (what is wrong, conditions or a function of the world, text the message must contain)
    ("not an object", ["payment_method"], "must be an object"),
    ("bad match", {"match": "some", "items": []}, "“match” must be"),
    ("items not a list", {"match": "all", "items": {"field": "total"}}, "must be a list"),
    ("item not an object", {"match": "all", "items": ["total > 5"]}, "Condition 1 must be an object"),
    ("unknown field", _item("colour", "eq", "red"), "there is no field “colour”"),
    ("unknown operator", _item("total", "gte", 5), "Total: there is no operator “gte”"),
    ("operator not for the field", _item("total", "contains", "5"), "Total: “contains” cannot be used"),
    ("bad number", _item("total", "gt", "1O00"), "Total: “1O00” is not a whole number"),
    ("a decimal", _item("total_quantity", "eq", 1.5), "Total quantity: “1.5” is not a whole number"),
    ("huge number", _item("total", "lt", 10**19), "Total: 10000000000000000000 is out of range"),
    ("between with one number", _item("total", "between", [5]), "Total: “between” needs two"),
    ("between reversed", _item("item_subtotal", "between", [5000, 100]), "Item subtotal: “between” needs two"),
    ("between not numbers", _item("total", "between", ["a", "b"]), "Total: “a” is not a whole number"),
    ("empty list", _item("shop", "in", []), "Shop: choose at least one value"),
    ("list for eq", _item("shop", "eq", [1]), "Shop: enter one value, not a list"),
    ("id not a number", _item("payment_method", "eq", "card"), "Payment method: “card” is not a valid choice"),
    ("missing text", _item("remarks", "contains", "  "), "Remarks from the customer: enter the text"),
    ("not a bool", _item("remote_island", "eq", "maybe"), "Remote island: choose yes or no"),
    ("bad prefecture", _item("dest_prefecture", "eq", "東京"), "Destination prefecture: “東京” is not a prefecture"),
    ("bad postal code", _item("dest_postal_code", "eq", "100-000"), "Destination postal code: enter a postal code"),
    ("bad postal prefix", _item("dest_postal_code", "startswith", "10a"), "Destination postal code: enter the first"),
    ("deleted status", _item("status", "eq", 987654), "Current status: the selected status (ID 987654) does not"),
    ("deleted payment", _item("payment_method", "in", [987654]), "Payment method: the selected payment method"),
    ("deleted shop", _item("shop", "ne", 987654), "Shop: the selected shop (ID 987654)"),
    ("deleted delivery", _item("delivery_method", "eq", 987654), "Delivery method: the selected delivery method"),
    ("deleted label", _item("label", "eq", 987654), "Label: the selected label (ID 987654)"),
    ("deleted task", _item("task", "not_in", [987654]), "Open task: the selected task (ID 987654)"),
]


@pytest.mark.parametrize(("case", "conditions", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_conditions_are_refused_with_a_message_naming_the_field(tenant, case, conditions, expected):
    with translation.override("en"):
        errors = validate_conditions(tenant, conditions)
        assert len(errors) == 1
        assert expected in errors[0]
        with pytest.raises(ConditionError) as raised:
            compile_conditions(tenant, conditions)
    assert raised.value.messages == errors


def test_every_problem_is_reported_at_once(tenant):
    conditions = {
        "match": "all",
        "items": [
            {"field": "total", "op": "gt", "value": "x"},
            {"field": "nope", "op": "eq", "value": 1},
            {"field": "status", "op": "in", "value": [987654]},
        ],
    }
    with translation.override("en"):
        errors = validate_conditions(tenant, conditions)
    assert len(errors) == 3
    assert errors[1] == "Condition 2: there is no field “nope”."


def test_messages_are_in_japanese_for_japanese_operators(tenant):
    with translation.override("ja"):
        errors = validate_conditions(tenant, _item("payment_method", "eq", 987654))
    assert errors[0].startswith("決済方法: ")


@pytest.mark.parametrize("field", ["status", "shop", "payment_method", "delivery_method", "label", "task"])
def test_another_tenants_ids_do_not_exist(world, other_tenant, field):
    theirs = (
        {
            "status": Status,
            "shop": Shop,
            "payment_method": PaymentMethod,
            "delivery_method": DeliveryMethod,
            "label": Label,
            "task": TaskDefinition,
        }[field]
        .objects.for_tenant(other_tenant)
        .first()
    )
    conditions = _item(field, "in", [theirs.pk])
    with translation.override("en"):
        errors = validate_conditions(world.tenant, conditions)
        assert errors == [f"{FIELDS[field].label}: the selected {_NOUN[field]} (ID {theirs.pk}) does not exist."]
    with pytest.raises(ConditionError):
        compile_conditions(world.tenant, conditions)
    # and the other tenant itself may use them
    assert validate_conditions(other_tenant, conditions) == []


_NOUN = {
    "status": "status",
    "shop": "shop",
    "payment_method": "payment method",
    "delivery_method": "delivery method",
    "label": "label",
    "task": "task",
}


def test_compile_never_returns_a_match_everything_q_for_bad_input(tenant):
    for bad in (None, {}, {"match": "all"}, {"match": "all", "items": None}, "[]"):
        with pytest.raises(ConditionError):
            compile_conditions(tenant, bad)
    assert isinstance(compile_conditions(tenant, {"items": []}), Q)


def test_choices_for_the_ui_are_the_tenants_own(world, other_tenant):
    shops = FIELDS["shop"].choices(world.tenant)
    assert {pk for pk, _name in shops} == set(Shop.objects.for_tenant(world.tenant).values_list("pk", flat=True))
    statuses = dict(FIELDS["status"].choices(world.tenant))
    assert statuses[world.check.pk] == "新規 / 要確認"
    assert len(FIELDS["dest_prefecture"].choices(world.tenant)) == 47
    assert [value for value, _label in FIELDS["remote_island"].choices(world.tenant)] == [True, False]
    assert FIELDS["total"].choices(world.tenant) is None
    tasks = {pk for pk, _n in FIELDS["task"].choices(world.tenant)}
    assert {world.task1.pk, world.task2.pk} <= tasks
    assert tasks == set(TaskDefinition.objects.for_tenant(world.tenant).values_list("pk", flat=True))
