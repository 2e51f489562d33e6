from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShippingConfig(AppConfig):
    name = "shipping"
    verbose_name = _("Shipping")

    def ready(self) -> None:
        """Outside warehouses (issue 16 item 5): orders entering the status a warehouse names are requested."""
        from orders.hooks import on_orders_entered_status

        from .services.warehouse import auto_request_entered

        on_orders_entered_status(auto_request_entered)
