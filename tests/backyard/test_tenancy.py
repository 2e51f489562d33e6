"""Tenancy: the middleware, the scoped reads, and the URL walker that proves every view hides other tenants.

The walker goes over every URL pattern of the project (admin included). Each pattern that takes an object
id is requested with another tenant's id and with an id that does not exist: our own views must answer
404 to both, the admin must answer both alike. A new view with an id argument fails here until it is
listed in TENANT_ROWS, so it cannot forget the check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.urls.resolvers import RoutePattern

from backyard.admin_mixins import TenantPermissionMixin
from backyard.middleware import SESSION_KEY
from backyard.models import Membership, Role, Tenant, TenantOwned, access_tenant_owned
from mailer.models import MailKind, MailMessage, ReminderRule, StatusMail
from orders.constants import Stage
from orders.models import Label, Order, SavedSearch, Status, StatusGroup
from tests.factories import make_member, make_order, make_tenant

MISSING_ID = 987_654_321


# --- the URL walker ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern with the route of every resolver above it."""

    route: str
    name: str | None
    namespace: str | None
    pattern: URLPattern
    converters: dict[str, Any] = field(default_factory=dict)
    regex_groups: tuple[str, ...] = ()

    @property
    def full_name(self) -> str | None:
        if self.name is None:
            return None
        return f"{self.namespace}:{self.name}" if self.namespace else self.name

    @property
    def is_admin(self) -> bool:
        return self.namespace == admin.site.name

    @property
    def id_args(self) -> list[str]:
        """Arguments that carry an object id: `int` converters, admin's `object_id`, and any `…_id`."""
        names = [*self.converters, *self.regex_groups]
        return [
            name
            for name in names
            if isinstance(self.converters.get(name), IntConverter)
            or name in {"id", "object_id"}
            or name.endswith("_id")
        ]

    def url(self, **values: object) -> str:
        """The path with each `<converter:name>` replaced; only route (not regex) patterns take ids."""
        assert not self.regex_groups, f"{self.route}: the walker cannot build a regex pattern with ids"

        def sub(match: re.Match[str]) -> str:
            name = match.group("name")
            if name not in values and name not in self.id_args:
                return "0" * 32  # a key that is not an id (a CSV upload's random key): one that does not exist
            return str(values[name])

        return "/" + re.sub(r"<(?:[^>:]+:)?(?P<name>[^>]+)>", sub, self.route)


