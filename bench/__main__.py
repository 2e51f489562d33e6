"""`make bench`: fill a separate PostgreSQL database once, run each scenario several times, print a table.

    python -m bench [--orders 1000000] [--repeat 7] [--only name,name] [--database-url URL]

The database is BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/backyard_bench); it is created,
migrated and filled on first use and reused afterwards (the generator tops it up to --orders). Each scenario
is timed after one warm-up run; where a raw-SQL equivalent exists it is timed in the same way, so the table
shows what Django adds on top of the database's own speed. Figures go to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

DEFAULT_URL = "postgres://root@127.0.0.1:5432/backyard_bench"


def _ensure_database(url: str) -> None:
    import psycopg
    from dj_database_url import parse

    cfg = parse(url)
    admin = psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=int(os.environ.get("BENCH_ORDERS", 1_000_000)))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args(argv)

    _ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backyard.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from bench import generate, scenarios
    from orders.models import Order

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", verbosity=0)
    if pending:
        print(f"applied {len(pending)} migration(s)")
    tenant = generate.ensure_tenant(generate.BENCH_TENANT, "ベンチ商店")
    other = generate.ensure_tenant(generate.OTHER_TENANT, "他社")
    have = Order.objects.for_tenant(tenant).count()
    if have < args.orders:
        print(f"generating {args.orders - have:,} orders for tenant {tenant.slug} …")
        started = time.perf_counter()
        generate.generate(tenant, args.orders - have)
        print(f"  done in {time.perf_counter() - started:.1f} s")
    generate.generate_tasks(tenant)
    if Order.objects.for_tenant(other).count() < 10_000:
        generate.generate(other, 10_000, log=lambda _m: None)
    user = generate.ensure_user(tenant)
    # This machine's PostgreSQL runs with autovacuum off. A migration may have rewritten the tables, and the
    # write scenarios of earlier runs leave dead rows (a bulk edit rolled back leaves 10,000 each time): a
    # search then reads a dead version for every live one. Clean up and refresh the statistics first, as
    # autovacuum would have.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")

    from django.conf import settings

    broker = settings.CELERY_BROKER_URL.split("://", 1)[0] if getattr(settings, "CELERY_BROKER_URL", "") else "?"
    print(f"broker of the scenarios with a real worker: {broker} (REDIS_URL={os.environ.get('REDIS_URL', 'unset')})")

    wanted = {name for name in args.only.split(",") if name}
    results = []
    print(f"\n{'scenario':<34}{'median ms':>11}{'min':>9}{'max':>9}{'raw SQL ms':>12}  target")
    from . import bundling, documents, inventory, mail, reports, shipping

    every = [*scenarios.ALL, *mail.MAIL, *inventory.INVENTORY, *documents.DOCUMENTS, *shipping.SHIPPING]
    every += reports.REPORTS
    for scenario in [*every, *bundling.BUNDLING]:
        # A name may itself hold a comma ("bulk edit 10,000 …"): match it as a whole, too.
        if wanted and scenario.name not in wanted and f",{scenario.name}," not in f",{args.only},":
            continue
        ctx = scenarios.Context(tenant=tenant, user=user, orders=args.orders)
        timing = scenario.run(ctx, args.repeat)
        results.append(timing)
        raw = f"{timing['raw_median_ms']:.1f}" if timing.get("raw_median_ms") is not None else "—"
        target = f"< {timing['target_ms']:.0f} ms" if timing.get("target_ms") else ""
        verdict = ""
        if timing.get("target_ms"):
            verdict = " ok" if timing["median_ms"] < timing["target_ms"] else " MISSED"
        print(
            f"{scenario.name:<34}{timing['median_ms']:>11.1f}{timing['min_ms']:>9.1f}{timing['max_ms']:>9.1f}"
            f"{raw:>12}  {target}{verdict}"
        )
        for note in timing.get("notes", []):
            print(f"    {note}")

    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {
        "at": stamp,
        "orders": args.orders,
        "repeat": args.repeat,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "results": results,
    }
    path = out_dir / f"{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
