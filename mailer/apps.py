from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailer"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from orders import hooks

        from .services.queueing import queue_on_status_entry

        hooks.on_orders_entered_status(queue_on_status_entry)
