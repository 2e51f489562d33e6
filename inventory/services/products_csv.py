"""Products by CSV (issue 14): the export of the tenant's product master, and its import through a preview
that writes nothing.

The file: one row per product, the columns of COLUMNS under their Japanese headers (English names such as
`sku`, `name` are read too; header text is compared after NFKC, case and spaces aside). Only SKU is
required; a column the file leaves out leaves that field as it is, an unknown column is ignored and named.
- 構成品 (components) "TEA-1*2;CUP-1*1" (quantity 1 when "*n" is left out), モール商品番号 (mall aliases)
  "rakuten:rk-1;yahoo:y-1" (the mall by its code or its name). Given, they replace the product's own.
- セット商品 / 有効: 1 or 0 (はい/いいえ, true/false …). A blank セット商品 with components given means a set.
- 在庫数: the stock on hand. A blank cell keeps it (a file of names only does not empty the shelf). A change
  writes a StockMove of kind IMPORT with the difference and the operator; never below what is allocated.
- 引当数 (allocated) is written for information and never read: allocation is the stock check's alone.

Export: the order export's rules (orders.exports): cp932 by default or UTF-8 with a BOM, CRLF, a cell a
spreadsheet would take for a formula gets a leading quote; the import takes that quote off again, so the
file round-trips. A character cp932 cannot hold is written as its nearest form (or "?"); importing that
value back into the same product keeps the stored one (see `_same_text`), so a cp932 round trip changes
nothing either.

Import in two steps, both reading the file kept in the cache (inventory.views.csv keeps it for an hour):
`products_csv_preview` reads the file and compares it with the stored products, writing nothing;
`products_csv_import` does the same under the products' row locks and applies every good row in one
transaction. A row with a problem is named (row number as a spreadsheet shows it, the column, the reason)
and skipped whole, as the order CSV import skips an order with an error: never half a row. A row that
depends on a skipped one (a set whose new component's row is bad) is skipped too, and says why.
Re-importing the same file finds every row unchanged and writes nothing.

A preview costs a fixed number of queries whatever the file's length (the products named, their
components, the sets they are in, their aliases, the owners of the file's aliases; one more of the middle
three per 5,000 stored products). The import writes set-based: COPY (orders.copy) for new rows, one UPDATE
… FROM unnest() per 2,000 changed products. A file of up to settings.PRODUCTS_CSV_INLINE_ROWS rows is
previewed and imported in the request (2,000 rows: about 0.2 s each); a longer one, up to MAX_ROWS, by a
worker (inventory.tasks.products_csv_work) while the page follows it; a longer file is refused with the
limit named. After the import the orders waiting for products whose stock rose (or that are new, or got mall
item numbers or components) are checked again (inventory.services.receiving.recheck_waiting).

Decoding: every import's rules, backyard.csvtext.decode (the order CSV import's too).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backyard.csvtext import ENCODINGS, CsvRefused, Decoded
from backyard.models import Tenant
from orders import exports
from orders.copy import copy_rows
from orders.events import Actor
from orders.sets import chunked, ids_in
from shops.constants import MallKind

from ..models import MoveKind, Product, SetComponent, SizeClass, SkuAlias, StockMove, validate_jan
from .allocation import CheckResult
from .receiving import recheck_waiting

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
INLINE_ROWS = 2_000  # default of settings.PRODUCTS_CSV_INLINE_ROWS
MAX_NUMBER = 99_999_999  # stock, reorder point, weight in grams
MAX_PER_SET = 9_999  # units of one component in a set
ERRORS_KEPT = 500  # problems kept for the page; the rest are counted
CHANGES_KEPT = 200  # changed rows shown with what changes
EXPORT_CHUNK = 2_000
BATCH = 2_000


class ImportConflict(RuntimeError):
    """The products changed while the import ran (another import added the same SKU); nothing was written."""


# --- the columns ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the export writes it; the file format, not translated
    names: tuple[str, ...] = ()  # other headers read as this column
    max_length: int = 0  # text columns: the model field's length


COLUMNS: tuple[Column, ...] = (
    Column("sku", "SKU", ("sku", "商品コード", "品番"), 100),
    Column("name", "商品名", ("name", "product name"), 255),
    Column("options", "オプション", ("options", "option", "variant", "バリエーション"), 255),
    Column("jan", "JANコード", ("jan", "jan code", "ean", "JAN"), 13),
    Column("location", "棚番", ("location", "shelf", "ロケーション"), 50),
    Column("weight_g", "重量(g)", ("weight", "weight_g", "weight (g)", "重量")),
    Column("size_class", "サイズ区分", ("size", "size_class", "size class", "サイズ")),
    Column("on_hand", "在庫数", ("on_hand", "on hand", "stock", "在庫")),
    Column("allocated", "引当数", ("allocated",)),  # informational: never read
    Column("reorder_point", "発注点", ("reorder_point", "reorder point")),
    Column("is_set", "セット商品", ("is_set", "set", "セット")),
    Column("components", "構成品", ("components", "set components")),
    Column("aliases", "モール商品番号", ("aliases", "mall skus", "mall sku")),
    Column("active", "有効", ("active", "enabled")),
)
BY_KEY = {column.key: column for column in COLUMNS}
TEXT_FIELDS = ("name", "options", "jan", "location")
NUMBER_FIELDS = ("weight_g", "on_hand", "reorder_point")
PRODUCT_FIELDS = (*TEXT_FIELDS, "weight_g", "size_class", "on_hand", "reorder_point", "is_set", "active")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "はい", "有効", "○", "〇", "セット"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "いいえ", "無効", "×", "-"})


def _header_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split()).replace("_", "").replace("-", "")


HEADER_NAMES = {_header_key(name): c.key for c in COLUMNS for name in (c.header, c.key, *c.names)}


def _choice_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _labels(choices: Any) -> dict[str, str]:
    """Each choice by its code and by its label in English and Japanese."""
    found: dict[str, str] = {}
    for language in ("en", "ja"):
        with translation.override(language):
            for value, label in choices.choices:
                found[_choice_key(str(label))] = value
    for value in choices.values:
        found[_choice_key(value)] = value
    return found


def _size_classes() -> dict[str, str]:
    found = _labels(SizeClass)
    for value in SizeClass.values:
        found[_choice_key(f"{value}サイズ")] = value
    found.update({_choice_key(word): SizeClass.MAIL for word in ("メール便", "ネコポス", "ゆうパケット", "mail size")})
    return found


def _malls() -> dict[str, str]:
    found = _labels(MallKind)
    found.update(
        {"楽天": MallKind.RAKUTEN, "ヤフー": MallKind.YAHOO, "yahoo!": MallKind.YAHOO, "ヤフオク": MallKind.AUCTION}
    )
    return found


# --- reading the rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet shows it: the header is row 1
    sku: str
    column: str  # the file's header text, or ""
    message: str


@dataclass
class Row:
    number: int
    sku: str
    values: dict[str, Any]  # product fields the file gives
    components: list[tuple[str, int]] | None = None  # None: the column is not in the file
    aliases: list[tuple[str, str]] | None = None
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, self.sku, column, message))


@dataclass(frozen=True)
class Sheet:
    encoding: str
    columns: dict[str, int]  # key → position
    headers: dict[str, str]  # key → the file's header text
    ignored: list[str]  # header texts read as nothing
    rows: list[Row]
    read: int = 0  # product rows in the file (blank lines aside), parsed or not


def _plain(cell: str) -> str:
    """A cell without the export's formula guard (a leading quote before =, +, - …) and outer spaces."""
    text = cell.strip()
    if text.startswith("'") and text[1:].startswith(exports.FORMULA_STARTS):
        return text[1:]
    return text


