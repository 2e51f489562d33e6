from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = _("Printed forms")

    def ready(self) -> None:
        from orders import hooks

        from .selectors import print_mark_names

        hooks.provide_print_marks(print_mark_names)  # the order list's "printed" mark
