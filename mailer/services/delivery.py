"""Sending queued mail (in the worker, on the `mail` queue).

Each ledger row goes queued → sending → sent | failed, and the SMTP conversation happens between two commits:

1. Compose (render the template over the order as it is now, or take the operator's text).
2. Claim, in a transaction of its own: `UPDATE … SET state = 'sending', message_id, subject, body … WHERE id = %s
   AND state = 'queued'`. Only the worker whose UPDATE matched goes on; a redelivered task (Celery's acks_late,
   a second worker) matches nothing and does nothing.
3. SMTP. 4. Record the answer: sent; a 4xx (or a connection that failed) goes back to queued with a later
   `next_attempt_at` and a retry of the task, up to MAX_ATTEMPTS; a 5xx is a failure with the server's
   answer; a mail that could not be rendered or addressed is a failure with the reason.

At most once: if the worker dies after the server accepted the DATA and before step 4 commits, the row stays
"sending". Nothing sends a "sending" row again: after STALE_AFTER the sweep (mailer.tasks.sweep_mail) marks
it "unknown" — listed with the failures, its Message-ID written down to look up in the server's log — and only
an operator's deliberate resend sends it again. A mail may thus need a look by a person, but never goes twice
by itself. (A worker that dies before connecting leaves the same "unknown": the price of never guessing.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import events
from orders.constants import SYSTEM_ACTOR_LABELS, ActorKind, EventType
from orders.events import Actor
from orders.sets import order_stub

from ..models import MailKind, MailMessage, MailSource, MailState
from ..rendering import MailRenderError
from ..routes import Route, RouteRefused, check_route, choose_route
from ..selectors import MailBook, mail_book, unsent_counts_changed
from .compose import Composed, compose, orders_for_mail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = (60, 300, 900, 1800, 3600)  # seconds before attempt 2, 3 …
STALE_AFTER = dt.timedelta(minutes=10)  # a "sending" row older than this lost its worker (MAILER_STALE_AFTER)
REQUEUE_AFTER = dt.timedelta(minutes=5)  # a queued row no task took for this long is queued again


def stale_after() -> dt.timedelta:
    seconds = getattr(settings, "MAILER_STALE_AFTER", None)
    return dt.timedelta(seconds=float(seconds)) if seconds is not None else STALE_AFTER


def requeue_after() -> dt.timedelta:
    seconds = getattr(settings, "MAILER_REQUEUE_AFTER", None)
    return dt.timedelta(seconds=float(seconds)) if seconds is not None else REQUEUE_AFTER


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # back in the queue after a temporary refusal
    skipped: list[int] = field(default_factory=list)  # not queued (any more): someone else has it
    retry_in: int = 0  # seconds until the earliest retry


def backoff(attempts: int) -> int:
    return BACKOFF[min(max(attempts - 1, 0), len(BACKOFF) - 1)]


def actor_of(row: MailMessage) -> Actor:
    if row.source == MailSource.OPERATOR:
        return Actor(ActorKind.USER, row.actor_name, row.actor_user_id)
    if row.source == MailSource.RULE:
        return Actor.rule(row.actor_name)
    if row.source == MailSource.REMINDER:
        return Actor.system("reminder")
    # A status's mail: the system's, named by the job that queued it when that was one (the demo's seed)
    return Actor.system(row.actor_name if row.actor_name in SYSTEM_ACTOR_LABELS else "status_mail")


def _event(row: MailMessage, kind: MailKind, type_: EventType, **extra: object) -> None:
    mail = {"id": row.pk, "kind": kind.name, "to": row.to_address, "subject": row.subject, **extra}
    if row.source == MailSource.REMINDER:
        mail["reminder"] = row.sequence or 1
    events.order_mail_event(order=order_stub(row.order_id, row.tenant_id), actor=actor_of(row), type_=type_, mail=mail)


def _fail(row: MailMessage, kind: MailKind, answer: str) -> None:
    with transaction.atomic():
        updated = MailMessage.objects.filter(pk=row.pk, state__in=[MailState.QUEUED, MailState.SENDING]).update(
            state=MailState.FAILED, answer=answer[:2000], finished_at=timezone.now()
        )
        if updated:
            row.answer = answer
            _event(row, kind, EventType.MAIL_FAILED, error=answer[:500])
            unsent_counts_changed(row.tenant_id)  # a failed mail counts as not had


def _claim(row: MailMessage, composed: Composed, route: Route) -> bool:
    """Step 2: the row is this worker's, with what will be sent written down first."""
    now = timezone.now()
    claimed = MailMessage.objects.filter(pk=row.pk, state=MailState.QUEUED).update(
        state=MailState.SENDING,
        claimed_at=now,
        attempts=F("attempts") + 1,
        from_address=composed.from_header[:300],
        to_address=composed.to[:254],
        reply_to=composed.reply_to[:254],
        subject=composed.subject[:1000],
        body=composed.body,
        charset=composed.charset,
        message_id=composed.message_id,
        route=route.label[:200],
    )
    if claimed:
        row.attempts += 1
        row.subject, row.to_address = composed.subject, composed.to
    return bool(claimed)


