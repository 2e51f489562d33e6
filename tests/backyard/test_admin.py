"""Django admin as a tenant admin sees it: own rows only, tenant set on save, other tenants unreachable."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.forms import ModelChoiceField
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext

from automation.models import RemoteIsland, Rule, RuleGroup, TaskDefinition
from backyard.middleware import SESSION_KEY
from backyard.models import Membership, Role, Tenant, TenantOwned
from backyard.services import membership_set
from inventory.models import Product
from orders.constants import Stage
from orders.models import Label, Order, OrderEvent, PaymentMethod, Status, StatusGroup
from shipping.models import DeliveryMethod, FeeTable, ShippingStore
from shops.constants import MallKind
from shops.models import Shop
from tests.factories import PASSWORD, ShopFactory, make_member, make_order, make_tenant

User = get_user_model()


def admin_url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def page(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


# One recognisable row per admin model: `marker` is the text a changelist shows for it.
def make_row(model: type[models.Model], tenant: Tenant, marker: str) -> list[str]:
    """Create a row of `model` in `tenant` named after `marker`; the texts that must (not) be visible."""
    code = marker.lower()
    if model is StatusGroup:
        StatusGroup.objects.create(tenant=tenant, name=marker, stage=Stage.NEW, position=50)
    elif model is PaymentMethod:
        PaymentMethod.objects.create(tenant=tenant, name=marker, code=code, position=50)
    elif model is Label:
        Label.objects.create(tenant=tenant, name=marker, position=50)
    elif model is Shop:
        ShopFactory(tenant=tenant, name=marker, code=code, position=50)
    elif model is DeliveryMethod:
        DeliveryMethod.objects.create(tenant=tenant, name=marker, position=50)
    elif model is ShippingStore:
        ShippingStore.objects.create(tenant=tenant, name=marker, code=code, position=50)
    elif model is Order:
        shop = ShopFactory(tenant=tenant, name=f"SHOP_OF_{marker}")
        make_order(tenant, shop=shop, external_id=marker)
        return [marker, f"SHOP_OF_{marker}"]
    elif model is Membership:
        make_member(tenant, Role.OPERATOR, code)
        return [code]
    elif model is Tenant:
        return [tenant.name]
    elif model is RuleGroup:
        RuleGroup.objects.create(tenant=tenant, name=marker, position=50)
    elif model is Rule:
        group = RuleGroup.objects.create(tenant=tenant, name=f"GROUP_OF_{marker}", position=50)
        Rule.objects.create(
            tenant=tenant, group=group, name=marker, position=50, actions=[{"type": "add_memo", "text": marker}]
        )
    elif model is TaskDefinition:
        TaskDefinition.objects.create(tenant=tenant, name=marker, position=50)
    elif model is RemoteIsland:
        code = f"00{sum(map(ord, marker)) % 100_000:05d}"  # sorts before the seeded codes: on page 1
        RemoteIsland.objects.create(tenant=tenant, postal_code=code, area=marker)
    else:
        pytest.fail(f"make_row() does not know {model._meta.label}")
    return [marker]


SCOPED_MODELS = [
    StatusGroup,
    PaymentMethod,
    Label,
    Shop,
    DeliveryMethod,
    ShippingStore,
    Order,
    Membership,
    Tenant,
    RuleGroup,
    Rule,
    TaskDefinition,
    RemoteIsland,
]
SORTABLE_MODELS = [m for m, ma in admin.site._registry.items() if isinstance(ma, SortableAdminMixin)]
EDITABLE_MODELS = [StatusGroup, PaymentMethod, Label, Shop, DeliveryMethod, ShippingStore, RuleGroup, TaskDefinition]


@pytest.fixture
def operator_staff(tenant):
    """An operator who somehow has is_staff: the role, not the flag, opens the admin."""
    user = make_member(tenant, Role.OPERATOR, "staffoperator")
    user.is_staff = True
    user.save()
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- who may open the admin ------------------------------------------------------------------------------


def test_tenant_admin_opens_the_admin_without_logins_and_groups(admin_client_tenant, tenant_admin):
    response = admin_client_tenant.get(reverse("admin:index"))
    page(response)
    assert not tenant_admin.is_superuser
    apps = {app["app_label"] for app in response.context["app_list"]}
    # axes: the failed logins of the tenant's own logins, to unlock them (backyard/admin.py)
    assert apps == {"automation", "axes", "backyard", "documents", "inventory", "mailer", "orders", "shops", "shipping"}


@pytest.mark.parametrize("view", ["admin:index", "admin:orders_label_changelist", "admin:backyard_membership_add"])
def test_an_operator_cannot_open_the_admin_even_as_staff(operator_staff, view):
    response = client_for(operator_staff).get(reverse(view))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_rights_follow_the_current_tenant(client, tenant, other_tenant):
    user = make_member(tenant, Role.ADMIN, "mixedroles")
    make_member(other_tenant, Role.OPERATOR, "mixedroles")
    client.force_login(user)

    client.post(reverse("tenant_switch"), {"tenant": tenant.pk})
    assert client.get(reverse("admin:index")).status_code == 200
    client.post(reverse("tenant_switch"), {"tenant": other_tenant.pk})
    assert client.session[SESSION_KEY] == other_tenant.pk
    assert client.get(reverse("admin:index")).status_code == 302


def test_superuser_sees_every_app(admin_client):
    response = admin_client.get(reverse("admin:index"))
    page(response)
    apps = {app["app_label"] for app in response.context["app_list"]}
    assert apps == {
        "auth",
        "automation",
        "axes",
        "backyard",
        "documents",
        "inventory",
        "mailer",
        "orders",
        "shops",
        "shipping",
    }


# --- changelists -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_changelist_lists_only_the_own_tenant(model, admin_client_tenant, tenant, other_tenant):
    own = make_row(model, tenant, f"OWN-{model._meta.model_name}")
    foreign = make_row(model, other_tenant, f"FOREIGN-{model._meta.model_name}")

    html = page(admin_client_tenant.get(admin_url(model, "changelist")))

    assert all(text in html for text in own)
    assert [text for text in foreign if text in html] == []
    assert other_tenant.name not in html


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_superuser_changelist_lists_every_tenant(model, admin_client, tenant, other_tenant):
    own = make_row(model, tenant, f"OWN-{model._meta.model_name}")
    foreign = make_row(model, other_tenant, f"FOREIGN-{model._meta.model_name}")

    html = page(admin_client.get(admin_url(model, "changelist")))

    assert all(text in html for text in own + foreign)


def test_order_filter_offers_only_the_own_shops(admin_client_tenant, tenant, other_tenant):
    make_row(Order, tenant, "OWN-ORDER")
    make_row(Order, other_tenant, "FOREIGN-ORDER")

    response = admin_client_tenant.get(admin_url(Order, "changelist"))

    shop_filter = next(f for f in response.context["cl"].filter_specs if getattr(f, "field_path", "") == "shop")
    offered = {name for _pk, name in shop_filter.lookup_choices}
    assert "SHOP_OF_OWN-ORDER" in offered
    assert offered <= set(Shop.objects.for_tenant(tenant).values_list("name", flat=True))


def test_autocomplete_offers_only_the_own_rows(admin_client_tenant, tenant, other_tenant):
    make_row(Order, tenant, "OWN-AUTO")
    make_row(Order, other_tenant, "FOREIGN-AUTO")

    response = admin_client_tenant.get(
        reverse("admin:autocomplete"),
        {"app_label": "orders", "model_name": "order", "field_name": "shop", "term": ""},
    )

    assert response.status_code == 200
    offered = {int(row["id"]) for row in response.json()["results"]}
    assert offered == set(Shop.objects.for_tenant(tenant).values_list("pk", flat=True))


# --- foreign-key choices ----------------------------------------------------------------------------------


def tenant_fk_fields() -> list[Any]:
    """(admin or inline class, field) for every FK/M2M to tenant data that an admin form could offer."""
    cases = []
    for model, model_admin in admin.site._registry.items():
        for owner in [model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)]:
            for field in owner.model._meta.get_fields():
                related = field.related_model
                if not (field.concrete and (field.many_to_one or field.many_to_many)):
                    continue
                if related is Tenant or (related and issubclass(related, TenantOwned)):
                    cases.append(pytest.param(owner, field, id=f"{type(owner).__name__}.{field.name}"))
    return cases


@pytest.mark.parametrize(("owner", "field"), tenant_fk_fields())
def test_foreign_key_choices_are_the_tenants(owner, field, admin_client_tenant, tenant, other_tenant):
    for each in (tenant, other_tenant):
        make_order(each)
        Product.objects.create(tenant=each, sku="CHOICE-1", name="選択肢の商品")  # products are offered too
        FeeTable.objects.create(tenant=each, name="選択肢の送料表")  # and fee tables
    request = admin_client_tenant.get(reverse("admin:index")).wsgi_request

    formfield = (
        owner.formfield_for_manytomany(field, request)
        if field.many_to_many
        else owner.formfield_for_foreignkey(field, request)
    )

    if formfield is None:  # an M2M through its own model is never a form field
        assert field.many_to_many
        return
    offered = list(formfield.queryset)
    assert offered
    assert {getattr(row, "tenant_id", row.pk) for row in offered} == {tenant.pk}


@pytest.mark.parametrize(("owner", "field"), tenant_fk_fields())
def test_superuser_gets_every_tenants_choices(owner, field, admin_client, tenant, other_tenant):
    for each in (tenant, other_tenant):
        make_order(each)
        Product.objects.create(tenant=each, sku="CHOICE-1", name="選択肢の商品")
        FeeTable.objects.create(tenant=each, name="選択肢の送料表")
    request = admin_client.get(reverse("admin:index")).wsgi_request
    formfield = (
        owner.formfield_for_manytomany(field, request)
        if field.many_to_many
        else owner.formfield_for_foreignkey(field, request)
    )
    if formfield is None:
        assert field.many_to_many
        return
    assert {getattr(row, "tenant_id", row.pk) for row in formfield.queryset} >= {tenant.pk, other_tenant.pk}


def page_forms(response: Any) -> list[Any]:
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.extend([*inline.formset.forms, inline.formset.empty_form])
    return forms


@pytest.mark.parametrize("model", EDITABLE_MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("view", ["add", "change"])
def test_form_pages_hide_the_tenant_and_offer_only_own_rows(model, view, admin_client_tenant, tenant, other_tenant):
    make_row(model, other_tenant, "FOREIGN-ROW")
    args = [model.objects.for_tenant(tenant).first().pk] if view == "change" else []

    response = admin_client_tenant.get(admin_url(model, view, *args))

    html = page(response)
    assert 'name="tenant"' not in html
    assert "FOREIGN-ROW" not in html
    for form in page_forms(response):
        assert "tenant" not in form.fields
        for name, formfield in form.fields.items():
            if name == form._meta.model._meta.pk.name:  # an inline row's own id: looked up in the formset
                continue
            if isinstance(formfield, ModelChoiceField) and issubclass(formfield.queryset.model, TenantOwned):
                assert set(formfield.queryset.values_list("tenant_id", flat=True)) <= {tenant.pk}


def test_superuser_picks_the_tenant_on_add_pages(admin_client, tenant, other_tenant):
    form = admin_client.get(admin_url(Label, "add")).context["adminform"].form
    assert set(form.fields["tenant"].queryset) == {tenant, other_tenant}


# --- saving as a tenant admin -----------------------------------------------------------------------------


def inline_management(response: Any, forms: list[dict[str, str]]) -> dict[str, str]:
    """The POST data of the page's (only) inline formset, with `forms` as new rows."""
    formset = response.context["inline_admin_formsets"][0].formset
    data = {
        f"{formset.prefix}-TOTAL_FORMS": str(len(forms)),
        f"{formset.prefix}-INITIAL_FORMS": "0",
        f"{formset.prefix}-MIN_NUM_FORMS": "0",
        f"{formset.prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(forms):
        data.update({f"{formset.prefix}-{i}-{key}": value for key, value in row.items()})
    return data


NEW_ROWS: dict[type[models.Model], Callable[[str], dict[str, str]]] = {
    PaymentMethod: lambda name: {"name": name, "code": name.lower(), "active": "on"},
    Label: lambda name: {"name": name, "colour": "#123456"},
    Shop: lambda name: {"name": name, "mall": MallKind.YAHOO, "code": name.lower(), "active": "on"},
    DeliveryMethod: lambda name: {"name": name, "carrier": "yamato", "service": "takkyubin", "active": "on"},
    ShippingStore: lambda name: {"name": name, "code": name.lower(), "kind": "own", "csv_encoding": "cp932"},
    RuleGroup: lambda name: {
        "name": name,
        "enabled": "on",
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    },
    TaskDefinition: lambda name: {
        "name": name,
        "enabled": "on",
        "colour": "#123456",
        "conditions": "",
        "auto_resolve": "on",
    },
}


@pytest.mark.parametrize("model", list(NEW_ROWS), ids=lambda m: m._meta.label)
def test_a_new_row_gets_the_tenant_and_the_next_position(model, admin_client_tenant, tenant, other_tenant):
    make_row(model, other_tenant, "FOREIGN-HIGH")
    model.objects.filter(tenant=other_tenant).update(position=500)
    own_max = max(model.objects.for_tenant(tenant).values_list("position", flat=True))

    response = admin_client_tenant.post(admin_url(model, "add"), NEW_ROWS[model]("NEW-ROW"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    row = model.objects.get(name="NEW-ROW")
    assert row.tenant == tenant
    assert row.position == own_max + 1


def test_a_new_status_group_and_its_statuses_get_the_tenant(admin_client_tenant, tenant):
    add = admin_url(StatusGroup, "add")
    data = {"name": "保留", "stage": Stage.NEW}
    data |= inline_management(
        admin_client_tenant.get(add),
        [
            {"name": "保留中", "colour": "#111111", "position": ""},
            {"name": "顧客確認中", "colour": "#222222", "position": ""},
        ],
    )

    response = admin_client_tenant.post(add, data)

    assert response.status_code == 302
    group = StatusGroup.objects.get(name="保留")
    assert group.tenant == tenant
    assert group.position == StatusGroup.objects.for_tenant(tenant).count()
    statuses = list(group.statuses.order_by("position"))
    assert [(s.name, s.tenant_id) for s in statuses] == [("保留中", tenant.pk), ("顧客確認中", tenant.pk)]
    assert [s.position for s in statuses] == [1, 2]


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Label, "name"),
        (PaymentMethod, "code"),
        (Shop, "code"),
        (DeliveryMethod, "name"),
        (ShippingStore, "code"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_a_duplicate_within_the_tenant_is_a_form_error(model, field, admin_client_tenant, tenant, other_tenant):
    taken = getattr(model.objects.for_tenant(tenant).first(), field)
    data = NEW_ROWS[model]("DUPLICATE") | {field: taken}
    count = model.objects.count()

    response = admin_client_tenant.post(admin_url(model, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert model.objects.count() == count


@pytest.mark.parametrize("model", [Label, Shop], ids=lambda m: m._meta.label)
def test_a_name_taken_by_another_tenant_is_free(model, admin_client_tenant, tenant, other_tenant):
    make_row(model, other_tenant, "SHARED-NAME")
    response = admin_client_tenant.post(admin_url(model, "add"), NEW_ROWS[model]("SHARED-NAME"))
    assert response.status_code == 302
    assert model.objects.get(tenant=tenant, name="SHARED-NAME")


def test_renaming_onto_a_taken_name_is_a_form_error(admin_client_tenant, tenant):
    first, second = Label.objects.for_tenant(tenant).order_by("position")[:2]
    response = admin_client_tenant.post(
        admin_url(Label, "change", second.pk), {"name": first.name, "colour": "#000000"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    second.refresh_from_db()
    assert second.name != first.name


# --- forged ids -------------------------------------------------------------------------------------------


def test_changing_another_tenants_label_is_not_found(admin_client_tenant, other_tenant):
    theirs = Label.objects.for_tenant(other_tenant).first()

    response = admin_client_tenant.post(
        admin_url(Label, "change", theirs.pk), {"name": "乗っ取り", "colour": "#000000"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    theirs.refresh_from_db()
    assert theirs.name != "乗っ取り"


def test_a_forged_foreign_status_in_the_inline_is_refused(admin_client_tenant, tenant, other_tenant):
    group = StatusGroup.objects.for_tenant(tenant).first()
    theirs = Status.objects.for_tenant(other_tenant).first()
    url = admin_url(StatusGroup, "change", group.pk)
    prefix = admin_client_tenant.get(url).context["inline_admin_formsets"][0].formset.prefix
    data = {
        "name": group.name,
        "stage": group.stage,
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": str(theirs.pk),
        f"{prefix}-0-group": str(group.pk),
        f"{prefix}-0-name": "乗っ取り",
        f"{prefix}-0-colour": "#000000",
        f"{prefix}-0-position": "1",
    }

    before = snapshot(theirs)
    own_statuses = list(group.statuses.values_list("pk", "name"))

    admin_client_tenant.post(url, data)

    # Django looks the row up in the inline's (scoped) queryset, finds nothing and skips it.
    assert snapshot(theirs) == before
    assert list(group.statuses.values_list("pk", "name")) == own_statuses
    assert not Status.objects.filter(name="乗っ取り").exists()


def test_delete_action_ignores_foreign_ids(admin_client_tenant, tenant, other_tenant):
    mine = Label.objects.create(tenant=tenant, name="消す")
    theirs = Label.objects.for_tenant(other_tenant).first()

    admin_client_tenant.post(
        admin_url(Label, "changelist"),
        {"action": "delete_selected", "_selected_action": [mine.pk, theirs.pk], "post": "yes"},
    )

    assert not Label.objects.filter(pk=mine.pk).exists()
    assert Label.objects.filter(pk=theirs.pk).exists()


# --- drag and drop ----------------------------------------------------------------------------------------


def snapshot(row: models.Model) -> dict[str, Any]:
    return type(row)._default_manager.filter(pk=row.pk).values().get()


def positions(model: type[models.Model], tenant: Tenant) -> dict[int, int]:
    return dict(model.objects.for_tenant(tenant).values_list("pk", "position"))


def reorder(client: Client, model: type[models.Model], items: list[list[int]]) -> Any:
    return client.post(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_sortable_update"),
        json.dumps({"updatedItems": items}),
        content_type="application/json",
    )


@pytest.fixture
def sortable_rows(tenant, other_tenant):
    def make(model: type[models.Model]) -> None:
        for i in range(2):
            make_row(model, tenant, f"OWN-SORT-{i}")
            make_row(model, other_tenant, f"FOREIGN-SORT-{i}")

    return make


def test_every_sortable_admin_is_checked():
    assert set(SORTABLE_MODELS) == set(EDITABLE_MODELS)


@pytest.mark.parametrize("model", SORTABLE_MODELS, ids=lambda m: m._meta.label)
def test_reorder_moves_the_tenants_rows(model, sortable_rows, admin_client_tenant, tenant, other_tenant):
    sortable_rows(model)
    before = positions(model, tenant)
    theirs = positions(model, other_tenant)
    pks = sorted(before, key=before.get)
    wanted = dict(zip(reversed(pks), sorted(before.values()), strict=True))

    response = reorder(admin_client_tenant, model, [[pk, pos] for pk, pos in wanted.items()])

    assert response.status_code == 200
    assert positions(model, tenant) == wanted != before
    assert positions(model, other_tenant) == theirs


@pytest.mark.parametrize("model", SORTABLE_MODELS, ids=lambda m: m._meta.label)
def test_reorder_refuses_foreign_ids(model, sortable_rows, admin_client_tenant, tenant, other_tenant):
    sortable_rows(model)
    mine, theirs = positions(model, tenant), positions(model, other_tenant)
    own_pk, foreign_pk = next(iter(mine)), next(iter(theirs))

    response = reorder(admin_client_tenant, model, [[own_pk, 999], [foreign_pk, 1000]])

    assert response.status_code == 400
    assert positions(model, tenant) == mine
    assert positions(model, other_tenant) == theirs


def test_reorder_needs_a_tenant_admin(operator_staff, tenant):
    before = positions(StatusGroup, tenant)
    pk = next(iter(before))
    response = reorder(client_for(operator_staff), StatusGroup, [[pk, 999]])
    assert response.status_code == 302
    assert positions(StatusGroup, tenant) == before


# --- orders are read-only ---------------------------------------------------------------------------------


def test_order_change_page_is_read_only_with_its_events(admin_client_tenant, tenant):
    order = make_order(tenant)
    event = OrderEvent.objects.filter(order=order).first()

    response = admin_client_tenant.get(admin_url(Order, "change", order.pk))

    html = page(response)
    assert 'name="_save"' not in html
    assert 'name="orderer_name"' not in html
    assert order.orderer_name in html
    assert str(event.get_type_display()) in html
    assert "SKU-001" in html


def test_an_order_cannot_be_changed_added_or_deleted(admin_client_tenant, tenant):
    order = make_order(tenant)

    change = admin_client_tenant.post(admin_url(Order, "change", order.pk), {"orderer_name": "改ざん"})
    add = admin_client_tenant.post(admin_url(Order, "add"), {"external_id": "NEW"})
    delete = admin_client_tenant.post(admin_url(Order, "delete", order.pk), {"post": "yes"})

    assert (change.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert admin_client_tenant.get(admin_url(Order, "add")).status_code == 403
    order.refresh_from_db()
    assert order.orderer_name == "山田 太郎"
    assert Order.objects.filter(tenant=tenant).count() == 1


# --- memberships ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "staff"), [(Role.OPERATOR, False), (Role.ADMIN, True)])
def test_tenant_admin_adds_a_colleague(admin_client_tenant, tenant, role, staff):
    add = admin_url(Membership, "add")
    form = admin_client_tenant.get(add).context["adminform"].form
    assert {"username", "email", "password", "role"} <= set(form.fields)
    assert "tenant" not in form.fields
    assert "user" not in form.fields

    response = admin_client_tenant.post(
        add,
        {
            "username": "colleague",
            "email": "colleague@example.jp",
            "password": "Kimono-Sakura-2026",
            "role": role,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="colleague")
    assert user.check_password("Kimono-Sakura-2026")
    assert user.email == "colleague@example.jp"
    assert user.is_staff is staff
    assert not user.is_superuser
    assert list(user.memberships.values_list("tenant_id", "role")) == [(tenant.pk, role)]


def test_a_colleague_can_log_in_to_the_tenant(admin_client_tenant, tenant):
    admin_client_tenant.post(
        admin_url(Membership, "add"),
        {"username": "newcomer", "password": "Kimono-Sakura-2026", "role": Role.OPERATOR},
    )
    client = Client()
    assert client.login(username="newcomer", password="Kimono-Sakura-2026")
    assert client.get(reverse("home")).wsgi_request.tenant == tenant


@pytest.mark.parametrize(
    ("holder", "message"),
    [
        ("own tenant", "This login is already a member of this company."),
        # Another company's login and a login of no company read alike: the form does not tell a tenant
        # admin that a login exists elsewhere.
        ("other tenant", "This login name cannot be used. Choose another one."),
        ("no tenant", "This login name cannot be used. Choose another one."),
    ],
)
def test_a_duplicate_username_is_refused(admin_client_tenant, tenant, other_tenant, holder, message):
    taken = User.objects.create_user("taken", password=PASSWORD)
    company = {"own tenant": tenant, "other tenant": other_tenant, "no tenant": None}[holder]
    if company is not None:
        membership_set(tenant=company, user=taken, role=Role.OPERATOR)
    before = Membership.objects.count()

    response = admin_client_tenant.post(
        admin_url(Membership, "add"),
        {"username": "taken", "password": "Kimono-Sakura-2026", "role": Role.OPERATOR},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["username"] == [gettext(message)]
    assert Membership.objects.count() == before
    taken.refresh_from_db()
    assert taken.check_password(PASSWORD)


def test_the_add_member_form_does_not_tell_that_a_login_exists_in_another_company(admin_client_tenant, other_tenant):
    make_member(other_tenant, Role.OPERATOR, "elsewhere")
    User.objects.create_user("platform", password=PASSWORD)  # a login of no company
    add = admin_url(Membership, "add")
    data = {"password": "Kimono-Sakura-2026", "role": Role.OPERATOR}

    elsewhere = page(admin_client_tenant.post(add, {**data, "username": "elsewhere"}))
    nowhere = page(admin_client_tenant.post(add, {**data, "username": "platform"}))

    for text in (gettext("This login name is already taken."), other_tenant.name, other_tenant.slug):
        assert text not in elsewhere

    # The two answers differ only in the name typed back into the form (and the masked CSRF tokens).
    def same(html: str, name: str) -> str:
        return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html.replace(name, "NAME"))

    assert same(elsewhere, "elsewhere") == same(nowhere, "platform")


@pytest.mark.parametrize("field", ["username", "email"])
def test_a_password_like_the_login_name_or_email_is_refused(admin_client_tenant, field):
    data = {"username": "sakura-kimono-2026", "email": "hanako-kimono-2026@example.jp", "role": Role.OPERATOR}
    password = {"username": "sakura-kimono-2026", "email": "hanako-kimono-2026@example.jp"}[field]

    response = admin_client_tenant.post(admin_url(Membership, "add"), {**data, "password": password})

    assert response.status_code == 200
    similar = gettext("The password is too similar to the %(verbose_name)s.") % {
        "verbose_name": User._meta.get_field(field).verbose_name
    }
    assert similar in response.context["adminform"].form.errors["password"]
    assert not User.objects.filter(username="sakura-kimono-2026").exists()


def test_a_weak_password_is_refused(admin_client_tenant):
    response = admin_client_tenant.post(
        admin_url(Membership, "add"),
        {"username": "weak", "password": "12345", "role": Role.OPERATOR},
    )
    assert response.status_code == 200
    assert "password" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="weak").exists()


def test_tenant_admin_changes_only_the_role(admin_client_tenant, tenant):
    colleague = make_member(tenant, Role.OPERATOR, "colleague")
    membership = Membership.objects.get(user=colleague, tenant=tenant)
    url = admin_url(Membership, "change", membership.pk)
    assert set(admin_client_tenant.get(url).context["adminform"].form.fields) == {"role"}

    response = admin_client_tenant.post(url, {"role": Role.ADMIN, "tenant": 999, "user": 999})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.tenant_id, membership.user_id) == (
        Role.ADMIN,
        tenant.pk,
        colleague.pk,
    )


def test_tenant_admin_cannot_change_or_delete_the_owner(admin_client_tenant, tenant):
    owner = Membership.objects.get(user=make_member(tenant, Role.OWNER, "owner"), tenant=tenant)

    change = admin_client_tenant.post(admin_url(Membership, "change", owner.pk), {"role": Role.OPERATOR})
    delete = admin_client_tenant.post(admin_url(Membership, "delete", owner.pk), {"post": "yes"})

    assert (change.status_code, delete.status_code) == (403, 403)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


@pytest.mark.parametrize("view", ["add", "change"])
def test_tenant_admin_cannot_make_owners(admin_client_tenant, tenant, tenant_admin, view):
    """Only an owner or a superuser hands out ownership; an admin promoting themselves would be one."""
    me = Membership.objects.get(user=tenant_admin, tenant=tenant)
    url = admin_url(Membership, "add") if view == "add" else admin_url(Membership, "change", me.pk)
    data = {"username": "newowner", "password": "Kimono-Sakura-2026", "role": Role.OWNER}

    response = admin_client_tenant.post(url, data)

    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(tenant=tenant, role=Role.OWNER).exists()


def test_an_owner_can_make_owners(client, tenant):
    client.force_login(make_member(tenant, Role.OWNER, "owner"))
    response = client.post(
        admin_url(Membership, "add"),
        {"username": "coowner", "password": "Kimono-Sakura-2026", "role": Role.OWNER},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__username="coowner").role == Role.OWNER


# --- tenants ----------------------------------------------------------------------------------------------


def test_tenant_admin_cannot_add_or_delete_tenants(admin_client_tenant, tenant):
    count = Tenant.objects.count()
    assert admin_client_tenant.get(admin_url(Tenant, "add")).status_code == 403
    assert admin_client_tenant.post(admin_url(Tenant, "add"), {"name": "新会社", "slug": "new-co"}).status_code == 403
    assert admin_client_tenant.post(admin_url(Tenant, "delete", tenant.pk), {"post": "yes"}).status_code == 403
    assert Tenant.objects.count() == count


def test_superuser_adds_a_tenant_with_the_defaults(admin_client, tenant):
    response = admin_client.post(admin_url(Tenant, "add"), {"name": "新会社", "slug": "new-co"})

    assert response.status_code == 302
    new = Tenant.objects.get(slug="new-co")
    assert new.name == "新会社"
    for model in [StatusGroup, Status, PaymentMethod, Label, DeliveryMethod, ShippingStore, Shop]:
        assert model.objects.for_tenant(new).count() == model.objects.for_tenant(tenant).count() > 0, model
    assert Status.objects.for_tenant(new).filter(group__stage=Stage.NEW).exists()


def test_superuser_sees_the_new_tenant_in_the_list(admin_client):
    make_tenant("一覧確認商店", "listed")
    assert "一覧確認商店" in page(admin_client.get(admin_url(Tenant, "changelist")))


def test_stage_of_a_group_with_orders_cannot_change(admin_client_tenant, tenant):
    from orders.models import Status, StatusGroup
    from tests.factories import make_order

    order = make_order(tenant)
    group = order.status.group
    statuses = list(Status.objects.filter(group=group).order_by("position"))
    data = {
        "name": group.name,
        "stage": "paid",
        "statuses-TOTAL_FORMS": str(len(statuses)),
        "statuses-INITIAL_FORMS": str(len(statuses)),
        "statuses-MIN_NUM_FORMS": "0",
        "statuses-MAX_NUM_FORMS": "1000",
    }
    for i, status in enumerate(statuses):
        data |= {
            f"statuses-{i}-id": str(status.pk),
            f"statuses-{i}-group": str(group.pk),
            f"statuses-{i}-name": status.name,
            f"statuses-{i}-colour": status.colour,
            f"statuses-{i}-position": str(status.position),
        }

    response = admin_client_tenant.post(f"/admin/orders/statusgroup/{group.pk}/change/", data)

    assert response.status_code == 200  # the form again, with the error
    assert "受注があるため" in response.content.decode() or "Orders are in this group" in response.content.decode()
    group.refresh_from_db()
    assert group.stage == "new"
    assert StatusGroup.objects.get(pk=group.pk).stage == order.stage
