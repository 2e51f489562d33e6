"""Shipping's screens (issue 16): waybill files out, tracking numbers back, the order page's tracking panel and
the tenant's settings. What a screen keeps between its steps (the orders of an export, an uploaded file) lives
in the cache under a random key that is part of the address, scoped to the tenant and the user: any other key
(another tenant's, an expired one) is a 404 alike."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.http import Http404

from backyard.http import TenantRequest

KEEP_SECONDS = 60 * 60


def entry_key(request: TenantRequest, kind: str, key: str) -> str:
    """The cache key of what a screen keeps (a worker given a step reads and writes it by this key)."""
    return f"shipping:{kind}:{request.tenant.pk}:{request.user.pk}:{key}"


def keep(request: TenantRequest, kind: str, value: dict[str, Any], key: str = "") -> str:
    key = key or secrets.token_hex(16)
    cache.set(entry_key(request, kind, key), value, KEEP_SECONDS)
    return key


def kept(request: TenantRequest, kind: str, key: str) -> dict[str, Any]:
    value = cache.get(entry_key(request, kind, key)) if len(key) == 32 and key.isalnum() else None
    if not isinstance(value, dict):
        raise Http404
    return value