def read_sheet(decoded: Decoded, *, parse: bool = True) -> Sheet:
    """The file's rows, each parsed on its own (the checks that need the database come later). Without
    `parse` only the header and the number of rows are checked (the upload's quick look: no rows then)."""
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise CsvRefused(_("The header row cannot be read: %(error)s") % {"error": error}) from None
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for position, text in enumerate(header):
        name = text.strip().lstrip("\ufeff")
        key = HEADER_NAMES.get(_header_key(name))
        if key is None or key in columns or key == "allocated":
            if name and key != "allocated":
                ignored.append(name)
            continue
        columns[key] = position
        headers[key] = name
    if "sku" not in columns:
        raise CsvRefused(
            _("The file has no SKU column. The first row must name the columns: %(headers)s …")
            % {"headers": ", ".join(c.header for c in COLUMNS[:5])}
        )
    malls, sizes = _malls(), _size_classes()
    rows: list[Row] = []
    number, read = 1, 0
    try:
        for cells in reader:
            number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if read >= MAX_ROWS:
                raise CsvRefused(
                    _(
                        "The file has more than %(limit)s product rows: at most %(limit)s are imported at once. "
                        "Split it and upload the parts."
                    )
                    % {"limit": f"{MAX_ROWS:,}"}
                )
            read += 1
            if parse:
                rows.append(_row(number, cells, len(header), columns, headers, malls, sizes))
    except csv.Error as error:
        raise CsvRefused(
            _("Row %(row)d cannot be read: %(error)s") % {"row": reader.line_num, "error": error}
        ) from None
    return Sheet(encoding=decoded.encoding, columns=columns, headers=headers, ignored=ignored, rows=rows, read=read)


