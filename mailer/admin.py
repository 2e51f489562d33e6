"""Mail in the admin, for tenant admins: kinds, templates (with the placeholders beside the body and a preview
with a recent order), mobile domains, the tenant's and each shop's sender and SMTP route (the password write
only, stored encrypted), the mail of each status, and reminder rules.

Scoped to the tenant like every admin here (backyard.admin_mixins): lists, choices and saves see only the
tenant's rows; another tenant's id is answered like a missing one. The send log is not here: it is an
operator's screen (mailer.views.log).
"""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.admin_mixins import TenantAdminMixin, is_superuser
from orders.models import Order, Status

from .forms import MailTemplateForm, ShopMailSettingsForm, TenantMailSettingsForm
from .models import (
    MailKind,
    MailTemplate,
    MobileDomain,
    ReminderRule,
    ShopMailSettings,
    SmtpSettings,
    StatusMail,
    TenantMailSettings,
)
from .rendering import PLACEHOLDERS, MailRenderError, render_text, sample_context
from .selectors import mail_book
from .services.compose import compose, orders_for_mail

SMTP_FIELDSET_FIELDS = [
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password_new",
    "smtp_password_clear",
]


def _with_tenant(request: HttpRequest, fieldsets: list[Any]) -> list[Any]:
    """A superuser picks the tenant in the first fieldset; a tenant admin never sees it."""
    if not is_superuser(request):
        return fieldsets
    first_name, first = fieldsets[0]
    return [(first_name, {**first, "fields": ["tenant", *first["fields"]]}), *fieldsets[1:]]


