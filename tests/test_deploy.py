"""The deployment files name things that exist: every command in docker-compose.yml, the Dockerfile and the
Procfile is parsed with the real program's own argument parser (gunicorn, celery, manage.py) and the module,
app or management command it names is imported; every variable the compose file sets is one the settings
read. Each checker returns a list of problems, and the last tests prove a one-character typo is caught."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import dj_database_url
import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "backyard" / "settings.py").read_text(encoding="utf-8")

# What every service built from this repository must be given (see backyard/settings.py).
REQUIRED_APP_ENV = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BACKYARD_CREDENTIALS_KEY", "ALLOWED_HOSTS")
# Keys: taken from the operator's environment, with no default a reader of this repository knows. Compose's
# ${NAME:?message} (or ${NAME?message}, or plain ${NAME}) stops `docker compose up` when NAME is unset.
SECRET_ENV = ("SECRET_KEY", "BACKYARD_CREDENTIALS_KEY")
# Read by Django itself rather than by the settings module.
NOT_SETTINGS_ENV = {"DJANGO_SETTINGS_MODULE"}
# The shared libraries WeasyPrint 70 dlopens (weasyprint/text/ffi.py) and the Debian package of each; and the
# fonts and tools the design asks for.
DEBIAN_RUNTIME_PACKAGES = (
    "libglib2.0-0",  # libgobject-2.0.so.0
    "libpango-1.0-0",  # libpango-1.0.so.0
    "libpangoft2-1.0-0",  # libpangoft2-1.0.so.0
    "libharfbuzz0b",  # libharfbuzz.so.0
    "libharfbuzz-subset0",  # libharfbuzz-subset.so.0
    "libfontconfig1",  # libfontconfig.so.1
    "fonts-ipaexfont",
    "fonts-noto-cjk",
    "gettext",
)
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env"}


# --- helpers ------------------------------------------------------------------------------------------------


def settings_reads(name: str) -> bool:
    """Whether backyard/settings.py reads environment variable `name` (directly or via env_bool/env_list)."""
    quoted = rf"""["']{re.escape(name)}["']"""
    pattern = rf"(?:os\.environ\.get|os\.getenv|env_bool|env_list)\(\s*{quoted}|os\.environ\[\s*{quoted}\s*\]"
    return re.search(pattern, SETTINGS_SOURCE) is not None


_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?[-?](?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))")


def expand(value: str, env: dict[str, str] | None = None) -> str:
    """Shell/compose style ${NAME}, ${NAME:-default}, $NAME; unset names take their default (or "")."""
    env = env or {}

    def sub(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        return env.get(name) or (match.group("default") or "")

    return _VAR.sub(sub, value)


def simple_commands(command: str | list[str]) -> list[list[str]]:
    """The simple commands a service runs: `sh -c "a && exec b"` is [a, b]."""
    argv = list(command) if isinstance(command, list) else shlex.split(command)
    if argv and argv[0] in SHELLS and "-c" in argv:
        script = argv[argv.index("-c") + 1]
        lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        result: list[list[str]] = [[]]
        for token in lexer:
            if token in {"&&", "||", ";", "|", "&"}:
                result.append([])
            else:
                result[-1].append(token)
        return [cmd for cmd in result if cmd]
    return [argv]


def _strip_prefix(argv: list[str]) -> list[str]:
    argv = list(argv)
    while argv and (argv[0] == "exec" or re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0])):
        argv.pop(0)
    return argv


def check_gunicorn(args: list[str], *, public: bool) -> list[str]:
    from gunicorn.config import Config

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            ns = Config().parser().parse_args(args)
    except SystemExit:
        return [f"gunicorn rejects {args}: {stderr.getvalue().strip().splitlines()[-1:]}"]
    if len(ns.args) != 1:
        return [f"gunicorn needs exactly one app, got {ns.args}"]
    module, _, attr = ns.args[0].partition(":")
    try:
        app = getattr(importlib.import_module(module), attr or "application")
    except (ImportError, AttributeError) as exc:
        return [f"gunicorn app {ns.args[0]!r} does not import: {exc}"]
    problems = [] if callable(app) else [f"gunicorn app {ns.args[0]!r} is not callable"]
    if public and not any(bind.startswith("0.0.0.0:") for bind in ns.bind or []):
        problems.append(f"gunicorn in a container must bind 0.0.0.0, got {ns.bind}")
    return problems


