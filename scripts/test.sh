#!/usr/bin/env bash
# Every test, in order of cost; exits non-zero as soon as a suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "Lint and types: ruff check, ruff format --check, mypy (api/, channels/)"
.venv/api/bin/ruff check .
.venv/api/bin/ruff format --check .
.venv/api/bin/mypy api channels

say "Training data and domain: rasa data validate"
.venv/rasa/bin/python scripts/validate_data.py

say "Conversation tests: rasa test (French, then English)"
for lang in fr en; do
  .venv/rasa/bin/rasa test core --model models/current.tar.gz --stories "tests/test_stories_$lang.yml" \
    --out "var/results/$lang" --e2e --fail-on-prediction-errors --quiet
done

say "Bot-side unit tests (parsing, entity extractor)"
.venv/rasa/bin/python -m pytest tests/bot -q -p no:cacheprovider

say "api unit, integration and end-to-end tests (SQLite, the embedded default)"
.venv/api/bin/python -m pytest tests/test_architecture.py tests/test_promises.py tests/api tests/channels tests/scripts tests/e2e -q -p no:cacheprovider -o faulthandler_timeout=600

say "The api and end-to-end tests again on PostgreSQL (a throw-away server; Rasa's trackers there too; the scaled tests ran on it already)"
TEST_DATABASE=postgresql .venv/api/bin/python -m pytest tests/api tests/channels tests/e2e -q -p no:cacheprovider \
  -o faulthandler_timeout=600 --deselect tests/api/test_postgres.py --deselect tests/e2e/test_scaled.py
