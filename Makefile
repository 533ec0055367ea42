# Two entry points on a fresh machine: `make run` (the local stack) and `make test` (everything
# CI checks). Both create .venv on first use from requirements*.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run run-once sandbox test lint typecheck template-lint browser-deps bench bench-sync docs docs-check sam-validate build deploy clean \
	unit infra-tests sandbox-tests integration ops-tests e2e

$(STAMP): requirements.txt requirements-ops.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else "Python 3.13 is required (pyenv: see .python-version)")'
	@echo "creating $(VENV) from requirements.txt, requirements-ops.txt and requirements-dev.txt" >&2
	@echo "  installing the project and its dependencies with pip (quietly: about a minute the first time)" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip >&2
	@$(BIN)/pip install -q -e '.[dev]' >&2
	@touch $(STAMP)
	@echo "  $(VENV) is ready" >&2

# stdout of `make run` is only the local stack's JSON lines (recipes are not echoed).
run: $(STAMP)  ## the local stack: moto server + ClassLink sandbox + handlers; Ctrl-C to stop
	@$(BIN)/python -m local_stack $(ARGS)

run-once: $(STAMP)  ## one scripted pass through every event kind, JSON summary, exit code
	@$(BIN)/python -m local_stack --once

sandbox: $(STAMP)  ## the ClassLink sandbox on its own; ARGS="--help" lists its options
	@$(BIN)/python -m classlink_sandbox $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check functions infra tools tests bench
	$(BIN)/ruff format --check functions infra tools tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

template-lint: $(STAMP)  ## cfn-lint understands the SAM transform
	$(BIN)/cfn-lint template.yaml

browser-deps:  ## Debian's Chromium for the browser tests (root installs it if missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests (apt-get, quietly: a minute or two)" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium'"; exit 1; fi; fi

# The suite runs on every core (pytest-xdist; each worker starts its own local stack), in random
# order (pytest-randomly). PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-p no:randomly -x".
PYTEST := $(BIN)/pytest -n auto $(PYTEST_ARGS)

test: $(STAMP) browser-deps lint typecheck template-lint docs-check  ## everything CI runs
	$(PYTEST)

# One tier each (docs/testing.md says what each holds).
unit: $(STAMP)  ## rules on in-memory fakes and pure functions; no sockets
	$(BIN)/pytest $(PYTEST_ARGS) tests/unit

infra-tests: $(STAMP)  ## the template, IAM, the architecture and data seam, the local stack's parts
	$(PYTEST) tests/infra

sandbox-tests: $(STAMP)  ## the ClassLink sandbox against classlink-facts.md
	$(PYTEST) tests/sandbox

integration: $(STAMP)  ## the handlers through moto server and the sandbox
	$(PYTEST) tests/integration

ops-tests: $(STAMP)  ## smartpass-ops against the local stack and a moto CloudFormation stack
	$(PYTEST) tests/ops

e2e: $(STAMP) browser-deps  ## `python -m local_stack --once` and real headless Chromium
	$(PYTEST) tests/e2e

# The sandbox benchmark prints one JSON line; `make bench ARGS=--save` also rewrites the tracked
# bench/results/sandbox_large_district.json.
bench: $(STAMP)
	$(BIN)/python -m bench.sandbox_large_district $(ARGS)

# The sync benchmark: ARGS="--users 100000 --churn 0.01 --save" keeps the figures in bench/results.
bench-sync: $(STAMP)
	$(BIN)/python -m bench.sync $(or $(ARGS),--users 10000 --churn 0.01)

# The fleet benchmark (one night of many districts): ARGS="--districts 1000 --save" keeps its figures.
bench-fleet: $(STAMP)
	$(BIN)/python -m bench.fleet $(or $(ARGS),--districts 50 --users-per-district 200)

# Benchmark tables in docs/benchmarks.md are generated from bench/results/*.json.
docs: $(STAMP)
	$(BIN)/python -m bench.docs

docs-check: $(STAMP)
	$(BIN)/python -m bench.docs --check

sam-validate:  ## optional: aws-sam-cli lives in its own venv (it pins boto3)
	[ -x $(SAM_VENV)/bin/sam ] || ($(PYTHON) -m venv $(SAM_VENV) && $(SAM_VENV)/bin/pip install -q aws-sam-cli)
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint

# Lambda's code directory is read-only: without .pyc files every cold start compiles every module
# again. unchecked-hash, because a zip does not keep the mtimes a timestamp .pyc checks.
build: sam-validate  ## sam build needs the runtime's interpreter (python3.13) first on PATH
	PATH="$$($(PYTHON) -c 'import os, sys; print(os.path.dirname(sys.executable))'):$$PATH" \
	  SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	$(BIN)/python -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
