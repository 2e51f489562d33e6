"""Forms of the waybill and tracking screens (issue 16)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backyard.models import Tenant
from orders.models import Status

from .models import Carrier, ShippingSettings, WaybillFormat
from .services.tracking import ISSUED_FORMATS

MAX_UPLOAD = 20 * 1024 * 1024


def styled(form: forms.BaseForm) -> None:
    """Bootstrap's small controls on every field."""
    for field in form.fields.values():
        widget = field.widget
        css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


class FormatForm(forms.Form):
    format = forms.ChoiceField(label=_("Carrier layout"), choices=WaybillFormat.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        styled(self)


class IssuedUploadForm(forms.Form):
    format = forms.ChoiceField(label=_("Carrier layout"), choices=[(f, WaybillFormat(f).label) for f in ISSUED_FORMATS])
    file = forms.FileField(label=_("Issued-data file (CSV)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        styled(self)

    def clean_file(self) -> Any:
        file = self.cleaned_data["file"]
        if file.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return file


class MappingForm(forms.Form):
    """Which header of the uploaded file holds what (e飛伝, ゆうプリR); offered from the file's own headers."""

    management_number = forms.ChoiceField(label=_("Management number column"))
    tracking_number = forms.ChoiceField(label=_("Tracking number column"))
    shipped_on = forms.ChoiceField(label=_("Ship date column"), required=False)

    def __init__(self, *args: Any, header: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(name, name) for name in header]
        for name, offered in (
            ("management_number", choices),
            ("tracking_number", choices),
            ("shipped_on", [("", _("(none: today)")), *choices]),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = offered
        styled(self)


class TrackingForm(forms.Form):
    carrier = forms.ChoiceField(
        label=_("Carrier"),
        choices=[(c, Carrier(c).label) for c in (Carrier.YAMATO, Carrier.SAGAWA, Carrier.JAPAN_POST)],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    number = forms.CharField(
        label=_("Tracking number"),
        max_length=30,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "inputmode": "numeric"}),
    )
    shipped_on = forms.DateField(
        label=_("Shipped on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )


class ShippingSettingsForm(forms.ModelForm):
    class Meta:
        model = ShippingSettings
        fields = [
            "status_after_export",
            "status_after_tracking",
            "b2_billing_code",
            "b2_billing_class",
            "b2_freight_number",
        ]

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        statuses = Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "position")
        for name in ("status_after_export", "status_after_tracking"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = statuses
        styled(self)
