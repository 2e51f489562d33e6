"""Shops, their encrypted credentials and sync state, the import runs, and what the mall last said of each
order (the base of the three-way merge in shops.services.importer)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard import dates
from backyard.models import TenantOwned

from .constants import MallKind


class Shop(TenantOwned):
    """One storefront of the tenant: a mall shop, an own cart, or the phone/FAX desk."""

    name = models.CharField(_("shop name"), max_length=200)
    mall = models.CharField(_("mall"), max_length=20, choices=MallKind.choices)
    code = models.SlugField(_("shop code"), max_length=60)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # A Fernet token (shops.crypto), never the secrets themselves; decrypted only by a poll and the admin form.
    credentials = models.TextField(_("credentials (encrypted)"), blank=True, editable=False)
    base_url = models.URLField(
        _("API base URL"),
        max_length=300,
        blank=True,
        help_text=_("Leave blank for the mall's own endpoint; a test or demo mall's address otherwise."),
    )
    poll_interval = models.PositiveIntegerField(
        _("poll interval (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("How often new and changed orders are fetched from the mall."),
    )
    first_poll_from = models.DateField(
        _("first fetch from"),
        null=True,
        blank=True,
        help_text=_(
            "The first fetch of a newly connected shop takes the orders from this day on (Japan time). "
            "Leave it blank for the mall's default (the last days). Once the first fetch has run, each "
            "fetch goes on from where the last one stopped."
        ),
    )

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="shop_unique_tenant_code")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.first_poll_from is not None and self.first_poll_from > timezone.localdate():
            raise ValidationError(
                {"first_poll_from": _("The first fetch cannot start in the future: enter today or an earlier day.")}
            )
        if self.first_poll_from is not None and not dates.in_range(self.first_poll_from):
            raise ValidationError({"first_poll_from": dates.OUT_OF_RANGE})  # year 1 would page through millennia

    @property
    def not_polled_because(self) -> str:
        """Why beat does not poll the shop ("" when nothing keeps it from it): "inactive" (switched off) or
        "no_credentials" (never connected). Whether its mall has a connector at all is the caller's to ask."""
        if not self.active:
            return "inactive"
        if not self.credentials:
            return "no_credentials"
        return ""


class SyncErrorKind(models.TextChoices):
    RATE_LIMITED = "rate_limited", _("Rate limited")
    UNAVAILABLE = "unavailable", _("Mall unavailable")
    AUTH = "auth", _("Credentials refused")
    CONFIG = "config", _("Not set up")
    ERROR = "error", _("Error")
    INTERRUPTED = "interrupted", _("Interrupted")  # the worker carrying the run out died (no heartbeat)


