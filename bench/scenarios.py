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
from django.test.utils import CaptureQueriesContext
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
    teardown: Callable[[Context], None] | None = None

    def timings(self, fn: Callable[[], Any], repeat: int) -> list[float]:
        """Milliseconds of each run after a warm-up: the whole call."""
        return _times(fn, repeat)

    def run(self, ctx: Context, repeat: int) -> dict[str, Any]:
        try:
            times = self.timings(self.body(ctx), repeat)
            raw_times = _times(self.raw(ctx), repeat) if self.raw is not None else None
        finally:
            if self.teardown is not None:
                self.teardown(ctx)
        result: dict[str, Any] = {
            "name": self.name,
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
            "runs_ms": times,
            "target_ms": self.target_ms,
        }
        if raw_times is not None:
            result["raw_median_ms"] = statistics.median(raw_times)
            result["raw_runs_ms"] = raw_times
        if self.notes:  # what the scenario wrote down about its last run (query counts, …)
            result["notes"] = list(self.notes)
        return result


def _first_new_status(ctx: Context) -> Status:
    return (
        Status.objects.for_tenant(ctx.tenant).filter(group__stage="new").order_by("group__position", "position").first()
    )


def _sample(ctx: Context) -> Order:
    """An order from the middle of the tenant's orders: its phone and kana are what an operator types."""
    qs = Order.objects.for_tenant(ctx.tenant).order_by("id")
    return qs[qs.count() // 2]


# The search columns' statistics removed (needs a superuser, as the bench and test databases have).
DROP_TEXT_STATISTICS = (
    "DELETE FROM pg_statistic WHERE starelid = 'orders_order'::regclass AND staattnum IN "
    "(SELECT attnum FROM pg_attribute WHERE attrelid = 'orders_order'::regclass "
    "AND attname IN ('search_text', 'search_grams'))"
)


def _without_statistics(ctx: Context, run: Callable[[], Any]) -> Callable[[], Any]:
    """The table as a planner sees it when its statistics are missing or stale (this machine runs with
    autovacuum off; a table that grew since its last ANALYZE looks the same): the search column's statistics
    are dropped, so a rare phone number is estimated to match thousands of orders. The raw SQL then walks the
    date index; the list must not care."""
    with connection.cursor() as cursor:
        cursor.execute(DROP_TEXT_STATISTICS)
    return run


def _restore_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")


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
    changes = BulkChanges(
        status=target,
        memo="ベンチ: 一括編集",
        add_labels=[Label.objects.for_tenant(ctx.tenant).order_by("position", "pk")[0]],
    )
    actor = Actor.system(BULK_EDIT_ACTOR)

    def run() -> BulkResult:
        with transaction.atomic():
            last = OrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            result = orders_bulk_update(tenant=ctx.tenant, order_ids=selection, changes=changes, actor=actor)
            moved = OrderEvent.objects.filter(
                pk__gt=last, type=EventType.STATUS_CHANGED, actor_name=BULK_EDIT_ACTOR
            ).count()
            assert (result.applied, result.moved, moved) == (True, BULK_EDIT_ORDERS, BULK_EDIT_ORDERS), (
                result.summary(),
                moved,
            )
            transaction.set_rollback(True)
        return result

    return run


# --- auto-processing (issue 4) ----------------------------------------------------------------------------

AUTO_ORDERS = 10_000
AUTO_NOTES: list[str] = []
ADDRESS_NOTES: list[str] = []
OPEN_BEFORE_SHIPPING = (Stage.NEW, Stage.STOCK_CHECKED, Stage.SHORTAGE, Stage.AWAITING_PAYMENT, Stage.PAID)


def _auto_ids(ctx: Context) -> list[int]:
    """10,000 orders as an import hands them over: new ones first, then other open ones if there are too few
    (a small bench database spreads its orders over every status)."""
    ids: list[int] = []
    for stage in OPEN_BEFORE_SHIPPING:
        ids += (
            Order.objects.for_tenant(ctx.tenant)
            .filter(stage=stage)
            .order_by("pk")
            .values_list("pk", flat=True)[: AUTO_ORDERS - len(ids)]
        )
    if len(ids) < AUTO_ORDERS:
        raise RuntimeError(f"only {len(ids):,} open orders; run with more --orders")
    return ids


def _bench_rules(tenant: Tenant) -> int:
    """20 rules in 3 groups using every kind of condition and action, over the open statuses; the tenant's
    own groups are switched off and the built-in tasks switched on (all of it inside the rolled-back run).

    Shaped like a merchant's: every order is sorted by its payment method (one move each); the other rules
    pick out what they are about (a region, a SKU, a threshold, a remark), from none to about a third of the
    orders each. Every rule's query runs whatever it matches."""
    from automation.defaults import task_definitions_create
    from automation.islands import remote_islands_seed
    from automation.models import Rule, RuleGroup, TaskDefinition
    from orders.models import PaymentMethod
    from shipping.models import DeliveryMethod, ShippingStore
    from shops.models import Shop

    RuleGroup.objects.for_tenant(tenant).update(enabled=False)
    task_definitions_create(tenant=tenant)
    remote_islands_seed(tenant=tenant)
    TaskDefinition.objects.for_tenant(tenant).update(enabled=True)
    statuses = list(Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "position"))
    first = {stage: next(s for s in statuses if s.group.stage == stage) for stage in Stage}
    scope = [s for s in statuses if s.group.stage in OPEN_BEFORE_SHIPPING]
    pay = dict(PaymentMethod.objects.for_tenant(tenant).values_list("code", "pk"))
    dlv = dict(DeliveryMethod.objects.for_tenant(tenant).values_list("name", "pk"))
    labels = dict(Label.objects.for_tenant(tenant).values_list("name", "pk"))
    store = ShippingStore.objects.for_tenant(tenant).order_by("position", "pk").values_list("pk", flat=True)[0]
    shop = Shop.objects.for_tenant(tenant).order_by("position", "pk").values_list("pk", flat=True)[0]
    remarks_task = TaskDefinition.objects.for_tenant(tenant).get(code="remarks").pk

    def move(stage: Stage, status: Status | None = None) -> dict[str, Any]:
        return {"type": "move_status", "status": (status or first[stage]).pk}

    def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    plan: dict[str, list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]] = {
        "bench: 基本": [
            ([cond("payment_method", "eq", pay["cod"]), cond("remarks", "empty")], [move(Stage.READY_TO_SHIP)]),
            ([cond("payment_method", "eq", pay["bank_transfer"])], [move(Stage.AWAITING_PAYMENT)]),
            ([cond("payment_method", "eq", pay["credit_card"])], [move(Stage.PAID)]),
            ([cond("payment_method", "eq", pay["convenience_store"])], [move(Stage.AWAITING_PAYMENT)]),
            ([cond("payment_method", "in", [pay["deferred"], pay["rakuten_pay"]])], [move(Stage.PAID)]),
            (
                [cond("remarks", "contains", "のし")],
                [{"type": "add_label", "label": labels["ギフト"]}, {"type": "add_memo", "text": "のしを確認"}],
            ),
            ([cond("mail_inquiry", "eq", True)], [{"type": "add_label", "label": labels["要確認"]}]),
        ],
        "bench: 離島・配送": [
            (
                [cond("remote_island", "eq", True)],
                [
                    {"type": "set_delivery_method", "delivery_method": dlv["ゆうパック"]},
                    {"type": "set_shipping_fee", "amount": 1980},
                    {"type": "add_mail_insert", "text": "離島のため、お届けまで数日多くかかります。"},
                ],
            ),
            ([cond("dest_prefecture", "in", ["北海道", "沖縄県"])], [{"type": "set_shipping_fee", "amount": 1100}]),
            ([cond("total_quantity", "gt", 5)], [{"type": "set_delivery_method", "delivery_method": dlv["宅急便"]}]),
            ([cond("requested_delivery_date", "not_empty")], [{"type": "add_memo", "text": "お届け日指定あり"}]),
            ([cond("line_sku", "eq", "TEA-001")], [{"type": "set_shipping_store", "shipping_store": store}]),
            ([cond("dest_postal_code", "startswith", "900")], [{"type": "add_mail_insert", "text": "沖縄本島"}]),
        ],
        "bench: キャンペーン": [
            (
                [cond("total", "gt", 10000)],
                [{"type": "add_line", "sku": "NOVELTY-2026", "name": "ノベルティ", "quantity": 1}],
            ),
            (
                [cond("line_sku", "eq", "TWL-200"), cond("item_subtotal", "between", [3000, 8000])],
                [{"type": "add_line", "sku": "CATALOG-2026", "name": "カタログ", "quantity": 1}],
            ),
            (
                [cond("shop", "eq", shop), cond("total", "gt", 5000)],
                [{"type": "add_label", "label": labels["リピーター"]}],
            ),
            ([cond("orderer_differs", "eq", True)], [{"type": "add_label", "label": labels["ギフト"]}]),
            ([cond("label", "eq", labels["ギフト"])], [{"type": "add_memo", "text": "ギフト対応"}]),
            (
                [cond("task", "eq", remarks_task)],
                [{"type": "add_label", "label": labels["要確認"]}, {"type": "remove_label", "label": labels["至急"]}],
            ),
            (
                [cond("payment_method", "eq", pay["cod"]), cond("total", "gt", 10000)],
                [move(Stage.NEW, next(s for s in statuses if s.group.stage == Stage.NEW and s != first[Stage.NEW]))],
            ),
        ],
    }
    count = 0
    for g_pos, (name, rules) in enumerate(plan.items(), start=100):
        group = RuleGroup.objects.create(tenant=tenant, name=name, position=g_pos)
        for r_pos, (items, actions) in enumerate(rules, start=1):
            rule = Rule.objects.create(
                tenant=tenant,
                group=group,
                name=f"{name} #{r_pos}",
                position=r_pos,
                conditions={"match": "all", "items": items},
                actions=actions,
            )
            rule.statuses.set(scope)
            count += 1
    return count


