"""The free-text search's indexes on PostgreSQL: one- and two-character terms through `search_grams`, and a
probe whose plan does not depend on the table's statistics (issue 10, item 2)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.http import QueryDict

from bench.scenarios import DROP_TEXT_STATISTICS
from orders.search import CJK_CLASS, normalize, uses_grams
from orders.selectors import index_probe, order_search, tenant_reference
from tests.factories import make_order

pytestmark = pytest.mark.usefixtures("require_postgres")

SAMPLES = [
    "|r1234|佐藤太郎|サトウタロウ|taro@examplejp|09012345678|sku001|",
    "|佐々木花子|ササキハナコ|〆張鶴|ヴァイオリン|",
    "|abc|林|ハヤシ|",
    "|髙橋|﨑|ｶﾀｶﾅ|",  # a normalised text never holds half-width kana; the class decides, not the caller
    "",
]


def python_grams(text: str) -> set[str]:
    """What orders/migrations/0009_search_grams.py computes, written again from CJK_CLASS."""
    grams: set[str] = set()
    for run in re.findall(f"[{CJK_CLASS}]+", text):
        grams.update(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


@pytest.mark.parametrize("text", SAMPLES)
def test_the_databases_grams_are_the_ones_the_python_side_expects(db, text):
    """uses_grams() decides from CJK_CLASS which terms go to the grams index; the trigger must index
    exactly the single characters and pairs of that class, or a term would silently find nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT orders_search_grams(%s)", [text])
        stored = set(cursor.fetchone()[0])
    assert stored == python_grams(text)


def test_the_trigger_keeps_the_grams_with_the_search_text(tenant):
    order = make_order(
        tenant, orderer_name="佐藤 花子", orderer_kana="サトウ ハナコ", dest_name="佐藤 花子", dest_kana="サトウ ハナコ"
    )

    def grams() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT search_grams FROM orders_order WHERE id = %s", [order.pk])
            return set(cursor.fetchone()[0])

    assert {"佐藤", "ハナ", "花"} <= grams()
    from orders.events import Actor
    from orders.services import order_update

    order_update(
        order=order, changes={"orderer_name": "鈴木 花子", "dest_name": "鈴木 花子"}, actor=Actor.system("test")
    )
    assert "鈴木" in grams()
    assert "佐藤" not in grams()


@pytest.mark.parametrize("term", ["佐藤", "林", "サト"])
def test_short_japanese_terms_use_the_grams_index(term):
    assert uses_grams(normalize(term))


@pytest.mark.parametrize("term", ["sa", "佐藤太", "0901234", "佐1"])
def test_other_terms_use_the_trigram_index(term):
    assert not uses_grams(normalize(term))


def _probe_plan(tenant, user, q: str) -> str:
    reference = tenant_reference(tenant=tenant, user=user)
    search = order_search(tenant=tenant, params=QueryDict(f"q={q}"), reference=reference)
    assert search.is_valid()
    with index_probe(search):
        return search.qs.order_by().values_list("pk", "status_id")[:5001].explain()


def _fill(tenant, n: int) -> None:
    """n more orders of the tenant in one INSERT … SELECT (copies of one order, each with its own number,
    phone and one of four names), then ANALYZE — but without statistics for the search columns, as a table
    looks that grew since its last ANALYZE (this machine runs without autovacuum)."""
    from orders.models import Order

    template = make_order(tenant)
    names = "(ARRAY['佐藤花子','鈴木一郎','高橋健','田中愛'])[1 + g %% 4]"
    overrides = {
        "external_id": "'BULK-' || g",
        "search_text": f"'|bulk' || g || '|' || {names} || '|0901234' || lpad(g::text, 4, '0') || '|'",
    }
    columns = [f.column for f in Order._meta.concrete_fields if not f.primary_key]
    select = ", ".join(overrides.get(c, f'"{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO orders_order ({names}) SELECT {select} "  # noqa: S608 - our own columns
            "FROM orders_order, generate_series(1, %s) AS g WHERE id = %s",
            [n, template.pk],
        )
        cursor.execute("ANALYZE orders_order")
        cursor.execute(DROP_TEXT_STATISTICS)


@pytest.mark.parametrize("q", ["佐藤", "09012340777"])
def test_the_probe_plans_bitmap_scans_whatever_the_planner_believes(tenant, operator, q):
    """The planner's choice rests on its statistics and costs; stale statistics (this machine runs without
    autovacuum) once sent a rare phone number walking the date index, and a LIMIT makes scanning the table
    and stopping early look cheap. Here the test makes scanning look as cheap as it can (no statistics for
    the search columns, cheap sequential pages, dear random ones): the plain query then scans the table,
    and the probe still reads through bitmap scans. (Which index a bitmap comes from is the planner's cost
    choice: at a million orders the text index — `make bench`, "search by phone, no statistics".)"""
    _fill(tenant, 20_000)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL seq_page_cost = 0.01; SET LOCAL random_page_cost = 100")
    reference = tenant_reference(tenant=tenant, user=operator)
    search = order_search(tenant=tenant, params=QueryDict(f"q={q}"), reference=reference)
    assert search.is_valid()
    unforced = search.qs.order_by().values_list("pk", "status_id")[:5001].explain()
    plan = _probe_plan(tenant, operator, q)

    assert "Seq Scan" in unforced, unforced
    assert "Seq Scan" not in plan, plan
    scans = [line.strip() for line in plan.splitlines() if "Scan on" in line]
    assert scans, plan
    assert all(line.startswith(("->  Bitmap", "Bitmap")) for line in scans), plan
