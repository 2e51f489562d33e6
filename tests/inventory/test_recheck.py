"""Stock that rises other than by receiving moves the waiting orders on by itself: a stock count above what the
system had, and a products CSV that raises on hand, adds the product a waiting order names, or gives a product
the mall item number an order carries. A count that lowers stock, or a CSV that changes only names, checks
nothing; other tenants' waiting orders are never touched."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from inventory.models import Allocation, MoveKind, StockMove
from inventory.services.allocation import stock_check
from shops.constants import MallKind
from tests.factories import ShopFactory

from .test_allocation import ACTOR, order, product, status_of, stock
from .test_products_csv import import_file, preview_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _japanese(settings: Any) -> None:
    settings.LANGUAGE_CODE = "ja"


def count(client: Any, product_id: int, on_hand: int, note: str = "棚卸") -> Any:
    response = client.post(reverse("product_adjust", args=[product_id]), {"on_hand": on_hand, "note": note})
    return response


def said(client: Any, response: Any) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_a_count_above_the_system_moves_the_waiting_orders_on_oldest_first(operator_client, tenant, other_tenant):
    tea = product(tenant, "TEA", 0)
    first, second, third = (
        order(tenant, 1, [("TEA", 2)]),
        order(tenant, 2, [("TEA", 2)]),
        order(tenant, 3, [("TEA", 2)]),
    )
    stock_check(tenant=tenant, order_ids=[first.pk, second.pk, third.pk], actor=ACTOR)
    product(other_tenant, "TEA", 0)
    elsewhere = order(other_tenant, 1, [("TEA", 1)])
    stock_check(tenant=other_tenant, order_ids=[elsewhere.pk], actor=ACTOR)
    assert {status_of(o) for o in (first, second, third, elsewhere)} == {"入荷待ち"}

    response = count(operator_client, tea.pk, 5)

    assert response.status_code == 302
    assert said(operator_client, response) == [
        "在庫数を 5 にしました（+5）。",
        "入荷待ちの受注 3 件を確認し直しました: 全数引当 2 件、一部引当 1 件、欠品のまま 0 件。",
    ]
    assert (status_of(first), status_of(second), status_of(third)) == ("在庫引当済", "在庫引当済", "一部引当")
    tea.refresh_from_db()
    assert (tea.on_hand, tea.allocated) == (5, 5)
    move = StockMove.objects.get(tenant=tenant, kind=MoveKind.ADJUST)
    assert (move.on_hand_change, move.note) == (5, "棚卸")
    assert status_of(elsewhere) == "入荷待ち"  # the other tenant's TEA is another product
    assert not Allocation.objects.filter(order=elsewhere).exists()


def test_a_count_that_lowers_or_keeps_the_stock_checks_nothing(operator_client, tenant):
    tea = product(tenant, "TEA", 3)
    waiting = order(tenant, 1, [("TEA", 5)])
    stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR)
    assert (status_of(waiting), stock("TEA")) == ("一部引当", (3, 3))

    response = count(operator_client, tea.pk, 3)
    assert said(operator_client, response) == ["在庫数はすでに 3 でした。変更はありません。"]

    refused = count(operator_client, tea.pk, 2)
    assert refused.status_code == 200  # the form again: below what is allocated
    assert Allocation.objects.filter(order=waiting).count() == 1
    assert StockMove.objects.filter(kind=MoveKind.ALLOCATE).count() == 1  # nothing allocated again


def test_a_csv_that_raises_stock_moves_the_waiting_orders_and_says_so(operator_client, tenant):
    product(tenant, "TEA", 0)
    product(tenant, "CUP", 0)
    tea_order, cup_order = order(tenant, 1, [("TEA", 2)]), order(tenant, 2, [("CUP", 1)])
    stock_check(tenant=tenant, order_ids=[tea_order.pk, cup_order.pk], actor=ACTOR)

    key, _preview = preview_of(operator_client, "SKU,在庫数\nTEA,2\nCUP,0\n")
    operator_client.post(reverse("products_csv_import", args=[key]))
    page = operator_client.get(reverse("products_csv_preview", args=[key]))
    result = page.context["result"]

    assert result["rechecked"] == {"orders": 1, "full": 1, "partial": 0, "short": 0}
    assert (status_of(tea_order), status_of(cup_order)) == ("在庫引当済", "入荷待ち")
    assert stock("TEA") == (2, 2)
    assert (
        "入荷待ちの受注 1 件を確認し直しました: 全数引当 1 件、一部引当 0 件、欠品のまま 0 件。"
        in page.content.decode()
    )


def test_a_csv_that_adds_the_missing_product_or_its_mall_number_moves_the_orders(operator_client, tenant):
    shop = ShopFactory(tenant=tenant, mall=MallKind.RAKUTEN)
    unknown = order(tenant, 1, [("NEW-1", 1)])
    by_mall = order(tenant, 2, [("rk-77", 1)], shop=shop)
    stock_check(tenant=tenant, order_ids=[unknown.pk, by_mall.pk], actor=ACTOR)
    assert (status_of(unknown), status_of(by_mall)) == ("入荷待ち", "入荷待ち")

    result = import_file(
        operator_client, "SKU,商品名,在庫数,モール商品番号\nNEW-1,新茶,1,\nOLD-1,旧茶,4,rakuten:rk-77\n"
    )

    assert result["created"] == 2
    assert result["rechecked"]["full"] == 2
    assert (status_of(unknown), status_of(by_mall)) == ("在庫引当済", "在庫引当済")
    assert stock("OLD-1") == (4, 1)


def test_a_csv_of_names_only_checks_no_order(operator_client, tenant, django_assert_max_num_queries):
    product(tenant, "TEA", 0)
    waiting = order(tenant, 1, [("TEA", 2)])
    stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR)
    moves = StockMove.objects.count()

    result = import_file(operator_client, "SKU,商品名\nTEA,新しい名前\n")

    assert result["changed"] == 1
    assert result["rechecked"]["orders"] == 0
    assert StockMove.objects.count() == moves
    assert status_of(waiting) == "入荷待ち"
