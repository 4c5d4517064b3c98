# The commands a newcomer needs. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: test lint docs check install-dev clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install-dev: $(STAMP)

CHROMIUM := /usr/bin/chromium

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## Run the whole test suite with a coverage summary; fails below the floor in pyproject.toml.
test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest --cov --cov-report=term

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
	CHOWDA_DEBUG=true $(BIN)/python manage.py check
	CHOWDA_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var site .pytest_cache .coverage

## Chowda's per-step overhead and throughput against a plain requests loop (bench/overhead.py).
bench: $(STAMP)
	$(BIN)/python bench/overhead.py