class ShopSync(TenantOwned):
    """Where polling of one shop stands: the cursor to resume from, the last outcome, when it is due, and the
    lock (`running_since`, alive while `heartbeat_at` is fresh) that keeps two polls of the shop from running
    at once (shops.services.polling)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="sync", verbose_name=_("shop"))
    cursor = models.TextField(_("cursor"), blank=True, help_text=_("Where the next poll resumes (the mall's own)."))
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_kind = models.CharField(_("kind of error"), max_length=20, choices=SyncErrorKind.choices, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("next poll due"), null=True, blank=True)
    running_since = models.DateTimeField(_("polling since"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)

    class Meta:
        verbose_name = _("shop sync state")
        verbose_name_plural = _("shop sync states")
        indexes = [models.Index(fields=["next_due_at"], name="shopsync_due")]

    def __str__(self) -> str:
        return str(self.shop)

    @property
    def failing(self) -> bool:
        return bool(self.last_error)


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    OK = "ok", _("OK")
    PARTIAL = "partial", _("Partly imported")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


FINISHED = frozenset({RunStatus.OK, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.SKIPPED})


class Trigger(models.TextChoices):
    BEAT = "beat", _("Schedule")
    MANUAL = "manual", _("Fetch latest")
    CSV = "csv", _("CSV upload")


class ImportRun(TenantOwned):
    """One poll (or CSV upload) of one shop: when, what came of it, and why it stopped if it did.

    ok: every page imported, every order read. partial: finished, but some orders could not be read (see the
    failures) or auto-processing reported a problem. failed: stopped on an error; what was imported before it
    stays, and the counts say how much."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="import_runs", verbose_name=_("shop"))
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices, default=Trigger.BEAT)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # While a worker carries out a CSV import: refreshed every few seconds, so a run gone silent is known dead
    # (a poll's is on its shop's ShopSync, which is the poll's lock).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    processed = models.PositiveIntegerField(_("changed by auto-processing"), default=0)
    error = models.TextField(_("error"), blank=True)
    error_kind = models.CharField(_("kind of error"), max_length=20, choices=SyncErrorKind.choices, blank=True)
    notes = models.JSONField(_("notes"), default=list, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by user"),
    )

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "shop", "-created_at"], name="importrun_tenant_shop")]

    def __str__(self) -> str:
        return f"{self.shop} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class ImportFailure(TenantOwned):
    """An order that could not be imported, with the reason and the raw payload as received: never dropped."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="failures", verbose_name=_("run"))
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    external_id = models.CharField(_("order number"), max_length=100, blank=True)
    reason = models.TextField(_("reason"))
    payload = models.TextField(_("payload"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("import failure")
        verbose_name_plural = _("import failures")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["tenant", "run"], name="importfailure_tenant_run")]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.reason}"


class MallOrder(TenantOwned):
    """What the import last took from the mall for one order (normalised, mapped): the base of the three-way
    merge. A field the mall did not change since is left alone whatever the order holds now (an operator's or
    a rule's edit stays, and nothing churns); one it did change is applied unless an operator edited it."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, primary_key=True, related_name="mall_state", verbose_name=_("order")
    )
    digest = models.CharField(_("digest"), max_length=64)
    values = models.JSONField(_("values"), default=dict)
    mall_status = models.CharField(_("mall status"), max_length=100, blank=True)
    mall_updated_at = models.DateTimeField(_("changed at the mall"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("order as the mall sent it")
        verbose_name_plural = _("orders as the malls sent them")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.mall_status}"


class MappingKind(models.TextChoices):
    PAYMENT = "payment", _("Payment method")
    DELIVERY = "delivery", _("Delivery method")
    STATUS = "status", _("Mall status")


class MallCodeMapping(TenantOwned):
    """How a mall's own code reads in the tenant's terms: a payment code → a payment method, a delivery name →
    a delivery method, a mall status → cancelled or not (without a row, the connector's own reading holds)."""

    mall = models.CharField(_("mall"), max_length=20, choices=MallKind.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=MappingKind.choices)
    mall_code = models.CharField(_("mall's code"), max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True)
    payment_method = models.ForeignKey(
        "orders.PaymentMethod",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment method"),
    )
    delivery_method = models.ForeignKey(
        "shipping.DeliveryMethod",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery method"),
    )
    cancels = models.BooleanField(
        _("means cancelled"), default=False, help_text=_("For a mall status: orders in it are cancelled here too.")
    )

    class Meta:
        verbose_name = _("mall code mapping")
        verbose_name_plural = _("mall code mappings")
        ordering = ["mall", "kind", "mall_code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "mall", "kind", "mall_code"], name="mallcodemapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mall_display()} {self.get_kind_display()} {self.mall_code}"

    def clean(self) -> None:
        """Each kind points at what it maps to, and at nothing else."""
        super().clean()
        errors = {}
        if self.kind == MappingKind.PAYMENT and self.payment_method_id is None:
            errors["payment_method"] = _("Choose the payment method this code stands for.")
        if self.kind == MappingKind.DELIVERY and self.delivery_method_id is None:
            errors["delivery_method"] = _("Choose the delivery method this name stands for.")
        if errors:
            raise ValidationError(errors)
        if self.kind != MappingKind.PAYMENT:
            self.payment_method = None
        if self.kind != MappingKind.DELIVERY:
            self.delivery_method = None
        if self.kind != MappingKind.STATUS:
            self.cancels = False


class CsvMapping(TenantOwned):
    """How one source's CSV reads (T6): {order field: column header}, saved on the first import of a shop's
    file and offered for every later one (shops.csvfiles)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="csv_mapping", verbose_name=_("shop"))
    columns = models.JSONField(_("columns"), default=dict)
    preset = models.CharField(_("built from"), max_length=20, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("CSV column mapping")
        verbose_name_plural = _("CSV column mappings")

    def __str__(self) -> str:
        return str(self.shop)


class CsvUpload(TenantOwned):
    """An uploaded order CSV between preview and import. The decoded text is kept only until the import has
    run (it holds buyers' personal data; failed orders keep their own rows in ImportFailure)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    filename = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("delimiter"), max_length=1, default=",")
    digest = models.CharField(_("digest"), max_length=64, help_text=_("SHA-256 of the file as uploaded."))
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    header = models.JSONField(_("header"), default=list)
    text = models.TextField(_("content"), blank=True)
    columns = models.JSONField(_("columns used"), default=dict, blank=True)
    # The file read once with a mapping and compared with the stored orders (shops.services.csvpreview): the
    # columns it was read with, its state (queued, running, ready, failed), progress and result, and the
    # file's first rows as read at upload. Viewing the preview again reads this, never the file.
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    run = models.OneToOneField(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="csv_upload",
        verbose_name=_("import run"),
    )

    class Meta:
        verbose_name = _("CSV upload")
        verbose_name_plural = _("CSV uploads")
        ordering = ["-uploaded_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-uploaded_at"], name="csvupload_tenant_at"),
            models.Index(fields=["tenant", "shop", "digest"], name="csvupload_tenant_digest"),
        ]

    def __str__(self) -> str:
        return self.filename


