"""Form settings per shop in the admin (issue 15, item 2; "Bad input"): the registration number checked (T and
13 digits, a corporation's check digit), the logo and seal real PNG/JPEG images of at most 2 MB, each refusal
in Japanese; the stored logo previewed through the tenant-only image view; print jobs read only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from documents.models import DocumentSettings, PrintJob, corporate_check_digit
from shops.models import Shop

pytestmark = pytest.mark.django_db

ADD = "admin:documents_documentsettings_add"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def png(width: int = 120, height: int = 40, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def valid_number() -> str:
    base = "234567890123"
    return f"T{corporate_check_digit(base)}{base}"


def form(tenant: Any, **values: Any) -> dict[str, Any]:
    shop = Shop.objects.for_tenant(tenant).first()
    assert shop is not None
    return {
        "shop": shop.pk,
        "issuer_name": "株式会社テスト商店",
        "issuer_is_corporation": "on",
        "registration_number": valid_number(),
        "layout": "standard",
        "delivery_note_message": "ありがとうございました。",
        "receipt_proviso": "お品代として",
        **values,
    }


def errors_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code  # the form again, with its errors
    return " ".join(str(e) for e in response.context["adminform"].form.errors.values())


def test_a_valid_setting_with_a_logo_is_saved_and_previewed_for_the_tenant_only(
    admin_client_tenant, tenant, other_tenant, client
):
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    seal = SimpleUploadedFile("hanko.jpeg", png(80, 80, "JPEG"), content_type="image/jpeg")

    response = admin_client_tenant.post(reverse(ADD), form(tenant, logo=logo, seal=seal))

    assert response.status_code == 302, errors_of(response)
    row = DocumentSettings.objects.get()
    assert row.tenant_id == tenant.pk
    assert row.logo.name.startswith(f"tenants/{tenant.pk}/documents/logo-")
    assert row.logo.name.endswith(".png")
    assert row.seal.name.endswith(".jpg")
    page = admin_client_tenant.get(reverse("admin:documents_documentsettings_change", args=[row.pk])).content.decode()
    assert reverse("documents_logo", args=[row.pk]) in page
    image = admin_client_tenant.get(reverse("documents_logo", args=[row.pk]))
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == png()
    assert admin_client_tenant.get(reverse("documents_seal", args=[row.pk]))["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1234567890123", "登録番号は T と13桁の数字で入力してください"),
        ("T12345", "登録番号は T と13桁の数字で入力してください"),
        ("T１２３４５６７８９０１２３", "登録番号は T と13桁の数字で入力してください"),
        ("T1234567890123", "登録番号のチェックデジットが一致しません"),
    ],
)
def test_a_bad_registration_number_is_refused_in_japanese(admin_client_tenant, tenant, number, message):
    response = admin_client_tenant.post(reverse(ADD), form(tenant, registration_number=number))
    assert message in errors_of(response)
    assert not DocumentSettings.objects.exists()


def test_a_sole_proprietors_number_skips_the_check_digit(admin_client_tenant, tenant):
    response = admin_client_tenant.post(
        reverse(ADD), form(tenant, registration_number="t1234567890123", issuer_is_corporation="")
    )
    assert response.status_code == 302
    assert DocumentSettings.objects.get().registration_number == "T1234567890123"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("logo.png", b"%PDF-1.4 not an image", content_type="image/png"), "画像として読み込めない"),
        (SimpleUploadedFile("logo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_type="image/gif"), None),
        (SimpleUploadedFile("big.png", b"\x89PNG" + b"\x00" * (20 * 1024 * 1024), content_type="image/png"), "20.0 MB"),
    ],
    ids=["not an image", "gif", "20 MB"],
)
def test_a_logo_that_is_not_a_small_png_or_jpeg_is_refused_in_japanese(admin_client_tenant, tenant, upload, message):
    response = admin_client_tenant.post(reverse(ADD), form(tenant, logo=upload))
    text = errors_of(response)
    assert message is None or message in text
    assert "PNG または JPEG" in text or "2 MB までにしてください" in text
    assert not DocumentSettings.objects.exists()


def test_a_huge_picture_in_few_bytes_is_refused(admin_client_tenant, tenant):
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, "PNG")  # small file, 25 million pixels
    upload = SimpleUploadedFile("wide.png", out.getvalue(), content_type="image/png")
    response = admin_client_tenant.post(reverse(ADD), form(tenant, logo=upload))
    assert "5000 × 5000 ピクセル" in errors_of(response)


def test_the_shop_choices_are_the_tenants_own(admin_client_tenant, tenant, other_tenant):
    theirs = Shop.objects.for_tenant(other_tenant).first()
    response = admin_client_tenant.post(reverse(ADD), form(tenant, shop=theirs.pk))
    assert "正しく選択してください" in errors_of(response)


def test_print_jobs_are_read_only_in_the_admin(admin_client_tenant, tenant, other_tenant):
    mine = PrintJob.objects.create(tenant=tenant, kind="receipt", total=3)
    theirs = PrintJob.objects.create(tenant=other_tenant, kind="invoice", total=4)
    page = admin_client_tenant.get(reverse("admin:documents_printjob_changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].queryset) == [mine]
    assert admin_client_tenant.get(reverse("admin:documents_printjob_add")).status_code == 403
    change = admin_client_tenant.post(reverse("admin:documents_printjob_change", args=[mine.pk]), {"total": 99})
    assert change.status_code == 403
    assert PrintJob.objects.get(pk=mine.pk).total == 3
    assert theirs.pk
