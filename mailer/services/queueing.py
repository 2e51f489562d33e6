"""Queueing mail: who can get a mail of a kind (the plan), the ledger rows that queue it, the mail written by
hand for one order (T9), "marked as sent" (T14), and the mail that follows an order into a status (T1, T4).

Set-based: a plan over 10,000 orders is a fixed number of queries (the orders' addresses, the ledger's rows of
that kind, the tenant's mail setup), and queueing writes the ledger rows in one INSERT per batch. Nothing is
sent here: the rows are handed to the `mail` queue after the commit (mailer.tasks.deliver_mails), and a
worker renders and sends each (mailer.services.delivery).

The ledger row is unique per (order, kind, sequence). A mail that must go once (a status's mail, the list's
bulk send, a rule's) is sequence 0 when the order has had none of that kind, or the next number after a failed
one; an order that has had it (queued, sent, marked, outcome unknown) is skipped and named. An operator's
deliberate resend and each reminder take the next number. Two queueings racing for one order meet at the
unique constraint: one row wins, the other is not inserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders import events
from orders.constants import ActorKind, EventType
from orders.events import Actor
from orders.models import Order
from orders.sets import chunked, ids_in, order_stubs

from ..models import HAD_MAIL, MailKind, MailMessage, MailSource, MailState, StatusMail
from ..rendering import one_line
from ..selectors import MailBook, mail_book, unsent_counts_changed

INSERT_BATCH = 2_000
DELIVERY_CHUNK = 100  # mails per delivery task


@dataclass(frozen=True)
class Refusal:
    order_id: int
    number: str
    reason: str


@dataclass(frozen=True)
class Sendable:
    order_id: int
    shop_id: int
    to: str
    sequence: int


@dataclass
class MailPlan:
    """Who among the asked-for orders can get the mail, and why the others cannot (named before anything is
    queued: no address, personal data erased, no template, no sender, already had it)."""

    kind: MailKind
    sendable: list[Sendable] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    already: list[Refusal] = field(default_factory=list)
    not_found: int = 0

    @property
    def first(self) -> int | None:
        return self.sendable[0].order_id if self.sendable else None


def _address_problem(address: str) -> str:
    if not address.strip():
        return _("no mail address")
    if one_line(address) != address.strip() or len(address) > 254:
        return _("not a mail address: %(address)s") % {"address": one_line(address)[:80]}
    try:
        validate_email(address.strip())
    except ValidationError:
        return _("not a mail address: %(address)s") % {"address": address[:80]}
    return ""


def mail_plan(
    *,
    tenant: Tenant,
    order_ids: Iterable[int],
    kind: MailKind,
    repeat: bool = False,
    book: MailBook | None = None,
    first_sequence: int = 0,
) -> MailPlan:
    """Who can get `kind`. `repeat`: an order that has had it gets another (a deliberate resend, a reminder).
    `first_sequence`: the number an order's first row of the kind takes (a reminder's number is its count: 1)."""
    if kind.tenant_id != tenant.pk:
        raise ValueError("the mail kind belongs to another tenant")
    book = book or mail_book(tenant)
    ids = sorted({int(i) for i in order_ids})
    plan = MailPlan(kind=kind)
    found = 0
    for chunk in chunked(ids):
        rows = (
            Order.objects.for_tenant(tenant)
            .filter(ids_in("pk", chunk))
            .order_by("ordered_at", "pk")
            .values_list("pk", "external_id", "shop_id", "orderer_email", "personal_data_erased_at")
        )
        ledger = {
            row["order_id"]: (row["last"], row["had"])
            for row in MailMessage.objects.filter(tenant_id=tenant.pk, kind=kind)
            .filter(ids_in("order_id", chunk))
            .values("order_id")
            .annotate(last=Max("sequence"), had=Count("pk", filter=Q(state__in=HAD_MAIL)))
            .order_by()
        }
        for pk, number, shop_id, email, erased in rows:
            found += 1
            last, had = ledger.get(pk, (None, 0))
            reason = ""
            if erased is not None:
                reason = _("personal data erased")
            else:
                reason = _address_problem(email)
            if not reason and book.template_for(kind.pk, shop_id, email) is None:
                reason = _("no active template of “%(kind)s”") % {"kind": kind.name}
            if not reason and not book.sender(shop_id)[0]:
                reason = _("the shop has no From address (mail settings)")
            if reason:
                plan.refused.append(Refusal(pk, number, reason))
                continue
            if had and not repeat:
                plan.already.append(Refusal(pk, number, _("already had “%(kind)s”") % {"kind": kind.name}))
                continue
            sequence = first_sequence if last is None else max(last + 1, first_sequence)
            plan.sendable.append(Sendable(pk, shop_id, email.strip(), sequence))
    plan.not_found = len(ids) - found
    return plan


def _actor_fields(actor: Actor, source: str) -> dict[str, object]:
    return {"source": source, "actor_name": actor.name[:200], "actor_user_id": actor.user_id}


def source_of(actor: Actor) -> str:
    if actor.kind == ActorKind.USER:
        return MailSource.OPERATOR
    if actor.kind == ActorKind.RULE:
        return MailSource.RULE
    return MailSource.STATUS


def _insert(
    tenant: Tenant | int, plan: MailPlan, actor: Actor, source: str, state: str, batch: uuid.UUID | None = None
) -> list[int]:
    """Ledger rows for the plan's sendable orders, all of one `batch` (a row already there for the same number
    stays and is not counted); the new rows' ids."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    batch = batch or uuid.uuid4()
    if plan.sendable:
        unsent_counts_changed(tenant_id)
    now = timezone.now()
    fields = _actor_fields(actor, source)
    sendable = plan.sendable
    for start in range(0, len(sendable), INSERT_BATCH):  # rows built a batch at a time: memory stays flat
        rows = [
            MailMessage(
                tenant_id=tenant_id,
                order_id=s.order_id,
                shop_id=s.shop_id,
                kind_id=plan.kind.pk,
                sequence=s.sequence,
                state=state,
                to_address=s.to,
                batch=batch,
                queued_at=now,
                finished_at=now if state == MailState.MARKED else None,
                **fields,
            )
            for s in sendable[start : start + INSERT_BATCH]
        ]
        MailMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return list(MailMessage.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))


