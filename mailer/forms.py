"""The mailer's admin forms: templates with a roomy monospaced body, and the SMTP settings of the tenant and of
each shop with a write-only password (a box that starts empty; left empty, it keeps what is stored; what is
typed is stored encrypted by mailer.routes.store_password and never shown back)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import MailTemplate, ShopMailSettings, SmtpSettings, TenantMailSettings
from .routes import MAIL_PORTS, store_password

SMTP_FIELDS = ["smtp_host", "smtp_port", "smtp_security", "smtp_user"]


class MailTemplateForm(forms.ModelForm):
    """Subject and body; saving runs the model's clean (mailer.rendering.check_template), so an unknown
    placeholder or broken syntax is an error on the form with its line."""

    class Meta:
        model = MailTemplate
        fields = ["kind", "shop", "device", "charset", "active", "subject", "body"]
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vLargeTextField by-template-subject", "size": 80}),
            "body": forms.Textarea(attrs={"class": "by-template-body", "rows": 32, "cols": 84, "spellcheck": "false"}),
        }


class SmtpPasswordMixin(forms.ModelForm):
    """A write-only `smtp_password_new` and a "remove" tick beside the settings' SMTP fields."""

    smtp_password_new = forms.CharField(
        label=_("SMTP password"),
        required=False,
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    smtp_password_clear = forms.BooleanField(label=_("Remove the stored SMTP password"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = bool(getattr(self.instance, "smtp_password", ""))
        self.fields["smtp_password_new"].help_text = (
            _("A password is stored (not shown). Leave empty to keep it; type a new one to replace it.")
            if stored
            else _("None stored. Type it to store it (encrypted).")
        )
        if not stored:
            self.fields["smtp_password_clear"].disabled = True

    def clean_smtp_port(self) -> int:
        port = self.cleaned_data["smtp_port"]
        host = (self.data.get(self.add_prefix("smtp_host")) or "").strip()
        allowed = getattr(settings, "MAILER_ALLOW_PRIVATE_SMTP", False)
        if host and not allowed and port not in MAIL_PORTS:
            raise forms.ValidationError(
                _("Use a mail port: %(ports)s.") % {"ports": ", ".join(str(p) for p in sorted(MAIL_PORTS))}
            )
        return int(port)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("smtp_password_new") and cleaned.get("smtp_password_clear"):
            self.add_error("smtp_password_clear", _("Either type a new password or remove the stored one."))
        return cleaned

    def save(self, commit: bool = True) -> Any:
        instance: SmtpSettings = super().save(commit=False)
        new = self.cleaned_data.get("smtp_password_new") or ""
        if new:
            store_password(instance, new)
        elif self.cleaned_data.get("smtp_password_clear"):
            store_password(instance, "")
        if commit:
            instance.save()
            self.save_m2m()
        return instance


class TenantMailSettingsForm(SmtpPasswordMixin):
    class Meta:
        model = TenantMailSettings
        fields = ["from_address", "from_name", "reply_to", "body_keep_days", *SMTP_FIELDS]


class ShopMailSettingsForm(SmtpPasswordMixin):
    shop_url = ShopMailSettings._meta.get_field("shop_url").formfield(assume_scheme="https")

    class Meta:
        model = ShopMailSettings
        fields = [
            "shop",
            "from_address",
            "from_name",
            "reply_to",
            "signature",
            "shop_url",
            "shop_phone",
            *SMTP_FIELDS,
        ]
        widgets = {"signature": forms.Textarea(attrs={"rows": 8, "cols": 60, "class": "by-template-body"})}
