"""Products and stock in the admin as a tenant admin uses it: the tenant's products only, another tenant's
answered like a missing one, set components and JAN codes refused with the reason in Japanese, stock changed
by difference with its history, and the history itself read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from inventory.models import MoveKind, Product, SetComponent, SkuAlias, StockMove
from tests.factories import make_order

pytestmark = pytest.mark.django_db

MISSING_ID = 987_654_321


def url(model: type[Any], view: str, *args: Any) -> str:
    return reverse(f"admin:inventory_{model._meta.model_name}_{view}", args=args)


def product(tenant: Any, sku: str, **fields: Any) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=f"商品 {sku}", **fields)


def product_data(client: Any, page: str, obj: Product | None = None, **overrides: Any) -> dict[str, Any]:
    """The product form as the page would post it (the inlines empty unless given as `components`/`aliases`)."""
    response = client.get(page)
    assert response.status_code == 200
    data: dict[str, Any] = {
        "sku": obj.sku if obj else "NEW-1",
        "name": obj.name if obj else "新しい商品",
        "options": "",
        "jan": obj.jan if obj else "",
        "location": "",
        "weight_g": "",
        "size_class": "",
        "on_hand": obj.on_hand if obj else 0,
        "on_hand_seen": obj.on_hand if obj else 0,
        "reorder_point": 0,
        "active": "on",
    }
    if obj and obj.is_set:
        data["is_set"] = "on"
    rows = {"components": overrides.pop("components", []), "aliases": overrides.pop("aliases", [])}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        existing = list(formset.queryset)
        given = rows[formset.prefix]
        data |= {
            f"{formset.prefix}-TOTAL_FORMS": str(len(existing) + len(given)),
            f"{formset.prefix}-INITIAL_FORMS": str(len(existing)),
            f"{formset.prefix}-MIN_NUM_FORMS": "0",
            f"{formset.prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, row in enumerate(existing):
            data[f"{formset.prefix}-{i}-id"] = row.pk
            for name in formset.form.base_fields:
                if name not in {"id", "DELETE"}:
                    value = getattr(row, f"{name}_id", None) or getattr(row, name)
                    data[f"{formset.prefix}-{i}-{name}"] = value
        for i, row in enumerate(given, start=len(existing)):
            data |= {f"{formset.prefix}-{i}-{name}": value for name, value in row.items()}
    return {k: v for k, v in (data | overrides).items() if v is not None}


def errors_of(response: Any) -> list[str]:
    found = [str(e) for errors in response.context["adminform"].form.errors.values() for e in errors]
    for inline in response.context["inline_admin_formsets"]:
        found += [str(e) for e in inline.formset.non_form_errors()]
        for form_errors in inline.formset.errors:
            found += [str(e) for errors in form_errors.values() for e in errors]
    return found


# --- the tenant's products only ---------------------------------------------------------------------------


def test_a_tenant_admin_sees_only_their_products(admin_client_tenant, tenant, other_tenant):
    product(tenant, "OWN-TEA", on_hand=5)
    product(other_tenant, "THEIR-TEA", on_hand=9)

    response = admin_client_tenant.get(url(Product, "changelist"))

    assert response.status_code == 200
    assert [p.sku for p in response.context["cl"].result_list] == ["OWN-TEA"]
    html = response.content.decode()
    assert "OWN-TEA" in html
    assert "THEIR-TEA" not in html
    assert other_tenant.name not in html


def test_the_list_shows_what_is_available(admin_client_tenant, tenant):
    Product.objects.filter(pk=product(tenant, "HELD", on_hand=5).pk).update(allocated=3)

    response = admin_client_tenant.get(url(Product, "changelist"), {"o": "7"})  # by "available"

    row = response.context["cl"].result_list[0]
    assert (row.on_hand, row.allocated, row.available) == (5, 3, 2)


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_tenants_product_is_answered_like_a_missing_one(admin_client_tenant, other_tenant, view):
    theirs = product(other_tenant, "THEIR-TEA")

    foreign = admin_client_tenant.get(url(Product, view, theirs.pk))
    missing = admin_client_tenant.get(url(Product, view, MISSING_ID))

    assert foreign.status_code == missing.status_code == 302
    assert foreign["Location"] == missing["Location"] == reverse("admin:index")
    changed = admin_client_tenant.post(url(Product, "change", theirs.pk), {"sku": "HIJACK", "name": "乗っ取り"})
    assert changed.status_code == 302
    theirs.refresh_from_db()
    assert theirs.sku == "THEIR-TEA"


def test_choices_are_the_tenants_single_products(admin_client_tenant, tenant, other_tenant):
    single = product(tenant, "SINGLE")
    product(tenant, "A-SET", is_set=True)
    product(other_tenant, "THEIR-SINGLE")
    made = product(tenant, "NEW-SET", is_set=True)

    response = admin_client_tenant.get(url(Product, "change", made.pk))

    formset = next(i.formset for i in response.context["inline_admin_formsets"] if i.formset.model is SetComponent)
    assert list(formset.empty_form.fields["component"].queryset) == [single]
    alias_form = admin_client_tenant.get(url(SkuAlias, "add")).context["adminform"].form
    assert set(alias_form.fields["product"].queryset) == set(Product.objects.for_tenant(tenant))
    found = admin_client_tenant.get(
        reverse("admin:autocomplete"),
        {"app_label": "inventory", "model_name": "setcomponent", "field_name": "component", "term": ""},
    ).json()["results"]
    assert [int(row["id"]) for row in found] == [single.pk]


# --- sets, JAN codes ----------------------------------------------------------------------------------------


def test_a_set_containing_itself_is_refused_in_japanese(admin_client_tenant, tenant):
    tea = product(tenant, "TEA-GIFT")
    page = url(Product, "change", tea.pk)

    data = product_data(admin_client_tenant, page, tea, is_set="on", components=[{"component": tea.pk, "quantity": 2}])
    response = admin_client_tenant.post(page, data)

    assert response.status_code == 200
    assert "セット商品の構成品に自分自身は含められません。" in errors_of(response)
    assert "セット商品の構成品に自分自身は含められません。" in response.content.decode()
    tea.refresh_from_db()
    assert not tea.is_set
    assert not SetComponent.objects.exists()


def test_a_set_is_made_of_single_products(admin_client_tenant, tenant):
    cup, saucer = product(tenant, "CUP", on_hand=4), product(tenant, "SAUCER", on_hand=4)
    page = url(Product, "add")
    components = [{"component": cup.pk, "quantity": 1}, {"component": saucer.pk, "quantity": 2}]

    response = admin_client_tenant.post(
        page, product_data(admin_client_tenant, page, is_set="on", components=components)
    )

    assert response.status_code == 302, errors_of(response)
    made = Product.objects.get(sku="NEW-1")
    assert (made.tenant, made.is_set) == (tenant, True)
    rows = SetComponent.objects.filter(set_product=made).order_by("component__sku")
    assert [(c.component.sku, c.quantity, c.tenant_id) for c in rows] == [
        ("CUP", 1, tenant.pk),
        ("SAUCER", 2, tenant.pk),
    ]


def test_components_on_a_product_that_is_not_a_set_are_refused(admin_client_tenant, tenant):
    cup = product(tenant, "CUP")
    page = url(Product, "add")

    response = admin_client_tenant.post(
        page, product_data(admin_client_tenant, page, components=[{"component": cup.pk, "quantity": 1}])
    )

    assert response.status_code == 200
    assert any("構成品を持てるのはセット商品だけです" in e for e in errors_of(response))
    assert not Product.objects.filter(sku="NEW-1").exists()


@pytest.mark.parametrize(
    ("jan", "error"),
    [
        ("4901234567894", None),
        ("49012347", None),
        ("4901234567890", "JANコードのチェックデジットが正しくありません。"),
        ("490123456789", "JANコードは8桁または13桁です。"),
        ("49O1234567894", "JANコードは8桁または13桁です。"),
    ],
)
def test_the_jan_code_is_checked_in_japanese(admin_client_tenant, tenant, jan, error):
    page = url(Product, "add")

    response = admin_client_tenant.post(page, product_data(admin_client_tenant, page, jan=jan))

    if error is None:
        assert response.status_code == 302, errors_of(response)
        assert Product.objects.get(tenant=tenant, sku="NEW-1").jan == jan
    else:
        assert response.status_code == 200
        assert error in errors_of(response)
        assert not Product.objects.filter(sku="NEW-1").exists()


def test_a_mall_item_number_taken_in_the_tenant_is_a_form_error(admin_client_tenant, tenant, other_tenant):
    tea = product(tenant, "TEA")
    SkuAlias.objects.create(tenant=tenant, mall="rakuten", mall_sku="item-1", product=product(tenant, "OTHER"))
    SkuAlias.objects.create(tenant=other_tenant, mall="rakuten", mall_sku="item-2", product=product(other_tenant, "X"))
    page = url(Product, "change", tea.pk)

    taken = product_data(admin_client_tenant, page, tea, aliases=[{"mall": "rakuten", "mall_sku": "item-1"}])
    response = admin_client_tenant.post(page, taken)
    assert response.status_code == 200
    assert errors_of(response)

    free = product_data(admin_client_tenant, page, tea, aliases=[{"mall": "rakuten", "mall_sku": "item-2"}])
    assert admin_client_tenant.post(page, free).status_code == 302
    assert SkuAlias.objects.get(tenant=tenant, mall_sku="item-2").product == tea


# --- stock --------------------------------------------------------------------------------------------------


def test_on_hand_moves_by_the_difference_with_its_history(admin_client_tenant, tenant, tenant_admin):
    tea = product(tenant, "TEA", on_hand=10)
    page = url(Product, "change", tea.pk)
    data = product_data(admin_client_tenant, page, tea, on_hand=12)  # the page showed 10
    Product.objects.filter(pk=tea.pk).update(on_hand=8, allocated=5)  # meanwhile: 2 shipped, 5 allocated

    response = admin_client_tenant.post(page, data)

    assert response.status_code == 302, errors_of(response)
    tea.refresh_from_db()
    assert (tea.on_hand, tea.allocated) == (10, 5)
    move = StockMove.objects.get(product=tea)
    assert (move.kind, move.on_hand_change, move.on_hand_after, move.allocated_after) == (MoveKind.ADJUST, 2, 10, 5)
    assert (move.actor_user_id, move.actor_name) == (tenant_admin.pk, tenant_admin.username)


def test_on_hand_cannot_fall_below_what_is_allocated(admin_client_tenant, tenant):
    tea = product(tenant, "TEA", on_hand=10)
    Product.objects.filter(pk=tea.pk).update(allocated=6)
    tea.refresh_from_db()
    page = url(Product, "change", tea.pk)

    response = admin_client_tenant.post(page, product_data(admin_client_tenant, page, tea, on_hand=5))

    assert response.status_code == 200
    assert "在庫数は受注に引当済みの数（6）より少なくできません。" in errors_of(response)
    tea.refresh_from_db()
    assert (tea.on_hand, tea.allocated) == (10, 6)
    assert not StockMove.objects.exists()


def test_stock_entered_with_a_new_product_is_in_its_history(admin_client_tenant, tenant):
    page = url(Product, "add")

    response = admin_client_tenant.post(page, product_data(admin_client_tenant, page, on_hand=7))

    assert response.status_code == 302, errors_of(response)
    move = StockMove.objects.get(product__sku="NEW-1")
    assert (move.tenant, move.kind, move.on_hand_change, move.on_hand_after) == (tenant, MoveKind.ADJUST, 7, 7)


# --- the stock history: read-only --------------------------------------------------------------------------


@pytest.fixture
def move(tenant):
    tea = product(tenant, "TEA", on_hand=3)
    return StockMove.objects.create(
        tenant=tenant, product=tea, kind=MoveKind.RECEIVE, on_hand_change=3, on_hand_after=3, allocated_after=0,
        order=make_order(tenant, external_id="R-77"), actor_name="倉庫 太郎",
    )  # fmt: skip


def test_the_stock_history_is_read_only(admin_client_tenant, move):
    listed = admin_client_tenant.get(url(StockMove, "changelist"))
    assert listed.status_code == 200
    html = listed.content.decode()
    assert "R-77" in html
    assert "倉庫 太郎" in html
    assert "在庫数 +3、引当数 +0" in html
    assert "delete_selected" not in html

    assert admin_client_tenant.get(url(StockMove, "add")).status_code == 403
    opened = admin_client_tenant.get(url(StockMove, "change", move.pk))
    assert opened.status_code == 200
    assert not opened.context["has_change_permission"]
    assert 'name="_save"' not in opened.content.decode()
    admin_client_tenant.post(url(StockMove, "change", move.pk), {"on_hand_after": "99", "actor_name": "改ざん"})
    assert admin_client_tenant.post(url(StockMove, "delete", move.pk), {"post": "yes"}).status_code == 403
    move.refresh_from_db()
    assert (move.on_hand_after, move.actor_name) == (3, "倉庫 太郎")


def test_another_tenants_history_is_not_listed(admin_client_tenant, other_tenant):
    theirs = product(other_tenant, "THEIR-TEA")
    StockMove.objects.create(
        tenant=other_tenant, product=theirs, kind=MoveKind.ADJUST, on_hand_change=1, on_hand_after=1, allocated_after=0
    )

    response = admin_client_tenant.get(url(StockMove, "changelist"), {"product__id__exact": theirs.pk})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_a_component_of_a_set_cannot_become_a_set(admin_client_tenant, tenant):
    cup = product(tenant, "CUP")
    SetComponent.objects.create(tenant=tenant, set_product=product(tenant, "GIFT", is_set=True), component=cup)
    page = url(Product, "change", cup.pk)

    response = admin_client_tenant.post(page, product_data(admin_client_tenant, page, cup, is_set="on"))

    assert response.status_code == 200
    assert "この商品は他のセット商品の構成品です。セット商品を構成品にはできません。" in errors_of(response)
    cup.refresh_from_db()
    assert not cup.is_set
