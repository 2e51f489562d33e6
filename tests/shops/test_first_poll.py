"""Issue 10 #13: the admin sets where a newly connected shop's first poll starts (a day, Japan time); the poll
asks each mall from that day, the value is checked (no day in the future), and the shops pages say where the
first fetch will start (or the mall's default) until it has run, and why a shop is not polled at all."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools.fakemalls import amazon, rakuten, shopify, yahoo
from orders.models import Order
from shops.connectors import connector_for
from shops.connectors.yahoo import parse_xml
from shops.constants import MallKind
from shops.models import Shop, ShopSync
from shops.services import poll_shop, shop_create

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=JST)


def yahoo_from(fake: Any) -> str:
    [first, *_] = [r for r in fake.requests if r.path.endswith("/orderList")]
    stamp = parse_xml(first.body).findtext("Search/Condition/OrderTimeFrom") or ""
    return dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=JST).isoformat()


def rakuten_from(fake: Any) -> str:
    [first, *_] = [r for r in fake.requests if r.path == rakuten.SEARCH_PATH]
    return first.body["startDatetime"]


def shopify_from(fake: Any) -> str:
    [first, *_] = [r for r in fake.requests if shopify.ORDERS_PATH.fullmatch(r.path)]
    return first.query["updated_at_min"]


def amazon_from(fake: Any) -> str:
    [first, *_] = [r for r in fake.requests if r.path == amazon.SEARCH_PATH]
    return first.query["lastUpdatedAfter"]


MALLS: dict[str, tuple[Callable[[], Any], Callable[[Any], str]]] = {
    MallKind.YAHOO: (lambda: yahoo.FakeYahoo(), yahoo_from),
    MallKind.RAKUTEN: (lambda: rakuten.FakeRakuten(seed=1), rakuten_from),
    MallKind.SHOPIFY: (lambda: shopify.FakeShopify(seed=1), shopify_from),
    MallKind.AMAZON: (lambda: amazon.FakeAmazon(seed=1), amazon_from),
}


@pytest.fixture(params=list(MALLS))
def mall(request: Any) -> Any:
    make, read_from = MALLS[request.param]
    fake = make().start()
    yield request.param, fake, read_from
    fake.stop()


def connect(tenant: Any, kind: str, fake: Any, **fields: Any) -> Shop:
    return shop_create(
        tenant=tenant, name=f"{kind}店", mall=kind, code=kind, base_url=fake.url, credentials=fake.credentials, **fields
    )


def test_the_first_poll_asks_the_mall_from_the_day_the_admin_set(tenant, mall):
    kind, fake, read_from = mall
    day = timezone.localdate() - dt.timedelta(days=45)  # further back than any mall's default
    shop = connect(tenant, kind, fake, first_poll_from=day)

    run = poll_shop(shop_id=shop.pk, trigger="manual").run

    assert run.status in ("ok", "partial"), run.error
    asked = dt.datetime.fromisoformat(read_from(fake))
    assert asked == midnight(day), (kind, read_from(fake))


def test_without_a_set_day_the_first_poll_reaches_back_the_malls_default(tenant, mall):
    kind, fake, read_from = mall
    shop = connect(tenant, kind, fake)

    poll_shop(shop_id=shop.pk, trigger="manual")

    asked = dt.datetime.fromisoformat(read_from(fake))
    expected = timezone.now() - connector_for(kind).INITIAL_LOOKBACK
    assert abs(asked - expected) < dt.timedelta(minutes=5)


def test_an_order_older_than_the_default_comes_in_when_the_day_reaches_it(tenant):
    with yahoo.FakeYahoo() as fake:
        old = fake.add_order(ordered_at=dt.datetime.now(JST) - dt.timedelta(days=40))
        recent = fake.add_order()
        shop = connect(tenant, MallKind.YAHOO, fake, first_poll_from=timezone.localdate() - dt.timedelta(days=41))

        poll_shop(shop_id=shop.pk, trigger="manual")

    assert set(Order.objects.filter(shop=shop).values_list("external_id", flat=True)) == {old, recent}


# --- the admin -------------------------------------------------------------------------------------------------


def admin_data(**extra: str) -> dict[str, str]:
    return {"name": "Yahoo!店", "mall": MallKind.YAHOO, "code": "yahoo", "active": "on", "poll_interval": "5", **extra}


def test_the_admin_sets_the_first_fetch_day_and_a_day_in_the_future_is_refused(admin_client_tenant, tenant):
    url = reverse("admin:shops_shop_add")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    refused = admin_client_tenant.post(url, admin_data(first_poll_from=tomorrow.isoformat()))

    assert refused.status_code == 200
    assert "初回取得の開始日に未来の日付は指定できません" in refused.content.decode()
    assert not Shop.objects.filter(tenant=tenant, code="yahoo").exists()

    saved = admin_client_tenant.post(url, admin_data(first_poll_from="2026-11-01"))

    assert saved.status_code == 302
    assert Shop.objects.get(tenant=tenant, code="yahoo").first_poll_from == dt.date(2026, 11, 1)


def test_a_first_fetch_day_from_another_age_is_refused(admin_client_tenant, tenant):
    """Year 1 passed the "not in the future" check, and the first poll would have paged back two millennia."""
    refused = admin_client_tenant.post(reverse("admin:shops_shop_add"), admin_data(first_poll_from="0001-01-01"))

    assert refused.status_code == 200
    assert "2000年から2100年までの日付を入力してください" in refused.content.decode()
    assert not Shop.objects.filter(tenant=tenant, code="yahoo").exists()


def test_the_shop_form_offers_the_first_fetch_day_with_the_polling_settings(admin_client_tenant):
    html = admin_client_tenant.get(f"{reverse('admin:shops_shop_add')}?mall=yahoo").content.decode()

    assert 'name="first_poll_from"' in html
    assert "初回取得の開始日" in html


# --- the shops pages -------------------------------------------------------------------------------------------


def card(html: str, shop: Shop) -> str:
    """The text of one shop's card on the shops page, tags removed."""
    found = re.search(rf'id="shop-{shop.pk}".*?</div>', html, re.S)
    assert found, shop
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_the_shops_pages_say_where_the_first_fetch_starts_until_it_has_run(operator_client, tenant):
    with yahoo.FakeYahoo() as fake:
        fake.add_order()
        set_day = connect(tenant, MallKind.YAHOO, fake, first_poll_from=dt.date(2026, 11, 1))
        default = shop_create(
            tenant=tenant,
            name="楽天店",
            mall=MallKind.RAKUTEN,
            code="rakuten",
            credentials={"service_secret": "s", "license_key": "k"},
        )

        page = operator_client.get(reverse("shop_list")).content.decode()
        detail = operator_client.get(reverse("shop_detail", args=[set_day.pk])).content.decode()

        assert "初回取得: 2026-11-01 以降の受注" in card(page, set_day)
        assert "初回取得: 2026-11-01 以降の受注" in detail
        assert "初回取得: 直近 30 日分の受注" in card(page, default)

        poll_shop(shop_id=set_day.pk, trigger="manual")

    assert ShopSync.objects.get(shop=set_day).cursor
    page = operator_client.get(reverse("shop_list")).content.decode()
    assert "初回取得" not in card(page, set_day)
    assert "初回取得" not in operator_client.get(reverse("shop_detail", args=[set_day.pk])).content.decode()


