"""Forms of the order detail page (T13, T15): one form per edit section, the lines, memo, payment, cancel.

Every form that writes carries `version`, the order's version the page was rendered with; the view hands it
to the service as `expected_version`, so a save over someone else's change is refused (StaleOrder).
Field names are the Order's own, so a section's cleaned data is the `changes` given to order_update.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.dates import validate_date_in_range
from japan.address import PREFECTURES
from shipping.models import DeliveryMethod, ShippingStore

from .fields import PhoneField, PostalCodeField
from .models import Order, OrderLine, PaymentMethod
from .selectors import TenantReference
from .slots import SLOT_TEXT, DeliverySlot

MAX_YEN = 999_999_999
MAX_QUANTITY = 99_999
TAX_RATES = (10, 8, 0)


def normalise(value: str) -> str:
    """Full-width digits, letters and hyphens (as typed with a Japanese IME) to their ASCII forms."""
    return unicodedata.normalize("NFKC", value).strip()


# --- fields -----------------------------------------------------------------------------------------------


class WholeNumberField(forms.IntegerField):
    """A whole number typed as operators do: full-width digits, 1,000, ¥1000 and 1000円 are all 1000."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "class": "text-end"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = re.sub(r"[,\s¥円]", "", normalise(value))
        return super().to_python(value)


class YenField(WholeNumberField):
    """An amount in yen: a whole number, never negative."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_YEN)
        super().__init__(**kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _model_field(name: str, label: Any, **kwargs: Any) -> forms.Field:
    """The form field Order.<name> would get (length, email check), with a short label."""
    field = cast(models.Field, Order._meta.get_field(name)).formfield(label=label, **kwargs)
    assert field is not None
    return field


# --- the base of every detail-page form -------------------------------------------------------------------


class DetailForm(forms.Form):
    """Bootstrap classes, `col` widths for the section grid, invalid fields marked after validation."""

    layout: ClassVar[dict[str, int]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()
            field.col = self.layout.get(name, 12)  # type: ignore[attr-defined]

    def full_clean(self) -> None:
        super().full_clean()
        for name in list(self.errors):
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            if isinstance(widget, forms.HiddenInput):  # nowhere to show it: the form's own errors say it
                for error in self.errors.pop(name):
                    self.errors.setdefault(NON_FIELD_ERRORS, self.error_class(error_class="nonfield")).append(error)
                continue
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"


RELOAD = _("The page is out of date. Reload it and try again.")


class VersionForm(DetailForm):
    """Only the version the page was rendered with (removing a line, say)."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"required": RELOAD, "invalid": RELOAD, "min_value": RELOAD, "max_value": RELOAD},
    )


class SectionForm(VersionForm):
    """An edit section: its fields (all but `version`) are Order fields, saved with one order_update."""

    title: ClassVar[Any] = ""

    @classmethod
    def initial_for(cls, order: Order) -> dict[str, Any]:
        return {
            "version": order.version,
            **{name: getattr(order, name) for name in cls.base_fields if name != "version"},
        }

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


# --- edit sections ----------------------------------------------------------------------------------------


def _prefecture_field() -> forms.ChoiceField:
    return forms.ChoiceField(label=_("Prefecture"), required=False, choices=[("", "—"), *((p, p) for p in PREFECTURES)])


class _AddressMixin:
    """An imported address may carry a prefecture spelled its own way: it stays selectable."""

    prefecture_field: ClassVar[str] = ""

    def _keep_current_prefecture(self) -> None:
        form: Any = self
        current = form.initial.get(self.prefecture_field)  # the stored one; never whatever was posted
        field = form.fields[self.prefecture_field]
        if current and current not in PREFECTURES:
            field.choices = [*field.choices, (current, current)]


