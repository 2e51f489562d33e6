from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned

from .constants import SIZE_ORDER, CoolType, Service, carrier_slots


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
    # fees (issue 16): the service, COD, the slots offered, the default size and the fee table
    service = models.CharField(_("service"), max_length=20, choices=Service.choices, default=Service.OTHER)
    cool_type = models.CharField(_("cool type"), max_length=10, choices=CoolType.choices, blank=True, default="")
    cod_allowed = models.BooleanField(_("can carry cash on delivery"), default=False)
    slots = models.JSONField(
        _("time slots offered"),
        default=list,
        blank=True,
        help_text=_("The delivery time slots this method offers (each written in the carrier's code)."),
    )
    default_size_class = models.CharField(
        _("default size class"),
        max_length=10,
        choices=[(size, size) for size in SIZE_ORDER],
        blank=True,
        help_text=_("The parcel's size class where a product has none or the SKU is unknown."),
    )
    default_weight_g = models.PositiveIntegerField(
        _("default weight per item (g)"),
        null=True,
        blank=True,
        help_text=_("The weight counted for an item whose product has none (weight-based fee tables)."),
    )
    fee_table = models.ForeignKey(
        "FeeTable",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="methods",
        verbose_name=_("fee table"),
    )

    class Meta:
        verbose_name = _("delivery method")
        verbose_name_plural = _("delivery methods")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="deliverymethod_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        offered = set(carrier_slots(self.carrier))
        if not isinstance(self.slots, list) or any(slot not in offered for slot in self.slots):
            raise ValidationError({"slots": _("The carrier has no code for one of these time slots.")})
        if self.cool_type and self.service != Service.COOL:
            raise ValidationError({"cool_type": _("Only Cool TA-Q-BIN carries a cool type.")})
        if self.fee_table_id and self.fee_table and self.fee_table.tenant_id != self.tenant_id:
            raise ValidationError({"fee_table": _("Choose one of this tenant's fee tables.")})


class StoreKind(models.TextChoices):
    """How goods leave a shipping store: packed here, or by an outside warehouse (3PL) we send requests to."""

    OWN = "own", _("Own warehouse")
    API = "api", _("Outside warehouse (HTTP API)")
    CSV = "csv", _("Outside warehouse (CSV drop)")


class CsvEncoding(models.TextChoices):
    CP932 = "cp932", _("Shift_JIS (cp932)")
    UTF8 = "utf-8", _("UTF-8")


def warehouse_drop_root() -> Path:
    """The one folder under which CSV-drop folders may lie (a 3PL's SFTP mounted or synced there): a tenant's
    admin names folders, and must not reach the rest of the server's disk."""
    return Path(getattr(settings, "WAREHOUSE_DROP_ROOT", "") or Path(settings.VAR_DIR) / "warehouse").resolve()


def drop_folder(path: str) -> Path:
    """The folder a store names, resolved under warehouse_drop_root(); ValueError when it leads outside it."""
    root = warehouse_drop_root()
    folder = (root / path).resolve()
    if folder != root and root not in folder.parents:
        raise ValueError(path)
    return folder


def auto_request_cache_key(tenant_id: int) -> str:
    """The cache entry of a tenant's (store, status) pairs of automatic warehouse requests: every status move
    asks for them, so they are kept out of the database's way; a store's save or delete drops the entry."""
    return f"shipping:auto-request:{tenant_id}"


