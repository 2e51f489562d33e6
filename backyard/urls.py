from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.root, name="root"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", views.tenant_switch, name="tenant_switch"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("orders/", include("orders.urls")),
    path("orders/", include("automation.urls")),
    path("shops/", include("shops.urls")),
    path("mail/", include("mailer.urls")),
    path("inventory/", include("inventory.urls")),
    path("documents/", include("documents.urls")),
    path("shipping/", include("shipping.fee_urls")),
    path("shipping/", include("shipping.urls")),
    path("admin/", admin.site.urls),
]