def test_the_shops_page_says_why_a_shop_is_not_polled(operator_client, tenant):
    unconnected = shop_create(tenant=tenant, name="楽天店", mall=MallKind.RAKUTEN, code="rakuten")
    inactive = shop_create(
        tenant=tenant,
        name="休止中のYahoo!店",
        mall=MallKind.YAHOO,
        code="yahoo",
        active=False,
        credentials={"seller_id": "s", "access_token": "t"},
    )
    connected = shop_create(
        tenant=tenant,
        name="Shopify店",
        mall=MallKind.SHOPIFY,
        code="shopify",
        credentials={"shop_domain": "demo.myshopify.com", "access_token": "t"},
    )

    page = operator_client.get(reverse("shop_list")).content.decode()

    assert "認証情報が未入力のため、自動取得していません。" in card(page, unconnected)
    assert "無効のため、自動取得していません。" in card(page, inactive)
    assert "自動取得していません" not in card(page, connected)
    assert "認証情報が未入力のため" not in card(page, inactive)
    # a shop that cannot be fetched offers no "fetch now" that would fetch nothing
    assert f'action="{reverse("shop_fetch", args=[unconnected.pk])}"' not in page
    assert f'action="{reverse("shop_fetch", args=[connected.pk])}"' in page
    detail = operator_client.get(reverse("shop_detail", args=[unconnected.pk])).content.decode()
    assert "認証情報が未入力のため、自動取得していません。" in detail
