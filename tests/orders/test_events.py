"""Every order service writes its history: what changed, old and new values, and who did it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from backyard.models import Role, Tenant
from backyard.services import membership_set
from orders.constants import ActorKind, EventType, Stage
from orders.events import Actor
from orders.exceptions import StaleOrder
from orders.models import Label, Order, OrderEvent, OrderLabel, OrderLine, PaymentMethod, Status
from orders.selectors import order_events
from orders.services import (
    compute_amounts,
    order_add_label,
    order_add_memo,
    order_create,
    order_line_add,
    order_line_remove,
    order_line_update,
    order_move_to_status,
    order_remove_label,
    order_update,
)
from shipping.models import DeliveryMethod, ShippingStore
from shops.models import Shop
from tests.factories import make_order

JST = ZoneInfo("Asia/Tokyo")
TEA = {"sku": "SKU-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8}
TEAPOT = {"sku": "SKU-002", "name": "常滑焼 急須", "unit_price": 3300, "quantity": 1, "tax_rate": 10}
# make_order's default order: TEA (2,160 yen at 8 %) and 600 yen shipping (10 %).
#   tax = 2160·8 // 108 + 600·10 // 110 = 160 + 54 = 214; total = 2160 + 600 = 2760
BASE = {"item_subtotal": 2160, "tax": 214, "total": 2760}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Field labels in the events are asserted in English, whatever the catalogue holds."""
    with translation.override("en"):
        yield


@pytest.fixture
def operator(tenant: Tenant) -> Any:
    """An operator of `tenant` who never logs in: no password to hash (conftest's costs ~0.4 s a test)."""
    user = get_user_model().objects.create(username="operator")
    membership_set(tenant=tenant, user=user, role=Role.OPERATOR)
    return user


@pytest.fixture
def actor(operator: Any) -> Actor:
    return Actor.for_user(operator)


def events(order: Order, type_: EventType | None = None) -> list[OrderEvent]:
    qs = order_events(order=order)
    return list(qs.filter(type=type_) if type_ else qs)


def amounts(order: Order) -> dict[str, int]:
    row = Order.objects.filter(pk=order.pk).values("item_subtotal", "tax", "total").get()
    return dict(row)


def assert_by_user(event: OrderEvent, user: Any) -> None:
    assert (event.actor_kind, event.actor_name, event.actor_user_id) == (
        ActorKind.USER,
        user.username,
        user.pk,
    )


def status_named(tenant: Tenant, name: str) -> Status:
    return Status.objects.for_tenant(tenant).select_related("group").get(name=name)


# --- actors -----------------------------------------------------------------------------------------------


def test_actor_for_user_records_user_id_and_username(operator: Any) -> None:
    actor = Actor.for_user(operator)
    assert actor == Actor(ActorKind.USER, "operator", operator.pk)
    assert isinstance(actor.user_id, int)


@pytest.mark.parametrize(
    ("actor", "kind", "name"),
    [
        (Actor.rule("代引き手数料ルール"), ActorKind.RULE, "代引き手数料ルール"),
        (Actor.importer("rakuten"), ActorKind.IMPORT, "rakuten"),
        (Actor.system(), ActorKind.SYSTEM, "system"),
    ],
    ids=["rule", "import", "system"],
)
def test_non_user_actors_carry_no_user(tenant: Tenant, actor: Actor, kind: ActorKind, name: str) -> None:
    order = make_order(tenant, actor=actor)
    (created,) = events(order)
    assert (created.actor_kind, created.actor_name, created.actor_user_id) == (kind, name, None)


# --- creating and moving ----------------------------------------------------------------------------------


def test_order_create_writes_created_event(tenant: Tenant, operator: Any, actor: Actor) -> None:
    shop = Shop.objects.for_tenant(tenant).get(code="phone-fax")
    order = order_create(
        tenant=tenant,
        shop=shop,
        external_id="TEL-0001",
        fields={"orderer_name": "鈴木 一郎"},
        lines=[TEA],
        actor=actor,
        source="phone",
    )
    (created,) = events(order)
    first = status_named(tenant, "新規受付")
    assert created.type == EventType.CREATED
    assert created.tenant_id == tenant.pk
    assert created.data == {
        "source": "phone",
        "status": {"id": first.pk, "name": "新規受付", "group": "新規", "stage": "new"},
    }
    assert_by_user(created, operator)
    assert created.actor_user == operator


