"""Login throttling (django-axes): a login name that fails too often from one address is locked there for a while,
on the operators' login page and the admin's alike, says so in Japanese, and a tenant admin can unlock it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from backyard.models import Role
from tests.factories import PASSWORD, make_member

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]
HOME = "192.0.2.10"
OFFICE = "198.51.100.20"


def locked_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    with translation.override("ja"):
        return ngettext(
            "Too many failed logins: this login name is locked for %(minutes)s minute. Try again later, or ask "
            "your administrator to unlock it.",
            "Too many failed logins: this login name is locked for %(minutes)s minutes. Try again later, or ask "
            "your administrator to unlock it.",
            minutes,
        ) % {"minutes": minutes}


def attempt(client: Client, page: str, username: str, password: str, address: str = HOME, **extra: Any) -> Any:
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def fail_until_locked(client: Client, page: str, username: str, address: str = HOME, **extra: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, page, username, "wrong-password", address, **extra)


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


@pytest.fixture
def staff(tenant: Any) -> Any:
    """A tenant admin: can log in on both pages."""
    return make_member(tenant, Role.ADMIN, "yamada")


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_login_name_is_locked_after_too_many_failures_even_with_the_right_password(client, staff, page):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, page, "yamada", "wrong-password").status_code == 200

    last_wrong = attempt(client, page, "yamada", "wrong-password")
    right = attempt(client, page, "yamada", PASSWORD)

    for response in (last_wrong, right):
        assert response.status_code == 429
        assert locked_message() in response.content.decode()
    assert not logged_in(client)
    # The page still offers the form (another login name may log in), with the name filled in.
    assert 'value="yamada"' in right.content.decode()


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_lock_holds_for_that_login_name_from_that_address_only(client, tenant, staff, page):
    make_member(tenant, Role.ADMIN, "suzuki")
    fail_until_locked(client, page, "yamada")

    assert attempt(Client(), page, "yamada", PASSWORD, address=OFFICE).status_code == 302  # the same name elsewhere
    assert attempt(Client(), page, "suzuki", PASSWORD).status_code == 302  # another name from the same address
    assert attempt(Client(), page, "yamada", PASSWORD).status_code == 429


def test_the_lock_ends_after_the_cool_off(client, staff):
    page = LOGIN_PAGES[0]
    fail_until_locked(client, page, "yamada")
    assert attempt(client, page, "yamada", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - settings.AXES_COOLOFF_TIME - dt.timedelta(1))

    assert attempt(client, page, "yamada", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_successful_login_starts_the_count_again(client, staff):
    page = LOGIN_PAGES[0]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, page, "yamada", "wrong-password")
    assert attempt(client, page, "yamada", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, page, "yamada", "wrong-password")
    assert attempt(client, page, "yamada", PASSWORD).status_code == 302


def test_behind_the_tls_proxy_the_address_is_the_one_the_proxy_saw(client, staff, settings):
    """Behind the proxy every request comes from the proxy; the client's own X-Forwarded-For entries are not
    believed, so rotating them does not buy more guesses."""
    settings.BACKYARD_HTTPS = True
    page = LOGIN_PAGES[0]
    proxy = {"REMOTE_ADDR": "10.0.0.2", "secure": True}
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            page, {"username": "yamada", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, {HOME}", **proxy
        )

    rotated = client.post(
        page, {"username": "yamada", "password": PASSWORD}, HTTP_X_FORWARDED_FOR=f"203.0.113.99, {HOME}", **proxy
    )
    other_client = Client().post(
        page, {"username": "yamada", "password": PASSWORD}, HTTP_X_FORWARDED_FOR=OFFICE, **proxy
    )

    assert rotated.status_code == 429
    assert other_client.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HOME}


# --- unlocking in the admin -----------------------------------------------------------------------------------


def locks_page(client: Client) -> str:
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_tenant_admin_unlocks_a_colleague(admin_client_tenant, tenant, staff):
    make_member(tenant, Role.OPERATOR, "sato")
    fail_until_locked(Client(), LOGIN_PAGES[0], "sato")
    assert attempt(Client(), LOGIN_PAGES[0], "sato", PASSWORD).status_code == 429
    assert "sato" in locks_page(admin_client_tenant)

    lock = AccessAttempt.objects.get(username="sato")
    response = admin_client_tenant.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock", "_selected_action": [lock.pk]},
        follow=True,
    )

    with translation.override("ja"):
        unlocked = ngettext("%(count)d login unlocked.", "%(count)d logins unlocked.", 1) % {"count": 1}
    assert unlocked in response.content.decode()
    assert attempt(Client(), LOGIN_PAGES[0], "sato", PASSWORD).status_code == 302


def test_a_tenant_admin_sees_and_unlocks_only_their_own_companys_logins(admin_client_tenant, other_tenant):
    make_member(other_tenant, Role.OPERATOR, "elsewhere")
    fail_until_locked(Client(), LOGIN_PAGES[0], "elsewhere")
    fail_until_locked(Client(), LOGIN_PAGES[0], "nobody")  # no such login
    foreign = AccessAttempt.objects.get(username="elsewhere")

    page = locks_page(admin_client_tenant)
    admin_client_tenant.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True))},
    )

    assert "elsewhere" not in page
    assert "nobody" not in page
    assert AccessAttempt.objects.filter(pk=foreign.pk).exists()
    assert attempt(Client(), LOGIN_PAGES[0], "elsewhere", PASSWORD).status_code == 429


def test_a_superuser_sees_every_lock(admin_client):
    fail_until_locked(Client(), LOGIN_PAGES[0], "nobody")
    assert "nobody" in locks_page(admin_client)


def test_an_operator_cannot_open_the_locks(operator_client):
    response = operator_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
