"""Reads of the mailer: a tenant's mail setup in a few queries, which template an address gets, the unsent
counts per status, and the send log's queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from backyard.models import Tenant
from orders.models import Order
from shops.models import Shop

from .models import (
    HAD_MAIL,
    Device,
    MailKind,
    MailMessage,
    MailTemplate,
    MobileDomain,
    ShopMailSettings,
    StatusMail,
    TenantMailSettings,
)
from .rendering import ShopFacts


def address_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in address else ""


def is_mobile(address: str, domains: Iterable[str]) -> bool:
    """A carrier's mail domain, or a subdomain of one (xxx.ezweb.ne.jp), gets the mobile template."""
    domain = address_domain(address)
    return any(domain == d or domain.endswith("." + d) for d in domains)


@dataclass
class MailBook:
    """What sending a tenant's mail needs, read once: kinds, active templates, mobile domains, senders."""

    tenant_id: int
    kinds: dict[int, MailKind]
    templates: dict[tuple[int, int | None, str], MailTemplate]  # (kind, shop or None, device)
    mobile_domains: list[str]
    tenant_settings: TenantMailSettings | None
    shop_settings: dict[int, ShopMailSettings]
    shops: dict[int, Shop] = field(default_factory=dict)

    def template_for(self, kind_id: int, shop_id: int, address: str) -> MailTemplate | None:
        """The shop's own template wins over the one for every shop; a mobile address falls back to PC."""
        devices = [Device.MOBILE, Device.PC] if is_mobile(address, self.mobile_domains) else [Device.PC]
        for device in devices:
            for shop in (shop_id, None):
                template = self.templates.get((kind_id, shop, device))
                if template is not None:
                    return template
        return None

    def sender(self, shop_id: int) -> tuple[str, str, str]:
        """(From address, display name, Reply-To) of a shop: its own, else the tenant's."""
        own = self.shop_settings.get(shop_id)
        base = self.tenant_settings
        address = (own.from_address if own else "") or (base.from_address if base else "")
        name = (own.from_name if own else "") or (base.from_name if base else "")
        if not name and shop_id in self.shops:
            name = self.shops[shop_id].name
        reply_to = (own.reply_to if own else "") or (base.reply_to if base else "")
        return address, name, reply_to

    def signature(self, shop_id: int) -> str:
        own = self.shop_settings.get(shop_id)
        return own.signature if own else ""

    def shop_facts(self, shop_id: int) -> ShopFacts:
        own = self.shop_settings.get(shop_id)
        shop = self.shops.get(shop_id)
        return ShopFacts(
            name=shop.name if shop else "",
            url=own.shop_url if own else "",
            phone=own.shop_phone if own else "",
            from_address=self.sender(shop_id)[0],
        )


def mail_book(tenant: Tenant | int) -> MailBook:
    """The tenant's mail setup in five queries, whatever the number of orders it will serve."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    templates = {
        (t.kind_id, t.shop_id, t.device): t for t in MailTemplate.objects.for_tenant(tenant_id).filter(active=True)
    }
    return MailBook(
        tenant_id=tenant_id,
        kinds={kind.pk: kind for kind in MailKind.objects.for_tenant(tenant_id)},
        templates=templates,
        mobile_domains=list(MobileDomain.objects.for_tenant(tenant_id).values_list("domain", flat=True)),
        tenant_settings=TenantMailSettings.objects.for_tenant(tenant_id).first(),
        shop_settings={s.shop_id: s for s in ShopMailSettings.objects.for_tenant(tenant_id)},
        shops={shop.pk: shop for shop in Shop.objects.for_tenant(tenant_id)},
    )


def kinds_of(tenant: Tenant) -> QuerySet[MailKind]:
    return MailKind.objects.for_tenant(tenant).order_by("position", "pk")


def kind_by_code(tenant: Tenant | int, code: str) -> MailKind | None:
    return MailKind.objects.for_tenant(tenant).filter(code=code).first()


def had_mail(kind_id: int | Any) -> Exists:
    """Filter on orders: has had (or has queued) the mail of this kind (a kind id or an OuterRef to one)."""
    return Exists(
        MailMessage.objects.filter(
            tenant_id=OuterRef("tenant_id"), order_id=OuterRef("pk"), kind_id=kind_id, state__in=HAD_MAIL
        )
    )


def unsent_orders(tenant: Tenant, status_mail: StatusMail) -> QuerySet[Order]:
    """T4: the orders of a status that have not had the status's mail."""
    return (
        Order.objects.for_tenant(tenant).filter(status_id=status_mail.status_id).exclude(had_mail(status_mail.kind_id))
    )


def unsent_counts(tenant: Tenant) -> dict[int, tuple[int, str]]:
    """{status id: (orders without the status's mail, kind name)} for every status that names a mail kind,
    in one query."""
    mails = list(StatusMail.objects.for_tenant(tenant).select_related("kind"))
    if not mails:
        return {}
    kind_of = {m.status_id: m.kind_id for m in mails}
    names = {m.status_id: m.kind.name for m in mails}
    condition = Q()
    for status_id, kind_id in kind_of.items():
        condition |= Q(Q(status_id=status_id), ~had_mail(kind_id))
    rows = Order.objects.for_tenant(tenant).filter(condition).values("status_id").annotate(n=Count("pk")).order_by()
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        counts[row["status_id"]] = row["n"]
    return {status_id: (counts[status_id], names[status_id]) for status_id in kind_of}


def messages_of_order(order: Order) -> QuerySet[MailMessage]:
    return (
        MailMessage.objects.for_tenant(order.tenant_id)
        .filter(order_id=order.pk)
        .select_related("kind")
        .order_by("-queued_at", "-pk")
    )
