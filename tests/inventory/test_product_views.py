"""The products page (search, filters, sort, pages), one product (stock, sets, aliases, the orders holding it,
its history), the stock count and the low-stock list: what the operator sees, tenancy, and a fixed number of
queries per page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import MoveKind, Product, SetComponent, SkuAlias, StockMove
from inventory.services.allocation import stock_check
from inventory.services.receiving import stock_receive
from shops.constants import MallKind

from .test_allocation import ACTOR, order, product, stock

pytestmark = pytest.mark.django_db


def named(tenant: Any, sku: str, name: str, **fields: Any) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=name, on_hand=1, **fields)


def page(client: Any, name: str, *args: Any, **params: Any) -> str:
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode()


def skus(html: str) -> list[str]:
    """The SKUs of the product list's rows, in order."""
    return re.findall(r'<td class="text-nowrap"><a href="/inventory/\d+/">([^<]+)</a></td>', html)


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- the products page -----------------------------------------------------------------------------------


def test_the_list_shows_each_products_stock_with_available_computed(operator_client, tenant):
    product(tenant, "TEA-100", 10, location="A-01", options="100g", reorder_point=3)
    waiting = order(tenant, 1, [("TEA-100", 8)])
    stock_check(tenant=tenant, order_ids=[waiting.pk], actor=ACTOR)

    html = page(operator_client, "products")

    row = html[html.index("TEA-100") :].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells[1:7]] == ["100g", "A-01", "10", "8", "2", "3"]
    assert 'text-danger fw-bold">2<' in row  # available 2 ≤ reorder point 3: red
    for header in ("商品名", "オプション", "棚番", "在庫数", "引当数", "引当可能", "発注点", "セット"):
        assert f">{header}<" in html


def test_search_finds_part_of_a_sku_or_name_and_a_whole_jan(operator_client, tenant):
    named(tenant, "TEA-100", "有機緑茶 100g")
    named(tenant, "CUP-WHITE", "湯のみ 白", jan="4901234567894")
    named(tenant, "BAG-1", "茶こし袋")

    assert skus(page(operator_client, "products", q="tea")) == ["TEA-100"]
    assert skus(page(operator_client, "products", q="湯のみ")) == ["CUP-WHITE"]
    assert skus(page(operator_client, "products", q="4901234567894")) == ["CUP-WHITE"]
    assert skus(page(operator_client, "products", q="490123")) == []  # a JAN is matched whole
    assert skus(page(operator_client, "products", q="４９０１２３４５６７８９４")) == ["CUP-WHITE"]  # full-width
    assert "検索に一致する商品はありません。" in page(operator_client, "products", q="nothing")


def test_filters_low_stock_sets_and_inactive(operator_client, tenant):
    product(tenant, "LOW", 2, reorder_point=2)
    product(tenant, "PLENTY", 50, reorder_point=5)
    product(tenant, "GIFT", 0, is_set=True, reorder_point=5)
    product(tenant, "OLD", 0, active=False, reorder_point=5)

    assert skus(page(operator_client, "products")) == ["GIFT", "LOW", "PLENTY"]
    assert skus(page(operator_client, "products", show="low")) == ["LOW"]
    assert skus(page(operator_client, "products", show="sets")) == ["GIFT"]
    assert skus(page(operator_client, "products", show="inactive")) == ["OLD"]
    assert skus(page(operator_client, "products", show="all")) == ["GIFT", "LOW", "OLD", "PLENTY"]
    assert skus(page(operator_client, "products", show="nonsense", sort="; drop")) == ["GIFT", "LOW", "PLENTY"]


def test_sorting_by_available_is_done_in_sql_across_pages(operator_client, tenant):
    for n in range(60):
        product(tenant, f"P-{n:03d}", n % 7)
    product(tenant, "HELD", 9)
    Product.objects.filter(sku="HELD").update(allocated=9)  # on hand 9, available 0
    expected = sorted(Product.objects.all(), key=lambda p: (p.available, p.sku))

    first = skus(page(operator_client, "products", sort="available"))
    second = skus(page(operator_client, "products", sort="available", page=2))

    assert first + second == [p.sku for p in expected]
    assert first[:2] == ["HELD", "P-000"]
    descending = skus(page(operator_client, "products", sort="-available"))
    assert [Product.objects.get(sku=s).available for s in descending[:9]] == [6] * 8 + [5]
    by_on_hand = skus(page(operator_client, "products", sort="-on_hand"))
    assert by_on_hand[0] == "HELD"


