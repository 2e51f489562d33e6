from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class BackyardAdminSite(admin.AdminSite):
    """The admin for superusers and tenant admins (owners and admins of the current tenant)."""

    site_header = _("Backyard settings")
    site_title = _("Backyard")
    index_title = _("Settings")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        membership = getattr(request, "membership", None)
        return membership is not None and membership.is_admin
