"""Admin of automation: rule groups and rules (drag and drop, on/off), task definitions, remote islands; a
dry run that shows what a group or rule would change without changing anything, and "run now" for groups.

Scoped to the tenant like every admin here (backyard.admin_mixins): lists, choices, saves and reordering
see only the tenant's rows; superusers see all.
"""

from __future__ import annotations

from typing import Any

from adminsortable2.admin import SortableAdminMixin, SortableTabularInline
from django.contrib import admin, messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backyard.admin_mixins import TenantAdminMixin, TenantInlineMixin, is_superuser
from orders.admin import colour_chip
from orders.models import Status

from .forms import RemoteIslandForm, RuleForm, TaskDefinitionForm
from .models import RemoteIsland, Rule, RuleGroup, TaskDefinition
from .services import DryRunReport, dry_run, process_group

DRY_RUN_ORDERS_SHOWN = 300  # orders listed on the dry-run page; the counts cover all of them


def _statuses_with_groups() -> QuerySet[Status]:
    return Status.objects.select_related("group").order_by("group__position", "group_id", "position", "pk")


def _dry_run_page(
    request: HttpRequest, modeladmin: admin.ModelAdmin, reports: list[tuple[Any, DryRunReport]]
) -> TemplateResponse:
    """The dry-run result: per group or rule, its counts, refusals and each order's changes."""
    sections = []
    for subject, report in reports:
        shown = report.orders[:DRY_RUN_ORDERS_SHOWN]
        sections.append(
            {
                "subject": subject,
                "report": report,
                "orders": [(order, reverse("order_detail", args=[order.order_id])) for order in shown],
                "hidden": len(report.orders) - len(shown),
                "tasks": [task for task in report.result.tasks.values() if task.raised or task.resolved],
            }
        )
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Dry run: what would change"),
        "opts": modeladmin.model._meta,
        "sections": sections,
    }
    return TemplateResponse(request, "admin/automation/dry_run.html", context)


class RuleInline(TenantInlineMixin, SortableTabularInline):
    """The group's rules in the order they run: drag to reorder, switch on and off; open one to edit it."""

    model = Rule
    fields = ["name", "enabled", "position"]
    ordering = ["position", "pk"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # a rule needs statuses, conditions and actions: the "add a rule" link opens its form


@admin.register(RuleGroup)
class RuleGroupAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    """Groups run in this order; drag them. Switch a whole group (e.g. セール時の自動処理) on and off here."""

    list_display = ["position", "name", "enabled", "rule_count"]
    list_display_links = ["name"]
    list_editable = ["enabled"]
    list_filter = ["tenant", "enabled"]
    fields = ["name", "enabled", "add_rule"]
    readonly_fields = ["add_rule"]
    inlines = [RuleInline]
    actions = ["dry_run_groups", "run_groups"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if obj is not None or f != "add_rule"]
        return ["tenant", *fields] if is_superuser(request) else fields  # a superuser picks the tenant

    def get_queryset(self, request: HttpRequest) -> Any:
        # Meta.ordering does not apply to a GROUP BY query: order explicitly.
        return super().get_queryset(request).annotate(n_rules=Count("rules")).order_by("position", "pk")

    @admin.display(description=gettext_lazy("rules"), ordering="n_rules")
    def rule_count(self, obj: RuleGroup) -> int:
        return obj.n_rules  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("new rule"))
    def add_rule(self, obj: RuleGroup) -> str:
        url = f"{reverse('admin:automation_rule_add')}?group={obj.pk}"
        return format_html('<a class="addlink" href="{}">{}</a>', url, _("Add a rule to this group"))

    @admin.action(description=gettext_lazy("Dry run: show what the selected groups would change"))
    def dry_run_groups(self, request: HttpRequest, queryset: QuerySet[RuleGroup]) -> TemplateResponse:
        groups = list(queryset.select_related("tenant").order_by("position", "pk"))
        return _dry_run_page(request, self, [(group, dry_run(tenant=group.tenant, group=group)) for group in groups])

    @admin.action(description=gettext_lazy("Run the selected groups now"))
    def run_groups(self, request: HttpRequest, queryset: QuerySet[RuleGroup]) -> None:
        for group in queryset.select_related("tenant").order_by("position", "pk"):
            result = process_group(group=group, actor_name=request.user.get_username())
            level = messages.WARNING if result.errors or result.refusals else messages.SUCCESS
            self.message_user(request, f"{group.name}: {result.summary()}", level)
            for error in result.errors:
                self.message_user(request, f"{group.name}: {error}", messages.WARNING)


@admin.register(Rule)
class RuleAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Conditions and actions as JSON for now, checked on save with messages naming the field or action."""

    form = RuleForm
    list_display = ["name", "group", "position", "enabled", "status_names"]
    list_editable = ["enabled"]
    list_filter = ["tenant", "group", "enabled"]
    list_select_related = ["group"]
    search_fields = ["name"]
    ordering = ["group__position", "group_id", "position", "pk"]
    filter_horizontal = ["statuses"]
    actions = ["dry_run_rules"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related(Prefetch("statuses", queryset=_statuses_with_groups()))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "statuses":
            kwargs["queryset"] = _statuses_with_groups()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("statuses"))
    def status_names(self, obj: Rule) -> str:
        return ", ".join(str(status) for status in obj.statuses.all())

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        if not change:  # a new rule runs after the group's others
            last = Rule.objects.filter(tenant_id=obj.group.tenant_id, group_id=obj.group_id).order_by("-position")
            obj.position = (last.values_list("position", flat=True).first() or 0) + 1
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Dry run: show what the selected rules would change"))
    def dry_run_rules(self, request: HttpRequest, queryset: QuerySet[Rule]) -> TemplateResponse:
        rules = list(queryset.select_related("tenant", "group").order_by("group__position", "position", "pk"))
        return _dry_run_page(request, self, [(rule, dry_run(tenant=rule.tenant, rule=rule)) for rule in rules])


@admin.register(TaskDefinition)
class TaskDefinitionAdmin(TenantAdminMixin, SortableAdminMixin, admin.ModelAdmin):
    """Built-in tasks (with a code) can be renamed, recoloured, narrowed or switched off, not deleted."""

    form = TaskDefinitionForm
    list_display = ["position", "chip", "name", "code", "enabled", "auto_resolve"]
    list_display_links = ["name"]
    list_editable = ["enabled"]
    list_filter = ["tenant", "enabled"]
    readonly_fields = ["code"]

    @admin.display(description=gettext_lazy("task"))
    def chip(self, obj: TaskDefinition) -> str:
        return colour_chip(obj.colour, obj.name)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if f != "code"]
        return ["code", *fields] if obj is not None and obj.code else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.code:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TaskDefinition]) -> None:
        """The bulk delete action spares built-ins, as the delete button does."""
        super().delete_queryset(request, queryset.filter(code=""))


@admin.register(RemoteIsland)
class RemoteIslandAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The tenant's remote-island postal codes (seeded, incomplete by nature: match them to your carrier)."""

    form = RemoteIslandForm
    list_display = ["postal_code", "area"]
    list_filter = ["tenant"]
    search_fields = ["postal_code", "area"]
    ordering = ["postal_code"]
