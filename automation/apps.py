from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import hooks

        from .db_triggers import drop_sqlite_triggers, restore_sqlite_triggers
        from .screens import OrderTasks, process_entered_orders, stock_checked
        from .services import recheck_changed_fields

        pre_migrate.connect(drop_sqlite_triggers, dispatch_uid="automation_drop_sqlite_triggers")
        # orders lies below automation and does not import it: what it shows or triggers of automation goes
        # through its extension points. An edit to a destination re-checks the address at once.
        hooks.on_order_fields_changed(recheck_changed_fields)
        hooks.on_orders_entered_by_hand(process_entered_orders)
        hooks.provide_tasks(OrderTasks())
        # Inventory's stock check (F11) raises and resolves the 欠品 / SKU不明 tasks through automation.
        hooks.on_stock_checked(stock_checked)
        # Shipping's fee tables (below automation) learn which orders go to a remote island from here.
        from shipping.services.fees import provide_island_check

        from .actions import island_order_ids

        provide_island_check(island_order_ids)
        post_migrate.connect(restore_sqlite_triggers, dispatch_uid="automation_restore_sqlite_triggers")
