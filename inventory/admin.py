"""Products and stock in the admin, for tenant admins: the product master with its set components and mall
SKU aliases, the aliases on their own, and the stock history (read-only: every row is written by the code
that changed the stock).

Scoped to the tenant like every admin here (backyard.admin_mixins): lists, choices and saves see only the
tenant's rows; another tenant's id is answered like a missing one.

Stock is changed here by difference, under the product's row lock, with a history row: `allocated` is the
stock check's alone (never written back from a form), and `on_hand` moves by what the admin changed on the
page (10 → 12 adds 2, even if an order shipped meanwhile), never below what is allocated.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.forms import BaseInlineFormSet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.admin_mixins import TenantAdminMixin, TenantInlineMixin, is_superuser
from orders.events import Actor

from .models import MoveKind, Product, SetComponent, SkuAlias, StockMove


class TenantRowForm(forms.ModelForm):
    """An inline row validated with its tenant, so a duplicate within the tenant (a mall item number taken) is a
    form error, not an IntegrityError, and a row pointing at another tenant's product is refused."""

    def _get_validation_exclusions(self) -> set[str]:
        exclusions = set(super()._get_validation_exclusions())  # type: ignore[misc]
        return exclusions - {"tenant"} if getattr(self.instance, "tenant_id", None) is not None else exclusions


class TenantRowsFormSet(BaseInlineFormSet):
    """Each row belongs to the parent's tenant before it is validated (saving sets it again)."""

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        if form.instance.tenant_id is None and self.instance.tenant_id is not None:
            form.instance.tenant_id = self.instance.tenant_id


class SetComponentFormSet(TenantRowsFormSet):
    """Components belong to set products only: the stock check expands any product that has some."""

    def clean(self) -> None:
        super().clean()
        if self.instance.is_set:
            return
        kept = [
            form
            for form in self.forms
            if form.has_changed() or form.instance.pk
            if not (self.can_delete and getattr(form, "cleaned_data", {}).get(DELETION_FIELD_NAME))
        ]
        if kept:
            raise ValidationError(_("Only a set product has components: tick “set product” or remove them."))


class SetComponentInline(TenantInlineMixin, admin.TabularInline):
    model = SetComponent
    form = TenantRowForm
    formset = SetComponentFormSet
    fk_name = "set_product"
    fields = ["component", "quantity"]
    autocomplete_fields = ["component"]
    extra = 0
    verbose_name = gettext_lazy("component")
    verbose_name_plural = gettext_lazy("set components")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "component" and formfield is not None:
            formfield.queryset = formfield.queryset.filter(is_set=False)  # a set holds single products
        return formfield


class SkuAliasInline(TenantInlineMixin, admin.TabularInline):
    model = SkuAlias
    form = TenantRowForm
    formset = TenantRowsFormSet
    fields = ["mall", "mall_sku"]
    extra = 0


class ProductForm(forms.ModelForm):
    # The stock the page showed: on_hand moves by what the admin changed, not to the number typed.
    on_hand_seen = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = [
            "tenant",
            "sku",
            "name",
            "options",
            "jan",
            "location",
            "weight_g",
            "size_class",
            "on_hand",
            "reorder_point",
            "is_set",
            "active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on_hand_seen"].initial = self.instance.on_hand if self.instance.pk else 0

    def seen(self) -> int:
        value = self.cleaned_data.get("on_hand_seen")
        return self.initial.get("on_hand", 0) if value is None else value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if not self.instance.pk:
            return cleaned
        on_hand = cleaned.get("on_hand")
        current = Product.objects.filter(pk=self.instance.pk).values_list("on_hand", "allocated").first()
        if on_hand is not None and current is not None:
            stocked, allocated = current
            if stocked + on_hand - self.seen() < allocated:
                self.add_error(
                    "on_hand",
                    _("On hand cannot fall below what is allocated to orders (%(allocated)d).")
                    % {"allocated": allocated},
                )
        if cleaned.get("is_set") and self.instance.in_sets.exists():
            self.add_error("is_set", _("This product is a component of a set: a set cannot contain another set."))
        return cleaned