def enqueue(ids: list[int]) -> None:
    """Hand the rows to the `mail` queue once the transaction that wrote them has committed."""
    if not ids:
        return
    from ..tasks import deliver_mails  # tasks sit above services: the one call that goes up, at send time

    chunks = [ids[start : start + DELIVERY_CHUNK] for start in range(0, len(ids), DELIVERY_CHUNK)]
    transaction.on_commit(lambda: [deliver_mails.delay(chunk) for chunk in chunks])


@dataclass
class QueueResult:
    plan: MailPlan
    queued: list[int]  # ledger row ids
    batch: uuid.UUID | None = None  # what the rows of this queueing share (the progress page reads it)

    @property
    def skipped(self) -> int:
        return len(self.plan.sendable) - len(self.queued)


@transaction.atomic
def mail_queue(
    *,
    tenant: Tenant,
    order_ids: Iterable[int],
    kind: MailKind,
    actor: Actor,
    source: str | None = None,
    repeat: bool = False,
    book: MailBook | None = None,
    first_sequence: int = 0,
) -> QueueResult:
    """Queue `kind` for every order that can get it; send after the commit."""
    plan = mail_plan(
        tenant=tenant, order_ids=order_ids, kind=kind, repeat=repeat, book=book, first_sequence=first_sequence
    )
    batch = uuid.uuid4()
    queued = _insert(tenant, plan, actor, source or source_of(actor), MailState.QUEUED, batch)
    enqueue(queued)
    return QueueResult(plan, queued, batch)


