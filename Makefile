# Tongxin (同心) — `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## migrate, load demo data if empty, serve http://127.0.0.1:8000 (TONGXIN_PORT to change)
	TONGXIN_LOAD_DEMO_DATA=$${TONGXIN_LOAD_DEMO_DATA:-true} $(BIN)/tongxin run

worker: $(STAMP) ## a standalone arq worker (production footprint)
	$(BIN)/tongxin worker

lint: $(STAMP) ## ruff (lint + format check), mypy strict, import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint ## the whole suite: quality gates, then pytest (unit, PostgreSQL, Redis, browser)
	$(BIN)/pytest

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

i18n: $(STAMP) ## extract messages and update the zh_CN / en catalogs
	bash scripts/i18n.sh

assets: ## refresh the vendored htmx and CSS framework from the npm registry
	bash scripts/vendor-assets.sh

bench: $(STAMP) ## run the benchmarks (figures printed side by side)
	$(BIN)/python benchmarks/matching.py
	$(BIN)/python benchmarks/search.py

clean: ## remove the virtual environment and caches (keeps var/ data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run worker lint test format i18n assets bench clean
