# The commands a newcomer needs. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: test install-dev check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install-dev: $(STAMP)

## Run the whole test suite (installs what it needs first).
test: $(STAMP)
	$(BIN)/python -m pytest

## Django's system checks and the migration check.
check: $(STAMP)
	CHOWDA_DEBUG=true $(BIN)/python manage.py check
	CHOWDA_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var .pytest_cache
