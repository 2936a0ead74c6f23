# Tooling of the template repository itself (the generated project has its own Makefile).
# Every target runs through uv; if uv is missing it is bootstrapped once into .tools/ with
# pip, so a machine with Python 3.11+, make and git is enough.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
# Bakes run their own Makefile: let them find the bootstrapped uv too.
export PATH := $(CURDIR)/.tools/bin:$(PATH)
# Only the machine's Python is wanted: fail at once rather than download another one.
export UV_PYTHON_DOWNLOADS ?= never
# Two workers: the slow bakes (each lints and tests a whole project) run side by side.
PYTEST_WORKERS ?= 2

.PHONY: help install test quick lint fmt demo clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(if $(filter $(CURDIR)/.tools/bin/uv,$(UV)),$(CURDIR)/.tools/bin/uv) ## Create .venv with cookiecutter and the test tools
	$(UV) sync --locked

test: install ## Run every template test, including lint and tests of each supported bake (slow)
	$(UV) run pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

quick: install ## Template tests without the bakes' own lint and test suites (seconds)
	$(UV) run pytest -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: install ## ruff and mypy on the hooks and the template tests
	$(UV) run ruff check hooks tests
	$(UV) run ruff format --check hooks tests
	$(UV) run mypy hooks tests

fmt: install ## Format and autofix the hooks and the template tests
	$(UV) run ruff format hooks tests
	$(UV) run ruff check --fix hooks tests

demo: install ## Bake the default answers into a temporary directory and run it (make run)
	@set -e; \
	out=$$(mktemp -d "$${TMPDIR:-/tmp}/loopsafe-demo.XXXXXX"); \
	$(UV) run cookiecutter --no-input "$(CURDIR)" --output-dir "$$out" $(DEMO_ARGS); \
	project=$$(find "$$out" -mindepth 1 -maxdepth 1 -type d); \
	echo "Baked into $$project"; \
	$(MAKE) --no-print-directory -C "$$project" run

clean: ## Remove the tool environment and caches
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
	find hooks tests -name __pycache__ -type d -prune -exec rm -rf {} +
