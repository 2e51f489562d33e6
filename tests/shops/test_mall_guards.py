"""What a tenant's admin or a mall can make a worker do: a credential names only the mall's own host (the
admin refuses another in Japanese, the connector never connects to one), a mall's failure reads as words and
never as socket text, a Retry-After of any size or none is bounded, and a failed "fetch latest" is retried
for real."""

from __future__ import annotations

import datetime as dt
import math
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools.fakemalls.shopify import FakeShopify
from orders.models import Order
from shops.connectors.base import RETRY_AFTER_DEFAULT, RETRY_AFTER_MAX, CredentialsInvalid, parse_retry_after
from shops.connectors.shopify import ShopifyConnector, shop_host
from shops.constants import MallKind
from shops.crypto import decrypt_credentials, encrypt_credentials
from shops.models import ImportRun, RunStatus, Shop, ShopSync, SyncErrorKind, Trigger
from shops.services import poll_shop, shop_sync
from shops.services.polling import RETRY_MAX
from shops.tasks import poll_shop as poll_shop_task
from tests.shops.fakeconnector import FakeMall
from tests.shops.test_polling import fake_shop


class Listener:
    """A TCP port on 127.0.0.1 that records every connection made to it and closes it at once without a
    word: a port that speaks another protocol, as PostgreSQL's would to an HTTP client."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    port = Listener()
    yield port
    port.close()


@pytest.fixture
def mall() -> Iterator[FakeMall]:
    fake = FakeMall().start()
    yield fake
    fake.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- item 2: only the mall's own hosts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("backyard-demo", "backyard-demo.myshopify.com"),
        ("Backyard-Demo.myshopify.com", "backyard-demo.myshopify.com"),
        ("https://backyard-demo.myshopify.com/admin/orders", "backyard-demo.myshopify.com"),
        (" shop1 ", "shop1.myshopify.com"),
    ],
)
def test_a_shopify_domain_is_a_myshopify_shop(typed: str, host: str) -> None:
    assert shop_host(typed) == host
    assert ShopifyConnector({"shop_domain": typed, "access_token": "shpat_x"}).base_url == f"https://{host}"


@pytest.mark.parametrize(
    "typed",
    [
        "127.0.0.1:5432",
        "127.0.0.1",
        "localhost:6379",
        "[::1]",
        "10.0.0.5",
        "evil.example.com",
        "shop.myshopify.com:8443",
        "user@shop.myshopify.com",
        "shop.myshopify.com@127.0.0.1",
        "shop.myshopify.com.evil.example",
        "a.b.myshopify.com",
        "shop.myshopify.com.",
        "-shop.myshopify.com",
        "http://127.0.0.1:5432/",
        "shop.myshopify.com?x=1",
        "shop\\.myshopify.com",
        "myshopify.com",
        "ｓｈｏｐ.myshopify.com",
        "shop .myshopify.com",
    ],
)
def test_anything_else_is_refused_before_any_request(typed: str) -> None:
    assert shop_host(typed) is None
    with pytest.raises(CredentialsInvalid) as refused:
        ShopifyConnector({"shop_domain": typed, "access_token": "shpat_x"})
    assert "myshopify.com" in str(refused.value)


def test_the_admin_refuses_another_host_in_japanese_and_stores_nothing(admin_client_tenant, tenant):
    data = {
        "name": "Shopify店",
        "mall": MallKind.SHOPIFY,
        "code": "shopify",
        "active": "on",
        "credential_shop_domain": "127.0.0.1:5432",
        "credential_access_token": "shpat_0123456789abcdef",
    }

    refused = admin_client_tenant.post(reverse("admin:shops_shop_add"), data)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert "myshopify.com の形で入力してください" in errors["credential_shop_domain"][0]
    assert "myshopify.com の形で入力してください" in refused.content.decode()
    assert not Shop.objects.filter(tenant=tenant, code="shopify").exists()

    accepted = admin_client_tenant.post(
        reverse("admin:shops_shop_add"), {**data, "credential_shop_domain": "https://My-Shop.myshopify.com/admin"}
    )

    assert accepted.status_code == 302
    shop = Shop.objects.get(tenant=tenant, code="shopify")
    assert decrypt_credentials(shop.credentials)["shop_domain"] == "my-shop.myshopify.com"


def test_a_stored_foreign_host_is_never_connected_to(tenant, listener):
    """Credentials written around the form (stored before the rule, or by any other path): the worker's task
    refuses them before a single connection, says why in Japanese, and pauses the shop."""
    shop = Shop.objects.create(
        tenant=tenant,
        name="Shopify店",
        mall=MallKind.SHOPIFY,
        code="shopify",
        credentials=encrypt_credentials(
            {"shop_domain": f"127.0.0.1:{listener.port}", "access_token": "shpat_0123456789abcdef"}
        ),
    )
    shop_sync(shop)

    result = poll_shop_task.apply(args=[shop.pk]).get()

    assert listener.connections == []
    assert result["status"] == RunStatus.FAILED
    run = ImportRun.objects.get(shop=shop)
    assert run.error_kind == SyncErrorKind.CONFIG
    assert run.error.startswith("この認証情報は使えません")
    assert str(listener.port) not in run.error
    sync = ShopSync.objects.get(shop=shop)
    assert (sync.running_since, sync.last_error_kind) == (None, SyncErrorKind.CONFIG)
    assert sync.next_due_at > timezone.now() + dt.timedelta(minutes=50)


def test_the_platforms_base_url_still_reaches_a_local_fake_mall(tenant):
    """Shop.base_url (superuser only) is how tests and the demo reach a fake mall on 127.0.0.1; the
    credential's domain, valid or not, does not move the connector off it."""
    fake = FakeShopify().start()
    try:
        fake.add_orders(2)
        shop = Shop.objects.create(
            tenant=tenant,
            name="Shopify店",
            mall=MallKind.SHOPIFY,
            code="shopify",
            base_url=fake.url,
            credentials=encrypt_credentials(fake.credentials),
        )
        shop_sync(shop)

        run = poll_shop(shop_id=shop.pk).run
    finally:
        fake.stop()

    assert (run.status, run.new) == (RunStatus.OK, 2), run.error
    assert fake.requests


