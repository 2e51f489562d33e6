"""Polling a shop (shops.services.poll_shop) against a fake mall over real HTTP: pages and the cursor, a crash
mid-poll resumed without loss or duplicates, the lock (two polls never at once, a dead poll's lock expires),
the mall's errors (429, 500, refused and renewed credentials), beat's choice of due shops, the Celery task's
retries, and a real `celery worker` on Redis and PostgreSQL against Shopify's fake mall."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent, PaymentMethod
from shops.constants import MallKind
from shops.crypto import decrypt_credentials, encrypt_credentials
from shops.models import ImportRun, MallCodeMapping, MappingKind, RunStatus, Shop, ShopSync, SyncErrorKind, Trigger
from shops.services import poll_shop, shop_sync, shops_due_for_poll
from shops.services.polling import AUTH_PAUSE, dead_polls_release, lock_ttl
from shops.tasks import poll_shop as poll_shop_task
from tests.conftest import service_missing
from tests.shops.fakeconnector import KIND, FakeMall
from tests.test_celery_embedded import clean_env, process, procfile_command, wait_for_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mall() -> Iterator[FakeMall]:
    fake = FakeMall().start()
    yield fake
    fake.stop()


def fake_shop(tenant: Any, mall: FakeMall, **fields: Any) -> Shop:
    """A shop of the test-only kind: made directly, since the admin offers only the real malls."""
    shop = Shop.objects.create(
        tenant=tenant,
        name=fields.pop("name", "フェイク店"),
        mall=KIND,
        code=fields.pop("code", f"fake-{Shop.objects.count()}"),
        base_url=mall.url,
        credentials=encrypt_credentials(fields.pop("credentials", mall.credentials)),
        **fields,
    )
    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    MallCodeMapping.objects.get_or_create(
        tenant=tenant, mall=KIND, kind=MappingKind.PAYMENT, mall_code="card", defaults={"payment_method": card}
    )
    shop_sync(shop)
    return shop


@pytest.fixture
def shop(tenant, mall) -> Shop:
    return fake_shop(tenant, mall)


def numbers(shop: Shop) -> list[str]:
    return sorted(Order.objects.filter(shop=shop).values_list("external_id", flat=True))


def created_events(shop: Shop) -> int:
    return OrderEvent.objects.filter(order__shop=shop, type=EventType.CREATED).count()


def cursors(mall: FakeMall) -> list[str]:
    return [request for request in mall.requests if request.startswith("GET")]


# --- pages, cursor, auto-processing ------------------------------------------------------------------------


def test_a_poll_imports_every_page_and_sorts_the_orders(tenant, shop, mall):
    mall.add_orders(7)

    outcome = poll_shop(shop_id=shop.pk)

    run = outcome.run
    assert (run.status, run.trigger, run.new, run.updated, run.failed, run.pages) == (
        RunStatus.OK,
        Trigger.BEAT,
        7,
        0,
        0,
        3,
    )  # pages of 3
    assert run.started_at
    assert run.finished_at
    assert len(numbers(shop)) == 7
    # Auto-processing ran after the import: card orders go to "paid" by the tenant's default rule.
    assert set(Order.objects.filter(shop=shop).values_list("stage", flat=True)) == {Stage.PAID}
    assert run.processed == 7
    sync = ShopSync.objects.get(shop=shop)
    assert (sync.cursor, sync.failures, sync.last_error, sync.running_since) == ("7", 0, "", None)
    assert sync.last_success_at is not None
    assert abs(sync.next_due_at - sync.last_success_at - dt.timedelta(minutes=5)) < dt.timedelta(seconds=5)


def test_the_next_poll_starts_from_the_cursor_and_finds_the_changes(tenant, shop, mall):
    mall.add_orders(4)
    poll_shop(shop_id=shop.pk)
    mall.requests.clear()
    mall.change(
        "F-00002",
        ship_to={
            "name": "山田 花子",
            "zip": "530-0001",
            "prefecture": "大阪府",
            "city": "大阪市北区",
            "address1": "梅田1-1-1",
        },
    )
    mall.add_orders(1)

    run = poll_shop(shop_id=shop.pk).run

    assert cursors(mall) == ["GET /orders"]  # one page from the saved cursor, not the whole history
    assert (run.new, run.updated, run.unchanged) == (1, 1, 0)
    changed = Order.objects.get(shop=shop, external_id="F-00002")
    assert (changed.dest_name, changed.dest_prefecture) == ("山田 花子", "大阪府")
    event = OrderEvent.objects.get(order=changed, type=EventType.FIELD_CHANGED, data__field="dest_prefecture")
    assert (event.data["old"], event.data["new"], event.actor_name) == ("東京都", "大阪府", "フェイク店")


def test_a_crash_after_page_one_resumes_from_its_cursor_without_duplicates(tenant, shop, mall):
    mall.add_orders(7)
    # The second page answers with something the connector chokes on: the poll dies after page 1.
    original = mall.answer

    calls = {"n": 0}

    def answer(method: str, path: str, *args: Any) -> Any:
        if method == "GET":
            calls["n"] += 1
            if calls["n"] == 2:
                return 200, {}, {"unexpected": "shape"}
        return original(method, path, *args)

    mall.answer = answer  # type: ignore[method-assign]
    crashed = poll_shop(shop_id=shop.pk).run

    assert (crashed.status, crashed.new, crashed.pages) == (RunStatus.FAILED, 3, 1)
    assert "KeyError" in crashed.error
    sync = ShopSync.objects.get(shop=shop)
    assert sync.cursor == "3"
    assert sync.failures == 1
    assert sync.running_since is None
    assert len(numbers(shop)) == 3

    resumed = poll_shop(shop_id=shop.pk).run

    assert (resumed.status, resumed.new, resumed.unchanged) == (RunStatus.OK, 4, 0)
    assert numbers(shop) == [f"F-{n:05d}" for n in range(1, 8)]
    assert created_events(shop) == 7  # each order once
    assert ShopSync.objects.get(shop=shop).failures == 0


def test_a_page_imported_twice_changes_nothing(tenant, shop, mall):
    """A poll that died after importing a page but before saving its cursor re-imports that page."""
    mall.add_orders(3)
    poll_shop(shop_id=shop.pk)
    ShopSync.objects.filter(shop=shop).update(cursor="")
    before = (
        list(Order.objects.filter(shop=shop).values("pk", "version", "updated_at")),
        OrderEvent.objects.filter(order__shop=shop).count(),
    )

    run = poll_shop(shop_id=shop.pk).run

    assert (run.new, run.updated, run.unchanged) == (0, 0, 3)
    assert (
        list(Order.objects.filter(shop=shop).values("pk", "version", "updated_at")),
        OrderEvent.objects.filter(order__shop=shop).count(),
    ) == before


def test_a_malformed_order_is_recorded_and_the_others_import(tenant, shop, mall):
    mall.add_orders(2)
    mall.add_raw({"id": "F-BROKEN", "ordered_at": "yesterday"})
    mall.add_orders(1)

    run = poll_shop(shop_id=shop.pk).run

    assert (run.status, run.new, run.failed) == (RunStatus.PARTIAL, 3, 1)
    failure = run.failures.get()
    assert failure.external_id == "F-BROKEN"
    assert "yesterday" in failure.payload


# --- the mall's errors ------------------------------------------------------------------------------------------


def test_a_rate_limit_fails_the_run_and_backs_off(tenant, shop, mall):
    mall.add_orders(1)
    mall.fail_next(429, headers={"Retry-After": "120"})

    outcome = poll_shop(shop_id=shop.pk)

    assert outcome.run.status == RunStatus.FAILED
    assert outcome.run.error_kind == SyncErrorKind.RATE_LIMITED
    assert "429" in outcome.run.error
    assert outcome.retry_in == 120
    sync = ShopSync.objects.get(shop=shop)
    assert (sync.failures, sync.last_error_kind, sync.running_since) == (1, SyncErrorKind.RATE_LIMITED, None)
    assert sync.next_due_at >= timezone.now() + dt.timedelta(seconds=110)


def test_an_unavailable_mall_backs_off_longer_each_time(tenant, shop, mall):
    delays = []
    for _attempt in range(3):
        mall.fail_next(503)
        outcome = poll_shop(shop_id=shop.pk)
        assert outcome.run.error_kind == SyncErrorKind.UNAVAILABLE
        delays.append(outcome.retry_in)
    assert delays == [60, 120, 240]
    assert ShopSync.objects.get(shop=shop).failures == 3


def test_refused_credentials_pause_the_shop_and_show_on_the_order_list(tenant, mall, operator_client):
    shop = fake_shop(tenant, mall, credentials={"api_key": "wrong"})

    outcome = poll_shop(shop_id=shop.pk)

    assert outcome.run.error_kind == SyncErrorKind.AUTH
    assert outcome.retry_in is None
    sync = ShopSync.objects.get(shop=shop)
    assert sync.next_due_at >= timezone.now() + AUTH_PAUSE - dt.timedelta(minutes=1)
    page = operator_client.get("/orders/", follow=True).content.decode()
    assert 'class="alert alert-danger' in page
    assert "フェイク店" in page
    assert escape(sync.last_error[:40]) in page


def test_a_renewed_token_is_saved_encrypted(tenant, shop, mall):
    mall.add_orders(1)
    mall.expire_key()

    run = poll_shop(shop_id=shop.pk).run

    assert run.status == RunStatus.OK
    assert run.new == 1
    stored = Shop.objects.get(pk=shop.pk).credentials
    assert mall.api_key not in stored
    assert decrypt_credentials(stored)["api_key"] == mall.api_key == "renewed-" + FakeMall.API_KEY


def test_a_shop_without_a_connector_fails_with_a_clear_error(tenant):
    shop = Shop.objects.create(tenant=tenant, name="オークション", mall=MallKind.AUCTION, code="auction")

    run = poll_shop(shop_id=shop.pk).run

    assert run.status == RunStatus.FAILED
    assert run.error_kind == SyncErrorKind.CONFIG


# --- the lock ---------------------------------------------------------------------------------------------------


def test_a_fresh_lock_makes_the_poll_skip(tenant, shop, mall):
    ShopSync.objects.filter(shop=shop).update(running_since=timezone.now())

    outcome = poll_shop(shop_id=shop.pk)

    assert outcome.busy
    assert outcome.run is None
    assert not ImportRun.objects.filter(shop=shop).exists()
    assert mall.requests == []


def test_a_dead_polls_lock_expires(tenant, shop, mall):
    mall.add_orders(2)
    dead = ImportRun.objects.create(tenant=tenant, shop=shop, status=RunStatus.RUNNING)
    ShopSync.objects.filter(shop=shop).update(running_since=timezone.now() - lock_ttl() - dt.timedelta(minutes=1))

    run = poll_shop(shop_id=shop.pk).run

    assert run.status == RunStatus.OK
    assert run.new == 2
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert dead.finished_at is not None


def test_a_poll_silent_for_longer_than_dead_after_has_lost_its_lock(tenant, shop, mall, settings):
    """A worker killed mid-poll: its lock is free once it has been silent for SHOPS_DEAD_AFTER, not after the
    task's time limit (30 minutes); its run says it was interrupted."""
    settings.SHOPS_DEAD_AFTER = 90
    mall.add_orders(2)
    dead = ImportRun.objects.create(tenant=tenant, shop=shop, status=RunStatus.RUNNING)
    ShopSync.objects.filter(shop=shop).update(running_since=timezone.now() - dt.timedelta(minutes=5))

    run = poll_shop(shop_id=shop.pk).run

    assert (run.status, run.new) == (RunStatus.OK, 2)
    dead.refresh_from_db()
    assert (dead.status, dead.error_kind) == (RunStatus.FAILED, SyncErrorKind.INTERRUPTED)
    assert dead.error.startswith("中断")


