"""Fetch latest (F6, T8) and the operators' shops pages: the button and F6 start polls of the tenant's active
shops through Celery, the status endpoint reports progress and counts until the runs finish, then tells
the page to refresh its status tree; failing shops show on the order list; every view is tenant-scoped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from backyard import celery_app
from orders.models import Order
from shops.models import ImportFailure, ImportRun, RunStatus, ShopSync, Trigger
from tests.shops.fakeconnector import FakeMall
from tests.shops.test_polling import fake_shop

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def mall() -> Iterator[FakeMall]:
    fake = FakeMall().start()
    yield fake
    fake.stop()


@pytest.fixture
def eager_worker() -> Iterator[None]:
    """Celery runs each task in the process that sends it, as a worker would run it (the real worker is
    tested in test_polling); the queued polls then finish within the request that queued them."""
    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def status_url(runs: list[ImportRun]) -> str:
    return f"{reverse('fetch_status')}?runs={','.join(str(run.pk) for run in runs)}"


def test_f6_queues_a_poll_of_each_active_shop_with_a_connector(
    operator_client, tenant, mall, django_capture_on_commit_callbacks
):
    shop = fake_shop(tenant, mall)
    fake_shop(tenant, mall, code="off", active=False)

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(reverse("fetch_latest"), **HTMX)

    runs = list(ImportRun.objects.for_tenant(tenant))
    assert [(run.shop_id, run.status, run.trigger) for run in runs] == [(shop.pk, RunStatus.QUEUED, Trigger.MANUAL)]
    assert runs[0].started_by.username == "operator"
    assert len(callbacks) == 1  # the Celery tasks are sent once the runs are committed
    html = response.content.decode()
    assert 'data-running="1"' in html
    assert f'hx-get="{status_url(runs)}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "HX-Trigger" not in response.headers


def test_f6_fetches_and_the_status_reports_the_counts(
    operator_client, tenant, mall, eager_worker, django_capture_on_commit_callbacks
):
    shop = fake_shop(tenant, mall)
    mall.add_orders(4)

    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(reverse("fetch_latest"), **HTMX)
    run = ImportRun.objects.get(shop=shop)
    response = operator_client.get(status_url([run]), **HTMX)

    assert (run.status, run.new) == (RunStatus.OK, 4)
    assert Order.objects.filter(shop=shop).count() == 4
    html = response.content.decode()
    assert 'data-new="4"' in html
    assert "hx-trigger" not in html
    assert response.headers["HX-Trigger"] == "ordersChanged, ordersFetched"  # … and refreshes tree and table
    assert 'id="shop-banner" hx-swap-oob="true"' in html


def test_the_status_of_a_queued_run_keeps_polling_and_hints_at_a_missing_worker(operator_client, tenant, mall):
    shop = fake_shop(tenant, mall)
    from django.utils import timezone

    run = ImportRun.objects.create(
        tenant=tenant, shop=shop, trigger=Trigger.MANUAL, created_at=timezone.now() - timezone.timedelta(minutes=1)
    )

    html = operator_client.get(status_url([run]), **HTMX).content.decode()

    assert 'hx-trigger="every 1s"' in html
    assert "ワーカー" in html  # "waiting for a worker: is a Celery worker running?"


def test_the_status_shows_only_the_tenants_runs(operator_client, tenant, other_tenant, mall):
    theirs = fake_shop(other_tenant, mall, name="他社の店")
    foreign = ImportRun.objects.create(tenant=other_tenant, shop=theirs, status=RunStatus.OK, new=7)

    response = operator_client.get(f"{reverse('fetch_status')}?runs={foreign.pk},abc,99999999999999999999", **HTMX)

    assert response.status_code == 200
    assert "他社の店" not in response.content.decode()


def test_f6_without_shops_says_so(operator_client, tenant):
    response = operator_client.post(reverse("fetch_latest"), {"next": "/orders/"}, follow=True)

    assert not ImportRun.objects.exists()
    assert response.redirect_chain[0][0] == "/orders/"
    assert "取得できる有効な店舗がありません" in response.content.decode()


def test_fetch_goes_back_only_to_a_local_page(operator_client, tenant, mall):
    shop = fake_shop(tenant, mall)

    response = operator_client.post(reverse("shop_fetch", args=[shop.pk]), {"next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == reverse("shop_list")
    assert ImportRun.objects.get(shop=shop).status == RunStatus.QUEUED


def test_the_order_list_has_the_button_and_shows_failing_shops(operator_client, tenant, mall):
    shop = fake_shop(tenant, mall, name="失敗する店")
    ShopSync.objects.filter(shop=shop).update(
        last_error="The mall did not answer: 503", last_error_kind="unavailable", failures=2
    )
    fake_shop(tenant, mall, code="fine", name="元気な店")

    html = operator_client.get(reverse("home"), follow=True).content.decode()

    assert 'id="fetch-latest"' in html
    assert f'hx-post="{reverse("fetch_latest")}"' in html
    assert 'id="fetch-status"' in html
    assert "失敗する店" in html
    assert "The mall did not answer: 503" in html
    assert "元気な店" not in html


def test_the_banner_costs_one_query_whatever_the_number_of_failing_shops(operator_client, tenant, mall):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = operator_client.get(reverse("home")).url

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(url).status_code == 200
        return len(captured.captured_queries)

    fake_shop(tenant, mall, code="a")
    queries()  # the first view reads what is then cached (the status tree's unsent mail counts)
    baseline = queries()
    for code in ("b", "c", "d"):
        failing = fake_shop(tenant, mall, code=code)
        ShopSync.objects.filter(shop=failing).update(last_error="refused", last_error_kind="auth")
    assert queries() == baseline


# --- the shops pages ---------------------------------------------------------------------------------------------


def test_the_shops_page_lists_sync_state_and_last_runs_in_fixed_queries(
    operator_client, tenant, mall, django_assert_max_num_queries
):
    first = fake_shop(tenant, mall, name="一号店")
    for n in range(7):
        ImportRun.objects.create(tenant=tenant, shop=first, status=RunStatus.OK, new=n)
    url = reverse("shop_list")
    operator_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        html = operator_client.get(url).content.decode()
    for code in ("x", "y", "z"):
        other = fake_shop(tenant, mall, code=code)
        ImportRun.objects.create(tenant=tenant, shop=other, status=RunStatus.FAILED, error="boom")
    with django_assert_max_num_queries(len(one.captured_queries)):
        operator_client.get(url)

    assert "一号店" in html
    assert html.count('data-run-id="') == 5  # the last five runs of the shop
    assert "電話・FAX注文" in html  # listed, without runs: nothing to poll


def test_a_run_page_shows_its_failures_with_reasons(operator_client, tenant, mall):
    shop = fake_shop(tenant, mall)
    run = ImportRun.objects.create(
        tenant=tenant, shop=shop, status=RunStatus.PARTIAL, new=2, failed=1, notes=["未登録の支払方法コード"]
    )
    ImportFailure.objects.create(
        tenant=tenant, run=run, shop=shop, external_id="F-BAD", reason="数量が読めません", payload='{"qty": "two"}'
    )

    html = operator_client.get(reverse("import_run_detail", args=[run.pk])).content.decode()

    assert "F-BAD" in html
    assert "数量が読めません" in html
    assert "{&quot;qty&quot;: &quot;two&quot;}" in html
    assert "未登録の支払方法コード" in html


@pytest.mark.parametrize("name", ["shop_detail", "import_run_detail", "shop_fetch"])
def test_another_tenants_shop_or_run_is_not_found(operator_client, tenant, other_tenant, mall, name):
    theirs = fake_shop(other_tenant, mall)
    run = ImportRun.objects.create(tenant=other_tenant, shop=theirs, status=RunStatus.OK)
    arg = run.pk if name == "import_run_detail" else theirs.pk

    response = (operator_client.post if name == "shop_fetch" else operator_client.get)(reverse(name, args=[arg]))

    assert response.status_code == 404
    assert not ImportRun.objects.filter(shop=theirs).exclude(pk=run.pk).exists()


def test_the_pages_need_a_login(client, tenant):
    response = client.get(reverse("shop_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
