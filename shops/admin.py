from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin

from backyard.admin_mixins import TenantAdminMixin

from .models import Shop


@admin.register(Shop)
class ShopAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    list_display = ["position", "name", "mall", "code", "active"]
    list_display_links = ["name"]
    list_filter = ["tenant", "mall", "active"]
    search_fields = ["name", "code"]
