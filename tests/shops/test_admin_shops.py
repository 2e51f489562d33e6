"""Shops in the admin: credentials encrypted at rest and never shown back in full, fields per mall kind,
a blank secret kept, default mappings on creation; the key (environment, derived, rotation)."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse

from orders.models import PaymentMethod
from shops import crypto
from shops.connectors import connector_for
from shops.constants import MallKind
from shops.crypto import decrypt_credentials, encrypt_credentials, mask
from shops.models import ImportRun, MallCodeMapping, MappingKind, RunStatus, Shop, ShopSync
from shops.services import shop_credentials_rotate

SECRET = "rakuten-secret-9f3a77c2"
LICENSE = "SL-licence-0000-5678"


def add_url(mall: str = "") -> str:
    url = reverse("admin:shops_shop_add")
    return f"{url}?mall={mall}" if mall else url


def raw_column(shop: Shop) -> str:
    """The credentials column as the database holds it, read without the model."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM shops_shop WHERE id = %s", [shop.pk])
        return str(cursor.fetchone()[0])


def add_rakuten(client, **extra: str):
    data = {
        "name": "楽天本店",
        "mall": MallKind.RAKUTEN,
        "code": "rakuten-main",
        "active": "on",
        "poll_interval": "10",
        "credential_service_secret": SECRET,
        "credential_license_key": LICENSE,
        **extra,
    }
    return client.post(add_url(), data)


def test_the_add_page_offers_the_malls_credential_fields(admin_client_tenant):
    html = admin_client_tenant.get(add_url(MallKind.RAKUTEN)).content.decode()
    for name in connector_for(MallKind.RAKUTEN).credential_fields:
        assert f'name="credential_{name}"' in html
    assert 'type="password"' in html


def test_credentials_are_encrypted_at_rest(admin_client_tenant, tenant):
    response = add_rakuten(admin_client_tenant)

    assert response.status_code == 302
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")
    column = raw_column(shop)
    assert SECRET not in column
    assert LICENSE not in column
    assert decrypt_credentials(column) == {"service_secret": SECRET, "license_key": LICENSE}
    assert shop.poll_interval == 10
    assert ShopSync.objects.filter(shop=shop).exists()


def test_a_new_shop_gets_its_malls_default_payment_mappings(admin_client_tenant, tenant):
    from shops.connectors.rakuten import PAYMENT_CODES

    add_rakuten(admin_client_tenant)

    mapped = dict(
        MallCodeMapping.objects.for_tenant(tenant)
        .filter(mall=MallKind.RAKUTEN, kind=MappingKind.PAYMENT)
        .values_list("mall_code", "payment_method__code")
    )
    have = set(PaymentMethod.objects.for_tenant(tenant).values_list("code", flat=True))
    assert mapped == {code: target for code, target in PAYMENT_CODES.items() if target in have}
    assert mapped


def test_the_change_page_masks_the_secrets(admin_client_tenant, tenant):
    add_rakuten(admin_client_tenant)
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")

    html = admin_client_tenant.get(reverse("admin:shops_shop_change", args=[shop.pk])).content.decode()

    assert SECRET not in html
    assert LICENSE not in html
    assert mask(SECRET) in html
    assert mask(SECRET).endswith("77c2")
    assert not re.search(r'name="credential_service_secret"[^>]*value=', html)


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(admin_client_tenant, tenant):
    add_rakuten(admin_client_tenant)
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    data = {
        "name": "楽天本店",
        "mall": MallKind.RAKUTEN,
        "code": "rakuten-main",
        "active": "on",
        "poll_interval": "5",
        "credential_service_secret": "",
        "credential_license_key": "",
    }

    assert admin_client_tenant.post(url, data).status_code == 302
    assert decrypt_credentials(Shop.objects.get(pk=shop.pk).credentials) == {
        "service_secret": SECRET,
        "license_key": LICENSE,
    }

    assert admin_client_tenant.post(url, {**data, "credential_license_key": "SL-new-licence-0042"}).status_code == 302
    assert decrypt_credentials(Shop.objects.get(pk=shop.pk).credentials) == {
        "service_secret": SECRET,
        "license_key": "SL-new-licence-0042",
    }


def test_new_credentials_clear_an_auth_error_and_make_the_shop_due(admin_client_tenant, tenant):
    add_rakuten(admin_client_tenant)
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")
    ShopSync.objects.filter(shop=shop).update(last_error="401", last_error_kind="auth", failures=3)
    data = {
        "name": "楽天本店",
        "mall": MallKind.RAKUTEN,
        "code": "rakuten-main",
        "active": "on",
        "credential_service_secret": "another-secret-1234",
        "credential_license_key": "",
    }

    admin_client_tenant.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)

    sync = ShopSync.objects.get(shop=shop)
    assert (sync.last_error, sync.failures, sync.next_due_at) == ("", 0, None)


