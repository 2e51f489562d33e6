"""Mail to customers (B9, T1, T4, T5, T9, T10): kinds, templates, senders, the send log, reminder rules.

A mail kind (注文確認, 発送完了 …, and the tenant's own) has templates per shop (or for all shops) and per device
(PC, or mobile: the recipient's domain decides, from `MobileDomain`). Templates are Jinja2 in a sandbox over
plain values (mailer.rendering): an unknown placeholder is refused when the template is saved.

`MailMessage` is both the send log and the ledger that keeps a mail from going twice: one row per order, kind
and `sequence`, unique. An automatic mail (a status entered, a rule, the list's bulk send) is sequence 0, so a
second one for the same order and kind finds the row and is not queued; an operator's deliberate resend takes
the next number, as does each reminder (its count). How a row moves from queued to sent, and what happens when
a worker dies between the SMTP server's answer and the database, is in mailer.services.delivery.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned


class BuiltinKind(models.TextChoices):
    """The kinds every tenant has (B9, T4, T5, T9); a tenant adds its own beside them."""

    ORDER_CONFIRMATION = "order_confirmation", _("Order confirmation")
    STOCK_CONFIRMED = "stock_confirmed", _("Stock confirmed")
    PAYMENT_REQUEST = "payment_request", _("Payment details")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")
    SHIPPING_PREPARATION = "shipping_preparation", _("Shipping preparation")
    SHIPPED = "shipped", _("Shipped mail")
    PAYMENT_REMINDER = "payment_reminder", _("Unpaid reminder")
    FORM_REMINDER = "form_reminder", _("Order-form reminder")
    CANCELLATION = "cancellation", _("Cancellation")


class MailKind(TenantOwned):
    """What a mail is for. The built-in ones have their `code` (BuiltinKind); a tenant's own kinds a code of
    their own. The ledger counts "has this order had this mail" per kind."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    builtin = models.BooleanField(_("built in"), default=False, editable=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("mail kind")
        verbose_name_plural = _("mail kinds")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="mailkind_unique_code")]

    def __str__(self) -> str:
        return self.name


class Device(models.TextChoices):
    PC = "pc", _("PC mail")
    MOBILE = "mobile", _("Mobile mail")


class Charset(models.TextChoices):
    UTF8 = "utf-8", _("UTF-8")
    ISO2022JP = "iso-2022-jp", _("ISO-2022-JP (old mobile phones)")


class MailTemplate(TenantOwned):
    """Subject and body of one kind for one device, for every shop (`shop` empty) or for one shop, which wins.
    A mobile address with no mobile template gets the PC one."""

    kind = models.ForeignKey(MailKind, on_delete=models.CASCADE, related_name="templates", verbose_name=_("kind"))
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shop"),
        help_text=_("Leave blank for every shop; a shop's own template wins over this one."),
    )
    device = models.CharField(_("for"), max_length=10, choices=Device.choices, default=Device.PC)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    charset = models.CharField(_("encoding"), max_length=20, choices=Charset.choices, default=Charset.UTF8)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        ordering = ["kind__position", "kind_id", "shop_id", "device"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "shop", "device"], name="mailtemplate_unique_shop_kind_device"
            ),
            models.UniqueConstraint(
                fields=["tenant", "kind", "device"],
                condition=models.Q(shop__isnull=True),
                name="mailtemplate_unique_all_shops",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_device_display()})"

    def clean(self) -> None:
        super().clean()
        from .rendering import check_template  # the one place that knows the placeholders

        check_template(subject=self.subject, body=self.body, charset=self.charset)


class MobileDomain(TenantOwned):
    """A recipient domain that gets the mobile template (docomo.ne.jp …); subdomains count too."""

    domain = models.CharField(_("domain"), max_length=100)

    class Meta:
        verbose_name = _("mobile mail domain")
        verbose_name_plural = _("mobile mail domains")
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["tenant", "domain"], name="mobiledomain_unique")]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().lower().lstrip("@").lstrip(".")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Security(models.TextChoices):
    NONE = "none", _("None")
    STARTTLS = "starttls", _("STARTTLS")
    SSL = "ssl", _("SSL/TLS")


