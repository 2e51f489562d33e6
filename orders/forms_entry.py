"""Manual entry of phone and FAX orders (B1): the form, its lines formset, and the save that numbers the order.

`OrderEntry` validates the order form and the lines together, so a bad submission comes back with every error
at once; `manual_order_create` hands the result to `order_create`, the one creation service.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import jaconv
from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from backyard.models import Tenant
from japan.address import PREFECTURES, PostalAddress, postal_lookup
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from shops.models import Shop

from .fields import PhoneField, PostalCodeField
from .models import Order, PaymentMethod
from .slots import SLOT_TEXT, DeliverySlot

MAX_YEN = 99_999_999  # per amount; keeps every total far inside a 64-bit integer
MAX_QUANTITY = 9_999
MAX_LINES = 100

# The carriers' slots (orders.slots), stored as their Japanese text (the order's carrier slot is read from it),
# shown in the operator's language.
TIME_SLOTS = [("", "—"), *((SLOT_TEXT[slot], slot.label) for slot in DeliverySlot if slot)]
TAX_RATES = [(10, "10%"), (8, _("8% (reduced)"))]

PARTIES = ("orderer", "dest")
# What "same as orderer" copies; the destination's company stays as typed.
COPIED = ("name", "kana", "phone", "postal_code", "prefecture", "city", "address1", "address2")
# What a party needs before the order can ship.
REQUIRED = {
    "orderer": ("name", "postal_code", "prefecture", "city", "address1"),
    "dest": ("name", "postal_code", "prefecture", "city", "address1"),
}


# --- fields ------------------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class KanaField(forms.CharField):
    """Names in kana are kept in full-width katakana, whatever the IME produced."""

    def to_python(self, value: Any) -> str:
        return str(jaconv.hira2kata(unicodedata.normalize("NFKC", super().to_python(value) or "")))


class YenField(forms.IntegerField):
    """A whole amount of yen, 0 or more; blank is 0."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_YEN)
        kwargs.setdefault("required", False)
        kwargs.setdefault("initial", 0)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int:
        result = super().clean(value)
        return 0 if result is None else result


def _text(label: Any, max_length: int, required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required)


def _prefecture(label: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *((p, p) for p in PREFECTURES)])


def _bootstrap(fields: Mapping[str, forms.Field]) -> None:
    for field in fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


def _mark_invalid(form: forms.Form) -> None:
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"


@dataclass(frozen=True)
class Party:
    """The orderer or the destination, as a group of bound fields for the template."""

    key: str
    title: Any
    fields: dict[str, forms.BoundField]


class _LazyChoices(BaseChoiceIterator):
    """Options of a tenant-scoped select, read when first rendered (not at all when the select is not shown)."""

    def __init__(self, form: OrderEntryForm, name: str, empty_label: str) -> None:
        self.form, self.name, self.empty_label = form, name, empty_label

    def __iter__(self) -> Any:
        if self.empty_label:
            yield ("", self.empty_label)
        for row in self.form.rows(self.name):
            yield (row.pk, str(row))

    def __len__(self) -> int:
        return len(self.form.rows(self.name)) + bool(self.empty_label)


# --- the order form ---------------------------------------------------------------------------------------


