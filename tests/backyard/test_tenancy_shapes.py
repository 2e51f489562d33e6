"""The security review's other shapes of cross-tenant requests (issue 11, "Keep"), beside the URL walker of
test_tenancy.py (which puts another tenant's ids into every URL path):

- a selection that mixes the tenant's orders with another tenant's, posted to the selection endpoint and
  forged into the session, then every action on the selection run on it;
- another tenant's ids in the query string of every page without an id in its path;
- another tenant's ids inside the JSON of rules and task definitions (conditions and actions), saved in the
  admin;
- the admin's autocomplete, for every relation of every model whose admin can search;
- the filter sidebars of every admin changelist.

Each is generated from a registry (the URL patterns, the condition and action registries, the models and the
admin site), so a view, a condition field, an action or an admin added later is checked too; a POST-only view
fails here until it says whether it acts on the selection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import django_filters
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.test import Client
from django.urls import reverse

from automation.actions import ACTIONS, validate_actions
from automation.conditions import FIELDS
from automation.models import Rule, RuleGroup, TaskDefinition
from backyard.models import Membership, Role, Tenant, TenantOwned
from orders.constants import Stage
from orders.filters import OrderFilter
from orders.models import Label, Order, PaymentMethod, Status
from shops.models import Shop
from tests.automation.engine_helpers import snapshot
from tests.backyard.test_tenancy import OWN_ROUTES, import_run_of, iter_routes, row_of
from tests.factories import ShopFactory, make_member, make_order

MARK = "ZZ他社"  # in every foreign row this module names (orders, shop, label), never in the tenant's own
HTMX = {"HTTP_HX_REQUEST": "true"}
ID_LESS_ROUTES = [r for r in iter_routes() if not r.is_admin and not r.id_args and r.name]


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", errors="replace")
    return response.content.decode("utf-8", errors="replace")


def status_in(tenant: Tenant, stage: Stage) -> Status:
    return Status.objects.for_tenant(tenant).filter(group__stage=stage).order_by("group__position", "position")[0]


def orders_of(tenant: Tenant, prefix: str) -> list[Order]:
    """A new order and one awaiting a bank transfer: every action on the selection changes one of them."""
    shop = Shop.objects.for_tenant(tenant).exclude(mall="manual").first()
    bank = PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")
    name = f"{prefix} 花子"
    return [
        make_order(tenant, shop=shop, external_id=f"{prefix}-NEW", orderer_name=name, dest_name=name),
        make_order(
            tenant,
            shop=shop,
            external_id=f"{prefix}-PAY",
            orderer_name=name,
            dest_name=name,
            payment_method=bank,
            status=status_in(tenant, Stage.AWAITING_PAYMENT),
        ),
    ]


def memo_rule(tenant: Tenant) -> None:
    """A rule that writes a memo on new orders, so that auto-processing changes every order it reaches."""
    group = RuleGroup.objects.create(tenant=tenant, name="walker", position=99)
    rule = Rule.objects.create(
        tenant=tenant, group=group, name="walker memo", position=1, actions=[{"type": "add_memo", "text": "walker"}]
    )
    rule.statuses.set(Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW))


@pytest.fixture
def mixed(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    for t in (tenant, other_tenant):
        memo_rule(t)
    own, foreign = orders_of(tenant, "OWN"), orders_of(other_tenant, MARK)
    return {"own": own, "foreign": foreign, "ids": [o.pk for o in own + foreign]}


def session_key(tenant: Tenant) -> str:
    return f"by_selection_{tenant.pk}"


def forge_selection(client: Client, tenant: Tenant, data: dict[str, Any]) -> None:
    """Put a selection into the session as it is stored: a session from before the selection checked ids,
    or one written by hand."""
    session = client.session
    session[session_key(tenant)] = data
    session.save()


# --- mixed selections ----------------------------------------------------------------------------------------

# The POST-only views without an id in the path → for those that act on the selection, the fields that make
# them change the tenant's orders (so the test sees that they ran); None: not an action on the selection.
POST_VIEWS: dict[str, dict[str, str] | None] = {
    "order_bulk_edit": {"ship_date": "2026-11-20"},
    "order_bulk_confirm_payment": {"paid_on": "2026-11-20"},
    "order_bulk_cancel": {"reason": "混在テスト"},
    "order_selection_process": {},
    "order_selection": None,  # changes the selection itself: test_the_selection_endpoint_keeps_only_own_ids
    "saved_search_create": None,
    "order_page_size": None,  # the operator's own rows per page
    "tenant_switch": None,
    "logout": None,
    "fetch_latest": None,
    "stock_check_run": {},
    "products_csv_import": None,  # imports the operator's own previewed file (its key is in the path)
    "products_csv_retry": None,  # reads the operator's own kept file again (its key is in the path)
    "documents_print": {"kinds": "delivery_note"},  # prints the selection (marks and events of the orders)
    "waybill_export": None,  # keeps the selected ids for the preview (changes nothing); the download writes
    "waybill_download": None,  # exports the operator's own kept ids (their key is in the path)
    "warehouse_request": None,  # keeps the selected ids for the confirmation (changes nothing); its POST requests
    "tracking_apply": None,  # applies the operator's own uploaded file (its key is in the path)
    "tracking_retry": None,  # matches the operator's own uploaded file again (its key is in the path)
    "shops_reports_retry": None,  # sends the tenant's own reports the malls have not taken again (no ids)
}
SELECTION_ACTIONS = [name for name, fields in POST_VIEWS.items() if fields is not None]


def test_every_post_only_view_says_whether_it_acts_on_the_selection(operator):
    client = client_of(operator)
    client.get(reverse("home"))
    post_only = set()
    for route in ID_LESS_ROUTES:
        response = client.get(route.url())
        if response.status_code == 405:
            post_only.add(route.full_name)
    assert post_only == set(POST_VIEWS), f"classify these in POST_VIEWS of {__file__}"


@pytest.mark.parametrize("scope", ["", "all", "shown"])
@pytest.mark.parametrize("shape", ["posted", "forged ids", "forged all-matching"])
@pytest.mark.parametrize("view", SELECTION_ACTIONS)
def test_an_action_on_a_mixed_selection_leaves_the_other_tenants_orders_alone(
    view, shape, scope, operator, tenant, other_tenant, mixed
):
    client = client_of(operator)
    client.get(reverse("home"))
    if shape == "posted":
        client.post(reverse("order_selection"), {"action": "add", "ids": mixed["ids"]})
    elif shape == "forged ids":
        forge_selection(client, tenant, {"ids": mixed["ids"]})
    else:  # every order of the list, the other tenant's "unticked"
        forge_selection(client, tenant, {"all": "", "except": [o.pk for o in mixed["foreign"]]})
    theirs, ours = snapshot(other_tenant), snapshot(tenant)

    response = client.post(
        reverse(view), {**POST_VIEWS[view], "query": "", "scope": scope, "next": "/orders/"}, follow=True
    )

    assert response.status_code == 200
    assert snapshot(other_tenant) == theirs
    assert snapshot(tenant) != ours, "the action did not run: the test proves nothing"
    page = body_of(response)
    assert MARK not in page
    for order in mixed["foreign"]:
        assert f"/orders/{order.pk}/" not in page


@pytest.mark.parametrize("view", SELECTION_ACTIONS)
def test_the_question_before_an_action_counts_only_the_tenants_orders(view, operator, tenant, other_tenant, mixed):
    """Sent from a list that shows one of the two own orders, the action first asks; its numbers are the
    tenant's (2 selected, 1 not shown), whatever the session holds of another tenant's."""
    client = client_of(operator)
    client.get(reverse("home"))
    forge_selection(client, tenant, {"ids": mixed["ids"]})
    theirs, ours = snapshot(other_tenant), snapshot(tenant)

    response = client.post(
        reverse(view), {**POST_VIEWS[view], "query": f"status={status_in(tenant, Stage.NEW).pk}", "next": "/orders/"}
    )

    assert response.status_code == 200
    assert "選択中の 2 件のうち 1 件はこの一覧に表示されていません。" in body_of(response)
    assert (snapshot(other_tenant), snapshot(tenant)) == (theirs, ours)


@pytest.mark.parametrize("view", SELECTION_ACTIONS)
def test_an_action_on_a_selection_of_only_foreign_orders_changes_nothing(view, operator, tenant, other_tenant, mixed):
    client = client_of(operator)
    client.get(reverse("home"))
    forge_selection(client, tenant, {"ids": [o.pk for o in mixed["foreign"]]})
    theirs, ours = snapshot(other_tenant), snapshot(tenant)

    response = client.post(
        reverse(view), {**POST_VIEWS[view], "query": "", "scope": "all", "next": "/orders/"}, follow=True
    )

    assert response.status_code == 200
    assert (snapshot(other_tenant), snapshot(tenant)) == (theirs, ours)
    assert MARK not in body_of(response)


@pytest.mark.parametrize("action", ["add", "toggle", "remove", "all_matching"])
def test_the_selection_endpoint_keeps_only_own_ids(action, operator, tenant, other_tenant, mixed):
    client = client_of(operator)
    client.get(reverse("home"))
    if action in ("remove", "toggle"):
        client.post(reverse("order_selection"), {"action": "all_matching", "query": ""})

    response = client.post(reverse("order_selection"), {"action": action, "ids": mixed["ids"], "query": ""}, **HTMX)

    assert response.status_code == 200
    own = {o.pk for o in mixed["own"]}
    expected = {"add": len(own), "toggle": 0, "remove": 0, "all_matching": len(own)}[action]
    assert response.context["selected_count"] == expected
    stored = client.session[session_key(tenant)]
    assert set(stored.get("ids", [])) | set(stored.get("except", [])) <= own
    assert MARK not in body_of(response)


# --- another tenant's ids in the query string ---------------------------------------------------------------


def foreign_query(other_tenant: Tenant, mixed: dict[str, Any]) -> dict[str, Any]:
    """Every query parameter a page without an id in its path reads, holding another tenant's ids."""
    from shipping.models import DeliveryMethod

    shop = ShopFactory(tenant=other_tenant, name=f"{MARK}の店")
    label = Label.objects.create(tenant=other_tenant, name=f"{MARK}ラベル", position=90)
    filters = {  # the list's filters that take an id (all of them: see the assertion below)
        "status": status_in(other_tenant, Stage.NEW).pk,
        "shop": shop.pk,
        "label": label.pk,
        "payment": PaymentMethod.objects.for_tenant(other_tenant).first().pk,
        "delivery": DeliveryMethod.objects.for_tenant(other_tenant).first().pk,
        "task": TaskDefinition.objects.for_tenant(other_tenant).first().pk,
    }
    id_filters = {
        name
        for name, f in OrderFilter.base_filters.items()
        if isinstance(f, django_filters.TypedChoiceFilter) and f.extra.get("coerce") is int
    }
    assert id_filters == set(filters), "give the new filter another tenant's id here"
    return {
        **filters,
        "ids": mixed["ids"],
        "order": mixed["foreign"][0].pk,
        "runs": str(import_run_of(other_tenant)),
        "scope": "selection",
        "check": "1",
        "encoding": "cp932",
    }


