"""The demo's products and stock (make run): every SKU its orders carry is a product, the stock numbers add up,
the orders past the stock check hold their stock and the waiting ones lack some; and, as issue 14's "done"
says, an order arriving from the demo mall is checked at once, a short one waits in 入荷待ち with the SKU
named, and receiving the goods moves it on."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from django.db.models import Sum

from automation.models import OrderTask, Rule
from devtools.demo import STOCK_ITEMS, STOCK_RULE, demo_seed
from inventory.models import Allocation, MoveKind, Product, SetComponent, SkuAlias, StockMove
from inventory.services.receiving import stock_receive
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db
HOLDING = (Stage.STOCK_CHECKED, Stage.AWAITING_PAYMENT, Stage.PAID, Stage.READY_TO_SHIP)


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def needs(tenant: Any) -> dict[int, dict[int, int]]:
    """{order: {product: units}} of the tenant's open orders, sets as their components, aliases resolved."""
    products = dict(Product.objects.for_tenant(tenant).values_list("sku", "pk"))
    aliases = {(a.mall, a.mall_sku): a.product_id for a in SkuAlias.objects.for_tenant(tenant)}
    parts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c in SetComponent.objects.for_tenant(tenant):
        parts[c.set_product_id].append((c.component_id, c.quantity))
    out: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for order_id, mall, sku, quantity in OrderLine.objects.filter(order__tenant=tenant).values_list(
        "order_id", "order__shop__mall", "sku", "quantity"
    ):
        product = aliases.get((mall, sku)) or products[sku]
        for component, units in parts.get(product) or [(product, 1)]:
            out[order_id][component] += quantity * units
    return out


def held(tenant: Any) -> dict[int, dict[int, int]]:
    out: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for order_id, product_id, quantity in Allocation.objects.for_tenant(tenant).values_list(
        "order_id", "product_id", "quantity"
    ):
        out[order_id][product_id] += quantity
    return out


def test_every_sku_of_the_demos_orders_is_a_product_and_the_stock_adds_up():
    tenant = demo_seed(count=60).tenant

    skus = set(OrderLine.objects.filter(order__tenant=tenant).values_list("sku", flat=True))
    products = set(Product.objects.for_tenant(tenant).values_list("sku", flat=True))
    assert skus <= products, skus - products
    for product in Product.objects.for_tenant(tenant):
        allocated = Allocation.objects.filter(product=product).aggregate(n=Sum("quantity"))["n"] or 0
        assert allocated == product.allocated <= product.on_hand, product.sku
    assert Allocation.objects.for_tenant(tenant).values("order").distinct().count() > 5
    assert Product.objects.for_tenant(tenant).filter(is_set=False, on_hand__gt=0).count() >= 15
    # every single product has its shelf, weight, size and a JAN code; what went on the shelf is in its history
    singles = Product.objects.for_tenant(tenant).filter(is_set=False)
    assert all(p.location and p.weight_g and p.size_class and len(p.jan) == 13 for p in singles)
    received = dict(
        StockMove.objects.for_tenant(tenant).filter(kind=MoveKind.RECEIVE).values_list("product__sku", "on_hand_change")
    )
    assert all(received.get(p.sku, 0) == p.on_hand for p in singles)


def test_a_gift_set_is_made_of_its_components_and_a_demo_mall_sku_is_an_alias():
    tenant = demo_seed(count=0).tenant

    gift = Product.objects.for_tenant(tenant).get(sku="GFT-TEA-SWT")
    assert gift.is_set
    assert "ギフトセット" in gift.name
    assert sorted(gift.components.values_list("component__sku", "quantity")) == [("SWT-DOR-10", 1), ("TEA-SEN-100", 1)]
    three = SetComponent.objects.get(set_product__sku="SOY-KIO-3P", set_product__tenant=tenant)
    assert (three.component.sku, three.quantity) == ("SOY-KIO-500", 3)
    alias = SkuAlias.objects.for_tenant(tenant).get(mall="shopify", mall_sku="TSH-ORG-BM")
    assert alias.product.sku == "TSH-ORG-01"


