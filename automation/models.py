"""Auto-processing (B3), auto tasks (B4) and the remote-island table behind the address check (B6).

Conditions are JSON, one language for rules and task definitions:
    {"match": "all" | "any", "items": [{"field": "payment_method", "op": "in", "value": [3, 4]}, …]}
`automation.conditions` knows every field and operator, validates a condition set when it is saved and
compiles it to one `Q` over orders. Actions are JSON too, a list of {"type": …, …} that
`automation.actions` validates and applies in bulk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.models import TenantOwned
from orders.models import colour_validator


def empty_conditions() -> dict:
    return {"match": "all", "items": []}


class RuleGroup(TenantOwned):
    """A set of rules switched on and off together, e.g. "セール時の自動処理"."""

    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0, db_index=True)

    class Meta:
        verbose_name = _("rule group")
        verbose_name_plural = _("rule groups")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="rulegroup_unique_name")]

    def __str__(self) -> str:
        return self.name


class Rule(TenantOwned):
    """Conditions → actions, over the orders that sit in one of `statuses` when the rule's turn comes."""

    group = models.ForeignKey(RuleGroup, on_delete=models.CASCADE, related_name="rules", verbose_name=_("rule group"))
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0, db_index=True)
    statuses = models.ManyToManyField(
        "orders.Status",
        related_name="+",
        verbose_name=_("statuses"),
        help_text=_("The rule looks only at orders in these statuses."),
    )
    conditions = models.JSONField(_("conditions"), default=empty_conditions, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["tenant", "group", "position"], name="rule_tenant_group_pos")]

    def __str__(self) -> str:
        return self.name


class RuleActionDone(TenantOwned):
    """One-shot actions (memo, freebie line, mail insert, task raised) a rule has already applied to an
    order: running the engine again finds the row and does not do it twice."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+", verbose_name=_("rule"))
    action = models.CharField(_("action"), max_length=64, help_text=_("The action's key within the rule."))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("applied rule action")
        verbose_name_plural = _("applied rule actions")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "order", "rule", "action"], name="ruleactiondone_unique"),
        ]


class TaskDefinition(TenantOwned):
    """A kind of task (要対応): built-in ones carry a `code`; a tenant's own have conditions."""

    code = models.SlugField(
        _("code"), max_length=40, blank=True, help_text=_("Set on built-in tasks (remote_island, address_warning …).")
    )
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0, db_index=True)
    colour = models.CharField(_("colour"), max_length=7, default="#fd7e14", validators=[colour_validator])
    conditions = models.JSONField(_("conditions"), default=empty_conditions, blank=True)
    auto_resolve = models.BooleanField(
        _("resolve automatically"),
        default=True,
        help_text=_("Resolve the task by itself when its condition no longer holds."),
    )

    class Meta:
        verbose_name = _("task definition")
        verbose_name_plural = _("task definitions")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"], condition=~models.Q(code=""), name="taskdefinition_unique_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OrderTask(TenantOwned):
    """A task raised on an order; open while `resolved_at` is empty. One open task per definition."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="tasks", verbose_name=_("order"))
    definition = models.ForeignKey(
        TaskDefinition, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("task")
    )
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    raised_by = models.CharField(_("raised by"), max_length=200, blank=True)
    # Set when the engine raised the task because the definition's condition held: only such a task is
    # resolved automatically when the condition goes. One a rule or a person raised stays until resolved.
    raised_automatically = models.BooleanField(_("raised automatically"), default=False)
    note = models.TextField(_("note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_by_name = models.CharField(_("resolved by (name)"), max_length=200, blank=True)
    # Set when the engine resolved the task because its condition stopped holding. A task resolved by a
    # person or a rule is not raised again for the same order (they looked and decided); one resolved
    # automatically is raised again if the condition comes back.
    resolved_automatically = models.BooleanField(_("resolved automatically"), default=False)
    # The status the order is in, kept by database triggers while the task is open (set on insert, followed
    # when the order moves; see migration 0003): the task counts under a status are then one index-only
    # scan of the open tasks in that status, not a join of every open task with the tenant's orders.
    order_status_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("order task")
        verbose_name_plural = _("order tasks")
        ordering = ["raised_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order", "definition"],
                condition=models.Q(resolved_at=None),
                name="ordertask_one_open",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "definition", "order"], condition=models.Q(resolved_at=None), name="ordertask_open"
            ),
            models.Index(fields=["tenant", "order"], name="ordertask_tenant_order"),
            models.Index(
                fields=["tenant", "order_status_id", "definition"],
                condition=models.Q(resolved_at=None),
                name="ordertask_open_status",
            ),
        ]

    def __str__(self) -> str:
        return str(self.definition)


class RemoteIsland(TenantOwned):
    """A postal code (7 digits) or a prefix of one (3–6 digits) that lies on a remote island (離島)."""

    postal_code = models.CharField(_("postal code or prefix"), max_length=7)
    area = models.CharField(_("area"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("remote island postal code")
        verbose_name_plural = _("remote island postal codes")
        ordering = ["postal_code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "postal_code"], name="remoteisland_unique_code")]

    def __str__(self) -> str:
        return f"{self.postal_code} {self.area}".strip()