def _auto_process(ctx: Context) -> Callable[[], Any]:
    """10,000 orders through 20 rules in 3 groups and the built-in tasks (the address check included), as
    after an import. Each run is rolled back, rules included, so every run does the same work."""
    from automation.services import process

    ids = _auto_ids(ctx)

    def run() -> Any:
        with transaction.atomic():
            rules = _bench_rules(ctx.tenant)
            result = process(tenant=ctx.tenant, order_ids=ids, actor_name="bench")
            assert rules == 20
            assert result.orders == AUTO_ORDERS
            assert not result.errors, result.errors
            AUTO_NOTES[:] = [
                f"{result.queries} queries in process() ({result.seconds * 1000:.0f} ms); "
                f"{result.changed:,} orders changed, {len(result.refusals):,} moves refused, "
                f"{result.tasks_raised:,} tasks raised"
            ]
            transaction.set_rollback(True)
        return result

    return run


def _address_check(ctx: Context) -> Callable[[], Any]:
    """The address check of 10,000 destinations (postal lookups cached after the warm-up, as in a worker)."""
    from automation.address import check_orders

    ids = _auto_ids(ctx)

    def run() -> Any:
        queries = CaptureQueriesContext(connection)
        with queries:
            checks = check_orders(ctx.tenant, ids)
        assert len(checks) == AUTO_ORDERS
        warned = sum(not check.ok for check in checks.values())
        ADDRESS_NOTES[:] = [f"{len(queries.captured_queries)} queries; {warned:,} of {len(checks):,} warned"]
        return checks

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
        name="list: search 佐藤 (2 characters)",
        body=lambda ctx: _get(ctx, f"{reverse('home')}?q=佐藤"),
        raw=lambda ctx: _raw(
            "SELECT * FROM orders_order WHERE tenant_id = %s AND search_grams @> ARRAY['佐藤'] "
            "ORDER BY ordered_at DESC, id DESC LIMIT 50",
            [ctx.tenant.pk],
        ),
        target_ms=300,
    ),
    Scenario(
        name="list: search 佐藤 in a status",
        body=lambda ctx: _get(ctx, f"{reverse('home')}?q=佐藤&status={_first_new_status(ctx).pk}"),
        target_ms=300,
    ),
    Scenario(
        name="list: search by phone, no statistics",
        body=lambda ctx: _without_statistics(ctx, _get(ctx, f"{reverse('home')}?q={_sample(ctx).orderer_phone}")),
        raw=lambda ctx: _raw(
            "SELECT * FROM orders_order WHERE tenant_id = %s AND search_text LIKE %s "
            "ORDER BY ordered_at DESC, id DESC LIMIT 50",
            [ctx.tenant.pk, f"%{normalize(_sample(ctx).orderer_phone)}%"],
        ),
        teardown=lambda ctx: _restore_statistics(),
        target_ms=300,
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
    Scenario(
        name="auto-process 10,000 (20 rules, 3 groups, tasks)",
        body=_auto_process,
        target_ms=10_000,
        notes=AUTO_NOTES,
    ),
    Scenario(
        name="address check 10,000",
        body=_address_check,
        target_ms=5000,
        notes=ADDRESS_NOTES,
    ),
]


