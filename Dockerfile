# syntax=docker/dockerfile:1
# Backyard's image. One image, three processes (see docker-compose.yml):
#   web     the default CMD below (gunicorn, port 8000)
#   worker  celery -A backyard worker --loglevel INFO -Q celery,mail
#   beat    celery -A backyard beat --loglevel INFO --schedule /tmp/celerybeat-schedule
# Configuration comes from the environment only (backyard/settings.py): DATABASE_URL, REDIS_URL, SECRET_KEY and
# BACKYARD_CREDENTIALS_KEY (both required: the container refuses to start without them), ALLOWED_HOSTS,
# CSRF_TRUSTED_ORIGINS, BACKYARD_HTTPS, DEBUG. With neither DATABASE_URL nor REDIS_URL the container still
# runs, on SQLite and the embedded broker under $BACKYARD_VAR_DIR.

# --- the sources, without what a developer's checkout also holds ------------------------------------------
# (A .dockerignore would keep these out of the build context too; this stage keeps them out of the image
# whether or not one exists.)
FROM python:3.11-slim-bookworm AS source
COPY . /src
RUN cd /src \
    && rm -rf .venv venv var .git .ci bench tests devtools test-artifacts node_modules \
        .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist ./*.egg-info \
    && find . -name '__pycache__' -type d -prune -exec rm -rf {} + \
    && find . -name '*.py[co]' -delete

# --- the runtime image ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BACKYARD_VAR_DIR=/app/var \
    PYTHONPATH=/app

# Japanese fonts for the PDF forms (IPAex, Noto CJK); the libraries WeasyPrint 70 dlopens at run time
# (GObject, Pango and its FreeType backend, HarfBuzz and its subsetter, Fontconfig); gettext for
# compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-ipaexfont \
        fonts-noto-cjk \
        fontconfig \
        libglib2.0-0 \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        gettext \
    && rm -rf /var/lib/apt/lists/* \
    && fc-cache -f

WORKDIR /app
COPY --from=source /src /app

# The project and its dependencies at the locked versions. PYTHONPATH=/app makes gunicorn, celery and
# manage.py all import the code from /app (with its templates, static files and translations).
RUN pip install -c requirements.lock . \
    && rm -rf build ./*.egg-info

# Static files are collected into the image (served by WhiteNoise); translations are compiled. Neither needs
# a database or the real keys: these two stand in for this step only, and are not in the image's environment.
RUN export SECRET_KEY=build-only-not-a-secret BACKYARD_CREDENTIALS_KEY=build-only-not-a-key \
    && python manage.py collectstatic --noinput \
    && if [ -d locale ]; then python manage.py compilemessages; fi

# Run as an unprivileged user. It owns var/ (SQLite, embedded broker, file cache when no services are set;
# var/media, the tenants' logos and printed PDFs, which docker-compose mounts as a volume shared by web and
# worker: made here so that the volume takes this owner) and its home, where gunicorn puts its control socket
# (~/.gunicorn/gunicorn.ctl); the code stays root-owned.
RUN groupadd --system --gid 10001 backyard \
    && useradd --system --uid 10001 --gid backyard --home-dir /home/backyard --create-home backyard \
    && mkdir -p /app/var/media \
    && chown -R backyard:backyard /app/var
USER backyard:backyard

EXPOSE 8000
CMD ["gunicorn", "backyard.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
