"""Settings, all from the environment.

DATABASE_URL  PostgreSQL (psycopg 3), e.g. postgres://root@127.0.0.1:5432/backyard; unset: SQLite (WAL) in var/
REDIS_URL     Celery broker, result backend and cache, e.g. redis://127.0.0.1:6379/0; unset: an embedded
              file-system broker (no server) that a real worker and beat still use, and a file cache
SECRET_KEY, DEBUG, ALLOWED_HOSTS (comma separated), CSRF_TRUSTED_ORIGINS, BACKYARD_VAR_DIR
BACKYARD_CREDENTIALS_KEY  Fernet key(s) for shop credentials, comma separated, newest first (see shops/crypto.py);
              unset: derived from SECRET_KEY
SHOPS_POLL_QUEUE  the Celery queue for shop polls; unset: the default queue
SHOPS_HEARTBEAT_EVERY, SHOPS_DEAD_AFTER  seconds between a running poll's signs of life (15), and of silence
              after which its worker counts as dead (90; shops.services.polling)
SHOPS_RUNS_KEEP_DAYS, SHOPS_RUNS_KEEP_FAILED_DAYS, SHOPS_RUNS_KEEP_PER_SHOP  how long import runs are kept
              (clean ones 14 days, those with failures 90, the newest 20 of each shop always; shops.services.runs)
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BACKYARD_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    # A development key only: production must set SECRET_KEY (checked by `manage.py check --deploy`).
    "django-insecure-backyard-development-key-change-me"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "backyard.apps.BackyardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "adminsortable2",
    "backyard",
    "shops",
    "shipping",
    "orders",
    "automation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backyard.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "backyard.urls"
WSGI_APPLICATION = "backyard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "backyard.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "backyard.sqlite3",
            "OPTIONS": {
                # WAL lets the web server, the worker and beat read while one of them writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker, results and cache ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Redis gives a message that a worker took and never acknowledged (tasks ack late) to another worker after
    # this many seconds. Shorter than the longest a task may run (CELERY_TASK_TIME_LIMIT, 30 min) or wait for
    # its countdown (a poll's retry: at most 30 min), it would hand out tasks that are still running or waiting;
    # so 35 min. A killed worker's work does not wait for it: its heartbeat stops, and within
    # SHOPS_DEAD_AFTER and a minute beat marks its poll interrupted or restarts its CSV import. The message
    # that comes back later finds its run finished or taken and does nothing.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 35 * 60}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The embedded default: kombu's file-system transport. No server runs; the web process, the worker
    # and beat exchange messages through files under var/broker, so a real worker still consumes them.
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "results").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'results'}"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_TIMEZONE = "Asia/Tokyo"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "heartbeat": {"task": "backyard.tasks.heartbeat", "schedule": 60.0},
    # Every minute: one shops.tasks.poll_shop per active shop whose poll is due (each shop's own interval).
    "poll-due-shops": {"task": "shops.tasks.poll_due_shops", "schedule": 60.0},
    # Daily: Amazon buyers' personal data 30 days after shipment (T2, shops.retention).
    "erase-amazon-personal-data": {"task": "shops.tasks.erase_amazon_personal_data", "schedule": 86_400.0},
    # Daily at 03:30 (CELERY_TIMEZONE, Tokyo), when nobody works the orders: old import runs (shops.services.runs).
    "prune-import-runs": {"task": "shops.tasks.prune_import_runs", "schedule": crontab(hour=3, minute=30)},
}
# A running poll or CSV import shows it is alive every SHOPS_HEARTBEAT_EVERY seconds (each page, and from a
# timer while one page takes long); one silent for SHOPS_DEAD_AFTER seconds belongs to a worker that died:
# its shop can be polled again, and beat (every minute) marks the poll interrupted or restarts the import.
SHOPS_HEARTBEAT_EVERY = float(os.environ.get("SHOPS_HEARTBEAT_EVERY") or 15)
SHOPS_DEAD_AFTER = float(os.environ.get("SHOPS_DEAD_AFTER") or 90)
# The queue the shop polls go to (slow mall I/O can get workers of its own); empty: Celery's default queue.
SHOPS_POLL_QUEUE = os.environ.get("SHOPS_POLL_QUEUE", "")
# How long import runs (one per poll, ~300 a day a shop) are kept before the daily prune deletes them: clean
# finished runs for SHOPS_RUNS_KEEP_DAYS; runs that recorded failures (whose raw payloads an operator may still
# need) for SHOPS_RUNS_KEEP_FAILED_DAYS; the newest SHOPS_RUNS_KEEP_PER_SHOP runs of each shop whatever their age.
SHOPS_RUNS_KEEP_DAYS = int(os.environ.get("SHOPS_RUNS_KEEP_DAYS") or 14)
SHOPS_RUNS_KEEP_FAILED_DAYS = int(os.environ.get("SHOPS_RUNS_KEEP_FAILED_DAYS") or 90)
SHOPS_RUNS_KEEP_PER_SHOP = int(os.environ.get("SHOPS_RUNS_KEEP_PER_SHOP") or 20)

# The order list counts a search's hits up to this many (per status, for the status tree); past it, it says
# "1,000+" and pages through the newest first without counting them all.
ORDER_SEARCH_HIT_CAP = int(os.environ.get("ORDER_SEARCH_HIT_CAP") or 1000)

# --- Auth and sessions -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Internationalisation -----------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
