# OLVF screen: run, test and check the web application.
#
#   make run               install, migrate, build the demo bundle if missing, serve on 127.0.0.1:8000
#   make test              the test suite on SQLite with tasks run eagerly
#   make test-integration  the web suite on PostgreSQL and Redis with a real Celery worker process
#   make e2e               browser tests in headless Chromium
#   make lint, make typecheck  ruff and mypy (CI runs both)

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/olvf
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# Human-readable logs for local runs; production (docker-compose.yml) logs JSON lines.
LOG_FORMAT ?= text
export LOG_FORMAT
# Fixed key for test runs only; pytest-django creates and drops its own test database.
TEST_SECRET_KEY := test-only-secret-key-not-for-production-use-0123456789

.PHONY: run test test-integration e2e install install-dev migrate messages static demo-bundle first-admin lint typecheck

$(PY):
	$(PYTHON) -m venv $(VENV)

# The stamp files record that the requirements were installed, so later runs skip pip.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

messages: install
	@if command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=.cache; \
	else \
		echo "msgfmt (gettext) is not installed: using the committed .mo files as they are."; \
	fi

static: install
	$(PY) manage.py collectstatic --noinput

demo-bundle: migrate
	$(PY) manage.py ensure_demo_bundle

first-admin: migrate
	$(PY) manage.py create_first_admin

# gunicorn with one worker process and several threads: the in-process dispatcher is a thread of that
# process, so every upload reaches the same queue, and the threads keep pages responsive while it
# screens. No --preload, because a thread started before the fork would not exist in the worker.
run: migrate messages static demo-bundle first-admin
	CELERY_BROKER_URL= $(VENV)/bin/gunicorn olvf_web.wsgi:application \
		--bind $(HOST):$(PORT) --workers 1 --threads 8 --timeout 300 --access-logfile -

test: install-dev messages
	DATABASE_URL= CELERY_BROKER_URL= $(PY) -m pytest -m "not integration and not e2e and not gpu" $(PYTEST_ARGS) tests

# The inference tests do not touch the database or the broker, so only the web suite runs again here.
test-integration: install-dev messages
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) SECRET_KEY=$(TEST_SECRET_KEY) \
		$(PY) -m pytest -m "not e2e and not gpu" $(PYTEST_ARGS) tests/screening tests/integration

e2e: install-dev messages
	DATABASE_URL= CELERY_BROKER_URL= $(PY) -m pytest -m e2e $(PYTEST_ARGS) tests

lint: install-dev
	$(VENV)/bin/ruff check manage.py olvf_web screening inference tests

typecheck: install-dev
	$(VENV)/bin/mypy inference screening olvf_web
