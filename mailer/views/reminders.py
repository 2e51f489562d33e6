"""Views of the mailer (reminders)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
