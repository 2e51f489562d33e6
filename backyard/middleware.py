"""Sets `request.tenant` and `request.membership` from the logged-in user's memberships.

The chosen tenant is kept in the session (switched from the header); a tenant the user no longer belongs
to is never used. A user with no membership gets `request.tenant = None`, and tenant views answer 403.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from .http import BackyardRequest
from .models import memberships_of

SESSION_KEY = "backyard_tenant_id"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: BackyardRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        request.memberships = []
        if request.user.is_authenticated:
            memberships = list(memberships_of(request.user))
            wanted = request.session.get(SESSION_KEY)
            chosen = next((m for m in memberships if m.tenant_id == wanted), None)
            if chosen is None and memberships:
                chosen = memberships[0]
                request.session[SESSION_KEY] = chosen.tenant_id
            request.memberships = memberships
            if chosen is not None:
                request.tenant = chosen.tenant
                request.membership = chosen
        return self.get_response(request)


class NoStoreMiddleware:
    """Every page a logged-in user gets may show customers' names, addresses and orders (the list, an order,
    exports, CSV previews, the address check, the admin): none of it is kept by the browser or a proxy
    (`Cache-Control: no-store`), so that the back button after logging out, a shared PC or a caching proxy
    shows nothing. Static files never get here (WhiteNoise answers them before)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response
