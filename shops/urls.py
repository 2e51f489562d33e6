from .views import urlpatterns as shop_urls
from .views_csv import urlpatterns as csv_urls
from .views_reports import urlpatterns as report_urls

urlpatterns = [*shop_urls, *csv_urls, *report_urls]
