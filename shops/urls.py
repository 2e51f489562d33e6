from .views import urlpatterns as shop_urls
from .views_csv import urlpatterns as csv_urls

urlpatterns = [*shop_urls, *csv_urls]
