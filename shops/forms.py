"""Forms of the operators' shops pages: the CSV upload and its column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import csvfiles
from .models import Shop


class ShopChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Shop) -> str:  # type: ignore[override]
        return f"{obj.name} ({obj.get_mall_display()})"


class CsvUploadForm(forms.Form):
    shop = ShopChoice(label=gettext_lazy("Shop the orders belong to"), queryset=Shop.objects.none(),
                      empty_label=None)
    file = forms.FileField(label=gettext_lazy("CSV file"),
                           help_text=gettext_lazy("UTF-8 (with or without BOM) or Shift_JIS; detected by itself."))

    def __init__(self, *args: Any, shops: list[Shop], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["shop"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Shop.objects.filter(pk__in=[shop.pk for shop in shops])
        field.choices = [(shop.pk, field.label_from_instance(shop)) for shop in shops]  # type: ignore[assignment]
        self.fields["file"].widget.attrs["accept"] = ".csv,.tsv,.txt,text/csv"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > csvfiles.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB: split it and upload the parts.")
                                        % {"mb": csvfiles.MAX_BYTES // (1024 * 1024)})
        return upload


class CsvMappingForm(forms.Form):
    """One select per order field, offering the file's columns."""

    preset = forms.ChoiceField(choices=list(csvfiles.PRESETS.items()), required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, header: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((name, name) for name in header)]
        for target in csvfiles.TARGETS:
            label = f"{target.label} *" if target.required else str(target.label)
            self.fields[f"col_{target.key}"] = forms.ChoiceField(
                label=label, choices=choices, required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm", "data-target": target.key}))

    @staticmethod
    def initial_for(columns: dict[str, str], preset: str) -> dict[str, str]:
        return {"preset": preset, **{f"col_{key}": value for key, value in columns.items()}}

    def columns(self) -> dict[str, str]:
        """The chosen mapping (call after is_valid())."""
        return csvfiles.clean_mapping({key[4:]: value for key, value in self.cleaned_data.items()
                                       if key.startswith("col_")})

    def bound_targets(self) -> list[tuple[csvfiles.Target, forms.BoundField]]:
        return [(target, self[f"col_{target.key}"]) for target in csvfiles.TARGETS]
