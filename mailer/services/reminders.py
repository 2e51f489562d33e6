"""Reminders (T5): which orders a reminder rule reaches today, sending it to them, and the daily run.

A rule reaches the orders of its target (unpaid: the awaiting-payment stage; order form: `form_pending` and not
cancelled, shipped or completed) that were ordered at least `days_after` days ago by Japan's calendar (an order
of the 1st is reminded from the 4th with 3 days), that have had fewer than `max_times` mails of the rule's kind
(failed ones count), whose last mail of that kind was queued at least `every_days` calendar days ago, and whose
customer has an address that has not been erased. One query whatever the number of orders: the count and the
latest mail of the kind are correlated subqueries on the ledger (its unique index leads with order and kind).

Sending goes through the ledger like every mail (mailer.services.queueing): each reminder takes the next number
of its kind, starting at 1, so two runs racing for one order meet at the unique constraint and one reminder
goes. The reminded orders then move to the rule's status through orders_bulk_update, which writes the status
events; the delivery writes each reminder's "mail sent" event with its number.

`today` / `now` are parameters: the daily task passes the clock, the tests a day of their choosing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from backyard.models import Tenant
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order
from orders.services.bulk import BulkChanges, orders_bulk_update
from orders.sets import chunked, ids_in

from ..models import MailMessage, MailSource, ReminderRule, ReminderTarget
from ..selectors import MailBook, mail_book
from .queueing import Refusal, mail_queue

logger = logging.getLogger(__name__)

CLOSED_STAGES = (Stage.CANCELLED, Stage.SHIPPED, Stage.COMPLETED)  # an order form no longer matters


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the current time zone (Asia/Tokyo)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _check_rule(tenant: Tenant, rule: ReminderRule) -> None:
    if rule.tenant_id != tenant.pk:
        raise ValueError("the reminder rule belongs to another tenant")


def reminder_targets(*, tenant: Tenant, rule: ReminderRule, today: dt.date) -> QuerySet[Order]:
    """The orders `rule` reminds on `today`, oldest order first, each annotated with `times` (mails of the
    rule's kind it has had) and `last_reminded` (when the latest one was queued, or None)."""
    _check_rule(tenant, rule)
    ledger = MailMessage.objects.filter(tenant_id=tenant.pk, order_id=OuterRef("pk"), kind_id=rule.kind_id)
    # Every reminder counts, a failed one too: an address that bounces is not reminded without end.
    had = ledger.order_by().values("order_id").annotate(n=Count("pk")).values("n")
    latest = ledger.order_by().values("order_id").annotate(at=Max("queued_at")).values("at")
    orders = Order.objects.for_tenant(tenant).filter(
        personal_data_erased_at__isnull=True,
        ordered_at__lt=day_start(today - dt.timedelta(days=rule.days_after - 1)),
    )
    orders = orders.exclude(orderer_email="")
    if rule.target == ReminderTarget.UNPAID:
        orders = orders.filter(stage=Stage.AWAITING_PAYMENT)
    else:
        orders = orders.filter(form_pending=True).exclude(stage__in=CLOSED_STAGES)
    return (
        orders.annotate(
            times=Coalesce(Subquery(had, output_field=IntegerField()), Value(0)),
            last_reminded=Subquery(latest),
        )
        .filter(times__lt=rule.max_times)
        .filter(
            Q(last_reminded__isnull=True)
            | Q(last_reminded__lt=day_start(today - dt.timedelta(days=rule.every_days - 1)))
        )
        .order_by("ordered_at", "pk")
    )


@dataclass
class ReminderResult:
    """What one rule's sending did."""

    rule: ReminderRule
    asked: int = 0  # orders among those asked for that the rule reaches today
    reminded: list[int] = field(default_factory=list)  # orders whose reminder was queued
    refused: list[Refusal] = field(default_factory=list)  # no address, no template, no sender …
    moved: int = 0
    not_moved: list[tuple[int, str, str]] = field(default_factory=list)  # (order id, number, reason)
    batch: uuid.UUID | None = None  # the ledger rows' batch (the send progress page)

    @property
    def queued(self) -> int:
        return len(self.reminded)


@transaction.atomic
def reminders_send(
    *,
    tenant: Tenant,
    rule: ReminderRule,
    order_ids: Iterable[int] | None,
    actor: Actor,
    now: dt.datetime,
    book: MailBook | None = None,
) -> ReminderResult:
    """Remind the orders among `order_ids` (None: all of them) that the rule reaches on `now`'s day: queue
    the rule's kind (source reminder, the next number), then move the reminded orders to `rule.move_to`."""
    _check_rule(tenant, rule)
    targets = reminder_targets(tenant=tenant, rule=rule, today=timezone.localdate(now))
    ids: list[int] = []
    if order_ids is None:
        ids = list(targets.values_list("pk", flat=True))
    else:
        for chunk in chunked(sorted({int(pk) for pk in order_ids})):
            ids.extend(targets.filter(ids_in("pk", chunk)).values_list("pk", flat=True))
    result = ReminderResult(rule=rule, asked=len(ids))
    if not ids:
        return result
    queued = mail_queue(
        tenant=tenant,
        order_ids=ids,
        kind=rule.kind,
        actor=actor,
        source=MailSource.REMINDER,
        repeat=True,
        book=book,
        first_sequence=1,
    )
    result.refused = queued.plan.refused
    rows: list[tuple[int, Any]] = []
    for chunk in chunked(queued.queued):
        rows.extend(MailMessage.objects.filter(ids_in("pk", chunk)).values_list("order_id", "batch"))
    result.reminded = sorted(order_id for order_id, _batch in rows)
    result.batch = rows[0][1] if rows else None
    if rule.move_to_id is not None and result.reminded:
        assert rule.move_to is not None
        moved = orders_bulk_update(
            tenant=tenant,
            order_ids=result.reminded,
            changes=BulkChanges(status=rule.move_to),
            actor=actor,
            confirm_skips=True,  # the tenant named the status: no operator is there to confirm a skip
            paid_shortcut=False,
        )
        result.moved, result.not_moved = moved.moved, moved.refused
    return result


@dataclass
class DailySummary:
    rules: int = 0
    reminded: int = 0
    failed: list[int] = field(default_factory=list)  # rule ids that raised

    def as_dict(self) -> dict[str, int]:
        return {"rules": self.rules, "reminded": self.reminded, "failed": len(self.failed)}


def reminders_run_daily(*, now: dt.datetime) -> DailySummary:
    """The daily run (mailer.tasks.send_reminders): every active automatic rule of every tenant, each in its
    own transaction, by the system's "reminder". A rule that fails is logged and the others go on."""
    rules = (
        ReminderRule.objects.filter(active=True, automatic=True)
        .select_related("tenant", "kind", "move_to__group")
        .order_by("tenant_id", "position", "pk")
    )
    actor = Actor.system("reminder")
    summary = DailySummary()
    books: dict[int, MailBook] = {}
    for rule in rules:
        summary.rules += 1
        try:
            book = books.get(rule.tenant_id) or books.setdefault(rule.tenant_id, mail_book(rule.tenant_id))
            result = reminders_send(tenant=rule.tenant, rule=rule, order_ids=None, actor=actor, now=now, book=book)
        except Exception:
            logger.exception("reminder rule %s of tenant %s failed", rule.pk, rule.tenant_id)
            summary.failed.append(rule.pk)
            continue
        summary.reminded += result.queued
        if result.refused or result.not_moved:
            logger.info(
                "reminder rule %s of tenant %s: %s reminded, %s could not get it, %s not moved",
                rule.pk,
                rule.tenant_id,
                result.queued,
                len(result.refused),
                len(result.not_moved),
            )
    return summary