@admin.register(MailKind)
class MailKindAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The built-in kinds (注文確認 … キャンセル) can be renamed and reordered, not deleted, and keep their code;
    a tenant adds kinds of its own."""

    list_display = ["name", "code", "builtin", "position"]
    list_display_links = ["name"]
    list_editable = ["position"]
    list_filter = ["tenant", "builtin"]
    search_fields = ["name", "code"]
    ordering = ["position", "pk"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "code", "builtin"] if obj is not None and obj.builtin else fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "code", "position"]
        if obj is not None and obj.builtin:
            fields.append("builtin")
        return ["tenant", *fields] if is_superuser(request) else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.builtin:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MailKind]) -> None:
        """The bulk delete action spares the built-in kinds, as the delete button does."""
        super().delete_queryset(request, queryset.filter(builtin=False))


@admin.register(MailTemplate)
class MailTemplateAdmin(TenantAdminMixin, admin.ModelAdmin):
    """A template per kind and device, for every shop or one shop (the shop's own wins). The placeholders
    are listed beside the body (click one to insert it); saving refuses an unknown placeholder or broken
    syntax with its line."""

    form = MailTemplateForm
    list_display = ["kind", "shop_or_all", "device", "subject", "charset", "active", "updated_at"]
    list_display_links = ["kind", "subject"]
    list_filter = ["tenant", "kind", "shop", "device", "charset", "active"]
    list_select_related = ["kind", "shop"]
    search_fields = ["subject", "body"]
    ordering = ["kind__position", "kind_id", "shop_id", "device"]
    readonly_fields = ["placeholder_reference", "preview"]

    class Media:
        js = ("mailer/template_editor.js",)
        css = {"all": ("mailer/template_editor.css",)}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: list[Any] = [
            (None, {"fields": [("kind", "shop"), ("device", "charset", "active")]}),
            (gettext_lazy("Subject and body"), {"fields": ["subject", ("body", "placeholder_reference")]}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    gettext_lazy("Preview"),
                    {
                        "fields": ["preview"],
                        "description": gettext_lazy(
                            "The saved template rendered for the tenant's latest order (of the template's shop): "
                            "save to see your changes here."
                        ),
                    },
                )
            )
        return _with_tenant(request, fieldsets)

    @admin.display(description=gettext_lazy("shop"), ordering="shop__name")
    def shop_or_all(self, obj: MailTemplate) -> str:
        return obj.shop.name if obj.shop_id and obj.shop else _("every shop")

    @admin.display(description=gettext_lazy("placeholders"))
    def placeholder_reference(self, obj: MailTemplate | None = None) -> str:
        rows = format_html_join(
            "",
            '<tr><td><button type="button" class="by-placeholder" data-insert="{}" title="{}">{}</button></td>'
            "<td>{}</td></tr>",
            (
                ("{{ " + name + " }}", _("Insert at the cursor"), "{{ " + name + " }}", str(text))
                for name, text in PLACEHOLDERS.items()
            ),
        )
        usage = _(
            "Write a placeholder as {{ 注文者名 }}. Conditions and loops: {% if お届け希望日 %}…{% endif %}, "
            "{% for 行 in 明細 %}{{ 行.商品名 }}{% endfor %}. The shop's signature is added when the mail is sent."
        )
        return format_html(
            '<div class="by-placeholders"><div class="by-placeholders-usage">{}</div>'
            '<table id="placeholder-reference">{}</table></div>',
            usage,
            rows,
        )

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, obj: MailTemplate) -> str:
        if obj.pk is None:
            return "—"
        orders = Order.objects.filter(tenant_id=obj.tenant_id, personal_data_erased_at__isnull=True)
        if obj.shop_id:
            orders = orders.filter(shop_id=obj.shop_id)
        latest = orders.order_by("-ordered_at", "-pk").values_list("pk", flat=True).first()
        if latest is None:
            return self._sample_preview(obj, _("No order yet: rendered over a made-up order."))
        order = orders_for_mail(obj.tenant_id, [latest])[latest]
        try:
            mail = compose(book=mail_book(obj.tenant_id), order=order, kind=obj.kind, template=obj)
        except MailRenderError as error:
            return self._sample_preview(
                obj,
                _("Cannot render for order %(number)s: %(error)s")
                % {
                    "number": order.external_id,
                    "error": error,
                },
            )
        head = [
            ("From", str(make_header(decode_header(mail.from_header)))),
            ("To", mail.to),
            ("Reply-To", mail.reply_to or "—"),
            (_("Subject"), mail.subject),
        ]
        return format_html(
            '<div class="by-preview" id="template-preview"><p class="help">{}</p><table>{}</table>'
            '<pre class="by-preview-body">{}</pre>{}</div>',
            _("Order %(number)s") % {"number": order.external_id},
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", head),
            mail.body,
            format_html_join("", '<p class="help">{}</p>', ((note,) for note in mail.notes)),
        )

    def _sample_preview(self, obj: MailTemplate, note: str) -> str:
        context = sample_context()
        try:
            subject, body = render_text(obj.subject, context), render_text(obj.body, context)
        except MailRenderError as error:
            return format_html('<p class="errornote">{}</p>', error)
        return format_html(
            '<div class="by-preview" id="template-preview"><p class="help">{}</p><table><tr><th>{}</th><td>{}</td>'
            '</tr></table><pre class="by-preview-body">{}</pre></div>',
            note,
            _("Subject"),
            subject,
            body,
        )


@admin.register(MobileDomain)
class MobileDomainAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Recipient domains that get the mobile template (subdomains count too)."""

    list_display = ["domain"]
    list_filter = ["tenant"]
    search_fields = ["domain"]
    ordering = ["domain"]


class SmtpSettingsAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Shared by the tenant's and the shops' mail settings: the SMTP password is write-only."""

    @admin.display(description=gettext_lazy("SMTP"))
    def route(self, obj: SmtpSettings) -> str:
        if not obj.has_route:
            return _("not set (the next level's is used)")
        secured = obj.get_smtp_security_display()
        password = _("password stored") if obj.smtp_password else _("no password")
        return f"{obj.smtp_host}:{obj.smtp_port} ({secured}, {password})"


@admin.register(TenantMailSettings)
class TenantMailSettingsAdmin(SmtpSettingsAdmin):
    """The tenant's sender and SMTP route, used where a shop has none, and how long mail bodies are kept."""

    form = TenantMailSettingsForm
    list_display = ["__str__", "from_address", "from_name", "route", "body_keep_days"]
    list_filter = ["tenant"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return _with_tenant(
            request,
            [
                (None, {"fields": ["from_address", "from_name", "reply_to", "body_keep_days"]}),
                (
                    gettext_lazy("SMTP server"),
                    {
                        "fields": SMTP_FIELDSET_FIELDS,
                        "description": gettext_lazy(
                            "Used for the shops that have no SMTP server of their own. Leave the host empty to "
                            "use the server this installation is set up with."
                        ),
                    },
                ),
            ],
        )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if not super().has_add_permission(request, *args):
            return False
        if is_superuser(request):
            return True
        tenant = getattr(request, "tenant", None)
        return tenant is not None and not TenantMailSettings.objects.for_tenant(tenant).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


@admin.register(ShopMailSettings)
class ShopMailSettingsAdmin(SmtpSettingsAdmin):
    """A shop's sender, signature and SMTP route (Rakuten: R-Mail with the shop's SMTP AUTH login)."""

    form = ShopMailSettingsForm
    list_display = ["shop", "from_address", "from_name", "route"]
    list_filter = ["tenant"]
    list_select_related = ["shop"]
    search_fields = ["shop__name", "from_address"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return _with_tenant(
            request,
            [
                (None, {"fields": ["shop", "from_address", "from_name", "reply_to"]}),
                (gettext_lazy("Signature and shop facts"), {"fields": ["signature", "shop_url", "shop_phone"]}),
                (
                    gettext_lazy("SMTP server"),
                    {
                        "fields": SMTP_FIELDSET_FIELDS,
                        "description": gettext_lazy(
                            "Rakuten: R-Mail's server with the shop's SMTP AUTH login. Leave the host empty to "
                            "use the company's mail settings."
                        ),
                    },
                ),
            ],
        )


@admin.register(StatusMail)
class StatusMailAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The mail that belongs to each status (T4) and whether it goes out when an order enters it (T1)."""

    list_display = ["status", "kind", "auto_send"]
    list_editable = ["auto_send"]
    list_filter = ["tenant", "kind", "auto_send"]
    list_select_related = ["status__group", "kind"]
    ordering = ["status__group__position", "status__position", "pk"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["status", "kind", "auto_send"]
        return ["tenant", *fields] if is_superuser(request) else fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "status":
            kwargs["queryset"] = Status.objects.select_related("group").order_by("group__position", "position")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ReminderRule)
class ReminderRuleAdmin(TenantAdminMixin, admin.ModelAdmin):
    """T5: who is reminded, when, how often, with which mail, and where reminded orders move."""

    list_display = ["name", "target", "kind", "days_after", "every_days", "max_times", "move_to", "automatic", "active"]
    list_editable = ["automatic", "active"]
    list_filter = ["tenant", "target", "automatic", "active"]
    list_select_related = ["kind", "move_to__group"]
    ordering = ["position", "pk"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [
            "name",
            "target",
            "kind",
            "days_after",
            "every_days",
            "max_times",
            "move_to",
            "automatic",
            "active",
            "position",
        ]
        return ["tenant", *fields] if is_superuser(request) else fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "move_to":
            kwargs["queryset"] = Status.objects.select_related("group").order_by("group__position", "position")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
