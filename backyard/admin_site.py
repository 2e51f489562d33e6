from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _


class ForwardAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete, refusing a reverse relation as `field_name` (?model_name=shop&field_name=orders)
    like any other malformed request (403): Django's own view fails on one with a 500."""

    def process_request(self, request: HttpRequest) -> Any:
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if not hasattr(source_field, "get_limit_choices_to"):
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name


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

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return cast(HttpResponse, ForwardAutocompleteJsonView.as_view(admin_site=self)(request))
