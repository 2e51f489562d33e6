"""A new tenant and its defaults (backyard.provisioning): everything it starts with, written set-based in a fixed
number of queries (it was 147 queries row by row), and idempotent when run again."""

from __future__ import annotations

from typing import Any

from automation.defaults import BUILTIN_TASKS, DEFAULT_GROUP, DEFAULT_RULES
from automation.islands import ISLANDS
from automation.models import RemoteIsland, Rule, RuleGroup, TaskDefinition
from backyard.models import Tenant
from backyard.provisioning import tenant_create, tenant_defaults_create
from mailer.defaults import KINDS, MOBILE_DOMAINS, TEMPLATES
from mailer.models import MailKind, MailTemplate, MobileDomain, ReminderRule, StatusMail
from mailer.services.setup import STATUS_KINDS
from orders.constants import Stage
from orders.models import Label, PaymentMethod, Status, StatusGroup
from orders.services import DEFAULT_DELIVERY_METHODS, DEFAULT_LABELS, DEFAULT_PAYMENT_METHODS, DEFAULT_STATUS_TREE
from shipping.models import DeliveryMethod, ShippingStore
from shops.constants import MallKind
from shops.models import Shop

# One INSERT per table, a few reads for the rules and the mail setup, and the transaction's savepoints: 39 on
# PostgreSQL (29 before the mailer's kinds, templates, domains, settings, status mails and reminder rules).
TENANT_CREATE_QUERIES = 40


def defaults_of(tenant: Tenant) -> dict[str, Any]:
    """What a tenant has of each default, in its own order, as an operator sees it in the admin."""
    return {
        "tree": [
            (group.name, group.stage, [(s.name, s.colour) for s in group.statuses.order_by("position", "pk")])
            for group in StatusGroup.objects.for_tenant(tenant).order_by("position", "pk")
        ],
        "payments": list(
            PaymentMethod.objects.for_tenant(tenant)
            .order_by("position", "pk")
            .values_list("name", "code", "needs_payment_confirmation", "is_cash_on_delivery")
        ),
        "deliveries": list(
            DeliveryMethod.objects.for_tenant(tenant).order_by("position", "pk").values_list("name", "carrier")
        ),
        "labels": list(Label.objects.for_tenant(tenant).order_by("position", "pk").values_list("name", "colour")),
        "stores": list(ShippingStore.objects.for_tenant(tenant).values_list("code", "name")),
        "shops": list(Shop.objects.for_tenant(tenant).values_list("code", "name", "mall")),
        "tasks": list(
            TaskDefinition.objects.for_tenant(tenant).order_by("position", "pk").values_list("code", "name", "colour")
        ),
        "rule_groups": list(RuleGroup.objects.for_tenant(tenant).values_list("name", "enabled")),
        "rules": [
            (rule.name, rule.enabled, [s.name for s in rule.statuses.all()])
            for rule in Rule.objects.for_tenant(tenant).order_by("position", "pk")
        ],
        "islands": RemoteIsland.objects.for_tenant(tenant).count(),
        "mail_kinds": list(MailKind.objects.for_tenant(tenant).values_list("code", "name", "position")),
        "mail_templates": sorted(MailTemplate.objects.for_tenant(tenant).values_list("kind__code", "device")),
        "mobile_domains": sorted(MobileDomain.objects.for_tenant(tenant).values_list("domain", flat=True)),
        "status_mails": sorted(
            StatusMail.objects.for_tenant(tenant).values_list("status__name", "kind__code", "auto_send")
        ),
        "reminders": list(
            ReminderRule.objects.for_tenant(tenant).values_list("name", "target", "kind__code", "move_to__name")
        ),
    }


def expected_defaults() -> dict[str, Any]:
    first_new = DEFAULT_STATUS_TREE[0][2][0][0]
    return {
        "tree": [(name, stage, children) for name, stage, children in DEFAULT_STATUS_TREE],
        "payments": [(name, code, confirm, cod) for name, code, confirm, cod in DEFAULT_PAYMENT_METHODS],
        "deliveries": list(DEFAULT_DELIVERY_METHODS),
        "labels": list(DEFAULT_LABELS),
        "stores": [("main", "本社倉庫")],
        "shops": [("phone-fax", "電話・FAX注文", MallKind.MANUAL)],
        "tasks": list(BUILTIN_TASKS),
        "rule_groups": [(DEFAULT_GROUP, True)],
        "rules": [(name, True, [first_new]) for name, _code, _no_remarks, _stage in DEFAULT_RULES],
        "islands": len(ISLANDS),
        "mail_kinds": list(KINDS),
        "mail_templates": sorted((t.kind, t.device) for t in TEMPLATES),
        "mobile_domains": sorted(MOBILE_DOMAINS),
        "status_mails": sorted((name, str(code), False) for name, code in STATUS_KINDS.items()),
        "reminders": [
            ("入金催促", "unpaid", "payment_reminder", "催促済"),
            ("注文フォーム未記入催促", "form", "form_reminder", None),
        ],
    }


def test_a_new_tenant_gets_every_default_in_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    with django_assert_max_num_queries(TENANT_CREATE_QUERIES):
        tenant = tenant_create(name="株式会社新規商店", slug="new-shop")

    assert defaults_of(tenant) == expected_defaults()
    assert DEFAULT_STATUS_TREE[0][1] == Stage.NEW  # the rules watch where new orders land


def test_the_defaults_again_keep_the_tenants_changes_and_bring_back_what_was_deleted(
    tenant, django_assert_max_num_queries
):
    PaymentMethod.objects.for_tenant(tenant).filter(code="cod").update(name="代引き（ヤマト）")
    Label.objects.for_tenant(tenant).filter(name="ギフト").delete()
    Status.objects.for_tenant(tenant).filter(name="催促済").update(name="督促済")
    TaskDefinition.objects.for_tenant(tenant).filter(code="remarks").update(enabled=False)
    RemoteIsland.objects.for_tenant(tenant).filter(postal_code="907").delete()

    with django_assert_max_num_queries(TENANT_CREATE_QUERIES):
        tenant_defaults_create(tenant=tenant)

    got, expected = defaults_of(tenant), expected_defaults()
    assert ("代引き（ヤマト）", "cod", False, True) in got["payments"]  # renamed: the tenant's own name is kept
    assert got["labels"] == expected["labels"]  # deleted: back again
    assert ("督促済", "#fd7e14") in got["tree"][3][2]  # the tenant's statuses are its own
    assert TaskDefinition.objects.for_tenant(tenant).get(code="remarks").enabled is False
    assert got["islands"] == expected["islands"]
    assert len(got["tasks"]) == len(expected["tasks"])
    assert got["rules"] == expected["rules"]  # the group exists: no second set of rules


def test_each_tenant_gets_its_own_defaults_beside_anothers(tenant, other_tenant):
    assert defaults_of(tenant) == defaults_of(other_tenant) == expected_defaults()
    assert not Status.objects.for_tenant(tenant).filter(group__tenant=other_tenant).exists()
    assert not Rule.statuses.through.objects.filter(rule__tenant=tenant, status__tenant=other_tenant).exists()
