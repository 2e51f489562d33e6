# Backyard: `make run` starts everything on a fresh machine; `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BACKYARD_PORT ?= 8000
export BACKYARD_PORT
# The settings refuse to start without SECRET_KEY and BACKYARD_CREDENTIALS_KEY, and no key is written in the
# source. For development, `make run` (and the other targets that load the settings) make both once into var/,
# never the same on two checkouts; the settings read them from there when the environment sets none. The tests
# make their own (tests/keys.py).
KEYS_DIR := $(or $(BACKYARD_VAR_DIR),var)
KEYS := $(KEYS_DIR)/secret_key $(KEYS_DIR)/credentials_key

.PHONY: install keys run test lint typecheck bench messages clean

# The virtualenv, from the lock file. uv installs it in seconds: uv itself (pinned here) comes into the venv
# through the pip beside $(PYTHON), so from wherever pip fetches on this machine, and devtools/uv_pip.py tells
# it pip's settings (index, extra indexes, find-links, constraints, certificate …), since uv reads none of them.
# Where that cannot work (no pip 22.3+ beside $(PYTHON), uv not installable, uv failing), pip installs the same,
# slower. Either way `pip check` must find every requirement met.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@echo "  installing requirements.lock into $(VENV) with uv"
	@if $(PYTHON) -m pip --python $(PY) install -qq uv==$(UV_VERSION) && \
		$(PYTHON) devtools/uv_pip.py $(UV) install --python $(PY) -q -c requirements.lock -e '.[dev]' pip; then :; \
	else \
		echo "  uv could not install the lock file: pip installs it instead (slower)"; \
		$(PY) -m ensurepip --upgrade > /dev/null && $(PY) -m pip install -q -c requirements.lock -e '.[dev]'; \
	fi
	$(PY) -m pip check -q
	touch $@

install: $(VENV)/.installed

$(KEYS_DIR)/secret_key: | $(VENV)/.installed
	@mkdir -p $(KEYS_DIR)
	@umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@.new && mv $@.new $@
	@echo "  made a SECRET_KEY for this checkout, once, in $@ (production sets its own SECRET_KEY)"

$(KEYS_DIR)/credentials_key: | $(VENV)/.installed
	@mkdir -p $(KEYS_DIR)
	@umask 077 && $(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' \
		> $@.new && mv $@.new $@
	@echo "  made a BACKYARD_CREDENTIALS_KEY for this checkout, once, in $@ (production sets its own)"

keys: $(KEYS)

# `make run`'s mail goes to the development SMTP catcher (the Procfile's `mail:`, devtools/smtpcatcher.py), so
# none leaves the machine: web and worker get it as the project's route, unless the environment sets EMAIL_URL
# (set empty: no project route).
SMTP_PORT := $(or $(BACKYARD_SMTP_PORT),8025)
MAILBOX_PORT := $(or $(BACKYARD_MAILBOX_PORT),8026)
run: export EMAIL_URL ?= smtp://127.0.0.1:$(SMTP_PORT)
# The demo's outside warehouse (devtools/fakewarehouse.py, the Procfile's `demowarehouse:`) listens on 127.0.0.1.
run: export WAREHOUSE_ALLOW_PRIVATE_URLS ?= 1

run: install keys
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Backyard: http://127.0.0.1:$(BACKYARD_PORT)/"
	@echo "  operator: demo_operator / backyard-demo    admin (settings): demo_admin / backyard-demo"
	@echo "  database: $${DATABASE_URL:-SQLite in var/}    broker: $${REDIS_URL:-embedded (var/broker)}"
	@echo "  demo mall: a fake Shopify on 127.0.0.1:$${BACKYARD_DEMO_MALL_PORT:-8801}, a new order every minute,"
	@echo "             polled every minute into the demo's 公式オンラインストア (F6 on the order list fetches at once)"
	@echo "  demo warehouse: a fake 3PL on 127.0.0.1:$${BACKYARD_DEMO_WAREHOUSE_PORT:-8802} behind 外部倉庫（デモ3PL）: set an"
	@echo "             order's shipping store to it, 出荷依頼 on the list; accepted at once, shipped ~3 minutes later"
	@echo "  CSV import: 店舗 → CSV を取り込む, e.g. docs/samples/yahoo-auction.csv into ヤフオク!出品"
	@echo "  waybills: 送り状 → ヤマト B2クラウド on paid orders, then $(PY) manage.py demo_issued_file writes what"
	@echo "             B2 Cloud would give back: upload it at 送り状番号 (orders shipped, mailed, Shopify told)"
	@echo "  送信メールの確認: http://127.0.0.1:$(MAILBOX_PORT)/ (an SMTP catcher on 127.0.0.1:$(SMTP_PORT) keeps"
	@echo "             what is sent, unless EMAIL_URL was set before make run; mail in $(KEYS_DIR)/mail/)"
	@echo ""
	@echo "  keys: $(KEYS_DIR)/secret_key, $(KEYS_DIR)/credentials_key (development only; keep them: the shops'"
	@echo "        credentials are encrypted with the second)"
	@echo ""
	@echo "  Ctrl-C stops them all."
	@echo ""
	@# On Ctrl-C honcho stops every process and exits with 130: the end that was asked for, not a failure.
	@$(VENV)/bin/honcho start -f Procfile || [ $$? -eq 130 ]

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install keys
	$(VENV)/bin/mypy .

# The suite runs in parallel: one pytest-xdist worker per core (at most 8), each with a test database and a Redis
# database of its own (tests/workers.py), long tests stolen by idle workers. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= auto
test: install keys
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy .
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --maxprocesses 8 --dist worksteal $(PYTEST_ARGS)

bench: install keys
	$(PY) -m bench $(BENCH_ARGS)

messages: install keys
	$(PY) manage.py makemessages -l ja -l en --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/broker var/results var/cache var/celerybeat-schedule*
