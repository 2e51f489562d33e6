"""Fill the benchmark database with N realistic orders as fast as PostgreSQL takes them (COPY).

Each order has 3 lines and 2 events (created, status changed), spread over every status and shop, with
Japanese names, kana, phone numbers and real postal codes. Columns come from the models, so a new column
with a default needs no change here.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, models
from django.utils import timezone

from backyard.models import Role, Tenant
from backyard.provisioning import tenant_create
from backyard.services import membership_set
from orders.models import Label, Order, OrderEvent, OrderLabel, OrderLine, PaymentMethod, Status
from shipping.models import DeliveryMethod
from shops.constants import MallKind
from shops.models import Shop

BENCH_TENANT = "bench"
OTHER_TENANT = "bench-other"
BENCH_USER = "bench_operator"

FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔太", "ショウタ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("陽菜", "ヒナ"),
    ("大輔", "ダイスケ"),
    ("由美", "ユミ"),
    ("拓也", "タクヤ"),
    ("桜", "サクラ"),
    ("直樹", "ナオキ"),
    ("恵", "メグミ"),
    ("誠", "マコト"),
    ("愛", "アイ"),
    ("蓮", "レン"),
]
PLACES = [
    ("100-0005", "東京都", "千代田区", "丸の内"),
    ("150-0002", "東京都", "渋谷区", "渋谷"),
    ("530-0001", "大阪府", "大阪市北区", "梅田"),
    ("460-0008", "愛知県", "名古屋市中区", "栄"),
    ("060-0001", "北海道", "札幌市中央区", "北一条西"),
    ("812-0011", "福岡県", "福岡市博多区", "博多駅前"),
    ("980-0021", "宮城県", "仙台市青葉区", "中央"),
    ("900-0015", "沖縄県", "那覇市", "久茂地"),
    ("220-0011", "神奈川県", "横浜市西区", "高島"),
    ("600-8216", "京都府", "京都市下京区", "東塩小路町"),
]
ITEMS = [
    ("TEA-001", "有機緑茶 100g", 1080, 8),
    ("TEA-002", "ほうじ茶ティーバッグ 30包", 864, 8),
    ("CUP-010", "有田焼 湯呑み", 2750, 10),
    ("TWL-200", "今治タオル フェイスタオル", 1650, 10),
    ("SOY-005", "丸大豆醤油 1L", 702, 8),
    ("BAG-300", "帆布トートバッグ", 4400, 10),
    ("SOX-050", "綿混ソックス 3足組", 1320, 10),
    ("RCE-005", "新米 コシヒカリ 5kg", 3980, 8),
]


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]


def _row(model_fields: list[models.Field], values: dict[str, Any], now: dt.datetime) -> tuple[Any, ...]:
    out = []
    for field in model_fields:
        if field.attname in values:
            out.append(values[field.attname])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            out.append(now)
        else:
            out.append(field.get_db_prep_save(field.get_default(), connection))
    return tuple(out)


def _copy(model: type[models.Model], rows: Iterator[dict[str, Any]], now: dt.datetime) -> int:
    fields = [model._meta.pk, *_columns(model)]
    names = ", ".join(f'"{f.column}"' for f in fields)
    n = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        with raw.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
            for values in rows:
                copy.write_row(_row(fields, values, now))
                n += 1
    return n


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))"
        )


def ensure_tenant(slug: str, name: str) -> Tenant:
    from automation.defaults import task_definitions_create

    tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(name=name, slug=slug)
    task_definitions_create(tenant=tenant)  # a database filled before automation existed lacks them
    for pos, (shop_name, mall) in enumerate(
        [("楽天市場店", MallKind.RAKUTEN), ("Yahoo!店", MallKind.YAHOO), ("公式ストア", MallKind.SHOPIFY)], start=1
    ):
        Shop.objects.get_or_create(
            tenant=tenant, code=f"{mall}-{pos}", defaults={"name": shop_name, "mall": mall, "position": pos}
        )
    return tenant


def ensure_user(tenant: Tenant) -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    membership_set(tenant=tenant, user=user, role=Role.OPERATOR)
    return user


def _sql_array(values: list[Any]) -> str:
    """A PostgreSQL array literal of plain values (names, numbers) for the generator's SELECT."""

    def lit(v: Any) -> str:
        return str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"

    return "ARRAY[" + ", ".join(lit(v) for v in values) + "]"