@transaction.atomic
def mail_mark_sent(*, tenant: Tenant, order_ids: Iterable[int], kind: MailKind, actor: Actor) -> QueueResult:
    """T14: record the mail as sent without sending it (it went out elsewhere). Orders without an address or
    template can be marked too: nothing is sent. An event on each order says so."""
    ids = sorted({int(i) for i in order_ids})
    plan = MailPlan(kind=kind)
    for chunk in chunked(ids):
        had = set(
            MailMessage.objects.filter(tenant_id=tenant.pk, kind=kind, state__in=HAD_MAIL)
            .filter(ids_in("order_id", chunk))
            .values_list("order_id", flat=True)
        )
        last = dict(
            MailMessage.objects.filter(tenant_id=tenant.pk, kind=kind)
            .filter(ids_in("order_id", chunk))
            .values("order_id")
            .annotate(last=Max("sequence"))
            .values_list("order_id", "last")
            .order_by()
        )
        rows = (
            Order.objects.for_tenant(tenant)
            .filter(ids_in("pk", chunk))
            .values_list("pk", "external_id", "shop_id", "orderer_email")
        )
        for pk, number, shop_id, email in rows:
            if pk in had:
                plan.already.append(Refusal(pk, number, _("already had “%(kind)s”") % {"kind": kind.name}))
                continue
            sequence = 0 if pk not in last else last[pk] + 1
            plan.sendable.append(Sendable(pk, shop_id, email.strip()[:254], sequence))
    batch = uuid.uuid4()
    marked = _insert(tenant, plan, actor, MailSource.OPERATOR, MailState.MARKED, batch)
    stubs = order_stubs(tenant)
    marked_rows = MailMessage.objects.filter(pk__in=marked).values_list("pk", "order_id", "to_address")
    built = [
        events.order_mail_event(
            order=stubs[order_id],
            actor=actor,
            type_=EventType.MAIL_MARKED,
            mail={"id": pk, "kind": kind.name, "to": to},
            commit=False,
        )
        for pk, order_id, to in marked_rows
    ]
    from orders.copy import save_events

    save_events(built)
    return QueueResult(plan, marked, batch)


@transaction.atomic
def mail_queue_edited(
    *, tenant: Tenant, order: Order, kind: MailKind, subject: str, body: str, actor: Actor
) -> MailMessage:
    """T9: one mail for one order with the subject and body the operator wrote (the template's text edited);
    sent as written, the shop's signature appended. Always a new number: writing it is deliberate."""
    if order.tenant_id != tenant.pk or kind.tenant_id != tenant.pk:
        raise ValueError("order and kind must belong to the tenant")
    plan = mail_plan(tenant=tenant, order_ids=[order.pk], kind=kind, repeat=True)
    if plan.refused:
        raise ValidationError(plan.refused[0].reason)
    sendable = plan.sendable[0]
    row = MailMessage.objects.create(
        tenant_id=tenant.pk,
        order_id=order.pk,
        shop_id=sendable.shop_id,
        kind=kind,
        sequence=sendable.sequence,
        to_address=sendable.to,
        subject=one_line(subject)[:1000],
        body=body,
        edited=True,
        **_actor_fields(actor, MailSource.OPERATOR),
    )
    enqueue([row.pk])
    return row


def queue_on_status_entry(
    tenant_id: int, entered: dict[int, list[int]], actor: Actor, stages: dict[int, str] | None = None
) -> None:
    """orders.hooks.orders_entered_status: the statuses whose mail goes out on entry queue it (T1), once per
    order and kind. Runs inside the mover's transaction; the sending starts after its commit. Any entry moves
    the unsent counts of the status tree."""
    unsent_counts_changed(tenant_id)
    mails = list(
        StatusMail.objects.filter(tenant_id=tenant_id, status_id__in=list(entered), auto_send=True).select_related(
            "kind", "tenant"
        )
    )
    if not mails:
        return
    book = mail_book(tenant_id)
    for mail in mails:
        plan = mail_plan(tenant=mail.tenant, order_ids=entered[mail.status_id], kind=mail.kind, book=book)
        queued = _insert(tenant_id, plan, actor, MailSource.STATUS, MailState.QUEUED)
        enqueue(queued)
