from __future__ import annotations

from typing import Any

from adminsortable2.admin import SortableAdminBase, SortableAdminMixin, SortableTabularInline
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backyard.admin_mixins import TenantAdminMixin, TenantInlineMixin, TenantOwnedAdmin

from .models import Label, Order, OrderEvent, OrderLine, PaymentMethod, Status, StatusGroup


def colour_chip(colour: str, text: str) -> str:
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:8px;background:{};color:#fff">{}</span>',
        colour,
        text,
    )


class StatusInline(TenantInlineMixin, SortableTabularInline):
    model = Status
    fields = ["name", "colour", "position"]
    ordering = ["position"]
    extra = 0


@admin.register(StatusGroup)
class StatusGroupAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    """Drag the groups to reorder them; drag the child statuses inside a group."""

    list_display = ["position", "name", "stage", "children"]
    list_display_links = ["name"]
    list_filter = ["tenant", "stage"]
    inlines = [StatusInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("statuses")

    @admin.display(description=_("statuses"))
    def children(self, obj: StatusGroup) -> str:
        return ", ".join(s.name for s in obj.statuses.all())


@admin.register(PaymentMethod)
class PaymentMethodAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    list_display = ["position", "name", "code", "needs_payment_confirmation", "is_cash_on_delivery", "active"]
    list_display_links = ["name"]
    list_filter = ["tenant", "needs_payment_confirmation", "active"]


@admin.register(Label)
class LabelAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    list_display = ["position", "chip", "name", "colour"]
    list_display_links = ["name"]
    list_filter = ["tenant"]

    @admin.display(description=_("label"))
    def chip(self, obj: Label) -> str:
        return colour_chip(obj.colour, obj.name)


class ReadOnlyInline(TenantInlineMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


LINE_COLUMNS = ("sku", "name", "options", "unit_price", "quantity", "tax_rate")
EVENT_COLUMNS = ("at", "actor_kind", "actor_name", "type", "data")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = LINE_COLUMNS
    readonly_fields = LINE_COLUMNS


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = EVENT_COLUMNS
    readonly_fields = EVENT_COLUMNS
    ordering = ["at", "pk"]


@admin.register(Order)
class OrderAdmin(TenantOwnedAdmin, SortableAdminBase):
    """Orders are worked in the order list; here they are read-only, with their history."""

    list_display = ["external_id", "shop", "ordered_at", "orderer_name", "dest_prefecture", "total", "status"]
    list_filter = ["tenant", "stage", "shop"]
    search_fields = ["external_id", "orderer_name", "orderer_kana", "dest_name"]
    list_select_related = ["shop", "status__group"]
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline, OrderEventInline]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in Order._meta.concrete_fields] + ["labels"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