def _number(text: str) -> int:
    """A whole number ≥ 0 written as people write them (全角, 1,000); ValueError with the reason."""
    plain = unicodedata.normalize("NFKC", text).replace(",", "").strip()
    negative = plain.startswith(("-", "−"))
    digits = plain[1:].strip() if negative else plain
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(_("Not a whole number: “%(value)s”.") % {"value": text[:40]})
    if negative and digits.strip("0"):
        raise ValueError(_("Cannot be negative: %(value)s.") % {"value": text[:40]})
    digits = digits.lstrip("0") or "0"
    if len(digits) > 12 or int(digits) > MAX_NUMBER:
        raise ValueError(_("Too large: at most %(max)s.") % {"max": f"{MAX_NUMBER:,}"})
    return int(digits)


def _yes_no(text: str) -> bool:
    word = _choice_key(text)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(_("Not yes or no: “%(value)s” (write 1 or 0).") % {"value": text[:40]})


def _components(text: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for part in (p.strip() for p in text.replace("；", ";").split(";")):
        if not part:
            continue
        sku, quantity = part, 1
        for mark in ("*", "＊", "×"):
            head, sep, tail = part.rpartition(mark)
            count = unicodedata.normalize("NFKC", tail).strip()
            if sep and count.isascii() and count.isdigit():
                sku, quantity = head.strip(), int(count) if len(count) <= 6 else MAX_PER_SET + 1
                break
        if not sku or not 1 <= quantity <= MAX_PER_SET:
            raise ValueError(
                _(
                    "Cannot read “%(part)s”: write components as SKU*quantity (1 to %(max)s) separated by “;”, "
                    "e.g. TEA-1*2;CUP-1*1."
                )
                % {"part": part[:60], "max": f"{MAX_PER_SET:,}"}
            )
        if any(sku == seen for seen, _q in found):
            raise ValueError(_("The component %(sku)s is listed twice.") % {"sku": sku})
        found.append((sku, quantity))
    return found


def _aliases(text: str, malls: dict[str, str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.replace("；", ";").split(";")):
        if not part:
            continue
        mall_text, sep, number = part.replace("：", ":").partition(":")
        number = number.strip()
        if not sep or not mall_text.strip() or not number:
            raise ValueError(
                _(
                    "Cannot read “%(part)s”: write mall item numbers as mall:number separated by “;”, "
                    "e.g. rakuten:rk-1;yahoo:y-1."
                )
                % {"part": part[:60]}
            )
        mall = malls.get(_choice_key(mall_text))
        if mall is None:
            raise ValueError(
                _("Unknown mall “%(mall)s”: use one of %(malls)s.")
                % {"mall": mall_text.strip()[:40], "malls": ", ".join(MallKind.values)}
            )
        if len(number) > 100:
            raise ValueError(
                _("Too long: at most %(n)d characters (this has %(length)d).") % {"n": 100, "length": len(number)}
            )
        if (mall, number) in found:
            raise ValueError(_("%(mall)s:%(number)s is listed twice.") % {"mall": mall, "number": number})
        found.append((mall, number))
    return found


def _row(
    number: int,
    cells: list[str],
    width: int,
    columns: dict[str, int],
    headers: dict[str, str],
    malls: dict[str, str],
    sizes: dict[str, str],
) -> Row:
    size = len(cells)
    raws = {key: _plain(cells[position]) if position < size else "" for key, position in columns.items()}
    row = Row(number=number, sku=raws["sku"], values={})
    if len(cells) > width:
        row.fail(
            "",
            _(
                "The row has %(cells)d values but the header %(header)d columns: a value with a comma in it "
                "(e.g. 3,000) needs double quotes."
            )
            % {"cells": len(cells), "header": width},
        )
    if not row.sku:
        row.fail(headers["sku"], _("The row has no SKU."))
    for key, raw in raws.items():
        column = BY_KEY[key]
        try:
            if column.max_length and len(raw) > column.max_length:
                raise ValueError(
                    _("Too long: at most %(n)d characters (this has %(length)d).")
                    % {"n": column.max_length, "length": len(raw)}
                )
            if key == "sku":
                continue
            if key in TEXT_FIELDS:
                if key == "jan" and raw:
                    raw = unicodedata.normalize("NFKC", raw).replace(" ", "")
                    try:
                        validate_jan(raw)
                    except ValidationError as error:
                        raise ValueError(error.messages[0]) from None
                row.values[key] = raw
            elif key in NUMBER_FIELDS:
                if raw:
                    row.values[key] = _number(raw)
                elif key == "weight_g":
                    row.values[key] = None
                elif key == "reorder_point":
                    row.values[key] = 0
                # a blank 在庫数 keeps the stock as it is
            elif key == "size_class":
                if raw and _choice_key(raw) not in sizes:
                    raise ValueError(
                        _("Unknown size class “%(value)s”: use one of %(choices)s.")
                        % {"value": raw[:40], "choices": ", ".join(SizeClass.values)}
                    )
                row.values[key] = sizes[_choice_key(raw)] if raw else ""
            elif key in ("is_set", "active"):
                if raw:
                    row.values[key] = _yes_no(raw)
                elif key == "active":
                    row.values[key] = True
            elif key == "components":
                row.components = _components(raw)
            elif key == "aliases":
                row.aliases = _aliases(raw, malls)
        except ValueError as error:
            row.fail(headers[key], str(error))
    if row.components and row.values.get("is_set") is False:
        row.fail(headers["is_set"], _("Components are given but %(column)s says 0.") % {"column": headers["is_set"]})
    elif row.components:
        row.values["is_set"] = True
    return row


# --- comparing with the stored products -----------------------------------------------------------------------


@dataclass
class Stored:
    pk: int
    values: dict[str, Any]  # PRODUCT_FIELDS and allocated
    components: list[tuple[str, int]] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)


NEW, CHANGED, UNCHANGED, BAD = "new", "changed", "unchanged", "bad"


@dataclass
class Planned:
    row: Row
    stored: Stored | None
    state: str = UNCHANGED
    values: dict[str, Any] = field(default_factory=dict)  # the product's fields after the import
    components: list[tuple[str, int]] | None = None  # after the import; None: left as they are
    aliases: list[tuple[str, str]] | None = None
    changes: list[str] = field(default_factory=list)  # the keys (PRODUCT_FIELDS, components, aliases) it changes


@dataclass
class Plan:
    sheet: Sheet
    items: list[Planned]
    errors: list[RowError]
    stored: dict[str, Stored]  # the file's SKUs and components that exist, by SKU

    def of(self, state: str) -> list[Planned]:
        return [item for item in self.items if item.state == state]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((NEW, CHANGED, UNCHANGED, BAD), 0)
        for item in self.items:
            counts[item.state] += 1
        counts["rows"] = len(self.items)
        return counts


def _text_in(column: str, values: Iterable[str]) -> Any:
    """`column IN (…)` with the texts as one array parameter on PostgreSQL (as orders.sets.ids_in does for ids:
    20,000 parameters bound one by one cost more than the query)."""
    texts = sorted(set(values))
    if connection.vendor == "postgresql":
        return {f"{column}__in": RawSQL("SELECT unnest(%s::text[])", (texts,))}
    return {f"{column}__in": texts}


def _stored(tenant: Tenant, skus: set[str], *, lock: bool) -> dict[str, Stored]:
    """The tenant's products with these SKUs (locked in id order with `lock`), their components and aliases."""
    query: QuerySet[Product] = Product.objects.filter(tenant_id=tenant.pk, **_text_in("sku", skus)).order_by("pk")
    if lock:
        query = query.select_for_update(of=("self",))
    names = ("allocated", *PRODUCT_FIELDS)
    found = {
        row[1]: Stored(pk=row[0], values=dict(zip(names, row[2:], strict=True)))
        for row in query.values_list("pk", "sku", *names)
    }
    by_pk = {stored.pk: stored for stored in found.values()}
    if not by_pk:
        return found
    for chunk in chunked(sorted(by_pk)):  # one query each per 5,000 products
        for set_id, sku, quantity in (
            SetComponent.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("set_product_id", chunk))
            .order_by("pk")
            .values_list("set_product_id", "component__sku", "quantity")
        ):
            by_pk[set_id].components.append((sku, quantity))
        for product_id, mall, mall_sku in (
            SkuAlias.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("product_id", chunk))
            .order_by("pk")
            .values_list("product_id", "mall", "mall_sku")
        ):
            by_pk[product_id].aliases.append((mall, mall_sku))
    return found


