"""Shops in the admin: credentials entered per mall kind (secrets never shown back), sync state, and the mall
code mappings. Tenant-scoped like every other admin (backyard.admin_mixins)."""

from __future__ import annotations

from typing import Any

from adminsortable2.admin import SortableAdminMixin
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backyard.admin_mixins import TenantAdminMixin, is_superuser

from .connectors.base import CredentialsInvalid
from .crypto import CredentialsUnreadable, decrypt_credentials, mask
from .models import MallCodeMapping, Shop, ShopSync
from .services import (
    credential_fields,
    credential_labels,
    credentials_clean,
    fetch_latest,
    shop_credentials_set,
    shop_setup,
)

FIELD_PREFIX = "credential_"
DEFAULT_POLL_INTERVAL = Shop._meta.get_field("poll_interval").default


def _field_label(name: str, labels: dict[str, Any]) -> Any:
    """A credential's label: the connector's own (translated), else its snake-case name made readable
    (service_secret → Service secret) for a connector that names none."""
    return labels.get(name) or name.replace("_", " ").capitalize()


def _stored(shop: Shop | None) -> tuple[dict[str, str], bool]:
    """(the shop's credentials, whether they could be read)."""
    if shop is None or not shop.credentials:
        return {}, True
    try:
        return decrypt_credentials(shop.credentials), True
    except CredentialsUnreadable:
        return {}, False


def credentials_form(base: type[forms.ModelForm], kind: str, shop: Shop | None) -> type[forms.ModelForm]:
    """The admin's shop form with one field per credential of the mall kind. A secret is a password box
    that starts empty, with its last four characters in the help text; left empty, it keeps what is stored."""
    names, secrets = credential_fields(kind)
    labels = credential_labels(kind)
    stored, readable = _stored(shop)
    attrs: dict[str, Any] = {}
    for name in names:
        value = stored.get(name, "")
        if name in secrets:
            help_text = (
                gettext("Stored: %(masked)s. Leave empty to keep it.") % {"masked": mask(value)}
                if value
                else gettext("Not set yet.")
            )
            attrs[FIELD_PREFIX + name] = forms.CharField(
                label=_field_label(name, labels),
                required=False,
                help_text=help_text,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            )
        else:
            attrs[FIELD_PREFIX + name] = forms.CharField(
                label=_field_label(name, labels),
                required=False,
                initial=value,
                strip=True,
                help_text=gettext("Leave empty to keep what is stored."),
            )
    if not readable:
        attrs["credentials_lost"] = forms.BooleanField(
            required=False,
            disabled=True,
            label=gettext("Stored credentials unreadable"),
            help_text=gettext("They cannot be decrypted with the configured key: enter them again."),
        )

    class ShopCredentialsForm(base):  # type: ignore[valid-type,misc]
        credential_names = names

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if "poll_interval" in self.fields:
                self.fields["poll_interval"].required = False

        def clean_poll_interval(self) -> int:
            value = self.cleaned_data.get("poll_interval")
            return DEFAULT_POLL_INTERVAL if value in (None, "") else int(value)

        def clean(self) -> dict[str, Any]:
            """What the connector refuses (a Shopify domain that is not `<handle>.myshopify.com`) is an error on
            its field, before anything is stored; what it accepts is stored as the connector reads it."""
            cleaned = super().clean()
            entered = {
                name: cleaned[FIELD_PREFIX + name] for name in self.credential_names if cleaned.get(FIELD_PREFIX + name)
            }
            if not entered:
                return cleaned
            try:
                checked = credentials_clean(kind, entered)
            except CredentialsInvalid as error:
                for name, message in error.problems.items():
                    self.add_error(FIELD_PREFIX + name if name in entered else None, message)
                return cleaned
            for name in entered:
                cleaned[FIELD_PREFIX + name] = checked.get(name, entered[name])
            return cleaned

        def credential_values(self) -> dict[str, str]:
            return {name: self.cleaned_data.get(FIELD_PREFIX + name, "") for name in self.credential_names}

    for key, formfield in attrs.items():
        ShopCredentialsForm.base_fields[key] = formfield
        ShopCredentialsForm.declared_fields[key] = formfield
    return ShopCredentialsForm


