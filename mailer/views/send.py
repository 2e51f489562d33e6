"""Sending mail from the order screens (issue 13, items 2–4; T4, T9, T14).

- `mail_send` (F7 on the order list): the selection, resolved as every bulk action resolves it
  (orders.views.bulk.selected_orders, with its "some selected orders are not in this list" question), a kind
  of mail, and before anything is queued: how many get it, who cannot and why, who already had it, and the
  exact mail of the first. Its buttons queue the mail (→ `mail_batch`) or mark it as sent without sending.
- `mail_batch`: one queueing's mails (they share `MailMessage.batch`), counted by state and listed per order;
  the page polls itself (htmx) while mails are queued or sending.
- `mail_unsent` (T4): the orders of a status that have not had the status's mail, and "send them all".
- `mail_order` (T9): one order's mail, rendered, subject and body editable, and the mails it has had.

Views stay thin: the plan, the queueing and the marking are the set-based services of
mailer.services.queueing; a selection of 10,000 orders costs the same number of queries as one of ten (the
ids in chunks of orders.sets.CHUNK), and only the first mail is rendered.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from email.header import decode_header, make_header
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from backyard.http import TenantRequest
from backyard.views import tenant_required
from orders.events import Actor
from orders.models import Order
from orders.selectors import access_order, access_status
from orders.views.bulk import selected_orders

from ..models import MailKind, MailMessage, MailState, StatusMail
from ..rendering import MailRenderError, jis_safe, one_line, with_signature
from ..selectors import MailBook, kinds_of, mail_book, messages_of_order, unsent_orders
from ..services.compose import Composed, MailOrder, compose, orders_for_mail
from ..services.queueing import MailPlan, QueueResult, mail_mark_sent, mail_plan, mail_queue, mail_queue_edited

logger = logging.getLogger(__name__)

SHOWN = 100  # refused / already-had orders named on the plan; the rest are counted
BATCH_PAGE = 100
UNSENT_PAGE = 50
ACTIVE = (MailState.QUEUED, MailState.SENDING)


def _safe_next(request: TenantRequest, target: str) -> str:
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("home")


def _params(request: TenantRequest) -> QueryDict:
    return request.POST if request.method == "POST" else request.GET


def _kind_chosen(kinds: list[MailKind], wanted: str | None, default_id: int | None = None) -> MailKind | None:
    by_id = {kind.pk: kind for kind in kinds}
    if wanted:
        if not wanted.isdigit() or int(wanted) not in by_id:
            raise Http404(_("Not found."))  # another tenant's kind, or none
        return by_id[int(wanted)]
    if default_id is not None and default_id in by_id:
        return by_id[default_id]
    return kinds[0] if kinds else None


def _status_kind(tenant: Any, status_id: object) -> int | None:
    """The mail kind a status names (T4), as the default kind for its orders."""
    if not str(status_id or "").isdigit():
        return None
    return (
        StatusMail.objects.for_tenant(tenant).filter(status_id=int(str(status_id))).values_list("kind_id", flat=True)
    ).first()


@dataclass
class Preview:
    """The first sendable order's mail as it will go out, or why it cannot be shown."""

    order: MailOrder | None
    composed: Composed | None
    error: str = ""

    @property
    def from_display(self) -> str:
        return readable(self.composed.from_header) if self.composed else ""


def _preview(book: MailBook, tenant: Any, kind: MailKind, order_id: int | None) -> Preview | None:
    """One mail rendered (three queries for the order, its lines and methods), whatever the selection's size."""
    if order_id is None:
        return None
    order = orders_for_mail(tenant.pk, [order_id]).get(order_id)
    if order is None:
        return None
    return Preview(order, *_composed(book, order, kind))


def _composed(book: MailBook, order: MailOrder, kind: MailKind) -> tuple[Composed | None, str]:
    """The mail, or why it cannot be written, in words. A template is tried on a sample order when it is saved,
    yet a real order's values can still break it (a division by a field that is zero …): that is said too,
    never a server error."""
    try:
        return compose(book=book, order=order, kind=kind), ""
    except MailRenderError as error:
        return None, str(error)
    except Exception as error:  # noqa: BLE001 - the tenant's template failing on this order's values
        logger.warning("mail template of kind %s fails for order %s: %r", kind.pk, order.pk, error)
        return None, f"{error.__class__.__name__}: {error}"


