"""Login throttling (django-axes, configured in settings): where a login attempt comes from, and the page a
locked login name gets instead of a login."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt counts against. Behind the TLS proxy (BACKYARD_HTTPS) every request comes
    from the proxy, so the address is the last one in X-Forwarded-For, the one the proxy itself appended; the
    ones before it are whatever the client claimed and are ignored."""
    if settings.BACKYARD_HTTPS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = _valid_ip(forwarded.rsplit(",", 1)[-1]) if forwarded else None
        if last:
            return last
    return _valid_ip(request.META.get("REMOTE_ADDR") or "")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The login page again (for /accounts/login/ and /admin/login/ alike), saying the login name is locked and
    for how long, with 429 Too Many Requests."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    context = {
        "form": form,
        "locked_out": True,
        "cooloff_minutes": minutes,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
