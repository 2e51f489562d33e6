"""The operators' side of shops: the shops page (sync state and the last runs), a run with its failures, and
"fetch latest" (F6, T8) with the small status endpoint the order list polls. Thin: writes are services,
reads are selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from backyard.http import TenantRequest
from backyard.views import tenant_required

from .models import ImportRun
from .selectors import (
    PROGRESS_MAX,
    access_import_run,
    access_shop,
    failing_shops,
    first_poll_days,
    import_runs,
    run_failures,
    runs_progress,
    shop_overview,
)
from .services import fetch_latest, has_connector

RUNS_PAGE = 25
FAILURES_PAGE = 50
WAITING_HINT_SECONDS = 15  # queued this long without a worker taking it up: say the worker may be down


def _page(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


@require_GET
@tenant_required
def shop_list(request: TenantRequest) -> HttpResponse:
    """The tenant's shops: credentials set or not, sync state, the last runs with their counts."""
    rows = shop_overview(tenant=request.tenant)
    return render(request, "shops/shop_list.html", {"rows": rows})


@require_GET
@tenant_required
def shop_detail(request: TenantRequest, shop_id: int) -> HttpResponse:
    shop = access_shop(request.tenant, shop_id)
    page = Paginator(import_runs(shop=shop), RUNS_PAGE).get_page(_page(request))
    return render(
        request,
        "shops/shop_detail.html",
        {
            "shop": shop,
            "page": page,
            "pollable": has_connector(shop.mall),
            "first_poll_days": first_poll_days(shop.mall),
        },
    )


@require_GET
@tenant_required
def import_run_detail(request: TenantRequest, run_id: int) -> HttpResponse:
    run = access_import_run(request.tenant, run_id)
    page = Paginator(run_failures(run=run), FAILURES_PAGE).get_page(_page(request))
    return render(request, "shops/run_detail.html", {"run": run, "page": page})


def _next(request: HttpRequest) -> str:
    """Where to go back to: a local path the form sent, else the shops page (never another site)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("shop_list")


def _started(request: TenantRequest, runs: list[ImportRun]) -> HttpResponse:
    """After a fetch was queued: the status partial for htmx, else back with a message."""
    if request.htmx:
        return _status(request, runs)
    if runs:
        messages.info(
            request,
            ngettext(
                "Fetching the latest orders from %(n)d shop …",
                "Fetching the latest orders from %(n)d shops …",
                len(runs),
            )
            % {"n": len(runs)},
        )
    else:
        messages.warning(request, _("No active shop can be fetched from: set up a shop with its credentials first."))
    return redirect(_next(request))


@require_POST
@tenant_required
def fetch_latest_view(request: TenantRequest) -> HttpResponse:
    """最新受注を取得 (F6): poll every active shop of the tenant now."""
    return _started(request, fetch_latest(tenant=request.tenant, user=request.user))


@require_POST
@tenant_required
def shop_fetch(request: TenantRequest, shop_id: int) -> HttpResponse:
    """Poll one shop now (the shops page's button)."""
    shop = access_shop(request.tenant, shop_id)
    return _started(request, fetch_latest(tenant=request.tenant, user=request.user, shop=shop))


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip().isdigit() and len(part.strip()) < 19][:PROGRESS_MAX]


@require_GET
@tenant_required
def fetch_status(request: TenantRequest) -> HttpResponse:
    """The progress of a fetch: `?runs=1,2,3` (the tenant's runs; other ids are not found and left out)."""
    runs = runs_progress(tenant=request.tenant, run_ids=_ids(request.GET.get("runs", "")))
    return _status(request, runs)


def _status(request: TenantRequest, runs: list[ImportRun]) -> HttpResponse:
    done = all(run.finished for run in runs)
    now = timezone.now()
    waiting = [run for run in runs if run.status == "queued"]
    context = {
        "runs": runs,
        "done": done,
        "run_ids": ",".join(str(run.pk) for run in runs),
        "totals": {name: sum(getattr(run, name) for run in runs) for name in ("new", "updated", "unchanged", "failed")},
        "worker_missing": bool(waiting)
        and all((now - run.created_at).total_seconds() > WAITING_HINT_SECONDS for run in waiting),
        "failing": failing_shops(tenant=request.tenant) if done else None,
    }
    response = render(request, "shops/_fetch_status.html", context)
    if done and runs:
        response["HX-Trigger"] = "ordersChanged, ordersFetched"  # the status tree, and the order list's table
    return response


urlpatterns = [
    path("", shop_list, name="shop_list"),
    path("<int:shop_id>/", shop_detail, name="shop_detail"),
    path("<int:shop_id>/fetch/", shop_fetch, name="shop_fetch"),
    path("runs/<int:run_id>/", import_run_detail, name="import_run_detail"),
    path("fetch/", fetch_latest_view, name="fetch_latest"),
    path("fetch/status/", fetch_status, name="fetch_status"),
]