def _same_text(stored: str, read: str, encoding: str) -> bool:
    """Whether a text read from the file is the stored one, also as cp932 wrote it (𠮷 exported as “?”)."""
    if stored == read:
        return True
    return encoding == "cp932" and exports.to_cp932(stored)[0] == read


def _display(key: str, value: Any) -> str:
    if key in ("components",):
        return ";".join(f"{sku}*{quantity}" for sku, quantity in value or [])
    if key == "aliases":
        return ";".join(f"{mall}:{number}" for mall, number in value or [])
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def plan_import(tenant: Tenant, sheet: Sheet, *, lock: bool = False) -> Plan:
    """Each row of the sheet as new, changed, unchanged or bad, with what it changes. Writes nothing; with
    `lock` the stored products the file names are locked (in id order) until the transaction ends."""
    rows = sheet.rows
    headers = sheet.headers
    by_sku: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.sku:
            by_sku[row.sku].append(row)
    for sku, same in by_sku.items():
        if len(same) > 1:
            numbers = ", ".join(str(r.number) for r in same)
            for row in same:
                row.fail(
                    headers["sku"],
                    _("The SKU %(sku)s is on rows %(rows)s: each product once per file.")
                    % {"sku": sku, "rows": numbers},
                )
    wanted = set(by_sku) | {sku for row in rows for sku, _q in row.components or []}
    stored = _stored(tenant, wanted, lock=lock)
    items = [Planned(row=row, stored=stored.get(row.sku)) for row in rows]
    for item in items:
        _merge(item, sheet)
    _cross_check(tenant, sheet, items, stored)
    errors: list[RowError] = []
    for item in items:
        if item.row.errors:
            item.state = BAD
            errors += item.row.errors
        elif item.stored is None:
            item.state = NEW
        else:
            item.state = CHANGED if item.changes else UNCHANGED
    return Plan(sheet=sheet, items=items, errors=errors, stored=stored)


