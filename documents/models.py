"""Printed forms (B10, T14's picking list): what each shop prints as issuer, the marks of what was printed, and
the bulk print jobs a worker renders.

- `DocumentSettings`: per shop, the issuer on the forms (name, address, phone, logo, seal for receipts), the
  qualified-invoice registration number (T + 13 digits, the corporate number's check digit for a corporation),
  a message per kind and a layout. A shop without a row prints with its own name and the defaults.
- `ReceiptDetails`: per order, the receipt's addressee and 但し書き when the operator changed them (default: the
  orderer, and the shop's proviso).
- `PrintMark`: per order and kind, when it was first and last printed and how many times: the list's
  "printed" mark, the receipt's 再発行, and the question before printing again.
- `PrintJob`: a bulk print (more orders than print at once), rendered by a worker in chunks into one PDF kept
  under the tenant's media and served only to that tenant.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned


class DocumentKind(models.TextChoices):
    ORDER_SHEET = "order_sheet", _("Order sheet")  # 受注明細書
    PICKING_LIST = "picking_list", _("Picking list")  # ピッキングリスト
    DELIVERY_NOTE = "delivery_note", _("Delivery note")  # 納品書
    RECEIPT = "receipt", _("Receipt")  # 領収書
    INVOICE = "invoice", _("Qualified invoice")  # 適格請求書


class Layout(models.TextChoices):
    STANDARD = "standard", _("Standard")
    COMPACT = "compact", _("Compact (smaller type, more lines per page)")
    FORMAL = "formal", _("Formal (centred title, ruled boxes)")


def corporate_check_digit(base12: str) -> int:
    """The check digit of a 法人番号 (the first of its 13 digits) from the 12 digits after it (国税庁's rule:
    9 − (Σ Pn × Qn mod 9), Pn the n-th digit from the right, Qn 1 for odd n and 2 for even n)."""
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def validate_registration_number(value: str, *, corporation: bool = True) -> None:
    """T and 13 digits (適格請求書発行事業者登録番号); for a corporation the 13 digits are its corporate number,
    whose first digit checks the other twelve."""
    if len(value) != 14 or value[0] != "T" or not value[1:].isascii() or not value[1:].isdigit():
        raise ValidationError(
            _("Enter the registration number as T and 13 digits (for example T1234567890123)."), code="shape"
        )
    if corporation and int(value[1]) != corporate_check_digit(value[2:]):
        raise ValidationError(
            _(
                "The registration number's check digit does not match: a corporation's number is T and its "
                "corporate number (法人番号). Check the number on the invoice registration notice."
            ),
            code="check_digit",
        )


def _upload_to(kind: str) -> Any:
    def upload_to(instance: Any, filename: str) -> str:
        # The suffix follows the file (documents.forms.checked_image names a JPEG .jpg), so it is served as what it is.
        suffix = ".jpg" if filename.lower().endswith((".jpg", ".jpeg")) else ".png"
        return f"tenants/{instance.tenant_id}/documents/{kind}-{uuid.uuid4().hex}{suffix}"

    upload_to.__name__ = f"upload_{kind}"
    upload_to.__qualname__ = f"upload_{kind}"
    return upload_to


upload_logo = _upload_to("logo")
upload_seal = _upload_to("seal")


def upload_job(instance: Any, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/prints/{uuid.uuid4().hex}.pdf"


class DocumentSettings(TenantOwned):
    shop = models.OneToOneField(
        "shops.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"), db_index=False
    )
    issuer_name = models.CharField(
        _("issuer name"), max_length=200, blank=True, help_text=_("As printed; the shop's name when empty.")
    )
    issuer_postal_code = models.CharField(_("issuer postal code"), max_length=10, blank=True)
    issuer_address = models.CharField(_("issuer address"), max_length=300, blank=True)
    issuer_phone = models.CharField(_("issuer phone"), max_length=30, blank=True)
    issuer_email = models.EmailField(_("issuer email"), blank=True)
    issuer_is_corporation = models.BooleanField(
        _("the issuer is a corporation"),
        default=True,
        help_text=_(
            "A corporation's registration number is T and its corporate number, whose check digit is verified."
        ),
    )
    registration_number = models.CharField(
        _("invoice registration number"),
        max_length=14,
        blank=True,
        help_text=_("T and 13 digits, as on the notice of registration (適格請求書発行事業者登録番号)."),
    )
    logo = models.ImageField(_("logo"), upload_to=upload_logo, blank=True)
    seal = models.ImageField(_("seal (receipts)"), upload_to=upload_seal, blank=True)
    layout = models.CharField(_("layout"), max_length=20, choices=Layout.choices, default=Layout.STANDARD)
    delivery_note_with_invoice = models.BooleanField(
        _("delivery note serves as qualified invoice"),
        default=False,
        help_text=_("Print the registration number and the tax per rate on the delivery note (納品書 兼 適格請求書)."),
    )
    order_sheet_message = models.TextField(_("order sheet message"), blank=True, max_length=500)
    delivery_note_message = models.TextField(
        _("delivery note message"),
        blank=True,
        max_length=500,
        default="この度はお買い上げいただき、誠にありがとうございます。またのご利用を心よりお待ちしております。",
    )
    receipt_proviso = models.CharField(
        _("receipt proviso (但し書き)"), max_length=100, blank=True, default="お品代として"
    )
    receipt_message = models.TextField(_("receipt message"), blank=True, max_length=500)
    invoice_message = models.TextField(_("invoice message"), blank=True, max_length=500)

    class Meta:
        verbose_name = _("form settings")
        verbose_name_plural = _("form settings")

    def __str__(self) -> str:
        return str(self.issuer_name or self.shop_id)

    def clean(self) -> None:
        super().clean()
        if self.registration_number:
            self.registration_number = self.registration_number.strip().upper()
            try:
                validate_registration_number(self.registration_number, corporation=self.issuer_is_corporation)
            except ValidationError as error:
                raise ValidationError({"registration_number": error.messages}) from None


class ReceiptDetails(TenantOwned):
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"), db_index=False
    )
    addressee = models.CharField(_("addressee"), max_length=200, blank=True)
    proviso = models.CharField(_("proviso (但し書き)"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("receipt details")
        verbose_name_plural = _("receipt details")


class PrintMark(TenantOwned):
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    kind = models.CharField(_("form"), max_length=20, choices=DocumentKind.choices)
    first_printed_at = models.DateTimeField(_("first printed at"))
    last_printed_at = models.DateTimeField(_("last printed at"))
    times = models.PositiveIntegerField(_("times printed"), default=1)

    class Meta:
        verbose_name = _("print mark")
        verbose_name_plural = _("print marks")
        constraints = [models.UniqueConstraint(fields=["order", "kind"], name="printmark_unique_order_kind")]
        indexes = [models.Index(fields=["tenant", "order"], name="printmark_tenant_order")]


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Rendering")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PrintJob(TenantOwned):
    kind = models.CharField(_("form"), max_length=20, choices=DocumentKind.choices)
    options = models.JSONField(_("options"), default=dict, blank=True)
    order_ids = models.JSONField(_("orders"), default=list, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    total = models.PositiveIntegerField(_("orders"), default=0)
    done = models.PositiveIntegerField(_("orders rendered"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    failed = models.JSONField(_("orders not printed"), default=list, blank=True)  # [[order number, reason], …]
    error = models.TextField(_("error"), blank=True)
    file = models.FileField(_("PDF"), upload_to=upload_job, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(_("requested by"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    parts = models.PositiveIntegerField(_("parts"), default=0)  # chunks rendered in parallel, then joined
    parts_done = models.PositiveIntegerField(_("parts rendered"), default=0)

    class Meta:
        verbose_name = _("print job")
        verbose_name_plural = _("print jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="printjob_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


def upload_part(instance: Any, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/prints/parts/{instance.job_id}-{instance.index:05d}.pdf"


class PrintJobPart(TenantOwned):
    """One chunk of a print job, rendered by its own task (so every worker process renders at once); the task
    that renders the last one joins them into the job's PDF and deletes the parts."""

    job = models.ForeignKey(PrintJob, on_delete=models.CASCADE, related_name="part_rows")
    index = models.PositiveIntegerField(_("part"))
    order_ids = models.JSONField(_("orders"), default=list)
    rendered = models.JSONField(_("orders rendered"), default=list)  # ids, in print order
    failed = models.JSONField(_("orders not printed"), default=list)  # [[order number, reason], …]
    pages = models.PositiveIntegerField(_("pages"), default=0)
    done = models.BooleanField(_("done"), default=False)
    file = models.FileField(_("PDF"), upload_to=upload_part, blank=True)

    class Meta:
        verbose_name = _("print job part")
        verbose_name_plural = _("print job parts")
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="printjobpart_unique_index")]