class ReportState(models.TextChoices):
    PENDING = "pending", _("Not told yet")
    SENDING = "sending", _("Sending")
    TOLD = "told", _("Told")
    REFUSED = "refused", _("Refused by the mall")
    FAILED = "failed", _("Gave up after retries")
    BY_FILE = "by_file", _("Told by file")


NOT_TOLD = frozenset({ReportState.PENDING, ReportState.SENDING, ReportState.REFUSED, ReportState.FAILED})
RETRYABLE = frozenset({ReportState.REFUSED, ReportState.FAILED})


class ShipmentReport(TenantOwned):
    """What one mall order is to be told of an order's shipment (B12): carrier, tracking numbers and ship date,
    pushed through the mall's API (shops.services.reports) or handed over as a file for a mall without one.

    One row per (order, shop, mall order number), not per order: a parcel bundled from several mall orders
    later reports to each of them, and the parts of a split order report to the one they came from (issue 17).
    `numbers` is what the mall is to know (every parcel of the order), `told` what it has been told; the
    difference is what the next send carries, so a second delivery of the task, or a parcel added later, never
    tells a number twice."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="mall_reports", verbose_name=_("order")
    )
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    mall_order = models.CharField(_("mall order number"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=ReportState.choices, default=ReportState.PENDING)
    # [{"carrier", "number", "shipped_on"}]: the parcels to tell, and those told.
    numbers = models.JSONField(_("tracking numbers"), default=list, blank=True)
    told = models.JSONField(_("tracking numbers told"), default=list, blank=True)
    answer = models.TextField(_("the mall's answer"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    told_at = models.DateTimeField(_("told at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("shipment report to the mall")
        verbose_name_plural = _("shipment reports to the malls")
        ordering = ["order_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order", "shop", "mall_order"], name="shipmentreport_unique_mall_order"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "shop", "state"], name="shipmentreport_tenant_state"),
            models.Index(fields=["tenant", "order"], name="shipmentreport_tenant_order"),
        ]

    def __str__(self) -> str:
        return f"{self.mall_order}: {self.get_state_display()}"

    @property
    def not_told(self) -> bool:
        return self.state in NOT_TOLD
