# Two commands matter: `make run` (the whole platform on this machine) and `make test` (every check CI runs).
# Both install what they need into .venv first; nothing is started by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TSDB := tests/timescaledb

.PHONY: run test lint typecheck unit integration install clean-data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,forecast]'
	@touch $(STAMP)

install: $(STAMP)

$(TSDB)/node_modules/.package-lock.json: $(TSDB)/package-lock.json
	cd $(TSDB) && npm ci --no-audit --no-fund --loglevel=error

run: $(STAMP)
	$(BIN)/synopse up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(TSDB)/node_modules/.package-lock.json lint typecheck
	$(BIN)/pytest

clean-data:
	rm -rf .synopse