# --- import (issue 5) ---------------------------------------------------------------------------------------

IMPORT_ORDERS = 10_000
IMPORT_PAGE = 1_000  # orders per page, as a mall pages them (Shopify's limit is 250, Rakuten's getOrder 100)
IMPORT_SHOP = "bench-import"
IMPORT_NOTES: list[str] = []
IMPORT_AUTO_NOTES: list[str] = []
MEMORY_NOTES: list[str] = []
_IMPORT_TIMES: dict[str, list[float]] = {"import": [], "copy": [], "auto": []}
_PAGES: list[str] = []


def _import_pages() -> list[str]:
    """10 pages of 1,000 orders, each the JSON text of a Shopify `orders.json` answer with 3 lines an
    order, made once by Shopify's fake mall (the mall's side: built before any timing, kept as text)."""
    if not _PAGES:
        import json

        from devtools.fakemalls.shopify import CATALOGUE, FakeShopify

        fake = FakeShopify(seed=5)
        skus = [p.sku for p in CATALOGUE]
        for i in range(IMPORT_ORDERS):
            fake.add_order(
                items=[(skus[(i + k) % len(skus)], 1 + k % 2) for k in range(3)],
                gateways=["shopify_payments"] if i % 3 else ["Cash on Delivery (COD)"],
            )
        ids = fake.ids()
        for start in range(0, len(ids), IMPORT_PAGE):
            orders = [fake.order(order_id) for order_id in ids[start : start + IMPORT_PAGE]]
            _PAGES.append(json.dumps({"orders": orders}, ensure_ascii=False))
    return _PAGES


