"""Printed forms in the admin, for tenant admins: each shop's form settings (issuer, registration number, logo
and seal, layout, a message per kind) and, read only, the print jobs.

Scoped to the tenant like every admin here (backyard.admin_mixins): lists, choices and saves see only the
tenant's rows; another tenant's id is answered like a missing one. The registration number is checked by the
model (T and 13 digits, a corporation's check digit); the images by documents.forms.checked_image (a real PNG
or JPEG, at most 2 MB). The stored images are shown through documents_logo / documents_seal, which serve them
to the tenant that owns them only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backyard.admin_mixins import TenantAdminMixin, is_superuser

from .forms import DocumentSettingsForm
from .models import DocumentSettings, PrintJob


def _image_preview(obj: DocumentSettings | None, field: str, url_name: str) -> str:
    if obj is None or obj.pk is None or not getattr(obj, field):
        return "—"
    return format_html(
        '<img src="{}" alt="" style="max-height: 96px; max-width: 240px; border: 1px solid #ddd; padding: 2px">',
        reverse(url_name, args=[obj.pk]),
    )


@admin.register(DocumentSettings)
class DocumentSettingsAdmin(TenantAdminMixin, admin.ModelAdmin):
    """One row per shop: what its forms print as issuer. A shop without a row prints with its name."""

    form = DocumentSettingsForm
    list_display = ["shop", "issuer_name", "registration_number", "layout", "delivery_note_with_invoice"]
    list_display_links = ["shop", "issuer_name"]
    list_filter = ["tenant", "layout"]
    list_select_related = ["shop"]
    search_fields = ["issuer_name", "registration_number", "shop__name"]
    ordering = ["shop_id"]
    readonly_fields = ["logo_preview", "seal_preview"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        first = ["shop", "issuer_name", "issuer_postal_code", "issuer_address", "issuer_phone", "issuer_email"]
        if is_superuser(request):
            first = ["tenant", *first]
        return [
            (None, {"fields": first}),
            (
                _("Qualified invoice"),
                {"fields": ["issuer_is_corporation", "registration_number", "delivery_note_with_invoice"]},
            ),
            (_("Images"), {"fields": [("logo", "logo_preview"), ("seal", "seal_preview")]}),
            (
                _("Layout and messages"),
                {
                    "fields": [
                        "layout",
                        "order_sheet_message",
                        "delivery_note_message",
                        "receipt_proviso",
                        "receipt_message",
                        "invoice_message",
                    ]
                },
            ),
        ]

    @admin.display(description=_("current logo"))
    def logo_preview(self, obj: DocumentSettings | None) -> str:
        return _image_preview(obj, "logo", "documents_logo")

    @admin.display(description=_("current seal"))
    def seal_preview(self, obj: DocumentSettings | None) -> str:
        return _image_preview(obj, "seal", "documents_seal")


@admin.register(PrintJob)
class PrintJobAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The print jobs, read only (the operators follow them on the job page)."""

    list_display = ["created_at", "kind", "state", "total", "done", "pages", "failed_count", "created_by_name"]
    list_filter = ["tenant", "kind", "state"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    exclude = ["order_ids", "created_by"]

    @admin.display(description=_("orders not printed"))
    def failed_count(self, obj: PrintJob) -> int:
        return len(obj.failed or [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = {"order_ids", "created_by"} | (set() if is_superuser(request) else {"tenant"})
        return [f.name for f in PrintJob._meta.fields if f.name not in hidden] + ["failed_count"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
