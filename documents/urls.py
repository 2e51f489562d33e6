from django.urls import path

from .views import images, jobs, printing

urlpatterns = [
    path("print/", printing.print_selection, name="documents_print"),
    path("search/", printing.print_search_view, name="documents_search"),
    path("orders/<int:order_id>/", printing.order_print, name="documents_order"),
    path("orders/<int:order_id>/receipt/", printing.receipt_edit, name="documents_receipt"),
    path("jobs/", jobs.job_index, name="documents_jobs"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="documents_job"),
    path("jobs/<int:job_id>/download/", jobs.job_download, name="documents_job_download"),
    path("settings/<int:settings_id>/logo/", images.settings_logo, name="documents_logo"),
    path("settings/<int:settings_id>/seal/", images.settings_seal, name="documents_seal"),
]