def test_the_list_pages_by_fifty_and_its_queries_are_fixed(operator_client, tenant, django_assert_max_num_queries):
    product(tenant, "P-000", 1, reorder_point=2)
    url = reverse("products") + "?q=P-&show=low&sort=-available"
    operator_client.get(url)  # the session's first request stores the tenant chosen
    few = queries(operator_client, url)
    for n in range(1, 120):
        product(tenant, f"P-{n:03d}", n % 3, is_set=n % 10 == 0, reorder_point=2)

    assert queries(operator_client, url) == few
    assert queries(operator_client, reverse("products") + "?page=3") == few
    with django_assert_max_num_queries(6):  # session, user, memberships; count, rows; the mail red count
        operator_client.get(url)
    html = page(operator_client, "products", page=2)
    assert len(skus(html)) == 50
    assert "2 / 3 ページ" in html
    assert "120 商品" in html


def test_the_list_links_to_the_csv_screens(operator_client, tenant):
    html = page(operator_client, "products")
    assert f'href="{reverse("products_csv_upload")}"' in html
    assert f'href="{reverse("products_export")}"' in html
    assert f'href="{reverse("receiving")}"' in html
    assert f'href="{reverse("low_stock")}"' in html


def test_another_tenants_products_are_not_listed(operator_client, tenant, other_tenant):
    product(other_tenant, "THEIRS", 5)
    product(tenant, "OURS", 5)
    assert skus(page(operator_client, "products", show="all")) == ["OURS"]
    assert skus(page(operator_client, "low_stock")) == []


# --- one product -----------------------------------------------------------------------------------------


def test_the_product_page_shows_stock_aliases_holders_and_history_newest_first(operator_client, tenant):
    tea = product(tenant, "TEA", 0, jan="4901234567894", location="B-2", weight_g=120, reorder_point=1)
    SkuAlias.objects.create(tenant=tenant, mall=MallKind.RAKUTEN, mall_sku="rk-tea-1", product=tea)
    first, second = order(tenant, 1, [("TEA", 2)]), order(tenant, 2, [("TEA", 3)])
    stock_check(tenant=tenant, order_ids=[first.pk, second.pk], actor=ACTOR)
    stock_receive(tenant=tenant, units={"TEA": 4}, actor=ACTOR, note="11/20 入荷")

    html = page(operator_client, "product_detail", tea.pk)

    assert re.search(r'id="stock-on-hand">4<', html)
    assert re.search(r'id="stock-allocated">4<', html)
    assert re.search(r'id="stock-available">0<', html)
    assert "発注点（1）以下です。" in html
    for shown in ("rk-tea-1", "4901234567894", "B-2"):
        assert shown in html
    holders = html[html.index('id="holders"') :].split("</div>")[0]
    assert f'href="{reverse("order_detail", args=[first.pk])}">S-1</a> × 2' in holders
    assert "S-2</a> × 2" in holders  # 2 of its 3: the oldest came first
    history = html[html.index('id="stock-history"') :]
    rows = re.findall(r"<tr>\s*<td[^>]*>[^<]+</td>\s*<td[^>]*>([^<]+)</td>", history)
    assert rows == ["引当", "引当", "入荷"]  # newest first: the receipt's allocations after it
    for shown in ("+4", "11/20 入荷", "4 / 4"):
        assert shown in history


def test_a_set_shows_its_components_and_a_component_its_sets(operator_client, tenant):
    tea, cup = product(tenant, "TEA", 7), product(tenant, "CUP", 2)
    gift = product(tenant, "GIFT", 0, is_set=True)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=tea, quantity=3)
    SetComponent.objects.create(tenant=tenant, set_product=gift, component=cup, quantity=1)

    html = page(operator_client, "product_detail", gift.pk)
    assert re.search(r'id="sets-available">2<', html)  # 7 // 3 = 2, 2 // 1 = 2
    assert f'href="{reverse("product_detail", args=[tea.pk])}">TEA</a>' in html
    assert 'id="adjust-form"' not in html  # a set has no stock of its own to count
    assert "セット商品の在庫は構成品の在庫です。" in html
    assert 'id="stock-history"' not in html
    component = page(operator_client, "product_detail", cup.pk)
    assert f'href="{reverse("product_detail", args=[gift.pk])}">GIFT</a>' in component


