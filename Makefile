# The two commands: `make run` and `make test`. Both install whatever is missing first.
.DEFAULT_GOAL := help
SHELL := /bin/bash

.PHONY: help setup run run-scaled test test-rasa test-bot test-api validate train seed lint

help:
	@echo "make run    install what is missing, then start the Rasa server, the action server and the api"
	@echo "make test   install what is missing, then run every test (lint and type checks first)"
	@echo "make run-scaled   the scaled topology locally: PostgreSQL, Redis, 2 Rasa + 2 action servers, 2 api workers, nginx"
	@echo "make bench-load   200 debtors for 10 minutes over the real doors, embedded default vs scaled topology"
	@echo "make lint   ruff (lint and format) and mypy; a finding fails"
	@echo "make bench-followthrough   one simulated month of reminders and payments over 10,000 accounts: contacts decided/s and the proof of the contact rules"
	@echo "make bench-kpis   the KPI report and the dashboard on 100,000 generated accounts and 2 million messages, SQLite and PostgreSQL: p50/p95 per query"

setup:
	@scripts/setup.sh

seed: setup
	@.venv/api/bin/python -m api.cli seed-demo

run: seed
	@.venv/api/bin/python scripts/stack.py

# The scaled topology on this machine (docs/deploy.md): PostgreSQL, Redis, 2 Rasa servers with their action
# servers, 2 api workers behind nginx (Debian's postgresql, redis-server and nginx-light packages).
run-scaled: setup
	@.venv/api/bin/python scripts/stack.py --scaled

validate: setup
	.venv/rasa/bin/python scripts/validate_data.py

test-rasa: setup
	.venv/rasa/bin/rasa test core --model models/current.tar.gz --stories tests/test_stories_fr.yml --out var/results/fr --e2e --fail-on-prediction-errors --quiet
	.venv/rasa/bin/rasa test core --model models/current.tar.gz --stories tests/test_stories_en.yml --out var/results/en --e2e --fail-on-prediction-errors --quiet

test-bot: setup
	.venv/rasa/bin/python -m pytest tests/bot -q

test-api: setup
	.venv/api/bin/python -m pytest tests/test_architecture.py tests/test_promises.py tests/api tests/channels tests/scripts tests/e2e -q

# mypy covers the api and the doors; the Rasa side (bot/, actions/) runs on Python 3.10 with Rasa's own
# pins and is checked by ruff only.
lint: setup
	.venv/api/bin/ruff check .
	.venv/api/bin/ruff format --check .
	.venv/api/bin/mypy api channels

test: setup
	@scripts/test.sh

.PHONY: bench-nlu bench-turn

bench-nlu:
	.venv/rasa/bin/python -m bench.nlu --model models/current.tar.gz --out var/bench/nlu

bench-turn:
	.venv/api/bin/python -m bench.turn --baseline-config bench/configs/rasa_init.yml

# 200 debtors for 10 minutes over socket.io and signed Twilio webhooks, embedded default vs scaled topology.
.PHONY: bench-load
bench-load:
	@test -x .venv/api/bin/python || { echo "no api environment (.venv/api): run make setup first" >&2; exit 1; }
	.venv/api/bin/python -m bench.load

.PHONY: bench-sms
bench-sms:
	.venv/api/bin/python -m bench.sms

# No `setup` prerequisite, like the other benchmarks (setup may train a model); only the api environment is needed.
.PHONY: bench-followthrough
bench-followthrough:
	@test -x .venv/api/bin/python || { echo "no api environment (.venv/api): run make setup first" >&2; exit 1; }
	.venv/api/bin/python -m bench.followthrough

# The KPI report on a generated portfolio, SQLite and PostgreSQL (Debian's postgresql package); ~25-35 min.
.PHONY: bench-kpis
bench-kpis:
	@test -x .venv/api/bin/python || { echo "no api environment (.venv/api): run make setup first" >&2; exit 1; }
	.venv/api/bin/python -m bench.kpis

# Text the assistant as a debtor through the fake Twilio (needs the api and scripts/fake_twilio.py running):
#   make sms BODY="bonjour"   make sms FROM=+33612345678 WHATSAPP=1 BODY="je peux payer 30 euros"
.PHONY: sms
FROM ?= +33612345678

sms:
	.venv/api/bin/python scripts/sms.py --from "$(FROM)" $(if $(WHATSAPP),--whatsapp) "$(BODY)"
