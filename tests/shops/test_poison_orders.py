"""Issue 11.1: one poison order (an amount no column can hold) among good ones on a mall's page. Shopify's fake
mall serves it over HTTP; the good orders import, the bad one is a named failure in Japanese, the cursor
moves past the page, and a later order of the same shop arrives on the next poll, in the test's process
and with a real `celery worker` on Redis and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone

from devtools.fakemalls.shopify import FakeShopify
from orders.models import Order
from shops.connectors.parsing import round_yen
from shops.constants import MallKind
from shops.models import ImportFailure, ImportRun, RunStatus, Shop, ShopSync
from shops.services import poll_shop, shop_create
from tests.conftest import service_missing
from tests.test_celery_embedded import clean_env, process, procfile_command, wait_for_log

HUGE_SHIPPING = "「送料」の金額が大きすぎます（上限 ¥999,999,999,999）。"
HUGE_PRICE = "「明細 1: 単価」の金額が大きすぎます（上限 ¥999,999,999,999）。"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    mall = FakeShopify(seed=11).start()
    yield mall
    mall.stop()


def poisoned_page(fake: FakeShopify) -> tuple[list[int], dict[int, str]]:
    """Three good orders and two poison ones between them, all on the first page: (good ids, bad ids →
    the reason their failure must give)."""
    good = [fake.add_order(gateways=["shopify_payments"])]
    shipping = fake.add_malformed_order("huge_shipping")
    good.append(fake.add_order(gateways=["shopify_payments"]))
    price = fake.add_malformed_order("huge_price")
    good.append(fake.add_order(gateways=["shopify_payments"]))
    return good, {shipping: HUGE_SHIPPING, price: HUGE_PRICE}


def shopify_shop(tenant, fake: FakeShopify) -> Shop:
    return shop_create(
        tenant=tenant,
        name="Shopify店",
        mall=MallKind.SHOPIFY,
        code="shopify",
        credentials=fake.credentials,
        base_url=fake.url,
    )


def name_of(fake: FakeShopify, order_id: int) -> str:
    return fake.order(order_id)["name"]


def assert_first_poll(fake: FakeShopify, shop: Shop, run: ImportRun, good: list[int], bad: dict[int, str]) -> None:
    assert (run.status, run.new, run.failed) == (RunStatus.PARTIAL, 3, 2), run.error
    assert sorted(Order.objects.filter(shop=shop).values_list("external_id", flat=True)) == sorted(
        name_of(fake, order_id) for order_id in good
    )
    reasons = dict(ImportFailure.objects.filter(run=run).values_list("external_id", "reason"))
    assert reasons == {name_of(fake, order_id): reason for order_id, reason in bad.items()}
    sync = ShopSync.objects.get(shop=shop)
    assert sync.cursor
    assert sync.failures == 0
    assert sync.last_error == ""


def test_a_poll_imports_around_poison_orders_and_the_next_poll_brings_the_later_order(tenant, fake):
    good, bad = poisoned_page(fake)
    shop = shopify_shop(tenant, fake)

    first = poll_shop(shop_id=shop.pk).run

    assert_first_poll(fake, shop, first, good, bad)
    later = fake.add_order(gateways=["shopify_payments"])
    second = poll_shop(shop_id=shop.pk).run
    assert (second.status, second.new, second.failed) == (RunStatus.OK, 1, 0), second.error
    assert Order.objects.filter(shop=shop, external_id=name_of(fake, later)).exists()
    assert Order.objects.filter(shop=shop).count() == 4


@pytest.mark.parametrize("defect", ["huge_rate", "infinite_rate", "endless_price"])
def test_a_value_no_number_can_hold_fails_only_its_order_and_at_once(tenant, fake, defect):
    good = fake.add_order(gateways=["shopify_payments"])
    bad = fake.add_malformed_order(defect)
    shop = shopify_shop(tenant, fake)

    started = time.monotonic()
    run = poll_shop(shop_id=shop.pk).run

    assert time.monotonic() - started < 10
    assert (run.status, run.new, run.failed) == (RunStatus.PARTIAL, 1, 1), run.error
    assert Order.objects.filter(shop=shop, external_id=name_of(fake, good)).exists()
    assert ImportFailure.objects.get(run=run).external_id == name_of(fake, bad)


def test_amounts_no_number_can_hold_are_refused_at_once():
    started = time.monotonic()
    for text in ("nan", "inf", "-Infinity", "1e999999999", "9" * 100):
        with pytest.raises(ValueError, match="is not a number of yen"):
            round_yen(text)
    assert time.monotonic() - started < 1
    assert round_yen("1e30") == 10**30  # read: the import names the bound for it (see above)


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_around_a_poison_order_and_moves_on(
    tenant, fake, tmp_path, require_postgres, require_redis, settings
):
    """beat's task sends the poll to a real worker: the page with the poison orders imports all but them,
    they are named failures, the cursor moves on, and the shop's next poll brings a later order."""
    import redis

    from shops.tasks import poll_due_shops

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")
    queue = f"test-poison-{uuid.uuid4().hex[:10]}"
    settings.SHOPS_POLL_QUEUE = queue
    good, bad = poisoned_page(fake)
    shop = shopify_shop(tenant, fake)

    def finished_run(after: int) -> ImportRun:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            run = ImportRun.objects.filter(shop=shop, pk__gt=after).order_by("pk").first()
            if run is not None and run.finished:
                return run
            time.sleep(0.5)
        pytest.fail(f"the worker did not finish the poll:\n{log.read_text(errors='replace')[-4000:]}")

    try:
        database = connection.settings_dict
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url)
        log = tmp_path / "worker.log"
        argv = [*procfile_command("worker"), "--queues", queue, "--hostname", f"{queue}@%h"]
        with process(argv, env, log) as worker:
            wait_for_log(log, "ready.", worker, timeout=60)

            assert poll_due_shops() == 1
            first = finished_run(0)
            assert_first_poll(fake, shop, first, good, bad)

            later = fake.add_order(gateways=["shopify_payments"])
            ShopSync.objects.filter(shop=shop).update(next_due_at=timezone.now())  # its next poll is due
            assert poll_due_shops() == 1
            second = finished_run(first.pk)
        assert (second.status, second.new, second.failed) == (RunStatus.OK, 1, 0), second.error
        assert Order.objects.filter(shop=shop, external_id=name_of(fake, later)).exists()
        assert Order.objects.filter(shop=shop).count() == 4
        assert ImportFailure.objects.filter(shop=shop).count() == 2  # the poison orders, once
    finally:
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        for key in client.scan_iter("_kombu.binding.*"):
            if client.type(key) == b"set":
                for member in client.smembers(key):
                    if queue.encode() in member:
                        client.srem(key, member)
        client.close()