def iter_routes(
    resolver: URLResolver | None = None,
    prefix: str = "",
    namespace: str | None = None,
    converters: dict[str, Any] | None = None,
    regex_groups: tuple[str, ...] = (),
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    converters = converters or {}
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        here_converters = dict(converters)
        here_groups = regex_groups
        if isinstance(pattern, RoutePattern):
            here_converters.update(pattern.converters)
        else:
            here_groups = (*regex_groups, *pattern.regex.groupindex)
        route = prefix + str(pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from iter_routes(entry, route, ns, here_converters, here_groups)
        else:
            yield Route(route, entry.name, namespace, entry, here_converters, here_groups)


ROUTES_WITH_IDS = [r for r in iter_routes() if r.id_args]
OWN_ROUTES = [r for r in ROUTES_WITH_IDS if not r.is_admin]
ADMIN_ROUTES = [r for r in ROUTES_WITH_IDS if r.is_admin]


def saved_search_of(tenant: Tenant) -> int:
    """A saved search of the tenant's first member (the operator of the `operator_client` for `tenant`)."""
    membership = Membership.objects.filter(tenant=tenant).order_by("pk").first()
    user = membership.user if membership else make_member(tenant)
    return SavedSearch.objects.create(
        tenant=tenant, user=user, name=f"検索{SavedSearch.objects.count()}", query="q=yamada"
    ).pk


def open_task_of(tenant: Tenant) -> dict[str, int]:
    from automation.models import OrderTask, TaskDefinition

    definition = TaskDefinition.objects.for_tenant(tenant).order_by("pk").first()
    task = OrderTask.objects.create(tenant=tenant, order=make_order(tenant), definition=definition)
    return {"order_id": task.order_id, "task_id": task.pk}


def first_status(tenant: Tenant) -> int:
    return Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).first().pk


def mall_shop_of(tenant: Tenant) -> Any:
    from shops.constants import MallKind
    from shops.models import Shop

    return Shop.objects.get_or_create(
        tenant=tenant, code="walker-mall", defaults={"name": "楽天テスト店", "mall": MallKind.RAKUTEN}
    )[0]


def import_run_of(tenant: Tenant) -> int:
    from shops.models import ImportRun

    return ImportRun.objects.create(tenant=tenant, shop=mall_shop_of(tenant), status="ok").pk


def csv_upload_of(tenant: Tenant) -> int:
    from shops.models import CsvUpload

    header = ["受注番号", "受注日時", "商品名", "単価"]
    return CsvUpload.objects.create(
        tenant=tenant,
        shop=mall_shop_of(tenant),
        filename="walker.csv",
        encoding="utf-8",
        delimiter=",",
        digest="0" * 64,
        size=80,
        header=header,
        text=",".join(header) + "\n1,2026/11/20 10:00,茶,500\n",
    ).pk


def mail_of(tenant: Tenant) -> int:
    """A sent mail of one of the tenant's orders (the send log)."""
    order = make_order(tenant)
    kind = MailKind.objects.for_tenant(tenant).get(code="shipped")
    return MailMessage.objects.create(
        tenant=tenant, order=order, shop_id=order.shop_id, kind=kind, state="sent", source="operator",
        to_address="walker@example.jp", subject="発送のお知らせ", body="本文",
    ).pk  # fmt: skip


def batch_of(tenant: Tenant) -> Any:
    """The batch (a uuid) of a queued mail of the tenant: what the send progress page shows."""
    row = MailMessage.objects.get(pk=mail_of(tenant))
    row.batch = uuid.uuid4()
    row.save(update_fields=["batch"])
    return row.batch


def document_settings_of(tenant: Tenant) -> Any:
    """A shop's form settings with a logo and a seal (the admin's preview serves them to their tenant only)."""
    from django.core.files.base import ContentFile

    from documents.models import DocumentSettings

    row, _created = DocumentSettings.objects.get_or_create(
        tenant=tenant, shop=mall_shop_of(tenant), defaults={"issuer_name": f"{tenant.name}の発行者"}
    )
    if not row.logo:
        row.logo.save("logo.png", ContentFile(PNG_1PX), save=False)
        row.seal.save("seal.png", ContentFile(PNG_1PX), save=False)
        row.save()
    return row


def print_job_of(tenant: Tenant) -> int:
    """A finished print job of the tenant, with its PDF."""
    from django.core.files.base import ContentFile

    from documents.models import JobState, PrintJob

    job = PrintJob.objects.create(tenant=tenant, kind="delivery_note", state=JobState.DONE, total=1, done=1, pages=1)
    job.file.save("walker.pdf", ContentFile(b"%PDF-1.7 walker"))
    return job.pk


PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


# Our views with an id argument → a function giving, for a tenant, ids of that tenant's rows: the URL's id
# arguments, and for a view that takes ids in its POST body, those fields too (each is tried foreign/missing).
TENANT_ROWS: dict[str, Callable[[Tenant], dict[str, int]]] = {
    "order_detail": lambda tenant: {"order_id": make_order(tenant).pk},
    "saved_search_delete": lambda tenant: {"saved_id": saved_search_of(tenant)},
    "order_move": lambda tenant: {"order_id": make_order(tenant).pk, "status": first_status(tenant)},
    "order_edit_orderer": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_edit_destination": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_edit_delivery": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_edit_amounts": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_edit_comments": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_memo_add": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_label_add": lambda tenant: {
        "order_id": make_order(tenant).pk,
        "label": Label.objects.for_tenant(tenant).first().pk,
    },
    "order_label_remove": lambda tenant: {
        "order_id": make_order(tenant).pk,
        "label": Label.objects.for_tenant(tenant).first().pk,
    },
    "order_line_add": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_line_edit": lambda tenant: (lambda o: {"order_id": o.pk, "line_id": o.lines.get().pk})(make_order(tenant)),
    "order_line_remove": lambda tenant: (lambda o: {"order_id": o.pk, "line_id": o.lines.get().pk})(make_order(tenant)),
    "order_confirm_payment": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_cancel": lambda tenant: {"order_id": make_order(tenant).pk},
    "order_task_resolve": open_task_of,
    "order_address_fix": lambda tenant: {"order_id": make_order(tenant).pk},
    "shipping_order_fee": lambda tenant: {"order_id": make_order(tenant).pk},
    "shop_detail": lambda tenant: {"shop_id": mall_shop_of(tenant).pk},
    "shop_fetch": lambda tenant: {"shop_id": mall_shop_of(tenant).pk},
    "import_run_detail": lambda tenant: {"run_id": import_run_of(tenant)},
    "csv_upload_detail": lambda tenant: {"upload_id": csv_upload_of(tenant)},
    "mail_detail": lambda tenant: {"mail_id": mail_of(tenant)},
    "mail_resend": lambda tenant: {"mail_id": mail_of(tenant)},
    "mail_order": lambda tenant: {"order_id": make_order(tenant).pk},
    "mail_unsent": lambda tenant: {"status_id": StatusMail.objects.for_tenant(tenant).first().status_id},
    "mail_batch": lambda tenant: {"batch_id": batch_of(tenant)},
    "order_buyer_rated": lambda tenant: {"order_id": make_order(tenant).pk},
    "product_detail": lambda tenant: {"product_id": product_of(tenant).pk},
    "product_adjust": lambda tenant: {"product_id": product_of(tenant).pk},
    "reminders_send": lambda tenant: {"rule_id": ReminderRule.objects.for_tenant(tenant).first().pk},
    "documents_order": lambda tenant: {"order_id": make_order(tenant).pk},
    "documents_receipt": lambda tenant: {"order_id": make_order(tenant).pk},
    "documents_job": lambda tenant: {"job_id": print_job_of(tenant)},
    "documents_job_download": lambda tenant: {"job_id": print_job_of(tenant)},
    "documents_logo": lambda tenant: {"settings_id": document_settings_of(tenant).pk},
    "documents_seal": lambda tenant: {"settings_id": document_settings_of(tenant).pk},
    "order_tracking": lambda tenant: {"order_id": make_order(tenant).pk},
    "shops_order_reports": lambda tenant: {"order_id": make_order(tenant).pk},
    "shops_order_reports_retry": lambda tenant: {"order_id": make_order(tenant).pk},
    "shop_reports_retry": lambda tenant: {"shop_id": mall_shop_of(tenant).pk},
    "shop_reports_file": lambda tenant: {"shop_id": mall_shop_of(tenant).pk},
    "shipping_order_warehouse": lambda tenant: {"order_id": make_order(tenant).pk},
    "warehouse_store_poll": lambda tenant: {"store_id": outside_warehouse_of(tenant)},
}


def outside_warehouse_of(tenant: Tenant) -> int:
    """An outside warehouse (issue 16 item 5) of the tenant: a CSV-drop shipping store."""
    from shipping.models import ShippingStore, StoreKind

    return ShippingStore.objects.get_or_create(
        tenant=tenant, code="walker-3pl",
        defaults={"name": "外部倉庫", "kind": StoreKind.CSV, "csv_outbox": "w/out", "csv_inbox": "w/in"},
    )[0].pk  # fmt: skip


def admin_model(route: Route) -> type[models.Model] | None:
    """The model behind an admin URL: its ModelAdmin's, else the one whose prefix names the URL."""
    model_admin = getattr(route.pattern.callback, "model_admin", None)
    if model_admin is not None:
        return model_admin.model
    for model in admin.site._registry:
        if route.name and route.name.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    return None


def admin_cases() -> list[Any]:
    """(route, model) for each admin URL with an id; `view_on_site` is tried with every registered model."""
    cases = []
    for route in ADMIN_ROUTES:
        model = admin_model(route)
        if model is not None:
            cases.append(pytest.param(route, model, id=f"{route.route} {model._meta.label}"))
        elif "content_type_id" in route.id_args:
            cases.extend(pytest.param(route, m, id=f"{route.route} {m._meta.label}") for m in admin.site._registry)
        else:
            cases.append(pytest.param(route, None, id=route.route))
    return cases


def product_of(tenant: Tenant, sku: str = "WALKER-1", **values: Any) -> Any:
    from inventory.models import Product

    return Product.objects.get_or_create(tenant=tenant, sku=sku, defaults={"name": "歩行テスト茶", **values})[0]


def row_of(model: type[models.Model], tenant: Tenant) -> models.Model:
    """A row that belongs to `tenant` (for models outside tenancy: any row a tenant admin must not reach)."""
    if model is Tenant:
        return tenant
    if model is Membership:
        return Membership.objects.get(user=make_member(tenant, Role.ADMIN), tenant=tenant)
    if model is get_user_model():
        return make_member(tenant)
    if model is Group:
        return Group.objects.create(name=f"group of {tenant.slug}")
    if model is Order:
        return make_order(tenant)
    if model._meta.label == "axes.AccessAttempt":  # a failed login (login throttling) of one of the tenant's logins
        return model.objects.create(
            username=make_member(tenant).username,
            ip_address="192.0.2.1",
            failures_since_start=5,
            user_agent="",
            http_accept="",
            path_info="/accounts/login/",
            get_data="",
            post_data="",
        )
    if model._meta.label == "mailer.ShopMailSettings":  # a tenant has none until it sets a shop's sender
        return model.objects.get_or_create(
            tenant=tenant, shop=mall_shop_of(tenant), defaults={"from_address": "walker@example.jp"}
        )[0]
    if model._meta.label == "mailer.MailMessage":
        return model.objects.get(pk=mail_of(tenant))
    if model._meta.label == "shops.MallCodeMapping":
        return model.objects.get_or_create(
            tenant=tenant, mall="rakuten", kind="status", mall_code="900", defaults={"cancels": True}
        )[0]
    if model._meta.label == "shipping.FeeTable":  # a tenant has none until it writes one (issue 16)
        return model.objects.get_or_create(
            tenant=tenant, name="walker table", defaults={"basis": "flat", "flat_fee": 185}
        )[0]
    if model._meta.label == "inventory.Product":
        return product_of(tenant)
    if model._meta.label == "inventory.SetComponent":
        return model.objects.get_or_create(
            tenant=tenant,
            set_product=product_of(tenant, "WALKER-SET", is_set=True),
            component=product_of(tenant),
            defaults={"quantity": 2},
        )[0]
    if model._meta.label == "inventory.SkuAlias":
        return model.objects.get_or_create(
            tenant=tenant, mall="rakuten", mall_sku="walker-item", defaults={"product": product_of(tenant)}
        )[0]
    if model._meta.label == "inventory.StockMove":
        return model.objects.create(
            tenant=tenant, product=product_of(tenant), kind="receive", on_hand_change=3, on_hand_after=3,
            allocated_after=0, order=make_order(tenant), actor_name="walker",
        )  # fmt: skip
    if model._meta.label == "documents.DocumentSettings":
        return document_settings_of(tenant)
    if model._meta.label == "documents.PrintJob":
        return model.objects.get(pk=print_job_of(tenant))
    if issubclass(model, TenantOwned):
        row = model.objects.for_tenant(tenant).first()
        if row is not None:
            return row
    pytest.fail(f"row_of() cannot make a {model._meta.label} of a tenant: teach it how")


def snapshot(row: models.Model) -> dict[str, Any]:
    return type(row)._default_manager.filter(pk=row.pk).values().get()


def logged_in(user: Any) -> Client:
    """A fresh client per request, so messages of one request do not show up in the next."""
    client = Client()
    client.force_login(user)
    return client


def outcome(response: Any, object_id: object) -> tuple[int, str, list[str]]:
    """Status, Location and messages, with the requested id written as {id} so two requests compare."""
    location = response.headers.get("Location", "").replace(f"/{object_id}/", "/{id}/")
    messages = [str(m).replace(str(object_id), "{id}") for m in get_messages(response.wsgi_request)]
    return response.status_code, location, messages


# --- the walker's own checks ---------------------------------------------------------------------------


def test_walker_finds_the_views_it_must_check():
    names = {r.full_name for r in ROUTES_WITH_IDS}
    assert {
        "order_detail",
        "saved_search_delete",
        "admin:orders_order_change",
        "admin:orders_label_delete",
        "admin:backyard_membership_change",
        "admin:backyard_tenant_history",
    } <= names
    assert all(r.is_admin for r in ADMIN_ROUTES)
    assert ADMIN_ROUTES
    assert OWN_ROUTES


def test_every_own_view_with_an_id_is_in_the_mapping():
    unnamed = [r.route for r in OWN_ROUTES if r.name is None]
    missing = sorted(r.full_name for r in OWN_ROUTES if r.name is not None and r.full_name not in TENANT_ROWS)
    assert not unnamed, f"name these URL patterns so the tenancy walker can check them: {unnamed}"
    assert not missing, f"add these views to TENANT_ROWS in {__file__}: {missing}"


def test_mapping_names_only_existing_views():
    assert set(TENANT_ROWS) <= {r.full_name for r in OWN_ROUTES}


def test_every_admin_url_with_an_id_has_a_model():
    assert [c.id for c in admin_cases() if c.values[1] is None] == []


def request_own_view(client: Client, route: Route, ids: dict[str, int]) -> Any:
    """GET with the ids in the URL; a view that only takes POST gets the other ids as its POST body."""
    url = route.url(**{k: v for k, v in ids.items() if k in route.id_args})
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {k: v for k, v in ids.items() if k not in route.id_args})
    return response


