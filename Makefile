# boxoffice - `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
# uv itself: the one on PATH, or a private copy bootstrapped with pip into .tools/
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
RUN := $(UV) run --frozen --no-sync
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: help install run serve migrate demo test lint fmt typecheck pytest browser-deps pytest-browser nginx-deps wrk-deps bench fuzz lowest prod-install clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: .venv/.synced ## Create the environment (.venv) from the lock file

migrate: install ## Apply the database migrations
	$(RUN) boxoffice migrate

demo: migrate ## Load the demo data (idempotent)
	$(RUN) boxoffice demo

run: migrate ## Set up, load demo data on first start, and serve on http://127.0.0.1:8000
	@$(RUN) boxoffice demo --if-empty
	@echo ""
	@echo "  boxoffice is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "  sign in with admin@boxoffice.localhost, owner@boxoffice.localhost or customer@boxoffice.localhost"
	@echo "  password for all three: popcorn-and-a-movie   (emails land in var/outbox/)"
	@echo ""
	$(RUN) boxoffice serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install ## Lint with ruff
	$(RUN) ruff check src tests bench migrations
	$(RUN) ruff format --check src tests bench migrations

fmt: install ## Format and fix with ruff
	$(RUN) ruff format src tests bench migrations
	$(RUN) ruff check --fix src tests bench migrations

typecheck: install ## Type check with mypy (strict)
	$(RUN) mypy

PYTEST_WORKERS ?= 2
pytest: install ## Run the test suite only, in PYTEST_WORKERS processes (the browser tests run on their own: pytest-browser)
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 --ignore=tests/browser \
		--ignore=tests/test_production_install.py

prod-install: install ## Install the package as a user deploys it (fresh venv, pip install .) and pay through a Stripe stand-in (~1-2 min)
	$(RUN) pytest -q -p no:cacheprovider tests/test_production_install.py

browser-deps: ## Install Debian's Chromium for the browser tests when it is missing (no browser download)
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

pytest-browser: install browser-deps ## Run the Playwright browser tests (screenshots in test-output/browser/)
	$(RUN) pytest tests/browser

nginx-deps: ## Install Debian's nginx for the two-node scale-out test when it is missing (the system nginx is never started)
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y nginx-light; \
	fi

wrk-deps: ## Install Debian's wrk (the load generator of make bench) when it is missing
	@if ! command -v wrk >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y wrk; \
	fi

bench: install wrk-deps ## Benchmarks on PostgreSQL (2 workers) and SQLite: one table + bench/results/*.json (~10 min)
	$(RUN) python -m bench $(BENCH_ARGS)

FUZZ_EXAMPLES ?= 1000
fuzz: install ## Long schemathesis run: every operation x every role, both backends (FUZZ_EXAMPLES=1000 each)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_BACKENDS=sqlite,postgres FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} \
		$(RUN) pytest -q -p no:cacheprovider tests/reliability/test_fuzz.py

# The lowest versions pyproject.toml allows for the direct dependencies, resolved in a throw-away copy of
# the checkout (the project's own lock file and .venv are not touched), then the quick unit tests on SQLite.
LOWEST_TESTS ?= tests/kit tests/accounts tests/payments tests/test_core.py
LOWEST_DESELECT ?=
lowest: | $(UV) ## Run the quick unit tests with the lowest allowed direct dependencies (uv lowest-direct, temp copy)
	@set -euo pipefail; uv="$(abspath $(UV))"; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	tar -c --exclude=./.git --exclude=./.venv --exclude=./.tools --exclude=./var --exclude=./test-output \
		--exclude=__pycache__ --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache . | tar -x -C "$$tmp"; \
	cd "$$tmp"; "$$uv" lock --quiet --resolution lowest-direct; "$$uv" sync --quiet --frozen; \
	grep -E '^(fastapi|stripe|starlette|pydantic|sqlalchemy|uvicorn|httpx|pytest|pytest-asyncio)==' \
		<("$$uv" pip freeze) | tr '\n' ' '; echo; \
	CI= .venv/bin/pytest -q -p no:cacheprovider -m "not slow and not postgres" -k "not postgres" \
		$(LOWEST_DESELECT) $(LOWEST_TESTS)

test: install nginx-deps lint typecheck pytest prod-install lowest browser-deps pytest-browser ## Install what the tests need, then lint, type check, run the whole suite, a production install and the lowest dependencies

clean: ## Remove the environment and local data (var/)
	rm -rf .venv .tools var .mypy_cache .ruff_cache .pytest_cache
