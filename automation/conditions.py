"""One condition language for rules (B3) and task definitions (B4): a registry of order fields, validation
with messages that name the field, and compilation to ONE `Q` over `orders.Order`.

A condition set is JSON:

    {"match": "all" | "any", "items": [{"field": "payment_method", "op": "in", "value": [3, 4]}, …]}

An empty `items` list matches every order of the tenant. The value's shape follows the operator:

    eq, ne, contains, startswith, gt, lt   one value
    in, not_in                             a non-empty list (a single value is taken as a list of one)
    between                                [low, high], both included, low ≤ high
    empty, not_empty                       no value (ignored, normalised to null)

Why one `Q`: the engine applies a rule to every order of an import at once (`Order.objects.filter(q)`), so
a rule costs a fixed number of queries whatever the batch size. Relations an order has many of (lines,
labels, open tasks, remote-island rows) compile to `Exists(...)` subqueries, the total quantity to a `Sum`
subquery; no condition ever loops over orders in Python.

Why validation is strict: a condition that silently matched everything (a deleted status, "1O00" as a
number) would let a rule move every order. `clean_conditions` refuses such input when a rule is saved, and
`compile_conditions` refuses it again at run time (a status may have been deleted since).

Text matching: the value is trimmed and NFKC-normalised (full-width letters and digits, half-width kana);
`contains` and `startswith` are case-insensitive and also try the value as typed and its full-width form,
because the stored text is whatever the mall sent. `eq` is an exact comparison (SKUs are codes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_
from typing import Any

import jaconv
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, Model, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, Replace, Substr
from django.db.models.lookups import Exact, GreaterThan, In, LessThan, Range
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backyard.models import Tenant
from japan.address import PREFECTURES, normalize_postal_code
from orders.models import Label, OrderLabel, OrderLine, PaymentMethod, Status
from shipping.models import DeliveryMethod
from shops.models import Shop

from .models import OrderTask, RemoteIsland, TaskDefinition

OPERATORS: dict[str, Promise] = {
    "eq": _("equals"),
    "ne": _("does not equal"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "contains": _("contains"),
    "startswith": _("starts with"),
    "empty": _("is empty"),
    "not_empty": _("is not empty"),
    "gt": _("is greater than"),
    "lt": _("is less than"),
    "between": _("is between"),
}
MATCHES = ("all", "any")
LIST_OPS = frozenset({"in", "not_in"})
NO_VALUE_OPS = frozenset({"empty", "not_empty"})

# Amounts and quantities beyond this are typing mistakes, and would overflow the database's integers.
MAX_NUMBER = 10**12
# What counts as "empty" text: nothing but spaces (half and full width), tabs and line breaks.
_BLANK_RE = "^[ \t\r\n\u3000]*$"
# Characters ignored when comparing orderer and destination: spaces and the hyphens people type.
_SQUASHED = (" ", "\u3000", "-", "－", "‐", "−", "–", "—")

_POSTAL_NOISE = re.compile(r"[\s〒\-‐‑‒–—―−ー－ｰ﹣﹘]")
_POSTAL_PREFIX = re.compile(r"[0-9]{1,7}", re.ASCII)

ChoicesFn = Callable[[Tenant], list[tuple[Any, str]]]
Compiler = Callable[[int, str, Any], Q]


class ConditionError(ValidationError):
    """A condition set that cannot be saved or compiled; `messages` says what, each naming the field."""


@dataclass(frozen=True)
class FieldSpec:
    """One order field an admin can test.

    kind: "choice" (one of the tenant's rows, or a fixed list; the value is its id or code),
    "multi_choice" (the order has several: labels, open tasks; the value is an id), "text", "number",
    "bool", "postal_code" or "date_present" (only empty / not empty).
    """

    code: str
    label: Promise
    kind: str
    operators: tuple[str, ...]
    choices_fn: ChoicesFn | None = field(default=None, repr=False, compare=False)
    compiler: Compiler | None = field(default=None, repr=False, compare=False)
    # For fields whose values are ids of tenant rows: the model, and the message when an id is not the tenant's.
    model: type[Model] | None = field(default=None, repr=False, compare=False)
    missing_message: Promise | None = field(default=None, repr=False, compare=False)

    def choices(self, tenant: Tenant) -> list[tuple[Any, str]] | None:
        """What the UI offers for the value (the tenant's rows, the prefectures, yes/no); None for free input."""
        return self.choices_fn(tenant) if self.choices_fn is not None else None


# --- choices for the UI -------------------------------------------------------------------------------------


def _rows(model: type[Model]) -> ChoicesFn:
    def choices(tenant: Tenant) -> list[tuple[Any, str]]:
        rows = model.objects.for_tenant(tenant).order_by("position", "pk")  # type: ignore[attr-defined]
        return [(pk, str(name)) for pk, name in rows.values_list("pk", "name")]

    return choices


def _status_choices(tenant: Tenant) -> list[tuple[Any, str]]:
    rows = (
        Status.objects.for_tenant(tenant)
        .order_by("group__position", "group_id", "position", "pk")
        .values_list("pk", "group__name", "name")
    )
    return [(pk, f"{group} / {name}") for pk, group, name in rows]


def _prefecture_choices(tenant: Tenant) -> list[tuple[Any, str]]:
    return [(p, p) for p in PREFECTURES]


def _bool_choices(tenant: Tenant) -> list[tuple[Any, str]]:
    return [(True, str(_("Yes"))), (False, str(_("No")))]


# --- compilers: (tenant id, operator, normalised value) → Q --------------------------------------------------


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _variants(text: str) -> list[str]:
    """The value as typed, NFKC-normalised, and with ASCII made full width: what the stored text may hold."""
    norm = _nfkc(text)
    wide = jaconv.h2z(norm, kana=False, ascii=True, digit=True)
    return list(dict.fromkeys(v for v in (text.strip(), norm, wide) if v))


def _any(qs: Iterable[Q]) -> Q:
    return reduce(or_, qs)


def _text_q(name: str, op: str, value: Any) -> Q:
    """A text comparison on `name` (a field of the queried model)."""
    if op == "empty":
        return Q(**{f"{name}__regex": _BLANK_RE})
    if op == "not_empty":
        return ~Q(**{f"{name}__regex": _BLANK_RE})
    if op == "in":
        return Q(**{f"{name}__in": [v for item in value for v in _variants(item)]})
    lookup = {"eq": "exact", "contains": "icontains", "startswith": "istartswith"}[op]
    return _any(Q(**{f"{name}__{lookup}": v}) for v in _variants(value))


def _number_q(name: str, op: str, value: Any) -> Q:
    if op == "ne":
        return ~Q(**{name: value})
    lookup = {"eq": "exact", "gt": "gt", "lt": "lt", "between": "range"}[op]
    return Q(**{f"{name}__{lookup}": tuple(value) if op == "between" else value})


def _expression_q(expression: Any, op: str, value: Any) -> Q:
    """A number comparison on an expression (a subquery), through lookups used as boolean expressions."""
    if op == "eq":
        return Q(Exact(expression, value))
    if op == "ne":
        return ~Q(Exact(expression, value))
    if op == "gt":
        return Q(GreaterThan(expression, value))
    if op == "lt":
        return Q(LessThan(expression, value))
    return Q(Range(expression, tuple(value)))


def _id_q(name: str, op: str, value: Any) -> Q:
    """A foreign key compared with ids; `ne` and `not_in` include orders where it is not set."""
    if op == "eq":
        return Q(**{name: value})
    if op == "ne":
        return ~Q(**{name: value})
    if op == "in":
        return Q(**{f"{name}__in": value})
    if op == "not_in":
        return ~Q(**{f"{name}__in": value})
    return Q(**{f"{name}__isnull": op == "empty"})


def _exists_q(subquery: Callable[[list[int] | None], Exists], op: str, value: Any) -> Q:
    """Labels and open tasks: "has X", "has not X", "has one of", "has none of", "has none", "has some"."""
    if op in ("eq", "ne"):
        found = Q(subquery([value]))
        return found if op == "eq" else ~found
    if op in ("in", "not_in"):
        found = Q(subquery(value))
        return found if op == "in" else ~found
    found = Q(subquery(None))
    return found if op == "not_empty" else ~found


def _field(name: str, kind: str) -> Compiler:
    def compile_(tenant_id: int, op: str, value: Any) -> Q:
        if kind == "text":
            return _text_q(name, op, value)
        if kind == "number":
            return _number_q(name, op, value)
        if kind == "bool":
            return Q(**{name: value})
        return _id_q(name, op, value)

    return compile_


def _line(name: str) -> Compiler:
    """Any line of the order: one `Exists` over its lines."""

    def compile_(tenant_id: int, op: str, value: Any) -> Q:
        lines = OrderLine.objects.filter(tenant_id=tenant_id, order_id=OuterRef("pk"))
        return Q(Exists(lines.filter(_text_q(name, op, value))))

    return compile_


def _total_quantity(tenant_id: int, op: str, value: Any) -> Q:
    total = (
        OrderLine.objects.filter(tenant_id=tenant_id, order_id=OuterRef("pk"))
        .order_by()
        .values("order_id")
        .annotate(n=Sum("quantity"))
        .values("n")[:1]
    )
    return _expression_q(Coalesce(Subquery(total), Value(0)), op, value)


def _labels(tenant_id: int, op: str, value: Any) -> Q:
    def subquery(ids: list[int] | None) -> Exists:
        qs = OrderLabel.objects.filter(tenant_id=tenant_id, order_id=OuterRef("pk"))
        return Exists(qs.filter(label_id__in=ids) if ids is not None else qs)

    return _exists_q(subquery, op, value)


def _tasks(tenant_id: int, op: str, value: Any) -> Q:
    def subquery(ids: list[int] | None) -> Exists:
        qs = OrderTask.objects.filter(tenant_id=tenant_id, order_id=OuterRef("pk"), resolved_at__isnull=True)
        return Exists(qs.filter(definition_id__in=ids) if ids is not None else qs)

    return _exists_q(subquery, op, value)


def _prefecture(tenant_id: int, op: str, value: Any) -> Q:
    if op in ("eq", "in"):
        return Q(dest_prefecture__in=value if op == "in" else [value])
    return ~Q(dest_prefecture__in=value if op == "not_in" else [value])


def _postal_forms(code: str) -> list[str]:
    """'100-0005' → both stored forms, '100-0005' and '1000005' (forms store the first, imports may not)."""
    return [code, code.replace("-", "")]


def _postal(tenant_id: int, op: str, value: Any) -> Q:
    if op in NO_VALUE_OPS:
        return _text_q("dest_postal_code", op, value)
    if op == "eq":
        return Q(dest_postal_code__in=_postal_forms(value))
    if op == "in":
        return Q(dest_postal_code__in=[form for code in value for form in _postal_forms(code)])
    # startswith: value is 1-7 digits; after the third digit the stored form may carry a hyphen
    if len(value) <= 3:
        return Q(dest_postal_code__startswith=value)
    return Q(dest_postal_code__startswith=f"{value[:3]}-{value[3:]}") | Q(dest_postal_code__startswith=value)


def remote_island_q(tenant_id: int) -> Q:
    """Orders going to a remote island: the mall's flag, or a `RemoteIsland` row of the tenant that is the
    destination's 7 digits or a 3-6 digit prefix of them.

    Each prefix length is one uncorrelated `IN (SELECT postal_code …)`: PostgreSQL reads the tenant's island
    codes once into a hash and probes it per order, where a correlated EXISTS probed the index five times
    per order (31 ms instead of 434 ms for 5,000 orders).
    """
    digits = Replace(F("dest_postal_code"), Value("-"), Value(""))
    codes = RemoteIsland.objects.filter(tenant_id=tenant_id).values("postal_code")
    q = Q(mall_remote_island=True)
    for n in range(3, 8):
        q |= Q(In(Substr(digits, 1, n), Subquery(codes)))
    return q


def _remote_island(tenant_id: int, op: str, value: Any) -> Q:
    q = remote_island_q(tenant_id)
    return q if value else ~q


def _squash(expression: Any) -> Any:
    for char in _SQUASHED:
        expression = Replace(expression, Value(char), Value(""))
    return expression


def orderer_differs_q() -> Q:
    """The orderer and the destination differ in name, postal code or address.

    Each part is compared with spaces and hyphens removed, and only when both sides have it: a mall that
    sends no separate destination (or no orderer address) does not make every order a gift.
    """
    parts = [
        ("orderer_name", "dest_name"),
        ("orderer_postal_code", "dest_postal_code"),
        (
            Concat("orderer_prefecture", "orderer_city", "orderer_address1", "orderer_address2"),
            Concat("dest_prefecture", "dest_city", "dest_address1", "dest_address2"),
        ),
    ]
    differs = []
    for orderer, dest in parts:
        o = _squash(orderer)
        d = _squash(dest)
        differs.append(~Q(Exact(o, Value(""))) & ~Q(Exact(d, Value(""))) & ~Q(Exact(o, d)))
    return _any(differs)


def _orderer_differs(tenant_id: int, op: str, value: Any) -> Q:
    q = orderer_differs_q()
    return q if value else ~q


# --- the registry, in display order -------------------------------------------------------------------------

CHOICE_OPS = ("eq", "ne", "in", "not_in")
NULLABLE_CHOICE_OPS = (*CHOICE_OPS, "empty", "not_empty")
TEXT_OPS = ("contains", "startswith", "eq", "empty", "not_empty")
NUMBER_OPS = ("eq", "ne", "gt", "lt", "between")
BOOL_OPS = ("eq",)

FIELDS: dict[str, FieldSpec] = {
    spec.code: spec
    for spec in [
        FieldSpec(
            "shop",
            _("Shop"),
            "choice",
            CHOICE_OPS,
            _rows(Shop),
            _field("shop_id", "id"),
            Shop,
            _("%(field)s: the selected shop (ID %(id)s) does not exist."),
        ),
        FieldSpec(
            "payment_method",
            _("Payment method"),
            "choice",
            NULLABLE_CHOICE_OPS,
            _rows(PaymentMethod),
            _field("payment_method_id", "id"),
            PaymentMethod,
            _("%(field)s: the selected payment method (ID %(id)s) does not exist."),
        ),
        FieldSpec(
            "delivery_method",
            _("Delivery method"),
            "choice",
            NULLABLE_CHOICE_OPS,
            _rows(DeliveryMethod),
            _field("delivery_method_id", "id"),
            DeliveryMethod,
            _("%(field)s: the selected delivery method (ID %(id)s) does not exist."),
        ),
        FieldSpec("remarks", _("Remarks from the customer"), "text", TEXT_OPS, None, _field("remarks", "text")),
        FieldSpec("order_comment", _("Order-time comment"), "text", TEXT_OPS, None, _field("order_comment", "text")),
        FieldSpec(
            "post_order_comment", _("Post-order comment"), "text", TEXT_OPS, None, _field("post_order_comment", "text")
        ),
        FieldSpec("mail_inquiry", _("Mail inquiry"), "bool", BOOL_OPS, _bool_choices, _field("mail_inquiry", "bool")),
        FieldSpec("total", _("Total"), "number", NUMBER_OPS, None, _field("total", "number")),
        FieldSpec("item_subtotal", _("Item subtotal"), "number", NUMBER_OPS, None, _field("item_subtotal", "number")),
        FieldSpec("line_sku", _("SKU of any line"), "text", ("eq", "in", "contains", "startswith"), None, _line("sku")),
        FieldSpec(
            "line_name", _("Item name of any line"), "text", ("contains", "eq", "startswith"), None, _line("name")
        ),
        FieldSpec("total_quantity", _("Total quantity"), "number", NUMBER_OPS, None, _total_quantity),
        FieldSpec(
            "dest_prefecture", _("Destination prefecture"), "choice", CHOICE_OPS, _prefecture_choices, _prefecture
        ),
        FieldSpec(
            "dest_postal_code",
            _("Destination postal code"),
            "postal_code",
            ("eq", "startswith", "in", "empty", "not_empty"),
            None,
            _postal,
        ),
        FieldSpec("remote_island", _("Remote island"), "bool", BOOL_OPS, _bool_choices, _remote_island),
        FieldSpec(
            "requested_delivery_date",
            _("Requested delivery date"),
            "date_present",
            ("not_empty", "empty"),
            None,
            _field("requested_delivery_date", "id"),
        ),
        FieldSpec(
            "orderer_differs", _("Orderer differs from destination"), "bool", BOOL_OPS, _bool_choices, _orderer_differs
        ),
        FieldSpec(
            "label",
            _("Label"),
            "multi_choice",
            NULLABLE_CHOICE_OPS,
            _rows(Label),
            _labels,
            Label,
            _("%(field)s: the selected label (ID %(id)s) does not exist."),
        ),
        FieldSpec(
            "task",
            _("Open task"),
            "multi_choice",
            NULLABLE_CHOICE_OPS,
            _rows(TaskDefinition),
            _tasks,
            TaskDefinition,
            _("%(field)s: the selected task (ID %(id)s) does not exist."),
        ),
        FieldSpec(
            "status",
            _("Current status"),
            "choice",
            CHOICE_OPS,
            _status_choices,
            _field("status_id", "id"),
            Status,
            _("%(field)s: the selected status (ID %(id)s) does not exist."),
        ),
    ]
}


# --- validation -----------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """One bad value; carries the message, already naming the field."""


def _msg(template: str, spec: FieldSpec, **params: Any) -> str:
    """A translated message template filled in with the field's label (and the other params)."""
    return template % {"field": spec.label, **params}


def _number(spec: FieldSpec, value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a whole number."), spec, value=value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = _nfkc(value).replace(",", "").replace("円", "").replace("¥", "").replace("￥", "").strip()
        try:
            number = int(text, 10)
        except ValueError:
            raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a whole number."), spec, value=value)) from None
    else:
        raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a whole number."), spec, value=value))
    if abs(number) > MAX_NUMBER:
        raise _Invalid(_msg(gettext("%(field)s: %(value)s is out of range."), spec, value=value))
    return number


def _id(spec: FieldSpec, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a valid choice."), spec, value=value))
    try:
        number = int(_nfkc(value) if isinstance(value, str) else value)
    except ValueError:
        raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a valid choice."), spec, value=value)) from None
    if number <= 0 or number > 2**62:
        raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a valid choice."), spec, value=value))
    return number


def _text(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(_msg(gettext("%(field)s: enter the text to compare with."), spec))
    return value.strip()


def _bool(spec: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _Invalid(_msg(gettext("%(field)s: choose yes or no."), spec))


def _prefecture_value(spec: FieldSpec, value: Any) -> str:
    text = _nfkc(value) if isinstance(value, str) else ""
    if text in PREFECTURES:
        return text
    raise _Invalid(_msg(gettext("%(field)s: “%(value)s” is not a prefecture."), spec, value=value))


def _postal_value(spec: FieldSpec, op: str, value: Any) -> str:
    """eq / in: a whole code as NNN-NNNN; startswith: 1 to 7 digits (hyphens and full width ignored)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        value = ""
    if op == "startswith":
        digits = _POSTAL_NOISE.sub("", unicodedata.normalize("NFKC", str(value)))
        if not _POSTAL_PREFIX.fullmatch(digits):
            raise _Invalid(_msg(gettext("%(field)s: enter the first 1 to 7 digits of a postal code."), spec))
        return digits
    code = normalize_postal_code(value)
    if code is None:
        raise _Invalid(_msg(gettext("%(field)s: enter a postal code as seven digits, e.g. 100-0005."), spec))
    return code


def _scalar(spec: FieldSpec, op: str, value: Any) -> Any:
    """One value of the field's kind, normalised."""
    if spec.kind == "number":
        return _number(spec, value)
    if spec.kind == "bool":
        return _bool(spec, value)
    if spec.kind == "postal_code":
        return _postal_value(spec, op, value)
    if spec.kind == "text":
        return _text(spec, value)
    if spec.code == "dest_prefecture":
        return _prefecture_value(spec, value)
    return _id(spec, value)


def _value(spec: FieldSpec, op: str, value: Any) -> Any:
    if op in NO_VALUE_OPS:
        return None
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _Invalid(_msg(gettext("%(field)s: “between” needs two whole numbers, the smaller first."), spec))
        low, high = (_number(spec, v) for v in value)
        if low > high:
            raise _Invalid(_msg(gettext("%(field)s: “between” needs two whole numbers, the smaller first."), spec))
        return [low, high]
    if op in LIST_OPS:
        items = list(value) if isinstance(value, list | tuple) else [value]
        if not items or all(v is None or (isinstance(v, str) and not v.strip()) for v in items):
            raise _Invalid(_msg(gettext("%(field)s: choose at least one value."), spec))
        return list(dict.fromkeys(_scalar(spec, op, v) for v in items))
    if isinstance(value, list | tuple | dict):
        raise _Invalid(_msg(gettext("%(field)s: enter one value, not a list."), spec))
    return _scalar(spec, op, value)


def _clean(tenant: Tenant, conditions: Any) -> tuple[dict[str, Any], list[str]]:
    """The normalised copy and every problem found (the copy is only meaningful when there are none)."""
    if not isinstance(conditions, dict):
        return {}, [gettext("The conditions must be an object with “match” and “items”.")]
    errors: list[str] = []
    match = conditions.get("match", "all")
    if match not in MATCHES:
        errors.append(gettext("“match” must be “all” or “any”."))
    items = conditions.get("items")
    if not isinstance(items, list):
        return {}, [*errors, gettext("“items” must be a list of conditions.")]

    cleaned: list[dict[str, Any]] = []
    wanted: dict[FieldSpec, list[int]] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("field"), str) or not isinstance(item.get("op"), str):
            errors.append(
                gettext("Condition %(number)s must be an object with “field”, “op” and “value”.") % {"number": number}
            )
            continue
        spec = FIELDS.get(item["field"])
        if spec is None:
            errors.append(
                gettext("Condition %(number)s: there is no field “%(field)s”.")
                % {"number": number, "field": item["field"]}
            )
            continue
        op = item["op"]
        if op not in OPERATORS:
            errors.append(_msg(gettext("%(field)s: there is no operator “%(op)s”."), spec, op=op))
            continue
        if op not in spec.operators:
            errors.append(_msg(gettext("%(field)s: “%(op)s” cannot be used with this field."), spec, op=OPERATORS[op]))
            continue
        try:
            value = _value(spec, op, item.get("value"))
        except _Invalid as exc:
            errors.append(str(exc))
            continue
        if spec.model is not None and value is not None:
            wanted.setdefault(spec, []).extend(value if isinstance(value, list) else [value])
        cleaned.append({"field": spec.code, "op": op, "value": value})

    errors.extend(_missing_ids(tenant, wanted))
    return {"match": match, "items": cleaned}, errors


def _missing_ids(tenant: Tenant, wanted: dict[FieldSpec, list[int]]) -> list[str]:
    """Ids that are not rows of THIS tenant (deleted, or another tenant's): one query per model."""
    errors = []
    for spec, ids in wanted.items():
        assert spec.model is not None
        assert spec.missing_message is not None
        found = set(
            spec.model._default_manager.filter(tenant_id=tenant.pk, pk__in=set(ids)).values_list("pk", flat=True)
        )
        missing = sorted(set(ids) - found)
        if missing:
            errors.append(str(spec.missing_message) % {"field": spec.label, "id": ", ".join(map(str, missing))})
    return errors


def validate_conditions(tenant: Tenant, conditions: Any) -> list[str]:
    """Every problem with a condition set, each message naming the field; [] when it can be saved."""
    return _clean(tenant, conditions)[1]


def clean_conditions(tenant: Tenant, conditions: Any) -> dict[str, Any]:
    """The normalised copy (ids as ints, trimmed text, postal codes as NNN-NNNN) to store; raises
    ConditionError with every message when anything is wrong."""
    cleaned, errors = _clean(tenant, conditions)
    if errors:
        raise ConditionError(errors)
    return cleaned


def compile_conditions(tenant: Tenant, conditions: Any) -> Q:
    """One `Q` over `orders.Order` for the tenant's orders that meet the conditions.

    Raises ConditionError rather than return something that matches everything. The Q includes the tenant
    filter itself, and every subquery is scoped to the tenant too.
    """
    cleaned = clean_conditions(tenant, conditions)
    tenant_id = int(tenant.pk)
    parts = []
    for item in cleaned["items"]:
        spec = FIELDS[item["field"]]
        assert spec.compiler is not None
        parts.append(spec.compiler(tenant_id, item["op"], item["value"]))
    scope = Q(tenant_id=tenant_id)
    if not parts:
        return scope
    return scope & reduce(and_ if cleaned["match"] == "all" else or_, parts)
