"""Settings come from the environment only: each case loads them in a fresh interpreter with a controlled
environment, so what the test process itself was started with (DATABASE_URL, REDIS_URL in CI) cannot leak."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.service

REPORT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from django.conf import settings
from backyard import celery_app
db = settings.DATABASES["default"]
print(json.dumps({
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST", ""), "PORT": db.get("PORT", ""),
    "USER": db.get("USER", ""), "OPTIONS": db.get("OPTIONS", {}),
    "broker": settings.CELERY_BROKER_URL, "result_backend": settings.CELERY_RESULT_BACKEND,
    "app_broker": celery_app.conf.broker_url, "app_result_backend": celery_app.conf.result_backend,
    "transport_options": celery_app.conf.broker_transport_options,
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": str(settings.CACHES["default"]["LOCATION"]),
    "LANGUAGE_CODE": settings.LANGUAGE_CODE, "TIME_ZONE": settings.TIME_ZONE,
    "celery_timezone": celery_app.conf.timezone, "VAR_DIR": str(settings.VAR_DIR),
}))
"""

JOURNAL_MODE = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "backyard.settings"
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print(cursor.fetchone()[0])
print(connection.settings_dict["NAME"])
"""


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ without anything that chooses services or settings, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "BACKYARD_VAR_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(BACKYARD_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT), **extra)
    return env


def run_python(code: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def load_settings(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(run_python(REPORT, env).strip().splitlines()[-1])


def test_without_services_sqlite_wal_embedded_broker_and_file_cache(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    got = load_settings(clean_env(var_dir))

    assert got["VAR_DIR"] == str(var_dir)
    assert got["ENGINE"] == "django.db.backends.sqlite3"
    assert got["NAME"] == str(var_dir / "backyard.sqlite3")
    assert "PRAGMA journal_mode=WAL" in got["OPTIONS"]["init_command"]
    assert got["broker"] == got["app_broker"] == "filesystem://"
    assert got["transport_options"]["data_folder_in"] == str(var_dir / "broker" / "queue")
    assert got["transport_options"]["data_folder_out"] == str(var_dir / "broker" / "queue")
    assert got["result_backend"] == got["app_result_backend"] == f"file://{var_dir / 'results'}"
    assert got["cache"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert got["cache_location"] == str(var_dir / "cache")
    assert got["LANGUAGE_CODE"] == "ja"
    assert got["TIME_ZONE"] == got["celery_timezone"] == "Asia/Tokyo"
    # The embedded broker's folders exist before any worker starts, in the temporary var/.
    assert (var_dir / "broker" / "queue").is_dir()
    assert (var_dir / "results").is_dir()


def test_with_services_postgresql_redis_broker_and_redis_cache(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = clean_env(var_dir, DATABASE_URL="postgres://root@127.0.0.1:5432/x", REDIS_URL="redis://127.0.0.1:6379/3")
    got = load_settings(env)

    assert got["ENGINE"] == "django.db.backends.postgresql"
    assert (got["NAME"], got["HOST"], got["PORT"], got["USER"]) == ("x", "127.0.0.1", 5432, "root")
    assert got["broker"] == got["app_broker"] == "redis://127.0.0.1:6379/3"
    assert got["result_backend"] == got["app_result_backend"] == "redis://127.0.0.1:6379/3"
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert got["cache_location"] == "redis://127.0.0.1:6379/3"
    assert got["LANGUAGE_CODE"] == "ja"
    assert got["TIME_ZONE"] == "Asia/Tokyo"
    # With both services configured neither the SQLite file nor the embedded broker's folders are made.
    assert not (var_dir / "broker").exists()
    assert not (var_dir / "results").exists()
    assert not (var_dir / "backyard.sqlite3").exists()


def test_only_database_url_keeps_the_embedded_broker(tmp_path: Path) -> None:
    got = load_settings(clean_env(tmp_path / "var", DATABASE_URL="postgres://root@127.0.0.1:5432/x"))
    assert got["ENGINE"] == "django.db.backends.postgresql"
    assert got["broker"] == "filesystem://"
    assert got["cache"] == "django.core.cache.backends.filebased.FileBasedCache"


def test_only_redis_url_keeps_sqlite(tmp_path: Path) -> None:
    got = load_settings(clean_env(tmp_path / "var", REDIS_URL="redis://127.0.0.1:6379/3"))
    assert got["ENGINE"] == "django.db.backends.sqlite3"
    assert got["broker"] == "redis://127.0.0.1:6379/3"
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_sqlite_connection_is_in_wal_mode(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    mode, name = run_python(JOURNAL_MODE, clean_env(var_dir)).split()
    assert mode.lower() == "wal"
    assert name == str(var_dir / "backyard.sqlite3")
    # WAL is a property of the database file: a plain sqlite3 connection sees it too.
    plain = sqlite3.connect(name)
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        plain.close()


# --- keys ------------------------------------------------------------------------------------------------------


def load_error(env: dict[str, str]) -> str:
    """What the settings say when they refuse to load."""
    proc = subprocess.run(
        [sys.executable, "-c", REPORT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode != 0, "the settings loaded"
    return proc.stderr


@pytest.mark.parametrize("debug", ["", "1"])
@pytest.mark.parametrize("missing", ["SECRET_KEY", "BACKYARD_CREDENTIALS_KEY"])
def test_the_settings_refuse_to_load_without_a_key(tmp_path: Path, missing: str, debug: str) -> None:
    """No key printed in the source stands in for a missing one, with DEBUG or without: the site would sign
    sessions, and encrypt the shops' mall credentials, with a key anyone can read."""
    env = clean_env(tmp_path / "var", DEBUG=debug)
    del env[missing]
    assert f"ImproperlyConfigured: {missing} is not set" in load_error(env)
    env[missing] = ""
    assert f"ImproperlyConfigured: {missing} is not set" in load_error(env)


