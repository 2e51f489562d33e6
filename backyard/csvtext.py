"""Reading an uploaded CSV file's text: the one set of rules for every import (orders in shops.csvfiles,
products in inventory.services.products_csv, receiving).

A UTF-8 BOM, a UTF-16 BOM, strict UTF-8, strict cp932 (Shift_JIS as Excel saves it); UTF-16 without a BOM and
anything else refused with what to do in Excel. The delimiter is a comma or a tab, whichever the first line
has more of; the header row is read once (at most MAX_COLUMNS columns, blank and repeated names made unique).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused (a year of a busy shop is a few MB)
MAX_COLUMNS = 200
ENCODINGS = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)", "utf-16": "UTF-16"}


class CsvRefused(ValueError):
    """The file as a whole cannot be read (encoding, no header, too large): nothing is written."""


# --- decoding ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a key of ENCODINGS
    delimiter: str
    header: list[str] = field(default_factory=list)  # unique, trimmed


def decode(data: bytes) -> Decoded:
    """The file's text, encoding, delimiter and header; CsvRefused with a message an operator can act on."""
    if len(data) > MAX_BYTES:
        raise CsvRefused(
            _("The file is larger than %(mb)d MB: split it and upload the parts.") % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    text, encoding = _text(data)
    text = text.replace("\x00", "")
    if not text.strip():
        raise CsvRefused(_("The file is empty."))
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        header_row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as error:
        raise CsvRefused(_("The header row cannot be read: %(error)s") % {"error": error}) from None
    if len(header_row) > MAX_COLUMNS:
        raise CsvRefused(
            _(
                "The file has %(n)s columns; at most %(limit)d can be read. Delete the columns you do "
                "not import and upload it again."
            )
            % {"n": f"{len(header_row):,}", "limit": MAX_COLUMNS}
        )
    header = unique_header(header_row)
    if not any(header_row_cell.strip() for header_row_cell in header_row):
        raise CsvRefused(_("The first row is empty: the file needs a header row with the column names."))
    return Decoded(text=text, encoding=encoding, delimiter=delimiter, header=header)


def _text(data: bytes) -> tuple[str, str]:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError:
        raise CsvRefused(
            _("The file starts like UTF-8/UTF-16 but is not: save it again from the program that made it.")
        ) from None
    if _utf16_without_bom(data):
        raise CsvRefused(
            _(
                "The file looks like UTF-16 without a byte order mark, which cannot be read safely. In "
                "Excel, save it as “CSV UTF-8” or “CSV (comma delimited)” and upload it again."
            )
        )
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise CsvRefused(
        _(
            "The file is neither UTF-8 nor Shift_JIS (cp932). In Excel, save it as “CSV UTF-8” or "
            "“CSV (comma delimited)” and upload it again."
        )
    )


def _utf16_without_bom(data: bytes, sample: int = 4096) -> bool:
    """Whether the file's zero bytes say UTF-16: text in UTF-8 or cp932 has none, while UTF-16 has one in
    every ASCII character (digits, commas, line ends), all on odd offsets (little-endian) or all on even
    ones (big-endian)."""
    head = data[:sample]
    zeros = [offset for offset, byte in enumerate(head) if byte == 0]
    if len(zeros) < 8:
        return False
    odd = sum(offset % 2 for offset in zeros)
    return max(odd, len(zeros) - odd) >= 0.9 * len(zeros)


def unique_header(row: list[str]) -> list[str]:
    """Trimmed column names; a blank one is named by its position, a repeated one gets " (2)", " (3)" …"""
    seen: dict[str, int] = {}
    names = []
    for number, cell in enumerate(row, start=1):
        name = cell.strip().lstrip("\ufeff") or _("Column %(n)d") % {"n": number}
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names
