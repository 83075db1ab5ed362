# sitrep: two commands. `make run` sets everything up and ingests seeds/ into
# warehouse/sitrep.duckdb; `make test` sets everything up and runs all tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else bootstrapped into .tools/ with the system python3 (3.11).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11
# Prefect: project-local home, no telemetry, a generous start-up time for the
# ephemeral API server (8-20 s on a fresh database).
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

.PHONY: help setup run serve test bench lint format summary clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV) ## Install Python dependencies (locked) into .venv
	$(UV) sync --locked --quiet

run: setup ## Ingest seeds/ into warehouse/sitrep.duckdb and print a summary
	$(UV) run --locked sitrep ingest --source seeds --warehouse warehouse/sitrep.duckdb
	$(UV) run --locked sitrep summary --warehouse warehouse/sitrep.duckdb

serve: setup ## Local Prefect server + ingest/nightly deployment + worker (Ctrl-C stops all)
	$(UV) run --locked python -m flows.serve

test: setup ## Run the whole test suite
	$(UV) run --locked pytest

WORDS ?= 2000000
bench: setup ## Benchmark the pipeline on WORDS words replicated from ../shared/corpus (default 2M)
	$(UV) run --locked sitrep bench --words $(WORDS) $(if $(JSON),--json $(JSON))

lint: setup ## ruff lint and format check
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

format: setup ## Apply ruff fixes and formatting
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

summary: setup ## Print the warehouse summary again
	$(UV) run --locked sitrep summary --warehouse warehouse/sitrep.duckdb

clean: ## Remove the environment, caches and the local warehouse
	rm -rf .venv .tools .prefect .pytest_cache .ruff_cache warehouse/*.duckdb warehouse/versions warehouse/staging warehouse/rejected warehouse/.cache