def test_the_history_pages_by_fifty(operator_client, tenant):
    tea = product(tenant, "TEA", 0)
    for n in range(55):
        StockMove.objects.create(
            tenant=tenant, product=tea, kind=MoveKind.RECEIVE, on_hand_change=1, on_hand_after=n + 1,
            allocated_after=0, note=f"note-{n:02d}",
        )  # fmt: skip
    first = page(operator_client, "product_detail", tea.pk)
    second = page(operator_client, "product_detail", tea.pk, page=2)
    assert re.findall(r"note-\d+", first) == [f"note-{n:02d}" for n in range(54, 4, -1)]
    assert re.findall(r"note-\d+", second) == [f"note-{n:02d}" for n in range(4, -1, -1)]
    assert 'rel="next"' in first
    assert 'rel="next"' not in second


def test_the_product_page_has_a_fixed_number_of_queries(operator_client, tenant, django_assert_max_num_queries):
    tea = product(tenant, "TEA", 0)
    url = reverse("product_detail", args=[tea.pk])
    operator_client.get(url)
    few = queries(operator_client, url)
    SkuAlias.objects.create(tenant=tenant, mall=MallKind.RAKUTEN, mall_sku="rk-tea", product=tea)
    orders = [order(tenant, n, [("TEA", 1)]) for n in range(1, 13)]
    stock_check(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)
    stock_receive(tenant=tenant, units={"TEA": 20}, actor=ACTOR)
    assert queries(operator_client, url) == few
    with django_assert_max_num_queries(
        10
    ):  # 3 of the login, product, history, components, sets, aliases, holders, red count
        operator_client.get(url)


@pytest.mark.parametrize("name", ["product_detail", "product_adjust"])
def test_another_tenants_product_is_not_found(operator_client, other_tenant, name):
    theirs = product(other_tenant, "THEIRS", 5)
    method = operator_client.get if name == "product_detail" else operator_client.post
    response = method(reverse(name, args=[theirs.pk]), {"on_hand": 0, "note": "盗み見"})
    assert response.status_code == 404
    assert stock("THEIRS") == (5, 0)
    assert operator_client.get(reverse("product_detail", args=[987_654_321])).status_code == 404


# --- the stock count -------------------------------------------------------------------------------------


def adjust(client: Any, item: Product, on_hand: Any, note: str = "11/30 棚卸") -> Any:
    return client.post(reverse("product_adjust", args=[item.pk]), {"on_hand": on_hand, "note": note})


def test_a_count_sets_on_hand_and_writes_the_difference_into_the_history(operator_client, tenant, operator):
    tea = product(tenant, "TEA", 10)

    response = adjust(operator_client, tea, 7, "11/30 棚卸 破損3")

    assert response.status_code == 302
    assert stock("TEA") == (7, 0)
    move = StockMove.objects.get(product=tea)
    assert (move.kind, move.on_hand_change, move.on_hand_after, move.allocated_after) == (MoveKind.ADJUST, -3, 7, 0)
    assert (move.actor_name, move.actor_user_id, move.note) == (operator.username, operator.pk, "11/30 棚卸 破損3")
    html = operator_client.get(response["Location"]).content.decode()
    assert "在庫数を 7 にしました（-3）。" in html
    history = html[html.index('id="stock-history"') :]
    for shown in ("調整", "-3", "11/30 棚卸 破損3", operator.username):
        assert shown in history


def test_a_count_below_what_is_allocated_is_refused_naming_the_allocated(operator_client, tenant):
    tea = product(tenant, "TEA", 10)
    stock_check(tenant=tenant, order_ids=[order(tenant, 1, [("TEA", 6)]).pk], actor=ACTOR)

    response = adjust(operator_client, tea, 5)

    assert response.status_code == 200
    assert "在庫数を 5 にはできません。受注に 6 個引当済みです" in response.content.decode()
    assert stock("TEA") == (10, 6)
    assert not StockMove.objects.filter(kind=MoveKind.ADJUST).exists()
    assert adjust(operator_client, tea, 6).status_code == 302  # exactly what is held is fine
    assert stock("TEA") == (6, 6)


@pytest.mark.parametrize(
    ("on_hand", "note", "message"),
    [(-1, "棚卸", "0 以上"), ("abc", "棚卸", "整数"), (3, "", "このフィールドは必須です。"), (10**12, "棚卸", "以下")],
)
def test_a_bad_count_is_named_and_changes_nothing(operator_client, tenant, on_hand, note, message):
    tea = product(tenant, "TEA", 10)
    response = adjust(operator_client, tea, on_hand, note)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stock("TEA") == (10, 0)
    assert not StockMove.objects.exists()


