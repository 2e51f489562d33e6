"""Mail templates: the placeholders, the sandbox that renders them, and the check made when one is saved.

Tenants write templates; tenant text must never reach Python objects. Templates are Jinja2 in a
`SandboxedEnvironment` with `StrictUndefined`, rendered from plain values (str, int, lists of dicts of those)
built here from the order, so no attribute of a model is reachable from a template. A placeholder the product
does not know is refused when the template is saved, with its line; it can never leave an empty hole in a mail.

Placeholders are Japanese words, as in the trade's own tools: `{{ 注文者名 }} 様`. Amounts come formatted
("3,980円"); `明細` is the lines as a list for a template that lays them out itself, `商品明細` the same as a
text table.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jaconv
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from orders.services import tax_by_rate
from orders.slots import slot_label

WEEKDAYS = "月火水木金土日"

# name → what it holds (shown beside the template editor). One list: the editor, the check and the context.
PLACEHOLDERS: dict[str, Any] = {
    "注文番号": gettext_lazy("the mall's order number"),
    "注文日": gettext_lazy("order date (2026年12月5日(土))"),
    "注文日時": gettext_lazy("order date and time"),
    "店舗名": gettext_lazy("the shop's name"),
    "店舗URL": gettext_lazy("the shop's URL"),
    "店舗電話番号": gettext_lazy("the shop's phone"),
    "店舗メールアドレス": gettext_lazy("the shop's From address"),
    "注文者名": gettext_lazy("orderer's name"),
    "注文者カナ": gettext_lazy("orderer's name in kana"),
    "注文者郵便番号": gettext_lazy("orderer's postal code"),
    "注文者住所": gettext_lazy("orderer's address"),
    "注文者電話番号": gettext_lazy("orderer's phone"),
    "注文者メールアドレス": gettext_lazy("orderer's mail address"),
    "送付先名": gettext_lazy("recipient's name"),
    "送付先会社名": gettext_lazy("recipient's company"),
    "送付先郵便番号": gettext_lazy("recipient's postal code"),
    "送付先住所": gettext_lazy("recipient's address"),
    "送付先電話番号": gettext_lazy("recipient's phone"),
    "商品明細": gettext_lazy("the lines as a text table"),
    "明細": gettext_lazy("the lines as a list: 商品名, SKU, オプション, 単価, 数量, 金額, 税率"),
    "商品合計": gettext_lazy("item subtotal"),
    "送料": gettext_lazy("shipping fee"),
    "代引手数料": gettext_lazy("COD fee"),
    "割引": gettext_lazy("discount"),
    "ポイント利用": gettext_lazy("points used"),
    "消費税": gettext_lazy("consumption tax included"),
    "合計金額": gettext_lazy("total"),
    "税率別内訳": gettext_lazy("amounts and tax per rate (10% / 8%)"),
    "支払方法": gettext_lazy("payment method"),
    "配送方法": gettext_lazy("delivery method"),
    "お届け希望日": gettext_lazy("requested delivery date (empty: none)"),
    "お届け時間帯": gettext_lazy("requested time slot (empty: none)"),
    "発送日": gettext_lazy("ship date (empty: not set)"),
    "差込文": gettext_lazy("the mail insert text the rules added"),
    "備考": gettext_lazy("the customer's remarks"),
    "入金額": gettext_lazy("amount paid"),
    "入金日": gettext_lazy("payment date"),
    "キャンセル理由": gettext_lazy("cancellation reason"),
    "送り状番号": gettext_lazy("tracking number (empty until the shipment has one)"),
    "追跡URL": gettext_lazy("the carrier's tracking page (empty until the shipment has one)"),
}
NAMES = frozenset(PLACEHOLDERS)


def yen(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}円"


def date_ja(value: dt.date | None) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日({WEEKDAYS[value.weekday()]})"


def _filters() -> dict[str, Any]:
    return {"円": yen, "yen": yen}


@functools.cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # text mail: nothing is HTML here; where a mail is shown in a page, Django escapes it
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_filters())
    return env


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Any:
    return environment().from_string(source)


# --- the check at save time ---------------------------------------------------------------------------------


def _line_of(source: str, name: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if name in line:
            return number
    return 1


def _problems(source: str, where: str) -> list[str]:
    try:
        parsed = environment().parse(source)
    except TemplateSyntaxError as error:
        return [
            _("%(where)s, line %(line)s: the template cannot be read (%(error)s).")
            % {"where": where, "line": error.lineno, "error": syntax_error_text(error.message or "")}
        ]
    unknown = sorted(meta.find_undeclared_variables(parsed) - NAMES, key=lambda name: _line_of(source, name))
    return [
        _("%(where)s, line %(line)s: unknown placeholder “%(name)s”.")
        % {"where": where, "line": _line_of(source, name), "name": name}
        for name in unknown
    ]


def syntax_error_text(message: str) -> str:
    """Jinja's commonest complaints in the reader's language; the rest as Jinja words them."""
    if message.startswith("Unexpected end of template"):
        return _("a block is not closed: an {% endif %} or {% endfor %} is missing")
    if message.startswith("Encountered unknown tag"):
        tag = message.split("'")[1] if "'" in message else ""
        return _("unknown tag “%(tag)s”") % {"tag": tag}
    if message.startswith(("unexpected", "expected token")):
        return _("braces that do not match, or an expression left unfinished (%(detail)s)") % {"detail": message}
    return message


def check_template(*, subject: str, body: str, charset: str = "utf-8") -> None:
    """Refuse a template that cannot be rendered for every order: broken syntax or an unknown placeholder,
    named with its line; then render it over a sample order, which finds what parsing cannot (a filter that
    does not exist, a loop over a placeholder that is not a list)."""
    errors = _problems(subject, str(_("subject"))) + _problems(body, str(_("body")))
    if not errors:
        try:
            render_text(subject, sample_context())
            render_text(body, sample_context())
        except (MailRenderError, TemplateError, TypeError, ValueError) as error:
            errors.append(_("The template fails on a sample order: %(error)s") % {"error": error})
    if errors:
        raise ValidationError(errors)


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """Render tenant text in the sandbox. Raises MailRenderError with the reason in words."""
    try:
        return str(_compiled(source).render(dict(context)))
    except UndefinedError as error:
        raise MailRenderError(_("unknown placeholder: %(error)s") % {"error": error}) from error
    except SecurityError as error:
        raise MailRenderError(_("not allowed in a template: %(error)s") % {"error": error}) from error
    except TemplateError as error:
        raise MailRenderError(str(error)) from error
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
        # what a template that passed the check can still do with a real order's values (a division by zero)
        raise MailRenderError(_("the template fails on this order: %(error)s") % {"error": error}) from error


class MailRenderError(Exception):
    """A template could not be rendered for an order (the reason, in the reader's language)."""


# --- the values of one order --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopFacts:
    """What the placeholders say of the shop."""

    name: str
    url: str = ""
    phone: str = ""
    from_address: str = ""


def _address(postal: str, prefecture: str, city: str, line1: str, line2: str) -> str:
    place = f"{prefecture}{city}{line1}"
    return " ".join(part for part in (f"〒{postal}" if postal else "", place, line2) if part)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def lines_table(lines: Sequence[Mapping[str, Any]]) -> str:
    """The lines as text mail shows them: one block per line, as Japanese shops write them."""
    blocks = []
    for line in lines:
        head = f"[{line['SKU']}] {line['商品名']}" if line["SKU"] else str(line["商品名"])
        options = f"\n  ({line['オプション']})" if line["オプション"] else ""
        reduced = " ※軽減税率対象" if line["税率"] == 8 else ""
        blocks.append(f"{head}{options}\n  価格 {line['単価']} × {line['数量']}個 = {line['金額']}{reduced}")
    return "\n".join(blocks)


def rate_table(by_rate: Mapping[int, tuple[int, int]]) -> str:
    rows = [f"{rate}%対象 {yen(amount)} (内消費税 {yen(tax)})" for rate, (amount, tax) in by_rate.items() if amount]
    return "\n".join(rows)


class LineValues(NamedTuple):
    """An order line as the mail reads it (orders.OrderLine's fields, without the model)."""

    position: int
    sku: str
    name: str
    options: str
    unit_price: int
    quantity: int
    tax_rate: int
    pk: int = 0


# The order fields the placeholders and the sending read (mailer.services.compose.orders_for_mail).
MAIL_ORDER_FIELDS = (
    "id", "tenant_id", "shop_id", "external_id", "ordered_at",
    "orderer_name", "orderer_kana", "orderer_email", "orderer_phone", "orderer_postal_code", "orderer_prefecture",
    "orderer_city", "orderer_address1", "orderer_address2",
    "dest_name", "dest_company", "dest_phone", "dest_postal_code", "dest_prefecture", "dest_city",
    "dest_address1", "dest_address2",
    "item_subtotal", "shipping_fee", "cod_fee", "discount", "points_used", "tax", "total",
    "payment_method_id", "delivery_method_id", "requested_delivery_date", "delivery_slot", "delivery_time_slot",
    "ship_date", "mail_insert", "remarks", "paid_amount", "paid_on", "cancel_reason", "personal_data_erased_at",
)  # fmt: skip


def order_context(order: Any, shop: ShopFacts, tracking: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """The placeholders' values for one order (a mailer.services.compose.MailOrder: the order's fields, its
    `lines` and its methods' names): plain str, int and lists of dicts, never a model."""
    line_objs = list(order.lines)
    rows = [
        {
            "商品名": line.name,
            "SKU": line.sku,
            "オプション": line.options,
            "単価": yen(line.unit_price),
            "数量": line.quantity,
            "金額": yen(line.unit_price * line.quantity),
            "税率": line.tax_rate,
        }
        for line in line_objs
    ]
    ordered = timezone.localtime(order.ordered_at)
    payment, delivery = order.payment_method_name, order.delivery_method_name
    values = {
        "注文番号": order.external_id,
        "注文日": date_ja(ordered.date()),
        "注文日時": f"{date_ja(ordered.date())} {ordered:%H:%M}",
        "店舗名": shop.name,
        "店舗URL": shop.url,
        "店舗電話番号": shop.phone,
        "店舗メールアドレス": shop.from_address,
        "注文者名": order.orderer_name,
        "注文者カナ": order.orderer_kana,
        "注文者郵便番号": order.orderer_postal_code,
        "注文者住所": _address(
            order.orderer_postal_code,
            order.orderer_prefecture,
            order.orderer_city,
            order.orderer_address1,
            order.orderer_address2,
        ),
        "注文者電話番号": order.orderer_phone,
        "注文者メールアドレス": order.orderer_email,
        "送付先名": order.dest_name,
        "送付先会社名": order.dest_company,
        "送付先郵便番号": order.dest_postal_code,
        "送付先住所": _address(
            order.dest_postal_code, order.dest_prefecture, order.dest_city, order.dest_address1, order.dest_address2
        ),
        "送付先電話番号": order.dest_phone,
        "商品明細": lines_table(rows),
        "明細": rows,
        "商品合計": yen(order.item_subtotal),
        "送料": yen(order.shipping_fee),
        "代引手数料": yen(order.cod_fee),
        "割引": yen(order.discount),
        "ポイント利用": yen(order.points_used),
        "消費税": yen(order.tax),
        "合計金額": yen(order.total),
        "税率別内訳": rate_table(
            tax_by_rate(
                lines=line_objs, shipping_fee=order.shipping_fee, cod_fee=order.cod_fee, discount=order.discount
            )
        ),
        "支払方法": payment,
        "配送方法": delivery,
        "お届け希望日": date_ja(order.requested_delivery_date),
        "お届け時間帯": str(slot_label(order.delivery_slot)) if order.delivery_slot else order.delivery_time_slot,
        "発送日": date_ja(order.ship_date),
        "差込文": order.mail_insert,
        "備考": order.remarks,
        "入金額": yen(order.paid_amount),
        "入金日": date_ja(order.paid_on),
        "キャンセル理由": order.cancel_reason,
        "送り状番号": tracking[0],
        "追跡URL": tracking[1],
    }
    return values


@functools.cache
def _sample() -> dict[str, Any]:
    rows = [
        {
            "商品名": "有機緑茶 100g",
            "SKU": "TEA-100",
            "オプション": "",
            "単価": "1,490円",
            "数量": 2,
            "金額": "2,980円",
            "税率": 8,
        },
        {
            "商品名": "湯呑み",
            "SKU": "CUP-1",
            "オプション": "色:藍",
            "単価": "1,200円",
            "数量": 1,
            "金額": "1,200円",
            "税率": 10,
        },
    ]
    values: dict[str, Any] = dict.fromkeys(NAMES, "サンプル")
    values.update({"明細": rows, "商品明細": lines_table(rows)})
    return values


def sample_context() -> dict[str, Any]:
    """A made-up order in the placeholders' shapes: what a template is checked against when saved."""
    return dict(_sample())


# --- the text as it goes out ----------------------------------------------------------------------------

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def one_line(text: str) -> str:
    """A header value: every kind of line break becomes a space, so no order field can add a header."""
    return _LINE_BREAKS.sub(" ", text).strip()


def with_signature(body: str, signature: str) -> str:
    body = body.rstrip("\n")
    if not signature.strip():
        return body + "\n"
    return f"{body}\n\n{signature.strip(chr(10))}\n"


def jis_safe(text: str) -> tuple[str, list[str]]:
    """Text ISO-2022-JP can carry: half-width kana made full-width, other characters outside JIS X 0208 as 〓
    (the trade's mark for a character that could not be sent). Returns the text and the characters replaced."""
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    out, replaced = [], []
    for ch in text:
        try:
            ch.encode("iso-2022-jp")
        except UnicodeEncodeError:
            replaced.append(ch)
            ch = "〓"
        out.append(ch)
    return "".join(out), replaced