@admin.register(Shop)
class ShopAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    """A shop's credential fields follow its mall kind: choose the mall, save and continue, then enter them
    (or open the add page with ?mall=rakuten). Polling state is read-only here; the operators' page shows
    the runs."""

    list_display = ["position", "name", "mall", "code", "active", "credentials_state", "sync_state"]
    list_display_links = ["name"]
    list_filter = ["tenant", "mall", "active"]
    list_select_related = ["sync"]
    search_fields = ["name", "code"]
    readonly_fields = ["credentials_summary", "sync_details"]
    actions = ["fetch_now"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a mall's API is https

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The API address is the platform's to set (a demo or test mall): a tenant's admin pointing the
        workers at any address would make them fetch from inside our network on the tenant's behalf."""
        fields = list(super().get_readonly_fields(request, obj))
        return fields if is_superuser(request) else [*fields, "base_url"]

    def _kind(self, request: HttpRequest, obj: Shop | None) -> str:
        if request.method == "POST" and request.POST.get("mall"):
            return request.POST["mall"]
        if obj is not None:
            return obj.mall
        return request.GET.get("mall", "")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if kwargs.get("fields") is not None:  # the fieldsets name the credential fields, which are not the model's
            kwargs["fields"] = [
                name for name in kwargs["fields"] if not name.startswith(FIELD_PREFIX) and name != "credentials_lost"
            ]
        form = super().get_form(request, obj, change=change, **kwargs)
        return credentials_form(form, self._kind(request, obj), obj)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [name for name in self.get_fields(request, obj) if isinstance(name, str)]
        credential = [name for name in fields if name.startswith(FIELD_PREFIX) or name == "credentials_lost"]
        polling = [name for name in ("base_url", "poll_interval", "first_poll_from", "sync_details") if name in fields]
        main = [
            name for name in fields if name not in credential and name not in polling and name != "credentials_summary"
        ]
        help_text = ""
        if not credential:
            help_text = (
                gettext("This kind of shop has no connector: its orders are entered by hand or by CSV.")
                if self._kind(request, obj)
                else gettext("Choose the mall and save and continue editing: its credential fields then appear here.")
            )
        return [
            (None, {"fields": main}),
            (
                _("Credentials"),
                {"fields": [*credential, "credentials_summary"] if obj else credential, "description": help_text},
            ),
            (_("Polling"), {"fields": polling}),
        ]

    def save_model(self, request: HttpRequest, obj: Shop, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            shop_setup(shop=obj)
        names = getattr(form, "credential_names", ())
        if hasattr(form, "credential_values"):
            shop_credentials_set(shop=obj, values=form.credential_values(), allowed=tuple(names))

    @admin.display(description=_("credentials"))
    def credentials_state(self, obj: Shop) -> str:
        return gettext("set") if obj.credentials else "—"

    @admin.display(description=_("stored credentials"))
    def credentials_summary(self, obj: Shop) -> str:
        stored, readable = _stored(obj)
        if not readable:
            return gettext("unreadable with the configured key")
        if not stored:
            return "—"
        _names, secrets = credential_fields(obj.mall)
        labels = credential_labels(obj.mall)
        return format_html_join(
            ", ",
            "{}: {}",
            (
                (_field_label(name, labels), mask(value) if name in secrets or name not in _names else value)
                for name, value in sorted(stored.items())
            ),
        )

    def _sync(self, obj: Shop) -> ShopSync | None:
        try:
            return obj.sync
        except ShopSync.DoesNotExist:
            return None

    @admin.display(description=_("polling"))
    def sync_state(self, obj: Shop) -> str:
        sync = self._sync(obj)
        if sync is None or (sync.last_success_at is None and not sync.last_error):
            return gettext("not polled yet")
        if sync.last_error:
            return format_html(
                '<span style="color:#b02a37">{}</span>', sync.get_last_error_kind_display() or gettext("error")
            )
        return gettext("OK, %(when)s") % {"when": timezone.localtime(sync.last_success_at).strftime("%m/%d %H:%M")}

    @admin.display(description=_("sync state"))
    def sync_details(self, obj: Shop) -> str:
        sync = self._sync(obj)
        if obj.pk is None or sync is None:
            return "—"

        def when(value: Any) -> str:
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"

        rows = [
            (gettext("last success"), when(sync.last_success_at)),
            (gettext("last error"), f"{when(sync.last_error_at)} {sync.last_error}" if sync.last_error else "—"),
            (gettext("failures in a row"), str(sync.failures)),
            (gettext("next poll due"), when(sync.next_due_at)),
            (gettext("polling since"), when(sync.running_since)),
            (gettext("last sign of life"), when(sync.heartbeat_at)),
        ]
        table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html(
            '<table>{}</table><p><a href="{}">{}</a></p>',
            table,
            reverse("shop_detail", args=[obj.pk]),
            gettext("Import runs of this shop"),
        )

    @admin.action(description=_("Fetch the latest orders now"))
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[Shop]) -> None:
        queued = 0
        for shop in queryset.select_related("tenant"):
            queued += len(fetch_latest(tenant=shop.tenant, user=request.user, shop=shop))
        self.message_user(
            request, gettext("Queued %(n)d polls.") % {"n": queued}, messages.SUCCESS if queued else messages.WARNING
        )


class MallCodeMappingForm(forms.ModelForm):
    class Meta:
        model = MallCodeMapping
        fields = ["mall", "kind", "mall_code", "description", "payment_method", "delivery_method", "cancels"]


@admin.register(MallCodeMapping)
class MallCodeMappingAdmin(TenantAdminMixin, admin.ModelAdmin):
    """How each mall's payment codes, delivery names and statuses read here. The defaults for a mall are
    added when its first shop is created; an unknown code leaves the order's payment method empty and is
    noted on the import run, so the admin knows what to add."""

    form = MallCodeMappingForm
    list_display = ["mall", "kind", "mall_code", "target", "description"]
    list_filter = ["tenant", "mall", "kind"]
    search_fields = ["mall_code", "description"]
    list_select_related = ["payment_method", "delivery_method"]

    @admin.display(description=_("means"))
    def target(self, obj: MallCodeMapping) -> str:
        if obj.payment_method_id:
            return str(obj.payment_method)
        if obj.delivery_method_id:
            return str(obj.delivery_method)
        if obj.kind == "status":
            return gettext("cancelled") if obj.cancels else gettext("not cancelled")
        return "—"
