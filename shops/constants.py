from django.db import models
from django.utils.translation import gettext_lazy as _


class MallKind(models.TextChoices):
    RAKUTEN = "rakuten", _("Rakuten Ichiba")
    YAHOO = "yahoo", _("Yahoo! Shopping")
    AMAZON = "amazon", _("Amazon")
    SHOPIFY = "shopify", _("Shopify")
    AUCTION = "auction", _("Yahoo! Auctions")
    MANUAL = "manual", _("Phone / FAX")
    CSV = "csv", _("CSV")