@pytest.mark.parametrize("route", OWN_ROUTES, ids=lambda r: r.route)
def test_own_view_answers_404_for_foreign_and_missing_ids(route, operator_client, tenant, other_tenant):
    make_rows = TENANT_ROWS.get(route.full_name)
    if make_rows is None:
        pytest.fail(f"{route.full_name or route.route} takes an id: add it to TENANT_ROWS")
    own = make_rows(tenant)
    foreign = make_rows(other_tenant)
    assert set(route.id_args) <= set(own)

    response = request_own_view(operator_client, route, own)
    if response.request["REQUEST_METHOD"] == "GET":
        assert response.status_code == 200
    else:
        assert response.status_code in {200, 302}
    for arg in own:
        for wrong in (foreign[arg], MISSING_ID):
            response = request_own_view(operator_client, route, {**own, arg: wrong})
            assert response.status_code == 404, (arg, wrong)


@pytest.mark.parametrize(("route", "model"), admin_cases())
def test_admin_answers_foreign_ids_like_missing_ones(route, model, tenant, other_tenant, tenant_admin):
    foreign = row_of(model, other_tenant)
    before = snapshot(foreign)
    extra = {"content_type_id": ContentType.objects.get_for_model(model).pk}

    for method, data in [("get", {}), ("post", {"post": "yes"})]:
        answers = {}
        for key, object_id in [("foreign", foreign.pk), ("missing", MISSING_ID)]:
            values = {**extra, **dict.fromkeys(set(route.id_args) - {"content_type_id"}, object_id)}
            response = getattr(logged_in(tenant_admin), method)(route.url(**values), data)
            assert response.status_code != 200, (method, key)
            assert not response.headers.get("Location", "").startswith(reverse("admin:login")), (method, key)
            assert str(foreign) not in response.content.decode(), (method, key)
            answers[key] = outcome(response, object_id)
        assert answers["foreign"] == answers["missing"], method
    assert snapshot(foreign) == before


