from .views import bulk, bundles, detail, entry, export, listing

urlpatterns = [
    *listing.urlpatterns,
    *detail.urlpatterns,
    *entry.urlpatterns,
    *export.urlpatterns,
    *bulk.urlpatterns,
    *bundles.urlpatterns,
]
