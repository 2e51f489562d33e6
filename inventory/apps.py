from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inventory"
    verbose_name = _("Products and stock")

    def ready(self) -> None:
        from orders import hooks

        from .services.allocation import follow_status_entries, lines_changed

        # A cancelled order gives its stock back; a shipped one takes it off the shelf (on hand and allocated).
        hooks.on_orders_entered_status(follow_status_entries)
        hooks.on_order_fields_changed(lines_changed)  # an edited order's stock follows its lines
