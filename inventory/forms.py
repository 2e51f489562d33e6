"""The inventory screens' forms: the product search, the stock count (棚卸) and receiving (入荷).

Receiving reads rows of "SKU, quantity" typed or pasted into a box (commas or tabs, as Excel pastes them)
or from a CSV file of the same two columns: UTF-8 or cp932, decoded by backyard.csvtext's `decode`
(the order CSV import's rules; shops.csvfiles itself sits above inventory in the import layers). A first row
of column names is skipped; the same SKU twice is received twice (summed). Every bad row is named with its
row number, and then nothing is received.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.csvtext import CsvRefused, decode
from backyard.models import Tenant

from .selectors import SHOW_ACTIVE, SHOW_ALL, SHOW_INACTIVE, SHOW_LOW, SHOW_SETS, SORTS, product_kinds

MAX_ROWS = 10_000  # rows of one receipt (the bench receives 1,000 SKUs at once)
MAX_TEXT = 1_000_000  # characters typed or pasted into the box
PROBLEMS_SHOWN = 50
MAX_QUANTITY = 999_999  # units of one SKU in one receipt (as an order line's quantity is bounded)
SKU_HEADERS = {"sku", "商品コード", "商品番号", "品番", "管理番号", "商品管理番号"}
QUANTITY_HEADERS = {"数量", "入荷数", "入荷数量", "個数", "quantity", "qty", "units"}


class ProductSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("SKU, name or JAN code")}),
    )
    show = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            (SHOW_ACTIVE, gettext_lazy("Active products")),
            (SHOW_LOW, gettext_lazy("Low stock")),
            (SHOW_SETS, gettext_lazy("Set products")),
            (SHOW_INACTIVE, gettext_lazy("Inactive products")),
            (SHOW_ALL, gettext_lazy("All products")),
        ],
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, key) for name in SORTS for key in (name, f"-{name}")], widget=forms.HiddenInput
    )

    def values(self) -> dict[str, str]:
        """The search as understood: a value that is not valid (a hand-edited address) is left out."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "q": cleaned.get("q") or "",
            "show": cleaned.get("show") or SHOW_ACTIVE,
            "sort": cleaned.get("sort") or "sku",
        }


class StockAdjustForm(forms.Form):
    on_hand = forms.IntegerField(label=gettext_lazy("Counted on hand"), min_value=0, max_value=MAX_QUANTITY * 100)
    note = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. stocktaking 11/30, found damaged")}),
    )


class ReceivingForm(forms.Form):
    rows = forms.CharField(
        label=gettext_lazy("SKU and quantity, one per row"),
        required=False,
        max_length=MAX_TEXT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "placeholder": "TEA-100,12\nCUP-WHITE,3"}),
    )
    file = forms.FileField(label=gettext_lazy("or a CSV file (SKU, quantity)"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. delivery slip number, supplier")}),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text, upload = cleaned.get("rows") or "", cleaned.get("file")
        if self.errors:
            return cleaned
        if text.strip() and upload:
            raise ValidationError(_("Type the rows or upload a file, not both."))
        if upload:
            try:
                decoded = decode(upload.read())
            except CsvRefused as refused:
                raise ValidationError(str(refused)) from None
            text, delimiter = decoded.text, decoded.delimiter
        elif text.strip():
            delimiter = None  # each typed row its own: commas, or tabs where pasted from a spreadsheet
        else:
            raise ValidationError(_("Enter the SKUs and quantities received, or upload a CSV file of them."))
        units, first_rows, found = read_rows(text, delimiter)
        if units:
            kinds = product_kinds(self.tenant, list(units))
            for sku, row in first_rows.items():
                if sku not in kinds:
                    found.append((row, _("Row %(row)d (%(sku)s): no product has this SKU.") % {"row": row, "sku": sku}))
                elif kinds[sku]:
                    message = _("Row %(row)d (%(sku)s): a set product is received as its components.")
                    found.append((row, message % {"row": row, "sku": sku}))
        problems = [message for _row, message in sorted(found, key=lambda problem: problem[0])]
        if problems:
            shown = problems[:PROBLEMS_SHOWN]
            if len(problems) > PROBLEMS_SHOWN:
                shown.append(_("… and %(n)d more problems.") % {"n": len(problems) - PROBLEMS_SHOWN})
            raise ValidationError(shown)
        cleaned["units"] = units
        return cleaned


def _name(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lower()


def _records(text: str, delimiter: str | None) -> Iterator[list[str]]:
    """A file's records; typed text line by line, each split on tabs if it has one, else on commas."""
    if delimiter is not None:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return
    for line in text.splitlines():
        yield next(csv.reader([line], delimiter="\t" if "\t" in line else ","), [])


def read_rows(text: str, delimiter: str | None) -> tuple[dict[str, int], dict[str, int], list[tuple[int, str]]]:
    """({SKU: units}, {SKU: its first row}, [(row, problem)]): rows numbered as a spreadsheet numbers them.
    `delimiter` None: typed rows, each with its own."""
    units: dict[str, int] = {}
    first_rows: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    rows = number = 0
    try:
        for number, cells in enumerate(_records(text, delimiter), start=1):
            cells = [cell.strip() for cell in cells]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            rows += 1
            if rows == 1 and (
                _name(cells[0]) in SKU_HEADERS or (len(cells) > 1 and _name(cells[1]) in QUANTITY_HEADERS)
            ):
                continue  # the column names
            if rows > MAX_ROWS:
                return {}, {}, [(0, _("More than %(n)s rows: receive them in parts.") % {"n": f"{MAX_ROWS:,}"})]
            problem = _row(number, cells, units)
            if problem:
                problems.append((number, problem))
            else:
                first_rows.setdefault(cells[0], number)
    except csv.Error as error:
        problems.append((number + 1, _("Row %(row)d cannot be read: %(error)s") % {"row": number + 1, "error": error}))
    if not units and not problems:
        problems.append((0, _("No rows to receive.")))
    return units, first_rows, problems


def parse_quantity(cell: str) -> int | None:
    """'12', '１２', '1,000', '3個' → the number; None unless a whole number of 1 or more."""
    text = unicodedata.normalize("NFKC", cell).strip().replace(",", "").removesuffix("個").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        return None
    return int(text)


def _row(number: int, cells: list[str], units: dict[str, int]) -> str:
    """Adds the row to `units`, or returns what is wrong with it."""
    sku = cells[0]
    if not sku:
        return _("Row %(row)d: the SKU is empty.") % {"row": number}
    if len(cells) == 1:
        return _("Row %(row)d (%(sku)s): the quantity is missing.") % {"row": number, "sku": sku}
    if len(cells) > 2:
        return _(
            "Row %(row)d (%(sku)s): %(n)d values where two are expected, SKU and quantity (a quantity written "
            "with a comma, such as 1,000, needs double quotes)."
        ) % {"row": number, "sku": sku, "n": len(cells)}
    quantity = parse_quantity(cells[1])
    if quantity is None:
        return _("Row %(row)d (%(sku)s): “%(value)s” is not a quantity (a whole number of 1 or more).") % {
            "row": number,
            "sku": sku,
            "value": cells[1],
        }
    total = units.get(sku, 0) + quantity
    if total > MAX_QUANTITY:
        return _("Row %(row)d (%(sku)s): more than %(limit)s units at once.") % {
            "row": number,
            "sku": sku,
            "limit": f"{MAX_QUANTITY:,}",
        }
    units[sku] = total
    return ""
