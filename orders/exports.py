"""CSV output of orders (T14 CSV出力): the columns, the encoding, and the neutralisation of cell values.

The export is streamed: `order_csv` walks the queryset with `.iterator()` in chunks of CHUNK_SIZE orders,
fetches the chunk's label names (and lines) in one query each, writes each row through `csv.writer` into a
small buffer and yields encoded bytes, so memory stays flat whether the search holds 300 or 300,000 orders.

Two encodings: UTF-8 with a byte-order mark (Excel needs the BOM to read UTF-8), or cp932 (Shift_JIS as
Windows writes it). Characters cp932 has no code for are replaced by their compatibility form (™ → TM) or
"?" (𠮷, emoji) and counted in the `ExportReport`; the options form shows the count before downloading.

A text cell that a spreadsheet would read as a formula (= + - @, a tab or a carriage return first, or a
look-alike of those signs such as − or －) gets a leading single quote; amounts stay plain integers, so a
negative discount is still a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Order, OrderLabel, OrderLine

CHUNK_SIZE = 2000  # orders per database round trip (and per label / line query)
FLUSH_AT = 32 * 1024  # characters buffered before a chunk of bytes is yielded
TOKYO = ZoneInfo("Asia/Tokyo")

UTF8 = "utf-8"
CP932 = "cp932"
ENCODINGS = {  # what the URL may say → the codec
    "utf-8": UTF8,
    "utf8": UTF8,
    "cp932": CP932,
    "shift_jis": CP932,
    "sjis": CP932,
    "windows-31j": CP932,
}
CONTENT_TYPES = {UTF8: "text/csv; charset=utf-8", CP932: "text/csv; charset=Windows-31J"}
BOM = "\ufeff"

Cell = str | int


# --- neutralisation ---------------------------------------------------------------------------------------

# OWASP "CSV injection": a cell starting with one of these is a formula to Excel / LibreOffice / Sheets.
# Their look-alikes too, as a precaution: cheap, and a real name or memo rarely starts with them. Japanese
# input turns full-width signs into formulas, and cp932 writes the minus sign U+2212 as the byte that reads
# back as U+FF0D (issue 11): the full-width and small forms, the minus and dash family (U+2010–2015), the
# superscript and subscript signs and the heavy plus and minus.
FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "＝",
    "＋",
    "－",
    "＠",
    "﹦",
    "﹢",
    "﹣",
    "﹫",
    "﹘",
    "\u2212",
    "\u2010",
    "\u2011",
    "\u2012",
    "\u2013",
    "\u2014",
    "\u2015",
    "\u207a",
    "\u207b",
    "\u207c",
    "\u208a",
    "\u208b",
    "\u208c",
    "\u2795",
    "\u2796",
)


def neutralise(text: str) -> str:
    """A text cell as the spreadsheet should show it: a leading quote when it would start a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


# --- cp932 -------------------------------------------------------------------------------------------------

# The same JIS character under another Unicode code point (JIS vs Microsoft mapping): written as cp932's
# own, and not counted — nothing is lost. (〜 − ‖ ¢ £ ¬ are already handled by Python's cp932 codec.)
CP932_EQUIVALENTS = {
    "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR (0x815C)
    "\u00a6": "\uffe4",  # ¦ → ￤
    "\u00a5": "\uffe5",  # ¥ → ￥
    "\u203e": "\uffe3",  # ‾ → ￣
    "\u00a0": " ",  # no-break space
}
# Close enough, where neither NFKC nor dropping accents finds a cp932 character (counted as replaced).
CP932_APPROXIMATIONS = {"\u2013": "-", "\u2022": "・", "\u00b7": "・"}
UNMAPPABLE = "?"


def _in_cp932(text: str) -> bool:
    try:
        text.encode(CP932)
    except UnicodeEncodeError:
        return False
    return True


def _invisible(ch: str) -> bool:
    """Format characters (zero-width joiner, BOM, bidi marks) and variation selectors: dropped, not counted."""
    code = ord(ch)
    return unicodedata.category(ch) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


@lru_cache(maxsize=4096)
def cp932_char(ch: str) -> tuple[str, bool]:
    """How one character is written in cp932, and whether that loses something (True: count it)."""
    if _in_cp932(ch):
        return ch, False
    if ch in CP932_EQUIVALENTS:
        return CP932_EQUIVALENTS[ch], False
    if _invisible(ch):
        return "", False
    nfkc = unicodedata.normalize("NFKC", ch)  # ™ → TM, ﬁ → fi, 𝐀 → A
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))  # é → e
    for candidate in (nfkc, bare, CP932_APPROXIMATIONS.get(ch, "")):
        if candidate and candidate != ch and _in_cp932(candidate):
            return candidate, True
    return UNMAPPABLE, True


