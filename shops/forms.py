"""Forms of the operators' shops pages: the CSV upload and its column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import csvfiles
from .models import Shop


class ShopChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Shop) -> str:
        return f"{obj.name} ({obj.get_mall_display()})"


class CsvUploadForm(forms.Form):
    shop = ShopChoice(label=gettext_lazy("Shop the orders belong to"), queryset=Shop.objects.none(), empty_label=None)
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8 (with or without BOM) or Shift_JIS; detected by itself. At most 20 MB, 200 columns and 200,000 rows."
        ),
    )

    def __init__(self, *args: Any, shops: list[Shop], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["shop"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Shop.objects.filter(pk__in=[shop.pk for shop in shops])
        field.choices = [(shop.pk, field.label_from_instance(shop)) for shop in shops]
        self.fields["file"].widget.attrs["accept"] = ".csv,.tsv,.txt,text/csv"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > csvfiles.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB: split it and upload the parts.")
                % {"mb": csvfiles.MAX_BYTES // (1024 * 1024)}
            )
        return upload


class ColumnSelect(forms.Select):
    """A select of the file's columns, its options written once per form and shared by every order field's
    select: 40 fields × 200 columns are 8,000 options, which Django's template per option took 0.6 s to
    write. An option whose value is its text carries no value attribute (half the bytes)."""

    def __init__(self, options: list[tuple[str, str]], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options_html = options  # (value, the option's escaped HTML without "selected")

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        chosen = "" if value is None else str(value)
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        parts = [f"<select{flatatt(final)}>"]
        for option_value, html in self.options_html:
            parts.append(html.replace("<option", "<option selected", 1) if option_value == chosen else html)
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped in _column_options


def _column_options(header: list[str]) -> list[tuple[str, str]]:
    options = [("", '<option value="">—</option>')]
    for name in header:
        text = escape(name)
        plain = name == " ".join(name.split())  # the browser's value of an option without one: its text, trimmed
        options.append((name, f"<option>{text}</option>" if plain else f'<option value="{text}">{text}</option>'))
    return options


class CsvMappingForm(forms.Form):
    """One select per order field (40), offering the file's columns (at most csvfiles.MAX_COLUMNS)."""

    preset = forms.ChoiceField(choices=list(csvfiles.PRESETS.items()), required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, header: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((name, name) for name in header)]
        options = _column_options(header)
        for target in csvfiles.TARGETS:
            label = f"{target.label} *" if target.required else str(target.label)
            self.fields[f"col_{target.key}"] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                widget=ColumnSelect(options, attrs={"class": "form-select form-select-sm", "data-target": target.key}),
            )

    @staticmethod
    def initial_for(columns: dict[str, str], preset: str) -> dict[str, str]:
        return {"preset": preset, **{f"col_{key}": value for key, value in columns.items()}}

    def columns(self) -> dict[str, str]:
        """The chosen mapping (call after is_valid())."""
        return csvfiles.clean_mapping(
            {key[4:]: value for key, value in self.cleaned_data.items() if key.startswith("col_")}
        )

    def bound_targets(self) -> list[tuple[csvfiles.Target, forms.BoundField]]:
        return [(target, self[f"col_{target.key}"]) for target in csvfiles.TARGETS]