@pytest.mark.parametrize(
    "route", [r for r in ID_LESS_ROUTES if r.full_name not in POST_VIEWS], ids=lambda r: r.route or "/"
)
def test_a_page_shows_nothing_of_the_ids_of_another_tenant_in_its_query(route, operator, tenant, other_tenant, mixed):
    client = client_of(operator)
    client.get(reverse("home"))
    forge_selection(client, tenant, {"ids": mixed["ids"]})
    query = foreign_query(other_tenant, mixed)
    theirs = snapshot(other_tenant)

    for headers in ({}, HTMX):
        response = client.get(route.url(), query, **headers)
        assert response.status_code in {200, 302, 400, 403, 404}, response.status_code
        page = body_of(response)
        assert MARK not in page
        for order in mixed["foreign"]:
            assert f"/orders/{order.pk}/" not in page
    assert snapshot(other_tenant) == theirs


# --- another tenant's ids inside the JSON of rules and task definitions --------------------------------------


def condition_id_fields() -> list[str]:
    return [code for code, spec in FIELDS.items() if spec.model is not None]


def test_every_condition_field_offering_a_tenants_rows_checks_them(tenant, other_tenant):
    """A field whose choices differ between tenants holds ids of rows: it must name its model (which the
    check of a saved condition reads), or another tenant's ids would pass."""
    per_tenant = [
        code
        for code, spec in FIELDS.items()
        if spec.choices_fn is not None and spec.choices(tenant) != spec.choices(other_tenant)
    ]
    assert per_tenant
    assert set(per_tenant) <= set(condition_id_fields())