def to_cp932(text: str) -> tuple[str, list[tuple[str, str]]]:
    """`text` with every character cp932 can write, and the (character, replacement) pairs that were lost."""
    if _in_cp932(text):
        return text, []
    out: list[str] = []
    lost: list[tuple[str, str]] = []
    for ch in text:
        if out and unicodedata.combining(ch) and not _in_cp932(ch):
            # A decomposed letter (か + U+3099 from a Mac): compose it with the one before.
            composed = unicodedata.normalize("NFC", out[-1] + ch)
            if len(composed) == 1 and _in_cp932(composed):
                out[-1] = composed
                continue
        written, counted = cp932_char(ch)
        out.append(written)
        if counted:
            lost.append((ch, written))
    return "".join(out), lost


# --- what the export reports -----------------------------------------------------------------------------

MAX_EXAMPLES = 10


@dataclass
class ExportReport:
    """Filled while the CSV is written: data rows, and the characters the encoding could not keep."""

    rows: int = 0
    unmappable: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def lost(self, order_number: str, pairs: list[tuple[str, str]]) -> None:
        self.unmappable += len(pairs)
        for ch, written in pairs:
            if ch not in self._seen and len(self.examples) < MAX_EXAMPLES:
                self._seen.add(ch)
                self.examples.append(
                    {"order": order_number, "char": ch, "codepoint": f"U+{ord(ch):04X}", "replacement": written}
                )

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "unmappable": self.unmappable, "examples": self.examples}


# --- columns -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: Promise
    value: Callable[[Any], Cell]  # of an order's row (a dict of ORDER_FIELDS) or of a line (LINE_FIELDS)


# What the order columns read: one row of `.values()`, related names joined in the same query. (Model
# instances with select_related cost five objects a row, most of the time and memory of an export.)
ORDER_FIELDS = (
    "id",
    "external_id",
    "shop__name",
    "ordered_at",
    "status__group__name",
    "status__name",
    "orderer_name",
    "orderer_kana",
    "orderer_phone",
    "orderer_email",
    "dest_name",
    "dest_kana",
    "dest_postal_code",
    "dest_prefecture",
    "dest_city",
    "dest_address1",
    "dest_address2",
    "dest_phone",
    "payment_method__name",
    "delivery_method__name",
    "requested_delivery_date",
    "ship_date",
    "item_subtotal",
    "shipping_fee",
    "cod_fee",
    "discount",
    "points_used",
    "total",
    "remarks",
    "work_memo",
)
OrderRow = dict[str, Any]


def _date(value: dt.date | None) -> str:
    return value.strftime("%Y/%m/%d") if value else ""


def _address(o: OrderRow) -> str:
    """Prefecture, city and street in one, a space before the building so "1-1-1" and "101" stay apart."""
    street = f"{o['dest_prefecture']}{o['dest_city']}{o['dest_address1']}"
    return f"{street} {o['dest_address2']}" if o["dest_address2"] else street


def _field(name: str) -> Callable[[OrderRow], Cell]:
    return lambda o: o[name] if o[name] is not None else ""


ORDER_COLUMNS: tuple[Column, ...] = (
    Column(_("Order number"), _field("external_id")),
    Column(_("Shop"), _field("shop__name")),
    Column(_("Ordered at"), lambda o: o["ordered_at"].astimezone(TOKYO).strftime("%Y/%m/%d %H:%M")),
    Column(_("Status"), lambda o: f"{o['status__group__name']} / {o['status__name']}"),
    Column(_("Orderer name"), _field("orderer_name")),
    Column(_("Orderer kana"), _field("orderer_kana")),
    Column(_("Orderer phone"), _field("orderer_phone")),
    Column(_("Orderer email"), _field("orderer_email")),
    Column(_("Recipient name"), _field("dest_name")),
    Column(_("Recipient kana"), _field("dest_kana")),
    Column(_("Recipient postal code"), _field("dest_postal_code")),
    Column(_("Recipient address"), _address),
    Column(_("Recipient phone"), _field("dest_phone")),
    Column(_("Payment method"), _field("payment_method__name")),
    Column(_("Delivery method"), _field("delivery_method__name")),
    Column(_("Requested delivery date"), lambda o: _date(o["requested_delivery_date"])),
    Column(_("Ship date"), lambda o: _date(o["ship_date"])),
    Column(_("Item subtotal"), _field("item_subtotal")),
    Column(_("Shipping fee"), _field("shipping_fee")),
    Column(_("COD fee"), _field("cod_fee")),
    Column(_("Discount"), _field("discount")),
    Column(_("Points used"), _field("points_used")),
    Column(_("Total"), _field("total")),
    Column(_("Remarks from the customer"), _field("remarks")),
    Column(_("Work memo"), _field("work_memo")),
    Column(_("Labels"), lambda o: " / ".join(o["labels"])),
)

