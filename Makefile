# The same commands run here and in CI (.ci/run calls `make test`).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DOCS_PORT ?= 8001

.PHONY: setup run test lint docs docs-build unit e2e browser screenshot faults multihost bench bench-growth fuzz clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "emailhook needs Python 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup  ## set up, migrate and start web server + worker on the embedded default
	$(BIN)/emailhook db upgrade
	$(BIN)/emailhook run --host $(HOST) --port $(PORT)

test: lint  ## set up and run every test
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/mypy tests/support
	MYPYPATH=src:tools $(BIN)/mypy -p docsite
	$(BIN)/lint-imports --no-cache  # the layering: pyproject.toml [tool.importlinter]
	EMAILHOOK_DATA_DIR=$$(mktemp -d) $(BIN)/emailhook db check

docs: setup  ## serve the documentation site on http://127.0.0.1:8001 (rebuilt on every change)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr $(HOST):$(DOCS_PORT)

docs-build: setup  ## build the site strictly into site/ (tests/docs builds it too, in make test)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

unit: setup
	$(BIN)/pytest tests/unit

e2e: setup
	$(BIN)/pytest tests/e2e

browser: setup  ## the dashboard in headless Chromium (Debian's: apt-get install chromium)
	$(BIN)/pytest tests/browser

screenshot: setup  ## refresh docs/dashboard-overview.png from the browser tests
	EMAILHOOK_SCREENSHOTS=docs $(BIN)/pytest tests/browser -k overview

faults: setup
	$(BIN)/pytest tests/faults

multihost: setup  ## two web, two worker and a database host in network namespaces (root)
	$(BIN)/pytest tests/multihost

bench: setup  ## ceiling, ingest, drain, sustained load and memory; see bench/run.py
	$(BIN)/python bench/run.py

bench-growth: setup  ## drain, queries, pages and bytes per event at 0-10M events; see bench/growth.py
	$(BIN)/python bench/growth.py $(GROWTH_ARGS)

fuzz: setup  ## the long fuzzing run (20000 examples per test); `make test` runs a bounded one
	HYPOTHESIS_PROFILE=long $(BIN)/pytest tests/fuzz --timeout=0 --hypothesis-show-statistics

clean:
	rm -rf $(VENV) var site .pytest_cache .mypy_cache .ruff_cache .hypothesis
