# kefu: `make setup` once, then `make run`; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11.*/bin/python3.11) $(shell command -v python3.11))
PY310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10) $(shell command -v python3.10))
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 $(RASA_VENV)/bin/rasa
MODEL := models/kefu.tar.gz
# The pipeline's own code as rasa_ext/__init__.py digests it (not the channel or the server's
# tracker store, not the rest of core).
RASA_SOURCES := config.yml $(shell find domain data -name '*.yml' 2>/dev/null) $(filter-out rasa_ext/channel.py rasa_ext/server.py,$(wildcard rasa_ext/*.py)) core/pasted.py core/followup.py core/language.py
CHROMIUM := /usr/bin/chromium
# Chinese labels in the report CLI's PNG charts (python -m handoff report --png).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

.PHONY: help setup run test test-rasa test-py lint format clean bench bench-nlu bench-real bench-delivery bench-faq bench-channels

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(RASA_VENV)/.installed $(MODEL) $(CHROMIUM) $(CJK_FONT) var/orders.sqlite3 node_modules/.installed ## create both environments, train the model, install chromium and the console's Chart.js

$(VENV)/.installed: requirements/app.txt requirements/dev.txt requirements/app.lock
	@test -n "$(PY311)" || { echo "Python 3.11 not found (set PY311=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PY311) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/app.lock torch
	$(PY) -m pip install -q -r requirements/app.txt -r requirements/dev.txt -c requirements/app.lock
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa.lock
	@test -n "$(PY310)" || { echo "Python 3.10 not found (set PY310=/path/to/python3.10)"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q --upgrade pip
	$(RASA_VENV)/bin/python -m pip install -q -r requirements/rasa.txt -c requirements/rasa.lock
	touch $@

$(MODEL): $(RASA_SOURCES) $(RASA_VENV)/.installed
	$(RASA) train --domain domain --fixed-model-name kefu --out models
	touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(CJK_FONT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei

# The console's browser libraries (Chart.js for the report page), served by kefu itself.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

var/orders.sqlite3: $(VENV)/.installed
	$(PY) -m orders seed

run: ## bring the whole system up (embedded Redis unless REDIS_URL is set)
	$(PY) -m bot run

test: test-rasa test-py ## every test: Rasa data and conversation tests, then pytest

test-rasa: $(MODEL) ## rasa data validate, conversation tests, NLU test set
	$(RASA) data validate --domain domain --fail-on-warnings
	$(RASA) test core --stories tests/stories -m $(MODEL) --fail-on-prediction-errors --out results/core
	$(RASA) test nlu --nlu tests/nlu -m $(MODEL) --out results/nlu

test-py: ## pytest: unit, end-to-end (real processes) and browser tests
	$(PY) -m pytest -q

lint: ## ruff, formatting check and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## remove results and the trained model (keeps the environments and var/)
	rm -rf results models

bench: $(MODEL) ## start the system on free ports; print start-up time, reply latency and RSS per process
	$(PY) -m tools.bench.system

bench-nlu: $(MODEL) ## NLU test-set scores (all and hard slice) and /model/parse latency
	$(PY) -m tools.bench.nlu

bench-real: $(MODEL) ## the assistant on real shop chat (needs ../shared/data/jddc; skips without it)
	$(PY) -m tools.real.copies
	$(PY) -m tools.real

bench-channels: $(MODEL) ## WeChat and Telegram customers (faked platforms): acknowledgement and reply latency, lost, twice
	$(PY) -m tools.bench.channels

bench-delivery: $(MODEL) ## 50 customers x 10 messages (REST and websocket): lost, twice, out of order, speed
	$(PY) -m tools.delivery

bench-faq: $(VENV)/.installed ## FAQ retrieval: scores on tests/faq/dev.jsonl, then latency, build time and RSS per encoder
	$(PY) -m tools.faq eval tests/faq/dev.jsonl
	$(PY) -m tools.faq bench