def _adjust(product: Product, change: int, request: HttpRequest, note: str) -> None:
    actor = Actor.for_user(request.user)  # type: ignore[arg-type]
    StockMove.objects.create(
        tenant_id=product.tenant_id,
        product=product,
        kind=MoveKind.ADJUST,
        on_hand_change=change,
        on_hand_after=product.on_hand,
        allocated_after=product.allocated,
        actor_name=actor.name[:200],
        actor_user_id=actor.user_id,
        note=note,
    )


@admin.register(Product)
class ProductAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The product master. A set product's components and a product's mall item numbers are edited on its page;
    its stock history is one click away."""

    form = ProductForm
    list_display = [
        "sku",
        "name",
        "options",
        "location",
        "on_hand",
        "allocated",
        "available",
        "reorder_point",
        "is_set",
        "active",
    ]
    list_display_links = ["sku", "name"]
    list_filter = ["tenant", "is_set", "active", "size_class"]
    search_fields = ["sku", "name", "jan"]
    readonly_fields = ["allocated", "available", "stock_history"]
    inlines = [SetComponentInline, SkuAliasInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("allocated"))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Product], search_term: str) -> Any:
        """A set's component is searched among single products only (the components' autocomplete)."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (
            request.path == reverse("admin:autocomplete")
            and request.GET.get("model_name") == SetComponent._meta.model_name
            and request.GET.get("field_name") == "component"
        ):
            queryset = queryset.filter(is_set=False)
        return queryset, may_have_duplicates

    @admin.display(description=gettext_lazy("available"), ordering="available_units")
    def available(self, obj: Product) -> int:
        return obj.available

    @admin.display(description=gettext_lazy("stock history"))
    def stock_history(self, obj: Product) -> str:
        if obj.pk is None:
            return "—"
        url = f"{reverse('admin:inventory_stockmove_changelist')}?product__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Every change of this product's stock"))

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if not change:
            obj.allocated = 0
            super().save_model(request, obj, form, change)
            if obj.on_hand:
                _adjust(obj, obj.on_hand, request, _("Stock entered with the product."))
            return
        with transaction.atomic():
            locked = Product.objects.select_for_update().get(pk=obj.pk)
            delta = obj.on_hand - form.seen()
            if locked.on_hand + delta < locked.allocated:  # allocated since the form was checked
                messages.error(request, _("On hand was not changed: orders took that stock meanwhile."))
                delta = 0
            obj.on_hand = locked.on_hand + delta
            obj.allocated = locked.allocated  # the stock check's, as it is now
            super().save_model(request, obj, form, change)
            if delta:
                _adjust(obj, delta, request, _("Changed in the admin."))


@admin.register(SkuAlias)
class SkuAliasAdmin(TenantAdminMixin, admin.ModelAdmin):
    """A mall's item number that means one of our products (an order line carrying it is allocated from it)."""

    list_display = ["mall", "mall_sku", "product"]
    list_filter = ["tenant", "mall"]
    search_fields = ["mall_sku", "product__sku", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]


@admin.register(StockMove)
class StockMoveAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The stock history: written by whatever changed the stock, read here."""

    list_display = ["product", "at", "kind", "changes", "after", "order", "actor_name"]
    list_filter = ["tenant", "kind"]
    search_fields = ["product__sku", "product__name", "note"]
    list_select_related = ["product", "order"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = {"id"} if is_superuser(request) else {"id", "tenant"}
        return [f.name for f in StockMove._meta.concrete_fields if f.name not in hidden]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("changes"))
    def changes(self, obj: StockMove) -> str:
        return _("on hand %(on_hand)s, allocated %(allocated)s") % {
            "on_hand": f"{obj.on_hand_change:+d}",
            "allocated": f"{obj.allocated_change:+d}",
        }

    @admin.display(description=gettext_lazy("after"))
    def after(self, obj: StockMove) -> str:
        return _("on hand %(on_hand)d, allocated %(allocated)d") % {
            "on_hand": obj.on_hand_after,
            "allocated": obj.allocated_after,
        }
