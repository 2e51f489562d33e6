"""Issue 10 #15 (part): the admin labels each mall's credentials in the operator's language, in the mall's own
terms (Japanese by default, English for a user who chose English), from the connector's translatable labels."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from shops.connectors import connector_for
from shops.constants import MallKind

MALLS = (MallKind.RAKUTEN, MallKind.YAHOO, MallKind.SHOPIFY, MallKind.AMAZON)
JAPANESE = {
    MallKind.RAKUTEN: {"service_secret": "サービスシークレット", "license_key": "ライセンスキー"},
    MallKind.YAHOO: {
        "seller_id": "セラーID（ストアアカウント）",
        "access_token": "アクセストークン",
        "refresh_token": "リフレッシュトークン",
        "client_id": "Client ID（アプリケーションID）",
        "client_secret": "シークレット",
    },
    MallKind.SHOPIFY: {
        "shop_domain": "ショップのドメイン（○○.myshopify.com）",
        "access_token": "Admin API のアクセストークン",
    },
    MallKind.AMAZON: {
        "client_id": "LWA クライアントID",
        "client_secret": "LWA クライアントシークレット",
        "refresh_token": "リフレッシュトークン",
        "marketplace_id": "マーケットプレイスID",
    },
}
ENGLISH = {
    MallKind.RAKUTEN: {"service_secret": "Service secret", "license_key": "License key"},
    MallKind.SHOPIFY: {"shop_domain": "Shop domain", "access_token": "Admin API access token"},
}


def labels(html: str) -> dict[str, str]:
    """Each credential field's label text on the admin's shop form."""
    return {
        name: text.strip().rstrip(":")
        for name, text in re.findall(r'<label[^>]*for="id_credential_(\w+)"[^>]*>([^<]*)</label>', html)
    }


@pytest.mark.parametrize("mall", MALLS)
def test_every_credential_of_a_mall_has_its_own_label(mall):
    connector = connector_for(mall)
    assert set(connector.credential_labels) == set(connector.credential_fields)


@pytest.mark.parametrize("mall", MALLS)
def test_the_credential_labels_are_japanese(admin_client_tenant, mall):
    html = admin_client_tenant.get(f"{reverse('admin:shops_shop_add')}?mall={mall}").content.decode()

    assert labels(html) == JAPANESE[mall]


@pytest.mark.parametrize("mall", list(ENGLISH))
def test_the_credential_labels_are_english_for_a_user_who_chose_english(admin_client_tenant, mall):
    admin_client_tenant.post(reverse("set_language"), {"language": "en", "next": "/admin/"})

    html = admin_client_tenant.get(f"{reverse('admin:shops_shop_add')}?mall={mall}").content.decode()

    assert labels(html) == ENGLISH[mall]