class ShippingStore(TenantOwned):
    """Where goods leave from (出荷店舗): the own warehouse, a store, an outside warehouse.

    An outside warehouse (issue 16 item 5, B11) is reached through its HTTP JSON API (base URL and a token,
    kept encrypted like the shops' credentials) or through a CSV drop: request files written into `csv_outbox`,
    answer files read from `csv_inbox`. `auto_request_status`: orders of this store that enter that status are
    requested at once."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=60)
    position = models.PositiveIntegerField(_("position"), default=0)
    # outside warehouse (issue 16 item 5)
    kind = models.CharField(_("kind"), max_length=10, choices=StoreKind.choices, default=StoreKind.OWN)
    active = models.BooleanField(
        _("warehouse link active"), default=True, help_text=_("Off: no request is sent and no answer is read.")
    )
    api_base_url = models.URLField(_("API base URL"), blank=True)
    api_token_encrypted = models.TextField(_("API token (encrypted)"), blank=True, editable=False)
    api_cursor = models.CharField(_("answers read up to"), max_length=100, blank=True, editable=False)
    csv_outbox = models.CharField(
        _("request folder (outbox)"),
        max_length=300,
        blank=True,
        help_text=_("Where request files are written, under the server's warehouse folder."),
    )
    csv_inbox = models.CharField(
        _("answer folder (inbox)"),
        max_length=300,
        blank=True,
        help_text=_("Where the warehouse's answer files are read from, under the server's warehouse folder."),
    )
    csv_encoding = models.CharField(
        _("CSV encoding"), max_length=10, choices=CsvEncoding.choices, default=CsvEncoding.CP932
    )
    auto_request_status = models.ForeignKey(
        "orders.Status",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("request automatically on entering"),
        help_text=_("Orders of this store that enter this status are requested from the warehouse at once."),
    )
    polled_at = models.DateTimeField(_("answers last read"), null=True, blank=True, editable=False)
    poll_problems = models.JSONField(_("problems of the last reading"), default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("shipping store")
        verbose_name_plural = _("shipping stores")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="shippingstore_unique_code")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_outside(self) -> bool:
        return self.kind in (StoreKind.API, StoreKind.CSV)

    @property
    def api_token(self) -> str:
        """The token in clear ("" when none is kept); CredentialsUnreadable when no configured key opens it."""
        from shops.crypto import decrypt_credentials

        return decrypt_credentials(self.api_token_encrypted).get("token", "") if self.api_token_encrypted else ""

    def set_api_token(self, token: str) -> None:
        from shops.crypto import encrypt_credentials

        self.api_token_encrypted = encrypt_credentials({"token": token}) if token else ""

    def link_missing(self) -> str:
        """What the warehouse link still lacks ("" when it can be used)."""
        if self.kind == StoreKind.API and not (self.api_base_url and self.api_token_encrypted):
            return str(_("the API base URL or token is not set"))
        if self.kind == StoreKind.CSV and not (self.csv_outbox and self.csv_inbox):
            return str(_("the request and answer folders are not set"))
        return ""

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        cache.delete(auto_request_cache_key(self.tenant_id))

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        cache.delete(auto_request_cache_key(self.tenant_id))
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        for name in ("csv_outbox", "csv_inbox"):
            if getattr(self, name):
                try:
                    drop_folder(getattr(self, name))
                except ValueError:
                    message = _("The folder must lie under the server's warehouse folder %(root)s.")
                    raise ValidationError({name: message % {"root": warehouse_drop_root()}}) from None
        status = self.auto_request_status if self.auto_request_status_id else None
        if status is not None and status.tenant_id != self.tenant_id:
            raise ValidationError({"auto_request_status": _("Choose one of this tenant's statuses.")})


# --- waybills and tracking (issue 16) ---
# The lower layer: string references to orders' rows, no import of orders (pyproject's layers).


class WaybillFormat(models.TextChoices):
    """A carrier's waybill layout (shipping.formats has one module per layout)."""

    B2CLOUD = "b2cloud", _("Yamato B2 Cloud")
    EHIDEN = "ehiden", _("Sagawa e-Hiden")
    YUPRI = "yupri", _("Japan Post Yu-Pack Print R")
    CLICKPOST = "clickpost", _("Click Post")


FORMAT_CARRIER: dict[str, str] = {
    WaybillFormat.B2CLOUD: Carrier.YAMATO,
    WaybillFormat.EHIDEN: Carrier.SAGAWA,
    WaybillFormat.YUPRI: Carrier.JAPAN_POST,
    WaybillFormat.CLICKPOST: Carrier.JAPAN_POST,
}

# The carriers' public tracking pages, the number in the query.
TRACKING_URLS: dict[str, str] = {
    Carrier.YAMATO: "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01={number}",
    Carrier.SAGAWA: "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo={number}",
    Carrier.JAPAN_POST: "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={number}"
    "&searchKind=S002&locale=ja",
}


def tracking_url(carrier: str, number: str) -> str:
    """The carrier's public tracking page for `number`; "" for a carrier without one."""
    pattern = TRACKING_URLS.get(carrier)
    return pattern.format(number="".join(ch for ch in number if ch.isalnum())) if pattern else ""


def management_number_for(order_id: int) -> str:
    """お客様管理番号 written for an order: stable (from its id), unique, 12 half-width characters (e飛伝 takes 16)."""
    return f"BY{order_id:010d}"