LINE_FIELDS = ("order_id", "sku", "name", "options", "unit_price", "quantity")
LINE_COLUMNS: tuple[Column, ...] = (
    Column(_("SKU"), lambda line: line[1]),
    Column(_("Item name"), lambda line: line[2]),
    Column(_("Options"), lambda line: line[3]),
    Column(_("Unit price"), lambda line: line[4]),
    Column(_("Quantity"), lambda line: line[5]),
)
NO_LINE = (None, "", "", "", "", "")  # an order without lines still gets its row, line columns empty


def headers(*, lines: bool) -> list[str]:
    return [str(c.header) for c in (*ORDER_COLUMNS, *(LINE_COLUMNS if lines else ()))]


def _label_names(order_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    rows = (
        OrderLabel.objects.filter(order_id__in=order_ids)
        .order_by("label__position", "label_id")
        .values_list("order_id", "label__name")
    )
    for order_id, name in rows:
        names.setdefault(order_id, []).append(name)
    return names


def _lines(order_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    lines: dict[int, list[tuple[Any, ...]]] = {}
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "position", "pk")
        .values_list(*LINE_FIELDS)
    )
    for row in rows:
        lines.setdefault(row[0], []).append(row)
    return lines


def export_rows(queryset: QuerySet[Order], *, lines: bool) -> Iterator[tuple[str, list[Cell]]]:
    """Each data row with its order number, in the queryset's order: one query per CHUNK_SIZE orders (the
    orders with their shop, status, payment and delivery names joined), one for their labels and, with
    `lines`, one for their lines. No prefetch_related: with an iterator it would hold every order."""
    iterator = queryset.values(*ORDER_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    while batch := list(islice(iterator, CHUNK_SIZE)):
        ids = [o["id"] for o in batch]
        labels = _label_names(ids)
        order_lines = _lines(ids) if lines else {}
        for order in batch:
            order["labels"] = labels.get(order["id"], [])
            cells = [c.value(order) for c in ORDER_COLUMNS]
            if not lines:
                yield order["external_id"], cells
                continue
            for line in order_lines.get(order["id"]) or [NO_LINE]:
                yield order["external_id"], cells + [c.value(line) for c in LINE_COLUMNS]
        # Let go of this chunk before the next is read, so two are never held at once.
        del batch, ids, labels, order_lines


# --- writing -----------------------------------------------------------------------------------------------


def _cp932_cells(cells: list[Cell], order_number: str, report: ExportReport) -> list[Cell]:
    """Text cells as cp932 can write them, each loss counted against the order; integers as they are."""
    if _in_cp932("\x00".join(c for c in cells if isinstance(c, str))):  # one check per row, usually enough
        return cells
    converted: list[Cell] = []
    for cell in cells:
        if isinstance(cell, str):
            text, pairs = to_cp932(cell)
            if pairs:
                report.lost(order_number, pairs)
            converted.append(text)
        else:
            converted.append(cell)
    return converted


def _neutralised(cells: list[Cell]) -> list[Cell]:
    return [neutralise(c) if isinstance(c, str) else c for c in cells]


def order_csv(
    queryset: QuerySet[Order], *, encoding: str = UTF8, lines: bool = False, report: ExportReport | None = None
) -> Iterator[bytes]:
    """The CSV of the orders as a stream of bytes: a header row, then one row per order (or per line)."""
    report = report if report is not None else ExportReport()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if encoding == UTF8:
        buffer.write(BOM)
    writer.writerow(headers(lines=lines))
    for order_number, cells in export_rows(queryset, lines=lines):
        cells = _neutralised(cells)
        if encoding == CP932:
            # Again after the conversion, which may make a sign of a character that was none (NFKC).
            cells = _neutralised(_cp932_cells(cells, order_number, report))
        writer.writerow(cells)
        report.rows += 1
        if buffer.tell() >= FLUSH_AT:
            yield _drain(buffer, encoding)
    yield _drain(buffer, encoding)


def _drain(buffer: io.StringIO, encoding: str) -> bytes:
    data = buffer.getvalue().encode(encoding, errors="replace")  # every cell was made writable: never replaces
    buffer.seek(0)
    buffer.truncate()
    return data


def order_csv_check(queryset: QuerySet[Order], *, encoding: str, lines: bool) -> ExportReport:
    """Write the same CSV to nowhere, for its report: rows, and what the encoding could not keep."""
    report = ExportReport()
    for _chunk in order_csv(queryset, encoding=encoding, lines=lines, report=report):
        pass
    return report


def parse_encoding(value: str) -> str | None:
    return ENCODINGS.get((value or UTF8).strip().lower())