def condition_with(code: str, pk: int) -> dict[str, Any]:
    spec = FIELDS[code]
    op = next(op for op in ("eq", "in") if op in spec.operators)
    return {"match": "all", "items": [{"field": code, "op": op, "value": pk if op == "eq" else [pk]}]}


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, TenantOwned)]


def action_id_settings(tenant: Tenant, other_tenant: Tenant) -> list[tuple[str, str, type[models.Model]]]:
    """(action, setting, model) for every action setting that names a row of the tenant, found by asking the
    action registry's own check: of some rows of the model, it accepts exactly the tenant's (not the other
    tenant's, nor an id past every row). A check that let another tenant's rows through is found for no model,
    which test_the_action_registry_has_settings_naming_rows notices."""
    found = []
    for code, action in ACTIONS.items():
        for setting in action.settings:
            others = {s: (1 if s == "quantity" else "テスト") for s in action.settings if s != setting}
            for model in tenant_models():
                rows = model._default_manager.order_by("pk")
                own = set(rows.filter(tenant=tenant).values_list("pk", flat=True)[:5])
                foreign = set(rows.filter(tenant=other_tenant).values_list("pk", flat=True)[:5])
                if not own or not foreign:
                    continue
                missing = (model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0) + 1
                accepted = {
                    pk
                    for pk in own | foreign | {missing}
                    if not validate_actions(tenant, [{"type": code, **others, setting: pk}])
                }
                if accepted == own:
                    found.append((code, setting, model))
    return found


