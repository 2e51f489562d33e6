"""The smoke test: the real web server, started with exactly the Procfile's `web:` command line, on a fresh
SQLite database; an operator logs in through the real login form and sees the tenant's status tree."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.test_celery_embedded import under_this_interpreter

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.service

TENANT_NAME = "株式会社スモーク商店"
USERNAME = "smoke_operator"
PASSWORD = "smoke-Backyard-2026"

CREATE_TENANT_AND_OPERATOR = f"""
from backyard.models import Role
from backyard.provisioning import tenant_create
from backyard.services import user_create_with_membership
tenant = tenant_create(name={TENANT_NAME!r}, slug="smoke")
user_create_with_membership(tenant=tenant, username={USERNAME!r}, password={PASSWORD!r}, role=Role.OPERATOR)
print("created", tenant.pk)
"""


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise AssertionError("Procfile has no web process")


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ without service URLs or settings overrides: SQLite and the embedded broker in `var_dir`."""
    drop = {
        "DATABASE_URL",
        "REDIS_URL",
        "BACKYARD_VAR_DIR",
        "DJANGO_SETTINGS_MODULE",
        "DEBUG",
        "ALLOWED_HOSTS",
    }
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env.update(BACKYARD_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def wait_until_healthy(base: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200 and b'"ok": true' in response.read():
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"/healthz did not answer in {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop: the arbiter stops its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # any worker left behind is in the server's process group


def test_operator_logs_in_to_the_real_server_and_sees_the_status_tree(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    port = free_port()
    # gunicorn's control socket goes to $XDG_RUNTIME_DIR: keep it away from a developer's running server.
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir()
    env = clean_env(var_dir, BACKYARD_PORT=str(port), XDG_RUNTIME_DIR=str(runtime_dir))

    manage(env, "migrate", "--noinput")
    assert "created" in manage(env, "shell", "-c", CREATE_TENANT_AND_OPERATOR)
    assert (var_dir / "backyard.sqlite3").is_file()

    command = procfile_web()
    assert "${BACKYARD_PORT" in command, "the Procfile's web port must come from BACKYARD_PORT"
    # The Procfile's program (.venv/bin/gunicorn), run by the interpreter these tests run under.
    program, _, arguments = command.partition(" ")
    command = shlex.join(under_this_interpreter([program])) + " " + arguments
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        # Through a shell, as honcho runs it, so ${BACKYARD_PORT:-8000} is expanded the same way.
        server = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server, log)

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        # Anonymous: the home page sends to the login form.
        with opener.open(f"{base}/", timeout=10) as response:
            assert urllib.parse.urlsplit(response.url).path == "/accounts/login/"

        login_url = f"{base}/accounts/login/"
        with opener.open(login_url, timeout=10) as response:
            form = response.read().decode("utf-8")
        csrf_cookie = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert match, "the login form has no CSRF token"
        body = urllib.parse.urlencode(
            {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1), "next": ""}
        ).encode()
        request = urllib.request.Request(
            login_url,
            data=body,
            headers={"Referer": login_url, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert csrf_cookie
        with opener.open(request, timeout=10) as response:  # follows the redirect to the home page
            assert response.status == 200
            assert urllib.parse.urlsplit(response.url).path == "/orders/"
            page = response.read().decode("utf-8")

        assert "sessionid" in {cookie.name for cookie in jar}
        assert TENANT_NAME in page
        for status_name in ("新規", "新規受付", "要確認", "入金待ち", "出荷済", "キャンセル"):
            assert status_name in page, f"{status_name} is not on the home page"
        assert 'lang="ja"' in page

        # Every stylesheet and script the page links to is served by the same process (WhiteNoise).
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        assert assets
        for asset in assets:
            with opener.open(f"{base}{asset}", timeout=10) as response:
                assert response.status == 200, asset
                assert response.read(), asset

        # A wrong password stays on the form (a fresh, anonymous client).
        anonymous = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with anonymous.open(login_url, timeout=10) as response:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode("utf-8"))
        assert token
        wrong = urllib.parse.urlencode(
            {"username": USERNAME, "password": "wrong", "csrfmiddlewaretoken": token.group(1)}
        ).encode()
        with anonymous.open(urllib.request.Request(login_url, data=wrong, headers={"Referer": login_url})) as response:
            assert response.status == 200
            assert urllib.parse.urlsplit(response.url).path == "/accounts/login/"
            assert TENANT_NAME not in response.read().decode("utf-8")
    finally:
        stop(server)
    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert f"Listening at: http://127.0.0.1:{port}" in server_log  # the port came from BACKYARD_PORT
    assert '"POST /accounts/login/ HTTP/1.1" 302' in server_log  # --access-logfile - as in the Procfile
