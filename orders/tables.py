"""The order list's table (django-tables2). Rows render from what the selector loaded: no query per row."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import hooks
from .models import Order
from .selectors import TenantReference
from .slots import slot_shown

SORTABLE = {
    "external_id": "external_id",
    "shop": "shop_id",
    "ordered_at": "ordered_at",
    "orderer": "orderer_kana",
    "prefecture": "dest_prefecture",
    "total": "total",
    "payment": "payment_method_id",
    "delivery": "delivery_method_id",
    "ship_date": "ship_date",
    "status": "status_id",
}


def _by(column: str) -> tuple[str, str]:
    return (SORTABLE[column], "id")


DEFAULT_ORDER = ("-ordered_at", "-id")


def order_by_for(sort: str) -> list[str]:
    """A sort key from the URL (`total`, `-ordered_at` …) as ORDER BY fields, always ending in the id so paging
    is stable; anything unknown falls back to newest first."""
    desc = sort.startswith("-")
    field = SORTABLE.get(sort.lstrip("-"))
    if field is None:
        return list(DEFAULT_ORDER)
    prefix = "-" if desc else ""
    return [f"{prefix}{field}", f"{prefix}id"]


def _cell(name: str, extra: str = "") -> dict[str, dict[str, str]]:
    """The header's class: `by-c-<name>` sets the column's width in backyard.css (the body rows carry it too)."""
    return {"th": {"class": f"by-c-{name} {extra}".strip()}}


class OrderTable(tables.Table):
    """The columns fit a 1280 px screen (table-layout: fixed): dates, amounts, prefecture, memo and status are
    narrow and fixed; names are cut with an ellipsis and carry the whole text in `title`; labels and task badges
    wrap. Widths are in static/css/backyard.css (`.by-c-<column>`)."""

    select = tables.Column(empty_values=(), orderable=False, verbose_name="", attrs=_cell("select"))
    external_id = tables.Column(verbose_name=_("Order number"), order_by=_by("external_id"), attrs=_cell("number"))
    shop = tables.Column(accessor="shop__name", verbose_name=_("Shop"), order_by=_by("shop"), attrs=_cell("shop"))
    ordered_at = tables.DateTimeColumn(
        format="Y/m/d H:i", verbose_name=_("Ordered at"), order_by=_by("ordered_at"), attrs=_cell("date")
    )
    orderer = tables.Column(
        accessor="orderer_name", verbose_name=_("Orderer"), order_by=_by("orderer"), attrs=_cell("orderer")
    )
    prefecture = tables.Column(
        accessor="dest_prefecture", verbose_name=_("Prefecture"), order_by=_by("prefecture"), attrs=_cell("prefecture")
    )
    total = tables.Column(verbose_name=_("Total"), attrs=_cell("total", "text-end"), order_by=_by("total"))
    payment = tables.Column(
        accessor="payment_method__name",
        verbose_name=_("Payment"),
        default="—",
        order_by=_by("payment"),
        attrs=_cell("payment"),
    )
    delivery = tables.Column(
        accessor="delivery_method__name",
        verbose_name=_("Delivery"),
        default="—",
        order_by=_by("delivery"),
        attrs=_cell("delivery"),
    )
    ship_date = tables.DateColumn(
        format="Y/m/d", verbose_name=_("Ship date"), default="—", order_by=_by("ship_date"), attrs=_cell("ship-date")
    )
    labels = tables.Column(empty_values=(), orderable=False, verbose_name=_("Labels"), attrs=_cell("labels"))
    tasks = tables.Column(empty_values=(), orderable=False, verbose_name=_("Tasks"), attrs=_cell("tasks"))
    memo = tables.Column(
        accessor="has_memo", orderable=False, verbose_name=_("Memo"), empty_values=(), attrs=_cell("memo")
    )
    status = tables.Column(verbose_name=_("Status"), order_by=_by("status"), attrs=_cell("status"))

    class Meta:
        model = Order
        fields: list[str] = []
        sequence = (
            "select",
            "external_id",
            "shop",
            "ordered_at",
            "orderer",
            "prefecture",
            "total",
            "payment",
            "delivery",
            "ship_date",
            "labels",
            "tasks",
            "memo",
            "status",
        )
        template_name = "orders/_table.html"
        order_by_field = "sort"
        empty_text = _("No orders match.")
        attrs = {"class": "table table-sm table-hover by-orders mb-0", "id": "order-table"}
        row_attrs = {
            "data-id": lambda record: record.pk,
            "data-href": lambda record: reverse("order_detail", args=[record.pk]),
            "tabindex": "-1",
        }

    def __init__(self, *args: Any, reference: TenantReference, selected: Container[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels_by_id = reference.by_id("labels")
        self.tasks_by_id = reference.by_id("tasks")
        self.selected = selected

    def body_html(self) -> str:
        """The page's rows, rendered directly: django-tables2's per-cell machinery costs ~3 ms a row, which at
        500 rows is most of the page. Columns, headers and sorting stay django-tables2's."""
        rows = []
        records = [bound.record for bound in self.page.object_list]
        prime = getattr(self.selected, "prime", None)
        if prime is not None:  # a selection that has to look up which of this page's orders it holds
            prime([o.pk for o in records])
        printed = hooks.print_marks(records[0].tenant_id, [o.pk for o in records]) if records else {}
        for o in records:
            href = reverse("order_detail", args=[o.pk])
            shop, orderer = o.shop.name, o.orderer_name
            payment = o.payment_method.name if o.payment_method else "—"
            delivery = self.render_delivery(o)
            ordered = date_format(timezone.localtime(o.ordered_at), "Y/m/d H:i")
            ship_date = date_format(o.ship_date, "Y/m/d") if o.ship_date else "—"
            cells = [
                format_html('<td class="by-c-select by-sel">{}</td>', self.render_select(o)),
                format_html(
                    '<td class="by-c-number"><a href="{}" class="by-open">{}</a>{}</td>',
                    href,
                    o.external_id,
                    self.render_printed(printed.get(o.pk)),
                ),
                format_html('<td class="by-c-shop" title="{}">{}</td>', shop, shop),
                format_html('<td class="by-c-date">{}</td>', ordered),
                format_html('<td class="by-c-orderer" title="{}">{}</td>', orderer, orderer),
                format_html('<td class="by-c-prefecture">{}</td>', o.dest_prefecture),
                format_html('<td class="by-c-total text-end">{}</td>', self.render_total(o.total)),
                format_html('<td class="by-c-payment" title="{}">{}</td>', payment, payment),
                format_html('<td class="by-c-delivery" title="{}">{}</td>', delivery, delivery),
                format_html('<td class="by-c-ship-date">{}</td>', ship_date),
                format_html('<td class="by-c-labels">{}</td>', self.render_labels(o)),
                format_html('<td class="by-c-tasks">{}</td>', self.render_tasks(o)),
                format_html('<td class="by-c-memo">{}</td>', self.render_memo(o.has_memo)),
                format_html('<td class="by-c-status">{}</td>', self.render_status(o)),
            ]
            row = mark_safe("".join(cells))  # noqa: S308 - every cell is format_html
            rows.append(format_html('<tr data-id="{}" data-href="{}" tabindex="-1">{}</tr>', o.pk, href, row))
        return mark_safe("".join(rows))  # noqa: S308 - every row is format_html

    def render_delivery(self, record: Order) -> str:
        """The delivery method and the carriers' time slot (18〜20時); the slot as the order gave it when it
        reads otherwise (18:00-20:00, or 午後 that no carrier offers), in brackets."""
        slot, written = slot_shown(record.delivery_slot, record.delivery_time_slot)
        if slot and written:
            slot = f"{slot} ({written})"
        parts = [record.delivery_method.name if record.delivery_method else "", slot or written]
        return " · ".join(part for part in parts if part) or "—"

    def render_select(self, record: Order) -> str:
        checked = " checked" if record.pk in self.selected else ""
        return format_html(
            '<input type="checkbox" class="form-check-input by-row-check" name="ids" value="{}" aria-label="{}"{}>',
            record.pk,
            record.external_id,
            checked,
        )

    def render_external_id(self, record: Order, value: str) -> str:
        return format_html('<a href="{}" class="by-open">{}</a>', reverse("order_detail", args=[record.pk]), value)

    def render_total(self, value: int) -> str:
        return f"¥{value:,}"

    def render_labels(self, record: Order) -> str:
        chips = [self.labels_by_id[ol.label_id] for ol in record.order_labels.all() if ol.label_id in self.labels_by_id]
        return format_html_join(
            " ",
            '<span class="badge by-label" style="background:{}" title="{}">{}</span>',
            ((c.extra, c.name, c.name) for c in chips),
        )

    def render_tasks(self, record: Order) -> str:
        """The order's open tasks (B4) as small outlined badges in the definition's colour."""
        shown = [
            self.tasks_by_id[t.definition_id]
            for t in getattr(record, "open_tasks", ())
            if t.definition_id in self.tasks_by_id
        ]
        return format_html_join(
            " ",
            '<span class="badge by-task" style="border-color:{0};color:{0}" data-task="{1}" title="{2}">{2}</span>',
            ((t.extra, t.id, t.name) for t in shown),
        )

    def render_printed(self, names: list[str] | None) -> str:
        """The "printed" mark (issue 15): a small badge, the forms printed for the order named in its title."""
        if not names:
            return ""
        title = _("Printed: %(forms)s") % {"forms": ", ".join(names)}
        return format_html(
            ' <span class="by-printed badge rounded-pill text-bg-light border fw-normal" title="{}"'
            ' data-printed="{}">{}</span>',
            title,
            len(names),
            _("Printed"),
        )

    def render_memo(self, value: bool) -> str:
        return format_html('<span title="{}" class="by-memo">✎</span>', _("Has a work memo")) if value else ""

    def render_status(self, record: Order) -> str:
        status = record.status
        return format_html(
            '<span class="badge by-status" style="background:{}" title="{}">{}</span>',
            status.colour,
            status.name,
            status.name,
        )
