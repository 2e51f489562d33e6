"""Factories for tests and the benchmark: tenants come with their default statuses and methods."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from backyard.models import Role, Tenant
from backyard.provisioning import tenant_create
from backyard.services import membership_set
from orders.events import Actor
from orders.models import Order, PaymentMethod, Status
from orders.services import order_create
from shops.constants import MallKind
from shops.models import Shop

PASSWORD = "pass-Backyard-2026"


def make_tenant(name: str = "テスト商店", slug: str | None = None) -> Tenant:
    slug = slug or f"t{Tenant.objects.count() + 1}-{timezone.now().strftime('%H%M%S%f')}"
    return tenant_create(name=name, slug=slug)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.jp")
    password = factory.django.Password(PASSWORD)


def make_member(tenant: Tenant, role: str = Role.OPERATOR, username: str | None = None) -> Any:
    user = UserFactory(username=username) if username else UserFactory()
    membership_set(tenant=tenant, user=user, role=role)
    user.refresh_from_db()
    return user


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"テストショップ{n}")
    mall = MallKind.RAKUTEN
    code = factory.Sequence(lambda n: f"shop{n}")


def make_order(
    tenant: Tenant,
    *,
    shop: Shop | None = None,
    status: Status | None = None,
    lines: list[dict[str, Any]] | None = None,
    actor: Actor | None = None,
    **fields: Any,
) -> Order:
    """An order through the real creation service, with sensible Japanese defaults."""
    shop = shop or Shop.objects.for_tenant(tenant).exclude(mall=MallKind.MANUAL).first() or ShopFactory(tenant=tenant)
    defaults: dict[str, Any] = {
        "ordered_at": timezone.now() - dt.timedelta(hours=1),
        "orderer_name": "山田 太郎",
        "orderer_kana": "ヤマダ タロウ",
        "orderer_email": "taro@example.jp",
        "orderer_phone": "03-1234-5678",
        "orderer_postal_code": "100-0005",
        "orderer_prefecture": "東京都",
        "orderer_city": "千代田区",
        "orderer_address1": "丸の内1-1-1",
        "dest_name": "山田 太郎",
        "dest_kana": "ヤマダ タロウ",
        "dest_phone": "03-1234-5678",
        "dest_postal_code": "100-0005",
        "dest_prefecture": "東京都",
        "dest_city": "千代田区",
        "dest_address1": "丸の内1-1-1",
        "payment_method": PaymentMethod.objects.for_tenant(tenant).get(code="credit_card"),
        "shipping_fee": 600,
    }
    defaults.update(fields)
    external_id = defaults.pop("external_id", None) or f"T-{Order.objects.count() + 1:08d}-{timezone.now():%f}"
    return order_create(
        tenant=tenant,
        shop=shop,
        external_id=external_id,
        fields=defaults,
        lines=lines or [{"sku": "SKU-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8}],
        actor=actor or Actor.system("test"),
        status=status,
    )
