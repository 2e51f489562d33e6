"""Old import runs are pruned daily: clean ones after SHOPS_RUNS_KEEP_DAYS, those that recorded failures after
SHOPS_RUNS_KEEP_FAILED_DAYS (their failures with them), never a queued or running one, never one of the newest
SHOPS_RUNS_KEEP_PER_SHOP of its shop; every tenant's shops, each by its own runs only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.db import connection
from django.db.models.signals import pre_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backyard.models import Tenant
from shops.models import CsvUpload, ImportFailure, ImportRun, RunStatus, Shop
from shops.selectors import shop_overview
from shops.services import import_runs_prune
from tests.factories import ShopFactory
from tests.test_settings import clean_env, run_python

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 3, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def retention(settings: Any) -> Any:
    """The defaults, except no per-shop floor: each test that is about the floor sets its own."""
    settings.SHOPS_RUNS_KEEP_DAYS = 14
    settings.SHOPS_RUNS_KEEP_FAILED_DAYS = 90
    settings.SHOPS_RUNS_KEEP_PER_SHOP = 0
    return settings


@pytest.fixture
def shop(tenant: Tenant) -> Shop:
    return ShopFactory(tenant=tenant)


def make_run(
    shop: Shop,
    days_ago: float,
    status: str = RunStatus.OK,
    *,
    failed: int = 0,
    failures: int = 0,
    now: dt.datetime = NOW,
) -> ImportRun:
    """A run of `shop` queued `days_ago` before `now`, with `failures` ImportFailure rows (raw payloads)."""
    run = ImportRun.objects.create(
        tenant_id=shop.tenant_id,
        shop=shop,
        status=status,
        failed=failed,
        created_at=now - dt.timedelta(days=days_ago),
    )
    for number in range(failures):
        ImportFailure.objects.create(
            tenant_id=shop.tenant_id,
            run=run,
            shop=shop,
            external_id=f"{run.pk}-{number}",
            reason="unreadable",
            payload='{"order": "raw"}',
        )
    return run


def run_ids(**filters: Any) -> set[int]:
    return set(ImportRun.objects.filter(**filters).values_list("pk", flat=True))


def failure_run_ids() -> set[int]:
    return set(ImportFailure.objects.values_list("run_id", flat=True))


def test_clean_finished_runs_go_after_the_clean_period_and_recent_ones_stay(shop):
    old = [make_run(shop, 15, status) for status in (RunStatus.OK, RunStatus.SKIPPED, RunStatus.PARTIAL)]
    recent = make_run(shop, 13)
    just_14_days = make_run(shop, 14)  # not older than 14 days: kept until tomorrow's prune

    assert import_runs_prune(now=NOW) == 3

    assert run_ids() == {recent.pk, just_14_days.pk}
    assert not run_ids(pk__in=[run.pk for run in old])
    assert import_runs_prune(now=NOW) == 0  # again: nothing left to do


def test_runs_with_failures_stay_for_the_longer_period_and_their_failures_go_with_them(shop):
    failed_30 = make_run(shop, 30, RunStatus.FAILED)  # stopped on an error, no failure rows
    partial_89 = make_run(shop, 89, RunStatus.PARTIAL, failed=2, failures=2)
    rows_only = make_run(shop, 30, RunStatus.OK, failures=1)  # a failure row without the count still counts
    partial_91 = make_run(shop, 91, RunStatus.PARTIAL, failed=3, failures=3)
    failed_100 = make_run(shop, 100, RunStatus.FAILED, failed=1, failures=1)
    clean_30 = make_run(shop, 30)

    assert import_runs_prune(now=NOW) == 3

    assert run_ids() == {failed_30.pk, partial_89.pk, rows_only.pk}
    assert failure_run_ids() == {partial_89.pk, rows_only.pk}
    assert ImportFailure.objects.count() == 3
    assert not run_ids(pk__in=[partial_91.pk, failed_100.pk, clean_30.pk])


def test_a_failed_period_shorter_than_the_clean_one_does_not_prune_failing_runs_first(shop, retention):
    retention.SHOPS_RUNS_KEEP_FAILED_DAYS = 7
    failed_10 = make_run(shop, 10, RunStatus.FAILED, failed=1, failures=1)
    failed_15 = make_run(shop, 15, RunStatus.FAILED, failed=1, failures=1)

    assert import_runs_prune(now=NOW) == 1

    assert run_ids() == failure_run_ids() == {failed_10.pk}
    assert not run_ids(pk=failed_15.pk)


def test_queued_and_running_runs_are_never_deleted(shop):
    queued = make_run(shop, 400, RunStatus.QUEUED)
    running = make_run(shop, 400, RunStatus.RUNNING, failures=1)

    assert import_runs_prune(now=NOW) == 0

    assert run_ids() == {queued.pk, running.pk}
    assert failure_run_ids() == {running.pk}


def test_the_newest_runs_of_each_shop_stay_whatever_their_age(tenant, shop, retention):
    retention.SHOPS_RUNS_KEEP_PER_SHOP = 3
    quiet = ShopFactory(tenant=tenant)  # polled no more: its last runs are all it has
    busy = [make_run(shop, 200 + day) for day in range(6)]  # newest first
    failing = make_run(shop, 300, RunStatus.FAILED, failed=1, failures=1)
    quiet_runs = [make_run(quiet, 500), make_run(quiet, 600, RunStatus.FAILED, failures=1)]

    assert import_runs_prune(now=NOW) == 4

    assert run_ids(shop=shop) == {run.pk for run in busy[:3]}
    assert run_ids(shop=quiet) == {run.pk for run in quiet_runs}
    assert not run_ids(pk=failing.pk)
    assert failure_run_ids() == {quiet_runs[1].pk}


def test_a_queued_or_running_run_is_one_of_the_newest_kept(shop, retention):
    retention.SHOPS_RUNS_KEEP_PER_SHOP = 3
    running = make_run(shop, 0, RunStatus.RUNNING)
    old = [make_run(shop, 20 + day) for day in range(4)]

    assert import_runs_prune(now=NOW) == 2

    assert run_ids() == {running.pk, old[0].pk, old[1].pk}


def test_the_floor_does_not_keep_young_runs_from_their_period_or_old_ones_beyond_it(shop, retention):
    retention.SHOPS_RUNS_KEEP_PER_SHOP = 2
    young = [make_run(shop, day) for day in (1, 2, 3)]  # more than the floor, all within the period
    old = make_run(shop, 20)

    assert import_runs_prune(now=NOW) == 1

    assert run_ids() == {run.pk for run in young}
    assert not run_ids(pk=old.pk)


def test_each_shop_and_tenant_is_pruned_by_its_own_runs_only(tenant, other_tenant, shop, retention):
    retention.SHOPS_RUNS_KEEP_PER_SHOP = 2
    # This tenant's shop has plenty of recent runs; the other tenant's shops only old ones.
    mine_recent = [make_run(shop, day) for day in (1, 2, 3)]
    mine_old = make_run(shop, 30)
    theirs = ShopFactory(tenant=other_tenant, code=shop.code)  # the same code in another tenant
    their_runs = [make_run(theirs, 100 + day) for day in range(3)]
    their_quiet = ShopFactory(tenant=other_tenant)
    their_quiet_run = make_run(their_quiet, 365)

    assert import_runs_prune(now=NOW) == 2

    assert run_ids(tenant=tenant) == {run.pk for run in mine_recent}
    assert not run_ids(pk=mine_old.pk)
    assert run_ids(tenant=other_tenant) == {their_runs[0].pk, their_runs[1].pk, their_quiet_run.pk}


def test_batches_delete_everything_due_one_statement_each(tenant, other_tenant, shop):
    other = ShopFactory(tenant=other_tenant)
    due = [make_run(shop, 100 + day, failures=day % 2) for day in range(5)]
    due += [make_run(other, 100, RunStatus.FAILED, failed=1, failures=2) for _ in range(2)]
    kept = [make_run(shop, 1), make_run(other, 1, failures=1)]

    with CaptureQueriesContext(connection) as queries:
        assert import_runs_prune(now=NOW, batch_size=2) == 7

    assert run_ids() == {run.pk for run in kept}
    assert failure_run_ids() == {kept[1].pk}
    run_deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "shops_importrun"')]
    # 5 due in `shop`: 2 + 2 + 1; 2 due in `other`: 2, then a select that finds none.
    assert len(run_deletes) == 4


def test_a_full_batch_is_one_delete_not_djangos_hundred_at_a_time(shop):
    old = NOW - dt.timedelta(days=20)
    ImportRun.objects.bulk_create(
        [ImportRun(tenant_id=shop.tenant_id, shop=shop, status=RunStatus.OK, created_at=old) for _ in range(300)]
    )

    with CaptureQueriesContext(connection) as queries:
        assert import_runs_prune(now=NOW, batch_size=250) == 300

    assert not ImportRun.objects.exists()
    run_deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "shops_importrun"')]
    assert len(run_deletes) == 2  # 250 + 50; Django's collector would have sent 100 ids a statement


def test_a_csv_upload_stays_when_its_run_is_pruned(shop):
    run = make_run(shop, 20)
    upload = CsvUpload.objects.create(
        tenant_id=shop.tenant_id, shop=shop, filename="orders.csv", encoding="cp932", digest="0" * 64, run=run
    )

    assert import_runs_prune(now=NOW) == 1

    upload.refresh_from_db()
    assert upload.run_id is None
    assert not run_ids()


def test_a_batch_size_below_one_is_refused(shop):
    make_run(shop, 20)
    with pytest.raises(ValueError, match="batch_size"):
        import_runs_prune(now=NOW, batch_size=0)
    assert ImportRun.objects.count() == 1


def test_with_a_delete_signal_listening_the_runs_go_through_django_and_it_is_told(shop):
    due = [make_run(shop, 100, failures=1) for _ in range(3)]
    kept = make_run(shop, 1)
    seen: list[int] = []

    def listener(sender: Any, instance: ImportRun, **kwargs: Any) -> None:
        seen.append(instance.pk)

    pre_delete.connect(listener, sender=ImportRun)
    try:
        assert import_runs_prune(now=NOW, batch_size=2) == 3
    finally:
        pre_delete.disconnect(listener, sender=ImportRun)

    assert sorted(seen) == sorted(run.pk for run in due)
    assert run_ids() == {kept.pk}
    assert ImportFailure.objects.count() == 0


def test_the_shops_page_keeps_its_last_runs_with_the_default_floor(tenant, shop, retention):
    retention.SHOPS_RUNS_KEEP_PER_SHOP = 20
    runs = [make_run(shop, 30 + day) for day in range(25)]

    assert import_runs_prune(now=NOW) == 5

    assert run_ids() == {run.pk for run in runs[:20]}
    (row,) = [row for row in shop_overview(tenant=tenant) if row.shop == shop]  # the tenant has its own desk too
    assert [run.pk for run in row.runs] == [run.pk for run in runs[:5]]


def test_the_task_runs_the_service(shop):
    from shops.tasks import prune_import_runs

    now = timezone.now()
    old = make_run(shop, 15, now=now)
    recent = make_run(shop, 13, now=now)

    assert prune_import_runs() == {"runs": 1, "uploads": 0}

    assert run_ids() == {recent.pk}
    assert not run_ids(pk=old.pk)


def test_beat_prunes_daily_at_half_past_three_tokyo_time_apart_from_the_amazon_erase():
    entry = django_settings.CELERY_BEAT_SCHEDULE["prune-import-runs"]
    assert entry["task"] == "shops.tasks.prune_import_runs"
    assert entry["schedule"] == crontab(hour=3, minute=30)
    assert django_settings.CELERY_TIMEZONE == "Asia/Tokyo"
    assert django_settings.CELERY_BEAT_SCHEDULE["erase-amazon-personal-data"]["schedule"] != entry["schedule"]


SETTINGS_REPORT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from django.conf import settings
print(json.dumps([settings.SHOPS_RUNS_KEEP_DAYS, settings.SHOPS_RUNS_KEEP_FAILED_DAYS,
                  settings.SHOPS_RUNS_KEEP_PER_SHOP]))
"""


@pytest.mark.service
def test_the_periods_come_from_the_environment_with_defaults(tmp_path: Path):
    def read(**env: str) -> list[int]:
        return json.loads(run_python(SETTINGS_REPORT, clean_env(tmp_path / "var", **env)).strip().splitlines()[-1])

    unset = {"SHOPS_RUNS_KEEP_DAYS": "", "SHOPS_RUNS_KEEP_FAILED_DAYS": "", "SHOPS_RUNS_KEEP_PER_SHOP": ""}
    assert read(**unset) == [14, 90, 20]
    chosen = {"SHOPS_RUNS_KEEP_DAYS": "7", "SHOPS_RUNS_KEEP_FAILED_DAYS": "30", "SHOPS_RUNS_KEEP_PER_SHOP": "50"}
    assert read(**chosen) == [7, 30, 50]
