"""Bundle candidates (issue 17): the groups of open orders going to one destination, in under 1 s among
100,000 open orders.

The figure is taken on a tenant of its own ("bench-bundle"), made once: 100,000 orders from the generator, all
open (新規受付), each going to a destination of its own except one order in fifty, which goes where the order
before it goes (2,000 pairs: a shop's share of customers who order twice before the first order ships). Then
`bundle_candidates`: one aggregate over the partial index of open orders by destination key for the first 200
groups, their count, and the orders of those groups by the same index.

For scale, the same on the main bench tenant, whose generated orders are nearly all open (some 930,000) and
repeat a few thousand names and places (so a group there has hundreds of orders): no target, a note of how it
grows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.bundling import bundle_candidates
from orders.constants import Stage
from orders.destination import destination_keys_fill
from orders.models import CLOSED_STAGES, Order, Status

from . import generate
from .scenarios import Context, Scenario

BUNDLE_TENANT = "bench-bundle"
OPEN_ORDERS = 100_000
PAIR_EVERY = 50
NOTES: list[str] = []
SCALE_NOTES: list[str] = []


def ensure_bundle_tenant(log: Callable[[str], None] = print) -> Any:
    """The tenant of 100,000 open orders with 2,000 pairs to one destination, made once."""
    tenant = generate.ensure_tenant(BUNDLE_TENANT, "同梱ベンチ")
    have = Order.objects.for_tenant(tenant).count()
    if have >= OPEN_ORDERS:
        return tenant
    log(f"generating {OPEN_ORDERS - have:,} orders for tenant {BUNDLE_TENANT} …")
    generate.generate(tenant, OPEN_ORDERS - have, log=log)
    shape(tenant)
    return tenant


def shape(tenant: Any) -> None:
    """All open; a destination of its own each, but every 50th order goes where the order three before it (the
    same shop's: the generator deals the shops in turn) goes; the keys computed again."""
    new = Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("position", "pk").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_order SET status_id = %s, stage = %s, dest_address2 = 'コーポ' || id WHERE tenant_id = %s",
            [new.pk, Stage.NEW, tenant.pk],
        )
        cursor.execute(
            "UPDATE orders_order o SET dest_name = p.dest_name, dest_phone = p.dest_phone, "
            "dest_postal_code = p.dest_postal_code, dest_prefecture = p.dest_prefecture, dest_city = p.dest_city, "
            "dest_address1 = p.dest_address1, dest_address2 = p.dest_address2 "
            "FROM orders_order p WHERE o.tenant_id = %s AND p.tenant_id = o.tenant_id AND p.id = o.id - 3 "
            "AND o.shop_id = p.shop_id AND o.id %% %s = 0",
            [tenant.pk, PAIR_EVERY],
        )
    destination_keys_fill(tenant_id=tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")


def _candidates(ctx: Context, notes: list[str], *, own_tenant: bool) -> Callable[[], Any]:
    tenant = ensure_bundle_tenant() if own_tenant else ctx.tenant
    open_orders = Order.objects.for_tenant(tenant).exclude(stage__in=[str(s) for s in CLOSED_STAGES]).count()

    def run() -> Any:
        with CaptureQueriesContext(connection) as queries:
            groups, total = bundle_candidates(tenant)
        notes[:] = [
            f"{open_orders:,} open orders: {total:,} candidate groups, the first {len(groups)} with "
            f"{sum(len(g.order_ids) for g in groups):,} orders, in {len(queries.captured_queries)} queries"
        ]
        return groups

    return run


BUNDLING = [
    Scenario(
        name="bundle candidates among 100,000 open orders",
        body=lambda ctx: _candidates(ctx, NOTES, own_tenant=True),
        target_ms=1_000,
        notes=NOTES,
    ),
    Scenario(
        name="bundle candidates, the 1M tenant (no target)",
        body=lambda ctx: _candidates(ctx, SCALE_NOTES, own_tenant=False),
        notes=SCALE_NOTES,
    ),
]
