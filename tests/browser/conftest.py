"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make there (setting
up rows, checking results) are ordinary synchronous calls, so Django's async-safety guard is told so.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--lang=ja-JP",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        service_missing("Chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("playwright (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # What the Content-Security-Policy (backyard/settings.py) blocks, an inline script or style, a handler in an
    # attribute, an eval, Chromium reports on the console only: it is an error of the page all the same.
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    # Playwright polls a bare expression (not a function) by evaluating the string inside the page, which that
    # policy forbids (no 'unsafe-eval'); as a function it is polled without eval, so the tests keep their
    # expressions and the policy stays as in production.
    wait_for_function = page.wait_for_function

    def wait_for_expression(expression: str, **kwargs: Any) -> Any:
        if not re.match(r"\s*(async\b|function\b)", expression) and "=>" not in expression:
            expression = f"() => ({expression})"
        return wait_for_function(expression, **kwargs)

    page.wait_for_function = wait_for_expression
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def login(page: Any, live_server: Any, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
