"""What the tests that run a real `celery worker` share: the worker's command line, the database URL the worker
process gets (this test's own database), and following a page as htmx does until the worker's outcome shows."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from django.db import connection


def worker_argv(name: str, *, queues: str = "celery", concurrency: int = 1, pool: str = "threads") -> list[str]:
    """A worker of this project on `queues`, named `name`@host, logging at INFO (tests wait for "ready.")."""
    return [
        sys.executable, "-m", "celery", "-A", "backyard", "worker", "--loglevel", "INFO",
        "--concurrency", str(concurrency), "--pool", pool, "--hostname", f"{name}@%h", "--queues", queues,
    ]  # fmt: skip


def database_url() -> str:
    """The URL of the database this test uses (PostgreSQL), for the worker processes it starts."""
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def follow(client: Any, url: str, needle: str, *, timeout: float = 120) -> tuple[str, float]:
    """Ask for `url` as htmx does (HX-Request), once a second, until `needle` is in the answer; the answer and
    the seconds it took. While the needle is missing the part must still be asking (hx-trigger every 1s)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        part = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        if needle in part:
            return part, time.monotonic() - started
        assert 'hx-trigger="every 1s"' in part, part[:2000]
        time.sleep(1)
    pytest.fail(f"{needle!r} did not show in {timeout}s")