def test_the_same_count_again_changes_nothing(operator_client, tenant):
    tea = product(tenant, "TEA", 10)
    response = adjust(operator_client, tea, 10)
    assert "在庫数はすでに 10 でした。変更はありません。" in operator_client.get(response["Location"]).content.decode()
    assert not StockMove.objects.exists()


def test_the_count_is_post_only(operator_client, tenant):
    assert operator_client.get(reverse("product_adjust", args=[product(tenant, "TEA", 1).pk])).status_code == 405


# --- low stock -------------------------------------------------------------------------------------------


def low_row(html: str, sku: str) -> str:
    return html[html.index(f'data-sku="{sku}"') :].split("</tr>")[0]


def test_low_stock_lists_what_the_waiting_orders_lack_and_their_numbers(operator_client, tenant):
    product(tenant, "TEA", 3, reorder_point=2)
    product(tenant, "CUP", 0, reorder_point=0)
    product(tenant, "PLENTY", 100, reorder_point=5)
    product(tenant, "GIFT", 0, is_set=True, reorder_point=5)
    product(tenant, "OLD", 0, active=False, reorder_point=5)
    a = order(tenant, 1, [("TEA", 2), ("CUP", 1)])  # TEA 2 of 2; CUP short 1
    b = order(tenant, 2, [("TEA", 4)])  # TEA 1 of 4: lacks 3
    c = order(tenant, 3, [("TEA", 1), ("TEA", 2)])  # lacks 3 on two lines
    order(tenant, 4, [("TEA", 5)])  # new, not checked: not waiting
    stock_check(tenant=tenant, order_ids=[a.pk, b.pk, c.pk], actor=ACTOR)
    assert stock("TEA") == (3, 3)

    html = page(operator_client, "low_stock")

    assert re.findall(r'data-sku="([^"]+)"', html) == ["TEA", "CUP"]  # 2 under, then 0 under
    tea = low_row(html, "TEA")
    assert re.search(r'by-lacking"><strong>6<', tea)  # b lacks 3, c lacks 3; a holds what it needs
    assert re.findall(r">(S-\d)</a>", tea) == ["S-2", "S-3"]
    assert f'href="{reverse("order_detail", args=[b.pk])}"' in tea
    cup = low_row(html, "CUP")
    assert re.search(r'by-lacking"><strong>1<', cup)
    assert re.findall(r">(S-\d)</a>", cup) == ["S-1"]
    assert "発注点以下 2 商品" in html


def test_low_stock_names_the_ten_oldest_waiting_orders_and_counts_the_rest(operator_client, tenant):
    product(tenant, "TEA", 0)
    orders = [order(tenant, n, [("TEA", 1), ("TEA", 1)]) for n in range(12, 0, -1)]
    stock_check(tenant=tenant, order_ids=[o.pk for o in orders], actor=ACTOR)

    tea = low_row(page(operator_client, "low_stock"), "TEA")

    assert re.findall(r">(S-\d+)</a>", tea) == [f"S-{n}" for n in range(1, 11)]
    assert "（全 12 件）" in tea
    assert re.search(r'by-lacking"><strong>24<', tea)


def test_low_stocks_queries_are_fixed(operator_client, tenant, django_assert_max_num_queries):
    product(tenant, "P-00", 0)
    url = reverse("low_stock")
    operator_client.get(url)
    few = queries(operator_client, url)
    for n in range(1, 30):
        product(tenant, f"P-{n:02d}", 0, reorder_point=n)
    waiting = [order(tenant, n, [(f"P-{n % 30:02d}", 2), ("P-00", 1)]) for n in range(1, 40)]
    stock_check(tenant=tenant, order_ids=[o.pk for o in waiting], actor=ACTOR)
    assert queries(operator_client, url) == few
    with django_assert_max_num_queries(8):  # 3 of the login; count, rows; lacking; first orders; red count
        operator_client.get(url)


def test_the_navigation_links_the_products_page(operator_client):
    html = page(operator_client, "products")
    assert f'id="nav-inventory" href="{reverse("products")}">商品・在庫<' in html
    assert html.index('id="nav-reminders"') < html.index('id="nav-inventory"')
