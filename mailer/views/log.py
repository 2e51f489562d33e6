"""Views of the mailer (log)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
