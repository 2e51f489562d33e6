"""What a new tenant's mail starts with (backyard.provisioning calls it): the built-in kinds, the mobile
domains, a Japanese template of every kind for PC and for mobile (mailer.defaults), mail settings, each
default status's mail (not sent automatically until the tenant switches it on), and two reminder rules that
list their targets for sending by hand.

Set-based and idempotent like the other apps' defaults: one INSERT per table, ON CONFLICT DO NOTHING; a kind
that already has a template keeps it.
"""

from __future__ import annotations

from backyard.models import Tenant
from orders.constants import Stage
from orders.models import Status

from ..defaults import KINDS, MOBILE_DOMAINS, TEMPLATES
from ..models import (
    BuiltinKind,
    MailKind,
    MailTemplate,
    MobileDomain,
    ReminderRule,
    ReminderTarget,
    StatusMail,
    TenantMailSettings,
)

REMINDED = "催促済"  # the default status reminded unpaid orders move to

# default status name → the kind of mail that belongs to it (T4)
STATUS_KINDS = {
    "新規受付": BuiltinKind.ORDER_CONFIRMATION,
    "在庫引当済": BuiltinKind.STOCK_CONFIRMED,
    "入金待ち": BuiltinKind.PAYMENT_REQUEST,
    "入金済": BuiltinKind.PAYMENT_RECEIVED,
    "発送待ち": BuiltinKind.SHIPPING_PREPARATION,
    "出荷済": BuiltinKind.SHIPPED,
    "キャンセル": BuiltinKind.CANCELLATION,
}


def mailer_defaults_create(*, tenant: Tenant) -> None:
    MailKind.objects.bulk_create(
        [MailKind(tenant=tenant, code=code, name=name, builtin=True, position=pos) for code, name, pos in KINDS],
        ignore_conflicts=True,
    )
    kinds = {kind.code: kind for kind in MailKind.objects.for_tenant(tenant)}
    with_templates = set(MailTemplate.objects.for_tenant(tenant).values_list("kind_id", flat=True).distinct())
    MailTemplate.objects.bulk_create(
        [
            MailTemplate(tenant=tenant, kind=kinds[t.kind], shop=None, device=t.device, subject=t.subject, body=t.body)
            for t in TEMPLATES
            if t.kind in kinds and kinds[t.kind].pk not in with_templates
        ],
        ignore_conflicts=True,
    )
    MobileDomain.objects.bulk_create(
        [MobileDomain(tenant=tenant, domain=domain) for domain in MOBILE_DOMAINS], ignore_conflicts=True
    )
    TenantMailSettings.objects.bulk_create([TenantMailSettings(tenant=tenant)], ignore_conflicts=True)
    statuses: dict[str, Status] = {}
    reminded = None
    wanted = Status.objects.for_tenant(tenant).filter(name__in=[*STATUS_KINDS, REMINDED]).select_related("group")
    for status in wanted.order_by("-group__position", "-position"):  # the first of a name wins
        if status.name == REMINDED:
            reminded = status if status.group.stage == Stage.AWAITING_PAYMENT else reminded
        else:
            statuses[status.name] = status
    StatusMail.objects.bulk_create(
        [
            StatusMail(tenant=tenant, status=status, kind=kinds[STATUS_KINDS[name]])
            for name, status in statuses.items()
            if STATUS_KINDS[name] in kinds
        ],
        ignore_conflicts=True,
    )
    if not ReminderRule.objects.for_tenant(tenant).exists():
        ReminderRule.objects.bulk_create(
            [
                ReminderRule(
                    tenant=tenant,
                    name="入金催促",
                    target=ReminderTarget.UNPAID,
                    kind=kinds[BuiltinKind.PAYMENT_REMINDER],
                    days_after=3,
                    every_days=3,
                    max_times=2,
                    move_to=reminded,
                    position=1,
                ),
                ReminderRule(
                    tenant=tenant,
                    name="注文フォーム未記入催促",
                    target=ReminderTarget.FORM,
                    kind=kinds[BuiltinKind.FORM_REMINDER],
                    days_after=2,
                    every_days=2,
                    max_times=2,
                    position=2,
                ),
            ]
        )
