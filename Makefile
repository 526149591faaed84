# The same commands run here and in CI (.ci/run calls `make test`).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DOCS_PORT ?= 8001
#: pytest-xdist workers for `make test`: most tests wait on processes, servers and the network,
#: so more workers than this machine's 2 cores (see README, Tests)
TEST_WORKERS ?= 4
XDIST := -n $(TEST_WORKERS) --dist loadgroup

.PHONY: help setup run test check lint docs docs-build unit e2e browser screenshot faults \
	multihost bench bench-growth fuzz clean

help:  ## list the targets and what each does
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z0-9-]*:[^#]*## / {printf "  %-13s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "emailhook needs Python 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed  ## make .venv with emailhook and its development tools

run: setup  ## set up, migrate and start web server + worker on the embedded default
	$(BIN)/emailhook db upgrade
	$(BIN)/emailhook run --host $(HOST) --port $(PORT)

test: lint  ## lint, then every test on $(TEST_WORKERS) pytest-xdist workers (a missing tool: skipped, saying why)
	$(BIN)/pytest $(XDIST) --durations=15

check: setup  ## the inner loop, under a minute: lint, types, import contracts, unit and quick integration tests
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -m quick tests/unit tests/integration

lint: setup  ## ruff, ruff format, mypy, import contracts, alembic check
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

unit: setup  ## the unit tests
	$(BIN)/pytest tests/unit

e2e: setup  ## real web servers and workers on each backend
	$(BIN)/pytest $(XDIST) tests/e2e

browser: setup  ## the dashboard in headless Chromium (Debian's: apt-get install chromium)
	$(BIN)/pytest tests/browser

screenshot: setup  ## refresh docs/dashboard-overview.png from the browser tests
	EMAILHOOK_SCREENSHOTS=docs $(BIN)/pytest tests/browser -k overview

faults: setup  ## workers, brokers and databases broken mid-load, checked against a ledger (a campaign of 100,000)
	EMAILHOOK_TEST_CAMPAIGN_RECIPIENTS=100000 $(BIN)/pytest $(XDIST) tests/faults

multihost: setup  ## two web, two worker and a database host in network namespaces (root)
	$(BIN)/pytest tests/multihost

bench: setup  ## ceiling, ingest, drain, sustained load and memory; see bench/run.py
	$(BIN)/python bench/run.py

bench-growth: setup  ## drain, queries, pages and bytes per event at 0-10M events; see bench/growth.py
	$(BIN)/python bench/growth.py $(GROWTH_ARGS)

fuzz: setup  ## the long fuzzing run (20000 examples per test); `make test` runs a bounded one
	HYPOTHESIS_PROFILE=long $(BIN)/pytest tests/fuzz --timeout=0 --hypothesis-show-statistics

clean:  ## remove .venv, var, site and the tools' caches
	rm -rf $(VENV) var site .pytest_cache .mypy_cache .ruff_cache .hypothesis