def _import_shop(ctx: Context) -> Any:
    from shops.models import Shop
    from shops.services import mappings_seed

    shop, _created = Shop.objects.get_or_create(
        tenant=ctx.tenant, code=IMPORT_SHOP, defaults={"name": "ベンチ取込", "mall": "shopify", "active": False}
    )
    mappings_seed(tenant=ctx.tenant, mall="shopify")
    return shop


def _import_run(ctx: Context, shop: Any, pages: list[str], auto: bool) -> Any:
    """The pipeline a poll runs per page: parse the mall's JSON (the Shopify connector), import_orders, and
    (`auto`) auto-processing of the page's new orders (import_page). Pages are parsed one at a time, never
    all at once."""
    import json

    from shops.connectors.shopify import ShopifyConnector
    from shops.models import ImportRun
    from shops.services import import_orders, import_page

    connector = ShopifyConnector({"shop_domain": "bench.myshopify.com", "access_token": "shpat_bench"})
    run = ImportRun.objects.create(tenant=ctx.tenant, shop=shop, status="running")
    for text in pages:
        batch = [connector.to_imported(raw) for raw in json.loads(text)["orders"]]
        if auto:
            import_page(shop=shop, batch=batch, run=run)  # import_orders, then auto-processing, as a poll does
        else:
            import_orders(shop, batch, run=run)
        del batch
    return run


def _import(ctx: Context, auto: bool) -> Callable[[], Any]:
    pages = _import_pages()
    shop = _import_shop(ctx)
    key = "auto" if auto else "import"

    def run() -> Any:
        started = time.perf_counter()
        with transaction.atomic():
            result = _import_run(ctx, shop, pages, auto)
            assert (result.new, result.failed) == (IMPORT_ORDERS, 0), (result.new, result.failed, result.notes[:3])
            transaction.set_rollback(True)
        _IMPORT_TIMES[key].append(time.perf_counter() - started)
        _import_notes()
        return result

    return run


def _median_rate(key: str) -> tuple[float, float] | None:
    """(median seconds, orders per second) of the timed runs (the first, a warm-up, left out)."""
    times = _IMPORT_TIMES[key][1:] or _IMPORT_TIMES[key]
    if not times:
        return None
    seconds = statistics.median(times)
    return seconds, IMPORT_ORDERS / seconds


def _import_notes() -> None:
    plain, copy, auto = _median_rate("import"), _median_rate("copy"), _median_rate("auto")
    if plain:
        line = f"import: {plain[1]:,.0f} orders/s"
        if copy:
            line += (
                f"; raw COPY of the same rows: {copy[1]:,.0f} orders/s (import = 1/{copy[1] / plain[1]:.1f} of COPY)"
            )
        IMPORT_NOTES[:] = [line]
    if auto and plain:
        IMPORT_AUTO_NOTES[:] = [
            f"with auto-processing: {auto[1]:,.0f} orders/s; auto-processing adds "
            f"{(auto[0] - plain[0]) * 1000:,.0f} ms for {IMPORT_ORDERS:,} orders"
        ]