def test_a_poll_that_still_signs_keeps_its_lock(tenant, shop, mall, settings):
    settings.SHOPS_DEAD_AFTER = 90
    now = timezone.now()
    ShopSync.objects.filter(shop=shop).update(
        running_since=now - dt.timedelta(minutes=20), heartbeat_at=now - dt.timedelta(seconds=30)
    )

    assert poll_shop(shop_id=shop.pk).busy
    assert shops_due_for_poll(now=now) == []
    assert mall.requests == []


def test_beat_shows_a_dead_poll_interrupted_and_polls_the_shop_again(tenant, shop, mall, settings, operator_client):
    """Beat (every minute) frees the lock of a poll that went silent, marks its run interrupted, and polls the
    shop at once from the last saved page: nothing lost, nothing twice."""
    from celery import current_app

    from shops.tasks import poll_due_shops

    settings.SHOPS_DEAD_AFTER = 90
    mall.add_orders(5)
    poll_shop(shop_id=shop.pk)  # 5 orders in, cursor saved
    mall.add_orders(2)
    dead = ImportRun.objects.create(
        tenant=tenant, shop=shop, status=RunStatus.RUNNING, started_at=timezone.now() - dt.timedelta(minutes=3)
    )
    ShopSync.objects.filter(shop=shop).update(
        running_since=dead.started_at,
        heartbeat_at=timezone.now() - dt.timedelta(seconds=100),
        next_due_at=timezone.now() + dt.timedelta(minutes=4),
    )
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        assert poll_due_shops() == 1
    finally:
        current_app.conf.task_always_eager = eager

    dead.refresh_from_db()
    assert (dead.status, dead.error_kind) == (RunStatus.FAILED, SyncErrorKind.INTERRUPTED)
    again = ImportRun.objects.filter(shop=shop).order_by("-pk").first()
    assert (again.status, again.new, again.unchanged) == (RunStatus.OK, 2, 0)
    assert created_events(shop) == 7
    page = operator_client.get(reverse("shop_detail", args=[shop.pk])).content.decode()
    assert "by-run-interrupted" in page
    assert ">中断<" in page


