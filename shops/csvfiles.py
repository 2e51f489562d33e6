"""Reading an order CSV (T6, and every cart without an API): decoding, the header, the column mapping and
the rows turned into the same `ImportedOrder` values a mall connector yields. Pure: no database here (the
service in shops.services.csvimport stores uploads and mappings and imports through import_orders).

- Encoding is detected, never asked: a UTF-8 BOM, UTF-16 with its BOM (Excel's "Unicode text"), strict
  UTF-8, then strict cp932 (Shift_JIS as Windows and Excel write it). A file that is none of them is refused
  with a message saying how to save it, never read with replacement characters; so is UTF-16 without its
  BOM (its zero bytes give it away), which cp932 would otherwise read as mojibake.
- Limits, each refused with a message naming it: MAX_BYTES (20 MB), MAX_COLUMNS (200 columns: an order
  export has a few dozen; every column is offered for each order field of the mapping) and MAX_ROWS
  (200,000 data rows). A file past a few thousand rows is read for its preview by a worker
  (shops.services.csvpreview), which reports progress through `read_orders(progress=…)`.
- Columns are addressed by their header text, so a column moved in the next export still maps. A mapping is
  {target key: header}; `guess_mapping` builds one from the header by known names, with a preset for
  Yahoo! Auctions exports (their layout is not published; the names are the ones such exports use).
- One row per order line; rows with the same order number are one order, wherever they are in the file.
  Order-level values come from the order's rows, which must agree; a row that contradicts another is an
  error of that order.
- Every problem is a `RowError` with the row number as a spreadsheet shows it (the header is row 1), the
  order number and the column. An order with an error becomes a `FailedOrder` (recorded by the import with
  its rows as received); the other orders import.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The decoding is every import's (backyard.csvtext); the order import's callers find it here too.
from backyard.csvtext import ENCODINGS as ENCODINGS
from backyard.csvtext import MAX_BYTES as MAX_BYTES
from backyard.csvtext import MAX_COLUMNS as MAX_COLUMNS
from backyard.csvtext import CsvRefused as CsvRefused
from backyard.csvtext import Decoded as Decoded
from backyard.csvtext import decode as decode
from backyard.csvtext import unique_header as unique_header
from japan.address import normalize_postal_code, split_address

from .connectors.base import FailedOrder, ImportedLine, ImportedOrder
from .connectors.parsing import MAX_AMOUNT, MAX_DIGITS, MAX_QUANTITY

MAX_ROWS = 200_000
TOKYO = ZoneInfo("Asia/Tokyo")


# --- what a column can be -----------------------------------------------------------------------------------

TEXT, DATETIME, DATE, MONEY, COUNT, RATE, POSTAL, ADDRESS = (
    "text",
    "datetime",
    "date",
    "money",
    "count",
    "rate",
    "postal",
    "address",
)


@dataclass(frozen=True)
class Target:
    """An order field a column can fill. `names`: header texts that mean it (compared loosely, see _key);
    `auction`: those of Yahoo! Auctions exports, tried first with that preset."""

    key: str
    label: str | Promise
    kind: str = TEXT
    required: bool = False
    line: bool = False  # a value of the row's line, not of the order
    names: tuple[str, ...] = ()
    auction: tuple[str, ...] = ()


def _t(
    key: str,
    label: str | Promise,
    kind: str = TEXT,
    *names: str,
    required: bool = False,
    line: bool = False,
    auction: tuple[str, ...] = (),
) -> Target:
    return Target(
        key=key,
        label=label,
        kind=kind,
        required=required,
        line=line,
        names=names,
        auction=auction,
    )


TARGETS: tuple[Target, ...] = (
    _t(
        "external_id",
        gettext_lazy("Order number"),
        TEXT,
        "受注番号",
        "注文番号",
        "注文ID",
        "受注ID",
        "オーダー番号",
        "オーダーID",
        "order number",
        "order id",
        "order no",
        required=True,
        auction=("注文ID", "注文番号", "取引ID", "オークションID"),
    ),
    _t(
        "ordered_at",
        gettext_lazy("Ordered at"),
        DATETIME,
        "受注日時",
        "注文日時",
        "受注日",
        "注文日",
        "購入日時",
        "購入日",
        "order date",
        "ordered at",
        "created at",
        required=True,
        auction=("落札日時", "落札日", "終了日時", "終了日"),
    ),
    _t(
        "mall_status",
        gettext_lazy("Status at the source"),
        TEXT,
        "ステータス",
        "注文ステータス",
        "受注ステータス",
        "取引状態",
        "状態",
        "status",
        auction=("取引ステータス", "取引状態"),
    ),
    _t(
        "payment",
        gettext_lazy("Payment method"),
        TEXT,
        "決済方法",
        "支払方法",
        "支払い方法",
        "お支払い方法",
        "お支払方法",
        "payment method",
        "payment",
    ),
    _t(
        "delivery",
        gettext_lazy("Delivery method"),
        TEXT,
        "配送方法",
        "発送方法",
        "お届け方法",
        "shipping method",
        "delivery method",
    ),
    _t(
        "orderer_name",
        gettext_lazy("Orderer name"),
        TEXT,
        "注文者名",
        "注文者氏名",
        "購入者名",
        "購入者氏名",
        "注文者",
        "購入者",
        "お客様名",
        "氏名",
        "名前",
        "orderer name",
        "customer name",
        "buyer name",
        "billing name",
        auction=("落札者氏名", "落札者名", "落札者"),
    ),
    _t(
        "orderer_kana",
        gettext_lazy("Orderer kana"),
        TEXT,
        "注文者カナ",
        "注文者名カナ",
        "注文者氏名カナ",
        "注文者フリガナ",
        "購入者カナ",
        "購入者フリガナ",
        "フリガナ",
        "カナ",
        "ふりがな",
        auction=("落札者カナ", "落札者フリガナ"),
    ),
    _t(
        "orderer_email",
        gettext_lazy("Orderer email"),
        TEXT,
        "注文者メール",
        "注文者メールアドレス",
        "購入者メールアドレス",
        "メールアドレス",
        "メール",
        "email",
        "e-mail",
        auction=("落札者メールアドレス",),
    ),
    _t(
        "orderer_phone",
        gettext_lazy("Orderer phone"),
        TEXT,
        "注文者電話",
        "注文者電話番号",
        "購入者電話番号",
        "電話番号",
        "電話",
        "tel",
        "phone",
        auction=("落札者電話番号",),
    ),
    _t(
        "orderer_postal_code",
        gettext_lazy("Orderer postal code"),
        POSTAL,
        "注文者郵便番号",
        "購入者郵便番号",
        "郵便番号",
        "〒",
        "zip",
        "postal code",
        auction=("落札者郵便番号",),
    ),
    _t(
        "orderer_address",
        gettext_lazy("Orderer address (in one column)"),
        ADDRESS,
        "注文者住所",
        "購入者住所",
        "住所",
        "address",
        auction=("落札者住所",),
    ),
    _t("orderer_prefecture", gettext_lazy("Orderer prefecture"), TEXT, "注文者都道府県", "購入者都道府県", "都道府県"),
    _t("orderer_city", gettext_lazy("Orderer city"), TEXT, "注文者市区町村", "購入者市区町村", "市区町村"),
    _t("orderer_address1", gettext_lazy("Orderer address line 1"), TEXT, "注文者住所1", "注文者番地", "住所1", "番地"),
    _t(
        "orderer_address2",
        gettext_lazy("Orderer address line 2"),
        TEXT,
        "注文者住所2",
        "注文者建物名",
        "住所2",
        "建物名",
    ),
    _t(
        "dest_name",
        gettext_lazy("Recipient name"),
        TEXT,
        "送付先名",
        "送付先氏名",
        "お届け先名",
        "お届け先氏名",
        "配送先名",
        "配送先氏名",
        "届け先名",
        "届け先氏名",
        "recipient name",
        "shipping name",
        auction=("発送先氏名",),
    ),
    _t(
        "dest_kana",
        gettext_lazy("Recipient kana"),
        TEXT,
        "送付先カナ",
        "送付先氏名カナ",
        "お届け先カナ",
        "お届け先フリガナ",
        "配送先カナ",
        "配送先フリガナ",
    ),
    _t(
        "dest_company",
        gettext_lazy("Recipient company"),
        TEXT,
        "送付先会社名",
        "お届け先会社名",
        "配送先会社名",
        "会社名",
        "company",
    ),
    _t(
        "dest_phone",
        gettext_lazy("Recipient phone"),
        TEXT,
        "送付先電話",
        "送付先電話番号",
        "お届け先電話番号",
        "配送先電話番号",
        "recipient phone",
        "shipping phone",
        auction=("発送先電話番号",),
    ),
    _t(
        "dest_postal_code",
        gettext_lazy("Recipient postal code"),
        POSTAL,
        "送付先郵便番号",
        "お届け先郵便番号",
        "配送先郵便番号",
        "shipping zip",
        auction=("発送先郵便番号",),
    ),
    _t(
        "dest_address",
        gettext_lazy("Recipient address (in one column)"),
        ADDRESS,
        "送付先住所",
        "お届け先住所",
        "配送先住所",
        "shipping address",
        auction=("発送先住所",),
    ),
    _t(
        "dest_prefecture",
        gettext_lazy("Recipient prefecture"),
        TEXT,
        "送付先都道府県",
        "お届け先都道府県",
        "配送先都道府県",
    ),
    _t("dest_city", gettext_lazy("Recipient city"), TEXT, "送付先市区町村", "お届け先市区町村", "配送先市区町村"),
    _t(
        "dest_address1",
        gettext_lazy("Recipient address line 1"),
        TEXT,
        "送付先住所1",
        "お届け先住所1",
        "配送先住所1",
        "送付先番地",
    ),
    _t(
        "dest_address2",
        gettext_lazy("Recipient address line 2"),
        TEXT,
        "送付先住所2",
        "お届け先住所2",
        "配送先住所2",
        "送付先建物名",
        "お届け先建物名",
    ),
    _t(
        "requested_delivery_date",
        gettext_lazy("Requested delivery date"),
        DATE,
        "お届け希望日",
        "配送希望日",
        "配達希望日",
        "希望配達日",
        "お届け日指定",
    ),
    _t(
        "delivery_time_slot",
        gettext_lazy("Delivery time slot"),
        TEXT,
        "お届け時間帯",
        "配送時間帯",
        "配達時間帯",
        "希望時間帯",
        "時間帯指定",
        "時間帯",
    ),
    _t("shipping_fee", gettext_lazy("Shipping fee"), MONEY, "送料", "配送料", "shipping fee", "shipping"),
    _t("cod_fee", gettext_lazy("COD fee"), MONEY, "代引手数料", "代引き手数料", "代金引換手数料"),
    _t("discount", gettext_lazy("Discount"), MONEY, "値引", "値引き", "割引", "割引額", "クーポン利用額", "discount"),
    _t(
        "points_used",
        gettext_lazy("Points used"),
        MONEY,
        "ポイント利用",
        "利用ポイント",
        "ポイント利用額",
        "points used",
    ),
    _t(
        "total",
        gettext_lazy("Total"),
        MONEY,
        "合計",
        "合計金額",
        "請求金額",
        "総額",
        "支払金額",
        "total",
        auction=("落札合計金額", "お支払い合計"),
    ),
    _t(
        "remarks",
        gettext_lazy("Remarks from the customer"),
        TEXT,
        "備考",
        "購入者備考",
        "お客様備考",
        "要望",
        "remarks",
        "note",
        "notes",
    ),
    _t(
        "order_comment",
        gettext_lazy("Order-time comment"),
        TEXT,
        "注文時コメント",
        "注文コメント",
        "コメント",
        auction=("取引メッセージ",),
    ),
    _t(
        "sku",
        gettext_lazy("SKU"),
        TEXT,
        "商品コード",
        "商品番号",
        "商品管理番号",
        "管理番号",
        "品番",
        "型番",
        "sku",
        line=True,
        auction=("オークションID", "管理番号"),
    ),
    _t(
        "item_name",
        gettext_lazy("Item name"),
        TEXT,
        "商品名",
        "品名",
        "商品",
        "item name",
        "product name",
        "lineitem name",
        "title",
        required=True,
        line=True,
        auction=("商品名", "オークションタイトル", "タイトル"),
    ),
    _t(
        "options",
        gettext_lazy("Options"),
        TEXT,
        "項目・選択肢",
        "選択肢",
        "オプション",
        "バリエーション",
        "商品オプション",
        "options",
        "variant",
        line=True,
    ),
    _t(
        "unit_price",
        gettext_lazy("Unit price"),
        MONEY,
        "単価",
        "商品単価",
        "販売価格",
        "価格",
        "unit price",
        "price",
        required=True,
        line=True,
        auction=("落札価格", "落札金額"),
    ),
    _t(
        "quantity",
        gettext_lazy("Quantity"),
        COUNT,
        "数量",
        "個数",
        "購入数",
        "注文数",
        "quantity",
        "qty",
        line=True,
        auction=("落札数量", "数量"),
    ),
    _t("tax_rate", gettext_lazy("Tax rate (%)"), RATE, "税率", "消費税率", "tax rate", line=True),
)
BY_KEY = {target.key: target for target in TARGETS}
REQUIRED = tuple(target.key for target in TARGETS if target.required)
PERSON = ("name", "kana", "phone", "postal_code", "prefecture", "city", "address1", "address2")
# Parts of a person that go together: a side that has none of a group takes the other side's.
PERSON_GROUPS = (("name", "kana"), ("phone",), ("postal_code", "prefecture", "city", "address1", "address2"))

GENERIC, YAHOO_AUCTION = "generic", "yahoo_auction"
PRESETS = {GENERIC: gettext_lazy("General (names of common exports)"), YAHOO_AUCTION: gettext_lazy("Yahoo! Auctions")}

_PUNCT = re.compile(r"[\s・･_\-‐－()（）\[\]［］【】「」<>＜＞:：/／.。]")


def _key(text: str) -> str:
    """Header texts compared loosely: NFKC (full-width letters, half-width kana), case, spaces, brackets."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


