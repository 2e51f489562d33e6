"""The mailer's screens: sending from the order list (F7), the order's own mail (T9), the send log (T10, F8),
unsent mail per status (T4) and reminders (T5). Each module of mailer.views owns its patterns."""

from django.urls import include, path

from .views import log, reminders, send

urlpatterns = [
    path("", include(send.urlpatterns)),
    path("log/", include(log.urlpatterns)),
    path("reminders/", include(reminders.urlpatterns)),
]