class ShippingSettings(TenantOwned):
    """A tenant's choices for waybills and tracking: where exported orders and orders with tracking numbers go."""

    status_after_export = models.ForeignKey(
        "orders.Status",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("status after waybill export"),
        help_text=_("Exported orders move here; empty: they keep their status."),
    )
    status_after_tracking = models.ForeignKey(
        "orders.Status",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("status after tracking numbers"),
        help_text=_("Orders that get a tracking number move here (tracking registered / shipped)."),
    )

    b2_billing_code = models.CharField(
        _("B2 Cloud billing customer code"), max_length=12, blank=True, help_text=_("請求先顧客コード (12 digits).")
    )
    b2_billing_class = models.CharField(_("B2 Cloud billing class code"), max_length=3, blank=True)
    b2_freight_number = models.CharField(_("B2 Cloud freight management number"), max_length=2, blank=True)

    class Meta:
        verbose_name = _("shipping settings")
        verbose_name_plural = _("shipping settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="shippingsettings_one_per_tenant")]

    def __str__(self) -> str:
        return str(_("shipping settings"))


class WaybillExport(TenantOwned):
    """One waybill file (or zip of files) given to the operator."""

    format = models.CharField(_("format"), max_length=20, choices=WaybillFormat.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    filename = models.CharField(_("file name"), max_length=200)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    replacements = models.JSONField(_("replaced characters"), default=list, blank=True)
    refused = models.JSONField(_("refused orders"), default=list, blank=True)

    class Meta:
        verbose_name = _("waybill export")
        verbose_name_plural = _("waybill exports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.filename


class WaybillMark(TenantOwned):
    """An order's waybill mark: the management number written for it (reused on every export) and its last file."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="waybill_mark", verbose_name=_("order")
    )
    management_number = models.CharField(_("management number"), max_length=20)
    export = models.ForeignKey(
        WaybillExport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("file")
    )
    exported_at = models.DateTimeField(_("exported at"))
    times = models.PositiveIntegerField(_("times exported"), default=1)

    class Meta:
        verbose_name = _("waybill mark")
        verbose_name_plural = _("waybill marks")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "management_number"], name="waybillmark_unique_number")
        ]

    def __str__(self) -> str:
        return self.management_number


class ShipmentSource(models.TextChoices):
    IMPORT = "import", _("Issued-data file")
    MANUAL = "manual", _("Entered by hand")
    WAREHOUSE = "warehouse", _("Outside warehouse")


class Shipment(TenantOwned):
    """A parcel of an order with its tracking number (an order may have several)."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order")
    )
    carrier = models.CharField(_("carrier"), max_length=20, choices=Carrier.choices)
    tracking_number = models.CharField(_("tracking number"), max_length=30)
    shipped_on = models.DateField(_("shipped on"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ShipmentSource.choices)
    export = models.ForeignKey(
        WaybillExport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("file")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["order_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "carrier", "tracking_number"], name="shipment_unique_tracking_number"
            )
        ]

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def url(self) -> str:
        return tracking_url(self.carrier, self.tracking_number)


class IssuedDataMapping(TenantOwned):
    """Which header of a carrier's issued-data file holds what (e飛伝 and ゆうプリR: layouts not published)."""

    format = models.CharField(_("format"), max_length=20, choices=WaybillFormat.choices)
    management_number = models.CharField(_("management number column"), max_length=100)
    tracking_number = models.CharField(_("tracking number column"), max_length=100)
    shipped_on = models.CharField(_("ship date column"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("issued-data column mapping")
        verbose_name_plural = _("issued-data column mappings")
        constraints = [models.UniqueConstraint(fields=["tenant", "format"], name="issueddatamapping_unique_format")]

    def __str__(self) -> str:
        return self.get_format_display()


# --- fees (issue 16) ---


class FeeBasis(models.TextChoices):
    SIZE = "size", _("By size class")
    WEIGHT = "weight", _("By weight")
    FLAT = "flat", _("Flat fee")


class IslandPolicy(models.TextChoices):
    SAME = "same", _("Same fee as the mainland")
    SURCHARGE = "surcharge", _("Add a surcharge")
    UNAVAILABLE = "unavailable", _("Not available to remote islands")


class FeeTable(TenantOwned):
    """A carrier's fee table: fee by the destination's zone (a group of prefectures) × size class or weight
    class, or one flat fee; the remote-island rule, a free-shipping threshold and the COD fee bands."""

    name = models.CharField(_("name"), max_length=100)
    basis = models.CharField(_("fee basis"), max_length=10, choices=FeeBasis.choices, default=FeeBasis.SIZE)
    flat_fee = models.PositiveIntegerField(_("flat fee"), null=True, blank=True)
    island_policy = models.CharField(
        _("remote islands"), max_length=12, choices=IslandPolicy.choices, default=IslandPolicy.SAME
    )
    island_surcharge = models.PositiveIntegerField(_("remote-island surcharge"), default=0)
    free_threshold = models.PositiveBigIntegerField(
        _("free shipping from (item subtotal)"),
        null=True,
        blank=True,
        help_text=_("Orders whose item subtotal reaches this amount ship free. Empty: never free."),
    )
    free_shops = models.ManyToManyField(
        "shops.Shop",
        blank=True,
        related_name="+",
        verbose_name=_("free shipping only for these shops"),
        help_text=_("Empty: the threshold holds for every shop."),
    )

    class Meta:
        verbose_name = _("fee table")
        verbose_name_plural = _("fee tables")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="feetable_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.basis == FeeBasis.FLAT and self.flat_fee is None:
            raise ValidationError({"flat_fee": _("Enter the flat fee.")})


class FeeZone(models.Model):
    """A zone of a fee table: the prefectures in it and its rate per class ({"60": 940, …} for sizes,
    {"2000": 800, …} for weights: up to that many grams)."""

    table = models.ForeignKey(FeeTable, on_delete=models.CASCADE, related_name="zones", verbose_name=_("fee table"))
    name = models.CharField(_("zone"), max_length=50)
    position = models.PositiveIntegerField(_("position"), default=0)
    prefectures = models.JSONField(_("prefectures"), default=list, blank=True)
    rates = models.JSONField(_("rates"), default=dict, blank=True)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["table", "name"], name="feezone_unique_name")]

    def __str__(self) -> str:
        return self.name


class CodFeeBand(models.Model):
    """COD fee (代引手数料) for an amount to collect between `min_amount` and `max_amount` (both included)."""

    table = models.ForeignKey(FeeTable, on_delete=models.CASCADE, related_name="cod_bands", verbose_name=_("fee table"))
    min_amount = models.PositiveBigIntegerField(_("from (yen)"), default=0)
    max_amount = models.PositiveBigIntegerField(_("up to (yen)"))
    fee = models.IntegerField(_("COD fee"))

    class Meta:
        verbose_name = _("COD fee band")
        verbose_name_plural = _("COD fee bands")
        ordering = ["min_amount", "pk"]

    def __str__(self) -> str:
        return f"{self.min_amount:,}–{self.max_amount:,}"


# --- outside warehouses (issue 16 item 5, B11) ---


class WarehouseState(models.TextChoices):
    """A request's state; the same codes are written in the WAREHOUSE_* events."""

    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted")
    SHIPPED = "shipped", _("Shipped")
    REFUSED = "refused", _("Refused")


class WarehouseBatch(TenantOwned):
    """One sending to a warehouse: one API call or one CSV file. `payload` holds what is sent until it has gone
    (a retry sends the very same), and is emptied then: it holds customers' addresses."""

    store = models.ForeignKey(
        ShippingStore, on_delete=models.CASCADE, related_name="warehouse_batches", verbose_name=_("shipping store")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("warehouse batch")
        verbose_name_plural = _("warehouse batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.filename or f"#{self.pk}"


class WarehouseRequest(TenantOwned):
    """An order's shipment request to an outside warehouse and the warehouse's answer so far. An order has at
    most one request that is not refused; after a refusal it can be requested again (a new row)."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="warehouse_requests", verbose_name=_("order")
    )
    store = models.ForeignKey(
        ShippingStore, on_delete=models.CASCADE, related_name="warehouse_requests", verbose_name=_("shipping store")
    )
    batch = models.ForeignKey(
        WarehouseBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests",
        verbose_name=_("batch"),
    )  # fmt: skip
    state = models.CharField(
        _("state"), max_length=10, choices=WarehouseState.choices, default=WarehouseState.REQUESTED
    )
    reason = models.TextField(_("reason"), blank=True)
    remote_id = models.CharField(_("warehouse's id"), max_length=100, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=20, choices=Carrier.choices, blank=True)
    numbers = models.JSONField(_("tracking numbers"), default=list, blank=True)

    class Meta:
        verbose_name = _("warehouse request")
        verbose_name_plural = _("warehouse requests")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=~models.Q(state="refused"),
                name="warehouserequest_one_open_per_order",
            )
        ]
        indexes = [models.Index(fields=["tenant", "state", "-requested_at"], name="warehousereq_state_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.store_id}: {self.state}"
