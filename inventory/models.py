"""Products and stock (T12): the product master, set products, mall SKU aliases, what each order line holds,
and the history of every change of stock.

Why not in `orders/`: products are the merchant's catalogue and the warehouse's stock, which live on whether
or not an order refers to them (receiving, stocktaking, reorder points), and the shipping fee tables read
their weight and size. Orders carry only the SKU text their mall sent; `inventory` sits above orders (it
acts on them: allocation, release, consumption) and below automation (a rule's "stock check").

Stock is two numbers per product: `on_hand` (on the shelf) and `allocated` (promised to orders); what can
still be promised is `available` = on_hand − allocated, computed, never stored. The database holds both to
0 ≤ allocated ≤ on_hand, so no race can oversell: an allocation that would break it fails.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned
from shops.constants import MallKind


def validate_jan(value: str) -> None:
    """A JAN (EAN) code: 8 or 13 digits with a right check digit."""
    if not value:
        return
    if not value.isdigit() or len(value) not in (8, 13):
        raise ValidationError(_("A JAN code has 8 or 13 digits."))
    digits = [int(ch) for ch in value]
    body, check = digits[:-1], digits[-1]
    weights = [3 if (len(body) - i) % 2 else 1 for i in range(len(body))]
    if (10 - sum(d * w for d, w in zip(body, weights, strict=True)) % 10) % 10 != check:
        raise ValidationError(_("The JAN code's check digit is wrong."))


class SizeClass(models.TextChoices):
    """The parcel size a product needs (the carriers' classes; the shipping fee tables read it)."""

    MAIL = "mail", _("Mail size (ネコポス, ゆうパケット)")
    COMPACT = "compact", _("Compact")
    S60 = "60", "60"
    S80 = "80", "80"
    S100 = "100", "100"
    S120 = "120", "120"
    S140 = "140", "140"
    S160 = "160", "160"


class Product(TenantOwned):
    sku = models.CharField(_("SKU"), max_length=100)
    name = models.CharField(_("product name"), max_length=255)
    options = models.CharField(_("options / variant"), max_length=255, blank=True)
    jan = models.CharField(_("JAN code"), max_length=13, blank=True, validators=[validate_jan])
    location = models.CharField(_("shelf"), max_length=50, blank=True)
    weight_g = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    size_class = models.CharField(_("size class"), max_length=10, choices=SizeClass.choices, blank=True)
    on_hand = models.IntegerField(_("on hand"), default=0, validators=[MinValueValidator(0)])
    allocated = models.IntegerField(_("allocated"), default=0, editable=False)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    is_set = models.BooleanField(
        _("set product"), default=False, help_text=_("Made of other products: allocated as its components.")
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_unique_sku"),
            models.CheckConstraint(
                condition=models.Q(allocated__gte=0, on_hand__gte=models.F("allocated")),
                name="product_stock_never_oversold",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "jan"], name="product_tenant_jan")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class SetComponent(TenantOwned):
    set_product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="components", verbose_name=_("set product")
    )
    component = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="in_sets", verbose_name=_("component")
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("set component")
        verbose_name_plural = _("set components")
        constraints = [
            models.UniqueConstraint(fields=["set_product", "component"], name="setcomponent_unique"),
            models.CheckConstraint(
                condition=~models.Q(set_product=models.F("component")), name="setcomponent_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} × {self.quantity}"

    def clean(self) -> None:
        super().clean()
        if self.set_product_id and self.set_product_id == self.component_id:
            raise ValidationError(_("A set cannot contain itself."))
        if self.component_id and self.component.is_set:
            raise ValidationError(_("A set's component must be a single product, not another set."))


class SkuAlias(TenantOwned):
    """A mall's item number (商品管理番号, SKU of the cart) that means one of our products."""

    mall = models.CharField(_("mall"), max_length=20, choices=MallKind.choices)
    mall_sku = models.CharField(_("mall's item number"), max_length=100)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("product"))

    class Meta:
        verbose_name = _("mall SKU alias")
        verbose_name_plural = _("mall SKU aliases")
        constraints = [models.UniqueConstraint(fields=["tenant", "mall", "mall_sku"], name="skualias_unique")]

    def __str__(self) -> str:
        return f"{self.get_mall_display()} {self.mall_sku} → {self.product.sku}"


class Allocation(TenantOwned):
    """Units of a product promised to one order line (a set line holds one row per component)."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    # A line removed (by an operator or the mall) leaves its allocation without a line until the removal's
    # hook gives the units back (inventory.services.allocation.lines_changed): never silently lost.
    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("line")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [models.UniqueConstraint(fields=["line", "product"], name="allocation_unique_line_product")]
        indexes = [models.Index(fields=["tenant", "order"], name="allocation_tenant_order")]


class MoveKind(models.TextChoices):
    RECEIVE = "receive", _("Received")
    ADJUST = "adjust", _("Adjusted")
    ALLOCATE = "allocate", _("Allocated")
    RELEASE = "release", _("Released")
    SHIP = "ship", _("Shipped out")
    IMPORT = "import", _("CSV import")


class StockMove(TenantOwned):
    """One change of a product's stock: when, why, who, which order, and the numbers after it."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="moves", verbose_name=_("product"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("why"), max_length=10, choices=MoveKind.choices)
    on_hand_change = models.IntegerField(_("on hand ±"), default=0)
    allocated_change = models.IntegerField(_("allocated ±"), default=0)
    on_hand_after = models.IntegerField(_("on hand after"))
    allocated_after = models.IntegerField(_("allocated after"))
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    actor_name = models.CharField(_("by"), max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stock change")
        verbose_name_plural = _("stock changes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["tenant", "product", "-at"], name="stockmove_tenant_product_at")]