class OrdererForm(_AddressMixin, SectionForm):
    title = _("Orderer")
    prefecture_field = "orderer_prefecture"
    layout: ClassVar[dict[str, int]] = {
        "orderer_name": 6,
        "orderer_kana": 6,
        "orderer_postal_code": 4,
        "orderer_prefecture": 4,
        "orderer_city": 4,
        "orderer_phone": 5,
        "orderer_email": 7,
    }

    orderer_name = _model_field("orderer_name", _("Name"))
    orderer_kana = _model_field("orderer_kana", _("Kana"))
    orderer_postal_code = PostalCodeField(label=_("Postal code"))
    orderer_prefecture = _prefecture_field()
    orderer_city = _model_field("orderer_city", _("City"))
    orderer_address1 = _model_field("orderer_address1", _("Address line 1"))
    orderer_address2 = _model_field("orderer_address2", _("Address line 2"))
    orderer_phone = PhoneField(label=_("Phone"), required=False)
    orderer_email = _model_field("orderer_email", _("Email"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keep_current_prefecture()


class DestinationForm(_AddressMixin, SectionForm):
    title = _("Destination")
    prefecture_field = "dest_prefecture"
    layout: ClassVar[dict[str, int]] = {
        "dest_name": 6,
        "dest_kana": 6,
        "dest_company": 7,
        "dest_phone": 5,
        "dest_postal_code": 4,
        "dest_prefecture": 4,
        "dest_city": 4,
    }
    # Destination field ← orderer field, for "copy from the orderer".
    FROM_ORDERER: ClassVar[dict[str, str]] = {
        "dest_name": "orderer_name",
        "dest_kana": "orderer_kana",
        "dest_phone": "orderer_phone",
        "dest_postal_code": "orderer_postal_code",
        "dest_prefecture": "orderer_prefecture",
        "dest_city": "orderer_city",
        "dest_address1": "orderer_address1",
        "dest_address2": "orderer_address2",
    }

    dest_name = _model_field("dest_name", _("Name"))
    dest_kana = _model_field("dest_kana", _("Kana"))
    dest_company = _model_field("dest_company", _("Company"))
    dest_phone = PhoneField(label=_("Phone"), required=False)
    dest_postal_code = PostalCodeField(label=_("Postal code"))
    dest_prefecture = _prefecture_field()
    dest_city = _model_field("dest_city", _("City"))
    dest_address1 = _model_field("dest_address1", _("Address line 1"))
    dest_address2 = _model_field("dest_address2", _("Address line 2"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keep_current_prefecture()

    @classmethod
    def copied_from_orderer(cls, order: Order, data: Any) -> DestinationForm:
        """Unsaved: the orderer's name, phone and address in the destination fields, the company as typed."""
        initial = cls.initial_for(order)
        initial.update({dest: getattr(order, src) for dest, src in cls.FROM_ORDERER.items()})
        initial["dest_company"] = data.get("dest_company", initial["dest_company"])
        initial["version"] = data.get("version", order.version)
        return cls(initial=initial)


class AmountsForm(SectionForm):
    title = _("Amounts")
    layout: ClassVar[dict[str, int]] = {"shipping_fee": 3, "cod_fee": 3, "discount": 3, "points_used": 3}

    shipping_fee = YenField(label=_("Shipping fee"))
    cod_fee = YenField(label=_("COD fee"))
    discount = YenField(label=_("Discount"))
    points_used = YenField(label=_("Points used"))


class DeliveryForm(SectionForm):
    """Payment and delivery; the choices are the tenant's active rows (plus the order's current ones)."""

    title = _("Payment and delivery")
    layout: ClassVar[dict[str, int]] = {
        "payment_method": 6,
        "delivery_method": 6,
        "delivery_slot": 6,
        "shipping_store": 6,
        "requested_delivery_date": 6,
        "ship_date": 6,
    }
    REFS: ClassVar[dict[str, str]] = {
        "payment_method": "payment_methods",
        "delivery_method": "delivery_methods",
        "shipping_store": "shipping_stores",
    }
    MODELS: ClassVar[dict[str, Any]] = {
        "payment_method": PaymentMethod,
        "delivery_method": DeliveryMethod,
        "shipping_store": ShippingStore,
    }

    payment_method = forms.TypedChoiceField(label=_("Payment method"), required=False, coerce=int, empty_value=None)
    delivery_method = forms.TypedChoiceField(label=_("Delivery method"), required=False, coerce=int, empty_value=None)
    # The carriers' slot; the slot as the mall wrote it stays as it came and is shown beside it when it differs.
    delivery_slot = forms.ChoiceField(label=_("Time slot"), required=False, choices=DeliverySlot.choices)
    shipping_store = forms.TypedChoiceField(label=_("Shipping store"), required=False, coerce=int, empty_value=None)
    requested_delivery_date = forms.DateField(
        label=_("Requested delivery date"), required=False, widget=DateInput, validators=[validate_date_in_range]
    )
    ship_date = forms.DateField(
        label=_("Ship date"), required=False, widget=DateInput, validators=[validate_date_in_range]
    )

    def __init__(self, *args: Any, reference: TenantReference, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        for name, kind in self.REFS.items():
            rows = {row.id: row.name for row in getattr(reference, kind)}
            current = getattr(order, name)
            if current is not None:
                rows.setdefault(current.pk, current.name)  # inactive now, still what the order says
            cast(forms.ChoiceField, self.fields[name]).choices = [
                ("", "—"),
                *((str(pk), label) for pk, label in rows.items()),
            ]
        written = order.delivery_time_slot
        if written and written != SLOT_TEXT.get(order.delivery_slot, ""):
            self.fields["delivery_slot"].help_text = _("As the order gave it: %(text)s") % {"text": written}

    @classmethod
    def initial_for(cls, order: Order) -> dict[str, Any]:
        initial = super().initial_for(order)
        for name in cls.REFS:
            initial[name] = getattr(order, f"{name}_id")
        return initial

    def changes(self) -> dict[str, Any]:
        """Ids to the tenant's rows (the choices only hold the tenant's own)."""
        changes = super().changes()
        for name, model in self.MODELS.items():
            pk = changes[name]
            current = getattr(self.order, name)
            if pk is None:
                changes[name] = None
            elif current is not None and current.pk == pk:
                changes[name] = current
            else:
                changes[name] = model.objects.for_tenant(self.order.tenant_id).get(pk=pk)
        return changes


class CommentsForm(SectionForm):
    title = _("Comments")
    layout: ClassVar[dict[str, int]] = {
        "order_comment": 6,
        "post_order_comment": 6,
        "mail_inquiry": 4,
        "form_pending": 8,
    }

    remarks = _model_field("remarks", _("Remarks from the customer"), widget=forms.Textarea(attrs={"rows": 2}))
    order_comment = _model_field("order_comment", _("Order-time comment"), widget=forms.Textarea(attrs={"rows": 2}))
    post_order_comment = _model_field(
        "post_order_comment", _("Post-order comment"), widget=forms.Textarea(attrs={"rows": 2})
    )
    mail_inquiry = forms.BooleanField(label=_("Mail inquiry"), required=False)
    form_pending = forms.BooleanField(label=_("Order form not filled"), required=False)  # the reminder's target


SECTIONS: dict[str, type[SectionForm]] = {
    "orderer": OrdererForm,
    "destination": DestinationForm,
    "delivery": DeliveryForm,
    "amounts": AmountsForm,
    "comments": CommentsForm,
}


# --- work memo, lines -------------------------------------------------------------------------------------


class MemoForm(VersionForm):
    text = forms.CharField(
        label=_("Add to the work memo"), max_length=1000, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class LineForm(VersionForm):
    """One line's fields; the page renders one per line (auto_id keeps their ids apart)."""

    sku = forms.CharField(label=_("SKU"), max_length=100, required=False)
    name = forms.CharField(label=_("Item name"), max_length=255)
    options = forms.CharField(label=_("Options"), max_length=255, required=False)
    unit_price = YenField(label=_("Unit price"))
    quantity = WholeNumberField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)
    tax_rate = forms.TypedChoiceField(
        label=_("Tax rate"), coerce=int, choices=[(str(rate), f"{rate}%") for rate in TAX_RATES]
    )

    def __init__(self, *args: Any, line: OrderLine | None = None, **kwargs: Any) -> None:
        self.line = line
        form_id = f"line-form-{line.pk}" if line is not None else "line-form-new"
        kwargs.setdefault("auto_id", f"{form_id}-%s")
        super().__init__(*args, **kwargs)
        self.form_id = form_id
        rate = line.tax_rate if line is not None else None
        if rate is not None and rate not in TAX_RATES:
            tax_rate = cast(forms.ChoiceField, self.fields["tax_rate"])
            tax_rate.choices = [*cast(list, tax_rate.choices), (str(rate), f"{rate}%")]
        for field in self.fields.values():
            field.widget.attrs["form"] = form_id

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}

    @classmethod
    def for_line(cls, line: OrderLine, version: int) -> LineForm:
        initial = {
            name: getattr(line, name) for name in ("sku", "name", "options", "unit_price", "quantity", "tax_rate")
        }
        return cls(line=line, initial={**initial, "version": version})


# --- payment and cancellation (T15) -----------------------------------------------------------------------


class PaymentConfirmForm(VersionForm):
    amount = YenField(label=_("Amount paid"))
    paid_on = forms.DateField(label=_("Payment date"), widget=DateInput, validators=[validate_date_in_range])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "pay-%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_order(cls, order: Order) -> PaymentConfirmForm:
        return cls(initial={"version": order.version, "amount": order.total, "paid_on": timezone.localdate()})


class OrderCancelForm(VersionForm):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "cancel-%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_order(cls, order: Order) -> OrderCancelForm:
        return cls(initial={"version": order.version})
