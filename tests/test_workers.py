"""The parallel suite (tests/workers.py): each pytest-xdist worker has a test database and a Redis database of
its own, derived so that a developer's run and CI's do not meet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dj_database_url
import pytest

from tests.workers import CI_REDIS_DB, redis_db_of_worker, redis_url_of_worker

ROOT = Path(__file__).resolve().parent.parent


def test_ci_workers_start_at_its_database_and_go_round():
    assert [redis_db_of_worker(CI_REDIS_DB, index) for index in range(4)] == [15, 0, 1, 2]
    assert sorted(redis_db_of_worker(CI_REDIS_DB, index) for index in range(16)) == list(range(16))


@pytest.mark.parametrize(("base", "first_three"), [(0, [0, 1, 2]), (3, [3, 4, 5]), (13, [13, 14, 0]), (14, [14, 0, 1])])
def test_a_developers_workers_count_up_from_theirs_and_never_take_cis(base, first_three):
    assert [redis_db_of_worker(base, index) for index in range(3)] == first_three
    every = [redis_db_of_worker(base, index) for index in range(15)]
    assert len(set(every)) == 15
    assert CI_REDIS_DB not in every


def test_more_workers_than_databases_is_refused_with_a_reason():
    with pytest.raises(RuntimeError, match="run fewer workers"):
        redis_db_of_worker(3, 15)


def test_the_url_keeps_everything_but_the_database():
    assert redis_url_of_worker("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert redis_url_of_worker("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/0"
    assert (
        redis_url_of_worker("rediss://:secret@cache.example:6380/4", "gw2") == "rediss://:secret@cache.example:6380/6"
    )
    assert redis_url_of_worker("redis://localhost", "gw1") == "redis://localhost/1"
    with pytest.raises(RuntimeError, match="redis://"):
        redis_url_of_worker("unix:///run/redis.sock", "gw1")


REPORT = """
import json, os
from django.conf import settings
from django.db import connection


def test_report(django_db_modify_db_settings):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    with open(os.path.join(os.environ["REPORT_DIR"], worker + ".json"), "w") as out:
        json.dump({
            "redis": settings.REDIS_URL,
            "broker": settings.CELERY_BROKER_URL,
            "cache": settings.CACHES["default"].get("LOCATION"),
            "test_db": (connection.settings_dict.get("TEST") or {}).get("NAME"),
        }, out)
"""


@pytest.mark.service
def test_two_workers_get_their_own_test_database_and_redis_database(tmp_path):
    """A real `pytest -n 2` with this project's configuration: what each worker's settings say."""
    (tmp_path / "test_report.py").write_text(textwrap.dedent(REPORT), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST")}
    env.update(REPORT_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/3")  # read, never connected to
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
        + ["-n", "2", "--dist", "each", "-p", "no:cacheprovider", "-q", str(tmp_path / "test_report.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = {path.stem: json.loads(path.read_text()) for path in tmp_path.glob("gw*.json")}
    assert sorted(reports) == ["gw0", "gw1"]  # the test ran on each worker
    database_url = os.environ.get("DATABASE_URL", "")
    for worker, redis_db in [("gw0", 3), ("gw1", 4)]:
        report = reports[worker]
        url = f"redis://127.0.0.1:6379/{redis_db}"
        assert (report["redis"], report["broker"], report["cache"]) == (url, url, url)
        if database_url:  # PostgreSQL: pytest-django names each worker's test database (SQLite's are in memory)
            assert report["test_db"] == f"test_{dj_database_url.parse(database_url)['NAME']}_{worker}"