def readable(header: str) -> str:
    """A header as the customer's mail program shows it (From is encoded when the name is Japanese)."""
    return str(make_header(decode_header(header)))


def _plan_context(plan: MailPlan) -> dict[str, Any]:
    return {
        "plan": plan,
        "sendable_count": len(plan.sendable),
        "refused_shown": plan.refused[:SHOWN],
        "refused_more": max(len(plan.refused) - SHOWN, 0),
        "already_shown": plan.already[:SHOWN],
        "already_more": max(len(plan.already) - SHOWN, 0),
    }


def _queued(request: TenantRequest, kind: MailKind, result: QueueResult) -> HttpResponse:
    """The mails are queued: say how many, and follow them on the batch's progress page."""
    messages.success(
        request,
        ngettext("“%(kind)s” is queued for %(n)d order.", "“%(kind)s” is queued for %(n)d orders.", len(result.queued))
        % {"kind": kind.name, "n": len(result.queued)},
    )
    return redirect("mail_batch", batch_id=result.batch)


@require_http_methods(["GET", "POST"])
@tenant_required
def mail_send(request: TenantRequest) -> HttpResponse:
    """F7: mail of a kind to the selected orders. GET or a POST without `action` shows the plan and the first
    mail (nothing is queued); `action=send` queues, `action=mark` records the mail as sent elsewhere (T14)."""
    tenant = request.tenant
    params = _params(request)
    chosen = selected_orders(request, _("Send mail"))
    if isinstance(chosen, HttpResponse):
        return chosen  # the question which orders: nothing has run
    next_url = _safe_next(request, params.get("next", ""))
    kinds = list(kinds_of(tenant))
    default_kind = None
    if not params.get("kind") and "query" in params:
        default_kind = _status_kind(tenant, QueryDict(params.get("query", "")).get("status"))
    kind = _kind_chosen(kinds, params.get("kind"), default_kind)
    repeat = params.get("repeat") == "1"
    action = request.POST.get("action", "") if request.method == "POST" else ""
    order_ids = list(chosen.orders.order_by().values_list("pk", flat=True)) if kind is not None else []
    actor = Actor.for_user(request.user)

    if kind is not None and order_ids and action == "send":
        result = mail_queue(tenant=tenant, order_ids=order_ids, kind=kind, actor=actor, repeat=repeat)
        if result.queued:
            chosen.done()
            return _queued(request, kind, result)
        messages.warning(request, _("Nothing was queued: none of the selected orders can get this mail now."))
        plan = result.plan
    elif kind is not None and order_ids and action == "mark":
        result = mail_mark_sent(tenant=tenant, order_ids=order_ids, kind=kind, actor=actor)
        chosen.done()
        marked = len(result.queued)
        (messages.success if marked else messages.warning)(
            request,
            ngettext(
                "“%(kind)s” is recorded as sent for %(n)d order; nothing was sent.",
                "“%(kind)s” is recorded as sent for %(n)d orders; nothing was sent.",
                marked,
            )
            % {"kind": kind.name, "n": marked},
        )
        if result.plan.already:
            messages.info(
                request,
                ngettext(
                    "%(n)d order already had it and was left as it was.",
                    "%(n)d orders already had it and were left as they were.",
                    len(result.plan.already),
                )
                % {"n": len(result.plan.already)},
            )
        return redirect(next_url)
    else:
        plan = None

    book = mail_book(tenant)
    if kind is not None and plan is None and order_ids:
        plan = mail_plan(tenant=tenant, order_ids=order_ids, kind=kind, repeat=repeat, book=book)
    context: dict[str, Any] = {
        "kinds": kinds,
        "kind": kind,
        "repeat": repeat,
        "selected_count": len(order_ids),
        "next_url": next_url,
        "query": params.get("query"),
        "scope": params.get("scope", ""),
        "preview": _preview(book, tenant, kind, plan.first) if plan is not None and kind is not None else None,
    }
    if plan is not None:
        context.update(_plan_context(plan))
    return render(request, "mailer/send_plan.html", context)


