from django.urls import path

from . import fee_views

urlpatterns = [
    path("fees/orders/<int:order_id>/", fee_views.order_fee, name="shipping_order_fee"),
]
