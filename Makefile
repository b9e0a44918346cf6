# Linli: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings

.PHONY: run test test-fast bench lint messages lock clean install install-dev

$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.lock
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.runtime node_modules/.installed
install-dev: $(VENV)/.dev node_modules/.installed

# Serves http://$(HOST):$(PORT) with a background-task worker and the scheduler (deadline scans) beside it;
# Ctrl-C stops all three.
# Links in SMS and on QR posters need the address phones reach the site at (PUBLIC_URL); for the demo, this one.
run: export PUBLIC_URL ?= http://$(HOST):$(PORT)
run: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --no-input
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "Linli is starting on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	@DEBUG=$${DEBUG:-true} $(PY) manage.py db_worker --interval 1 & worker=$$!; \
	DEBUG=$${DEBUG:-true} $(PY) manage.py run_scheduler & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(PY) -m ruff check .
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) -m pytest -p xdist -n 2 $(PYTEST_ARGS)

test-fast: install-dev
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

bench: install-dev
	DEBUG=true $(PY) -m bench

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DEBUG=true $(PY) -m mypy linli config bench

messages: install-dev
	DEBUG=true $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=node_modules --ignore=bench --ignore=test-artifacts
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

lock:
	$(PY) -m pip freeze --exclude-editable

clean:
	rm -rf $(VENV) node_modules staticfiles