def _merge(item: Planned, sheet: Sheet) -> None:
    """The product's values after the import (the file's where it has the column, else the stored ones),
    the components and aliases it replaces, and what differs from the stored product."""
    row, stored = item.row, item.stored
    defaults: dict[str, Any] = {
        "name": "", "options": "", "jan": "", "location": "", "weight_g": None, "size_class": "", "on_hand": 0,
        "reorder_point": 0, "is_set": False, "active": True,
    }  # fmt: skip
    before = stored.values if stored else defaults
    values = {key: before[key] for key in PRODUCT_FIELDS}
    for key, value in row.values.items():
        if key in TEXT_FIELDS and stored and _same_text(before[key], value, sheet.encoding):
            continue
        values[key] = value
    if not values["name"]:
        message = _("A new product needs a name.") if stored is None else _("The product name is empty.")
        row.fail(sheet.headers.get("name", BY_KEY["name"].header), message)
    item.values = values
    if not values["is_set"]:
        item.components = []  # a single product has none (those of a set it was are removed)
    elif row.components is not None:
        item.components = row.components
    if row.aliases is not None:
        item.aliases = row.aliases
    if stored is None:
        return
    item.changes = [key for key in PRODUCT_FIELDS if values[key] != before[key]]
    if item.components is not None and sorted(item.components) != sorted(stored.components):
        item.changes.append("components")
    if item.aliases is not None and sorted(item.aliases) != sorted(stored.aliases):
        item.changes.append("aliases")


def _changes(item: Planned, headers: dict[str, str]) -> list[tuple[str, str, str]]:
    """What a changed row changes, for the page: (the column, now, after the import)."""
    assert item.stored is not None
    now = {**item.stored.values, "components": item.stored.components, "aliases": item.stored.aliases}
    after = {**item.values, "components": item.components, "aliases": item.aliases}
    return [
        (headers.get(key, BY_KEY[key].header), _display(key, now[key]), _display(key, after[key]))
        for key in item.changes
    ]


