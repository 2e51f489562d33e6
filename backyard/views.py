"""Login, tenant switching and the helpers every tenant view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .http import BackyardRequest, TenantRequest
from .middleware import SESSION_KEY

View = Callable[..., HttpResponse]
P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def tenant_required(
    view: Callable[Concatenate[TenantRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """Login required, and a tenant chosen; a user without any membership gets 403 with a reason. The view
    gets a TenantRequest: `request.tenant` and `request.membership` are set."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        if getattr(request, "tenant", None) is None:
            raise PermissionDenied(_("Your login does not belong to any company yet. Ask your administrator."))
        return view(cast(TenantRequest, request), *args, **kwargs)

    return cast(Callable[Concatenate[HttpRequest, P], R], login_required(wrapper))


@require_POST
@login_required
def tenant_switch(request: BackyardRequest) -> HttpResponse:
    """Switch the current tenant to one the user belongs to; any other id is a 404."""
    try:
        wanted = int(request.POST.get("tenant", ""))
    except ValueError:
        raise Http404 from None
    membership = next((m for m in request.memberships if m.tenant_id == wanted), None)
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = membership.tenant_id
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and `make run`: answers when the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def root(request: HttpRequest) -> HttpResponse:
    return redirect("home")
