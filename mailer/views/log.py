"""The send log (T10, F8): every mail of the tenant, searchable; one mail as it was sent; a deliberate resend.

GET only writes nothing. The list is a fixed number of queries whatever its length: the tenant's kinds and
shops (the search's choices) and one query for the page's rows, with order number, shop and kind joined in.
Pages are plain offsets on the (tenant, -queued_at, -id) index; one row more than a page is read to know
whether a next page exists, so no COUNT over the whole log is run.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backyard.http import TenantRequest
from backyard.models import access_tenant_owned
from backyard.views import tenant_required
from orders.events import Actor

from ..filters import LogChoices, MailLogSearch, StateFilter, mail_log_filter, mail_log_rows
from ..models import MailKind, MailMessage, MailState
from ..services.queueing import mail_queue

PAGE_SIZE = 50
MAX_PAGE = 10_000  # 500,000 mails back: further than anyone pages; a bigger number is page 1
OTHER_MAILS_SHOWN = 50


def _page_number(request: TenantRequest) -> int:
    page = request.GET.get("page", "1")
    number = int(page) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    return number if 1 <= number <= MAX_PAGE else 1


def _query_without_page(request: TenantRequest) -> str:
    params: QueryDict = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_GET
@tenant_required
def mail_log(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    choices = LogChoices.of(tenant)
    search = MailLogSearch(request.GET or None, choices=choices)
    page = _page_number(request)
    start = (page - 1) * PAGE_SIZE
    rows = list(mail_log_rows(mail_log_filter(tenant, search))[start : start + PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    context = {
        "search": search,
        "mails": rows[:PAGE_SIZE],
        "page": page,
        "has_next": has_next,
        "has_previous": page > 1,
        "query": _query_without_page(request),
        "first_row": start + 1,
        "problems_state": StateFilter.PROBLEMS,
    }
    return render(request, "mailer/log.html", context)


def _mail_of(request: TenantRequest, mail_id: int) -> MailMessage:
    return access_tenant_owned(
        MailMessage,
        request.tenant,
        mail_id,
        MailMessage.objects.select_related("order", "shop", "kind", "actor_user"),
    )


@require_GET
@tenant_required
def mail_detail(request: TenantRequest, mail_id: int) -> HttpResponse:
    mail = _mail_of(request, mail_id)
    others = list(
        MailMessage.objects.filter(tenant_id=request.tenant.pk, order_id=mail.order_id)
        .exclude(pk=mail.pk)
        .select_related("kind")
        .only("pk", "kind__name", "sequence", "state", "to_address", "subject", "queued_at")
        .order_by("-queued_at", "-pk")[: OTHER_MAILS_SHOWN + 1]
    )
    context: dict[str, Any] = {
        "mail": mail,
        "others": others[:OTHER_MAILS_SHOWN],
        "more_others": len(others) > OTHER_MAILS_SHOWN,
        "is_unknown": mail.state == MailState.UNKNOWN,
        "is_problem": mail.state in (MailState.FAILED, MailState.UNKNOWN),
        "in_flight": mail.state in (MailState.QUEUED, MailState.SENDING),
        "order_log_query": QueryDict.fromkeys(["number"], mail.order.external_id).urlencode(),
    }
    return render(request, "mailer/log_detail.html", context)


@require_POST
@tenant_required
def mail_resend(request: TenantRequest, mail_id: int) -> HttpResponse:
    """A deliberate resend of the mail's kind to its order (the template rendered anew, the next number)."""
    mail = _mail_of(request, mail_id)
    kind: MailKind = mail.kind
    result = mail_queue(
        tenant=request.tenant,
        order_ids=[mail.order_id],
        kind=kind,
        actor=Actor.for_user(request.user),
        repeat=True,
    )
    if result.queued:
        messages.success(request, _("The mail was queued again; it goes out in a moment."))
        target = reverse("mail_detail", args=[result.queued[0]])
    else:
        refusals = result.plan.refused or result.plan.already
        reason = refusals[0].reason if refusals else _("the order was not found")
        messages.error(request, _("The mail could not be queued: %(reason)s.") % {"reason": reason})
        target = reverse("mail_detail", args=[mail.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


urlpatterns: list[URLPattern] = [
    path("", mail_log, name="mail_log"),
    path("<int:mail_id>/", mail_detail, name="mail_detail"),
    path("<int:mail_id>/resend/", mail_resend, name="mail_resend"),
]
