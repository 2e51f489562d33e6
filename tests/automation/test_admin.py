"""Automation in admin as a tenant admin uses it: rules saved only when their conditions and actions hold,
dry runs that change nothing, "run now", built-in tasks, remote-island codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from automation.models import RemoteIsland, Rule, RuleGroup, TaskDefinition
from orders.constants import EventType, Stage
from orders.models import Label, Order, OrderEvent, Status
from tests.automation.engine_helpers import group, label, payment, quiet, rule, snapshot, status_of
from tests.factories import make_order


@pytest.fixture(autouse=True)
def english(client: Any) -> Iterator[None]:
    """Messages are asserted in English: the test's own strings and the admin's requests alike."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def url(model: type[Any], view: str, *args: Any) -> str:
    return reverse(f"admin:automation_{model._meta.model_name}_{view}", args=args)


def rule_data(tenant: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "group": RuleGroup.objects.for_tenant(tenant).first().pk,
        "name": "ギフトは要確認",
        "enabled": "on",
        "statuses": [status_of(tenant, Stage.NEW).pk],
        "conditions": json.dumps(
            {"match": "all", "items": [{"field": "remarks", "op": "contains", "value": "ギフト"}]}, ensure_ascii=False
        ),
        "actions": json.dumps([{"type": "add_label", "label": label(tenant, "ギフト").pk}]),
    }
    return {**data, **overrides}