@pytest.mark.django_db(transaction=True)
def test_a_long_page_keeps_the_lock_alive_with_its_timer(tenant, shop, mall, settings, require_postgres):
    """A page that takes longer than SHOPS_DEAD_AFTER (a slow mall) does not make its poll look dead: the
    timer signs for it."""
    settings.SHOPS_HEARTBEAT_EVERY, settings.SHOPS_DEAD_AFTER = 0.2, 1.0
    mall.add_orders(2)
    mall.hold()
    first, first_result = _in_thread(lambda: poll_shop(shop_id=shop.pk))
    assert mall.waiting.wait(10)
    time.sleep(2.5)

    assert poll_shop(shop_id=shop.pk).busy
    assert dead_polls_release() == 0

    mall.release()
    first.join(30)
    assert first_result["value"].run.status == RunStatus.OK
    assert ShopSync.objects.get(shop=shop).heartbeat_at is None  # the lock is given back with its heartbeat


def _in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `target` in a thread with its own database connection; its result or error in the dict."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = target()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            result["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_polls_of_one_shop_one_skips(tenant, shop, mall, require_postgres):
    mall.add_orders(4)
    mall.hold()
    first, first_result = _in_thread(lambda: poll_shop(shop_id=shop.pk))
    assert mall.waiting.wait(10), "the first poll never reached the mall"

    second = poll_shop(shop_id=shop.pk)

    assert second.busy
    mall.release()
    first.join(30)
    assert "error" not in first_result, first_result
    assert first_result["value"].run.status == RunStatus.OK
    assert len(numbers(shop)) == 4
    assert created_events(shop) == 4
    assert ImportRun.objects.filter(shop=shop).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_poll_whose_lock_was_taken_over_stops_without_writing(tenant, shop, mall, require_postgres):
    mall.add_orders(2)
    mall.hold()
    first, first_result = _in_thread(lambda: poll_shop(shop_id=shop.pk))
    assert mall.waiting.wait(10)
    # The first poll looks dead (its lock is past the time limit): a second one takes the shop over.
    ShopSync.objects.filter(shop=shop).update(running_since=timezone.now() - lock_ttl() - dt.timedelta(minutes=1))
    mall.waiting.clear()
    second, second_result = _in_thread(lambda: poll_shop(shop_id=shop.pk))
    assert mall.waiting.wait(10)

    mall.release()
    first.join(30)
    second.join(30)

    outcomes = {first_result["value"].run.status, second_result["value"].run.status}
    assert outcomes == {RunStatus.OK, RunStatus.FAILED}
    assert len(numbers(shop)) == 2
    assert created_events(shop) == 2
    loser = next(r["value"].run for r in (first_result, second_result) if r["value"].run.status == RunStatus.FAILED)
    assert "引き継いだ" in loser.error  # "another poll of this shop took over"
    assert ShopSync.objects.get(shop=shop).running_since is None


