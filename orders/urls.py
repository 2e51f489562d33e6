from .views import bulk, detail, entry, export, listing

urlpatterns = [
    *listing.urlpatterns,
    *detail.urlpatterns,
    *entry.urlpatterns,
    *export.urlpatterns,
    *bulk.urlpatterns,
]
