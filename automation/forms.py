"""Admin forms of automation: rules and task definitions with their conditions and actions as JSON, checked
by the same validators the engine trusts, and remote-island codes.

The JSON fields keep the names `conditions` and `actions`; the admin edits them with a builder (rows of
selects over the tenant's own rows, automation/widgets.py) that writes the same JSON into the text area.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.models import Tenant

from .actions import ACTIONS, clean_actions
from .conditions import FIELDS, OPERATORS, clean_conditions
from .islands import normalize_island_code
from .models import RemoteIsland, Rule, TaskDefinition, empty_conditions
from .widgets import ActionsWidget, BuilderWidget, ConditionsWidget


class PrettyJSONField(forms.JSONField):
    """JSON shown indented and with Japanese as it is (not \\u escapes), so an admin can read and edit it."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


def _conditions_help() -> str:
    fields = ", ".join(f"{code} ({spec.label})" for code, spec in FIELDS.items())
    ops = ", ".join(OPERATORS)
    return _(
        '{"match": "all" or "any", "items": [{"field": …, "op": …, "value": …}]}. Fields: %(fields)s. '
        "Operators: %(ops)s."
    ) % {"fields": fields, "ops": ops}


def _actions_help() -> str:
    kinds = "; ".join(f"{code} ({action.label}): {', '.join(action.settings)}" for code, action in ACTIONS.items())
    return _('[{"type": …, setting: value}, …]. Types and their settings: %(kinds)s.') % {"kinds": kinds}


class TenantJSONForm(forms.ModelForm):
    """The tenant whose rows the JSON may name: the tenant chosen (superusers) or the one the row belongs to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, BuilderWidget):
                field.widget.tenant_of = self.render_tenant

    def render_tenant(self) -> Tenant | None:
        """The tenant whose rows the builder offers, when the form is drawn (also for a new row, whose tenant
        the admin sets after building the form, and for a superuser's chosen tenant)."""
        tenant_id = getattr(self.instance, "tenant_id", None) or self.data.get("tenant") or self.initial.get("tenant")
        if isinstance(tenant_id, Tenant):
            return tenant_id
        return Tenant.objects.filter(pk=int(str(tenant_id))).first() if str(tenant_id or "").isdigit() else None

    def form_tenant(self) -> Tenant | None:
        chosen = (self.cleaned_data or {}).get("tenant")
        if chosen is not None:
            return chosen
        tenant_id = getattr(self.instance, "tenant_id", None)
        return Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None

    def _clean_json(self, name: str, cleaner: Any, tenant: Tenant, default: Any) -> None:
        if name in self.errors:  # not JSON at all: the field already says so
            return
        value = (self.cleaned_data or {}).get(name)
        if value is None or value == "":
            value = default
        try:
            self.cleaned_data[name] = cleaner(tenant, value)
        except ValidationError as error:
            self.add_error(name, error.messages)


class RuleForm(TenantJSONForm):
    conditions = PrettyJSONField(label=gettext_lazy("conditions"), required=False, widget=ConditionsWidget())
    actions = PrettyJSONField(label=gettext_lazy("actions"), required=False, widget=ActionsWidget())

    class Meta:
        model = Rule
        fields = ["tenant", "group", "name", "enabled", "statuses", "conditions", "actions"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conditions"].help_text = _conditions_help()
        self.fields["actions"].help_text = _actions_help()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        tenant = self.form_tenant()
        if tenant is None:
            return cleaned
        group = cleaned.get("group")
        if group is not None and group.tenant_id != tenant.pk:
            self.add_error("group", _("This belongs to another tenant."))
        statuses = cleaned.get("statuses")
        if statuses is not None and any(status.tenant_id != tenant.pk for status in statuses):
            self.add_error("statuses", _("This belongs to another tenant."))
        self._clean_json("conditions", clean_conditions, tenant, empty_conditions())
        self._clean_json("actions", clean_actions, tenant, [])
        if "actions" not in self.errors and not self.cleaned_data.get("actions"):
            self.add_error("actions", _("Add at least one action: a rule without actions does nothing."))
        return cleaned


class TaskDefinitionForm(TenantJSONForm):
    conditions = PrettyJSONField(label=gettext_lazy("conditions"), required=False, widget=ConditionsWidget())

    class Meta:
        model = TaskDefinition
        fields = ["tenant", "name", "enabled", "colour", "conditions", "auto_resolve"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conditions"].help_text = _(
            "Built-in tasks: conditions here narrow the built-in test. Your own tasks: raised on the orders "
            "that meet them; with no conditions, only rules and operators raise the task. %(syntax)s"
        ) % {"syntax": _conditions_help()}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        tenant = self.form_tenant()
        if tenant is not None:
            self._clean_json("conditions", clean_conditions, tenant, empty_conditions())
        return cleaned


class RemoteIslandForm(forms.ModelForm):
    # Longer than the stored 7 digits: "〒100-1101" is typed, "1001101" is kept.
    postal_code = forms.CharField(label=gettext_lazy("postal code or prefix"), max_length=20)

    class Meta:
        model = RemoteIsland
        fields = ["tenant", "postal_code", "area"]

    def clean_postal_code(self) -> str:
        code = normalize_island_code(self.cleaned_data.get("postal_code"))
        if code is None:
            raise ValidationError(_("Enter a postal code or its first 3 to 6 digits, e.g. 907 or 100-1101."))
        return code