# --- beat: which shops are due ------------------------------------------------------------------------------


def test_beat_picks_the_due_active_shops_with_a_connector_once(tenant, other_tenant, mall):
    now = timezone.now()
    due = fake_shop(tenant, mall, code="due")
    theirs = fake_shop(other_tenant, mall, code="theirs")
    later = fake_shop(tenant, mall, code="later")
    ShopSync.objects.filter(shop=later).update(next_due_at=now + dt.timedelta(minutes=3))
    off = fake_shop(tenant, mall, code="off", active=False)
    busy = fake_shop(tenant, mall, code="busy")
    ShopSync.objects.filter(shop=busy).update(running_since=now)
    manual = Shop.objects.get(tenant=tenant, mall=MallKind.MANUAL)  # phone/FAX: nothing to poll

    chosen = shops_due_for_poll(now=now)

    assert set(chosen) == {due.pk, theirs.pk}
    assert not {later.pk, off.pk, busy.pk, manual.pk} & set(chosen)
    assert ShopSync.objects.get(shop=due).next_due_at == now + dt.timedelta(minutes=5)
    assert shops_due_for_poll(now=now + dt.timedelta(seconds=59)) == []  # sent once, not every minute


# --- the Celery task --------------------------------------------------------------------------------------------


def test_the_task_retries_an_unavailable_mall(tenant, shop, mall, settings):
    mall.add_orders(2)
    mall.fail_next(500)

    result = poll_shop_task.apply(args=[shop.pk]).get()  # eager: the retry runs at once

    assert (result["status"], result["new"]) == (RunStatus.OK, 2)
    assert list(ImportRun.objects.filter(shop=shop).order_by("pk").values_list("status", flat=True)) == [
        RunStatus.FAILED,
        RunStatus.OK,
    ]


