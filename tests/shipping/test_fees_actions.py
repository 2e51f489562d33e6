"""The fee-table rule actions through the real engine (issue 16, item 1): "set the shipping fee from the fee
table" and "change the delivery method for remote islands": fees, totals recomputed like compute_amounts,
events naming the rule, versions, refusals reported, and a fixed number of queries whatever the orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from automation.actions import validate_actions
from automation.services import process
from orders.constants import ActorKind, Stage
from orders.models import Order, PaymentMethod
from orders.services import compute_amounts
from shipping.models import DeliveryMethod
from tests.automation.engine_helpers import events_after, group, last_event_pk, quiet, rule, status_of
from tests.factories import make_order
from tests.shipping.fee_helpers import line, method, product, size_table

FROM_TABLE = [{"type": "set_shipping_fee_from_table"}]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def world(tenant: Any) -> dict[str, Any]:
    quiet(tenant)
    product(tenant, "A60", "60")
    product(tenant, "B80", "80")
    return {
        "new": status_of(tenant, Stage.NEW),
        "group": group(tenant, "送料", 10),
        "via": method(tenant, "宅急便", size_table(tenant)),
        "cod": PaymentMethod.objects.for_tenant(tenant).get(code="cod"),
    }


def run(
    tenant: Any, world: dict[str, Any], actions: list[dict[str, Any]], orders: list[Order]
) -> tuple[Any, Any, list]:
    made = rule(world["group"], "送料表ルール", 1, [world["new"]], actions)
    before = last_event_pk()
    result = process(tenant=tenant, order_ids=[o.pk for o in orders])
    return made, result, events_after(tenant, before)


def order(tenant: Any, world: dict[str, Any], prefecture: str = "東京都", postal: str = "100-0005", **kw: Any) -> Order:
    kw.setdefault("lines", [line("A60", price=1080, quantity=2, rate=8), line("B80", price=1650)])
    return make_order(tenant, delivery_method=world["via"], dest_prefecture=prefecture, dest_postal_code=postal, **kw)


def assert_amounts_like_compute_amounts(o: Order) -> None:
    expected = compute_amounts(
        lines=list(o.lines.all()),
        shipping_fee=o.shipping_fee,
        cod_fee=o.cod_fee,
        discount=o.discount,
        points_used=o.points_used,
    )
    assert {k: getattr(o, k) for k in expected} == expected


def test_the_fee_comes_from_the_table_with_totals_recomputed_and_events(tenant, world):
    osaka = order(tenant, world, "大阪府", "530-0001", discount=300)  # 関西 × 80 = 1,500
    cod = order(tenant, world, payment_method=world["cod"], cod_fee=0)  # 関東 × 80 = 1,300, COD 330
    already = order(tenant, world, shipping_fee=1300)  # 関東 × 80: already right
    versions = {o.pk: o.version for o in (osaka, cod, already)}

    made, result, events = run(tenant, world, FROM_TABLE, [osaka, cod, already])

    osaka, cod, already = (Order.objects.get(pk=o.pk) for o in (osaka, cod, already))
    assert (osaka.shipping_fee, osaka.cod_fee) == (1500, 0)
    assert (cod.shipping_fee, cod.cod_fee) == (1300, 330)
    assert already.shipping_fee == 1300
    assert already.version == versions[already.pk]
    assert osaka.version == versions[osaka.pk] + 1
    assert cod.version == versions[cod.pk] + 1
    for o in (osaka, cod, already):
        assert_amounts_like_compute_amounts(o)
    changes = sorted((e.order_id, e.data["field"], e.data["old"], e.data["new"]) for e in events)
    assert changes == sorted(
        [(osaka.pk, "shipping_fee", 600, 1500), (cod.pk, "shipping_fee", 600, 1300), (cod.pk, "cod_fee", 0, 330)]
    )
    assert all((e.actor_kind, e.actor_name) == (ActorKind.RULE, made.name) for e in events)
    assert result.changed_ids == {osaka.pk, cod.pk}


def test_orders_the_table_gives_no_fee_are_left_alone_and_reported(tenant, world):
    hokkaido = order(tenant, world, "北海道", "060-0001")
    _made, result, events = run(tenant, world, FROM_TABLE, [hokkaido])
    assert Order.objects.get(pk=hokkaido.pk).shipping_fee == 600
    assert not events
    errors = [error for outcome in result.rules for error in outcome.errors]
    assert any("no fee for 1 orders" in error and hokkaido.external_id in error for error in errors)


def test_running_again_changes_nothing(tenant, world):
    orders = [order(tenant, world, "大阪府", "530-0001") for _ in range(2)]
    run(tenant, world, FROM_TABLE, orders)
    before = last_event_pk()
    process(tenant=tenant, order_ids=[o.pk for o in orders])
    assert events_after(tenant, before) == []


def test_a_fixed_number_of_queries_whatever_the_orders(tenant, world):
    rule(world["group"], "送料表ルール", 1, [world["new"]], FROM_TABLE)

    def count(n: int, prefecture: str, postal: str) -> int:
        orders = [order(tenant, world, prefecture, postal) for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            process(tenant=tenant, order_ids=[o.pk for o in orders])
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=status_of(tenant, Stage.CANCELLED))
        return len(queries)

    few = count(2, "大阪府", "530-0001")
    many = count(25, "福岡県", "810-0001")
    assert many == few


def test_remote_islands_get_the_other_delivery_method(tenant, world):
    yupack = DeliveryMethod.objects.for_tenant(tenant).get(name="ゆうパック")
    sado = order(tenant, world, "新潟県", "952-0011")
    flagged = order(tenant, world, mall_remote_island=True)
    tokyo = order(tenant, world)
    made, _result, events = run(
        tenant,
        world,
        [{"type": "set_delivery_method_for_islands", "delivery_method": yupack.pk}],
        [sado, flagged, tokyo],
    )
    methods = dict(Order.objects.filter(pk__in=[sado.pk, flagged.pk, tokyo.pk]).values_list("pk", "delivery_method"))
    assert methods == {sado.pk: yupack.pk, flagged.pk: yupack.pk, tokyo.pk: world["via"].pk}
    assert sorted(e.order_id for e in events) == sorted([sado.pk, flagged.pk])
    assert all(e.actor_name == made.name for e in events)


def test_the_island_action_names_one_of_the_tenants_methods(tenant, other_tenant):
    foreign = DeliveryMethod.objects.for_tenant(other_tenant).first()
    problems = validate_actions(tenant, [{"type": "set_delivery_method_for_islands", "delivery_method": foreign.pk}])
    assert problems
    assert "does not exist" in problems[0]
    assert validate_actions(tenant, FROM_TABLE) == []


def test_the_demo_keeps_a_cod_order_right(tenant, world):
    cod = order(tenant, world, "大阪府", "530-0001", payment_method=world["cod"], lines=[line("A60", price=40_000)])
    run(tenant, world, FROM_TABLE, [cod])
    cod = Order.objects.get(pk=cod.pk)
    assert (cod.shipping_fee, cod.cod_fee) == (1200, 660)  # 関西 × 60; 41,200円 to collect
    assert_amounts_like_compute_amounts(cod)