def _cross_check(tenant: Tenant, sheet: Sheet, items: list[Planned], stored: dict[str, Stored]) -> None:
    """The checks between rows and against the stored products: components that exist and are single
    products, no set inside a set, mall aliases that belong to no other product, stock not below what is
    allocated. A row that fails is skipped, which may fail a row that relied on it: repeated until none does."""
    headers = sheet.headers
    column = {key: headers.get(key, BY_KEY[key].header) for key in BY_KEY}
    by_sku = {item.row.sku: item for item in items if item.row.sku}
    # The stored sets each product is a component of, and the stored owners of the file's aliases.
    pks = {s.pk: sku for sku, s in stored.items()}
    in_sets: dict[str, list[str]] = defaultdict(list)
    for chunk in chunked(sorted(pks)):
        for set_sku, component_id in (
            SetComponent.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("component_id", chunk))
            .order_by("set_product__sku")
            .values_list("set_product__sku", "component_id")
        ):
            in_sets[pks[component_id]].append(set_sku)
    file_aliases = {alias for item in items for alias in item.row.aliases or []}
    owners: dict[tuple[str, str], str] = {}
    if file_aliases:
        for mall, mall_sku, owner in SkuAlias.objects.filter(
            tenant_id=tenant.pk, **_text_in("mall_sku", {n for _m, n in file_aliases})
        ).values_list("mall", "mall_sku", "product__sku"):
            if (mall, mall_sku) in file_aliases:
                owners[(mall, mall_sku)] = owner

    def good(sku: str) -> Planned | None:
        item = by_sku.get(sku)
        return item if item is not None and not item.row.errors else None

    def is_set(sku: str) -> bool | None:  # after the import; None: no such product
        item = good(sku)
        if item is not None:
            return bool(item.values["is_set"])
        return bool(stored[sku].values["is_set"]) if sku in stored else None

    def components_after(sku: str) -> list[tuple[str, int]]:
        item = good(sku)
        if item is not None and item.components is not None:
            return item.components
        return stored[sku].components if sku in stored else []

    def still_contains(set_sku: str, sku: str) -> bool:
        """Whether the stored set `set_sku`, which holds `sku` now, still holds it after the import."""
        item = good(set_sku)
        if item is None or (item.values["is_set"] and item.components is None):
            return True  # not in the file (or skipped), or its components left as they are
        return bool(item.values["is_set"]) and any(part == sku for part, _q in item.components or [])

    claims: dict[tuple[str, str], Planned] = {}  # alias → the first good row that names it

    def alias_problem(alias: tuple[str, str], item: Planned) -> str | None:
        owner = owners.get(alias)
        if owner is not None and owner != item.row.sku:
            holder = good(owner)
            if holder is None or holder.aliases is None:  # its owner keeps it
                return _("%(mall)s:%(number)s already belongs to the product %(owner)s.") % {
                    "mall": alias[0], "number": alias[1], "owner": owner
                }  # fmt: skip
        first = claims.get(alias)
        if first is not None and first is not item:
            return _("%(mall)s:%(number)s is also given to %(sku)s on row %(row)d.") % {
                "mall": alias[0], "number": alias[1], "sku": first.row.sku, "row": first.row.number
            }  # fmt: skip
        return None

    def problems(item: Planned) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        sku, values = item.row.sku, item.values
        if values["is_set"]:
            parts = components_after(sku)
            if not parts:
                found.append((column["components"], _("A set product needs its components (e.g. TEA-1*2;CUP-1*1).")))
            for part, _quantity in parts:
                if part == sku:
                    found.append((column["components"], _("A set cannot contain itself.")))
                    continue
                kind = is_set(part)
                if kind is None:
                    bad = by_sku.get(part)
                    if bad is not None:
                        found.append(
                            (
                                column["components"],
                                _("The component %(sku)s is added on row %(row)d, which cannot be imported.")
                                % {"sku": part, "row": bad.row.number},
                            )
                        )
                    else:
                        found.append((column["components"], _("Unknown component SKU %(sku)s.") % {"sku": part}))
                elif kind:
                    found.append(
                        (
                            column["components"],
                            _("%(sku)s is a set itself: a set is made of single products, not of sets.")
                            % {"sku": part},
                        )
                    )
            for set_sku in in_sets.get(sku, []):
                if still_contains(set_sku, sku):
                    found.append(
                        (
                            column["is_set"],
                            _("%(sku)s is a component of the set %(set)s: a set cannot be part of another set.")
                            % {"sku": sku, "set": set_sku},
                        )
                    )
        for alias in item.aliases or []:
            problem = alias_problem(alias, item)
            if problem:
                found.append((column["aliases"], problem))
        allocated = item.stored.values["allocated"] if item.stored else 0
        if values["on_hand"] < allocated:
            found.append(
                (
                    column["on_hand"],
                    _("%(stock)s is less than the %(allocated)s units allocated to orders: at least %(allocated)s.")
                    % {"stock": values["on_hand"], "allocated": allocated},
                )
            )
        return found

    while True:
        claims.clear()
        for item in items:
            if not item.row.errors:
                for alias in item.aliases or []:
                    claims.setdefault(alias, item)
        failed = [(item, found) for item in items if not item.row.errors and (found := problems(item))]
        if not failed:
            return
        for item, found in failed:
            for header, message in found:
                item.row.fail(header, message)


# --- preview and import -----------------------------------------------------------------------------------------


def preview_summary(plan: Plan) -> dict[str, Any]:
    """What the preview page shows (plain values: the page may keep it)."""
    changed = plan.of(CHANGED)
    errors = sorted(plan.errors, key=lambda e: e.row)
    return {
        "encoding": ENCODINGS.get(plan.sheet.encoding, plan.sheet.encoding),
        "columns": [plan.sheet.headers[key] for key in plan.sheet.columns],
        "ignored": plan.sheet.ignored,
        "counts": plan.counts(),
        "errors": [asdict(e) for e in errors[:ERRORS_KEPT]],
        "errors_total": len(errors),
        "bad_rows": sorted({e.row for e in errors}),
        "changed": [
            {"row": item.row.number, "sku": item.row.sku, "changes": _changes(item, plan.sheet.headers)}
            for item in changed[:CHANGES_KEPT]
        ],
        "new": [
            {"row": item.row.number, "sku": item.row.sku, "name": item.values["name"]}
            for item in plan.of(NEW)[:CHANGES_KEPT]
        ],
    }


def products_csv_preview(*, tenant: Tenant, decoded: Decoded) -> dict[str, Any]:
    """The preview of a file: counts, every problem by row, what changes. Writes nothing."""
    return preview_summary(plan_import(tenant, read_sheet(decoded)))


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    changed: int
    unchanged: int
    skipped: int
    stock_moves: int
    errors: list[RowError]
    rechecked: CheckResult = field(default_factory=CheckResult)  # the waiting orders checked again

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "stock_moves": self.stock_moves,
            "errors": [asdict(e) for e in sorted(self.errors, key=lambda e: e.row)[:ERRORS_KEPT]],
            "errors_total": len(self.errors),
            "rechecked": {
                "orders": len(self.rechecked.full) + len(self.rechecked.partial) + len(self.rechecked.short),
                "full": len(self.rechecked.full),
                "partial": len(self.rechecked.partial),
                "short": len(self.rechecked.short),
            },
        }