def test_the_task_does_not_retry_refused_credentials(tenant, mall):
    shop = fake_shop(tenant, mall, credentials={"api_key": "wrong"})

    result = poll_shop_task.apply(args=[shop.pk]).get()

    assert result["status"] == RunStatus.FAILED
    assert ImportRun.objects.filter(shop=shop).count() == 1


def test_a_queued_run_delivered_twice_polls_once(tenant, shop, mall):
    mall.add_orders(1)
    run = ImportRun.objects.create(tenant=tenant, shop=shop, trigger=Trigger.MANUAL)

    first = poll_shop_task.apply(args=[shop.pk, Trigger.MANUAL, run.pk]).get()
    again = poll_shop_task.apply(args=[shop.pk, Trigger.MANUAL, run.pk]).get()

    assert first["status"] == again["status"] == RunStatus.OK
    assert ImportRun.objects.filter(shop=shop).count() == 1
    assert len(cursors(mall)) == 1


# --- a real worker ----------------------------------------------------------------------------------------------


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_polls_shopifys_fake_mall(tenant, tmp_path, require_postgres, require_redis, settings):
    """beat's task (called here) sends the polls to a real `celery worker` on Redis and PostgreSQL, which
    pages through Shopify's fake mall over HTTP: the orders appear, auto-processing has sorted them, and
    the run is recorded."""
    import redis

    from devtools.fakemalls.shopify import FakeShopify
    from shops.services import shop_create
    from shops.tasks import poll_due_shops

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")
    queue = f"test-shops-{uuid.uuid4().hex[:10]}"
    settings.SHOPS_POLL_QUEUE = queue
    fake = FakeShopify().start()
    try:
        for _i in range(3):
            fake.add_order(gateways=["shopify_payments"])  # a credit card: the default rule says "paid"
        shop = shop_create(
            tenant=tenant,
            name="Shopify店",
            mall=MallKind.SHOPIFY,
            code="shopify",
            credentials=fake.credentials,
            base_url=fake.url,
        )
        database = connection.settings_dict
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, DATABASE_URL=url)
        log = tmp_path / "worker.log"
        argv = [*procfile_command("worker"), "--queues", queue, "--hostname", f"{queue}@%h"]
        with process(argv, env, log) as worker:
            wait_for_log(log, "ready.", worker, timeout=60)

            assert poll_due_shops() == 1

            wait_for_log(log, "shops.tasks.poll_shop", worker, timeout=60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                run = ImportRun.objects.filter(shop=shop).first()
                if run is not None and run.finished:
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"the worker did not finish the poll:\n{log.read_text(errors='replace')[-4000:]}")
        assert (run.status, run.new, run.trigger) == (RunStatus.OK, 3, Trigger.BEAT), run.error
        orders = Order.objects.filter(shop=shop)
        assert orders.count() == 3
        # Auto-processing ran in the worker, after the import: the rule moved the card orders to "paid".
        assert set(orders.values_list("payment_method__code", "stage")) == {("credit_card", Stage.PAID)}
        moves = OrderEvent.objects.filter(order__shop=shop, type=EventType.STATUS_CHANGED, actor_kind="rule")
        assert moves.count() == 3
        assert run.processed == 3
        sync = ShopSync.objects.get(shop=shop)
        assert sync.cursor
        assert sync.last_success_at
        assert sync.running_since is None
    finally:
        fake.stop()
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        for key in client.scan_iter("_kombu.binding.*"):
            if client.type(key) == b"set":
                for member in client.smembers(key):
                    if queue.encode() in member:
                        client.srem(key, member)
        client.close()


def test_a_shop_never_connected_is_not_polled(tenant):
    """A mall shop with no credentials ever entered (kept for CSV import, or the demo's) is not a failing
    shop: beat and F6 leave it alone."""
    from shops.services import fetch_latest, shops_due_for_poll

    Shop.objects.create(tenant=tenant, name="楽天（CSVのみ）", mall="rakuten", code="rakuten-csv")

    assert shops_due_for_poll() == []
    assert fetch_latest(tenant=tenant) == []
