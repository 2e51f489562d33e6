"""Reads of the mailer: a tenant's mail setup in a few queries, which template an address gets, the unsent
counts per status, and the send log's queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

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


UNSENT_TTL = 300  # seconds the unsent counts are kept when nothing changes them


def _generation_key(tenant_id: int) -> str:
    return f"mailer:unsent-generation:{tenant_id}"


def unsent_counts_changed(tenant_id: int) -> None:
    """Orders entered statuses, or mails were queued, marked or failed: the tenant's unsent counts are read
    afresh by the next page. Bumped now and again once the change has committed (a page read between the two
    would otherwise keep the counts from before the commit)."""

    def bump() -> None:
        key = _generation_key(tenant_id)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, None)

    bump()
    transaction.on_commit(bump)


def unsent_counts(tenant: Tenant) -> dict[int, tuple[int, str]]:
    """{status id: (orders without the status's mail, kind name)} for every status that names a mail kind (T4).

    Counting them is an anti-join over every order of those statuses (~100 ms at a million orders), too slow
    for each view of the list; the counts are kept in the cache under the tenant's generation, which every
    change that moves them bumps (unsent_counts_changed: status entries through orders.hooks, mails queued,
    marked or failed, a status's mail changed), and for UNSENT_TTL at most."""
    generation = cache.get(_generation_key(tenant.pk), 0)
    key = f"mailer:unsent:{tenant.pk}:{tenant.created_at.timestamp()}:{generation}"
    counts: dict[int, tuple[int, str]] | None = cache.get(key)
    if counts is None:
        counts = count_unsent(tenant)
        cache.set(key, counts, UNSENT_TTL)
    return counts


def count_unsent(tenant: Tenant) -> dict[int, tuple[int, str]]:
    """The unsent counts from the database, in one query (a count per status mail, correlated on its status
    and kind)."""
    unsent = (
        Order.objects.filter(tenant_id=OuterRef("tenant_id"), status_id=OuterRef("status_id"))
        .exclude(had_mail(OuterRef(OuterRef("kind_id"))))
        .order_by()
        .values("status_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        StatusMail.objects.for_tenant(tenant)
        .annotate(n=Coalesce(Subquery(unsent, output_field=IntegerField()), Value(0)))
        .values_list("status_id", "n", "kind__name")
    )
    return {status_id: (n, name) for status_id, n, name in rows}


def messages_of_order(order: Order) -> QuerySet[MailMessage]:
    return (
        MailMessage.objects.for_tenant(order.tenant_id)
        .filter(order_id=order.pk)
        .select_related("kind")
        .order_by("-queued_at", "-pk")
    )
