"""Settings, all from the environment.

DATABASE_URL  PostgreSQL (psycopg 3), e.g. postgres://root@127.0.0.1:5432/backyard; unset: SQLite (WAL) in var/
REDIS_URL     Celery broker, result backend and cache, e.g. redis://127.0.0.1:6379/0; unset: an embedded
              file-system broker (no server) that a real worker and beat still use, and a file cache
EMAIL_URL     the project's SMTP route for mail when neither the shop nor the tenant has one:
              smtp://user:pass@host:port (STARTTLS with ?tls=1), smtps://… for SSL; unset: no project route
SECRET_KEY    required; unset: the development key `make run` made once into var/secret_key, else the settings
              refuse to load. There is no key in the source (the tests make their own: tests/keys.py)
DEBUG, ALLOWED_HOSTS (comma separated), CSRF_TRUSTED_ORIGINS, BACKYARD_VAR_DIR
BACKYARD_CREDENTIALS_KEY  required: Fernet key(s) for shop credentials, comma separated, newest first (see
              shops/crypto.py); never derived from SECRET_KEY; unset: var/credentials_key as for SECRET_KEY
BACKYARD_HTTPS  1: served over HTTPS behind a proxy that sets X-Forwarded-Proto and X-Forwarded-For: HSTS,
              secure cookies, redirect to https (BACKYARD_HSTS_SECONDS, default a year)
BACKYARD_LOGIN_FAILURE_LIMIT, BACKYARD_LOGIN_COOLOFF_MINUTES  failed logins of one login name from one address
              before it is locked (5), and for how long (15 minutes; django-axes)
SHOPS_POLL_QUEUE  the Celery queue for shop polls; unset: the default queue
SHOPS_HEARTBEAT_EVERY, SHOPS_DEAD_AFTER  seconds between a running poll's signs of life (15), and of silence
              after which its worker counts as dead (90; shops.services.polling)
SHOPS_RUNS_KEEP_DAYS, SHOPS_RUNS_KEEP_FAILED_DAYS, SHOPS_RUNS_KEEP_PER_SHOP  how long import runs are kept
              (clean ones 14 days, those with failures 90, the newest 20 of each shop always; shops.services.runs)
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
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


def development_key(filename: str) -> str:
    """The key `make run` made once for this checkout into var/ (Makefile), or "" when it made none."""
    path = VAR_DIR / filename
    return path.read_text(encoding="ascii").strip() if path.is_file() else ""


# No key in the source, not even for development: a key anyone can read signs anyone's session. The environment
# gives the keys; else the ones `make run` made into var/ for this checkout; else the settings refuse to load.
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or development_key("secret_key")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it to a long random value, e.g. the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))' (make run makes one into var/)."
    )
# The shops' mall credentials are encrypted with a key of their own (shops/crypto.py), never one derived from
# SECRET_KEY: a database dump plus SECRET_KEY must not open them.
BACKYARD_CREDENTIALS_KEY = os.environ.get("BACKYARD_CREDENTIALS_KEY", "").strip() or development_key("credentials_key")
if not BACKYARD_CREDENTIALS_KEY:
    raise ImproperlyConfigured(
        "BACKYARD_CREDENTIALS_KEY is not set. Set it to a Fernet key, e.g. the output of "
        "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
        "(make run makes one into var/); the shops' mall credentials are encrypted with it."
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
    "backyard.apps.LoginThrottleConfig",  # django-axes
    "csp",
    "backyard",
    "shops",
    "shipping",
    "orders",
    "automation",
    "mailer",
    "inventory",
    "documents",
]
# Development tools (the demo merchant's seed_demo, the fake malls): where they and their dependencies are
# installed (make run, tests); a production install carries neither (pyproject's packages, the Dockerfile).
if importlib.util.find_spec("devtools") is not None and importlib.util.find_spec("faker") is not None:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backyard.middleware.NoStoreMiddleware",
    "backyard.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into the lockout page
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
                "mailer.context_processors.mail_problems",
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
            "NAME": str(VAR_DIR / "backyard.sqlite3"),
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
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 35 * 60}
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
SHOPS_POLL_TICK = 60.0  # seconds between beat's looks for due shops: the finest poll interval (1 minute)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "heartbeat": {"task": "backyard.tasks.heartbeat", "schedule": 60.0},
    # Every SHOPS_POLL_TICK: one shops.tasks.poll_shop per active shop whose poll is due at this tick (each
    # shop's own interval, from one poll's start to the next; shops.services.polling.poll_tick).
    "poll-due-shops": {"task": "shops.tasks.poll_due_shops", "schedule": SHOPS_POLL_TICK},
    # Shipment reports to the malls that no worker carried out (a lost task, a dead worker): sent again.
    "send-left-behind-reports": {"task": "shops.tasks.send_left_behind_reports", "schedule": 300.0},
    # Daily: Amazon buyers' personal data 30 days after shipment (T2, shops.retention).
    "erase-amazon-personal-data": {"task": "shops.tasks.erase_amazon_personal_data", "schedule": 86_400.0},
    # Daily at 03:30 (CELERY_TIMEZONE, Tokyo), when nobody works the orders: old import runs (shops.services.runs).
    "prune-import-runs": {"task": "shops.tasks.prune_import_runs", "schedule": crontab(hour=3, minute=30)},
    # Every 2 minutes: mails a dead worker left "sending" become "unknown", lost queued ones go again (mailer).
    "sweep-mail": {"task": "mailer.tasks.sweep_mail", "schedule": 120.0},
    # Daily at 03:45: bodies of old mails erased (personal data; each tenant's body_keep_days).
    "erase-old-mail-bodies": {"task": "mailer.tasks.erase_old_mail_bodies", "schedule": crontab(hour=3, minute=45)},
    # Daily at 09:00, as the shops open: the automatic reminder rules of every tenant (mailer, T5).
    "send-reminders": {"task": "mailer.tasks.send_reminders", "schedule": crontab(hour=9, minute=0)},
    # Printed forms' PDFs hold customers' names and addresses: kept DOCUMENTS_JOBS_KEEP_DAYS, then deleted.
    "prune-print-jobs": {"task": "documents.tasks.prune_print_jobs", "schedule": crontab(hour=3, minute=50)},
    # Every minute: outside warehouses' answers read (API polled, CSV inbox read), unsent requests sent again.
    "poll-warehouses": {"task": "shipping.tasks.poll_warehouses", "schedule": 60.0},
}
# CSV-drop warehouses (issue 16 item 5): the folders a store names lie under this one (a 3PL's SFTP mounted or
# synced there); nothing outside it is read or written.
WAREHOUSE_DROP_ROOT = Path(os.environ.get("WAREHOUSE_DROP_ROOT") or VAR_DIR / "warehouse")
# A warehouse's API address is typed by a tenant's admin: it may not lead inside our network (as SMTP routes may
# not), unless this is on (development, `make run`'s demo warehouse on 127.0.0.1, and the tests).
WAREHOUSE_ALLOW_PRIVATE_URLS = env_bool("WAREHOUSE_ALLOW_PRIVATE_URLS", default=DEBUG)
# Mail goes through a queue of its own (a slow SMTP server must not hold up polls and auto-processing); the
# worker of `make run` and the Procfile consume it beside the default queue.
MAILER_QUEUE = os.environ.get("MAILER_QUEUE", "mail").strip() or "mail"
CELERY_TASK_ROUTES = {"mailer.tasks.deliver_mails": {"queue": MAILER_QUEUE}}
# Tenants' own SMTP routes may not lead to private or local addresses (mailer.routes); development and the
# tests, whose SMTP servers listen on 127.0.0.1, allow it.
MAILER_ALLOW_PRIVATE_SMTP = env_bool("MAILER_ALLOW_PRIVATE_SMTP", default=DEBUG)
# Seconds after which a mail left "sending" by a worker that died is marked "outcome unknown" (never re-sent
# by itself), and after which a queued mail no task took is handed to the queue again (mailer.tasks.sweep_mail).
MAILER_STALE_AFTER = float(os.environ.get("MAILER_STALE_AFTER") or 600)
MAILER_REQUEUE_AFTER = float(os.environ.get("MAILER_REQUEUE_AFTER") or 300)
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
# "Run auto-processing" on a selection of up to this many orders runs in the request (about a second); a
# bigger one goes to a worker (automation.tasks.process_orders).
AUTOMATION_INLINE_ORDERS = int(os.environ.get("AUTOMATION_INLINE_ORDERS") or 1000)
# F11's stock check of a bigger selection goes to a worker (inventory.tasks.stock_check_orders).
STOCK_CHECK_INLINE_ORDERS = int(os.environ.get("STOCK_CHECK_INLINE_ORDERS") or 1000)
# Printing more orders than this at once makes a job a worker renders (documents.services.printing); finished
# jobs and their PDFs are kept this many days.
DOCUMENTS_INLINE_ORDERS = int(os.environ.get("DOCUMENTS_INLINE_ORDERS") or 20)
DOCUMENTS_JOBS_KEEP_DAYS = int(os.environ.get("DOCUMENTS_JOBS_KEEP_DAYS") or 7)
# A products CSV of more rows is previewed and imported by a worker (inventory.tasks.products_csv_work).
PRODUCTS_CSV_INLINE_ROWS = int(os.environ.get("PRODUCTS_CSV_INLINE_ROWS") or 2000)
# An issued-data file (tracking numbers back) of more rows is matched and applied by a worker
# (shipping.tasks.issued_file_step).
TRACKING_INLINE_ROWS = int(os.environ.get("TRACKING_INLINE_ROWS") or 2000)

# The project's SMTP route (mailer.routes), for mail whose shop and tenant have none; `make run` points it at
# the development SMTP catcher (devtools/smtpcatcher.py). Empty: no project route.
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip()

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

# Login throttling (django-axes, database handler): after BACKYARD_LOGIN_FAILURE_LIMIT failed logins of one login
# name from one address, that pair is refused for BACKYARD_LOGIN_COOLOFF_MINUTES after its last try, whatever the
# password; a tenant admin (or a superuser) unlocks it sooner in the admin. /accounts/login/ and /admin/login/
# alike, since both authenticate through AUTHENTICATION_BACKENDS.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked pair before a password is hashed
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("BACKYARD_LOGIN_FAILURE_LIMIT") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("BACKYARD_LOGIN_COOLOFF_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backyard.auth.lockout_response"  # the login page with the reason, in Japanese
AXES_CLIENT_IP_CALLABLE = "backyard.auth.client_ip"
AXES_ENABLE_ADMIN = False  # backyard/admin.py registers the attempts, scoped to the tenant's own logins
AXES_DISABLE_ACCESS_LOG = True  # no table of every successful login, which nothing would ever prune
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged

# --- Transport and browser security ------------------------------------------------------------------------
# BACKYARD_HTTPS=1: the site is served over HTTPS by a proxy in front of gunicorn that terminates TLS and sets
# X-Forwarded-Proto (and appends the client to X-Forwarded-For), overwriting what a client sent. Then cookies are
# secure, plain http is redirected (except /healthz, which the container's health check asks over http) and
# browsers are told to use https only (HSTS). `manage.py check --deploy` is clean so (tests/test_deploy.py).
BACKYARD_HTTPS = env_bool("BACKYARD_HTTPS")
SESSION_COOKIE_SECURE = BACKYARD_HTTPS or env_bool("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = BACKYARD_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BACKYARD_HTTPS else None
SECURE_HSTS_SECONDS = int(os.environ.get("BACKYARD_HSTS_SECONDS") or 31_536_000) if BACKYARD_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = BACKYARD_HTTPS
# Preloading binds the whole registrable domain (example.co.jp, not just this host) into the browsers for good:
# the operator's decision, made at hstspreload.org, not a default of this application.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp): scripts and style sheets only from this site's static files, no inline
# script (templates carry no <script> body nor on…= handler; static/js/*.js binds the events), no eval (htmx's
# allowEval is off, its indicator <style> too: templates/base.html). style="…" attributes stay allowed (the
# tenant's status and label colours, Django admin's own templates); <style> elements do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Bootstrap draws its icons (select arrows, checks) as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

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
    # WeasyPrint logs every step of every page at INFO ("Step 5 - Creating layout - Page 49"): not for a
    # worker's log. Its warnings (a missing image, CSS it ignores) still show.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
