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

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
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

run: install keys
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Backyard: http://127.0.0.1:$(BACKYARD_PORT)/"
	@echo "  operator: demo_operator / backyard-demo    admin (settings): demo_admin / backyard-demo"
	@echo "  database: $${DATABASE_URL:-SQLite in var/}    broker: $${REDIS_URL:-embedded (var/broker)}"
	@echo "  demo mall: a fake Shopify on 127.0.0.1:$${BACKYARD_DEMO_MALL_PORT:-8801}, a new order every minute,"
	@echo "             polled into the demo's 公式オンラインストア (F6 on the order list fetches at once)"
	@echo "  CSV import: 店舗 → CSV を取り込む, e.g. docs/samples/yahoo-auction.csv into ヤフオク!出品"
	@echo ""
	@echo "  keys: $(KEYS_DIR)/secret_key, $(KEYS_DIR)/credentials_key (development only; keep them: the shops'"
	@echo "        credentials are encrypted with the second)"
	@echo ""
	$(VENV)/bin/honcho start -f Procfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install keys
	$(VENV)/bin/mypy .

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install keys
	$(PY) -m bench $(BENCH_ARGS)

messages: install keys
	$(PY) manage.py makemessages -l ja -l en --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/broker var/results var/cache var/celerybeat-schedule*
