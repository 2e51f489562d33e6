"""Form fields for an order's Japanese values, one of each: the order page's sections (orders.forms) and
phone/FAX entry (orders.forms_entry) read a postal code and a phone number the same way."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from japan.address import normalize_postal_code
from japan.phones import normalize_phone

_HYPHENS = re.compile("[‐‑‒–—―−ー－ｰ﹣]")
_PHONE = re.compile(r"\+?[0-9()\- ]+", re.ASCII)


class PostalCodeField(forms.CharField):
    """A postal code in any notation (〒, full-width digits, hyphen variants, spaces), NNN-NNNN out
    (japan.address.normalize_postal_code); blank allowed unless `required`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "123-4567"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        if not text:
            return ""
        code = normalize_postal_code(text)
        if code is None:
            raise ValidationError(_("Enter the postal code as seven digits, e.g. 100-0005."), code="postal_malformed")
        return code


class PhoneField(forms.CharField):
    """A phone number: full-width digits and hyphen variants normalised, stored in its domestic form
    ("+81 90-…" as "090-…", japan.phones, as every writer of an order stores it); 10 to 15 digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "tel"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = unicodedata.normalize("NFKC", super().to_python(value) or "")
        return normalize_phone(_HYPHENS.sub("-", text))

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and (not _PHONE.fullmatch(value) or not 10 <= sum(c.isdigit() for c in value) <= 15):
            raise ValidationError(_("Enter a phone number such as 03-1234-5678."), code="phone")
