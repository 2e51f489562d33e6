"""The bulk edit panel's forms (B5, T14, T15). Choices come from the tenant's reference data."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.dates import validate_date_in_range

from .selectors import TenantReference


class DateInput(forms.DateInput):
    input_type = "date"


def _choices(rows: list[Any]) -> list[tuple[str, str]]:
    return [("", "—"), *((str(r.id), r.name) for r in rows)]


class BulkEditForm(forms.Form):
    status = forms.TypedChoiceField(label=_("Move to"), required=False, coerce=int, empty_value=None)
    ship_date = forms.DateField(
        label=_("Ship date"), required=False, widget=DateInput, validators=[validate_date_in_range]
    )
    clear_ship_date = forms.BooleanField(label=_("Clear the ship date"), required=False)
    delivery_method = forms.TypedChoiceField(label=_("Delivery method"), required=False, coerce=int, empty_value=None)
    shipping_store = forms.TypedChoiceField(label=_("Shipping store"), required=False, coerce=int, empty_value=None)
    memo = forms.CharField(label=_("Append to the work memo"), required=False, max_length=1000, widget=forms.TextInput)
    add_labels = forms.TypedMultipleChoiceField(
        label=_("Add labels"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    remove_labels = forms.TypedMultipleChoiceField(
        label=_("Remove labels"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    mark_buyer_rated = forms.BooleanField(
        label=_("Mark the buyer rated (auction orders)"),
        required=False,
        help_text=_("Marks the selected auction orders that are not yet rated as rated now."),
    )
    confirm_skips = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, reference: TenantReference, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reference = reference
        choices: dict[str, list[tuple[str, str]]] = {
            "status": [("", "—")] + [(str(s.pk), f"{s.group.name} / {s.name}") for s in reference.statuses],
            "delivery_method": _choices(reference.delivery_methods),
            "shipping_store": _choices(reference.shipping_stores),
            "add_labels": [(str(lb.id), lb.name) for lb in reference.labels],
            "remove_labels": [(str(lb.id), lb.name) for lb in reference.labels],
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select form-select-sm")
            elif isinstance(field.widget, forms.DateInput | forms.TextInput):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")
            field.widget.attrs.setdefault("id", f"bulk-{name}")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("ship_date") and data.get("clear_ship_date"):
            raise forms.ValidationError(_("Set a ship date or clear it, not both."))
        both = set(data.get("add_labels") or []) & set(data.get("remove_labels") or [])
        if both:
            raise forms.ValidationError(_("A label cannot be added and removed in the same step."))
        wanted = (
            "status",
            "ship_date",
            "clear_ship_date",
            "delivery_method",
            "shipping_store",
            "memo",
            "add_labels",
            "remove_labels",
            "mark_buyer_rated",
        )
        if not any(data.get(name) for name in wanted):
            raise forms.ValidationError(_("Choose at least one change."))
        return data


class ConfirmPaymentForm(forms.Form):
    paid_on = forms.DateField(
        label=_("Payment date"),
        validators=[validate_date_in_range],
        widget=DateInput(attrs={"class": "form-control form-control-sm"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"paid_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