def batch_totals(tenant: Any, batch: uuid.UUID) -> dict[str, int]:
    rows = MailMessage.objects.for_tenant(tenant).filter(batch=batch)
    totals: dict[str, int] = rows.aggregate(
        total=Count("pk"),
        **{state.value: Count("pk", filter=Q(state=state)) for state in MailState},
    )
    totals["active"] = totals[MailState.QUEUED] + totals[MailState.SENDING]
    return totals


@tenant_required
def mail_batch(request: TenantRequest, batch_id: uuid.UUID) -> HttpResponse:
    """One queueing's mails: counts by state and the result of each order, polled while any is on its way."""
    tenant = request.tenant
    batch = batch_id
    totals = batch_totals(tenant, batch)
    if not totals["total"]:
        raise Http404(_("Not found."))
    rows = MailMessage.objects.for_tenant(tenant).filter(batch=batch)
    head = rows.select_related("kind").only("kind__name", "queued_at", "actor_name", "source", "tenant_id").first()
    listed = (
        rows.annotate(order_number=F("order__external_id"))
        .only("pk", "order_id", "to_address", "state", "answer", "attempts", "finished_at", "next_attempt_at")
        .order_by("pk")
    )
    paginator = Paginator(listed, BATCH_PAGE)
    paginator.__dict__["count"] = totals["total"]  # counted above with the states
    page = paginator.get_page(request.GET.get("page"))
    context = {"batch": batch, "totals": totals, "head": head, "page": page, "active": totals["active"] > 0}
    if request.htmx:
        return render(request, "mailer/_send_batch.html", context)
    return render(request, "mailer/send_batch.html", context)


@require_http_methods(["GET", "POST"])
@tenant_required
def mail_unsent(request: TenantRequest, status_id: int) -> HttpResponse:
    """T4: the orders of a status that have not had the status's mail, newest first; POST sends it to all."""
    tenant = request.tenant
    status = access_status(tenant, status_id)
    status_mail = StatusMail.objects.for_tenant(tenant).select_related("kind").filter(status_id=status.pk).first()
    if status_mail is not None and request.method == "POST":
        ids = list(unsent_orders(tenant, status_mail).order_by().values_list("pk", flat=True))
        result = mail_queue(tenant=tenant, order_ids=ids, kind=status_mail.kind, actor=Actor.for_user(request.user))
        for refusal in result.plan.refused[:SHOWN]:
            messages.error(request, f"{refusal.number}: {refusal.reason}")
        if len(result.plan.refused) > SHOWN:
            messages.error(request, _("… and %(n)d more.") % {"n": len(result.plan.refused) - SHOWN})
        if result.queued:
            return _queued(request, status_mail.kind, result)
        messages.warning(request, _("Nothing was queued: none of these orders can get this mail now."))
        return redirect("mail_unsent", status_id=status.pk)
    page = None
    if status_mail is not None:
        orders = (
            unsent_orders(tenant, status_mail)
            .only("pk", "external_id", "orderer_name", "orderer_email", "ordered_at", "personal_data_erased_at")
            .order_by("-ordered_at", "-pk")
        )
        page = Paginator(orders, UNSENT_PAGE).get_page(request.GET.get("page"))
    return render(request, "mailer/send_unsent.html", {"status": status, "status_mail": status_mail, "page": page})


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def _without_signature(composed: Composed, signature: str) -> str:
    """The body the operator edits: the rendered text without the shop's signature, which is appended when the
    mail goes out (written or not)."""
    tail = with_signature("", signature)
    if not signature.strip():
        return composed.body
    tail = tail.lstrip("\n")
    for candidate in (tail, jis_safe(tail)[0]):
        if composed.body.endswith(candidate):
            return composed.body[: -len(candidate)].rstrip("\n") + "\n"
    return composed.body


