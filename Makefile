# Sluice: the verbs. `make demo` and `make test` work from a clean clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv system-deps tools cluster-up cluster-down cluster-status crds lint \
        unit test e2e demo bench run

help:
	@echo "make demo         run a good and a bad release on the local cluster"
	@echo "make test         everything: lint, unit, integration and e2e tests on the local cluster"
	@echo "make cluster-up   start the local cluster and Prometheus (.cluster/kubeconfig)"
	@echo "make cluster-down stop them and remove their state"
	@echo "make crds         regenerate crds/ and docs/reference.md from the models"
	@echo "make lint         ruff, mypy --strict and import-linter"
	@echo "make unit         unit tests only (no cluster)"
	@echo "make bench        rollback latency, the scale curve and the idle cost (~18 min)"
	@echo "make run          run the operator against the local cluster"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

tools:
	bash scripts/build-tools.sh all

cluster-up: system-deps tools
	bash scripts/cluster.sh up

cluster-down:
	bash scripts/cluster.sh down

cluster-status:
	bash scripts/cluster.sh status

crds: $(STAMP)
	$(PY) -m sluice.crdgen --out crds/ --docs docs/reference.md

lint: $(STAMP)
	$(VENV)/bin/ruff check operator tests e2e
	$(VENV)/bin/ruff format --check operator tests e2e
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

test: $(STAMP) cluster-up lint
	$(VENV)/bin/pytest --cov=sluice --cov-branch --cov-report=term $(PYTEST_ARGS)

e2e: $(STAMP) cluster-up
	$(VENV)/bin/pytest e2e $(PYTEST_ARGS)

demo: $(STAMP) cluster-up
	$(PY) -m sluice.demo --kubeconfig .cluster/kubeconfig

bench: $(STAMP) cluster-up
	$(PY) -m sluice.bench --kubeconfig .cluster/kubeconfig

run: $(STAMP) cluster-up
	$(VENV)/bin/sluice run --kubeconfig .cluster/kubeconfig