def test_order_move_to_status_writes_old_and_new_status(tenant: Tenant, operator: Any, actor: Actor) -> None:
    order = make_order(tenant)
    old, new = status_named(tenant, "新規受付"), status_named(tenant, "在庫引当済")

    order_move_to_status(order=order, status=new, actor=actor)

    (changed,) = events(order, EventType.STATUS_CHANGED)
    assert changed.data == {
        "old": {"id": old.pk, "name": "新規受付", "group": "新規", "stage": "new"},
        "new": {"id": new.pk, "name": "在庫引当済", "group": "在庫確認済", "stage": "stock_checked"},
    }
    assert_by_user(changed, operator)


# --- editing fields ---------------------------------------------------------------------------------------


def test_order_update_writes_one_event_per_changed_field(tenant: Tenant, operator: Any, actor: Actor) -> None:
    order = make_order(tenant)
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    bank = PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")
    new_ordered_at = dt.datetime(2026, 3, 1, 10, 0, tzinfo=JST)

    order_update(
        order=order,
        changes={
            "dest_name": "佐藤 花子",
            "requested_delivery_date": dt.date(2026, 4, 1),
            "ordered_at": new_ordered_at,
            "payment_method": bank,
            "mail_inquiry": True,
            "orderer_name": "山田 太郎",  # unchanged: no event
            "shipping_fee": 600,  # unchanged: no event
        },
        actor=actor,
    )

    changed = events(order, EventType.FIELD_CHANGED)
    by_field = {e.data["field"]: e.data for e in changed}
    assert list(by_field) == [
        "dest_name",
        "requested_delivery_date",
        "ordered_at",
        "payment_method",
        "mail_inquiry",
    ]
    assert by_field["dest_name"] == {
        "field": "dest_name",
        "label": "recipient name",
        "old": "山田 太郎",
        "new": "佐藤 花子",
    }
    assert by_field["requested_delivery_date"] == {
        "field": "requested_delivery_date",
        "label": "requested delivery date",
        "old": None,
        "new": "2026-04-01",
    }
    assert by_field["ordered_at"]["new"] == "2026-03-01T10:00:00+09:00"
    assert dt.datetime.fromisoformat(by_field["ordered_at"]["old"]) == order.ordered_at
    assert by_field["payment_method"]["old"] == {"id": card.pk, "name": "クレジットカード"}
    assert by_field["payment_method"]["new"] == {"id": bank.pk, "name": "銀行振込"}
    assert (by_field["mail_inquiry"]["old"], by_field["mail_inquiry"]["new"]) == (False, True)
    for event in changed:
        assert_by_user(event, operator)

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.dest_name, fresh.requested_delivery_date, fresh.ordered_at, fresh.payment_method_id) == (
        "佐藤 花子",
        dt.date(2026, 4, 1),
        new_ordered_at,
        bank.pk,
    )
    assert fresh.mail_inquiry is True
    assert fresh.version == order.version + 1


def test_order_update_with_nothing_changed_writes_nothing(tenant: Tenant, actor: Actor) -> None:
    order = make_order(tenant)
    before = Order.objects.filter(pk=order.pk).values("version", "updated_at").get()

    order_update(order=order, changes={"dest_name": order.dest_name, "shipping_fee": 600}, actor=actor)

    assert events(order, EventType.FIELD_CHANGED) == []
    assert Order.objects.filter(pk=order.pk).values("version", "updated_at").get() == before


@pytest.mark.parametrize(
    ("field", "old", "new", "expected"),
    [
        # 10 % part = shipping + COD − discount: 800 → 72, 300 → 27, 930 → 84; points reduce only the total.
        ("shipping_fee", 600, 800, {"item_subtotal": 2160, "tax": 160 + 72, "total": 2960}),
        ("discount", 0, 300, {"item_subtotal": 2160, "tax": 160 + 27, "total": 2460}),
        ("cod_fee", 0, 330, {"item_subtotal": 2160, "tax": 160 + 84, "total": 3090}),
        ("points_used", 0, 500, {"item_subtotal": 2160, "tax": 214, "total": 2260}),
    ],
)
def test_order_update_recomputes_totals(
    tenant: Tenant, actor: Actor, field: str, old: int, new: int, expected: dict[str, int]
) -> None:
    order = make_order(tenant)
    assert amounts(order) == BASE

    order_update(order=order, changes={field: new}, actor=actor)

    assert amounts(order) == expected
    (changed,) = events(order, EventType.FIELD_CHANGED)
    assert (changed.data["field"], changed.data["old"], changed.data["new"]) == (field, old, new)


