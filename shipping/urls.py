"""Shipping's screens (issue 16). Each module of shipping.views owns its patterns."""

from django.urls import URLPattern, URLResolver

from .views import tracking, warehouse, waybills

urlpatterns: list[URLPattern | URLResolver] = [*waybills.urlpatterns, *tracking.urlpatterns, *warehouse.urlpatterns]
