"""The order list's search (F5, T7): every filter lives in the URL, so a search can be bookmarked and shared.

Choices come from the tenant's reference data loaded once per request (see selectors.tenant_reference), so
the filter form costs no query of its own; an id of another tenant is simply not a valid choice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backyard.dates import validate_date_in_range
from japan.address import PREFECTURES
from shops.constants import MallKind

from . import hooks
from .constants import Stage
from .models import Order, OrderLabel
from .search import normalize, text_match, text_scan


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DateInput(forms.DateInput):
    input_type = "date"


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    status = django_filters.TypedChoiceFilter(field_name="status_id", coerce=int, label=_("Status"))
    shop = django_filters.TypedChoiceFilter(field_name="shop_id", coerce=int, label=_("Shop"))
    # Bounded (backyard.dates): "ordered_to=9999-12-31" would otherwise ask for the day after the last one.
    ordered_from = django_filters.DateFilter(
        method="filter_ordered_from", label=_("Ordered from"), widget=DateInput, validators=[validate_date_in_range]
    )
    ordered_to = django_filters.DateFilter(
        method="filter_ordered_to", label=_("Ordered to"), widget=DateInput, validators=[validate_date_in_range]
    )
    ship_from = django_filters.DateFilter(
        field_name="ship_date",
        lookup_expr="gte",
        label=_("Ship date from"),
        widget=DateInput,
        validators=[validate_date_in_range],
    )
    ship_to = django_filters.DateFilter(
        field_name="ship_date",
        lookup_expr="lte",
        label=_("Ship date to"),
        widget=DateInput,
        validators=[validate_date_in_range],
    )
    payment = django_filters.TypedChoiceFilter(field_name="payment_method_id", coerce=int, label=_("Payment method"))
    delivery = django_filters.TypedChoiceFilter(field_name="delivery_method_id", coerce=int, label=_("Delivery method"))
    label = django_filters.TypedChoiceFilter(method="filter_label", coerce=int, label=_("Label"))
    task = django_filters.TypedChoiceFilter(method="filter_task", coerce=int, label=_("Open task"))
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", label=_("Total from"))
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", label=_("Total to"))
    pref = django_filters.ChoiceFilter(
        field_name="dest_prefecture", label=_("Prefecture"), choices=[(p, p) for p in PREFECTURES], empty_label=_("All")
    )
    has_remarks = django_filters.BooleanFilter(
        method="filter_not_blank", label=_("Has remarks"), widget=forms.CheckboxInput
    )
    has_order_comment = django_filters.BooleanFilter(
        method="filter_not_blank", label=_("Has order-time comment"), widget=forms.CheckboxInput
    )
    has_post_order_comment = django_filters.BooleanFilter(
        method="filter_not_blank", label=_("Has post-order comment"), widget=forms.CheckboxInput
    )
    mail_inquiry = django_filters.BooleanFilter(
        method="filter_flag", label=_("Has mail inquiry"), widget=forms.CheckboxInput
    )
    has_requested_date = django_filters.BooleanFilter(
        method="filter_has_date", label=_("Has requested delivery date"), widget=forms.CheckboxInput
    )
    not_rated = django_filters.BooleanFilter(
        method="filter_not_rated", label=_("Not yet rated after shipping"), widget=forms.CheckboxInput
    )

    EXTRA_FILTERS: tuple[str, ...] = ()  # all but the search box and the status, filled below
    NOT_BLANK = {
        "has_remarks": "remarks",
        "has_order_comment": "order_comment",
        "has_post_order_comment": "post_order_comment",
    }

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args: Any, reference: Any, scan_text: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scan_text = scan_text
        f = self.filters
        choices = {
            "status": [(s.pk, f"{s.group.name} / {s.name}") for s in reference.statuses],
            "shop": [(s.id, s.name) for s in reference.shops],
            "payment": [(p.id, p.name) for p in reference.payment_methods],
            "delivery": [(d.id, d.name) for d in reference.delivery_methods],
            "label": [(lb.id, lb.name) for lb in reference.labels],
            "task": [(t.id, t.name) for t in reference.tasks],
        }
        for name, options in choices.items():
            f[name].extra["choices"] = [("", _("All")), *options]
        for name in self.EXTRA_FILTERS:
            widget = self.form.fields[name].widget
            css = (
                "form-check-input"
                if isinstance(widget, forms.CheckboxInput)
                else (
                    "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
                )
            )
            widget.attrs.setdefault("class", css)

    # --- methods ---------------------------------------------------------------------------------------
    def filter_q(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        """Free text over names, kana, phones, email, order number and SKUs (orders/search.py). `scan_text`
        asks for the form no index serves, for a term already known to match thousands of orders."""
        needle = normalize(value)
        if not needle:
            return queryset
        return queryset.filter(text_scan(needle) if self.scan_text else text_match(needle))

    def filter_ordered_from(self, queryset: QuerySet[Order], name: str, value: dt.date) -> QuerySet[Order]:
        return queryset.filter(ordered_at__gte=_day_start(value))

    def filter_ordered_to(self, queryset: QuerySet[Order], name: str, value: dt.date) -> QuerySet[Order]:
        return queryset.filter(ordered_at__lt=_day_start(value + dt.timedelta(days=1)))

    def filter_label(self, queryset: QuerySet[Order], name: str, value: int) -> QuerySet[Order]:
        return queryset.filter(Exists(OrderLabel.objects.filter(order_id=OuterRef("pk"), label_id=value)))

    def filter_task(self, queryset: QuerySet[Order], name: str, value: int) -> QuerySet[Order]:
        """Orders with an open task of this definition (B4: one click from the task counts of a status); the
        choices are the provider's definitions, so without one there is nothing to choose."""
        task_provider = hooks.tasks()
        return queryset.filter(task_provider.open_task_filter(value)) if task_provider else queryset.none()

    def filter_not_blank(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        if not value:
            return queryset
        field = self.NOT_BLANK[name]
        return queryset.exclude(Q(**{field: ""}))

    def filter_flag(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        return queryset.filter(mail_inquiry=True) if value else queryset

    def filter_has_date(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        return queryset.filter(requested_delivery_date__isnull=False) if value else queryset

    def filter_not_rated(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        """T14: auction orders shipped or completed whose buyer has not been rated yet."""
        if not value:
            return queryset
        return queryset.filter(
            shop__mall=MallKind.AUCTION, stage__in=(Stage.SHIPPED, Stage.COMPLETED), buyer_rated_at__isnull=True
        )


# The query-string keys that are filters (paging, sorting and page size are not).
FILTER_KEYS = frozenset(OrderFilter.base_filters)
OrderFilter.EXTRA_FILTERS = tuple(name for name in OrderFilter.base_filters if name not in {"q", "status"})
