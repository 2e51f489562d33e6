from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopsConfig(AppConfig):
    name = "shops"
    verbose_name = _("Shops")

    def ready(self) -> None:
        """Shipment data to the malls (B12): every parcel shipping records is reported to the order's mall."""
        from shipping.hooks import on_shipments_recorded

        from .services.reports import reports_queue

        on_shipments_recorded(reports_queue)