def generate(tenant: Tenant, n: int, log: Callable[[str], None] = print, seed: int = 7) -> dict[str, float]:
    """Add `n` orders (3 lines, 2 events each; every 5th labelled) to `tenant`, generated inside PostgreSQL
    with INSERT … SELECT over generate_series: no row crosses the wire, so this runs as fast as the database
    writes. Returns seconds per table. The search column is built the way orders/search.py builds it
    (checked on a sample afterwards)."""
    from orders.destination import destination_keys_fill
    from orders.services import order_search_text

    rnd = random.Random(seed + tenant.pk)
    shops = [s.pk for s in Shop.objects.for_tenant(tenant).exclude(mall=MallKind.MANUAL)]
    statuses = list(Status.objects.for_tenant(tenant).select_related("group"))
    payments = [p.pk for p in PaymentMethod.objects.for_tenant(tenant)]
    deliveries = [d.pk for d in DeliveryMethod.objects.for_tenant(tenant)]
    labels = [lb.pk for lb in Label.objects.for_tenant(tenant)]
    # Weighted towards the early statuses, as a live shop is: status i appears (12 - i) times.
    weighted = [s for i, s in enumerate(statuses) for _ in range(max(1, 12 - i))]
    rnd.shuffle(weighted)
    first = _next_id(Order)
    timings: dict[str, float] = {}
    fam = [f for f, _ in FAMILY]
    famk = [k for _, k in FAMILY]
    giv = [g for g, _ in GIVEN]
    givk = [k for _, k in GIVEN]
    arrays = {
        "fam": _sql_array(fam),
        "famk": _sql_array(famk),
        "giv": _sql_array(giv),
        "givk": _sql_array(givk),
        "postal": _sql_array([p[0] for p in PLACES]),
        "pref": _sql_array([p[1] for p in PLACES]),
        "city": _sql_array([p[2] for p in PLACES]),
        "town": _sql_array([p[3] for p in PLACES]),
        "sku": _sql_array([i[0] for i in ITEMS]),
        "iname": _sql_array([i[1] for i in ITEMS]),
        "price": _sql_array([i[2] for i in ITEMS]),
        "rate": _sql_array([i[3] for i in ITEMS]),
        "skun": _sql_array([i[0].lower().replace("-", "") for i in ITEMS]),
        "status": _sql_array([s.pk for s in weighted]),
        "stage": _sql_array([s.group.stage for s in weighted]),
        "shop": _sql_array(shops),
        "pay": _sql_array(payments),
        "dlv": _sql_array(deliveries),
        "ship": "ARRAY[0, 550, 880]",
    }
    nf, ng, npl, ni, nw = len(fam), len(giv), len(PLACES), len(ITEMS), len(weighted)
    # g runs 0..n-1; i = g % k picks from an array of k (PostgreSQL arrays are 1-based).
    exprs: dict[str, str] = {
        "id": f"{first} + g",
        "tenant_id": str(tenant.pk),
        "shop_id": f"({arrays['shop']})[1 + g % {len(shops)}]",
        "external_id": f"'{tenant.slug}-' || lpad(({first} + g)::text, 9, '0')",
        "ordered_at": f"now() - ({n} - g) * interval '1 minute'",
        "orderer_name": f"({arrays['fam']})[1 + g % {nf}] || ' ' || ({arrays['giv']})[1 + (g / {nf}) % {ng}]",
        "orderer_kana": f"({arrays['famk']})[1 + g % {nf}] || ' ' || ({arrays['givk']})[1 + (g / {nf}) % {ng}]",
        "orderer_email": f"'u' || ({first} + g) || '@example.jp'",
        "orderer_phone": "'0' || (3 + g % 97) || '-' || (1000 + (g * 7) % 9000) || '-' || (1000 + (g * 13) % 9000)",
        "orderer_postal_code": f"({arrays['postal']})[1 + (g / 7) % {npl}]",
        "orderer_prefecture": f"({arrays['pref']})[1 + (g / 7) % {npl}]",
        "orderer_city": f"({arrays['city']})[1 + (g / 7) % {npl}]",
        "orderer_address1": f"({arrays['town']})[1 + (g / 7) % {npl}] || (1 + g % 5) || '-' || (1 + g % 20)",
        "dest_postal_code": f"({arrays['postal']})[1 + (g / 7) % {npl}]",
        "dest_prefecture": f"({arrays['pref']})[1 + (g / 7) % {npl}]",
        "dest_city": f"({arrays['city']})[1 + (g / 7) % {npl}]",
        "dest_address1": f"({arrays['town']})[1 + (g / 7) % {npl}] || (1 + g % 5) || '-1'",
        "payment_method_id": f"({arrays['pay']})[1 + (g / 3) % {len(payments)}]",
        "delivery_method_id": f"({arrays['dlv']})[1 + (g / 11) % {len(deliveries)}]",
        "item_subtotal": " + ".join(f"({arrays['price']})[1 + (g + {k}) % {ni}]" for k in range(3)),
        "shipping_fee": f"({arrays['ship']})[1 + g % 3]",
        "remarks": "CASE WHEN g % 7 = 0 THEN 'のし希望' ELSE '' END",
        "requested_delivery_date": "CASE WHEN g % 9 = 0 THEN (now() + interval '5 days')::date END",
        "stage": f"({arrays['stage']})[1 + (g * 31) % {nw}]",
        "status_id": f"({arrays['status']})[1 + (g * 31) % {nw}]",
    }
    exprs["dest_name"], exprs["dest_kana"] = exprs["orderer_name"], exprs["orderer_kana"]
    exprs["dest_phone"] = exprs["orderer_phone"]
    exprs["total"] = f"({exprs['item_subtotal']}) + {exprs['shipping_fee']}"
    exprs["tax"] = f"(({exprs['item_subtotal']}) * 8) / 108"
    exprs["search_text"] = " || ".join(
        [
            "'|' || lower(replace(" + exprs["external_id"] + ", '-', ''))",
            "'|' || replace(" + exprs["orderer_name"] + ", ' ', '')",
            "'|' || replace(" + exprs["orderer_kana"] + ", ' ', '')",
            "'|' || replace(" + exprs["orderer_email"] + ", '.', '')",
            "'|' || replace(" + exprs["orderer_phone"] + ", '-', '')",
            *(f"'|' || ({arrays['skun']})[1 + (g + {k}) % {ni}]" for k in range(3)),
            "'|'",
        ]
    )
    now = timezone.now()

    def insert(model: type[models.Model], exprs: dict[str, str], count: int) -> None:
        fields = [model._meta.pk, *_columns(model)]
        cols, values, params = [], [], []
        for f in fields:
            cols.append(f'"{f.column}"')
            if f.attname in exprs:
                values.append(exprs[f.attname].replace("%", "%%"))
            else:
                values.append("%s")
                params.append(_row([f], {}, now)[0])
        sql = (
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(cols)}) '
            f"SELECT {', '.join(values)} FROM generate_series(0, {count - 1}) AS g"
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        timings[model._meta.db_table] = time.perf_counter() - started
        log(f"  {model._meta.db_table}: {count:,} rows in {timings[model._meta.db_table]:.1f} s")
        _reset_sequence(model)

    insert(Order, exprs, n)
    first_line = _next_id(OrderLine)
    insert(
        OrderLine,
        {
            "id": f"{first_line} + g",
            "tenant_id": str(tenant.pk),
            "order_id": f"{first} + g / 3",
            "position": "1 + g % 3",
            "sku": f"({arrays['sku']})[1 + (g / 3 + g % 3) % {ni}]",
            "name": f"({arrays['iname']})[1 + (g / 3 + g % 3) % {ni}]",
            "unit_price": f"({arrays['price']})[1 + (g / 3 + g % 3) % {ni}]",
            "quantity": "1",
            "tax_rate": f"({arrays['rate']})[1 + (g / 3 + g % 3) % {ni}]",
        },
        n * 3,
    )
    first_event = _next_id(OrderEvent)
    insert(
        OrderEvent,
        {
            "id": f"{first_event} + g",
            "tenant_id": str(tenant.pk),
            "order_id": f"{first} + g / 2",
            "at": f"now() - ({n} - g / 2) * interval '1 minute'",
            "actor_kind": "CASE WHEN g % 2 = 0 THEN 'import' ELSE 'rule' END",
            "actor_name": "'bench'",
            "type": "CASE WHEN g % 2 = 0 THEN 'created' ELSE 'status_changed' END",
            "data": '\'{"source": "bench"}\'::jsonb',
        },
        n * 2,
    )
    first_label = _next_id(OrderLabel)
    insert(
        OrderLabel,
        {
            "id": f"{first_label} + g",
            "tenant_id": str(tenant.pk),
            "order_id": f"{first} + g * 5",
            "label_id": f"({_sql_array(labels)})[1 + g % {len(labels)}]",
        },
        (n + 4) // 5,
    )
    # The destination keys (bundle candidates) take the Python normaliser: computed for the new orders here.
    started = time.perf_counter()
    destination_keys_fill(tenant_id=tenant.pk)
    timings["destination keys"] = time.perf_counter() - started
    log(f"  destination keys: {timings['destination keys']:.1f} s")
    with connection.cursor() as cursor:
        # Fresh rows: VACUUM sets the visibility map (index-only scans for counts) and ANALYZE the statistics.
        cursor.execute("VACUUM ANALYZE")
    # The generated search column must be what the services would have written.
    for order in Order.objects.filter(pk__in=[first, first + n // 2, first + n - 1]).prefetch_related("lines"):
        expected = order_search_text(order, [line.sku for line in order.lines.all()])
        assert order.search_text == expected, (order.search_text, expected)
    return timings


OPEN_STAGES = "('new', 'stock_checked', 'shortage', 'awaiting_payment')"


def generate_tasks(tenant: Tenant, log: Callable[[str], None] = print) -> int:
    """Tasks as a live shop has them: "remarks" on every order with remarks and "requested delivery date" on
    every order with one, open while the order is before payment, resolved after (an operator dealt with
    them). At a million orders that is ~250,000 tasks, ~100,000 of them open: what the task counts of a status
    and the list's task badges must cope with. Skipped when the tenant already has tasks."""
    from automation.models import OrderTask, TaskDefinition

    if OrderTask.objects.for_tenant(tenant).exists():
        return 0
    definitions = {
        d.code: d.pk
        for d in TaskDefinition.objects.for_tenant(tenant).filter(code__in=["remarks", "delivery_date_check"])
    }
    table = OrderTask._meta.db_table
    started = time.perf_counter()
    total = 0
    with connection.cursor() as cursor:
        for code, condition in (
            ("remarks", "o.remarks <> ''"),
            ("delivery_date_check", "o.requested_delivery_date IS NOT NULL"),
        ):
            cursor.execute(
                f'INSERT INTO "{table}" (tenant_id, order_id, definition_id, raised_at, raised_by, '
                f"raised_automatically, note, resolved_at, resolved_by_name, resolved_automatically) "
                f"SELECT o.tenant_id, o.id, %s, o.ordered_at, 'bench', true, '', "
                f"CASE WHEN o.stage IN {OPEN_STAGES} THEN NULL ELSE o.ordered_at + interval '1 hour' END, "
                f"CASE WHEN o.stage IN {OPEN_STAGES} THEN '' ELSE 'bench' END, false "
                f"FROM orders_order o WHERE o.tenant_id = %s AND {condition}",
                [definitions[code], tenant.pk],
            )
            total += cursor.rowcount
        cursor.execute(f'ANALYZE "{table}"')
    log(f"  {table}: {total:,} rows in {time.perf_counter() - started:.1f} s")
    return total