def test_order_update_refuses_a_stale_version_and_saves_nothing(tenant: Tenant, actor: Actor) -> None:
    order = make_order(tenant)
    loaded = order.version
    order_update(order=order, changes={"dest_name": "先に保存した人"}, actor=actor, expected_version=loaded)
    before = Order.objects.filter(pk=order.pk).values().get()
    events_before = len(events(order))

    with pytest.raises(StaleOrder):
        order_update(
            order=order,
            changes={"dest_name": "後から保存した人", "shipping_fee": 0},
            actor=actor,
            expected_version=loaded,
        )

    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert before["dest_name"] == "先に保存した人"
    assert before["version"] == loaded + 1
    assert len(events(order)) == events_before


def foreign_row(other_tenant: Tenant, field: str) -> Any:
    if field == "payment_method":
        return PaymentMethod.objects.for_tenant(other_tenant).get(code="bank_transfer")
    if field == "delivery_method":
        return DeliveryMethod.objects.for_tenant(other_tenant).get(name="ネコポス")
    return ShippingStore.objects.for_tenant(other_tenant).get(code="main")


@pytest.mark.parametrize("field", ["payment_method", "delivery_method", "shipping_store"])
def test_order_update_refuses_another_tenants_rows(
    tenant: Tenant, other_tenant: Tenant, actor: Actor, field: str
) -> None:
    order = make_order(tenant)
    before = Order.objects.filter(pk=order.pk).values().get()

    with pytest.raises(ValueError, match="another tenant"):
        order_update(
            order=order,
            changes={"dest_name": "佐藤 花子", field: foreign_row(other_tenant, field)},
            actor=actor,
        )

    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert events(order, EventType.FIELD_CHANGED) == []


def test_order_create_refuses_another_tenants_rows(tenant: Tenant, other_tenant: Tenant, actor: Actor) -> None:
    shop = Shop.objects.for_tenant(tenant).get(code="phone-fax")
    with pytest.raises(ValueError, match="another tenant"):
        order_create(
            tenant=tenant,
            shop=shop,
            external_id="TEL-0002",
            lines=[TEA],
            actor=actor,
            fields={"payment_method": foreign_row(other_tenant, "payment_method")},
        )
    assert not Order.objects.filter(external_id="TEL-0002").exists()


@pytest.mark.parametrize("field", ["stage", "status", "total", "version", "work_memo"])
def test_order_update_refuses_fields_that_services_manage(tenant: Tenant, actor: Actor, field: str) -> None:
    order = make_order(tenant)
    before = Order.objects.filter(pk=order.pk).values().get()
    value = {
        "stage": Stage.COMPLETED,
        "status": status_named(tenant, "売上確定"),
        "total": 1,
        "version": 99,
        "work_memo": "x",
    }[field]
    with pytest.raises(ValueError, match="not editable"):
        order_update(order=order, changes={field: value}, actor=actor)
    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert events(order, EventType.FIELD_CHANGED) == []


# --- work memo --------------------------------------------------------------------------------------------


def test_order_add_memo_appends_stamped_lines(tenant: Tenant, operator: Any, actor: Actor) -> None:
    order = make_order(tenant)

    order_add_memo(order=order, text="  お客様に電話で在庫を確認  ", actor=actor)
    order_add_memo(order=order, text="ギフト包装を追加", actor=actor)

    fresh = Order.objects.get(pk=order.pk)
    first, second = fresh.work_memo.split("\n")
    stamp = r"\[(\d{4}/\d{2}/\d{2} \d{2}:\d{2}) operator\] "
    match = re.fullmatch(stamp + "お客様に電話で在庫を確認", first)
    assert match
    assert re.fullmatch(stamp + "ギフト包装を追加", second)
    # The stamp is the merchant's wall clock (Japan time), not UTC.
    stamped = dt.datetime.strptime(match.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=JST)
    assert abs(stamped - timezone.now()) < dt.timedelta(minutes=2)
    assert fresh.version == order.version + 2
    memos = events(order, EventType.MEMO_ADDED)
    assert [e.data for e in memos] == [{"text": "お客様に電話で在庫を確認"}, {"text": "ギフト包装を追加"}]
    assert_by_user(memos[0], operator)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_order_add_memo_blank_writes_nothing(tenant: Tenant, actor: Actor, text: str) -> None:
    order = make_order(tenant)
    before = Order.objects.filter(pk=order.pk).values("work_memo", "version", "updated_at").get()

    order_add_memo(order=order, text=text, actor=actor)

    assert Order.objects.filter(pk=order.pk).values("work_memo", "version", "updated_at").get() == before
    assert events(order, EventType.MEMO_ADDED) == []


