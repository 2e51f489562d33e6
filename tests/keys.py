"""The test suite's own keys, made fresh for each run.

The settings refuse to start without SECRET_KEY and BACKYARD_CREDENTIALS_KEY (backyard/settings.py), and
pytest-django loads them before any conftest.py is read, so this module is a plugin loaded earlier
(`-p tests.keys` in pyproject.toml's addopts). Keys set in the environment are kept. Whatever the suite
starts (a Celery worker, gunicorn, pytest-xdist's workers) inherits the same keys through os.environ.
"""

from __future__ import annotations

import os
import secrets

from cryptography.fernet import Fernet

if not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = f"tests-{secrets.token_urlsafe(48)}"
if not os.environ.get("BACKYARD_CREDENTIALS_KEY"):
    os.environ["BACKYARD_CREDENTIALS_KEY"] = Fernet.generate_key().decode("ascii")