def test_orders_past_the_check_hold_their_stock_and_waiting_ones_lack_some():
    tenant = demo_seed(count=200).tenant
    wanted, holding = needs(tenant), held(tenant)

    stages = dict(Order.objects.for_tenant(tenant).values_list("pk", "stage"))
    names = dict(Order.objects.for_tenant(tenant).values_list("pk", "status__name"))
    past_check = [pk for pk, stage in stages.items() if stage in HOLDING and names[pk] != "一部引当"]
    waiting = [pk for pk, stage in stages.items() if stage == Stage.SHORTAGE]
    assert past_check
    assert waiting
    for pk in past_check:
        assert holding[pk] == wanted[pk], (names[pk], pk)
    for pk in waiting:
        assert any(holding[pk][product] < units for product, units in wanted[pk].items()), pk
    # the 欠品 task of a waiting order names what it lacks
    notes = dict(
        OrderTask.objects.filter(order_id__in=waiting, definition__code="stock_shortage", resolved_at=None).values_list(
            "order_id", "note"
        )
    )
    assert set(notes) == set(waiting)
    assert all(note.startswith("欠品: ") for note in notes.values())
    # nothing shipped, cancelled or completed holds stock
    assert not [pk for pk in holding if stages[pk] in (Stage.SHIPPED, Stage.COMPLETED, Stage.CANCELLED)]


def test_a_second_seed_changes_no_product_or_stock():
    tenant = demo_seed(count=60).tenant
    before = list(Product.objects.for_tenant(tenant).order_by("sku").values_list("sku", "on_hand", "allocated"))
    counts = (SetComponent.objects.count(), SkuAlias.objects.count(), StockMove.objects.count(), Rule.objects.count())

    demo_seed(count=60)

    assert list(Product.objects.for_tenant(tenant).order_by("sku").values_list("sku", "on_hand", "allocated")) == before
    assert (
        SetComponent.objects.count(),
        SkuAlias.objects.count(),
        StockMove.objects.count(),
        Rule.objects.count(),
    ) == (counts)


def test_a_new_order_is_checked_as_it_arrives_waits_when_short_and_receiving_moves_it_on(monkeypatch):
    """Issue 14's "done": the demo mall's orders come in, the rule checks them; the short one waits in 入荷待ち
    with its SKU named; the goods arrive and it moves on by itself."""
    from devtools.fakemalls.shopify import FakeShopify
    from shops.models import Shop
    from shops.services import poll_shop

    fake = FakeShopify(first_number=70001, seed=3).start(0)
    try:
        monkeypatch.setenv("BACKYARD_DEMO_MALL_PORT", fake.url.rsplit(":", 1)[1])
        tenant = demo_seed(count=60).tenant
        assert Rule.objects.for_tenant(tenant).get(name=STOCK_RULE).actions == [{"type": "stock_check"}]
        shirt = Product.objects.for_tenant(tenant).get(sku="TSH-ORG-01")
        granola = Product.objects.for_tenant(tenant).get(sku="GRN-GRA-300")
        free = granola.available
        assert free > 0
        # the first takes the last granola (older orders first), the second finds none left
        fake.add_order(
            items=[("TSH-ORG-BM", 1), ("GRN-GRA-300", free)], gateways=["銀行振込"], financial_status="pending"
        )
        fake.add_order(items=[("GRN-GRA-300", 5)], gateways=["銀行振込"], financial_status="pending")

        run = poll_shop(shop_id=Shop.objects.get(tenant=tenant, code="shopify").pk, trigger="manual").run
    finally:
        fake.stop()

    assert run is not None
    assert run.new == 2, run.error
    arrived = {o.external_id: o for o in Order.objects.filter(external_id__in=["#70001", "#70002"])}
    fits, short = arrived["#70001"], arrived["#70002"]
    taken = dict(Allocation.objects.filter(order=fits).values_list("product__sku", "quantity"))
    assert taken == {shirt.sku: 1, granola.sku: free}  # the demo mall's variant SKU TSH-ORG-BM is an alias
    assert fits.stage != Stage.NEW
    assert short.status.name == "入荷待ち"
    task = OrderTask.objects.get(order=short, definition__code="stock_shortage", resolved_at=None)
    assert task.note == "欠品: GRN-GRA-300 ×5"

    stock_receive(tenant=tenant, units={"GRN-GRA-300": 12}, actor=Actor.system("test"))

    short.refresh_from_db()
    assert short.status.name == "在庫引当済"
    assert Allocation.objects.get(order=short).quantity == 5
    granola.refresh_from_db()
    assert (granola.on_hand, granola.available) == (free + 12, 7)


def test_a_demo_seeded_before_it_had_products_gets_them_with_stock():
    tenant = demo_seed(count=30).tenant
    Allocation.objects.all().delete()
    StockMove.objects.all().delete()
    SetComponent.objects.all().delete()
    SkuAlias.objects.all().delete()
    Product.objects.all().delete()

    demo_seed(count=30)

    margins = {item.sku: item.margin for item in STOCK_ITEMS if not item.parts}
    stock = dict(Product.objects.for_tenant(tenant).filter(is_set=False).values_list("sku", "on_hand"))
    assert stock == margins
    assert Product.objects.for_tenant(tenant).filter(is_set=True).count() == 2
