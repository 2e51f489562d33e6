"""Shipping's services speak the operator's language; these tests read their Japanese. A request of an earlier
test (the test client, LocaleMiddleware) may leave another language active in this thread, so each test here
runs in Japanese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _in_japanese() -> Iterator[None]:
    with translation.override("ja"):
        yield