def test_a_mall_that_cannot_be_reached_reads_as_words_not_socket_text(tenant, mall, listener, operator_client):
    """A refused connection and a port that answers in another protocol read the same, in Japanese: no
    errno, no library message, nothing that would tell one port from another."""
    refused = fake_shop(tenant, mall, code="refused", name="閉じたポート")
    Shop.objects.filter(pk=refused.pk).update(base_url=f"http://127.0.0.1:{closed_port()}")
    silent = fake_shop(tenant, mall, code="silent", name="別のプロトコル")
    Shop.objects.filter(pk=silent.pk).update(base_url=f"http://127.0.0.1:{listener.port}")

    errors = [poll_shop(shop_id=shop.pk).run.error for shop in (refused, silent)]

    assert listener.connections  # the second one did reach its port
    assert errors[0] == errors[1] == "モールが応答しません: 接続できませんでした（1 回試行）"
    page = operator_client.get(reverse("shop_list")).content.decode()
    assert page.count("接続できませんでした（1 回試行）") >= 2
    for raw in ("Errno", "refused", "Server disconnected", "All connection attempts", str(listener.port)):
        assert raw not in page


# --- item 7: Retry-After, and the retry of a failed fetch ---------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("2.0", 2.0),
        ("-5", 0.0),
        ("", RETRY_AFTER_DEFAULT),
        ("soon", RETRY_AFTER_DEFAULT),
        ("nan", RETRY_AFTER_DEFAULT),
        ("NaN", RETRY_AFTER_DEFAULT),
        ("inf", RETRY_AFTER_MAX),
        ("-inf", 0.0),
        ("1e400", RETRY_AFTER_MAX),
        ("99999999999999999999", RETRY_AFTER_MAX),
        ("Wed, 02 Dec 2026 09:02:00 GMT", 120.0),
        ("Wed, 02 Dec 2026 08:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_and_bounded(header: str, expected: float) -> None:
    now = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)

    wait = parse_retry_after(header, now=now)

    assert math.isfinite(wait)
    assert wait == expected


@pytest.mark.parametrize("header", ["inf", "1e400", "99999999999999999999"])
def test_an_endless_retry_after_fails_the_poll_and_frees_the_shop(tenant, mall, header):
    shop = fake_shop(tenant, mall)
    mall.add_orders(1)
    mall.fail_next(429, headers={"Retry-After": header})

    outcome = poll_shop(shop_id=shop.pk)

    assert outcome.run.status == RunStatus.FAILED
    assert outcome.run.error_kind == SyncErrorKind.RATE_LIMITED
    assert outcome.retry_in == RETRY_MAX
    sync = ShopSync.objects.get(shop=shop)
    assert sync.running_since is None  # the next poll can run
    assert sync.next_due_at <= timezone.now() + dt.timedelta(seconds=RETRY_MAX)

    mall.add_orders(1)
    assert poll_shop(shop_id=shop.pk).run.new == 2


def test_a_nan_retry_after_waits_the_default_and_the_orders_come():
    fake = FakeShopify().start()
    slept: list[float] = []
    try:
        fake.add_orders(3)
        fake.queue_rate_limit(retry_after="nan")
        connector = ShopifyConnector(fake.credentials, base_url=fake.url, sleep=slept.append)
        orders = [order for page in connector.pages("") for order in page.orders]
        connector.client.close()
    finally:
        fake.stop()

    assert slept == [RETRY_AFTER_DEFAULT]
    assert len(orders) == 3


def test_a_failed_fetch_latest_is_retried_for_real(tenant, mall):
    """F6's poll hits an unavailable mall: its run says so, and the task's retry is a poll that brings the
    orders (it used to carry the F6 run again, find it no longer queued, and do nothing)."""
    shop = fake_shop(tenant, mall)
    mall.add_orders(2)
    mall.fail_next(503)
    fetch = ImportRun.objects.create(tenant=tenant, shop=shop, trigger=Trigger.MANUAL)

    result: dict[str, Any] = poll_shop_task.apply(args=[shop.pk, Trigger.MANUAL, fetch.pk]).get()

    fetch.refresh_from_db()
    assert (fetch.status, fetch.error_kind) == (RunStatus.FAILED, SyncErrorKind.UNAVAILABLE)
    assert Order.objects.filter(shop=shop).count() == 2
    retry = ImportRun.objects.filter(shop=shop).exclude(pk=fetch.pk).get()
    assert (retry.status, retry.trigger, retry.new) == (RunStatus.OK, Trigger.MANUAL, 2)
    assert result["run"] == retry.pk
