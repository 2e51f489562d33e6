"""The admin's date hierarchy with an absurd date in the URL (issue 11, item 8): every changelist that has
one (read from the admin site's registry, so a later one is checked too) answers with the list and a
Japanese message, never a 500 (Django works out "the year after 9999") nor the bare "?e=1" page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from backyard.models import Role
from tests.factories import make_member, make_order

MESSAGE = "この日付では絞り込めません。2000年から2100年までの日付を選んでください。"

HIERARCHIES = [
    pytest.param(model, model_admin.date_hierarchy, id=model._meta.label)
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
]

ABSURD: list[dict[str, str]] = [
    {"year": "99999"},
    {"year": "9999"},
    {"year": "10000"},
    {"year": "0"},
    {"year": "1"},
    {"year": "-1"},
    {"year": "abc"},
    {"year": "1" * 30},
    {"year": "2101"},
    {"year": "1999"},
    {"year": "9999", "month": "12"},
    {"year": "9999", "month": "12", "day": "31"},
    {"year": "1", "month": "1", "day": "1"},
    {"year": "2026", "month": "13"},
    {"year": "2026", "month": "0"},
    {"year": "2026", "month": "2", "day": "30"},
    {"year": "2026", "month": "12", "day": "32"},
    {"year": "2026", "month": "１２"},
    {"year": "2026", "month": ""},
    {"year": ""},
    {"month": "13"},
    {"day": "99"},
]


def test_there_is_a_date_hierarchy_to_check():
    assert HIERARCHIES


@pytest.fixture(params=["tenant_admin", "superuser"])
def admin_user(request: Any, tenant: Any) -> Any:
    if request.param == "superuser":
        return get_user_model().objects.create_superuser("root-dates", "root@example.jp", "x")
    return make_member(tenant, Role.ADMIN, "dates-admin")


@pytest.mark.parametrize("parts", ABSURD, ids=lambda parts: "&".join(f"{k}={v}" for k, v in parts.items()))
@pytest.mark.parametrize(("model", "field"), HIERARCHIES)
def test_an_absurd_date_in_the_hierarchy_is_a_message(model, field, parts, admin_user, tenant):
    make_order(tenant, external_id="DATES-1")
    client = Client()
    client.force_login(admin_user)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client.get(url, {**{f"{field}__{k}": v for k, v in parts.items()}, "q": "DATES"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?q=DATES"  # the rest of the search is kept
    assert [str(m) for m in get_messages(response.wsgi_request)] == [MESSAGE]
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "parts",
    [
        {"year": "2026"},
        {"year": "2026", "month": "12"},
        {"year": "2026", "month": "12", "day": "5"},
        {"year": "2100", "month": "12"},
    ],
)
@pytest.mark.parametrize(("model", "field"), HIERARCHIES)
def test_a_real_date_in_the_hierarchy_still_filters(model, field, parts, tenant, tenant_admin):
    client = Client()
    client.force_login(tenant_admin)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client.get(url, {f"{field}__{k}": v for k, v in parts.items()})

    assert response.status_code == 200
    assert not list(get_messages(response.wsgi_request))