def products_csv_import(*, tenant: Tenant, decoded: Decoded, actor: Actor, filename: str = "") -> ImportOutcome:
    """Apply every good row of the file in one transaction (the stored products it names locked in id
    order); bad rows are skipped and returned. ImportConflict when another import added one of the file's
    SKUs meanwhile: nothing is written then, and the operator imports again."""
    sheet = read_sheet(decoded)
    try:
        with transaction.atomic():
            plan = plan_import(tenant, sheet, lock=True)
            moves, risen = _apply(tenant, plan, actor, filename)
    except IntegrityError:
        raise ImportConflict(
            _("The products changed while the file was imported (another import?). Nothing was imported: import again.")
        ) from None
    # Stock that rose, a new product, a new mall item number or set: the orders waiting for them are checked
    # again, after the import's commit (orders are locked before products, as every writer locks them).
    rechecked = recheck_waiting(tenant=tenant, product_ids=risen, actor=actor)
    counts = plan.counts()
    return ImportOutcome(
        created=counts[NEW],
        changed=counts[CHANGED],
        unchanged=counts[UNCHANGED],
        skipped=counts[BAD],
        stock_moves=moves,
        errors=plan.errors,
        rechecked=rechecked,
    )


SQL_TYPES = {
    "name": "text", "options": "text", "jan": "text", "location": "text", "size_class": "text",
    "weight_g": "integer", "on_hand": "integer", "reorder_point": "integer", "is_set": "boolean", "active": "boolean",
}  # fmt: skip


def _update(tenant: Tenant, changed: list[tuple[Planned, Stored]], now: Any) -> None:
    """Write the changed products' fields (those any of them changes), in one statement per BATCH products:
    on PostgreSQL an UPDATE … FROM unnest(arrays) (bulk_update's CASE WHEN per row and field costs seconds
    at 10,000 products), elsewhere bulk_update."""
    fields = sorted({key for item, _stored in changed for key in item.changes if key in SQL_TYPES})
    if not fields:
        return
    if connection.vendor != "postgresql":
        Product.objects.bulk_update(
            [Product(pk=stored.pk, tenant_id=tenant.pk, updated_at=now, **item.values) for item, stored in changed],
            [*fields, "updated_at"],
            batch_size=BATCH,
        )
        return
    quote = connection.ops.quote_name
    table = quote(Product._meta.db_table)
    column_of = {f.name: str(f.column) for f in Product._meta.concrete_fields}
    columns = {key: quote(column_of[key]) for key in fields}
    sets = ", ".join(f"{columns[key]} = v.{columns[key]}" for key in fields)
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{SQL_TYPES[key]}[]" for key in fields)])
    names = ", ".join(["id", *(columns[key] for key in fields)])
    where = f"{table}.{quote('id')} = v.id AND {table}.{quote('tenant_id')} = %s"
    sql = f"UPDATE {table} SET {sets}, {quote('updated_at')} = %s FROM unnest({arrays}) AS v({names}) WHERE {where}"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        for start in range(0, len(changed), BATCH):
            chunk = changed[start : start + BATCH]
            ids = [stored.pk for _item, stored in chunk]
            values = [[item.values[key] for item, _stored in chunk] for key in fields]
            cursor.execute(sql, [now, ids, *values, tenant.pk])  # in the order of the statement's %s