@pytest.mark.parametrize(
    "route",
    [
        r
        for r in ADMIN_ROUTES
        if r.name
        and r.name.endswith(("_change", "_history"))
        and isinstance(admin.site._registry[admin_model(r)], TenantPermissionMixin)
    ],
    ids=lambda r: r.route,
)
def test_admin_opens_the_tenants_own_rows(route, tenant, tenant_admin):
    """The other side of the walker: the same URLs do open the tenant's own rows, so 'alike' means hidden."""
    model = admin_model(route)
    own = row_of(model, tenant)
    response = logged_in(tenant_admin).get(route.url(object_id=own.pk))
    assert response.status_code == 200
    assert str(own) in response.content.decode()


# --- middleware and switching ----------------------------------------------------------------------------


def test_request_tenant_comes_from_the_membership(operator_client, tenant, operator):
    response = operator_client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert response.wsgi_request.tenant == tenant
    assert response.wsgi_request.membership.user == operator
    assert operator_client.session[SESSION_KEY] == tenant.pk


@pytest.fixture
def two_company_client(client, tenant, other_tenant):
    user = make_member(tenant, Role.OPERATOR, "twocompanies")
    make_member(other_tenant, Role.OPERATOR, "twocompanies")
    client.force_login(user)
    return client


def test_switch_to_another_own_tenant(two_company_client, tenant, other_tenant):
    first = two_company_client.get(reverse("home")).wsgi_request.tenant
    target = other_tenant if first == tenant else tenant

    response = two_company_client.post(reverse("tenant_switch"), {"tenant": target.pk, "next": "/orders/"})

    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    assert two_company_client.get(reverse("home")).wsgi_request.tenant == target


