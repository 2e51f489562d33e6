"""Reminders (T5): today's targets of each active reminder rule, for sending by hand, to the ticked orders or
to all of them. The daily task (mailer.tasks.send_reminders) does the same for the rules marked automatic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from orders.events import Actor
from orders.models import Order

from ..models import ReminderRule
from ..services.reminders import ReminderResult, reminder_targets, reminders_send

SHOWN = 500  # target rows listed per rule; "send to all" reaches every one


@dataclass
class RuleTargets:
    rule: ReminderRule
    words: str
    rows: list[Order]
    count: int
    admin_url: str

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


def rule_in_words(rule: ReminderRule) -> str:
    """3日後から、3日ごとに、最大2回、催促済へ移動."""
    words = _("from %(days)d days after the order, every %(every)d days, at most %(times)d times") % {
        "days": rule.days_after,
        "every": rule.every_days,
        "times": rule.max_times,
    }
    if rule.move_to is not None:
        words += _(", then moved to %(status)s") % {"status": rule.move_to.name}
    return words


def _url_or_empty(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _rules(request: TenantRequest) -> list[ReminderRule]:
    return list(
        ReminderRule.objects.for_tenant(request.tenant)
        .filter(active=True)
        .select_related("kind", "move_to")
        .order_by("position", "pk")
    )


@tenant_required
def reminders(request: TenantRequest) -> HttpResponse:
    """催促: per active rule, the orders it reaches today, with their reminders so far."""
    today = timezone.localdate()
    sections = []
    for rule in _rules(request):
        targets = reminder_targets(tenant=request.tenant, rule=rule, today=today).only(
            "pk", "external_id", "orderer_name", "ordered_at"
        )
        rows = list(targets[: SHOWN + 1])
        count = len(rows) if len(rows) <= SHOWN else targets.count()
        rows = rows[:SHOWN]
        for order in rows:
            order.days_since = (today - timezone.localdate(order.ordered_at)).days  # type: ignore[attr-defined]
        admin_url = _url_or_empty("admin:mailer_reminderrule_change", rule.pk) if request.user.is_staff else ""
        sections.append(RuleTargets(rule, rule_in_words(rule), rows, count, admin_url))
    return render(request, "mailer/reminders.html", {"sections": sections, "today": today})


def _report(request: TenantRequest, result: ReminderResult) -> None:
    rule = result.rule
    if not result.asked:
        messages.info(request, _("%(rule)s: none of these orders is due for a reminder today.") % {"rule": rule.name})
        return
    (messages.success if result.queued else messages.warning)(
        request,
        ngettext(
            "%(rule)s: %(n)d reminder queued.",
            "%(rule)s: %(n)d reminders queued.",
            result.queued,
        )
        % {"rule": rule.name, "n": result.queued},
    )
    if result.moved:
        messages.info(
            request,
            ngettext("%(n)d order moved to %(status)s.", "%(n)d orders moved to %(status)s.", result.moved)
            % {"n": result.moved, "status": rule.move_to.name if rule.move_to else ""},
        )
    for refusal in result.refused[:SHOWN]:
        messages.warning(request, f"{refusal.number}: {refusal.reason}")
    for _pk, number, reason in result.not_moved[:SHOWN]:
        messages.warning(request, f"{number}: {reason}")


@require_POST
@tenant_required
def reminders_send_view(request: TenantRequest, rule_id: int) -> HttpResponse:
    """Send the rule's reminder to the ticked orders (`order`), or to all of today's targets (`all`). Each is
    checked again: an order no longer due is left out."""
    rule = access_tenant_owned(
        ReminderRule,
        request.tenant,
        rule_id,
        ReminderRule.objects.filter(active=True).select_related("kind", "move_to"),
    )
    order_ids: list[int] | None = None
    if not request.POST.get("all"):
        order_ids = [int(value) for value in request.POST.getlist("order") if value.isdigit() and len(value) < 19]
        if not order_ids:
            messages.warning(request, _("Tick the orders to remind first."))
            return redirect("reminders")
    result = reminders_send(
        tenant=request.tenant,
        rule=rule,
        order_ids=order_ids,
        actor=Actor.for_user(request.user),
        now=timezone.now(),
    )
    _report(request, result)
    progress = _url_or_empty("mail_batch", result.batch) if result.batch else ""
    return redirect(progress or "reminders")


urlpatterns: list[URLPattern] = [
    path("", reminders, name="reminders"),
    path("<int:rule_id>/send/", reminders_send_view, name="reminders_send"),
]