def test_a_non_secret_field_is_shown_and_a_shop_without_connector_has_none(admin_client_tenant, tenant):
    admin_client_tenant.post(
        add_url(),
        {
            "name": "Shopify店",
            "mall": MallKind.SHOPIFY,
            "code": "shopify",
            "active": "on",
            "credential_shop_domain": "example.myshopify.com",
            "credential_access_token": "shpat_0123456789abcdef",
        },
    )
    shopify = Shop.objects.get(tenant=tenant, code="shopify")
    html = admin_client_tenant.get(reverse("admin:shops_shop_change", args=[shopify.pk])).content.decode()
    assert 'value="example.myshopify.com"' in html
    assert "shpat_0123456789abcdef" not in html
    assert mask("shpat_0123456789abcdef") in html

    phone = Shop.objects.get(tenant=tenant, mall=MallKind.MANUAL)
    html = admin_client_tenant.get(reverse("admin:shops_shop_change", args=[phone.pk])).content.decode()
    assert 'name="credential_' not in html


def test_the_admin_action_queues_a_poll(admin_client_tenant, tenant):
    add_rakuten(admin_client_tenant)
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")

    response = admin_client_tenant.post(
        reverse("admin:shops_shop_changelist"), {"action": "fetch_now", "_selected_action": [shop.pk]}
    )

    assert response.status_code == 302
    run = ImportRun.objects.get(shop=shop)
    assert (run.status, run.trigger) == (RunStatus.QUEUED, "manual")


def test_a_payment_mapping_needs_its_payment_method(admin_client_tenant, tenant):
    url = reverse("admin:shops_mallcodemapping_add")
    data = {"mall": MallKind.RAKUTEN, "kind": MappingKind.PAYMENT, "mall_code": "99"}

    refused = admin_client_tenant.post(url, data)
    assert refused.status_code == 200
    assert "payment_method" in refused.context["adminform"].form.errors

    card = PaymentMethod.objects.for_tenant(tenant).get(code="credit_card")
    assert admin_client_tenant.post(url, {**data, "payment_method": card.pk}).status_code == 302
    assert MallCodeMapping.objects.get(tenant=tenant, mall_code="99").payment_method == card


# --- the key ----------------------------------------------------------------------------------------------------


def test_the_configured_key_is_used_and_rotation_keeps_old_tokens_readable(db, tenant, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BACKYARD_CREDENTIALS_KEY = old
    shop = Shop.objects.create(
        tenant=tenant,
        name="鍵",
        mall=MallKind.RAKUTEN,
        code="key",
        credentials=encrypt_credentials({"license_key": LICENSE}),
    )
    assert Fernet(old.encode()).decrypt(shop.credentials.encode())  # made with the configured key

    settings.BACKYARD_CREDENTIALS_KEY = f"{new},{old}"
    assert decrypt_credentials(Shop.objects.get(pk=shop.pk).credentials) == {"license_key": LICENSE}
    assert shop_credentials_rotate() >= 1

    settings.BACKYARD_CREDENTIALS_KEY = new
    assert decrypt_credentials(Shop.objects.get(pk=shop.pk).credentials) == {"license_key": LICENSE}


@pytest.mark.parametrize("value", ["", " , "])
def test_without_a_key_credentials_are_neither_stored_nor_read(settings, value):
    """No key is derived from SECRET_KEY (a database dump plus that key would open every shop's tokens)."""
    token = encrypt_credentials({"a": "b"})
    settings.BACKYARD_CREDENTIALS_KEY = value
    with pytest.raises(ImproperlyConfigured, match=crypto.ENV_KEY):
        encrypt_credentials({"a": "b"})
    with pytest.raises(ImproperlyConfigured, match=crypto.ENV_KEY):
        decrypt_credentials(token)


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    settings.BACKYARD_CREDENTIALS_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match=crypto.ENV_KEY):
        encrypt_credentials({"a": "b"})


@pytest.mark.parametrize(("secret", "shown"), [("abcdefgh1234", "••••1234"), ("short", "••••"), ("", "")])
def test_mask_shows_at_most_the_last_four(secret, shown):
    assert mask(secret) == shown


def test_only_the_platform_sets_the_api_address(admin_client_tenant, admin_client, tenant):
    """A tenant's admin cannot point the workers at an address of their choosing (a request from inside
    our network on their behalf); a superuser can, for a demo or test mall."""
    add_rakuten(admin_client_tenant, base_url="http://169.254.169.254/latest/")
    shop = Shop.objects.get(tenant=tenant, code="rakuten-main")
    assert shop.base_url == ""
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    assert 'name="base_url"' not in admin_client_tenant.get(url).content.decode()

    form = admin_client.get(url).context["adminform"].form
    assert "base_url" in form.fields
