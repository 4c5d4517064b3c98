# The commands a newcomer needs. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run demo test lint docs check install install-dev lock upgrade export-lock lock-check clean bench profile

# Installs come from the lock, never from pyproject.toml's ranges: uv.lock is the resolution
# (uv, pinned here), requirements/*.txt are its hash-pinned exports that pip installs from.
PIP_VERSION := 26.3
UV_VERSION := 0.13.9
UV := $(BIN)/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
EXPORT = $(UV) export --frozen --quiet --no-emit-project --format requirements-txt

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)

$(UV_STAMP): | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	touch $@

$(STAMP): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

install-dev: $(STAMP)

RUN_STAMP := $(VENV)/.installed
$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUN_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

install: $(RUN_STAMP)

LOCK_DISAGREES := pyproject.toml and the lock (uv.lock, $(RUN_LOCK), $(DEV_LOCK)) disagree: \
	run `make lock` and commit the result.

## Re-resolve the lock after a change to pyproject.toml, keeping every version that still fits its ranges.
lock: $(UV_STAMP)
	$(UV) lock
	$(MAKE) --no-print-directory export-lock

## Take the newest release of every dependency that pyproject.toml's ranges allow.
upgrade: $(UV_STAMP)
	$(UV) lock --upgrade
	$(MAKE) --no-print-directory export-lock

export-lock: $(UV_STAMP)
	mkdir -p $(dir $(RUN_LOCK))
	$(EXPORT) > $(RUN_LOCK)
	$(EXPORT) --extra dev > $(DEV_LOCK)

## Fail, saying what to run, if pyproject.toml and the lock disagree (.ci/run runs it first).
lock-check: $(UV_STAMP)
	@$(UV) lock --check --quiet || { echo '$(LOCK_DISAGREES)' >&2; exit 1; }
	@$(EXPORT) > $(VENV)/run-export.txt && $(EXPORT) --extra dev > $(VENV)/dev-export.txt
	@cmp -s $(VENV)/run-export.txt $(RUN_LOCK) && cmp -s $(VENV)/dev-export.txt $(DEV_LOCK) \
		|| { echo '$(LOCK_DISAGREES)' >&2; exit 1; }

# A secret key made once for this machine, so the embedded set-up runs with debug off.
SECRET_KEY_FILE := var/secret_key
$(SECRET_KEY_FILE):
	mkdir -p var
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

# Served on loopback over plain HTTP, so session cookies cannot be HTTPS-only.
LOCAL_ENV = CHOWDA_SECRET_KEY="$${CHOWDA_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}" \
	CHOWDA_SECURE_COOKIES="$${CHOWDA_SECURE_COOKIES:-false}"

## Start Chowda in the foreground: embedded Redis, Daphne on 127.0.0.1:8000 and a Celery worker.
run: $(RUN_STAMP) $(SECRET_KEY_FILE)
	$(LOCAL_ENV) $(BIN)/python manage.py launch

## The same, plus the demo CLAMS apps and demo data (an admin, a pipeline, media and a batch).
demo: $(RUN_STAMP) $(SECRET_KEY_FILE)
	$(LOCAL_ENV) $(BIN)/python manage.py launch --demo

CHROMIUM := /usr/bin/chromium

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The single sign-on tests start a real OpenID Provider, panva's oidc-provider, pinned in tests/oidc/package-lock.json.
OIDC_PROVIDER := tests/oidc/node_modules/oidc-provider

$(OIDC_PROVIDER): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --silent

# Test processes: most of the suite's time is spent waiting on servers, workers and browsers, so two
# processes halve it even on two cores. Each has its own database, Redis keys, worker and apps.
TEST_PROCESSES ?= 2

## Run the whole test suite with a coverage summary; fails below the floor in pyproject.toml.
test: $(STAMP) $(CHROMIUM) $(OIDC_PROVIDER)
	$(BIN)/python -m pytest --numprocesses=$(TEST_PROCESSES) --dist=worksteal --cov --cov-report=term

## Every pre-commit hook over the whole tree: secrets, ruff lint and format, file hygiene.
lint: $(STAMP)
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

MERMAID := docs/javascripts/mermaid.min.js
MERMAID_VERSION := 11

$(MERMAID):
	mkdir -p $(dir $@) var/npm
	cd var/npm && npm pack --silent mermaid@$(MERMAID_VERSION) > package-name
	tar -xzf var/npm/$$(cat var/npm/package-name) -C var/npm package/dist/mermaid.min.js
	mv var/npm/package/dist/mermaid.min.js $@

## Build the documentation site into site/, failing on any warning.
docs: $(STAMP) $(MERMAID)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Django's system checks and the migration check.
check: $(STAMP)
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var site .pytest_cache .coverage

## Where a step's worker CPU goes: py-spy samples the worker over the overhead benchmark's batch.
profile: $(STAMP)
	$(BIN)/python bench/overhead.py --files 60 --profile var/profile

## Every benchmark (Celery's floor, step overhead, pipeline flow, memory, 100,000 files), then one table of goals.
bench: $(STAMP)
	$(BIN)/python bench/summary.py
