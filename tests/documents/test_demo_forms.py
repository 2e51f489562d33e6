"""The demo's printed forms (make run): every demo shop has an issuer with a registration number that passes
its check digit, a logo and a seal that are real images under the tenant's media; the Rakuten and Yahoo!
shops' delivery notes serve as qualified invoices; a second seed keeps what a tenant admin changed. And, as
issue 15's "done" says: the day's paid orders print as delivery notes and a picking list."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from PIL import Image

from devtools.demo import demo_seed
from documents.models import DocumentKind, DocumentSettings, validate_registration_number
from documents.services.data import order_forms
from documents.services.render import render_pdf
from orders.constants import Stage
from orders.models import Order
from shops.constants import MallKind
from shops.models import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


def test_every_demo_shop_prints_as_a_real_issuer(tmp_path):
    tenant = demo_seed(count=40).tenant
    shops = list(Shop.objects.for_tenant(tenant))
    rows = {row.shop_id: row for row in DocumentSettings.objects.for_tenant(tenant)}

    assert set(rows) == {shop.pk for shop in shops}
    for shop in shops:
        row = rows[shop.pk]
        validate_registration_number(row.registration_number)  # raises on a wrong check digit
        for image in (row.logo, row.seal):
            assert image.name.startswith(f"tenants/{tenant.pk}/documents/")
            with Image.open(image.path) as opened:
                assert opened.format == "PNG"
        assert row.delivery_note_with_invoice == (shop.mall in (MallKind.RAKUTEN, MallKind.YAHOO))

    DocumentSettings.objects.for_tenant(tenant).update(issuer_name="変更した発行者名")
    demo_seed(count=0)
    assert set(DocumentSettings.objects.for_tenant(tenant).values_list("issuer_name", flat=True)) == {
        "変更した発行者名"
    }

    paid = list(Order.objects.for_tenant(tenant).filter(stage=Stage.PAID).values_list("pk", flat=True)[:5])
    assert paid
    forms = order_forms(tenant, paid)
    for kind in (DocumentKind.DELIVERY_NOTE, DocumentKind.PICKING_LIST):
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(render_pdf(tenant, kind, forms, {}))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        assert forms[0].number in text
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "delivery_note.pdf")], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) > 2  # the shops' logos are in the delivery notes


def test_the_renderer_reads_files_under_media_only(tmp_path, settings):
    from documents.services.render import FetchRefused, _fetcher

    (tmp_path / "media").mkdir(parents=True, exist_ok=True)
    logo = tmp_path / "media" / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")

    assert _fetcher().fetch(f"file://{logo}").read().startswith(b"\x89PNG")
    for url in (
        f"file://{outside}",
        f"file://{tmp_path}/media/../secret.txt",
        "http://127.0.0.1:8000/",
        "https://example.com/a.png",
    ):
        with pytest.raises(FetchRefused):
            _fetcher().fetch(url)
