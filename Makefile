# The two commands a newcomer needs are `make demo` and `make test`; the rest are parts of them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
STACK := $(BIN)/python deploy/local/devstack.py

.PHONY: install demo up down status test lint format typecheck pytest bench docs clean

install: $(INSTALLED)

# Reinstalls only when the dependency list changes; pip's cache makes a reinstall cheap.
$(INSTALLED): pyproject.toml constraints.txt deploy/local/install-system-deps.sh
	deploy/local/install-system-deps.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sfsink needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade 'pip>=24,<27'
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# make demo N=1000000 RATE=5000: the size of the generated stream, and records/s (0: at once).
N ?= 100000
RATE ?= 0
demo: up
	$(BIN)/python deploy/local/demo.py --count $(N) --rate $(RATE)

up: $(INSTALLED)
	$(STACK) up

down: $(INSTALLED)
	$(STACK) down

status: $(INSTALLED)
	$(STACK) status

test: lint typecheck pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The configuration reference, generated from connector/config.py (a test keeps it fresh).
docs: $(INSTALLED)
	$(BIN)/python -m connector.config_reference > docs/configuration.md

clean: down
	rm -rf .local $(VENV)
