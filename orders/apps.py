from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _restore_sqlite_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """SQLite rebuilds a table for most schema changes (ALTER TABLE can do little there), and the rebuild drops
    the table's triggers: after any migration that touched orders_order, the status-count triggers of
    migration 0003 would be gone and the counts would silently freeze. Put back what is missing and recount."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    import importlib

    triggers = importlib.import_module("orders.migrations.0003_status_counts")
    with connection.cursor() as cursor:
        tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"orders_order", "orders_statuscount"} <= tables:
            return
        have = {
            row[0]
            for row in cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders_order'"
            )
        }
        wanted = {f"orders_statuscount_{kind}" for kind in ("ins", "del", "upd")}
        if wanted <= have:
            return
        for sql in triggers.SQLITE_DROP:
            cursor.execute(sql)
        for sql in triggers.SQLITE_TRIGGERS:
            cursor.execute(sql)
        cursor.execute("DELETE FROM orders_statuscount")
        cursor.execute(triggers.FILL)


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        post_migrate.connect(_restore_sqlite_triggers, dispatch_uid="orders_restore_sqlite_triggers")
