"""Views of the mailer (send)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
