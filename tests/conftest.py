"""Shared fixtures. Real services only: a test that needs one it cannot reach skips, unless
BACKYARD_REQUIRE_SERVICES=1 (as in CI), where the same situation fails loudly."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client

from backyard.models import Role, Tenant
from tests.factories import PASSWORD, make_member, make_tenant

REQUIRE_SERVICES = os.environ.get("BACKYARD_REQUIRE_SERVICES", "") == "1"


def service_missing(reason: str) -> None:
    """Skip on a laptop; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Real hashing costs ~0.4 s a login; tests need logins, not brute-force resistance."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_the_tests_own_folder(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Uploaded logos and printed PDFs go under the test run's temporary folder, never the checkout's var/media
    (a test that starts a worker points both at the worker's own var folder)."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _static_files_found_when_asked(settings: Any) -> None:
    """WhiteNoise serving from the finders (WHITENOISE_USE_FINDERS) lists, stats and reads the headers of every
    static file each time a handler is built, and every test Client builds one: 35 ms a client, half a minute
    of the suite. With autorefresh it finds the same file, with the same headers, when a request asks for it."""
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _test_client_login_passes_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Login throttling (django-axes) needs the request in authenticate(), and Django's test Client.login()
    passes none: give it an empty one, as axes' documentation advises, so that tests log in as before. Real
    logins (the login pages, the browser tests) go through axes in full."""
    original = Client.login

    def login(self: Client, **credentials: Any) -> bool:
        credentials.setdefault("request", HttpRequest())
        return original(self, **credentials)

    monkeypatch.setattr(Client, "login", login)


@pytest.fixture
def require_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        service_missing("PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def require_redis() -> None:
    if not settings.REDIS_URL:
        service_missing("Redis (set REDIS_URL)")


@pytest.fixture
def tenant(db: Any) -> Tenant:
    return make_tenant("株式会社テスト商店", "test-shop")


@pytest.fixture
def other_tenant(db: Any) -> Tenant:
    return make_tenant("他社株式会社", "other-co")


@pytest.fixture
def operator(tenant: Tenant) -> Any:
    return make_member(tenant, Role.OPERATOR, "operator")


@pytest.fixture
def tenant_admin(tenant: Tenant) -> Any:
    return make_member(tenant, Role.ADMIN, "tenantadmin")


@pytest.fixture
def operator_client(client: Any, operator: Any) -> Any:
    assert client.login(username=operator.username, password=PASSWORD)
    return client


@pytest.fixture
def admin_client_tenant(client: Any, tenant_admin: Any) -> Any:
    """A client logged in as an admin of `tenant` (not a superuser)."""
    assert client.login(username=tenant_admin.username, password=PASSWORD)
    return client