def _answer_of(error: smtplib.SMTPException | OSError) -> tuple[int, str]:
    """(SMTP code or 0 for no answer, the answer in words)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, raw = next(iter(error.recipients.values()))
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return code, f"{code} {text}"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return error.smtp_code, f"{error.smtp_code} {text}"
    return 0, _("no answer from the SMTP server: %(error)s") % {"error": error.__class__.__name__}


def _temporary(row: MailMessage, kind: MailKind, answer: str) -> int:
    """Back to queued for a later attempt; past MAX_ATTEMPTS a failure. Returns the delay, 0 when failed."""
    if row.attempts >= MAX_ATTEMPTS:
        _fail(row, kind, _("gave up after %(n)d attempts: %(answer)s") % {"n": row.attempts, "answer": answer})
        return 0
    delay = backoff(row.attempts)
    MailMessage.objects.filter(pk=row.pk, state=MailState.SENDING).update(
        state=MailState.QUEUED, answer=answer[:2000], next_attempt_at=timezone.now() + dt.timedelta(seconds=delay)
    )
    return delay


class _Connections:
    """One open SMTP connection per route for the whole batch."""

    def __init__(self) -> None:
        self.open: dict[Route, EmailBackend] = {}

    def get(self, route: Route) -> EmailBackend:
        if route not in self.open:
            backend = route.backend()
            backend.open()
            self.open[route] = backend
        return self.open[route]

    def drop(self, route: Route) -> None:
        backend = self.open.pop(route, None)
        if backend is not None:
            with contextlib.suppress(Exception):  # closing a connection that broke
                backend.close()

    def close(self) -> None:
        for route in list(self.open):
            self.drop(route)


def _send(connections: _Connections, route: Route, composed: Composed) -> None:
    backend = connections.get(route)
    message = composed.message().message()
    connection = backend.connection
    if connection is None:
        raise smtplib.SMTPServerDisconnected("not connected")
    try:
        connection.sendmail(composed.from_address, [composed.to], message.as_bytes(linesep="\r\n"))  # type: ignore[call-arg]
    except (smtplib.SMTPServerDisconnected, OSError):
        connections.drop(route)
        raise


def deliver(message_ids: Iterable[int]) -> DeliveryResult:
    """Send these queued mails (those due and still queued; the others are left as they are)."""
    result = DeliveryResult()
    now = timezone.now()
    rows = list(MailMessage.objects.filter(pk__in=list(message_ids)).select_related("kind").order_by("tenant_id", "pk"))
    due = [r for r in rows if r.state == MailState.QUEUED and (r.next_attempt_at is None or r.next_attempt_at <= now)]
    result.skipped = [r.pk for r in rows if r not in due]
    books: dict[int, MailBook] = {}
    connections = _Connections()
    try:
        for tenant_id in sorted({r.tenant_id for r in due}):
            book = books.setdefault(tenant_id, mail_book(tenant_id))
            mine = [r for r in due if r.tenant_id == tenant_id]
            orders = orders_for_mail(tenant_id, (r.order_id for r in mine))
            for row in mine:
                _deliver_one(row, book, orders, connections, result)
    finally:
        connections.close()
    return result


def _deliver_one(
    row: MailMessage, book: MailBook, orders: dict, connections: _Connections, result: DeliveryResult
) -> None:
    kind = row.kind
    order = orders.get(row.order_id)
    if order is None:
        _fail(row, kind, _("the order is gone"))
        result.failed.append(row.pk)
        return
    try:
        if order.personal_data_erased_at is not None:
            raise MailRenderError(_("personal data erased"))
        if row.edited:
            composed = compose(book=book, order=order, kind=kind, to=row.to_address, subject=row.subject, body=row.body)
        else:
            composed = compose(book=book, order=order, kind=kind, to=row.to_address or None)
        shop_settings = book.shop_settings.get(order.shop_id)
        route = choose_route(shop_settings, book.tenant_settings)
        if route is None:
            raise MailRenderError(_("no SMTP server is set (mail settings, or EMAIL_URL)"))
        check_route(route)
    except (MailRenderError, RouteRefused) as error:
        _fail(row, kind, str(error))
        result.failed.append(row.pk)
        return
    from ..services.queueing import _address_problem

    problem = _address_problem(composed.to)
    if problem:
        _fail(row, kind, problem)
        result.failed.append(row.pk)
        return
    with transaction.atomic():
        if not _claim(row, composed, route):
            result.skipped.append(row.pk)
            return
    try:
        _send(connections, route, composed)
    except (smtplib.SMTPException, OSError) as error:
        code, answer = _answer_of(error)
        if 500 <= code < 600:
            _fail(row, kind, answer)
            result.failed.append(row.pk)
            return
        delay = _temporary(row, kind, answer)
        if delay:
            result.retry.append(row.pk)
            result.retry_in = min(result.retry_in or delay, delay)
        else:
            result.failed.append(row.pk)
        return
    except Exception as error:  # noqa: BLE001 - a message Python cannot build (e.g. a header it refuses)
        logger.exception("mail %s could not be sent", row.pk)
        _fail(row, kind, _("the mail could not be built: %(error)s") % {"error": error})
        result.failed.append(row.pk)
        return
    with transaction.atomic():
        answer = "; ".join(["250 OK", *composed.notes])
        MailMessage.objects.filter(pk=row.pk, state=MailState.SENDING).update(
            state=MailState.SENT, answer=answer, finished_at=timezone.now(), next_attempt_at=None
        )
        _event(row, kind, EventType.MAIL_SENT)
    result.sent.append(row.pk)


def mark_stale(now: dt.datetime | None = None) -> int:
    """Rows left "sending" by a worker that died: outcome unknown (never sent again by themselves)."""
    now = now or timezone.now()
    stale = list(
        MailMessage.objects.filter(state=MailState.SENDING, claimed_at__lt=now - stale_after()).select_related("kind")
    )
    for row in stale:
        with transaction.atomic():
            answer = _(
                "The worker stopped while sending: the server may or may not have the mail. Look for Message-ID "
                "%(id)s in the server's log before sending it again."
            ) % {"id": row.message_id}
            updated = MailMessage.objects.filter(pk=row.pk, state=MailState.SENDING).update(
                state=MailState.UNKNOWN, answer=answer, finished_at=now
            )
            if updated:
                _event(row, row.kind, EventType.MAIL_FAILED, error=answer)
    return len(stale)


def due_queued(now: dt.datetime | None = None, limit: int = 5_000) -> list[int]:
    """Queued rows whose time has come and that no task may still hold (a lost task, a broker restart)."""
    now = now or timezone.now()
    return list(
        MailMessage.objects.filter(state=MailState.QUEUED, queued_at__lt=now - requeue_after())
        .exclude(next_attempt_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
