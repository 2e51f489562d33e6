"""Fixtures of the mailer's tests: a shop with its sender and signature, the tenant's SMTP route at the test's
real SMTP server (tests/smtp.py), and helpers to read what it received."""

from __future__ import annotations

from typing import Any

import pytest

from backyard.models import Tenant
from mailer.models import BuiltinKind, MailKind, ShopMailSettings, TenantMailSettings
from tests.factories import ShopFactory, make_order

SIGNATURE = "━━━━━━━━━━\n有機茶園やまだ\nTEL 03-0000-0000\n━━━━━━━━━━"


@pytest.fixture
def mail_shop(tenant: Tenant) -> Any:
    shop = ShopFactory(tenant=tenant, name="有機茶園やまだ 楽天市場店")
    ShopMailSettings.objects.create(
        tenant=tenant,
        shop=shop,
        from_address="shop@yamada-tea.example",
        from_name="有機茶園やまだ",
        reply_to="support@yamada-tea.example",
        signature=SIGNATURE,
        shop_url="https://www.rakuten.co.jp/yamada-tea/",
        shop_phone="03-0000-0000",
    )
    return shop


@pytest.fixture
def smtp_route(tenant: Tenant, smtp_server: Any, settings: Any) -> Any:
    """The tenant's SMTP route points at the test's server (a local address: allowed for the tests)."""
    settings.MAILER_ALLOW_PRIVATE_SMTP = True
    settings.EMAIL_URL = ""
    TenantMailSettings.objects.filter(tenant=tenant).update(
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none"
    )
    return smtp_server


def kind(tenant: Tenant, code: str = BuiltinKind.SHIPPED) -> MailKind:
    return MailKind.objects.get(tenant=tenant, code=code)


@pytest.fixture
def mail_order(tenant: Tenant, mail_shop: Any) -> Any:
    order = make_order(
        tenant, shop=mail_shop, external_id="R-1001", orderer_email="hanako@example.jp", orderer_name="佐藤 花子"
    )
    type(order).objects.filter(pk=order.pk).update(mail_insert="ご注文の品は贈答用に包装いたしました。")  # a rule's
    order.refresh_from_db()
    return order