class SmtpSettings(TenantOwned):
    """An SMTP route. Empty host: this level has none and the next one is used (shop → tenant → project)."""

    smtp_host = models.CharField(_("SMTP host"), max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(
        _("SMTP port"), default=587, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_user = models.CharField(_("SMTP user"), max_length=200, blank=True)
    # A Fernet token (shops.crypto, the key of the mall credentials), never the password itself.
    smtp_password = models.TextField(_("SMTP password (encrypted)"), blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def has_route(self) -> bool:
        return bool(self.smtp_host.strip())


class TenantMailSettings(SmtpSettings):
    """The tenant's defaults: its SMTP route (when a shop has none), From, and how long sent bodies are kept."""

    from_address = models.EmailField(_("From address"), blank=True)
    from_name = models.CharField(_("From name"), max_length=100, blank=True)
    reply_to = models.EmailField(_("Reply-To"), blank=True)
    body_keep_days = models.PositiveIntegerField(
        _("keep mail bodies (days)"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Bodies of mails older than this are erased (they hold personal data); the log row stays."),
    )

    class Meta:
        verbose_name = _("mail settings")
        verbose_name_plural = _("mail settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="tenantmailsettings_unique")]

    def __str__(self) -> str:
        return str(_("mail settings"))


class ShopMailSettings(SmtpSettings):
    """A shop's sender (B9): From, display name, Reply-To, the signature appended to every mail, and its own
    SMTP route (Rakuten's R-Mail relay with the shop's SMTP AUTH login; the address Amazon has registered)."""

    shop = models.OneToOneField(
        "shops.Shop", on_delete=models.CASCADE, related_name="mail_settings", verbose_name=_("shop")
    )
    from_address = models.EmailField(_("From address"), blank=True)
    from_name = models.CharField(_("From name"), max_length=100, blank=True)
    reply_to = models.EmailField(_("Reply-To"), blank=True)
    signature = models.TextField(_("signature"), blank=True, help_text=_("Appended to every mail of the shop."))
    shop_url = models.URLField(_("shop URL"), blank=True)
    shop_phone = models.CharField(_("shop phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("shop mail settings")
        verbose_name_plural = _("shop mail settings")

    def __str__(self) -> str:
        return str(self.shop)


class StatusMail(TenantOwned):
    """T1, T4: the mail kind that belongs to a status, and whether it goes out when an order enters it."""

    status = models.OneToOneField(
        "orders.Status", on_delete=models.CASCADE, related_name="mail", verbose_name=_("status")
    )
    kind = models.ForeignKey(MailKind, on_delete=models.CASCADE, related_name="+", verbose_name=_("mail kind"))
    auto_send = models.BooleanField(
        _("send on entering"), default=False, help_text=_("Send this mail when an order enters the status.")
    )

    class Meta:
        verbose_name = _("status mail")
        verbose_name_plural = _("status mails")

    def __str__(self) -> str:
        return f"{self.status} → {self.kind}"


class MailState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")  # a worker died mid-conversation: check before resending
    MARKED = "marked", _("Marked as sent")  # sent elsewhere (T14); nothing went out from here


# States that count as "this order has had this mail" (the unsent views, the ledger's automatic sends).
HAD_MAIL = (MailState.QUEUED, MailState.SENDING, MailState.SENT, MailState.UNKNOWN, MailState.MARKED)
PROBLEMS = (MailState.FAILED, MailState.UNKNOWN)


class MailSource(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    RULE = "rule", _("Rule")
    REMINDER = "reminder", _("Reminder")
    STATUS = "status", _("Status entered")


class MailMessage(TenantOwned):
    """One mail to one order's customer: the ledger row and its log (T10, F8)."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"), db_index=False
    )
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    kind = models.ForeignKey(MailKind, on_delete=models.PROTECT, related_name="+", verbose_name=_("kind"))
    sequence = models.PositiveIntegerField(
        _("number"), default=0, help_text=_("0: the order's mail of this kind; 1, 2 …: resends and reminders.")
    )
    state = models.CharField(_("state"), max_length=10, choices=MailState.choices, default=MailState.QUEUED)
    source = models.CharField(_("sent by"), max_length=10, choices=MailSource.choices)
    actor_name = models.CharField(_("by"), max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    batch = models.UUIDField(_("batch"), null=True, blank=True, editable=False)
    # Set when an operator wrote subject and body for this one mail (T9): sent as written, not rendered.
    edited = models.BooleanField(_("edited by hand"), default=False)

    from_address = models.CharField(_("From"), max_length=300, blank=True)
    to_address = models.CharField(_("To"), max_length=254, blank=True)
    reply_to = models.CharField(_("Reply-To"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=1000, blank=True)
    body = models.TextField(_("body"), blank=True)
    charset = models.CharField(_("encoding"), max_length=20, choices=Charset.choices, default=Charset.UTF8)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)
    route = models.CharField(_("route"), max_length=200, blank=True, help_text=_("The SMTP server it went to."))

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    answer = models.TextField(_("server's answer"), blank=True)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    body_erased_at = models.DateTimeField(_("body erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mail")
        verbose_name_plural = _("mails")
        ordering = ["-queued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "sequence"], name="mailmessage_once_per_order_kind"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-queued_at", "-id"], name="mailmessage_tenant_queued"),
            models.Index(fields=["tenant", "to_address"], name="mailmessage_tenant_to"),
            models.Index(fields=["tenant", "state", "-queued_at"], name="mailmessage_tenant_state"),
            models.Index(fields=["batch"], name="mailmessage_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address or '—'}"


class ReminderTarget(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid (awaiting payment)")
    FORM = "form", _("Order form not filled")


class ReminderRule(TenantOwned):
    """T5: remind the customers of orders `days_after` days old, at most every `every_days` days and at most
    `max_times` times, with a mail of `kind`; reminded orders move to `move_to` (催促済 in the demo)."""

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("who"), max_length=10, choices=ReminderTarget.choices)
    kind = models.ForeignKey(MailKind, on_delete=models.PROTECT, related_name="+", verbose_name=_("mail kind"))
    days_after = models.PositiveIntegerField(
        _("days after the order date"), default=3, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    every_days = models.PositiveIntegerField(
        _("at most every (days)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    max_times = models.PositiveIntegerField(
        _("at most (times)"), default=2, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    move_to = models.ForeignKey(
        "orders.Status",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("move reminded orders to"),
    )
    automatic = models.BooleanField(
        _("send every day automatically"),
        default=False,
        help_text=_("Off: today's targets are listed for sending by hand."),
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name
