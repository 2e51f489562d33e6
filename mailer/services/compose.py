"""A mail as it goes out: the rendered subject and body with the signature, the sender, the headers, the MIME
message. The preview (one order, before anything is queued) and the delivery build it through here, so what
the operator reads is what the customer gets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid
from typing import Any

from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from orders.models import Order, OrderLine, PaymentMethod
from shipping.models import DeliveryMethod, Shipment, tracking_url

from ..models import Charset, MailKind, MailTemplate
from ..rendering import (
    MAIL_ORDER_FIELDS,
    LineValues,
    MailRenderError,
    jis_safe,
    one_line,
    order_context,
    render_text,
    with_signature,
)
from ..selectors import MailBook


@dataclass
class Composed:
    from_address: str  # the bare address (envelope sender)
    from_header: str  # "name <address>"
    to: str
    reply_to: str
    subject: str
    body: str
    charset: str
    message_id: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. characters ISO-2022-JP could not carry

    def message(self) -> EmailMessage:
        """The MIME message (headers folded and encoded by Django; no header can be added by a value)."""
        headers = {"Message-ID": self.message_id} if self.message_id else {}
        message = EmailMessage(
            subject=self.subject,
            body=self.body,
            from_email=self.from_header,
            to=[self.to],
            reply_to=[self.reply_to] if self.reply_to else None,
            headers=headers,
        )
        message.encoding = self.charset
        return message

    def as_text(self) -> str:
        """The whole mail as the server receives it, decoded for reading (the preview)."""
        return self.message().message().as_string()


class MailOrder:
    """What the placeholders read of one order, as plain values (no model instances: rendering 10,000 mails
    spends its time on the text, not on building 40,000 objects). Attributes are the order's field names
    (`external_id`, `orderer_email`, `ordered_at` …), plus `lines`, `payment_method_name` and
    `delivery_method_name`."""

    def __init__(self, values: dict[str, Any], lines: list[LineValues], payment: str, delivery: str) -> None:
        self._values = values
        self.pk: int = values["id"]
        self.lines = lines
        self.payment_method_name = payment
        self.delivery_method_name = delivery

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def orders_for_mail(tenant_id: int, order_ids: Iterable[int]) -> dict[int, MailOrder]:
    """The orders with what their placeholders read, in four queries (orders, lines, the method names)."""
    ids = list(order_ids)
    rows = list(Order.objects.filter(tenant_id=tenant_id, pk__in=ids).values(*MAIL_ORDER_FIELDS))
    lines: dict[int, list[LineValues]] = {row["id"]: [] for row in rows}
    for line in (
        OrderLine.objects.filter(tenant_id=tenant_id, order_id__in=ids)
        .order_by("order_id", "position", "pk")
        .values_list("order_id", "position", "sku", "name", "options", "unit_price", "quantity", "tax_rate")
    ):
        lines[line[0]].append(LineValues(*line[1:]))
    first: dict[int, tuple[str, str]] = {}
    for order_id, carrier, number in (
        Shipment.objects.filter(tenant_id=tenant_id, order_id__in=ids)
        .order_by("-pk")
        .values_list("order_id", "carrier", "tracking_number")
    ):
        first[order_id] = (number, tracking_url(carrier, number))  # the lowest pk wins: rows come newest first
    for row in rows:
        row["tracking"] = first.get(row["id"], ("", ""))
    payments = dict(PaymentMethod.objects.filter(tenant_id=tenant_id).values_list("pk", "name"))
    deliveries = dict(DeliveryMethod.objects.filter(tenant_id=tenant_id).values_list("pk", "name"))
    return {
        row["id"]: MailOrder(
            row,
            lines[row["id"]],
            payments.get(row["payment_method_id"], ""),
            deliveries.get(row["delivery_method_id"], ""),
        )
        for row in rows
    }


def tracking_of(order: MailOrder) -> tuple[str, str]:
    """(tracking number, tracking URL) of the order's first shipment (issue 16); ("", "") before it has one.
    orders_for_mail reads them for all its orders in one query; an order built otherwise asks here."""
    try:
        known = order.tracking
    except AttributeError:
        known = None
    if isinstance(known, tuple):
        return known
    first = (
        Shipment.objects.filter(tenant_id=order.tenant_id, order_id=order.pk)
        .order_by("pk")
        .values_list("carrier", "tracking_number")
        .first()
    )
    if first is None:
        return "", ""
    carrier, number = first
    return number, tracking_url(carrier, number)


def compose(
    *,
    book: MailBook,
    order: MailOrder,
    kind: MailKind,
    to: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    template: MailTemplate | None = None,
    message_id: str = "",
) -> Composed:
    """Render `kind` for `order` (or take `subject`/`body` as written by hand), add the signature and the
    sender. Raises MailRenderError with the reason."""
    address = (to if to is not None else order.orderer_email).strip()
    charset: str = Charset.UTF8
    if subject is None or body is None:
        template = template or book.template_for(kind.pk, order.shop_id, address)
        if template is None:
            raise MailRenderError(_("no active template of “%(kind)s”") % {"kind": kind.name})
        context = order_context(order, book.shop_facts(order.shop_id), tracking_of(order))
        subject = render_text(template.subject, context)
        body = render_text(template.body, context)
        charset = template.charset
    from_address, from_name, reply_to = book.sender(order.shop_id)
    if not from_address:
        raise MailRenderError(_("the shop has no From address (mail settings)"))
    subject = one_line(subject)
    body = with_signature(body.replace("\r\n", "\n").replace("\r", "\n"), book.signature(order.shop_id))
    notes: list[str] = []
    if charset == Charset.ISO2022JP:
        subject, replaced_subject = jis_safe(subject)
        body, replaced_body = jis_safe(body)
        replaced = sorted(set(replaced_subject + replaced_body))
        if replaced:
            notes.append(_("sent as 〓 (not in ISO-2022-JP): %(chars)s") % {"chars": " ".join(replaced)})
    domain = from_address.rsplit("@", 1)[-1]
    return Composed(
        from_address=from_address,
        from_header=formataddr((one_line(from_name), from_address)) if from_name else from_address,
        to=address,
        reply_to=reply_to,
        subject=subject,
        body=body,
        charset=charset,
        message_id=message_id or make_msgid(domain=domain),
        notes=notes,
    )