_COPY_ROWS: dict[str, Any] = {}


def _copy_rows(ctx: Context) -> dict[str, Any]:
    """The rows the import writes to orders, lines and events, read back from one rolled-back import."""
    if not _COPY_ROWS:
        from orders.models import OrderLine

        shop = _import_shop(ctx)
        order_fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
        line_fields = [f for f in OrderLine._meta.concrete_fields if not f.primary_key]
        event_fields = [f for f in OrderEvent._meta.concrete_fields if not f.primary_key]
        with transaction.atomic():
            _import_run(ctx, shop, _import_pages(), auto=False)
            orders = Order.objects.filter(shop=shop).order_by("pk")
            ids = list(orders.values_list("pk", flat=True))
            _COPY_ROWS.update(
                order_columns=[f.column for f in order_fields],
                orders=list(orders.values_list(*[f.attname for f in order_fields])),
                line_columns=[f.column for f in line_fields],
                lines=list(
                    OrderLine.objects.filter(order__shop=shop)
                    .order_by("pk")
                    .values_list(*[f.attname for f in line_fields])
                ),
                event_columns=[f.column for f in event_fields],
                events=list(
                    OrderEvent.objects.filter(order__shop=shop)
                    .order_by("pk")
                    .values_list(*[f.attname for f in event_fields])
                ),
                order_index=[f.attname for f in line_fields].index("order_id"),
                event_index=[f.attname for f in event_fields].index("order_id"),
                data_index=[f.attname for f in event_fields].index("data"),
                old_ids=ids,
            )
            transaction.set_rollback(True)
    return _COPY_ROWS


def _raw_copy(ctx: Context) -> Callable[[], Any]:
    """COPY of the same rows into the same tables (orders with ids from their sequence, then lines and
    events pointing at them), rolled back: the database's own speed for what the import writes."""
    import json

    rows = _copy_rows(ctx)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def copy(table: str, columns: list[str], data: Any) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as out:
            for row in data:
                out.write_row(row)

    def run() -> None:
        started = time.perf_counter()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) FROM generate_series(1, %s)",
                    [len(rows["orders"])],
                )
                new_ids = dict(zip(rows["old_ids"], (r[0] for r in cursor.fetchall()), strict=True))
            copy(
                "orders_order",
                ["id", *rows["order_columns"]],
                ((new_ids[old], *row) for old, row in zip(rows["old_ids"], rows["orders"], strict=True)),
            )
            li, ei, di = rows["order_index"], rows["event_index"], rows["data_index"]
            copy(
                "orders_orderline",
                rows["line_columns"],
                (tuple(new_ids[v] if i == li else v for i, v in enumerate(row)) for row in rows["lines"]),
            )
            copy(
                "orders_orderevent",
                rows["event_columns"],
                (
                    tuple(new_ids[v] if i == ei else dumps(v) if i == di else v for i, v in enumerate(row))
                    for row in rows["events"]
                ),
            )
            transaction.set_rollback(True)
        _IMPORT_TIMES["copy"].append(time.perf_counter() - started)
        _import_notes()

    return run


def _import_memory(ctx: Context) -> Callable[[], Any]:
    """Peak Python memory (tracemalloc) of importing 1 page, then 5 pages, of 1,000 orders: a poll streams
    page by page, so the peak must not grow with the number of pages."""
    import tracemalloc

    pages = _import_pages()
    shop = _import_shop(ctx)

    def peak(n: int) -> float:
        tracemalloc.start()
        try:
            with transaction.atomic():
                _import_run(ctx, shop, pages[:n], auto=False)
                transaction.set_rollback(True)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    def run() -> tuple[float, float]:
        one, five = peak(1), peak(5)
        MEMORY_NOTES[:] = [
            f"peak memory: {one:.1f} MB for 1 page, {five:.1f} MB for 5 pages "
            f"({five / one:.2f}×) of {IMPORT_PAGE:,} orders"
        ]
        return one, five

    return run


ALL += [
    Scenario(
        name="import 10,000 orders (3 lines)",
        body=lambda ctx: _import(ctx, auto=False),
        raw=_raw_copy,
        notes=IMPORT_NOTES,
    ),
    Scenario(
        name="import 10,000 + auto-processing",
        body=lambda ctx: _import(ctx, auto=True),
        notes=IMPORT_AUTO_NOTES,
    ),
    Scenario(
        name="import memory: 1 vs 5 pages",
        body=_import_memory,
        notes=MEMORY_NOTES,
    ),
]