class OrderEntryForm(forms.Form):
    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.none(), empty_label=None)
    external_id = forms.CharField(label=_("Order number"), max_length=100, required=False)
    ordered_at = forms.DateTimeField(label=_("Ordered at"), widget=DateTimeInput)

    orderer_name = _text(_("Full name"), 200, required=True)
    orderer_kana = KanaField(label=_("Name (kana)"), max_length=200, required=False)
    orderer_phone = PhoneField(label=_("Phone"), required=False)
    orderer_email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    orderer_postal_code = PostalCodeField(label=_("Postal code"), required=False)
    orderer_prefecture = _prefecture(_("Prefecture"))
    orderer_city = _text(_("City"), 100)
    orderer_address1 = _text(_("Town and street"), 200)
    orderer_address2 = _text(_("Building and room"), 200)

    same_as_orderer = forms.BooleanField(label=_("Same as the orderer"), required=False)
    dest_name = _text(_("Full name"), 200)
    dest_kana = KanaField(label=_("Name (kana)"), max_length=200, required=False)
    dest_company = _text(_("Company / department"), 200)
    dest_phone = PhoneField(label=_("Phone"), required=False)
    dest_postal_code = PostalCodeField(label=_("Postal code"), required=False)
    dest_prefecture = _prefecture(_("Prefecture"))
    dest_city = _text(_("City"), 100)
    dest_address1 = _text(_("Town and street"), 200)
    dest_address2 = _text(_("Building and room"), 200)

    payment_method = forms.ModelChoiceField(
        label=_("Payment method"), queryset=PaymentMethod.objects.none(), required=False, empty_label="—"
    )
    delivery_method = forms.ModelChoiceField(
        label=_("Delivery method"), queryset=DeliveryMethod.objects.none(), required=False, empty_label="—"
    )
    delivery_time_slot = forms.ChoiceField(label=_("Delivery time"), choices=TIME_SLOTS, required=False)
    requested_delivery_date = forms.DateField(label=_("Requested delivery date"), required=False, widget=DateInput)
    shipping_fee = YenField(label=_("Shipping fee"))
    cod_fee = YenField(label=_("COD fee"))
    discount = YenField(label=_("Discount"))
    remarks = forms.CharField(
        label=_("Remarks from the customer"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, data: QueryDict | None = None, *, tenant: Tenant, **kwargs: Any) -> None:
        if data is not None and self._same_as_orderer(data):
            data = data.copy()
            for name in COPIED:
                data[f"dest_{name}"] = data.get(f"orderer_{name}", "")
        super().__init__(data, **kwargs)
        self.tenant = tenant
        # Validation reads the querysets (so another tenant's id is an invalid choice); the options are read
        # once each, as lists (a ModelChoiceField would read them again for the "required" attribute).
        querysets = {
            "shop": Shop.objects.for_tenant(tenant).filter(active=True).order_by("position", "pk"),
            "payment_method": PaymentMethod.objects.for_tenant(tenant).filter(active=True),
            "delivery_method": DeliveryMethod.objects.for_tenant(tenant).filter(active=True),
        }
        self._rows: dict[str, list[Any]] = {}
        for name, queryset in querysets.items():
            field = cast(forms.ModelChoiceField, self.fields[name])
            field.queryset = queryset
            field.choices = _LazyChoices(self, name, "" if name == "shop" else "—")
        if not self.is_bound:
            self.initial.setdefault("ordered_at", timezone.localtime().replace(second=0, microsecond=0))
            self.initial.setdefault("same_as_orderer", True)
            if "shop" not in self.initial:
                manual = [shop for shop in self.rows("shop") if shop.mall == MallKind.MANUAL]
                self.initial["shop"] = manual[0].pk if manual else None
        _bootstrap(self.fields)
        self.fields["external_id"].widget.attrs["placeholder"] = _("Automatic when blank (TEL-date-serial)")
        for name in ("shipping_fee", "cod_fee", "discount"):
            self.fields[name].widget.attrs.update({"class": "form-control form-control-sm text-end by-yen"})
        lookup_url = reverse("postal_lookup")
        for party in PARTIES:
            self.fields[f"{party}_postal_code"].widget.attrs.update(
                {
                    "inputmode": "numeric",
                    "autocomplete": "off",
                    "placeholder": "100-0005",
                    # look up on change, and as soon as seven digits are typed
                    "hx-get": lookup_url,
                    "hx-trigger": "change, keyup changed delay:300ms[byPostalComplete(this)]",
                    "hx-target": f"#{party}-postal-result",
                    "hx-include": f"[name='{party}_address1'], [name='{party}_town_filled'], [name='{party}_company']",
                    "hx-vals": json.dumps({"party": party}),
                    "hx-sync": "this:replace",
                    "aria-describedby": f"{party}-postal-result",
                }
            )
            self.fields[f"{party}_address1"].widget.attrs["list"] = f"{party}-towns"
        self.fields["orderer_email"].widget.attrs["inputmode"] = "email"
        self.fields["orderer_phone"].widget.attrs["inputmode"] = "tel"
        self.fields["dest_phone"].widget.attrs["inputmode"] = "tel"

    def rows(self, name: str) -> list[Any]:
        """The tenant's shops, payment or delivery methods offered, read once."""
        if name not in self._rows:
            queryset = cast(forms.ModelChoiceField, self.fields[name]).queryset
            self._rows[name] = list(queryset) if queryset is not None else []
        return self._rows[name]

    @staticmethod
    def _same_as_orderer(data: Mapping[str, Any]) -> bool:
        return bool(forms.CheckboxInput().value_from_datadict(data, MultiValueDict(), "same_as_orderer"))

    @property
    def parties(self) -> list[Party]:
        def group(key: str) -> dict[str, forms.BoundField]:
            prefix = f"{key}_"
            return {name[len(prefix) :]: self[name] for name in self.fields if name.startswith(prefix)}

        return [Party("orderer", _("Orderer"), group("orderer")), Party("dest", _("Destination"), group("dest"))]

    def full_clean(self) -> None:
        super().full_clean()
        _mark_invalid(self)

    # --- validation ---

    def clean_ordered_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["ordered_at"]
        if not 2000 <= value.year <= 2100:
            raise ValidationError(_("Enter a date between 2000 and 2100."), code="date_range")
        return value

    def clean_requested_delivery_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data["requested_delivery_date"]
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValidationError(_("Enter a date between 2000 and 2100."), code="date_range")
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        same = bool(data.get("same_as_orderer"))
        for party in PARTIES:
            if party == "dest" and same:
                continue
            for name in REQUIRED[party]:
                field = f"{party}_{name}"
                if field not in self.errors and not data.get(field):
                    self.add_error(
                        field, ValidationError(forms.Field.default_error_messages["required"], code="required")
                    )
            self._check_address(party)
        if same:  # the destination is the orderer: its errors are the orderer's, shown there once
            for name in COPIED:
                self.errors.pop(f"dest_{name}", None)
                if f"orderer_{name}" in data:
                    data[f"dest_{name}"] = data[f"orderer_{name}"]
        if (
            not data.get("orderer_phone")
            and not data.get("orderer_email")
            and "orderer_phone" not in self.errors
            and "orderer_email" not in self.errors
        ):
            self.add_error(
                "orderer_phone", ValidationError(_("Enter a phone number or an email address."), code="contact")
            )
        number, shop = data.get("external_id"), data.get("shop")
        if number and shop and Order.objects.for_tenant(self.tenant).filter(shop=shop, external_id=number).exists():
            self.add_error("external_id", number_taken_error(number, shop))
        ordered_at, wanted = data.get("ordered_at"), data.get("requested_delivery_date")
        if ordered_at and wanted and wanted < timezone.localdate(ordered_at):
            self.add_error(
                "requested_delivery_date",
                ValidationError(_("The requested delivery date is before the order date."), code="date_order"),
            )
        return data

    def _check_address(self, party: str) -> PostalAddress | None:
        """The postal code must exist, and the prefecture must be the one it belongs to."""
        code = self.cleaned_data.get(f"{party}_postal_code")
        if not code:
            return None
        address = postal_lookup(code)
        if address is None:
            self.add_error(
                f"{party}_postal_code",
                ValidationError(
                    _("Postal code %(code)s was not found. Check the number."),
                    code="postal_unknown",
                    params={"code": code},
                ),
            )
            return None
        prefecture = self.cleaned_data.get(f"{party}_prefecture")
        if prefecture and prefecture not in address.prefectures:
            self.add_error(
                f"{party}_prefecture",
                ValidationError(
                    _("%(entered)s does not match postal code %(code)s, which is in %(expected)s."),
                    code="prefecture_mismatch",
                    params={"entered": prefecture, "code": code, "expected": "・".join(address.prefectures)},
                ),
            )
        return address

    # --- what goes to order_create ---

    def order_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = (
            [f"orderer_{n}" for n in (*COPIED, "email")]
            + [f"dest_{n}" for n in (*COPIED, "company")]
            + [
                "ordered_at",
                "payment_method",
                "delivery_method",
                "delivery_time_slot",
                "requested_delivery_date",
                "shipping_fee",
                "cod_fee",
                "discount",
                "remarks",
            ]
        )
        return {name: data[name] for name in names}


# --- lines -------------------------------------------------------------------------------------------------


class LineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=100, required=False)
    name = forms.CharField(label=_("Item name"), max_length=255)
    options = forms.CharField(label=_("Options"), max_length=255, required=False)
    unit_price = forms.IntegerField(label=_("Unit price"), min_value=0, max_value=MAX_YEN)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    tax_rate = forms.TypedChoiceField(label=_("Tax rate"), choices=TAX_RATES, coerce=int, initial=10)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self.fields)
        self.fields["unit_price"].widget.attrs.update({"class": "form-control form-control-sm text-end by-price"})
        self.fields["quantity"].widget.attrs.update({"class": "form-control form-control-sm text-end by-qty"})

    def full_clean(self) -> None:
        super().full_clean()
        _mark_invalid(self)


