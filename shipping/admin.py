from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin

from backyard.admin_mixins import TenantAdminMixin

from .models import DeliveryMethod, ShippingStore


@admin.register(DeliveryMethod)
class DeliveryMethodAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    list_display = ["position", "name", "carrier", "active"]
    list_display_links = ["name"]
    list_filter = ["tenant", "carrier", "active"]


@admin.register(ShippingStore)
class ShippingStoreAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    list_display = ["position", "name", "code"]
    list_display_links = ["name"]
    list_filter = ["tenant"]
