"""What the browser is told: a Content-Security-Policy that runs no inline script, pages of a logged-in user kept
by no cache (they show customers' names and addresses), and over TLS only when the site is behind TLS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.backyard.test_tenancy import TENANT_ROWS, iter_routes
from tests.factories import make_order

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
# Pages that are not a logged-in user's own, or not pages.
NOT_PAGES = {"root", "login", "logout", "set_language", "healthz"}


def policy(response: Any) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_carry_a_policy_that_runs_no_inline_script(operator_client):
    directives = policy(operator_client.get(reverse("home")))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/healthz", "/no-such-page/"])
def test_every_answer_carries_the_policy(client, db, url):
    assert "script-src 'self'" in client.get(url).headers["Content-Security-Policy"]


def template_files() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on…= event handler"),
    (re.compile(r"<style", re.I), "a <style> element"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_holds_script_or_style_the_policy_refuses():
    """Inline code would be blocked by the browser (and the browser tests fail on it); bind events in
    static/js/*.js and put style rules in static/css/*.css instead."""
    assert template_files()
    found = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}: {what}"
        for path in template_files()
        for text in [path.read_text(encoding="utf-8")]
        for pattern, what in INLINE
        for match in pattern.finditer(text)
    ]
    assert found == []


# --- no-store ----------------------------------------------------------------------------------------------------


def own_pages() -> list[Any]:
    """Every view of the site a logged-in operator opens (the tenancy walker's routes)."""
    return [
        pytest.param(route, id=route.full_name)
        for route in iter_routes()
        if not route.is_admin and route.name and route.full_name not in NOT_PAGES
    ]


@pytest.mark.parametrize("route", own_pages())
def test_no_page_of_a_logged_in_user_is_stored(route, operator_client, tenant):
    make_order(tenant)
    kwargs = TENANT_ROWS[route.full_name](tenant) if route.id_args else {}
    response = operator_client.get(route.url(**{k: v for k, v in kwargs.items() if k in route.id_args}))
    assert "no-store" in response.headers.get("Cache-Control", ""), response.status_code


@pytest.mark.parametrize(
    "name", ["admin:index", "admin:orders_order_changelist", "admin:backyard_membership_changelist"]
)
def test_no_admin_page_is_stored(admin_client_tenant, tenant, name):
    make_order(tenant)
    response = admin_client_tenant.get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


def test_the_csv_export_is_not_stored(operator_client, tenant):
    make_order(tenant)
    response = operator_client.get(reverse("order_export"))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


# --- TLS ---------------------------------------------------------------------------------------------------------


def test_behind_tls_plain_http_is_redirected_but_the_health_check_answers(client, db, settings):
    """BACKYARD_HTTPS sets these (tests/test_settings.py); the container's health check asks /healthz over http."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert client.get("/healthz").status_code == 200
    redirect = client.get("/accounts/login/")
    assert (redirect.status_code, redirect["Location"]) == (301, "https://testserver/accounts/login/")
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
