from django.db import models
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned

from .constants import MallKind


class Shop(TenantOwned):
    """One storefront of the tenant: a mall shop, an own cart, or the phone/FAX desk."""

    name = models.CharField(_("shop name"), max_length=200)
    mall = models.CharField(_("mall"), max_length=20, choices=MallKind.choices)
    code = models.SlugField(_("shop code"), max_length=60)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="shop_unique_tenant_code")]

    def __str__(self) -> str:
        return self.name