def test_the_action_registry_has_settings_naming_rows(tenant, other_tenant):
    named = {(code, model) for code, _setting, model in action_id_settings(tenant, other_tenant)}
    assert {
        ("move_status", Status),
        ("add_label", Label),
        ("remove_label", Label),
        ("raise_task", TaskDefinition),
        ("resolve_task", TaskDefinition),
    } <= named


@pytest.fixture(params=["tenant_admin", "superuser"])
def settings_client(request: Any, tenant: Tenant) -> Iterator[tuple[Client, dict[str, Any]]]:
    """A tenant admin, or a superuser who picks the tenant (the form then checks against that tenant)."""
    if request.param == "superuser":
        user = get_user_model().objects.create_superuser("walker-root", "root@example.jp", "x")
        yield client_of(user), {"tenant": tenant.pk}
    else:
        yield client_of(make_member(tenant, Role.ADMIN, "walker-admin")), {}


def rule_form(tenant: Tenant, *, conditions: Any = None, actions: Any = None) -> dict[str, Any]:
    label = Label.objects.for_tenant(tenant).order_by("pk").first()
    return {
        "group": RuleGroup.objects.for_tenant(tenant).order_by("pk").first().pk,
        "name": "混入テスト",
        "enabled": "on",
        "statuses": [status_in(tenant, Stage.NEW).pk],
        "conditions": json.dumps(conditions or {"match": "all", "items": []}),
        "actions": json.dumps(actions or [{"type": "add_label", "label": label.pk}]),
    }


def task_form(conditions: Any) -> dict[str, Any]:
    return {
        "name": "混入タスク",
        "enabled": "on",
        "colour": "#123456",
        "auto_resolve": "on",
        "conditions": json.dumps(conditions),
    }


