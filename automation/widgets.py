"""Builders for a rule's conditions and actions in the admin: rows of selects and inputs that write the same
JSON the engine reads. The JSON text area stays underneath (it is what the form posts, and what is shown
when JavaScript is off); the builder reads its choices from the tenant's own rows, so an admin picks
"代金引換" rather than typing an id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from backyard.models import Tenant
from mailer.models import MailKind
from orders.models import Label, Status
from shipping.models import DeliveryMethod, ShippingStore

from .actions import ACTIONS
from .conditions import FIELDS, OPERATORS
from .models import TaskDefinition

# What each action setting is, for the builder: a choice among the tenant's rows, a number, or text.
SETTING_LABELS = {
    "status": "Status",
    "task": "Task",
    "label": "Label",
    "delivery_method": "Delivery method",
    "shipping_store": "Shipping store",
    "amount": "Amount (yen)",
    "text": "Text",
    "sku": "SKU",
    "name": "Item name",
    "quantity": "Quantity",
    "kind": "Mail kind",
}
NUMBER_SETTINGS = frozenset({"amount", "quantity"})


def _setting_choices(tenant: Tenant, name: str) -> list[list[Any]] | None:
    if name == "status":
        rows = Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "position")
        return [[s.pk, f"{s.group.name} / {s.name}"] for s in rows]
    models = {
        "task": TaskDefinition,
        "label": Label,
        "delivery_method": DeliveryMethod,
        "shipping_store": ShippingStore,
        "kind": MailKind,
    }
    model = models.get(name)
    if model is None:
        return None
    return [[row.pk, str(row)] for row in model.objects.for_tenant(tenant)]


def _text(key: str) -> str:
    return {
        "Status": _("Status"),
        "Task": _("Task"),
        "Label": _("Label"),
        "Delivery method": _("Delivery method"),
        "Shipping store": _("Shipping store"),
        "Amount (yen)": _("Amount (yen)"),
        "Text": _("Text"),
        "SKU": _("SKU"),
        "Item name": _("Item name"),
        "Quantity": _("Quantity"),
        "Mail kind": _("Mail kind"),
    }[key]


def conditions_schema(tenant: Tenant | None) -> dict[str, Any]:
    fields = []
    for code, spec in FIELDS.items():
        choices = spec.choices(tenant) if tenant is not None else None
        fields.append(
            {
                "code": code,
                "label": str(spec.label),
                "kind": spec.kind,
                "ops": [{"code": op, "label": str(OPERATORS[op])} for op in spec.operators],
                "choices": [[value, str(label)] for value, label in choices] if choices is not None else None,
            }
        )
    return {
        "fields": fields,
        "text": {
            "all": _("All of these"),
            "any": _("Any of these"),
            "add": _("Add a condition"),
            "remove": _("Remove"),
            "none": _("No conditions: every order in the rule's statuses matches."),
            "yes": _("Yes"),
            "no": _("No"),
            "from": _("from"),
            "to": _("to"),
            "list": _("several values, separated by commas"),
        },
    }


def actions_schema(tenant: Tenant | None) -> dict[str, Any]:
    types = []
    for code, action in ACTIONS.items():
        settings = []
        for name in action.settings:
            choices = _setting_choices(tenant, name) if tenant is not None else None
            kind = "choice" if choices is not None else ("number" if name in NUMBER_SETTINGS else "text")
            settings.append(
                {"name": name, "label": _text(SETTING_LABELS.get(name, "Text")), "kind": kind, "choices": choices}
            )
        types.append({"code": code, "label": str(action.label), "settings": settings})
    return {
        "types": types,
        "text": {"add": _("Add an action"), "remove": _("Remove"), "none": _("No actions yet.")},
    }


class BuilderWidget(forms.Textarea):
    """A JSON text area with a builder on top (static/automation/builder.js)."""

    template_name = "automation/widgets/builder.html"
    builder = ""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"rows": 8, "cols": 90, "style": "font-family: monospace", **(attrs or {})})
        # Set by the form: the tenant whose rows the choices list, read when the widget renders (a new rule's
        # tenant is known only once the admin's form has been built).
        self.tenant_of: Callable[[], Tenant | None] = lambda: None

    def schema(self) -> dict[str, Any]:
        return SCHEMAS[self.builder](self.tenant_of())

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["builder"] = {
            "kind": self.builder,
            "schema": self.schema(),
            "schema_id": f"{context['widget']['attrs'].get('id', name)}-schema",
        }
        return context

    class Media:
        js = ("automation/builder.js",)
        css = {"all": ("automation/builder.css",)}


class ConditionsWidget(BuilderWidget):
    builder = "conditions"


class ActionsWidget(BuilderWidget):
    builder = "actions"


SCHEMAS = {"conditions": conditions_schema, "actions": actions_schema}