def test_switch_then_own_rows_open_and_the_other_company_rows_do_not(two_company_client, tenant, other_tenant):
    order = make_order(other_tenant)
    two_company_client.post(reverse("tenant_switch"), {"tenant": tenant.pk})
    assert two_company_client.get(reverse("order_detail", args=[order.pk])).status_code == 404

    two_company_client.post(reverse("tenant_switch"), {"tenant": other_tenant.pk})
    assert two_company_client.get(reverse("order_detail", args=[order.pk])).status_code == 200


@pytest.mark.parametrize("wanted", ["foreign", "", "abc", "1.5", str(2**70)])
def test_switch_refuses_a_tenant_the_user_does_not_belong_to(operator_client, tenant, other_tenant, wanted):
    value = other_tenant.pk if wanted == "foreign" else wanted
    response = operator_client.post(reverse("tenant_switch"), {"tenant": value})
    assert response.status_code == 404
    assert operator_client.get(reverse("home")).wsgi_request.tenant == tenant


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/orders/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "///evil.example",
    ],
)
def test_switch_refuses_an_open_redirect(two_company_client, other_tenant, target):
    response = two_company_client.post(reverse("tenant_switch"), {"tenant": other_tenant.pk, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_switch_needs_post_and_login(operator_client, tenant):
    assert operator_client.get(reverse("tenant_switch"), {"tenant": tenant.pk}).status_code == 405
    response = Client().post(reverse("tenant_switch"), {"tenant": tenant.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_tenant_left_behind_in_the_session_is_not_used(two_company_client, tenant, other_tenant):
    two_company_client.post(reverse("tenant_switch"), {"tenant": other_tenant.pk})
    Membership.objects.filter(tenant=other_tenant).delete()

    response = two_company_client.get(reverse("home"))

    assert response.wsgi_request.tenant == tenant
    assert two_company_client.session[SESSION_KEY] == tenant.pk


@pytest.mark.parametrize("name", ["home", "order_detail"])
def test_a_user_without_membership_gets_403(client, tenant, name):
    client.force_login(get_user_model().objects.create_user("nobody", password="x"))
    kwargs = TENANT_ROWS[name](tenant) if name in TENANT_ROWS else {}
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 403
    assert response.wsgi_request.tenant is None


@pytest.mark.parametrize("name", ["home", "order_detail"])
def test_anonymous_users_are_sent_to_login(client, tenant, name):
    kwargs = TENANT_ROWS[name](tenant) if name in TENANT_ROWS else {}
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


# --- scoped reads -----------------------------------------------------------------------------------------


def test_for_tenant_takes_a_tenant_or_its_id(tenant, other_tenant):
    mine = Label.objects.create(tenant=tenant, name="自社ラベル")
    theirs = Label.objects.create(tenant=other_tenant, name="他社ラベル")
    assert mine in Label.objects.for_tenant(tenant)
    assert theirs not in Label.objects.for_tenant(tenant)
    assert list(Label.objects.for_tenant(tenant.pk)) == list(Label.objects.for_tenant(tenant))
    assert set(Label.objects.for_tenant(tenant).values_list("tenant_id", flat=True)) == {tenant.pk}


def test_access_tenant_owned_returns_the_tenants_row(tenant):
    order = make_order(tenant)
    assert access_tenant_owned(Order, tenant, order.pk) == order
    assert access_tenant_owned(Order, tenant, str(order.pk)) == order


@pytest.mark.parametrize("pk", ["foreign", MISSING_ID, "abc", None, "", 2**70, -1])
def test_access_tenant_owned_is_404_for_foreign_and_missing_alike(tenant, other_tenant, pk):
    if pk == "foreign":
        pk = make_order(other_tenant).pk
    with pytest.raises(Http404):
        access_tenant_owned(Order, tenant, pk)


def test_access_tenant_owned_keeps_a_given_queryset_scoped(tenant, other_tenant):
    theirs = make_order(other_tenant)
    with pytest.raises(Http404):
        access_tenant_owned(Order, tenant, theirs.pk, Order.objects.filter(pk=theirs.pk))


def test_a_row_cannot_point_at_another_tenants_row(tenant, other_tenant):
    their_group = StatusGroup.objects.for_tenant(other_tenant).first()
    status = Status(tenant=tenant, group=their_group, name="混入")
    with pytest.raises(ValidationError) as excinfo:
        status.full_clean()
    assert "group" in excinfo.value.message_dict


def test_a_row_pointing_at_its_own_tenant_is_valid(tenant):
    group = StatusGroup.objects.for_tenant(tenant).first()
    status = Status(tenant=tenant, group=group, name="自社")
    status.full_clean()  # raises ValidationError, as above, if the own group were refused
    status.save()
    assert list(group.statuses.filter(name="自社")) == [status]
    assert Status.objects.for_tenant(tenant).get(pk=status.pk).group == group


def test_every_tenant_gets_its_own_defaults(db):
    first, second = make_tenant("一号商店", "first"), make_tenant("二号商店", "second")
    assert StatusGroup.objects.for_tenant(first).count() == StatusGroup.objects.for_tenant(second).count() > 0
    assert not Status.objects.for_tenant(first).filter(group__tenant=second).exists()