class BaseLineFormSet(forms.BaseFormSet):
    """Rows left as they came (blank, quantity 1, 10 %) are ignored; a removed row carries DELETE."""

    deletion_widget = forms.HiddenInput

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].widget.attrs["class"] = "by-delete"

    def _kept(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)  # type: ignore[attr-defined]
        ]

    def clean(self) -> None:
        super().clean()
        if not self._kept():
            raise ValidationError(_("Enter at least one line."), code="no_lines")

    def line_values(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in form.cleaned_data.items() if k != "DELETE"} for form in self._kept()]


LineFormSet = forms.formset_factory(
    LineForm,
    formset=BaseLineFormSet,
    extra=3,
    can_delete=True,
    max_num=MAX_LINES,
    validate_max=True,
    absolute_max=MAX_LINES,
)


# --- the two together ----------------------------------------------------------------------------------------


class OrderEntry:
    """The order form and its lines, validated together so that every error shows at once."""

    def __init__(self, data: QueryDict | None = None, *, tenant: Tenant) -> None:
        self.form = OrderEntryForm(data, tenant=tenant)
        self.lines = cast(BaseLineFormSet, LineFormSet(data, prefix="lines"))

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        valid = self.lines.is_valid() and valid
        if valid:
            total = sum(line["unit_price"] * line["quantity"] for line in self.lines.line_values())
            total += self.form.cleaned_data["shipping_fee"] + self.form.cleaned_data["cod_fee"]
            if self.form.cleaned_data["discount"] > total:
                self.form.add_error(
                    "discount",
                    ValidationError(_("The discount is larger than the order's amount."), code="discount_too_large"),
                )
                _mark_invalid(self.form)
                valid = False
        return valid

    def refuse(self, field: str | None, error: ValidationError) -> None:
        """An error found while saving (the number taken meanwhile, no status to start in)."""
        self.form.add_error(field, error)
        _mark_invalid(self.form)

    @property
    def errors_count(self) -> int:
        count = sum(len(errors) for errors in self.form.errors.values())
        count += sum(len(errors) for form in self.lines.forms for errors in form.errors.values())
        return count + len(self.lines.non_form_errors())


def number_taken_error(number: str, shop: Shop) -> ValidationError:
    return ValidationError(
        _("Order number %(number)s already exists in %(shop)s."),
        code="number_taken",
        params={"number": number, "shop": shop.name},
    )
