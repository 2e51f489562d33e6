"""The rule action "send a mail of kind X" (issue 13, T4): queued through the mailer's ledger once per order and
kind, by the rule; validated against the tenant's own kinds; offered in the rule builder."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from automation.actions import clean_actions, validate_actions
from automation.services import process
from automation.widgets import actions_schema
from backyard.models import Tenant
from mailer.models import BuiltinKind, MailKind, MailMessage, MailSource, MailState, ShopMailSettings
from mailer.services.queueing import mail_queue
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order
from tests.automation.engine_helpers import group, quiet, rule, status_of
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant: Tenant) -> dict[str, Any]:
    quiet(tenant)
    shop = ShopFactory(tenant=tenant, name="有機茶園やまだ")
    ShopMailSettings.objects.create(tenant=tenant, shop=shop, from_address="shop@yamada-tea.example")
    return {"new": status_of(tenant, Stage.NEW), "group": group(tenant, "メール", 10), "shop": shop}


def kind(tenant: Tenant, code: str = BuiltinKind.ORDER_CONFIRMATION) -> MailKind:
    return MailKind.objects.get(tenant=tenant, code=code)


def orders(tenant: Tenant, world: dict[str, Any], n: int, **fields: Any) -> list[Order]:
    return [make_order(tenant, shop=world["shop"], orderer_email=f"buyer{i}@example.jp", **fields) for i in range(n)]


def test_the_rule_queues_the_mail_once_per_order(tenant, world, django_capture_on_commit_callbacks):
    confirmation = kind(tenant)
    made = rule(world["group"], "注文確認を送る", 1, [world["new"]], [{"type": "send_mail", "kind": confirmation.pk}])
    targets = orders(tenant, world, 3)
    no_address = make_order(tenant, shop=world["shop"], orderer_email="")
    ids = [o.pk for o in [*targets, no_address]]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        process(tenant=tenant, order_ids=ids)

    rows = MailMessage.objects.filter(tenant=tenant)
    assert sorted(rows.values_list("order_id", flat=True)) == sorted(o.pk for o in targets)
    assert set(rows.values_list("kind_id", "source", "state", "sequence", "actor_name")) == {
        (confirmation.pk, MailSource.RULE, MailState.QUEUED, 0, made.name)
    }
    assert callbacks  # handed to the mail queue after the commit

    process(tenant=tenant, order_ids=ids)  # the engine runs again (after every import): nothing twice
    assert MailMessage.objects.filter(tenant=tenant).count() == 3


def test_an_order_that_had_the_mail_from_an_operator_is_skipped(tenant, world, operator):
    confirmation = kind(tenant)
    had, new = orders(tenant, world, 2)
    mail_queue(tenant=tenant, order_ids=[had.pk], kind=confirmation, actor=Actor.for_user(operator))
    rule(world["group"], "注文確認を送る", 1, [world["new"]], [{"type": "send_mail", "kind": confirmation.pk}])

    process(tenant=tenant, order_ids=[had.pk, new.pk])

    assert MailMessage.objects.filter(order=had).count() == 1
    assert MailMessage.objects.get(order=new).source == MailSource.RULE


def test_a_mail_action_costs_the_same_queries_for_many_orders(tenant, world, django_assert_max_num_queries):
    confirmation = kind(tenant)
    rule(world["group"], "注文確認を送る", 1, [world["new"]], [{"type": "send_mail", "kind": confirmation.pk}])
    few = orders(tenant, world, 2)
    many = orders(tenant, world, 12)
    with CaptureQueriesContext(connection) as first:
        process(tenant=tenant, order_ids=[o.pk for o in few])
    with django_assert_max_num_queries(len(first)):
        process(tenant=tenant, order_ids=[o.pk for o in many])
    assert MailMessage.objects.filter(tenant=tenant).count() == 14


def test_a_foreign_or_missing_kind_is_refused_in_japanese(tenant, other_tenant):
    foreign = kind(other_tenant)
    with translation.override("ja"):
        problems = validate_actions(tenant, [{"type": "send_mail", "kind": foreign.pk}])
        missing = validate_actions(tenant, [{"type": "send_mail", "kind": None}])
    assert problems == [f"アクション 1（メールを送信）: メール種別（ID {foreign.pk}）は存在しません。"]
    assert "メール種別を選んでください" in missing[0]
    with pytest.raises(ValidationError):
        clean_actions(tenant, [{"type": "send_mail", "kind": foreign.pk}])
    own = kind(tenant)
    assert clean_actions(tenant, [{"type": "send_mail", "kind": str(own.pk)}]) == [
        {"type": "send_mail", "kind": own.pk}
    ]


def test_a_deleted_kind_is_reported_with_the_rule_and_the_rest_runs(tenant, world):
    gone = MailKind.objects.create(tenant=tenant, code="gone", name="消える種別")
    made = rule(
        world["group"],
        "種別が消えたルール",
        1,
        [world["new"]],
        [{"type": "send_mail", "kind": gone.pk}, {"type": "add_memo", "text": "残りは動く"}],
    )
    gone.delete()
    order = orders(tenant, world, 1)[0]

    with translation.override("en"):
        result = process(tenant=tenant, order_ids=[order.pk])

    outcome = next(r for r in result.rules if r.rule_id == made.pk)
    assert "no longer exists" in outcome.errors[0]
    assert Order.objects.get(pk=order.pk).work_memo.endswith("残りは動く")
    assert not MailMessage.objects.exists()


def test_the_rule_builder_offers_the_tenants_kinds(tenant, other_tenant):
    MailKind.objects.create(tenant=other_tenant, code="secret", name="他社の種別")
    with translation.override("ja"):
        schema = actions_schema(tenant)
    send = next(t for t in schema["types"] if t["code"] == "send_mail")
    assert send["label"] == "メールを送信"
    (setting,) = send["settings"]
    assert (setting["name"], setting["label"], setting["kind"]) == ("kind", "メール種別", "choice")
    names = [name for _pk, name in setting["choices"]]
    assert "入金催促" in names
    assert "他社の種別" not in names