def _apply(tenant: Tenant, plan: Plan, actor: Actor, filename: str) -> tuple[int, list[int]]:
    """The writes of a plan: new products, changed fields, replaced components and aliases, stock moves.
    Rows go in through the one COPY writer (orders.copy) and set-based statements: a fixed number per chunk.
    Returns the number of stock moves and the products that waiting orders may now get: stock raised, new,
    or given mall item numbers or components."""
    now = timezone.now()
    new = plan.of(NEW)
    changed = [(item, item.stored) for item in plan.of(CHANGED) if item.stored is not None]
    copy_rows(
        Product,
        ("tenant_id", "sku", "allocated", "updated_at", *PRODUCT_FIELDS),
        [(tenant.pk, item.row.sku, 0, now, *(item.values[key] for key in PRODUCT_FIELDS)) for item in new],
    )
    pk_of = {sku: stored.pk for sku, stored in plan.stored.items()}
    if new:
        pk_of.update(
            Product.objects.filter(tenant_id=tenant.pk, **_text_in("sku", (item.row.sku for item in new))).values_list(
                "sku", "pk"
            )
        )
    _update(tenant, changed, now)
    # Components and aliases: replaced for the rows that change them (a new row's are created).
    touched = [(item, item.stored) for item in new] + changed
    sets = [
        item
        for item, stored in touched
        if item.components is not None and (stored is None or "components" in item.changes)
    ]
    aliased = [
        item for item, stored in touched if item.aliases is not None and (stored is None or "aliases" in item.changes)
    ]
    for chunk in chunked(sorted(pk_of[item.row.sku] for item in sets if item.stored)):
        SetComponent.objects.filter(tenant_id=tenant.pk).filter(ids_in("set_product_id", chunk)).delete()
    for chunk in chunked(sorted(pk_of[item.row.sku] for item in aliased if item.stored)):
        SkuAlias.objects.filter(tenant_id=tenant.pk).filter(ids_in("product_id", chunk)).delete()
    copy_rows(
        SetComponent,
        ("tenant_id", "set_product_id", "component_id", "quantity"),
        [
            (tenant.pk, pk_of[item.row.sku], pk_of[sku], quantity)
            for item in sets
            for sku, quantity in item.components or []
        ],
    )
    copy_rows(
        SkuAlias,
        ("tenant_id", "product_id", "mall", "mall_sku"),
        [(tenant.pk, pk_of[item.row.sku], mall, number) for item in aliased for mall, number in item.aliases or []],
    )
    note = _("CSV import %(file)s, row %(row)d")
    moves = []
    for item, stored in touched:
        difference = item.values["on_hand"] - (stored.values["on_hand"] if stored else 0)
        if difference:
            moves.append(
                (
                    tenant.pk, pk_of[item.row.sku], now, MoveKind.IMPORT.value, difference, 0, item.values["on_hand"],
                    stored.values["allocated"] if stored else 0, actor.name[:200], actor.user_id,
                    (note % {"file": filename, "row": item.row.number})[:300],
                )
            )  # fmt: skip
    copy_rows(
        StockMove,
        (
            "tenant_id", "product_id", "at", "kind", "on_hand_change", "allocated_change", "on_hand_after",
            "allocated_after", "actor_name", "actor_user_id", "note",
        ),
        moves,
    )  # fmt: skip
    risen = {move[1] for move in moves if move[4] > 0}
    risen |= {pk_of[item.row.sku] for item in new}
    risen |= {pk_of[item.row.sku] for item in (*sets, *aliased)}
    return len(moves), sorted(risen)


# --- export -------------------------------------------------------------------------------------------------------

EXPORT_FIELDS = ("pk", "sku", "allocated", *PRODUCT_FIELDS)


def export_header() -> list[str]:
    return [column.header for column in COLUMNS]


def export_rows(tenant: Tenant) -> Iterator[list[str | int]]:
    """Each product's row, by SKU: one query per EXPORT_CHUNK products, one for their
    components and one for their aliases."""
    iterator = (
        Product.objects.filter(tenant_id=tenant.pk)
        .order_by("sku", "pk")
        .values(*EXPORT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    while batch := list(islice(iterator, EXPORT_CHUNK)):
        ids = [p["pk"] for p in batch]
        parts: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for set_id, sku, quantity in (
            SetComponent.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("set_product_id", ids))
            .order_by("pk")
            .values_list("set_product_id", "component__sku", "quantity")
        ):
            parts[set_id].append((sku, quantity))
        aliases: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for product_id, mall, number in (
            SkuAlias.objects.filter(tenant_id=tenant.pk)
            .filter(ids_in("product_id", ids))
            .order_by("mall", "mall_sku")
            .values_list("product_id", "mall", "mall_sku")
        ):
            aliases[product_id].append((mall, number))
        for p in batch:
            yield [
                p["sku"],
                p["name"],
                p["options"],
                p["jan"],
                p["location"],
                "" if p["weight_g"] is None else p["weight_g"],
                p["size_class"],
                p["on_hand"],
                p["allocated"],
                p["reorder_point"],
                1 if p["is_set"] else 0,
                _display("components", parts.get(p["pk"])),
                _display("aliases", aliases.get(p["pk"])),
                1 if p["active"] else 0,
            ]


def _written(cells: list[str | int], encoding: str) -> list[str | int]:
    """Text cells guarded against formulas and, for cp932, made writable (guarded again after: NFKC may
    turn a character into a sign), as the order export writes them."""
    out: list[str | int] = []
    for cell in cells:
        if isinstance(cell, str):
            cell = exports.neutralise(cell)
            if encoding == exports.CP932:
                cell = exports.neutralise(exports.to_cp932(cell)[0])
        out.append(cell)
    return out


def products_csv(tenant: Tenant, *, encoding: str = exports.CP932) -> Iterator[bytes]:
    """The tenant's products as a CSV stream: a header row, then one row per product."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if encoding == exports.UTF8:
        buffer.write(exports.BOM)
    writer.writerow(export_header())

    def drain() -> bytes:
        data = buffer.getvalue().encode(encoding, errors="replace")  # every cell was made writable
        buffer.seek(0)
        buffer.truncate()
        return data

    for cells in export_rows(tenant):
        writer.writerow(_written(cells, encoding))
        if buffer.tell() >= exports.FLUSH_AT:
            yield drain()
    yield drain()
