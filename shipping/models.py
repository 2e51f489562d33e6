from django.db import models
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned


class Carrier(models.TextChoices):
    YAMATO = "yamato", _("Yamato Transport")
    SAGAWA = "sagawa", _("Sagawa Express")
    JAPAN_POST = "japanpost", _("Japan Post")
    OTHER = "other", _("Other")


class DeliveryMethod(TenantOwned):
    """How an order travels (宅急便, ネコポス, ゆうパケット …); the carrier decides the waybill layout."""

    name = models.CharField(_("name"), max_length=100)
    carrier = models.CharField(_("carrier"), max_length=20, choices=Carrier.choices, default=Carrier.YAMATO)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery method")
        verbose_name_plural = _("delivery methods")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="deliverymethod_unique_name")]

    def __str__(self) -> str:
        return self.name


class ShippingStore(TenantOwned):
    """Where goods leave from (出荷店舗): the own warehouse, a store, an outside warehouse."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=60)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("shipping store")
        verbose_name_plural = _("shipping stores")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="shippingstore_unique_code")]

    def __str__(self) -> str:
        return self.name
