"""Inventory's screens. Each module of inventory.views owns its patterns."""

from django.urls import URLPattern, URLResolver

from .views import check, csv, products, receiving

urlpatterns: list[URLPattern | URLResolver] = [
    *check.urlpatterns,
    *csv.urlpatterns,
    *products.urlpatterns,
    *receiving.urlpatterns,
]