# --- labels -----------------------------------------------------------------------------------------------


def test_labels_add_and_remove_are_idempotent(tenant: Tenant, operator: Any, actor: Actor) -> None:
    order = make_order(tenant)
    urgent = Label.objects.for_tenant(tenant).get(name="至急")
    label_data = {"label": {"id": urgent.pk, "name": "至急", "colour": "#dc3545"}}

    assert order_add_label(order=order, label=urgent, actor=actor) is True
    assert order_add_label(order=order, label=urgent, actor=actor) is False
    assert list(order.labels.all()) == [urgent]
    added = events(order, EventType.LABEL_ADDED)
    assert [e.data for e in added] == [label_data]
    assert_by_user(added[0], operator)

    assert order_remove_label(order=order, label=urgent, actor=actor) is True
    assert order_remove_label(order=order, label=urgent, actor=actor) is False
    assert list(order.labels.all()) == []
    removed = events(order, EventType.LABEL_REMOVED)
    assert [e.data for e in removed] == [label_data]
    assert_by_user(removed[0], operator)


def test_another_tenants_label_is_refused(tenant: Tenant, other_tenant: Tenant, actor: Actor) -> None:
    order = make_order(tenant)
    foreign = Label.objects.for_tenant(other_tenant).get(name="至急")
    with pytest.raises(ValueError, match="another tenant"):
        order_add_label(order=order, label=foreign, actor=actor)
    assert not OrderLabel.objects.filter(order=order).exists()
    assert events(order, EventType.LABEL_ADDED) == []


# --- lines and amounts ------------------------------------------------------------------------------------


def lines(*specs: tuple[int, int, int]) -> list[OrderLine]:
    return [OrderLine(name="x", unit_price=price, quantity=qty, tax_rate=rate) for price, qty, rate in specs]


@pytest.mark.parametrize(
    ("line_specs", "fees", "expected"),
    [
        pytest.param(
            [(1080, 3, 8), (2200, 1, 10), (550, 2, 10)],
            (770, 330, 440, 100),
            # 8 %: 3240 → 3240·8/108 = 240; 10 %: 3300 + 770 + 330 − 440 = 3960 → 360
            {"item_subtotal": 6540, "tax": 240 + 360, "total": 6540 + 770 + 330 - 440 - 100},
            id="mixed-rates-with-fees",
        ),
        pytest.param(
            [(1000, 1, 8), (1500, 1, 10)],
            (0, 0, 0, 0),
            # 8000/108 = 74.07 → 74; 15000/110 = 136.36 → 136
            {"item_subtotal": 2500, "tax": 74 + 136, "total": 2500},
            id="rounded-down",
        ),
        pytest.param(
            [(100, 1, 8), (100, 1, 8), (100, 1, 8)],
            (0, 0, 0, 0),
            # once per rate: 300·8/108 = 22.2 → 22 (per line it would be 7 + 7 + 7 = 21)
            {"item_subtotal": 300, "tax": 22, "total": 300},
            id="rounded-once-per-rate",
        ),
        pytest.param(
            [(1100, 1, 10)],
            (0, 0, 0, 1000),
            {"item_subtotal": 1100, "tax": 100, "total": 100},
            id="points-do-not-reduce-tax",
        ),
        pytest.param(
            [(500, 1, 0), (1080, 1, 8)],
            (0, 0, 0, 0),
            {"item_subtotal": 1580, "tax": 80, "total": 1580},
            id="untaxed-line",
        ),
    ],
)
def test_compute_amounts(
    line_specs: list[tuple[int, int, int]], fees: tuple[int, int, int, int], expected: dict[str, int]
) -> None:
    shipping_fee, cod_fee, discount, points_used = fees
    assert (
        compute_amounts(
            lines=lines(*line_specs),
            shipping_fee=shipping_fee,
            cod_fee=cod_fee,
            discount=discount,
            points_used=points_used,
        )
        == expected
    )


