"""The send log's search (T10, F8): order number, address, dates, state, kind, shop, all in the URL.

Choices come from the tenant's kinds and shops loaded once per request (`LogChoices`), so the form costs no
query of its own and an id of another tenant is simply not a valid choice. Dates are Japan's calendar days
(settings.TIME_ZONE), bounded like every date the project takes from outside (backyard.dates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.dates import validate_date_in_range
from backyard.models import Tenant
from orders.models import Order
from shops.models import Shop

from .models import PROBLEMS, MailKind, MailMessage, MailState


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class StateFilter:
    """The state choices of the search: values of the URL's `state`."""

    ALL = ""
    SENT = "sent"
    PROBLEMS = "problems"  # failed or unknown, and not followed by another mail of that order and kind
    FAILED_ALL = "failed_all"  # every failed or unknown mail, resent or not
    QUEUED = "queued"  # queued or being sent
    MARKED = "marked"

    CHOICES = (
        (ALL, _("All")),
        (SENT, _("Sent")),
        (PROBLEMS, _("Problems (failed or unknown, not resent)")),
        (FAILED_ALL, _("Failed or unknown (including resent)")),
        (QUEUED, _("Queued or sending")),
        (MARKED, _("Marked as sent")),
    )


def not_followed() -> Exists:
    """A later mail of the same order and kind (a resend, the next reminder) exists: the problem was dealt
    with. Reads the ledger's unique index (order, kind, sequence)."""
    return Exists(
        MailMessage.objects.filter(
            order_id=OuterRef("order_id"), kind_id=OuterRef("kind_id"), sequence__gt=OuterRef("sequence")
        )
    )


def open_problems(tenant: Tenant | int) -> QuerySet[MailMessage]:
    """Failed or unknown mails nobody has followed up with another mail of the same order and kind: what the
    red count beside the navigation counts and the "problems" search lists."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    return MailMessage.objects.filter(tenant_id=tenant_id, state__in=PROBLEMS).exclude(not_followed())


@dataclass(frozen=True)
class LogChoices:
    kinds: list[MailKind]
    shops: list[Shop]

    @classmethod
    def of(cls, tenant: Tenant) -> LogChoices:
        return cls(
            kinds=list(MailKind.objects.for_tenant(tenant).order_by("position", "pk").only("pk", "name")),
            shops=list(Shop.objects.for_tenant(tenant).order_by("position", "pk").only("pk", "name")),
        )


class MailLogSearch(forms.Form):
    number = forms.CharField(label=_("Order number"), required=False, max_length=100, strip=True)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=254,
        strip=True,
        help_text=_("The whole address, or its beginning."),
    )
    date_from = forms.DateField(
        label=_("Queued from"), required=False, widget=DateInput, validators=[validate_date_in_range]
    )
    date_to = forms.DateField(
        label=_("Queued to"), required=False, widget=DateInput, validators=[validate_date_in_range]
    )
    state = forms.ChoiceField(label=_("State"), required=False, choices=StateFilter.CHOICES)
    kind = forms.TypedChoiceField(label=_("Kind"), required=False, coerce=int, empty_value=None)
    shop = forms.TypedChoiceField(label=_("Shop"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, choices: LogChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["kind"].choices = every + [(str(k.pk), k.name) for k in choices.kinds]  # type: ignore[attr-defined]
        self.fields["shop"].choices = every + [(str(s.pk), s.name) for s in choices.shops]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    @property
    def searching(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in self.fields)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def mail_log_filter(tenant: Tenant, search: MailLogSearch) -> QuerySet[MailMessage]:
    """The tenant's mails matching the search, newest first (the (tenant, -queued_at, -id) index). An invalid
    search matches the whole log: its fields say what was wrong."""
    qs = MailMessage.objects.filter(tenant_id=tenant.pk)
    data = search.cleaned_data if search.is_valid() else {}
    if data.get("number"):
        orders = Order.objects.for_tenant(tenant).filter(external_id=data["number"]).values("pk")
        qs = qs.filter(order_id__in=orders)
    if data.get("address"):
        address = data["address"]
        qs = qs.filter(to_address__istartswith=address)
    if data.get("date_from"):
        qs = qs.filter(queued_at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        qs = qs.filter(queued_at__lt=_day_start(data["date_to"] + dt.timedelta(days=1)))
    state = data.get("state") or StateFilter.ALL
    if state == StateFilter.SENT:
        qs = qs.filter(state=MailState.SENT)
    elif state == StateFilter.PROBLEMS:
        qs = qs.filter(state__in=PROBLEMS).exclude(not_followed())
    elif state == StateFilter.FAILED_ALL:
        qs = qs.filter(state__in=PROBLEMS)
    elif state == StateFilter.QUEUED:
        qs = qs.filter(state__in=(MailState.QUEUED, MailState.SENDING))
    elif state == StateFilter.MARKED:
        qs = qs.filter(state=MailState.MARKED)
    if data.get("kind"):
        qs = qs.filter(kind_id=data["kind"])
    if data.get("shop"):
        qs = qs.filter(shop_id=data["shop"])
    return qs.order_by("-queued_at", "-pk")


LIST_COLUMNS = (
    "pk",
    "order_id",
    "shop_id",
    "kind_id",
    "sequence",
    "state",
    "source",
    "actor_name",
    "to_address",
    "subject",
    "attempts",
    "queued_at",
    "finished_at",
    "edited",
)


def mail_log_rows(qs: QuerySet[MailMessage]) -> QuerySet[MailMessage]:
    """What the log's table shows, in the rows' one query: the order's number, the shop's and kind's names
    joined in; bodies and answers left in the database."""
    return qs.only(*LIST_COLUMNS).annotate(
        order_number=F("order__external_id"), shop_name=F("shop__name"), kind_name=F("kind__name")
    )