def check_celery(args: list[str]) -> list[str]:
    from celery import Celery
    from celery.app.utils import find_app
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery

    try:
        ctx = celery.make_context("celery", list(args))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        if not ctx.params.get("app"):
            return [f"celery {args}: no -A/--app"]
        app = find_app(ctx.params["app"])
        if not isinstance(app, Celery):
            return [f"celery -A {ctx.params['app']} finds {app!r}, not a Celery app"]
        ctx.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        if not rest:
            return [f"celery {args}: no subcommand"]
        sub = celery.get_command(ctx, rest[0])
        if sub is None:
            return [f"celery has no subcommand {rest[0]!r}"]
        sub.make_context(rest[0], rest[1:], parent=ctx)
    except click.ClickException as exc:
        return [f"celery rejects {args}: {exc.format_message()}"]
    except (ImportError, AttributeError) as exc:
        return [f"celery app in {args} does not import: {exc!r}"]
    return []


def check_python(args: list[str]) -> list[str]:
    from django.core.management import CommandError, get_commands, load_command_class

    if args[:1] == ["-m"] and len(args) > 1:
        try:
            importlib.import_module(args[1])
        except ImportError as exc:
            return [f"python -m {args[1]}: {exc}"]
        return []
    if not args or args[0] != "manage.py":
        return [f"python {args}: expected manage.py or -m"]
    if not (ROOT / "manage.py").is_file():
        return ["manage.py does not exist"]
    if len(args) < 2:
        return ["manage.py without a command"]
    name, rest = args[1], args[2:]
    commands = get_commands()
    if name not in commands:
        return [f"manage.py has no command {name!r}"]
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(rest)
    except (CommandError, SystemExit) as exc:
        return [f"manage.py {name} rejects {rest}: {exc} {stderr.getvalue().strip()}"]
    return []


def check_argv(argv: list[str], *, public: bool = False, local_executable: bool = False) -> list[str]:
    """Problems with one simple command; `local_executable`: the program is a path in this checkout."""
    argv = _strip_prefix(argv)
    if not argv:
        return ["empty command"]
    program, args = argv[0], argv[1:]
    if local_executable:
        path = ROOT / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            return [f"{program} is not an executable in this checkout"]
    name = Path(program).name
    if name == "gunicorn":
        return check_gunicorn(args, public=public)
    if name == "celery":
        return check_celery(args)
    if re.fullmatch(r"python(3(\.\d+)?)?", name):
        return check_python(args)
    return [f"unknown program {program!r}"]


# --- the three files ----------------------------------------------------------------------------------------


