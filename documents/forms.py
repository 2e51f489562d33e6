"""Forms of documents: what to print (kinds and the picking list's options), an order's receipt details, and
the form settings of a shop in the admin (its images checked: a real PNG or JPEG of at most 2 MB)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from .models import DocumentKind, DocumentSettings, ReceiptDetails

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
MAX_IMAGE_PIXELS = 4000 * 4000  # a logo needs far fewer; more is a decompression bomb or a photo

SORTS = [("sku", _("By SKU")), ("location", _("By shelf location"))]
ORIENTATIONS = [("portrait", _("Portrait")), ("landscape", _("Landscape"))]


class PrintForm(forms.Form):
    """The kinds to print (one PDF with each kind after the other) and the picking list's options."""

    kinds = forms.MultipleChoiceField(
        label=_("Forms"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one form to print.")},
    )
    sort = forms.ChoiceField(label=_("Picking list order"), choices=SORTS, initial="sku", required=False)
    orientation = forms.ChoiceField(
        label=_("Picking list paper"), choices=ORIENTATIONS, initial="portrait", required=False
    )

    def options(self) -> dict[str, str]:
        data = self.cleaned_data
        return {"sort": data.get("sort") or "sku", "orientation": data.get("orientation") or "portrait"}

    def chosen(self) -> list[str]:
        """The kinds in the kinds' own order (a delivery note before a receipt, whatever was ticked first)."""
        wanted = set(self.cleaned_data["kinds"])
        return [kind.value for kind in DocumentKind if kind.value in wanted]


class ReceiptDetailsForm(forms.ModelForm):
    class Meta:
        model = ReceiptDetails
        fields = ["addressee", "proviso"]
        widgets = {
            "addressee": forms.TextInput(attrs={"class": "form-control form-control-sm"}),
            "proviso": forms.TextInput(attrs={"class": "form-control form-control-sm"}),
        }

    def __init__(self, *args: Any, default_addressee: str = "", default_proviso: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["addressee"].widget.attrs["placeholder"] = default_addressee
        self.fields["proviso"].widget.attrs["placeholder"] = default_proviso
        self.fields["addressee"].help_text = _("Empty: the orderer's name.")
        self.fields["proviso"].help_text = _("Empty: the shop's proviso.")


def checked_image(upload: Any) -> Any:
    """A real PNG or JPEG of at most 2 MB, read by Pillow (its extension and content type are not trusted);
    anything else is refused with what to do about it. A file already stored (not a new upload) passes."""
    if not upload or not isinstance(upload, UploadedFile):
        return upload
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
        raise ValidationError(
            _("The image is %(size)s MB; at most 2 MB is accepted. Save it smaller (a logo of 600 px is plenty).")
            % {"size": f"{upload.size / 1024 / 1024:.1f}"},
            code="too_large",
        )
    from PIL import Image, UnidentifiedImageError

    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("The file is not an image that can be read. Upload a PNG or JPEG file."), code="not_image"
        ) from None
    finally:
        upload.seek(0)
    if kind not in IMAGE_FORMATS:
        raise ValidationError(
            _("Only PNG or JPEG images are accepted (this one is %(format)s).") % {"format": kind or "?"},
            code="format",
        )
    upload.name = f"{kind.lower()}.{'jpg' if kind == 'JPEG' else 'png'}"  # stored under the suffix it is
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image is %(w)s × %(h)s pixels; make it smaller (at most 4000 × 4000).") % {"w": width, "h": height},
            code="too_many_pixels",
        )
    return upload


class DocumentSettingsForm(forms.ModelForm):
    """The admin's form: the model's own checks (registration number) and the images'."""

    class Meta:
        model = DocumentSettings
        fields = [  # noqa: RUF012 - Django's Meta
            "tenant",
            "shop",
            "issuer_name",
            "issuer_postal_code",
            "issuer_address",
            "issuer_phone",
            "issuer_email",
            "issuer_is_corporation",
            "registration_number",
            "delivery_note_with_invoice",
            "logo",
            "seal",
            "layout",
            "order_sheet_message",
            "delivery_note_message",
            "receipt_proviso",
            "receipt_message",
            "invoice_message",
        ]
        # Plain file fields: the images are checked by checked_image (size first, then Pillow), so a 20 MB
        # upload is refused for its size before anything reads it as an image.
        field_classes = {"logo": forms.FileField, "seal": forms.FileField}
        widgets = {
            "order_sheet_message": forms.Textarea(attrs={"rows": 3, "cols": 70}),
            "delivery_note_message": forms.Textarea(attrs={"rows": 3, "cols": 70}),
            "receipt_message": forms.Textarea(attrs={"rows": 3, "cols": 70}),
            "invoice_message": forms.Textarea(attrs={"rows": 3, "cols": 70}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("logo", "seal"):
            if name in self.fields:
                self.fields[name].widget.attrs["accept"] = "image/png,image/jpeg"
                self.fields[name].help_text = _("PNG or JPEG, at most 2 MB.")

    def clean_logo(self) -> Any:
        return checked_image(self.cleaned_data.get("logo"))

    def clean_seal(self) -> Any:
        return checked_image(self.cleaned_data.get("seal"))
