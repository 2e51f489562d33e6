"""Real Celery processes: a worker on the embedded file-system broker (no server at all), a worker on Redis,
and beat on the embedded broker. Tasks are sent from a separate interpreter configured like the worker, since
this test process may itself have been started with REDIS_URL/DATABASE_URL."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.service

SEND = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from backyard import celery_app
from backyard.tasks import heartbeat
queue = os.environ.get("TEST_QUEUE")
first = heartbeat.apply_async(queue=queue) if queue else heartbeat.delay()
second = celery_app.send_task("backyard.tasks.heartbeat", queue=queue) if queue else celery_app.send_task(
    "backyard.tasks.heartbeat")
results = [first.get(timeout=30), second.get(timeout=30)]
print(json.dumps({"ids": [first.id, second.id], "results": results,
                  "broker": celery_app.conf.broker_url, "backend": celery_app.conf.result_backend}))
"""

READ_HEARTBEAT = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from django.core.cache import cache
print(cache.get("backyard:heartbeat"))
"""

# What a beat that was stopped ten minutes ago left behind: a schedule whose heartbeat is overdue. Written
# with celery's own PersistentScheduler to the file the settings name, so the real beat resumes from it.
SEED_OVERDUE_SCHEDULE = """
import datetime as dt, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from celery.beat import PersistentScheduler
from django.conf import settings
from backyard import celery_app
scheduler = PersistentScheduler(
    app=celery_app, schedule_filename=settings.CELERY_BEAT_SCHEDULE_FILENAME, lazy=False)
entry = scheduler.schedule["heartbeat"]
entry.last_run_at = entry.last_run_at - dt.timedelta(minutes=10)
scheduler.sync()
scheduler.close()
"""


def under_this_interpreter(argv: list[str]) -> list[str]:
    """A Procfile command line (`.venv/bin/celery …`) run by the interpreter these tests run under
    (`sys.executable -m celery …`): the same program and arguments, from whichever environment the suite was
    started in, never a .venv the checkout may not have. tests/test_deploy.py checks the Procfile's own paths."""
    program = Path(argv[0])
    assert program.parent == Path(".venv/bin"), f"the Procfile starts {argv[0]!r}, not a program of .venv/bin"
    if program.name == "python":
        return [sys.executable, *argv[1:]]
    return [sys.executable, "-m", program.name, *argv[1:]]


def procfile_command(name: str) -> list[str]:
    """The Procfile's process `name`, as `make run` starts it, under this interpreter."""
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return under_this_interpreter(shlex.split(command))
    raise AssertionError(f"Procfile has no {name!r} process")


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ without the service URLs (embedded broker, SQLite in `var_dir`), plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "BACKYARD_VAR_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(BACKYARD_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 45) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session (so its pool children can be stopped with it), stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM to the main process, which stops its pool); SIGKILL to the group if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    # Pool children left behind by a crashed parent are in the same process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_for_log(log: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if needle in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode} before {needle!r}:\n{text[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {needle!r} in {log.name} after {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")


def assert_recent_iso(value: str) -> None:
    when = dt.datetime.fromisoformat(value)
    assert abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 120


def test_worker_on_the_embedded_broker_runs_heartbeat(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = clean_env(var_dir)
    log = tmp_path / "worker.log"
    # Exactly the worker `make run` starts (Procfile), on the embedded broker.
    with process(procfile_command("worker"), env, log) as worker:
        wait_for_log(log, "ready.", worker)
        sent = json.loads(run_python(SEND, env).strip().splitlines()[-1])
        assert sent["broker"] == "filesystem://"
        assert sent["backend"] == f"file://{var_dir / 'results'}"
        for task_id in sent["ids"]:
            wait_for_log(log, f"Task backyard.tasks.heartbeat[{task_id}] succeeded", worker)
            # The result came back through the file result backend.
            assert (var_dir / "results" / f"celery-task-meta-{task_id}").is_file()
        for value in sent["results"]:
            assert_recent_iso(value)
        # The task's side effect is visible to another process through the shared file cache.
        assert run_python(READ_HEARTBEAT, env).strip() in sent["results"]
        assert "filesystem://" in log.read_text(encoding="utf-8")


def test_worker_on_redis_runs_heartbeat(tmp_path: Path, require_redis: None) -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")
    # A queue of its own, so that no other worker on the same Redis takes these tasks.
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = clean_env(tmp_path / "var", REDIS_URL=settings.REDIS_URL, TEST_QUEUE=queue)
    log = tmp_path / "worker.log"
    argv = [*procfile_command("worker"), "--queues", queue, "--hostname", f"{queue}@%h"]
    try:
        with process(argv, env, log) as worker:
            wait_for_log(log, "ready.", worker)
            sent = json.loads(run_python(SEND, env).strip().splitlines()[-1])
            assert sent["broker"] == settings.REDIS_URL
            assert sent["backend"] == settings.REDIS_URL
            for task_id in sent["ids"]:
                wait_for_log(log, f"Task backyard.tasks.heartbeat[{task_id}] succeeded", worker)
            for value in sent["results"]:
                assert_recent_iso(value)
            assert "redis://" in log.read_text(encoding="utf-8")
    finally:
        # Leave the shared Redis as it was: kombu's binding of the test queue, and the queue itself.
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        for key in client.scan_iter("_kombu.binding.*"):
            if client.type(key) == b"set":
                for member in client.smembers(key):
                    if queue.encode() in member:
                        client.srem(key, member)
        client.close()


def test_beat_on_the_embedded_broker_sends_heartbeat_to_the_worker(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = clean_env(var_dir)
    run_python(SEED_OVERDUE_SCHEDULE, env)
    assert (var_dir / "celerybeat-schedule").exists() or list(var_dir.glob("celerybeat-schedule*"))
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    # The Procfile's worker and beat; beat ticks every second instead of every five minutes at most.
    with (
        process(procfile_command("worker"), env, worker_log) as worker,
        process([*procfile_command("beat"), "--max-interval", "1"], env, beat_log) as beat,
    ):
        wait_for_log(beat_log, "beat: Starting...", beat)
        wait_for_log(beat_log, "Sending due task heartbeat (backyard.tasks.heartbeat)", beat)
        text = wait_for_log(worker_log, "succeeded", worker)
        assert "Task backyard.tasks.heartbeat[" in text
        value = run_python(READ_HEARTBEAT, env).strip()
        assert_recent_iso(value)
        # Beat recorded the run: the next heartbeat is a minute away again, so no second one is sent at once.
        time.sleep(2)
        assert beat_log.read_text(encoding="utf-8").count("Sending due task heartbeat") == 1
