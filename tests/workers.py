"""What each pytest-xdist worker has of its own (`make test` runs the suite with `-n auto`).

- The database: pytest-django gives each worker its own test database, named with the worker's id
  (`test_backyard_ci_gw0`, `test_backyard_ci_gw1` …); the worker processes a test starts get that name too.
- Redis (broker, results and cache when REDIS_URL is set): each worker gets a database number of its own,
  set here in REDIS_URL before Django's settings read it, so whatever the test process and the Celery
  workers it starts put in Redis stays apart from the other workers'. Worker gwN takes the Nth number after
  REDIS_URL's own (gw0 keeps it), counting round 0-15 and leaving out 15, which CI (`.ci/run`) uses, unless
  the run is CI's: CI's workers use 15, 0, 1 …; a developer's REDIS_URL=redis://…/3 gives 3, 4, 5 ….
- Ports, temporary directories, the live server and the browser: already per process (free ports, pytest's
  tmp_path under each worker's own basetemp, one live server and one Chromium per worker), and screenshots in
  test-artifacts/ are named per test.

Loaded as a plugin (`-p tests.workers` in pyproject.toml's addopts) so that it runs before pytest-django loads
the settings; xdist sets PYTEST_XDIST_WORKER before a worker reads its configuration. Outside xdist (one
process, `-n 0`) it changes nothing.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis' default `databases`
CI_REDIS_DB = 15  # .ci/run's REDIS_URL


def redis_db_of_worker(base: int, index: int) -> int:
    """The Redis database number of worker `index` (gw0 = 0) when REDIS_URL names database `base`."""
    numbers = [(base + step) % REDIS_DATABASES for step in range(REDIS_DATABASES)]
    if base != CI_REDIS_DB:
        numbers.remove(CI_REDIS_DB)
    if index >= len(numbers):
        raise RuntimeError(
            f"pytest-xdist worker gw{index}: Redis has only {len(numbers)} databases for the workers of a run "
            f"based on database {base}; run fewer workers (-n, --maxprocesses)"
        )
    return numbers[index]


def redis_url_of_worker(url: str, worker: str) -> str:
    """`url` with the database of `worker` ("gw3"); a URL without a database number means database 0."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise RuntimeError(f"REDIS_URL {url!r}: the parallel tests give each worker a database of a redis:// URL")
    path = parts.path.strip("/")
    base = int(path) if path else 0
    number = redis_db_of_worker(base, int(worker.removeprefix("gw")))
    return urlunsplit(parts._replace(path=f"/{number}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_of_worker(os.environ["REDIS_URL"], _worker)