def saved(client: Client, url: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(url, data)
    errors = response.context["adminform"].form.errors if response.status_code == 200 else {}
    return response.status_code, errors


def own_and_foreign(model: type[models.Model], tenant: Tenant, other_tenant: Tenant) -> tuple[int, int]:
    own, foreign = row_of(model, tenant), row_of(model, other_tenant)
    return own.pk, foreign.pk


@pytest.mark.parametrize("code", condition_id_fields())
def test_a_condition_naming_another_tenants_row_is_refused_on_save(code, settings_client, tenant, other_tenant):
    client, extra = settings_client
    own, foreign = own_and_foreign(FIELDS[code].model, tenant, other_tenant)
    rules, tasks = Rule.objects.count(), TaskDefinition.objects.count()

    for url, form in (
        (reverse("admin:automation_rule_add"), lambda c: rule_form(tenant, conditions=c)),
        (reverse("admin:automation_taskdefinition_add"), task_form),
    ):
        status, errors = saved(client, url, {**form(condition_with(code, foreign)), **extra})
        assert status == 200, url
        assert list(errors) == ["conditions"], (url, errors)
    assert (Rule.objects.count(), TaskDefinition.objects.count()) == (rules, tasks)

    # An existing rule and task definition cannot be changed to name it either; their own rows can.
    rule = Rule.objects.for_tenant(tenant).order_by("pk").first()
    definition = TaskDefinition.objects.for_tenant(tenant).filter(code="").order_by(
        "pk"
    ).first() or TaskDefinition.objects.create(tenant=tenant, name="自社タスク", position=90)
    before = (rule.conditions, definition.conditions)
    rule_url = reverse("admin:automation_rule_change", args=[rule.pk])
    task_url = reverse("admin:automation_taskdefinition_change", args=[definition.pk])
    assert list(
        saved(client, rule_url, {**rule_form(tenant, conditions=condition_with(code, foreign)), **extra})[1]
    ) == ["conditions"]
    assert list(saved(client, task_url, {**task_form(condition_with(code, foreign)), **extra})[1]) == ["conditions"]
    rule.refresh_from_db()
    definition.refresh_from_db()
    assert (rule.conditions, definition.conditions) == before
    assert saved(client, rule_url, {**rule_form(tenant, conditions=condition_with(code, own)), **extra})[0] == 302
    assert saved(client, task_url, {**task_form(condition_with(code, own)), **extra})[0] == 302


def test_an_action_naming_another_tenants_row_is_refused_on_save(settings_client, tenant, other_tenant):
    client, extra = settings_client
    cases = action_id_settings(tenant, other_tenant)
    url = reverse("admin:automation_rule_add")
    for code, setting, model in cases:
        own, foreign = own_and_foreign(model, tenant, other_tenant)
        others = {s: (1 if s == "quantity" else "テスト") for s in ACTIONS[code].settings if s != setting}
        count = Rule.objects.count()
        status, errors = saved(
            client, url, {**rule_form(tenant, actions=[{"type": code, **others, setting: foreign}]), **extra}
        )
        assert status == 200, (code, setting)
        assert list(errors) == ["actions"], (code, setting, errors)
        assert Rule.objects.count() == count
        status, errors = saved(
            client, url, {**rule_form(tenant, actions=[{"type": code, **others, setting: own}]), **extra}
        )
        assert status == 302, (code, setting, errors)


def test_the_rule_builder_offers_only_the_tenants_rows(tenant, other_tenant, tenant_admin):
    ShopFactory(tenant=other_tenant, name=f"{MARK}の店")
    Label.objects.create(tenant=other_tenant, name=f"{MARK}ラベル", position=90)
    TaskDefinition.objects.create(tenant=other_tenant, name=f"{MARK}タスク", position=90)
    client = client_of(tenant_admin)
    for url in (
        reverse("admin:automation_rule_add"),
        reverse("admin:automation_taskdefinition_add"),
        reverse("admin:automation_rule_change", args=[Rule.objects.for_tenant(tenant).first().pk]),
    ):
        assert MARK not in body_of(client.get(url)), url


# --- the admin's autocomplete ---------------------------------------------------------------------------------


def foreign_pks(model: type[models.Model], other_tenant: Tenant, tenant: Tenant) -> set[Any]:
    """The rows of `model` that belong to the other tenant and not to this one."""
    if model is Tenant:
        return {other_tenant.pk}
    if issubclass(model, TenantOwned) or model is Membership:
        return set(model._default_manager.filter(tenant=other_tenant).values_list("pk", flat=True))
    if model is get_user_model():
        return set(
            model._default_manager.filter(memberships__tenant=other_tenant)
            .exclude(memberships__tenant=tenant)
            .values_list("pk", flat=True)
        )
    return set()


def autocomplete_cases() -> list[Any]:
    """Every (model, field) the autocomplete view accepts: a relation (forward or reverse) to a model whose
    admin has search fields — whether or not an admin declares it in `autocomplete_fields`."""
    cases = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            remote = getattr(getattr(field, "remote_field", None), "model", None)
            if remote is None or remote not in admin.site._registry:
                continue
            if not admin.site._registry[remote].search_fields:
                continue
            cases.append(pytest.param(model, field.name, id=f"{model._meta.label}.{field.name}"))
    return cases


def test_the_autocomplete_walk_covers_the_declared_fields():
    walked = {(c.values[0], c.values[1]) for c in autocomplete_cases()}
    assert walked
    for model, model_admin in admin.site._registry.items():
        for owner in [model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)]:
            for name in owner.autocomplete_fields:
                assert (owner.model, name) in walked