def service_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def compose_problems(text: str) -> list[str]:
    compose = yaml.safe_load(text)
    services: dict[str, dict[str, Any]] = compose.get("services") or {}
    problems: list[str] = []
    for required in ("postgres", "redis", "web", "worker", "beat"):
        if required not in services:
            problems.append(f"no service {required!r}")
    app_services = {name: svc for name, svc in services.items() if "build" in svc}
    for required in ("web", "worker", "beat"):
        if required in services and required not in app_services:
            problems.append(f"service {required!r} is not built from this repository")

    for name, svc in services.items():
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, spec in depends.items():
            if dep not in services:
                problems.append(f"{name} depends on unknown service {dep!r}")
            elif (spec or {}).get("condition") == "service_healthy" and not (
                (services[dep].get("healthcheck") or {}).get("test")
            ):
                problems.append(f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck")

    for name, svc in app_services.items():
        where = f"service {name}"
        if "command" in svc:
            for argv in simple_commands(svc["command"]):
                problems += [f"{where}: {p}" for p in check_argv(argv, public=True)]
        env = service_env(svc)
        for var in REQUIRED_APP_ENV:
            if not env.get(var):
                problems.append(f"{where}: {var} is not set")
        for var in SECRET_ENV:
            if var in env and not re.fullmatch(rf"\$\{{{var}(?::?\?[^}}]*)?\}}", env[var]):
                problems.append(f"{where}: {var} must come from the environment with no default: {env[var]!r}")
        for var, value in env.items():
            if var == "DJANGO_SETTINGS_MODULE":
                try:
                    importlib.import_module(expand(value))
                except ImportError as exc:
                    problems.append(f"{where}: DJANGO_SETTINGS_MODULE={value}: {exc}")
            elif var not in NOT_SETTINGS_ENV and not settings_reads(var):
                problems.append(f"{where}: sets {var}, which backyard/settings.py never reads")
        depends = svc.get("depends_on") or {}
        if env.get("DATABASE_URL"):
            db = dj_database_url.parse(expand(env["DATABASE_URL"]))
            host = db.get("HOST")
            if db["ENGINE"] != "django.db.backends.postgresql":
                problems.append(f"{where}: DATABASE_URL is not PostgreSQL: {db['ENGINE']}")
            elif host not in services:
                problems.append(f"{where}: DATABASE_URL names host {host!r}, which is no service")
            else:
                pg_env = service_env(services[host])
                expected = {"NAME": "POSTGRES_DB", "USER": "POSTGRES_USER", "PASSWORD": "POSTGRES_PASSWORD"}
                for key, pg_var in expected.items():
                    if pg_var in pg_env and str(db.get(key)) != expand(pg_env[pg_var]):
                        problems.append(f"{where}: DATABASE_URL {key} {db.get(key)!r} != {pg_var} of {host}")
                if host not in depends:
                    problems.append(f"{where}: does not depend on its database {host!r}")
        if env.get("REDIS_URL"):
            url = urlsplit(expand(env["REDIS_URL"]))
            if url.scheme not in {"redis", "rediss"}:
                problems.append(f"{where}: REDIS_URL is not a redis:// URL")
            elif url.hostname not in services:
                problems.append(f"{where}: REDIS_URL names host {url.hostname!r}, which is no service")
            elif url.hostname not in depends:
                problems.append(f"{where}: does not depend on its Redis {url.hostname!r}")
    return problems


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def dockerfile_problems(text: str) -> list[str]:
    instructions = dockerfile_instructions(text)
    problems: list[str] = []
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    if not froms or not froms[-1].split()[0].startswith("python:3.11-slim-bookworm"):
        problems.append(f"the final stage is not python:3.11-slim-bookworm: {froms[-1:]}")
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    apt_install = " ".join(re.findall(r"apt-get install ([^&;]*)", runs))
    for package in DEBIAN_RUNTIME_PACKAGES:
        if package not in apt_install.split():
            problems.append(f"apt-get install lacks {package}")
    if not re.search(r"pip install (?:\S+ )*-c requirements\.lock (?:\S+ )*\.(?:\s|$)", runs):
        problems.append("no `pip install -c requirements.lock .`")
    if not (ROOT / "requirements.lock").is_file():
        problems.append("requirements.lock does not exist")
    if "manage.py collectstatic --noinput" not in runs:
        problems.append("static files are not collected at build time")
    for keyword, args in instructions:
        if keyword == "COPY" and "--from" not in args:
            for source in shlex.split(args)[:-1]:
                if not source.startswith("--") and not (ROOT / source).exists():
                    problems.append(f"COPY {source}: no such file in the build context")
    users = [args for keyword, args in instructions if keyword == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        problems.append("the image runs as root")
    cmds = [args for keyword, args in instructions if keyword == "CMD"]
    if not cmds:
        return [*problems, "no CMD"]
    try:
        cmd = json.loads(cmds[-1])
    except ValueError:
        return [*problems, f"CMD is not in exec (JSON) form: {cmds[-1]}"]
    problems += [f"CMD: {p}" for p in check_argv(cmd, public=True)]
    if "ENTRYPOINT" in {keyword for keyword, _ in instructions}:
        problems.append("an ENTRYPOINT would change what compose's commands mean")
    return problems


def procfile_entries(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, command = line.partition(":")
            assert sep, f"not a Procfile line: {line!r}"
            entries[name.strip()] = command.strip()
    return entries


def procfile_problems(text: str) -> list[str]:
    entries = procfile_entries(text)
    problems = [f"Procfile has no {name!r} process" for name in ("web", "worker", "beat") if name not in entries]
    for name, command in entries.items():
        argv = shlex.split(expand(command, {"BACKYARD_PORT": "8000"}))
        problems += [f"Procfile {name}: {p}" for p in check_argv(argv, local_executable=True)]
    return problems


# --- the tests ----------------------------------------------------------------------------------------------

COMPOSE = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PROCFILE = (ROOT / "Procfile").read_text(encoding="utf-8")


def test_compose_commands_and_environment_exist() -> None:
    assert compose_problems(COMPOSE) == []


def test_compose_runs_what_the_design_says() -> None:
    services = yaml.safe_load(COMPOSE)["services"]
    web = [" ".join(argv) for argv in simple_commands(services["web"]["command"])]
    assert web[0] == "python manage.py migrate --noinput"
    assert web[-1].startswith("exec gunicorn backyard.wsgi --bind 0.0.0.0:8000")
    assert services["worker"]["command"].startswith("celery -A backyard worker")
    assert services["beat"]["command"].startswith("celery -A backyard beat")
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in services["postgres"]["volumes"])
    for name in ("web", "worker", "beat"):
        env = service_env(services[name])
        assert env["DATABASE_URL"] == "postgres://backyard:backyard@postgres:5432/backyard"
        assert env["REDIS_URL"] == "redis://redis:6379/0"


def test_dockerfile_builds_what_runs() -> None:
    assert dockerfile_problems(DOCKERFILE) == []


def test_procfile_names_existing_executables_and_modules() -> None:
    assert procfile_problems(PROCFILE) == []


def test_celery_app_is_the_package_app_and_knows_the_beat_tasks() -> None:
    from celery.app.utils import find_app

    import backyard

    app = find_app("backyard")
    assert app is backyard.celery_app
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names an unregistered task"


def test_settings_reads_is_strict() -> None:
    assert settings_reads("DATABASE_URL")
    assert settings_reads("ALLOWED_HOSTS")  # through env_list
    assert settings_reads("DEBUG")  # through env_bool
    assert not settings_reads("DATABASE")
    assert not settings_reads("ALLOWED_HOST")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("backyard.wsgi", "backyard.wsgj"),
        ("--bind 0.0.0.0:8000", "--bnd 0.0.0.0:8000"),
        ("--bind 0.0.0.0:8000", "--bind 127.0.0.1:8000"),
        ("-A backyard worker", "-A backyards worker"),
        ("-A backyard beat", "-A backyard beet"),
        ("worker --loglevel INFO", "worker --loglevel LOUD"),
        ("--schedule /tmp", "--shedule /tmp"),
        ("manage.py migrate", "manage.py migrat"),
        ("manage.py migrate --noinput", "manage.py migrate --no-input-please"),
        ("    DATABASE_URL:", "    DATABASE_ULR:"),
        ("    ALLOWED_HOSTS:", "    ALLOWED_HOST:"),
        ("@postgres:5432", "@postgress:5432"),
        ("backyard:backyard@", "backyard:secret@"),
        ("redis://redis:", "redis://cache:"),
        ("${SECRET_KEY:?", "${SECRET_KEY:-public-key"),
        ("${BACKYARD_CREDENTIALS_KEY:?", "${BACKYARD_CREDENTIALS_KEY:-"),
        ("    BACKYARD_CREDENTIALS_KEY:", "    BACKYARD_CREDENTIAL_KEY:"),
        ('      test: ["CMD", "redis-cli", "ping"]\n', ""),
        ("  beat:\n", "  beats:\n"),
    ],
)
def test_a_typo_in_compose_is_caught(old: str, new: str) -> None:
    assert old in COMPOSE
    assert compose_problems(COMPOSE.replace(old, new, 1)) != []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"backyard.wsgi"', '"backyard.wsgii"'),
        ('"0.0.0.0:8000"', '"127.0.0.1:8000"'),
        ("fonts-noto-cjk", "fonts-noto"),
        ("libharfbuzz-subset0", "libharfbuzz-subset"),
        ("-c requirements.lock .", "-r requirements.lock"),
        ("USER backyard:backyard", "USER root"),
        ("python:3.11-slim-bookworm\n", "python:3.12-slim\n"),
    ],
)
def test_a_typo_in_the_dockerfile_is_caught(old: str, new: str) -> None:
    assert old in DOCKERFILE
    mutated = DOCKERFILE[::-1].replace(old[::-1], new[::-1], 1)[::-1]  # the last occurrence
    assert dockerfile_problems(mutated) != []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (".venv/bin/gunicorn", ".venv/bin/gunicorm"),
        ("backyard.wsgi", "backyard.wsgi:app"),
        ("-A backyard worker", "-A backyard wroker"),
        ("--concurrency 2", "--concurrency two"),
        ("beat:", "beet:"),
    ],
)
def test_a_typo_in_the_procfile_is_caught(old: str, new: str) -> None:
    assert old in PROCFILE
    assert procfile_problems(PROCFILE.replace(old, new, 1)) != []