# --- rules ------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_rule(admin_client_tenant, tenant):
    response = admin_client_tenant.post(
        url(Rule, "add"),
        rule_data(tenant, actions=json.dumps([{"type": "add_label", "label": str(label(tenant, "ギフト").pk)}])),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    made = Rule.objects.get(name="ギフトは要確認")
    assert made.tenant == tenant
    assert made.position == 4  # after the three default rules of the group
    assert made.actions == [{"type": "add_label", "label": label(tenant, "ギフト").pk}]  # cleaned: an int
    assert made.conditions["items"] == [{"field": "remarks", "op": "contains", "value": "ギフト"}]
    assert list(made.statuses.all()) == [status_of(tenant, Stage.NEW)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "conditions",
            {"match": "all", "items": [{"field": "payment_method", "op": "eq", "value": 999_999}]},
            "Payment method: the selected payment method (ID 999999) does not exist.",
        ),
        (
            "conditions",
            {"match": "all", "items": [{"field": "total", "op": "gt", "value": "高い"}]},
            "Total: “高い” is not a whole number.",
        ),
        ("actions", [{"type": "move_status", "status": 999_999}], "Action 1 (Move to a status): the status 999999"),
        ("actions", [{"type": "add_memo", "text": ""}], "Action 1 (Add a work memo): enter a text"),
        ("actions", [], "Add at least one action"),
    ],
)
def test_a_bad_rule_is_refused_with_a_message_naming_the_field(admin_client_tenant, tenant, field, value, message):
    count = Rule.objects.count()

    response = admin_client_tenant.post(url(Rule, "add"), rule_data(tenant, **{field: json.dumps(value)}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert any(error.startswith(message) for error in errors[field]), errors[field]
    assert message.split(":")[0] in response.content.decode()
    assert Rule.objects.count() == count


def test_json_that_is_not_json_is_refused_on_its_field(admin_client_tenant, tenant):
    response = admin_client_tenant.post(url(Rule, "add"), rule_data(tenant, conditions="{match: all"))
    assert list(response.context["adminform"].form.errors) == ["conditions"]


def test_another_tenants_rows_cannot_be_named(admin_client_tenant, tenant, other_tenant):
    theirs_label = Label.objects.for_tenant(other_tenant).first()
    theirs_status = Status.objects.for_tenant(other_tenant).first()
    theirs_group = RuleGroup.objects.for_tenant(other_tenant).first()

    response = admin_client_tenant.post(
        url(Rule, "add"),
        rule_data(
            tenant,
            group=theirs_group.pk,
            statuses=[theirs_status.pk],
            actions=json.dumps([{"type": "add_label", "label": theirs_label.pk}]),
        ),
    )

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"group", "statuses", "actions"}
    assert not Rule.objects.filter(name="ギフトは要確認").exists()


def test_the_rule_form_offers_only_the_tenants_statuses_and_groups(admin_client_tenant, tenant, other_tenant):
    form = admin_client_tenant.get(url(Rule, "add")).context["adminform"].form
    assert {s.tenant_id for s in form.fields["statuses"].queryset} == {tenant.pk}
    assert {g.tenant_id for g in form.fields["group"].queryset} == {tenant.pk}
    assert "tenant" not in form.fields


def test_another_tenants_rule_is_not_found(admin_client_tenant, other_tenant):
    theirs = Rule.objects.for_tenant(other_tenant).first()
    response = admin_client_tenant.get(url(Rule, "change", theirs.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_rules_are_reordered_and_switched_in_their_group(admin_client_tenant, tenant):
    default = RuleGroup.objects.for_tenant(tenant).get()
    rules = list(Rule.objects.filter(group=default).order_by("position"))
    change = url(RuleGroup, "change", default.pk)
    prefix = admin_client_tenant.get(change).context["inline_admin_formsets"][0].formset.prefix
    data = {
        "name": default.name,
        "enabled": "on",
        f"{prefix}-TOTAL_FORMS": str(len(rules)),
        f"{prefix}-INITIAL_FORMS": str(len(rules)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, made in enumerate(reversed(rules)):  # dragged into the reverse order; the first one switched off
        data |= {
            f"{prefix}-{i}-id": str(made.pk),
            f"{prefix}-{i}-group": str(default.pk),
            f"{prefix}-{i}-name": made.name,
            f"{prefix}-{i}-position": str(i + 1),
        }
        if i:
            data[f"{prefix}-{i}-enabled"] = "on"

    response = admin_client_tenant.post(change, data)

    assert response.status_code == 302
    after = list(Rule.objects.filter(group=default).order_by("position"))
    assert [r.pk for r in after] == [r.pk for r in reversed(rules)]
    assert [r.enabled for r in after] == [False, True, True]


# --- dry run and run now ----------------------------------------------------------------------------------


def test_dry_run_of_a_group_lists_the_orders_and_changes_nothing(admin_client_tenant, tenant):
    card = make_order(tenant)
    bank = make_order(tenant, payment_method=payment(tenant, "bank_transfer"))
    default = RuleGroup.objects.for_tenant(tenant).get()
    before = snapshot(tenant)

    response = admin_client_tenant.post(
        url(RuleGroup, "changelist"), {"action": "dry_run_groups", "_selected_action": [default.pk]}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert snapshot(tenant) == before
    for order in (card, bank):
        assert order.external_id in html
    assert "クレジットカード → 入金済" in html
    assert status_of(tenant, Stage.PAID).name in html
    assert status_of(tenant, Stage.AWAITING_PAYMENT).name in html
    assert "Nothing has been changed" in html


def test_dry_run_of_a_rule_not_yet_switched_on(admin_client_tenant, tenant):
    quiet(tenant)
    order = make_order(tenant, remarks="ギフト包装希望")
    trial = rule(
        group(tenant, "セール", 5, enabled=False),
        "セールのチラシ",
        1,
        [status_of(tenant, Stage.NEW)],
        [{"type": "add_line", "sku": "FLYER-SALE", "name": "セールのチラシ", "quantity": 1}],
        enabled=False,
    )
    before = snapshot(tenant)

    response = admin_client_tenant.post(
        url(Rule, "changelist"), {"action": "dry_run_rules", "_selected_action": [trial.pk]}
    )

    html = response.content.decode()
    assert snapshot(tenant) == before
    assert order.external_id in html
    assert "FLYER-SALE" in html


def test_run_now_applies_the_group_and_says_what_it_did(admin_client_tenant, tenant, tenant_admin):
    card = make_order(tenant)
    default = RuleGroup.objects.for_tenant(tenant).get()

    response = admin_client_tenant.post(
        url(RuleGroup, "changelist"), {"action": "run_groups", "_selected_action": [default.pk]}, follow=True
    )

    assert Order.objects.get(pk=card.pk).stage == Stage.PAID
    message = " ".join(str(m) for m in response.context["messages"])
    assert f"{default.name}: Auto-processing ran over 1 order: 1 changed." in message
    event = OrderEvent.objects.get(order=card, type=EventType.STATUS_CHANGED)
    assert event.actor_name == "クレジットカード → 入金済"


def test_run_now_ignores_another_tenants_group(admin_client_tenant, tenant, other_tenant):
    theirs = RuleGroup.objects.for_tenant(other_tenant).get()
    order = make_order(other_tenant)

    admin_client_tenant.post(url(RuleGroup, "changelist"), {"action": "run_groups", "_selected_action": [theirs.pk]})

    assert Order.objects.get(pk=order.pk).stage == Stage.NEW


def test_groups_are_switched_on_and_off_in_the_list(admin_client_tenant, tenant):
    default = RuleGroup.objects.for_tenant(tenant).get()
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(default.pk),
        "_save": "Save",
    }

    response = admin_client_tenant.post(url(RuleGroup, "changelist"), data)

    assert response.status_code == 302
    assert RuleGroup.objects.get(pk=default.pk).enabled is False


# --- task definitions and islands -------------------------------------------------------------------------


def test_a_built_in_task_keeps_its_code_and_cannot_be_deleted(admin_client_tenant, tenant):
    remarks = TaskDefinition.objects.for_tenant(tenant).get(code="remarks")
    change = url(TaskDefinition, "change", remarks.pk)
    assert "code" not in admin_client_tenant.get(change).context["adminform"].form.fields

    response = admin_client_tenant.post(
        change, {"name": "備考を読む", "enabled": "on", "colour": "#000000", "conditions": "", "code": "hacked"}
    )
    admin_client_tenant.post(
        url(TaskDefinition, "changelist"),
        {"action": "delete_selected", "_selected_action": [remarks.pk], "post": "yes"},
    )

    assert response.status_code == 302
    remarks.refresh_from_db()
    assert (remarks.code, remarks.name, remarks.auto_resolve) == ("remarks", "備考を読む", False)
    assert admin_client_tenant.post(url(TaskDefinition, "delete", remarks.pk), {"post": "yes"}).status_code == 403


def test_a_custom_task_with_a_bad_condition_is_refused(admin_client_tenant, tenant):
    response = admin_client_tenant.post(
        url(TaskDefinition, "add"),
        {
            "name": "高額",
            "enabled": "on",
            "colour": "#123456",
            "auto_resolve": "on",
            "conditions": json.dumps({"match": "all", "items": [{"field": "nosuch", "op": "eq", "value": 1}]}),
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["conditions"] == ["Condition 1: there is no field “nosuch”."]


@pytest.mark.parametrize(("typed", "stored"), [("〒９０７－", "907"), ("100-1101", "1001101"), ("0971", "0971")])
def test_remote_island_codes_are_stored_as_digits(admin_client_tenant, tenant, typed, stored):
    RemoteIsland.objects.for_tenant(tenant).filter(postal_code=stored).delete()
    response = admin_client_tenant.post(url(RemoteIsland, "add"), {"postal_code": typed, "area": "テスト島"})
    assert response.status_code == 302
    assert RemoteIsland.objects.for_tenant(tenant).get(postal_code=stored).area == "テスト島"


def test_a_remote_island_code_that_is_not_one_is_refused(admin_client_tenant, tenant):
    response = admin_client_tenant.post(url(RemoteIsland, "add"), {"postal_code": "12", "area": "x"})
    assert "postal_code" in response.context["adminform"].form.errors
    duplicate = admin_client_tenant.post(url(RemoteIsland, "add"), {"postal_code": "907", "area": "x"})
    assert duplicate.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (
            RuleGroup,
            {
                "name": "本部の自動処理",
                "enabled": "on",
                "rules-TOTAL_FORMS": "0",
                "rules-INITIAL_FORMS": "0",
                "rules-MIN_NUM_FORMS": "0",
                "rules-MAX_NUM_FORMS": "1000",
            },
        ),
        (TaskDefinition, {"name": "本部確認", "enabled": "on", "colour": "#123456", "conditions": ""}),
        (RemoteIsland, {"postal_code": "9999", "area": "本部島"}),
    ],
    ids=["rule-group", "task-definition", "remote-island"],
)
def test_a_superuser_picks_the_tenant(admin_client, other_tenant, model, data):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "tenant" in admin_client.get(url(model, "add")).context["adminform"].form.fields

    response = admin_client.post(url(model, "add"), {**data, "tenant": other_tenant.pk})

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert (
        model.objects.filter(tenant=other_tenant)
        .filter(**({"area": "本部島"} if model is RemoteIsland else {"name": data["name"]}))
        .exists()
    )


@pytest.mark.parametrize("colour", ["red", "#12345g", "#12345", "#fff", "x;y:z", "#1234G6"])
def test_a_task_colour_that_is_not_rrggbb_is_refused(admin_client_tenant, tenant, colour):
    """It is written into the order screens' style attributes, like the status and label colours."""
    count = TaskDefinition.objects.count()
    response = admin_client_tenant.post(
        url(TaskDefinition, "add"),
        {"name": "色違い", "enabled": "on", "colour": colour, "auto_resolve": "on", "conditions": ""},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["colour"]
    assert errors["colour"] == ["Enter a colour as #RRGGBB." if colour else "This field is required."]
    assert TaskDefinition.objects.count() == count