def guess_mapping(header: list[str], preset: str = GENERIC) -> dict[str, str]:
    """{target key: header} for the targets the header names; each column used once, except that an
    auction's id may also be the line's SKU (one auction, one item)."""
    columns = {_key(name): name for name in reversed(header)}  # the first of two equal names wins
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for target in TARGETS:
        names = (*target.auction, *target.names) if preset == YAHOO_AUCTION else target.names
        for name in names:
            column = columns.get(_key(name))
            if column and (column not in used or target.key == "sku"):
                mapping[target.key] = column
                used.add(column)
                break
    return mapping


def mapping_problems(mapping: Mapping[str, str], header: list[str]) -> list[str]:
    """Why a mapping cannot read this file: a required field without a column, a column the file lacks."""
    problems = []
    present = set(header)
    for key, column in mapping.items():
        if key in BY_KEY and column and column not in present:
            problems.append(
                _("The column “%(column)s” (for “%(field)s”) is not in this file.")
                % {"column": column, "field": BY_KEY[key].label}
            )
    for key in REQUIRED:
        if not mapping.get(key):
            problems.append(
                _("No column is chosen for “%(field)s”, which every order needs.") % {"field": BY_KEY[key].label}
            )
    return problems


def clean_mapping(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Only known targets with a column name (what is stored)."""
    return {key: str(value) for key, value in mapping.items() if key in BY_KEY and isinstance(value, str) and value}


# --- values ----------------------------------------------------------------------------------------------------


class BadValue(ValueError):
    pass


_DATETIME = re.compile(
    r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:(?:\s+|T|\s*[(（][^)）]*[)）]\s*)(?P<H>\d{1,2})[:時](?P<M>\d{1,2})(?:[:分](?P<S>\d{1,2})(?:\.\d+)?秒?)?分?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)


def _normal(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def parse_datetime(value: str) -> dt.datetime:
    """'2026/11/23 10:15', '2026-11-23T10:15:00+09:00', '2026年11月23日 10時15分', '2026/11/23' (midnight);
    a time without an offset is Japan time."""
    text = _normal(value)
    match = _DATETIME.fullmatch(text)
    if not match:
        raise BadValue(_("“%(value)s” is not a date and time (e.g. 2026/11/23 10:15).") % {"value": value})
    parts = match.groupdict()
    try:
        moment = dt.datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            tzinfo=TOKYO,
        )
    except ValueError:
        raise BadValue(_("“%(value)s” is not a date and time (e.g. 2026/11/23 10:15).") % {"value": value}) from None
    tz = parts["tz"]
    if not tz:
        return moment
    if tz == "Z":
        return moment.replace(tzinfo=dt.UTC)
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))


_DATE = re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:\s*[(（][^)）]*[)）])?")


def parse_date(value: str) -> dt.date:
    """'2026/12/05', '2026-12-05', '2026年12月5日(土)'."""
    match = _DATE.fullmatch(_normal(value))
    try:
        if match:
            return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        pass
    raise BadValue(_("“%(value)s” is not a date (e.g. 2026/12/05).") % {"value": value})


_MONEY = re.compile(r"-?\d+(?:\.0+)?")


def parse_money(value: str) -> int:
    """Whole yen: '1,980', '¥1,980', '1980円', '１９８０', '-500', '1980.0'. The import bounds the amount
    (MAX_AMOUNT); a number too long to be read at all is refused here with the same bound."""
    text = _normal(value).replace(",", "").replace("¥", "").replace("\\", "").replace("円", "").replace(" ", "")
    if not _MONEY.fullmatch(text):
        raise BadValue(_("“%(value)s” is not an amount in whole yen.") % {"value": value})
    digits = text.split(".")[0]
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise BadValue(_("The amount is too large (the limit is ¥%(limit)s).") % {"limit": f"{MAX_AMOUNT:,}"})
    return int(digits)


def parse_count(value: str) -> int:
    """A whole number of 1 or more; the import bounds it (MAX_QUANTITY), a number too long to be read at all
    is refused here with the same bound."""
    text = _normal(value).replace(",", "").replace("個", "").replace("点", "")
    if not (text.isascii() and text.isdigit()) or int(text[: MAX_DIGITS + 1]) < 1:
        raise BadValue(_("“%(value)s” is not a quantity (a whole number of 1 or more).") % {"value": value})
    if len(text) > MAX_DIGITS:
        raise BadValue(_("The quantity is too large (the limit is %(limit)s).") % {"limit": f"{MAX_QUANTITY:,}"})
    return int(text)


def parse_rate(value: str) -> int:
    """'10', '10%', '８％', '0.08' → percent."""
    text = _normal(value).replace("%", "").strip()
    try:
        number = float(text)
    except ValueError:
        raise BadValue(_("“%(value)s” is not a tax rate (10, 8, 10%%).") % {"value": value}) from None
    if 0 < number < 1:
        number *= 100
    if number != round(number) or not 0 <= number <= 100:
        raise BadValue(_("“%(value)s” is not a tax rate (10, 8, 10%%).") % {"value": value})
    return round(number)


def parse_postal(value: str) -> str:
    """'1000005', '〒100-0005' → '100-0005'; anything else as written (the address check will say so)."""
    return normalize_postal_code(value) or value.strip()


PARSERS: dict[str, Callable[[str], Any]] = {
    TEXT: lambda value: value.strip(),
    DATETIME: parse_datetime,
    DATE: parse_date,
    MONEY: parse_money,
    COUNT: parse_count,
    RATE: parse_rate,
    POSTAL: parse_postal,
    ADDRESS: lambda value: value.strip(),
}

# --- rows to orders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    order: str  # the order number ("" when the row has none)
    column: str  # the header of the column at fault ("" for the row as a whole)
    message: str


@dataclass
class _Group:
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class Reading:
    """The file read with a mapping: the orders in file order (ImportedOrder or FailedOrder) and every error."""

    items: list[ImportedOrder | FailedOrder]
    errors: list[RowError]
    rows: int  # data rows (blank rows not counted)
    lines: int  # order lines of the readable orders
    first_rows: dict[str, int] = field(default_factory=dict)  # order number → its first row

    @property
    def orders(self) -> list[ImportedOrder]:
        return [item for item in self.items if isinstance(item, ImportedOrder)]

    @property
    def failed(self) -> list[FailedOrder]:
        return [item for item in self.items if isinstance(item, FailedOrder)]


CANCELLED_WORDS = ("キャンセル", "取消", "取り消し", "cancel")


PROGRESS_EVERY = 5_000  # rows between two calls of read_orders' `progress`


def read_orders(decoded: Decoded, mapping: Mapping[str, str], progress: Callable[[int], None] | None = None) -> Reading:
    """Every order of the file, read with `mapping` (which must have no mapping_problems). `progress` is
    called with the number of rows read so far every PROGRESS_EVERY rows."""
    header = decoded.header
    index = {name: position for position, name in enumerate(header)}
    columns = {key: index[column] for key, column in mapping.items() if key in BY_KEY and column in index}
    number_at = columns["external_id"]
    groups: dict[str, _Group] = {}
    errors: list[RowError] = []
    items_at: list[tuple[int, ImportedOrder | FailedOrder]] = []  # (first row, item), to keep file order
    rows = 0
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter)
    try:
        next(reader, None)
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            if progress is not None and rows % PROGRESS_EVERY == 0:
                progress(rows)
            if rows > MAX_ROWS:
                raise CsvRefused(
                    _("The file has more than %(n)d rows: split it and upload the parts.") % {"n": MAX_ROWS}
                )
            number = _normal(cells[number_at]) if number_at < len(cells) else ""
            if not number:
                message = _("The row has no order number.")
                errors.append(RowError(row_number, "", header[number_at], message))
                items_at.append(
                    (
                        row_number,
                        FailedOrder(
                            "",
                            _("Row %(row)d: %(message)s") % {"row": row_number, "message": message},
                            _payload(decoded, [(row_number, cells)]),
                        ),
                    )
                )
                continue
            groups.setdefault(number, _Group()).rows.append((row_number, cells))
    except csv.Error as error:
        raise CsvRefused(
            _("Row %(row)d cannot be read as CSV: %(error)s") % {"row": reader.line_num, "error": error}
        ) from None
    lines = 0
    first_rows: dict[str, int] = {}
    while groups:  # each order's rows let go of once read: a long file is not held twice
        number, group = groups.popitem()
        item, order_errors = _order(decoded, columns, number, group)
        errors.extend(order_errors)
        if isinstance(item, ImportedOrder):
            lines += len(item.lines)
        first_rows[number] = group.rows[0][0]
        items_at.append((group.rows[0][0], item))
    items_at.sort(key=lambda pair: pair[0])
    errors.sort(key=lambda error: error.row)
    return Reading(
        items=[item for _row, item in items_at], errors=errors, rows=rows, lines=lines, first_rows=first_rows
    )


def _payload(decoded: Decoded, rows: list[tuple[int, list[str]]]) -> str:
    """The order's rows as received, under the header, for the failure record."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=decoded.delimiter, lineterminator="\n")
    writer.writerow(decoded.header)
    for _row, cells in rows:
        writer.writerow(cells)
    return out.getvalue()


def _order(
    decoded: Decoded, columns: dict[str, int], number: str, group: _Group
) -> tuple[ImportedOrder | FailedOrder, list[RowError]]:
    errors: list[RowError] = []
    header = decoded.header
    values: dict[str, Any] = {}
    seen_at: dict[str, tuple[int, str]] = {}
    lines: list[ImportedLine] = []

    def cell(cells: list[str], key: str) -> str:
        position = columns.get(key)
        return cells[position] if position is not None and position < len(cells) else ""

    def parsed(row: int, cells: list[str], key: str) -> Any:
        raw = cell(cells, key)
        if not raw.strip():
            return None
        try:
            return PARSERS[BY_KEY[key].kind](raw)
        except BadValue as error:
            errors.append(RowError(row, number, header[columns[key]], str(error)))
            return None

    for row, cells in group.rows:
        if len(cells) > len(header):  # the values after the stray comma are in the wrong columns: say why
            errors.append(
                RowError(
                    row,
                    number,
                    "",
                    _(
                        "The row has %(cells)d values but the header %(header)d columns: a value with a comma in it "
                        "(e.g. 3,000) needs double quotes."
                    )
                    % {"cells": len(cells), "header": len(header)},
                )
            )
        for key in columns:
            target = BY_KEY[key]
            if target.line or key == "external_id":
                continue
            raw = cell(cells, key).strip()
            if not raw:
                continue
            if key in seen_at and _normal(seen_at[key][1]) != _normal(raw):
                errors.append(
                    RowError(
                        row,
                        number,
                        header[columns[key]],
                        _("“%(value)s” differs from “%(first)s” on row %(first_row)d of the same order.")
                        % {"value": raw, "first": seen_at[key][1], "first_row": seen_at[key][0]},
                    )
                )
                continue
            if key not in seen_at:
                seen_at[key] = (row, raw)
                value = parsed(row, cells, key)
                if value is not None:
                    values[key] = value
        if not any(cell(cells, key).strip() for key in columns if BY_KEY[key].line):
            continue  # a row with order values only (a shipping-fee row, a header repeated per order)
        name = cell(cells, "item_name").strip()
        if not name:
            errors.append(RowError(row, number, header[columns["item_name"]], _("The row has no item name.")))
            continue
        price = parsed(row, cells, "unit_price")
        if price is None and not cell(cells, "unit_price").strip():
            errors.append(RowError(row, number, header[columns["unit_price"]], _("The row has no unit price.")))
        quantity = parsed(row, cells, "quantity") if "quantity" in columns else None
        rate = parsed(row, cells, "tax_rate") if "tax_rate" in columns else None
        lines.append(
            ImportedLine(
                sku=cell(cells, "sku").strip(),
                name=name,
                unit_price=price or 0,
                quantity=quantity or 1,
                tax_rate=10 if rate is None else rate,
                options=cell(cells, "options").strip(),
            )
        )
    if "ordered_at" not in values and not any(error.column == header[columns["ordered_at"]] for error in errors):
        errors.append(
            RowError(group.rows[0][0], number, header[columns["ordered_at"]], _("The order has no order date."))
        )
    if not lines and not errors:
        errors.append(RowError(group.rows[0][0], number, "", _("The order has no items.")))
    if errors:
        reason = "; ".join(
            _("Row %(row)d, %(column)s: %(message)s")
            % {"row": error.row, "column": error.column or "—", "message": error.message}
            for error in errors[:10]
        )
        return FailedOrder(number, reason, _payload(decoded, group.rows)), errors
    return _imported(number, values, lines), errors


def _imported(number: str, values: dict[str, Any], lines: list[ImportedLine]) -> ImportedOrder:
    for side in ("orderer", "dest"):
        whole = values.pop(f"{side}_address", None)
        if whole and not any(values.get(f"{side}_{part}") for part in ("city", "address1")):
            split = split_address(whole, values.get(f"{side}_postal_code", ""))
            values.setdefault(f"{side}_prefecture", split.prefecture)
            values[f"{side}_city"] = split.city
            values[f"{side}_address1"] = split.rest
        elif whole:  # separate columns too: keep the one-column text where nothing else holds it
            values.setdefault(f"{side}_address2", whole)
    # A file with one person per order (an auction's buyer is who it goes to), or with the buyer's name and
    # phone but only the ship-to address: each side fills what it lacks, group by group, from the other.
    for source, target in (("orderer", "dest"), ("dest", "orderer")):
        for group in PERSON_GROUPS:
            if not any(values.get(f"{target}_{part}") for part in group):
                for part in group:
                    if values.get(f"{source}_{part}"):
                        values[f"{target}_{part}"] = values[f"{source}_{part}"]
    status = values.pop("mall_status", "")
    payment = values.pop("payment", "")
    order = ImportedOrder(
        external_id=number,
        ordered_at=values.pop("ordered_at"),
        mall_status=status,
        cancelled=any(word in status.lower() for word in CANCELLED_WORDS),
        payment_code=payment,
        payment_name=payment,
        delivery_name=values.pop("delivery", ""),
        total=values.pop("total", None),
        lines=tuple(lines),
    )
    return replace(order, **values)


def rows_preview(decoded: Decoded, limit: int = 5) -> Iterator[list[str]]:
    """The first data rows as they are, for showing the file next to its mapping."""
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter)
    try:
        next(reader, None)
        shown = 0
        for cells in reader:
            if shown >= limit:
                return
            if any(cell.strip() for cell in cells):
                shown += 1
                yield cells
    except csv.Error:
        return