# --- `manage.py check --deploy` with the production settings ---------------------------------------------------


def check_deploy(**overrides: str) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy`, failing on warnings too, in a fresh interpreter with the environment compose
    gives the web service (tests/test_deploy.py checks that file above), real-looking keys and `overrides`."""
    web = yaml.safe_load(COMPOSE)["services"]["web"]
    env = {
        key: value
        for key, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests' (tests/browser/conftest.py), never a server's.
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
        and not key.startswith(("BACKYARD_", "SECURE_", "SESSION_"))
    }
    keys = {"SECRET_KEY": secrets.token_urlsafe(50), "BACKYARD_CREDENTIALS_KEY": Fernet.generate_key().decode()}
    operator = {**keys, "ALLOWED_HOSTS": "backyard.example.jp", "BACKYARD_HTTPS": "1"}
    env.update({key: expand(value, operator) for key, value in service_env(web).items()})
    env.update(PYTHONPATH=str(ROOT), **overrides)
    env = {key: value for key, value in env.items() if value != ""}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_settings() -> None:
    proc = check_deploy()
    assert proc.returncode == 0, proc.stderr
    assert "System check identified no issues" in proc.stdout


@pytest.mark.parametrize(
    ("overrides", "warnings"),
    [
        ({"BACKYARD_HTTPS": ""}, ["security.W004", "security.W008", "security.W012", "security.W016"]),
        ({"DEBUG": "1"}, ["security.W018"]),
        ({"SECRET_KEY": "django-insecure-" + "x" * 50}, ["security.W009"]),
    ],
)
def test_check_deploy_catches_what_production_must_not_run_with(overrides, warnings) -> None:
    proc = check_deploy(**overrides)
    assert proc.returncode != 0
    for warning in warnings:
        assert warning in proc.stderr