@pytest.mark.parametrize(("model", "field_name"), autocomplete_cases())
def test_autocomplete_offers_no_row_of_another_tenant(model, field_name, tenant, other_tenant, tenant_admin):
    make_order(tenant, external_id="OWN-AUTO")
    make_order(other_tenant, external_id=f"{MARK}-AUTO", orderer_name=f"{MARK} 花子")
    ShopFactory(tenant=other_tenant, name=f"{MARK}の店", code="zzforeign")
    make_member(other_tenant, Role.OPERATOR, "zzforeign-member")
    remote = model._meta.get_field(field_name).remote_field.model
    foreign = foreign_pks(remote, other_tenant, tenant)
    client = client_of(tenant_admin)

    for term in ("", MARK, "zz", "他社", "1"):
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field_name,
                "term": term,
            },
        )
        assert response.status_code in {200, 403, 404}, response.status_code
        if response.status_code != 200:
            continue
        results = response.json()["results"]
        offered = {remote._meta.pk.to_python(row["id"]) for row in results}
        assert not offered & foreign, (term, offered & foreign)
        assert not [row for row in results if MARK in row["text"] or "zzforeign" in row["text"]]


# --- the admin's filter sidebars ----------------------------------------------------------------------------


def changelists() -> list[Any]:
    return [pytest.param(model, id=model._meta.label) for model in admin.site._registry]


@pytest.mark.parametrize("facets", [False, True])
@pytest.mark.parametrize("model", changelists())
def test_no_filter_sidebar_offers_a_row_of_another_tenant(model, facets, tenant, other_tenant, tenant_admin):
    make_order(tenant, shop=ShopFactory(tenant=tenant, name="自社の店"), external_id="OWN-FILTER")
    RuleGroup.objects.create(tenant=tenant, name="自社グループ", position=90)  # a sidebar shows two or more
    shop = ShopFactory(tenant=other_tenant, name=f"{MARK}の店", code="zzforeign")
    make_order(other_tenant, shop=shop, external_id=f"{MARK}-FILTER", orderer_name=f"{MARK} 花子")
    Label.objects.create(tenant=other_tenant, name=f"{MARK}ラベル", position=90)
    RuleGroup.objects.create(tenant=other_tenant, name=f"{MARK}グループ", position=90)
    make_member(other_tenant, Role.OPERATOR, "zzforeign-member")
    Group.objects.create(name=f"{MARK}グループ")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client_of(tenant_admin).get(url, {"_facets": "1"} if facets else {})

    if response.status_code != 200:  # not the tenant admin's to see (logins, groups): nothing shown at all
        assert response.status_code in {302, 403}
        return
    page = body_of(response)
    sidebar = page.split('id="changelist-filter"', 1)[1] if 'id="changelist-filter"' in page else ""
    assert MARK not in sidebar
    assert "zzforeign" not in sidebar
    assert other_tenant.name not in page
    for spec in response.context["cl"].filter_specs:
        related = getattr(getattr(spec, "field", None), "related_model", None)
        if related is None:
            continue
        offered = {pk for pk, _label in getattr(spec, "lookup_choices", [])}
        assert not offered & foreign_pks(related, other_tenant, tenant), spec.title


def test_the_sidebar_walk_sees_relation_filters(tenant, tenant_admin):
    """So that the walk above is not empty: the order changelist filters by shop, a relation."""
    ShopFactory(tenant=tenant, name="自社の店")
    response = client_of(tenant_admin).get(reverse("admin:orders_order_changelist"))
    assert any(getattr(spec, "lookup_choices", None) for spec in response.context["cl"].filter_specs)


def test_the_id_less_routes_are_walked():
    assert {"home", "order_export", "order_selection", "order_bulk_edit"} <= {r.full_name for r in ID_LESS_ROUTES}
    assert OWN_ROUTES
