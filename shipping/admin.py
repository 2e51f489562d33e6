import re
from typing import Any

from adminsortable2.admin import SortableAdminMixin
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.admin_mixins import TenantAdminMixin, TenantPermissionMixin, TenantScopedFieldsMixin

from .constants import SIZE_ORDER, SLOT_CODES, SLOTS, prefecture_name
from .models import CodFeeBand, DeliveryMethod, FeeBasis, FeeTable, FeeZone, ShippingStore, StoreKind

# orders.slots.DeliverySlot's labels (the same msgids, so the same translations); shipping cannot import orders.
SLOT_LABELS = {
    "am": gettext_lazy("Morning"),
    "12-14": gettext_lazy("12:00–14:00"),
    "14-16": gettext_lazy("14:00–16:00"),
    "16-18": gettext_lazy("16:00–18:00"),
    "18-20": gettext_lazy("18:00–20:00"),
    "19-21": gettext_lazy("19:00–21:00"),
}


class DeliveryMethodForm(forms.ModelForm):
    slots = forms.MultipleChoiceField(
        label=gettext_lazy("time slots offered"),
        choices=[(slot, SLOT_LABELS[slot]) for slot in SLOTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy(
            "Yamato (B2 Cloud): morning, 14–16, 16–18, 18–20, 19–21; Sagawa (e飛伝): all six; Japan Post: all six."
        ),
    )

    class Meta:
        model = DeliveryMethod
        fields = [
            "tenant",
            "name",
            "carrier",
            "service",
            "cool_type",
            "cod_allowed",
            "slots",
            "default_size_class",
            "default_weight_g",
            "fee_table",
            "position",
            "active",
        ]

    def clean_slots(self) -> list[str]:
        return [slot for slot in SLOTS if slot in (self.cleaned_data.get("slots") or [])]


@admin.register(DeliveryMethod)
class DeliveryMethodAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    form = DeliveryMethodForm
    list_display = ["position", "name", "carrier", "service", "cod_allowed", "fee_table", "active"]
    list_display_links = ["name"]
    list_filter = ["tenant", "carrier", "service", "active"]
    readonly_fields = ["slot_codes"]

    @admin.display(description=gettext_lazy("carrier's slot codes"))
    def slot_codes(self, obj: DeliveryMethod) -> str:
        codes = SLOT_CODES.get(obj.carrier, {})
        return " ".join(f"{SLOT_LABELS[slot]}={codes[slot]}" for slot in obj.slots if slot in codes) or "—"


class ShippingStoreForm(forms.ModelForm):
    """The store with its outside-warehouse link (issue 16 item 5). The API token is written, never shown:
    left empty, the kept one stays."""

    api_base_url = forms.URLField(
        label=gettext_lazy("API base URL"),
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 60}),
    )
    api_token = forms.CharField(
        label=gettext_lazy("API token"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Kept encrypted. Leave empty to keep the token already set."),
    )
    clear_api_token = forms.BooleanField(label=gettext_lazy("Remove the API token"), required=False)

    class Meta:
        model = ShippingStore
        fields = [
            "tenant", "name", "code", "position", "kind", "active", "api_base_url", "api_token", "clear_api_token",
            "csv_outbox", "csv_inbox", "csv_encoding", "auto_request_status",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        has_token = bool(data.get("api_token")) or (
            bool(self.instance.api_token_encrypted) and not data.get("clear_api_token")
        )
        if kind == StoreKind.API and not (data.get("api_base_url") and has_token):
            raise ValidationError(_("An outside warehouse reached by its API needs the base URL and the token."))
        if kind == StoreKind.CSV and not (data.get("csv_outbox") and data.get("csv_inbox")):
            raise ValidationError(_("An outside warehouse reached by a CSV drop needs the request and answer folders."))
        return data

    def save(self, commit: bool = True) -> Any:
        if self.cleaned_data.get("clear_api_token"):
            self.instance.set_api_token("")
        elif self.cleaned_data.get("api_token"):
            self.instance.set_api_token(self.cleaned_data["api_token"])
        return super().save(commit)


@admin.register(ShippingStore)
class ShippingStoreAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    form = ShippingStoreForm
    list_display = ["position", "name", "code", "kind", "active", "auto_request_status"]
    list_display_links = ["name"]
    list_filter = ["tenant", "kind"]
    readonly_fields = ["token_kept", "polled_at", "poll_problems"]

    @admin.display(description=gettext_lazy("API token kept"))
    def token_kept(self, obj: ShippingStore) -> str:
        return "\u2022\u2022\u2022\u2022" if obj.api_token_encrypted else "—"


# --- fees (issue 16) ---------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,、，;；/]+")
_RATE = re.compile(r"^([^=:：＝]+)[=:：＝]\s*(-?[\d,，]+)円?$")


def parse_rates(text: str) -> dict[str, int]:
    """ "60=940 80=1,220" → {"60": 940, "80": 1220}; ValidationError naming the first bad entry."""
    rates: dict[str, int] = {}
    for entry in re.split(r"[\s;；、]+", (text or "").strip()):
        if not entry:
            continue
        match = _RATE.match(entry.replace("，", ","))
        if not match:
            raise ValidationError(_("Write each rate as class=fee (60=940): “%(entry)s”.") % {"entry": entry})
        key, value = match.group(1).strip().lower(), int(match.group(2).replace(",", ""))
        if value < 0:
            raise ValidationError(_("A fee cannot be negative: “%(entry)s”.") % {"entry": entry})
        rates[key] = value
    return rates


def rates_text(rates: dict[str, Any]) -> str:
    def order(key: str) -> tuple[int, int]:
        return (SIZE_ORDER.index(key), 0) if key in SIZE_ORDER else (len(SIZE_ORDER), int(key) if key.isdigit() else 0)

    return " ".join(f"{key}={rates[key]}" for key in sorted(rates, key=order))


class FeeZoneForm(forms.ModelForm):
    prefectures_text = forms.CharField(
        label=gettext_lazy("prefectures"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text=gettext_lazy("Separated by spaces or commas: 青森県 秋田県 岩手県 (the 県 may be left out)."),
    )
    rates_text = forms.CharField(
        label=gettext_lazy("rates"),
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=gettext_lazy("class=fee, separated by spaces: 60=940 80=1220 (a weight class: 2000=800 up to 2 kg)."),
    )

    class Meta:
        model = FeeZone
        fields = ["name", "position", "prefectures_text", "rates_text"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["prefectures_text"].initial = " ".join(self.instance.prefectures)
            self.fields["rates_text"].initial = rates_text(self.instance.rates)

    def clean_prefectures_text(self) -> list[str]:
        from japan.address import PREFECTURES

        names = []
        for written in _SEPARATORS.split(self.cleaned_data.get("prefectures_text") or ""):
            if not written:
                continue
            name = prefecture_name(written)
            if name not in PREFECTURES:
                raise ValidationError(_("“%(name)s” is not a prefecture.") % {"name": written})
            if name not in names:
                names.append(name)
        return names

    def clean_rates_text(self) -> dict[str, int]:
        return parse_rates(self.cleaned_data.get("rates_text") or "")

    def save(self, commit: bool = True) -> Any:
        self.instance.prefectures = self.cleaned_data.get("prefectures_text") or []
        self.instance.rates = self.cleaned_data.get("rates_text") or {}
        return super().save(commit)


class FeeZoneFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        basis = getattr(self.instance, "basis", FeeBasis.SIZE)
        seen: dict[str, str] = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            zone = form.cleaned_data.get("name", "")
            for name in form.cleaned_data.get("prefectures_text") or []:
                if name in seen:
                    raise ValidationError(
                        _("%(prefecture)s is in two zones: %(a)s and %(b)s.")
                        % {"prefecture": name, "a": seen[name], "b": zone}
                    )
                seen[name] = zone
            for key in form.cleaned_data.get("rates_text") or {}:
                if basis == FeeBasis.SIZE and key not in SIZE_ORDER:
                    raise ValidationError(
                        _("“%(key)s” is not a size class (%(classes)s).")
                        % {"key": key, "classes": ", ".join(SIZE_ORDER)}
                    )
                if basis == FeeBasis.WEIGHT and not key.isdigit():
                    raise ValidationError(_("A weight class is written in grams: “%(key)s”.") % {"key": key})


class FeeZoneInline(TenantPermissionMixin, TenantScopedFieldsMixin, admin.TabularInline):
    model = FeeZone
    form = FeeZoneForm
    formset = FeeZoneFormSet
    extra = 0


class CodFeeBandFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        bands: list[tuple[int, int]] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            low, high, fee = data.get("min_amount"), data.get("max_amount"), data.get("fee")
            if fee is not None and fee < 0:
                raise ValidationError(_("A COD fee cannot be negative."))
            if low is None or high is None:
                continue
            if low > high:
                raise ValidationError(
                    _("A COD fee band ends before it starts: %(low)s〜%(high)s円.")
                    % {"low": f"{low:,}", "high": f"{high:,}"}
                )
            bands.append((low, high))
        bands.sort()
        for (low_a, high_a), (low_b, high_b) in zip(bands, bands[1:], strict=False):
            if low_b <= high_a:
                raise ValidationError(
                    _("The COD fee bands %(a)s and %(b)s overlap.")
                    % {"a": f"{low_a:,}〜{high_a:,}円", "b": f"{low_b:,}〜{high_b:,}円"}
                )


class CodFeeBandInline(TenantPermissionMixin, TenantScopedFieldsMixin, admin.TabularInline):
    model = CodFeeBand
    formset = CodFeeBandFormSet
    extra = 0


@admin.register(FeeTable)
class FeeTableAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "basis", "island_policy", "free_threshold"]
    list_filter = ["tenant", "basis"]
    filter_horizontal = ["free_shops"]
    inlines = [FeeZoneInline, CodFeeBandInline]
