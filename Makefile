# Jobcenter-assistenten. A newcomer needs two commands:
#   make run    set up, train if needed, start the assistant
#   make test   set up, train if needed, run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup run test checks model lint test-knowledge test-python test-unit test-integration test-rasa-data test-stories bench-kb bench-e2e bench-nlu bench-nlu-baseline bench-nlu-blend bench-train bench-load chromium nginx clean

help:
	@echo "make run    start the assistant (http://127.0.0.1:$${WEB_PORT:-8000}/)"
	@echo "make test   run every test"
	@echo "make bench-kb / make bench-e2e / make bench-load / make bench-train / make bench-nlu / make bench-nlu-baseline / make bench-nlu-blend   benchmarks (see README)"

$(VENV)/.installed: requirements/app.txt scripts/make-venv
	@scripts/make-venv $(VENV) requirements/app.txt

$(RASA_VENV)/.installed: requirements/rasa.txt scripts/make-venv
	@scripts/make-venv $(RASA_VENV) requirements/rasa.txt

# The two environments install side by side.
setup:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(VENV)/.installed $(RASA_VENV)/.installed

model: setup
	@$(PY) -m bot.model

run: model
	@$(PY) -m bot.stack

# Two jobs at a time: the model trains while the checks and the tests that
# need no model run; then the tests on real processes beside the stories.
test: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target model checks
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-integration test-stories
	@echo "All tests passed."

checks: lint test-knowledge test-rasa-data test-unit

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-knowledge: setup
	$(PY) -m bot.knowledge validate

test-rasa-data: setup
	$(RASA) data validate --fail-on-warnings

# Every pytest test in one run.
test-python: model chromium nginx
	$(VENV)/bin/pytest

# The tests that need no trained model (tests/conftest.py marks every test
# on the running stack `integration`).
test-unit: setup
	$(VENV)/bin/pytest -m "not integration and not browser"

# The tests on real processes with the trained model, and the browser tests.
test-integration: model chromium nginx
	$(VENV)/bin/pytest -m "integration or browser"

# The browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# tests/test_deploy.py runs the shipped nginx server block in Debian's nginx.
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  echo "Installing Debian's nginx-light for the reverse-proxy tests ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light >/dev/null; }

test-stories: model
	$(RASA) test core --stories tests/test_stories.yml --model "$$($(PY) -m bot.model --path)" \
	  --e2e --fail-on-prediction-errors --out results/stories

bench-kb: setup
	$(PY) -m bench.kb

# Answer quality in conversation through /api/chat, about five minutes (bench/e2e.py).
bench-e2e: model
	$(PY) -m bench.e2e

# A clean `rasa train` (empty cache, temporary folder), timed (bench/train.py).
bench-train: setup
	$(PY) -m bench.train

# Throughput, latency and CPU per turn at 1, 10 and 50 conversations, two Rasa
# instances on PostgreSQL and Redis, idle SSE connections; 7 to 12 minutes (bench/load.py).
bench-load: model
	$(PY) -m bench.load

bench-nlu: model
	$(PY) -m bench.nlu

# Cross-validate the intent classifier alone, about a minute (bench/nlu_baseline.py).
bench-nlu-baseline: setup
	$(RASA_VENV)/bin/python -m bench.nlu_baseline

# Intent macro-F1 for each linear_weight from one Rasa cross-validation, about
# 50 minutes (bench/nlu_blend.py).
bench-nlu-blend: setup
	RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 $(RASA_VENV)/bin/python -m bench.nlu_blend

clean:
	rm -rf $(VENV) $(RASA_VENV) models results var .rasa
