"""Mail in the admin as a tenant admin uses it: templates refused with the line named, the placeholders and a
preview beside the editor, SMTP passwords write-only and encrypted, built-in kinds kept, and the tenant's
rows only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from mailer.models import (
    MailKind,
    MailTemplate,
    ReminderRule,
    ShopMailSettings,
    StatusMail,
    TenantMailSettings,
)
from mailer.rendering import PLACEHOLDERS
from mailer.routes import stored_password
from orders.models import Status
from shops.models import Shop
from tests.factories import ShopFactory, make_order

from .conftest import kind

pytestmark = pytest.mark.django_db

SECRET = "smtp-Secret-7c1e9a44"


def url(model: type[Any], view: str, *args: Any) -> str:
    return reverse(f"admin:mailer_{model._meta.model_name}_{view}", args=args)


def template_data(tenant: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "kind": kind(tenant, "stock_confirmed").pk,
        "shop": "",
        "device": "pc",
        "charset": "utf-8",
        "active": "on",
        "subject": "【{{ 店舗名 }}】在庫確認のお知らせ（{{ 注文番号 }}）",
        "body": "{{ 注文者名 }} 様\n\n在庫を確保いたしました。\n",
    }
    return {**data, **overrides}


def errors_of(response: Any) -> list[str]:
    form = response.context["adminform"].form
    return [str(e) for errors in form.errors.values() for e in errors]


def raw_password(model: type[Any], pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT smtp_password FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


# --- templates -----------------------------------------------------------------------------------------------


def test_a_template_for_one_shop_is_saved(admin_client_tenant, tenant, mail_shop):
    response = admin_client_tenant.post(url(MailTemplate, "add"), template_data(tenant, shop=mail_shop.pk))

    assert response.status_code == 302, errors_of(response)
    made = MailTemplate.objects.get(tenant=tenant, shop=mail_shop)
    assert made.kind.code == "stock_confirmed"
    assert made.subject.startswith("【{{ 店舗名 }}】")


def test_an_unknown_placeholder_is_refused_with_its_line(admin_client_tenant, tenant, mail_shop):
    body = "{{ 注文者名 }} 様\n\nお届け先: {{ お届け先の名前 }}\n"

    response = admin_client_tenant.post(url(MailTemplate, "add"), template_data(tenant, shop=mail_shop.pk, body=body))

    assert response.status_code == 200
    assert "本文 3 行目: 「お届け先の名前」という差し込み項目はありません。" in errors_of(response)
    assert "本文 3 行目: 「お届け先の名前」という差し込み項目はありません。" in response.content.decode()
    assert not MailTemplate.objects.filter(tenant=tenant, shop=mail_shop).exists()


def test_broken_syntax_is_refused_with_its_line(admin_client_tenant, tenant, mail_shop):
    body = "{{ 注文者名 }} 様\n{% if 差込文 %}\n{{ 差込文 }}\n"

    response = admin_client_tenant.post(url(MailTemplate, "add"), template_data(tenant, shop=mail_shop.pk, body=body))

    assert response.status_code == 200
    assert any(e.startswith("本文 ") and "テンプレートを読めません" in e for e in errors_of(response)), errors_of(
        response
    )


def test_the_editor_lists_every_placeholder_and_previews_a_recent_order(admin_client_tenant, tenant, mail_order):
    template = MailTemplate.objects.get(tenant=tenant, kind=kind(tenant), shop=None, device="pc")

    html = admin_client_tenant.get(url(MailTemplate, "change", template.pk)).content.decode()

    reference = html[html.index('id="placeholder-reference"') :]
    for name, description in PLACEHOLDERS.items():
        assert f'data-insert="{{{{ {name} }}}}"' in reference, name
        assert str(description) in reference or description  # the description, translated or not
    preview = html[html.index('id="template-preview"') :]
    assert "R-1001" in preview  # the latest order
    assert "佐藤 花子 様" in preview
    assert "有機茶園やまだ &lt;shop@yamada-tea.example&gt;" in preview


def test_the_template_list_filters_by_kind_shop_and_device(admin_client_tenant, tenant):
    response = admin_client_tenant.get(url(MailTemplate, "changelist"), {"device__exact": "mobile"})
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown
    assert {t.device for t in shown} == {"mobile"}


# --- kinds ---------------------------------------------------------------------------------------------------


def test_a_builtin_kind_cannot_be_deleted_nor_its_code_changed(admin_client_tenant, tenant):
    shipped = kind(tenant)

    assert admin_client_tenant.get(url(MailKind, "delete", shipped.pk)).status_code == 403
    response = admin_client_tenant.post(
        url(MailKind, "change", shipped.pk), {"name": "発送のお知らせ", "code": "renamed", "position": 60}
    )
    assert response.status_code == 302
    shipped.refresh_from_db()
    assert (shipped.name, shipped.code, shipped.builtin) == ("発送のお知らせ", "shipped", True)


def test_the_bulk_delete_refuses_builtin_kinds(admin_client_tenant, tenant):
    own = MailKind.objects.create(tenant=tenant, code="review_request", name="レビューのお願い", position=100)
    builtins = MailKind.objects.filter(tenant=tenant, builtin=True).count()

    def delete(*kinds: MailKind) -> Any:
        return admin_client_tenant.post(
            url(MailKind, "changelist"),
            {"action": "delete_selected", "_selected_action": [k.pk for k in kinds], "post": "yes"},
        )

    refused = delete(own, kind(tenant))
    assert refused.status_code == 403
    assert MailKind.objects.filter(pk=own.pk).exists()  # a built-in among them: nothing is deleted
    delete(own)
    assert not MailKind.objects.filter(pk=own.pk).exists()
    assert MailKind.objects.filter(tenant=tenant, builtin=True).count() == builtins


def test_a_tenant_adds_a_kind_of_its_own(admin_client_tenant, tenant):
    response = admin_client_tenant.post(
        url(MailKind, "add"), {"name": "レビューのお願い", "code": "review_request", "position": 100}
    )
    assert response.status_code == 302
    made = MailKind.objects.get(tenant=tenant, code="review_request")
    assert not made.builtin
    assert admin_client_tenant.get(url(MailKind, "delete", made.pk)).status_code == 200

    taken = admin_client_tenant.post(url(MailKind, "add"), {"name": "重複", "code": "shipped", "position": 1})
    assert taken.status_code == 200  # the code is the tenant's already: a form error, not a crash


# --- SMTP passwords --------------------------------------------------------------------------------------------


def settings_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "from_address": "info@yamada-tea.example",
        "from_name": "有機茶園やまだ",
        "reply_to": "",
        "body_keep_days": 180,
        "smtp_host": "smtp.yamada-tea.example",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_user": "info@yamada-tea.example",
        "smtp_password_new": "",
    }
    return {**data, **overrides}


def test_the_smtp_password_is_write_only_and_encrypted(admin_client_tenant, tenant):
    row = TenantMailSettings.objects.get(tenant=tenant)
    change = url(TenantMailSettings, "change", row.pk)

    response = admin_client_tenant.post(change, settings_data(smtp_password_new=SECRET))

    assert response.status_code == 302, errors_of(response)
    row.refresh_from_db()
    column = raw_password(TenantMailSettings, row.pk)
    assert column
    assert SECRET not in column
    assert stored_password(row) == SECRET
    page = admin_client_tenant.get(change).content.decode()
    assert SECRET not in page
    assert column not in page
    assert 'name="smtp_password_new"' in page
    assert 'type="password"' in page
    assert "パスワードは保存済みです（表示しません）" in page


def test_a_blank_password_keeps_the_stored_one_and_the_tick_removes_it(admin_client_tenant, tenant):
    row = TenantMailSettings.objects.get(tenant=tenant)
    change = url(TenantMailSettings, "change", row.pk)
    admin_client_tenant.post(change, settings_data(smtp_password_new=SECRET))

    admin_client_tenant.post(change, settings_data(smtp_user="other@yamada-tea.example"))
    row.refresh_from_db()
    assert (row.smtp_user, stored_password(row)) == ("other@yamada-tea.example", SECRET)

    admin_client_tenant.post(change, settings_data(smtp_password_clear="on"))
    row.refresh_from_db()
    assert row.smtp_password == ""


def test_a_port_that_is_not_a_mail_port_is_refused(admin_client_tenant, tenant):
    row = TenantMailSettings.objects.get(tenant=tenant)
    response = admin_client_tenant.post(url(TenantMailSettings, "change", row.pk), settings_data(smtp_port=6379))
    assert response.status_code == 200
    assert any("メール用のポート" in e for e in errors_of(response))


def test_a_tenant_has_one_mail_settings_row(admin_client_tenant):
    assert admin_client_tenant.get(url(TenantMailSettings, "add")).status_code == 403


def test_a_shops_smtp_password_is_encrypted_too(admin_client_tenant, tenant):
    shop = ShopFactory(tenant=tenant, name="やまだ 楽天市場店")
    response = admin_client_tenant.post(
        url(ShopMailSettings, "add"),
        {
            "shop": shop.pk,
            "from_address": "yamada@shop.rakuten.example",
            "from_name": "有機茶園やまだ",
            "reply_to": "",
            "signature": "━━━━\n有機茶園やまだ\n━━━━",
            "shop_url": "www.rakuten.co.jp/yamada-tea/",
            "shop_phone": "03-0000-0000",
            "smtp_host": "sub.fw.rakuten.ne.jp",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "smtp_user": "yamada-tea",
            "smtp_password_new": SECRET,
        },
    )

    assert response.status_code == 302, errors_of(response)
    row = ShopMailSettings.objects.get(shop=shop)
    assert row.tenant == tenant
    assert row.shop_url == "https://www.rakuten.co.jp/yamada-tea/"
    assert SECRET not in raw_password(ShopMailSettings, row.pk)
    assert stored_password(row) == SECRET
    assert SECRET not in admin_client_tenant.get(url(ShopMailSettings, "change", row.pk)).content.decode()


# --- tenancy -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MailTemplate, MailKind, TenantMailSettings, StatusMail, ReminderRule])
def test_another_tenants_rows_are_answered_like_missing_ones(admin_client_tenant, other_tenant, model):
    theirs = model.objects.for_tenant(other_tenant).first()

    foreign = admin_client_tenant.get(url(model, "change", theirs.pk))
    missing = admin_client_tenant.get(url(model, "change", 987_654_321))

    assert foreign.status_code == missing.status_code == 302
    assert foreign["Location"] == missing["Location"] == reverse("admin:index")
    deleting = admin_client_tenant.post(url(model, "delete", theirs.pk), {"post": "yes"})
    deleting_missing = admin_client_tenant.post(url(model, "delete", 987_654_321), {"post": "yes"})
    assert deleting.status_code == deleting_missing.status_code  # 302, or 403 where nobody may delete
    assert deleting.get("Location") == deleting_missing.get("Location")
    assert model.objects.filter(pk=theirs.pk).exists()


def test_the_lists_show_only_the_tenants_rows(admin_client_tenant, tenant, other_tenant):
    for model in (MailTemplate, MailKind, StatusMail, ReminderRule):
        shown = admin_client_tenant.get(url(model, "changelist")).context["cl"].result_list
        assert {row.tenant_id for row in shown} == {tenant.pk}, model


def test_choices_are_the_tenants_own(admin_client_tenant, tenant, other_tenant):
    ShopFactory(tenant=other_tenant, name="他社の店")
    template_form = admin_client_tenant.get(url(MailTemplate, "add")).context["adminform"].form
    rule_form = admin_client_tenant.get(url(ReminderRule, "add")).context["adminform"].form
    status_form = admin_client_tenant.get(url(StatusMail, "add")).context["adminform"].form

    assert {k.tenant_id for k in template_form.fields["kind"].queryset} == {tenant.pk}
    assert {s.tenant_id for s in template_form.fields["shop"].queryset} <= {tenant.pk}
    assert {k.tenant_id for k in rule_form.fields["kind"].queryset} == {tenant.pk}
    assert {s.tenant_id for s in rule_form.fields["move_to"].queryset} == {tenant.pk}
    assert {s.tenant_id for s in status_form.fields["status"].queryset} == {tenant.pk}
    assert {k.tenant_id for k in status_form.fields["kind"].queryset} == {tenant.pk}
    assert "tenant" not in template_form.fields


def test_another_tenants_kind_or_shop_cannot_be_named(admin_client_tenant, tenant, other_tenant):
    their_shop = ShopFactory(tenant=other_tenant, name="他社の店")

    response = admin_client_tenant.post(
        url(MailTemplate, "add"), template_data(tenant, kind=kind(other_tenant).pk, shop=their_shop.pk)
    )

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"kind", "shop"}
    assert not MailTemplate.objects.filter(shop=their_shop).exists()


def test_a_reminder_rule_cannot_move_orders_to_another_tenants_status(admin_client_tenant, tenant, other_tenant):
    response = admin_client_tenant.post(
        url(ReminderRule, "add"),
        {
            "name": "入金催促（2回目）",
            "target": "unpaid",
            "kind": kind(tenant, "payment_reminder").pk,
            "days_after": 7,
            "every_days": 3,
            "max_times": 1,
            "move_to": Status.objects.for_tenant(other_tenant).first().pk,
            "position": 3,
        },
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"move_to"}


def test_the_tenant_admin_opens_every_mail_screen(admin_client_tenant, tenant, mail_shop):
    make_order(tenant, shop=mail_shop)
    for model in (MailKind, MailTemplate, TenantMailSettings, ShopMailSettings, StatusMail, ReminderRule):
        assert admin_client_tenant.get(url(model, "changelist")).status_code == 200, model
        row = model.objects.for_tenant(tenant).first()
        assert admin_client_tenant.get(url(model, "change", row.pk)).status_code == 200, model
    assert Shop.objects.for_tenant(tenant).exists()
