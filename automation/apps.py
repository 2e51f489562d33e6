from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders.hooks import on_order_fields_changed

        from .db_triggers import drop_sqlite_triggers, restore_sqlite_triggers
        from .services import recheck_changed_fields

        pre_migrate.connect(drop_sqlite_triggers, dispatch_uid="automation_drop_sqlite_triggers")
        # An edit to a destination re-checks the address at once (orders does not import automation).
        on_order_fields_changed(recheck_changed_fields)
        post_migrate.connect(restore_sqlite_triggers, dispatch_uid="automation_restore_sqlite_triggers")
