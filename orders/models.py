"""Orders, their lines and history, and the tenant's own statuses over the fixed lifecycle."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, can_proceed, transition

from backyard.models import Tenant, TenantOwned

from .constants import ActorKind, EventType, Stage, refusal_reason, sources_of
from .exceptions import StageMoveRefused
from .slots import DeliverySlot

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))


class StatusGroup(TenantOwned):
    """A parent status (ステータスグループ), bound to one lifecycle stage; the tenant names and orders them."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)

    class Meta:
        verbose_name = _("status group")
        verbose_name_plural = _("status groups")
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["tenant", "position"], name="statusgroup_tenant_pos")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A group's stage is what its orders' lifecycle says: it cannot change under orders."""
        super().clean()
        if self.pk is None:
            return
        stored = StatusGroup.objects.filter(pk=self.pk).values_list("stage", flat=True).first()
        if stored is not None and stored != self.stage and Order.objects.filter(status__group_id=self.pk).exists():
            raise ValidationError({"stage": _("Orders are in this group; move them out before changing its stage.")})


class Status(TenantOwned):
    """A child status (ステータス) inside a group; an order always points at one."""

    group = models.ForeignKey(StatusGroup, on_delete=models.PROTECT, related_name="statuses", verbose_name=_("group"))
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    colour = models.CharField(_("colour"), max_length=7, default="#6c757d", validators=[colour_validator])

    class Meta:
        verbose_name = _("status")
        verbose_name_plural = _("statuses")
        ordering = ["group__position", "position", "pk"]
        indexes = [models.Index(fields=["tenant", "group", "position"], name="status_tenant_group_pos")]

    def __str__(self) -> str:
        return f"{self.group.name} / {self.name}"

    @property
    def stage(self) -> str:
        return self.group.stage


class PaymentMethod(TenantOwned):
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=60)
    needs_payment_confirmation = models.BooleanField(
        _("needs payment confirmation"),
        default=False,
        help_text=_("Bank transfer and convenience-store prepayment do; credit card and cash on delivery do not."),
    )
    is_cash_on_delivery = models.BooleanField(_("cash on delivery"), default=False)
    is_credit_card = models.BooleanField(
        _("credit card"),
        default=False,
        help_text=_("A receipt for a card payment carries no revenue stamp (it is not a receipt of money)."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="paymentmethod_unique_code")]

    def __str__(self) -> str:
        return self.name


class Label(TenantOwned):
    name = models.CharField(_("name"), max_length=50)
    colour = models.CharField(_("colour"), max_length=7, default="#0d6efd", validators=[colour_validator])
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="label_unique_name")]

    def __str__(self) -> str:
        return self.name


CLOSED_STAGES = (Stage.SHIPPED, Stage.COMPLETED, Stage.CANCELLED)


def OPEN_WITH_KEY(column: str) -> models.Q:  # noqa: N802 - reads as the constant it stands for
    """Orders not shipped, completed or cancelled whose destination key `column` is set."""
    return ~models.Q(stage__in=[str(s) for s in CLOSED_STAGES]) & ~models.Q(**{column: ""})


class Order(TenantOwned):
    # No single-column indexes on the foreign keys: every lookup starts from the tenant, which the composite
    # indexes below lead with, and each extra index is written on every UPDATE of an order (a bulk edit or a
    # rule rewrites thousands of rows; none of these columns is stable enough for HOT updates).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"), db_index=False
    )
    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop"), db_index=False
    )
    external_id = models.CharField(_("order number"), max_length=100, help_text=_("The mall's order number."))
    ordered_at = models.DateTimeField(_("ordered at"), default=timezone.now)

    # 注文者 (who ordered and pays)
    orderer_name = models.CharField(_("orderer name"), max_length=200, blank=True)
    orderer_kana = models.CharField(_("orderer name (kana)"), max_length=200, blank=True)
    orderer_email = models.EmailField(_("orderer email"), max_length=254, blank=True)
    orderer_phone = models.CharField(_("orderer phone"), max_length=30, blank=True)
    orderer_postal_code = models.CharField(_("orderer postal code"), max_length=10, blank=True)
    orderer_prefecture = models.CharField(_("orderer prefecture"), max_length=10, blank=True)
    orderer_city = models.CharField(_("orderer city"), max_length=100, blank=True)
    orderer_address1 = models.CharField(_("orderer address line 1"), max_length=200, blank=True)
    orderer_address2 = models.CharField(_("orderer address line 2"), max_length=200, blank=True)

    # 送付先 (where it goes)
    dest_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    dest_kana = models.CharField(_("recipient name (kana)"), max_length=200, blank=True)
    dest_company = models.CharField(_("recipient company"), max_length=200, blank=True)
    dest_phone = models.CharField(_("recipient phone"), max_length=30, blank=True)
    dest_postal_code = models.CharField(_("recipient postal code"), max_length=10, blank=True)
    dest_prefecture = models.CharField(_("recipient prefecture"), max_length=10, blank=True)
    dest_city = models.CharField(_("recipient city"), max_length=100, blank=True)
    dest_address1 = models.CharField(_("recipient address line 1"), max_length=200, blank=True)
    dest_address2 = models.CharField(_("recipient address line 2"), max_length=200, blank=True)

    payment_method = models.ForeignKey(
        PaymentMethod,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment method"),
        db_index=False,
    )
    delivery_method = models.ForeignKey(
        "shipping.DeliveryMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery method"),
        db_index=False,
    )
    # The slot as the mall (or the phone desk) wrote it, and the carriers' slot it means (orders.slots).
    delivery_time_slot = models.CharField(_("time slot as written"), max_length=30, blank=True)
    delivery_slot = models.CharField(
        _("delivery time slot"), max_length=5, choices=DeliverySlot.choices, default=DeliverySlot.NONE, blank=True
    )
    requested_delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)
    ship_date = models.DateField(_("ship date"), null=True, blank=True)
    shipping_store = models.ForeignKey(
        "shipping.ShippingStore",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shipping store"),
        db_index=False,
    )

    # Amounts in yen, tax included (内税), as integers.
    item_subtotal = models.BigIntegerField(_("item subtotal"), default=0)
    shipping_fee = models.BigIntegerField(_("shipping fee"), default=0)
    cod_fee = models.BigIntegerField(_("COD fee"), default=0)
    discount = models.BigIntegerField(_("discount"), default=0)
    points_used = models.BigIntegerField(_("points used"), default=0)
    tax = models.BigIntegerField(_("consumption tax (included)"), default=0)
    total = models.BigIntegerField(_("total"), default=0)

    remarks = models.TextField(_("remarks from the customer"), blank=True)
    order_comment = models.TextField(_("order-time comment"), blank=True)
    post_order_comment = models.TextField(_("post-order comment"), blank=True)
    mail_inquiry = models.BooleanField(_("mail inquiry"), default=False)
    work_memo = models.TextField(_("work memo"), blank=True)
    mail_insert = models.TextField(
        _("mail insert text"),
        blank=True,
        help_text=_("Text the auto-processing rules add for the mails to this order."),
    )
    mall_remote_island = models.BooleanField(_("remote island (mall's flag)"), null=True, blank=True)
    form_pending = models.BooleanField(
        _("order form not filled"),
        default=False,
        help_text=_(
            "The buyer has not completed the order form yet (auction orders): the order-form reminder goes to "
            "such orders. Imports set it; clear it once the buyer has filled in the form."
        ),
    )

    # 入金確認 and キャンセル (T15)
    paid_amount = models.BigIntegerField(_("amount paid"), null=True, blank=True)
    paid_on = models.DateField(_("payment date"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    personal_data_erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True, editable=False)
    # T14: an auction seller rates each buyer after the deal; when this shop's operator marked it done.
    buyer_rated_at = models.DateTimeField(_("buyer rated at"), null=True, blank=True)

    # Normalised names, kana, phone digits, email, order number and SKUs for the free-text search
    # (orders/search.py); kept by the services, never edited.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    # Where the order goes, as keys that compare (orders/destination.py): bundle candidates (issue 17) are the
    # open orders sharing one. Kept by the services, never edited.
    dest_key_name = models.CharField(_("destination key (name)"), max_length=16, blank=True, default="", editable=False)
    dest_key_phone = models.CharField(
        _("destination key (phone)"), max_length=16, blank=True, default="", editable=False
    )

    stage = FSMField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.NEW)
    status = models.ForeignKey(
        Status, on_delete=models.PROTECT, related_name="orders", verbose_name=_("status"), db_index=False
    )
    labels = models.ManyToManyField(Label, through="OrderLabel", related_name="orders", blank=True)

    version = models.PositiveIntegerField(_("version"), default=1, help_text=_("Raised on every edit."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shop", "external_id"], name="order_unique_shop_number"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-ordered_at", "-id"], name="order_tenant_status_date"),
            models.Index(fields=["tenant", "stage", "-ordered_at"], name="order_tenant_stage_date"),
            models.Index(fields=["tenant", "-ordered_at", "-id"], name="order_tenant_date"),
            models.Index(fields=["tenant", "ship_date"], name="order_tenant_ship_date"),
            # Bundle candidates: only open orders with a key, so the index is as small as the open work; in key
            # and shop order, with the id, so the groups are counted by an index-only scan without a sort.
            models.Index(
                fields=["tenant", "dest_key_name", "shop"],
                include=["id", "status"],
                condition=OPEN_WITH_KEY("dest_key_name"),
                name="order_open_dest_key_name",
            ),
            models.Index(
                fields=["tenant", "dest_key_phone", "shop"],
                include=["id", "status"],
                condition=OPEN_WITH_KEY("dest_key_phone"),
                name="order_open_dest_key_phone",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    # --- lifecycle: one transition per target stage, sources from constants.TRANSITIONS ----------------
    @transition(field=stage, source=sources_of(Stage.NEW), target=Stage.NEW)
    def to_new(self) -> None:
        """Reinstate or take back to new."""

    @transition(field=stage, source=sources_of(Stage.STOCK_CHECKED), target=Stage.STOCK_CHECKED)
    def to_stock_checked(self) -> None:
        """在庫確認済."""

    @transition(field=stage, source=sources_of(Stage.SHORTAGE), target=Stage.SHORTAGE)
    def to_shortage(self) -> None:
        """欠品あり."""

    @transition(field=stage, source=sources_of(Stage.AWAITING_PAYMENT), target=Stage.AWAITING_PAYMENT)
    def to_awaiting_payment(self) -> None:
        """入金待ち."""

    @transition(field=stage, source=sources_of(Stage.PAID), target=Stage.PAID)
    def to_paid(self) -> None:
        """入金済."""

    @transition(field=stage, source=sources_of(Stage.READY_TO_SHIP), target=Stage.READY_TO_SHIP)
    def to_ready_to_ship(self) -> None:
        """発送待ち."""

    @transition(field=stage, source=sources_of(Stage.SHIPPED), target=Stage.SHIPPED)
    def to_shipped(self) -> None:
        """出荷済."""

    @transition(field=stage, source=sources_of(Stage.COMPLETED), target=Stage.COMPLETED)
    def to_completed(self) -> None:
        """売上."""

    @transition(field=stage, source=sources_of(Stage.CANCELLED), target=Stage.CANCELLED)
    def to_cancelled(self) -> None:
        """キャンセル."""

    def advance_to(self, target: str) -> None:
        """Step the state machine to `target`, or raise StageMoveRefused with the reason."""
        if target == self.stage:
            return
        step = getattr(self, f"to_{Stage(target).value}")
        if not can_proceed(step):
            raise StageMoveRefused(refusal_reason(self.stage, target))
        step()


class OrderLabel(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="order_labels")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="order_labels")

    class Meta:
        verbose_name = _("order label")
        verbose_name_plural = _("order labels")
        constraints = [models.UniqueConstraint(fields=["order", "label"], name="orderlabel_unique")]
        indexes = [models.Index(fields=["tenant", "label", "order"], name="orderlabel_tenant_label")]


class OrderLine(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    position = models.PositiveIntegerField(_("position"), default=0)
    sku = models.CharField(_("SKU"), max_length=100, blank=True)
    name = models.CharField(_("item name"), max_length=255)
    options = models.CharField(_("options"), max_length=255, blank=True)
    unit_price = models.BigIntegerField(_("unit price"), default=0)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"), default=10)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["tenant", "order", "position"], name="orderline_tenant_order"),
            models.Index(fields=["tenant", "sku"], name="orderline_tenant_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name} × {self.quantity}"

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


class OrderEvent(TenantOwned):
    """One change to an order: who (a user, a rule, an import, the system), what, and old and new values."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor_name = models.CharField(_("actor"), max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    type = models.CharField(_("type"), max_length=30, choices=EventType.choices)
    data = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["tenant", "order", "at"], name="orderevent_tenant_order_at")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.actor_name})"


class SavedSearch(TenantOwned):
    """An operator's named search (the list's query string), one click to reapply."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("search"), max_length=2000)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "name"], name="savedsearch_unique_name")]

    def __str__(self) -> str:
        return self.name


class ListPreference(TenantOwned):
    """What an operator chose on the order list (page size, sort), remembered per tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    page_size = models.PositiveIntegerField(_("page size"), default=50)
    sort = models.CharField(_("sort"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("list preference")
        verbose_name_plural = _("list preferences")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="listpreference_unique_user")]


class StatusCount(TenantOwned):
    """How many orders each status holds, kept by database triggers on orders_order (see migration 0003), so
    the status tree reads a handful of rows instead of counting a million orders on every page."""

    status = models.OneToOneField(Status, on_delete=models.CASCADE, primary_key=True, related_name="+")
    n = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("status count")
        verbose_name_plural = _("status counts")
        indexes = [models.Index(fields=["tenant", "status"], name="statuscount_tenant_status")]