@require_http_methods(["GET", "POST"])
@tenant_required
def mail_order(request: TenantRequest, order_id: int) -> HttpResponse:
    """T9: one order's mail of a kind, rendered, its subject and body editable; "send" queues the template's
    mail as a deliberate resend when nothing was changed, else the text as written. Below: its mails."""
    tenant = request.tenant
    order = access_order(tenant, order_id)
    params = _params(request)
    kinds = list(kinds_of(tenant))
    kind = _kind_chosen(kinds, params.get("kind"), _status_kind(tenant, order.status_id))
    if request.htmx and request.htmx.target == "mail-history" and request.method == "GET":
        return render(request, "mailer/_send_history.html", _history(order, kind))  # the polling of the list
    book = mail_book(tenant)
    refusal, error = "", ""
    composed: Composed | None = None
    if kind is None:
        refusal = _("There is no kind of mail yet (mail settings).")
    else:
        plan = mail_plan(tenant=tenant, order_ids=[order.pk], kind=kind, repeat=True, book=book)
        if plan.refused:
            refusal = plan.refused[0].reason
        else:
            composed, error = _composed(book, orders_for_mail(tenant.pk, [order.pk])[order.pk], kind)
    signature = book.signature(order.shop_id)
    subject = composed.subject if composed else ""
    body = _without_signature(composed, signature) if composed else ""

    if request.method == "POST" and kind is not None and not refusal:
        written_subject, written_body = request.POST.get("subject", ""), request.POST.get("body", "")
        actor = Actor.for_user(request.user)
        if not one_line(written_subject) or not written_body.strip():
            messages.error(request, _("Write a subject and a body."))
            subject, body = written_subject, written_body
        elif composed and one_line(written_subject) == subject and _normal(written_body) == _normal(body):
            result = mail_queue(tenant=tenant, order_ids=[order.pk], kind=kind, actor=actor, repeat=True)
            _queued_message(request, kind, bool(result.queued))
            return redirect(f"{reverse('mail_order', args=[order.pk])}?kind={kind.pk}")
        else:
            try:
                mail_queue_edited(
                    tenant=tenant,
                    order=order,
                    kind=kind,
                    subject=written_subject,
                    body=written_body.replace("\r\n", "\n"),
                    actor=actor,
                )
            except ValidationError as refused:
                messages.error(request, " ".join(refused.messages))
            else:
                _queued_message(request, kind, True, edited=True)
                return redirect(f"{reverse('mail_order', args=[order.pk])}?kind={kind.pk}")
            subject, body = written_subject, written_body

    context = {
        "order": order,
        "kinds": kinds,
        "kind": kind,
        "refusal": refusal,
        "error": error,
        "composed": composed,
        "from_display": readable(composed.from_header) if composed else "",
        "subject": subject,
        "body": body,
        "signature": signature.strip("\n"),
        **_history(order, kind),
    }
    return render(request, "mailer/send_order.html", context)


def _history(order: Order, kind: MailKind | None) -> dict[str, Any]:
    """The mails the order has had, newest first; the list polls itself while one is on its way."""
    history = list(messages_of_order(order)[:100])
    return {"order": order, "kind": kind, "history": history, "history_active": any(m.state in ACTIVE for m in history)}


def _queued_message(request: TenantRequest, kind: MailKind, queued: bool, edited: bool = False) -> None:
    if not queued:
        messages.warning(request, _("Nothing was queued."))
    elif edited:
        messages.success(request, _("“%(kind)s” as you wrote it is queued.") % {"kind": kind.name})
    else:
        messages.success(request, _("“%(kind)s” is queued.") % {"kind": kind.name})


urlpatterns = [
    path("send/", mail_send, name="mail_send"),
    path("batch/<uuid:batch_id>/", mail_batch, name="mail_batch"),
    path("unsent/<int:status_id>/", mail_unsent, name="mail_unsent"),
    path("order/<int:order_id>/", mail_order, name="mail_order"),
]
