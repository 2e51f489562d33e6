"""在庫確認 from the order list (F11): the selection through the stock check by the operator, the summary in
Japanese with each short order's missing SKUs, the 欠品 / SKU不明 tasks raised and resolved, the "not in this
list" question, big selections handed to the worker, and other tenants' orders never touched."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automation.defaults import BuiltinTask
from automation.models import OrderTask, TaskDefinition
from backyard.models import Tenant
from inventory.models import Allocation, MoveKind, Product, StockMove
from orders.constants import ActorKind, EventType, Stage
from orders.models import Order, OrderEvent, Status
from orders.selection import Selection
from tests.factories import make_order

pytestmark = pytest.mark.django_db
START = timezone.now() - dt.timedelta(days=3)


def product(tenant: Tenant, sku: str, on_hand: int) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=f"商品 {sku}", on_hand=on_hand)


def order(tenant: Tenant, n: int, lines: list[tuple[str, int]], **fields: Any) -> Order:
    return make_order(
        tenant,
        external_id=f"S-{n}",
        ordered_at=START + dt.timedelta(hours=n),
        lines=[{"sku": sku, "name": sku, "unit_price": 1000, "quantity": q, "tax_rate": 10} for sku, q in lines],
        **fields,
    )


def status(tenant: Tenant, stage: Stage, position: int = 1) -> Status:
    rows = Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position")
    return rows[position - 1]


def status_name(o: Order) -> str:
    return Order.objects.select_related("status").get(pk=o.pk).status.name


def select(client: Any, orders: list[Order]) -> None:
    client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in orders]})


def check(client: Any, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    """Press F11 (post the list's form); the messages it leaves are read from the response, not carried on."""
    response = client.post(reverse("stock_check_run"), {"next": "/orders/", **(data or {})}, **extra)
    client.cookies.pop("messages", None)
    return response


def texts(response: Any) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def open_notes(tenant: Tenant, code: str) -> dict[str, str]:
    """Order number → note of the open tasks of a built-in definition."""
    rows = OrderTask.objects.for_tenant(tenant).filter(definition__code=code, resolved_at=None)
    return dict(rows.values_list("order__external_id", "note"))


@pytest.fixture
def shelf(tenant: Tenant) -> dict[str, Order]:
    """TEA ×5 and CUP ×1 on the shelf; four new orders (oldest first) and one already shipped."""
    product(tenant, "TEA", 5)
    product(tenant, "CUP", 1)
    return {
        "full": order(tenant, 1, [("TEA", 2), ("CUP", 1)]),
        "partial": order(tenant, 2, [("TEA", 2), ("CUP", 1)]),
        "short": order(tenant, 3, [("CUP", 2)]),
        "unknown": order(tenant, 4, [("NOPE", 1), ("NOPE", 2)]),
        "shipped": order(tenant, 5, [("TEA", 1)], status=status(tenant, Stage.SHIPPED)),
    }


def test_f11_checks_the_selection_and_names_what_each_short_order_lacks(operator_client, tenant, shelf):
    select(operator_client, list(shelf.values()))

    response = check(operator_client, {"next": "/orders/?page=2"})

    assert response.status_code == 302
    assert response["Location"] == "/orders/?page=2"
    said = texts(response)
    assert said[0] == (
        "在庫確認 4 件: 引当済 1 件、一部引当 1 件、欠品 2 件。 "
        "1 件は引当の対象外のため確認していません（発送待ち・発送済・キャンセルなど）。"
    )
    assert said[1:] == ["S-3: 欠品 CUP ×2", "S-4: SKU不明 NOPE", "S-2: 欠品 CUP ×1"]
    assert [status_name(shelf[k]) for k in ("full", "partial", "short", "unknown", "shipped")] == [
        "在庫引当済",
        "一部引当",
        "入荷待ち",
        "入荷待ち",
        "出荷済",
    ]
    assert Product.objects.get(sku="TEA").allocated == 4
    assert Product.objects.get(sku="CUP").allocated == 1
    move = StockMove.objects.filter(order=shelf["full"], kind=MoveKind.ALLOCATE).first()
    assert move.actor_name == "operator"  # the operator's name on the stock history …
    event = OrderEvent.objects.get(order=shelf["full"], type=EventType.STATUS_CHANGED)
    assert (event.actor_kind, event.actor_name) == (ActorKind.USER, "operator")  # … and on the order's
    assert Selection(operator_client.session, tenant).is_empty()  # cleared after the action, as bulk actions do


def test_f11_raises_the_shortage_and_unknown_sku_tasks_and_a_later_check_resolves_them(operator_client, tenant, shelf):
    select(operator_client, list(shelf.values()))
    check(operator_client)

    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {"S-2": "欠品: CUP ×1", "S-3": "欠品: CUP ×2"}
    assert open_notes(tenant, BuiltinTask.UNKNOWN_SKU) == {"S-4": "SKU不明: NOPE"}
    task = OrderTask.objects.get(order=shelf["short"], definition__code=BuiltinTask.STOCK_SHORTAGE)
    assert (task.raised_by, task.raised_automatically) == ("operator", True)
    raised = OrderEvent.objects.filter(order=shelf["short"], type=EventType.TASK_RAISED)
    assert raised.count() == 1

    # Two CUPs arrive: S-2 (older) takes one and is whole, S-3 takes the other and still lacks one.
    Product.objects.filter(sku="CUP").update(on_hand=3)
    select(operator_client, [shelf["partial"], shelf["short"]])
    response = check(operator_client)

    assert texts(response) == ["在庫確認 2 件: 引当済 1 件、一部引当 1 件、欠品 0 件。", "S-3: 欠品 CUP ×1"]
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {"S-3": "欠品: CUP ×1"}  # the note follows
    resolved = OrderTask.objects.get(order=shelf["partial"], definition__code=BuiltinTask.STOCK_SHORTAGE)
    assert resolved.resolved_at is not None
    assert resolved.resolved_automatically
    assert OrderEvent.objects.filter(order=shelf["partial"], type=EventType.TASK_RESOLVED).count() == 1
    assert status_name(shelf["partial"]) == "在庫引当済"
    assert open_notes(tenant, BuiltinTask.UNKNOWN_SKU) == {"S-4": "SKU不明: NOPE"}  # not checked: kept

    Product.objects.filter(sku="CUP").update(on_hand=4)
    select(operator_client, [shelf["short"]])
    check(operator_client)
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {}
    assert status_name(shelf["short"]) == "在庫引当済"


def test_a_tenant_made_before_the_stock_tasks_gets_them_when_first_short(operator_client, tenant, shelf):
    TaskDefinition.objects.for_tenant(tenant).filter(
        code__in=[BuiltinTask.STOCK_SHORTAGE, BuiltinTask.UNKNOWN_SKU]
    ).delete()
    select(operator_client, [shelf["short"]])
    check(operator_client)
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {"S-3": "欠品: CUP ×1"}  # it got the one CUP
    assert TaskDefinition.objects.for_tenant(tenant).get(code=BuiltinTask.STOCK_SHORTAGE).name == "欠品"


def test_a_switched_off_task_is_not_raised(operator_client, tenant, shelf):
    TaskDefinition.objects.for_tenant(tenant).filter(code=BuiltinTask.STOCK_SHORTAGE).update(enabled=False)
    select(operator_client, [shelf["short"]])
    check(operator_client)
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {}
    assert status_name(shelf["short"]) == "一部引当"


def test_htmx_gets_the_summary_and_a_refresh_of_list_and_tree(operator_client, tenant, shelf):
    select(operator_client, [shelf["full"]])
    response = check(operator_client, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ordersChanged"
    assert "在庫確認 1 件: 引当済 1 件、一部引当 0 件、欠品 0 件。" in response.content.decode()


def test_orders_not_in_the_list_are_not_checked_without_asking(operator_client, tenant, shelf):
    new = status(tenant, Stage.NEW)
    elsewhere = order(tenant, 9, [("TEA", 1)], status=status(tenant, Stage.AWAITING_PAYMENT))
    select(operator_client, [shelf["full"], elsewhere])
    query = f"status={new.pk}"

    asked = check(operator_client, {"query": query, "next": f"/orders/?{query}"})

    page = asked.content.decode()
    assert asked.status_code == 200
    assert "選択中の 2 件のうち 1 件はこの一覧に表示されていません。" in page
    assert "在庫確認" in page
    assert not Allocation.objects.exists()  # nothing ran

    shown = check(operator_client, {"query": query, "scope": "shown", "next": f"/orders/?{query}"})
    assert shown.status_code == 302
    assert status_name(shelf["full"]) == "在庫引当済"
    assert status_name(elsewhere) == "入金待ち"  # not in the list: left alone, as answered


def test_nothing_selected_says_so(operator_client, tenant, shelf):
    response = check(operator_client)
    assert response.status_code == 302
    assert texts(response) == ["在庫確認する注文を先に選択してください。"]
    assert not Allocation.objects.exists()


def test_only_a_post_checks(operator_client):
    assert operator_client.get(reverse("stock_check_run")).status_code == 405


def test_a_big_selection_is_checked_by_a_worker_not_in_the_request(
    operator_client, tenant, operator, shelf, settings, django_capture_on_commit_callbacks
):
    from celery import current_app

    settings.STOCK_CHECK_INLINE_ORDERS = 2
    select(operator_client, [shelf["full"], shelf["partial"], shelf["short"]])

    with django_capture_on_commit_callbacks() as queued:
        response = check(operator_client)

    assert response.status_code == 302
    assert texts(response) == [
        "3 件の在庫確認をバックグラウンドで実行しています。引当の結果は各注文の履歴に残ります。"
        "1 分ほどしたら一覧を再読み込みしてください。"
    ]
    assert not Allocation.objects.exists()  # nothing ran yet
    assert len(queued) == 1
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True  # the worker's part, in this process
    try:
        queued[0]()
    finally:
        current_app.conf.task_always_eager = eager
    assert [status_name(shelf[k]) for k in ("full", "partial", "short")] == ["在庫引当済", "一部引当", "入荷待ち"]
    assert open_notes(tenant, BuiltinTask.STOCK_SHORTAGE) == {"S-2": "欠品: CUP ×1", "S-3": "欠品: CUP ×2"}
    move = StockMove.objects.filter(order=shelf["full"]).first()
    assert (move.actor_name, move.actor_user_id) == ("operator", operator.pk)


def test_the_worker_task_is_safe_to_deliver_twice_and_after_the_user_is_gone(tenant, operator, shelf):
    from inventory.tasks import stock_check_orders

    ids = [shelf["full"].pk, shelf["short"].pk]
    first = stock_check_orders(tenant.pk, ids, "operator", operator.pk)
    operator.delete()
    again = stock_check_orders(tenant.pk, ids, "operator", operator.pk)

    assert first == {"orders": 2, "full": 1, "partial": 0, "short": 1, "skipped": 0, "unknown": 0, "refused": 0}
    assert again["full"] == 1
    assert Product.objects.get(sku="TEA").allocated == 2  # allocated once
    assert OrderTask.objects.filter(order=shelf["short"]).count() == 1
    assert stock_check_orders(987_654_321, ids, "operator", None) == {"orders": 0}


def test_another_tenants_orders_in_the_selection_are_never_checked(operator_client, tenant, other_tenant, shelf):
    theirs_product = product(other_tenant, "TEA", 5)
    theirs = order(other_tenant, 7, [("TEA", 1)])
    # A session holding their id (as if the selection had been tampered with): the check only sees ours.
    session = operator_client.session
    session[f"by_selection_{tenant.pk}"] = {"ids": [shelf["full"].pk, theirs.pk]}
    session.save()

    response = check(operator_client)

    assert texts(response)[0] == "在庫確認 1 件: 引当済 1 件、一部引当 0 件、欠品 0 件。"
    theirs.refresh_from_db()
    assert theirs.stage == Stage.NEW
    theirs_product.refresh_from_db()
    assert theirs_product.allocated == 0
    assert not Allocation.objects.filter(tenant=other_tenant).exists()


def _queries(client: Any, tenant: Tenant, orders: list[Order]) -> int:
    select(client, orders)
    with CaptureQueriesContext(connection) as captured:
        response = check(client)
    assert response.status_code == 302
    return len(captured)


def test_the_check_costs_the_same_queries_for_3_or_30_orders(operator_client, tenant):
    product(tenant, "TEA", 100)
    product(tenant, "CUP", 0)
    kinds = [[("TEA", 1)], [("TEA", 1), ("CUP", 1)], [("CUP", 1), ("NOPE", 1)]]  # full, partial, short
    few = [order(tenant, n, kinds[n % 3]) for n in range(3)]
    many = [order(tenant, 100 + n, kinds[n % 3]) for n in range(30)]
    assert _queries(operator_client, tenant, few) == _queries(operator_client, tenant, many)


def test_the_list_offers_f11_beside_f7(operator_client, tenant):
    make_order(tenant)
    page = operator_client.get(reverse("home"), follow=True).content.decode()
    assert 'id="stock-check"' in page
    assert "<kbd>F11</kbd> 在庫確認" in page
    assert page.index('id="mail-send"') < page.index('id="stock-check"')
