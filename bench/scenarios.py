"""Timed scenarios. Each runs the project's real code path and, where one applies, the raw SQL it boils
down to, both after one warm-up, `repeat` times."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from backyard.models import Tenant
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.models import Label, Order, OrderEvent, Status
from orders.search import normalize
from orders.selectors import order_status_counts
from orders.services.bulk import BulkChanges, BulkResult, orders_bulk_update


@dataclass
class Context:
    tenant: Tenant
    user: Any
    orders: int
    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client()
            self._client.force_login(self.user)
        return self._client


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _raw(sql: str, params: list[Any]) -> Callable[[], Any]:
    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


@dataclass
class Scenario:
    name: str
    body: Callable[[Context], Callable[[], Any]]
    raw: Callable[[Context], Callable[[], Any]] | None = None
    target_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    def run(self, ctx: Context, repeat: int) -> dict[str, Any]:
        times = _times(self.body(ctx), repeat)
        result: dict[str, Any] = {
            "name": self.name, "median_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times), "runs_ms": times, "target_ms": self.target_ms,
        }
        if self.raw is not None:
            raw_times = _times(self.raw(ctx), repeat)
            result["raw_median_ms"] = statistics.median(raw_times)
            result["raw_runs_ms"] = raw_times
        return result


def _first_new_status(ctx: Context) -> Status:
    return Status.objects.for_tenant(ctx.tenant).filter(group__stage="new").order_by("group__position",
                                                                                      "position").first()


def _sample(ctx: Context) -> Order:
    """An order from the middle of the tenant's orders: its phone and kana are what an operator types."""
    qs = Order.objects.for_tenant(ctx.tenant).order_by("id")
    return qs[qs.count() // 2]


def _get(ctx: Context, url: str) -> Callable[[], Any]:
    def run() -> Any:
        response = ctx.client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    return run


BULK_EDIT_ORDERS = 10_000
BULK_EDIT_ACTOR = "bench: bulk edit"


def _bulk_edit(ctx: Context) -> Callable[[], BulkResult]:
    """10,000 orders to the first "stock checked" status (card and COD orders go on to "paid", T14), with a
    memo and a label. Each run is rolled back, so every run does the same work and the bench data stays."""
    statuses = Status.objects.for_tenant(ctx.tenant).select_related("group").order_by("group__position", "position")
    target = next(status for status in statuses if status.group.stage == Stage.STOCK_CHECKED)
    # New orders first (what operators move after the stock check), then others that may go to stock checked
    # without skipping a stage, until there are enough.
    ids: list[int] = []
    for stage in (Stage.NEW, Stage.SHORTAGE, Stage.STOCK_CHECKED, Stage.AWAITING_PAYMENT, Stage.PAID):
        candidates = Order.objects.for_tenant(ctx.tenant).filter(stage=stage).exclude(status=target).order_by("pk")
        ids += candidates.values_list("pk", flat=True)[: BULK_EDIT_ORDERS - len(ids)]
    if len(ids) < BULK_EDIT_ORDERS:
        raise RuntimeError(f"only {len(ids):,} orders can move to {target}; run with more --orders")
    selection = Order.objects.for_tenant(ctx.tenant).filter(pk__in=ids)  # as the view hands it over
    changes = BulkChanges(status=target, memo="ベンチ: 一括編集",
                          add_labels=[Label.objects.for_tenant(ctx.tenant).order_by("position", "pk")[0]])
    actor = Actor.system(BULK_EDIT_ACTOR)

    def run() -> BulkResult:
        with transaction.atomic():
            last = OrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            result = orders_bulk_update(tenant=ctx.tenant, order_ids=selection, changes=changes, actor=actor)
            moved = OrderEvent.objects.filter(pk__gt=last, type=EventType.STATUS_CHANGED,
                                              actor_name=BULK_EDIT_ACTOR).count()
            assert (result.applied, result.moved, moved) == (True, BULK_EDIT_ORDERS, BULK_EDIT_ORDERS), (
                result.summary(), moved)
            transaction.set_rollback(True)
        return result

    return run


ALL: list[Scenario] = [
    Scenario(
        name="status counts (GROUP BY)",
        body=lambda ctx: lambda: order_status_counts(tenant=ctx.tenant),
        raw=lambda ctx: _raw(
            "SELECT status_id, COUNT(*) FROM orders_order WHERE tenant_id = %s GROUP BY status_id", [ctx.tenant.pk]
        ),
        target_ms=100,
    ),
    Scenario(
        name="list: page 1 of a status",
        body=lambda ctx: _get(ctx, f"{reverse('home')}?status={_first_new_status(ctx).pk}&per_page=50"),
        raw=lambda ctx: _raw(
            "SELECT o.*, s.name, sh.name FROM orders_order o JOIN shops_shop sh ON sh.id = o.shop_id "
            "JOIN orders_status s ON s.id = o.status_id WHERE o.tenant_id = %s AND o.status_id = %s "
            "ORDER BY o.ordered_at DESC, o.id DESC LIMIT 50",
            [ctx.tenant.pk, _first_new_status(ctx).pk],
        ),
        target_ms=100,
    ),
    Scenario(
        name="list: search by phone",
        body=lambda ctx: _get(ctx, f"{reverse('home')}?q={_sample(ctx).orderer_phone}"),
        raw=lambda ctx: _raw(
            "SELECT * FROM orders_order WHERE tenant_id = %s AND search_text LIKE %s "
            "ORDER BY ordered_at DESC, id DESC LIMIT 50",
            [ctx.tenant.pk, f"%{normalize(_sample(ctx).orderer_phone)}%"],
        ),
        target_ms=300,
    ),
    Scenario(
        name="list: search by kana",
        body=lambda ctx: _get(ctx, f"{reverse('home')}?q={_sample(ctx).orderer_kana}"),
        raw=lambda ctx: _raw(
            "SELECT * FROM orders_order WHERE tenant_id = %s AND search_text LIKE %s "
            "ORDER BY ordered_at DESC, id DESC LIMIT 50",
            [ctx.tenant.pk, f"%{normalize(_sample(ctx).orderer_kana)}%"],
        ),
        target_ms=300,
    ),
    Scenario(
        name="order detail page",
        body=lambda ctx: _get(
            ctx, reverse("order_detail", args=[Order.objects.for_tenant(ctx.tenant).order_by("-id").first().pk])
        ),
    ),
    Scenario(
        name="bulk edit 10,000 (status+memo+label)",
        body=_bulk_edit,
        target_ms=5000,
    ),
]
