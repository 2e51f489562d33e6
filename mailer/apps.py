from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _status_mail_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .selectors import unsent_counts_changed

    unsent_counts_changed(instance.tenant_id)


class MailerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailer"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from orders import hooks

        from .selectors import unsent_counts
        from .services.queueing import queue_on_status_entry

        hooks.on_orders_entered_status(queue_on_status_entry)
        for signal in (post_save, post_delete):  # a status's mail set or changed in the admin
            signal.connect(_status_mail_changed, sender="mailer.StatusMail", dispatch_uid=f"mailer_{signal}")
        hooks.provide_mail_counts(unsent_counts)