KEYS_REPORT = REPORT.replace(
    "print(json.dumps({",
    "print(json.dumps({'SECRET_KEY': settings.SECRET_KEY, 'CREDENTIALS_KEY': settings.BACKYARD_CREDENTIALS_KEY, ",
)


def test_the_keys_come_from_the_environment_first(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "secret_key").write_text("made-by-make-run\n")
    env = clean_env(var_dir, SECRET_KEY="k" * 60, BACKYARD_CREDENTIALS_KEY="c" * 44)
    got = json.loads(run_python(KEYS_REPORT, env).strip().splitlines()[-1])
    assert (got["SECRET_KEY"], got["CREDENTIALS_KEY"]) == ("k" * 60, "c" * 44)


def test_without_them_the_keys_make_run_made_in_var_are_the_development_default(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "secret_key").write_text("s" * 60 + "\n")
    (var_dir / "credentials_key").write_text("c" * 44 + "\n")
    env = clean_env(var_dir)
    del env["SECRET_KEY"], env["BACKYARD_CREDENTIALS_KEY"]
    got = json.loads(run_python(KEYS_REPORT, env).strip().splitlines()[-1])
    assert (got["SECRET_KEY"], got["CREDENTIALS_KEY"]) == ("s" * 60, "c" * 44)


TLS_REPORT = REPORT.replace(
    "print(json.dumps({",
    "print(json.dumps({'tls': [settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
    "settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "settings.SECURE_PROXY_SSL_HEADER], ",
)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, [False, False, False, 0, False, None]),
        ({"BACKYARD_HTTPS": "1"}, [True, True, True, 31_536_000, True, ["HTTP_X_FORWARDED_PROTO", "https"]]),
        (
            {"BACKYARD_HTTPS": "1", "BACKYARD_HSTS_SECONDS": "300"},
            [True, True, True, 300, True, ["HTTP_X_FORWARDED_PROTO", "https"]],
        ),
    ],
)
def test_behind_tls_cookies_are_secure_http_is_redirected_and_hsts_is_sent(tmp_path: Path, extra, expected) -> None:
    got = json.loads(run_python(TLS_REPORT, clean_env(tmp_path / "var", **extra)).strip().splitlines()[-1])
    assert got["tls"] == expected
