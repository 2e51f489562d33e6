from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackyardConfig(AppConfig):
    default = True
    name = "backyard"
    verbose_name = _("Tenancy")
    default_auto_field = "django.db.models.BigAutoField"


class BackyardAdminConfig(admin_apps.AdminConfig):
    default = False
    """Django admin with the tenant-aware site: tenant admins see only their own tenant."""

    default_site = "backyard.admin_site.BackyardAdminSite"


class LoginThrottleConfig(AxesAppConfig):
    """django-axes (login throttling) under a name an operator reads in the admin."""

    verbose_name = _("Login throttling")