def line_data(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "sku": line.sku,
        "name": line.name,
        "options": line.options,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "tax_rate": line.tax_rate,
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # 3240 at 8 % → 240, plus 54 on shipping
        ({"quantity": 3}, {"item_subtotal": 3240, "tax": 240 + 54, "total": 3840}),
        # 1960 at 8 % → 145.18 → 145
        ({"unit_price": 980}, {"item_subtotal": 1960, "tax": 145 + 54, "total": 2560}),
        # all at 10 %: (2160 + 600)·10/110 = 250.9 → 250
        ({"tax_rate": 10}, {"item_subtotal": 2160, "tax": 250, "total": 2760}),
    ],
    ids=["quantity", "unit-price", "tax-rate"],
)
def test_order_line_update_writes_changes_and_totals_follow(
    tenant: Tenant, operator: Any, actor: Actor, changes: dict[str, int], expected: dict[str, int]
) -> None:
    order = make_order(tenant, lines=[TEA])
    line = order.lines.get()
    ((field, new),) = changes.items()
    old = getattr(line, field)

    order_line_update(line=line, changes={**changes, "name": TEA["name"]}, actor=actor)

    assert getattr(OrderLine.objects.get(pk=line.pk), field) == new
    assert amounts(order) == expected
    assert Order.objects.get(pk=order.pk).version == order.version + 1
    (event,) = events(order, EventType.LINE_CHANGED)
    assert event.data == {
        "line": line_data(OrderLine.objects.get(pk=line.pk)),
        "changes": [{"field": field, "old": old, "new": new}],
    }
    assert_by_user(event, operator)


def test_order_line_update_without_change_writes_nothing(tenant: Tenant, actor: Actor) -> None:
    order = make_order(tenant, lines=[TEA])
    line = order.lines.get()
    order_line_update(line=line, changes={"quantity": 2, "unit_price": 1080}, actor=actor)
    assert events(order, EventType.LINE_CHANGED) == []
    assert Order.objects.get(pk=order.pk).version == order.version


def test_order_line_update_refuses_unknown_fields(tenant: Tenant, actor: Actor) -> None:
    order = make_order(tenant, lines=[TEA])
    line = order.lines.get()
    with pytest.raises(ValueError, match="not editable"):
        order_line_update(line=line, changes={"order": make_order(tenant)}, actor=actor)
    assert OrderLine.objects.get(pk=line.pk).order_id == order.pk


def test_order_line_add_writes_event_and_totals_follow(tenant: Tenant, operator: Any, actor: Actor) -> None:
    order = make_order(tenant, lines=[TEA])

    line = order_line_add(order=order, values=TEAPOT, actor=actor)

    assert line.position == 2
    assert list(order.lines.values_list("sku", flat=True)) == ["SKU-001", "SKU-002"]
    # 8 %: 160; 10 %: (3300 + 600)·10/110 = 354.5 → 354
    assert amounts(order) == {"item_subtotal": 5460, "tax": 160 + 354, "total": 6060}
    (event,) = events(order, EventType.LINE_ADDED)
    assert event.data == {"line": {"id": line.pk, **TEAPOT, "options": ""}}
    assert_by_user(event, operator)


@pytest.mark.parametrize(
    ("remove", "expected"),
    [
        ("SKU-002", BASE),
        # 3300 + 600 at 10 % → 354.5 → 354
        ("SKU-001", {"item_subtotal": 3300, "tax": 354, "total": 3900}),
    ],
)
def test_order_line_remove_writes_event_and_totals_follow(
    tenant: Tenant, operator: Any, actor: Actor, remove: str, expected: dict[str, int]
) -> None:
    order = make_order(tenant, lines=[TEA, TEAPOT])
    line = order.lines.get(sku=remove)
    data = line_data(line)

    order_line_remove(line=line, actor=actor)

    assert not OrderLine.objects.filter(pk=data["id"]).exists()
    assert order.lines.count() == 1
    assert amounts(order) == expected
    assert Order.objects.get(pk=order.pk).version == order.version + 1
    (event,) = events(order, EventType.LINE_REMOVED)
    assert event.data == {"line": data}
    assert_by_user(event, operator)


def test_make_order_defaults_add_up(tenant: Tenant) -> None:
    """The base the numbers above start from."""
    order = make_order(tenant)
    assert (order.stage, order.status.group.stage) == (Stage.NEW, Stage.NEW)
    assert amounts(order) == BASE
