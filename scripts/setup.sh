#!/usr/bin/env bash
# Installs whatever is missing, and nothing twice: the Rasa environment (Python 3.10), the api environment
# (Python 3.11+), the web widget, the trained model and the database. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE="${DEBTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/debtor-assistant}"
mkdir -p "$CACHE" .venv var

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
# pip warns about every extra index it cannot read; only real problems are worth showing.
quiet_pip() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; return "${PIPESTATUS[0]}"; }

find_python() {  # find_python 3.10 VAR_NAME: an interpreter of that minor version, portably
  local want=$1 override=$2 candidate
  local candidates=("${!override:-}" "python$want" "$(command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null)/versions/$want"*/bin/python "$HOME/.pyenv/versions/$want"*/bin/python "/usr/bin/python$want")
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && \
       [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# make_venv NAME PYTHON REQUIREMENTS LOCK: a cached virtual environment keyed by its inputs.
make_venv() {
  local name=$1 python=$2 requirements=$3 lock=$4
  local key; key=$(hash_of "$requirements" "$lock" <("$python" -VV))
  local target="$CACHE/venvs/$name-$key"
  if [ ! -f "$target/.complete" ]; then
    say "Creating the $name environment ($("$python" -V)) in $target"
    rm -rf "$target"
    "$python" -m venv "$target"
    quiet_pip "$target/bin/python" -m pip install --quiet --upgrade "pip<26" wheel
    quiet_pip "$target/bin/python" -m pip install --quiet -r "$requirements" -c "$lock"
    touch "$target/.complete"
  fi
  ln -sfn "$target" ".venv/$name"
}

PY310=$(find_python 3.10 PYTHON310) || {
  echo "Rasa 3.6 needs Python 3.10 and none was found. Install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2
  exit 1
}
PY311=""
for v in 3.11 3.12 3.13; do PY311=$(find_python $v PYTHON311) && break || true; done
[ -n "$PY311" ] || { echo "The api needs Python 3.11 or newer; set PYTHON311=/path/to/python3.11." >&2; exit 1; }

make_venv rasa "$PY310" requirements/rasa.in requirements/rasa.lock
make_venv api "$PY311" requirements/api.in requirements/api.lock

# The web widget (rasa-webchat from the npm registry), served by the api from our own origin.
WEB_KEY=$(hash_of web/package.json web/package-lock.json)
if [ ! -f "web/node_modules/.installed-$WEB_KEY" ]; then
  say "Installing the web widget (npm ci)"
  (cd web && rm -rf node_modules && npm ci --no-audit --no-fund --loglevel=error && touch "node_modules/.installed-$WEB_KEY")
fi

# The model: trained only when what the weights are learnt from changed: the training data, the domain, the
# config and the modules of our components that config.yml names (bot/components.py, bot/text_features.py,
# ...). The helpers those components call at run time (bot/parsing.py, bot/keywords.py: rules, nothing learnt)
# and bot/channels.py are loaded by Rasa at start-up, not stored in the model, so changing them does not
# retrain. A component that learns must live in a module config.yml names.
COMPONENT_MODULES=$(grep -o 'bot\.[a-z_]*\.' config.yml | sed 's/\.$//; s#\.#/#; s/$/.py/' | sort -u)
MODEL_KEY=$(hash_of config.yml domain.yml $COMPONENT_MODULES $(find data -type f -name '*.yml' | sort))
MODEL="models/$MODEL_KEY.tar.gz"
mkdir -p models "$CACHE/models"
if [ ! -f "$MODEL" ] && [ -f "$CACHE/models/$MODEL_KEY.tar.gz" ]; then
  cp "$CACHE/models/$MODEL_KEY.tar.gz" "$MODEL"
fi
if [ ! -f "$MODEL" ]; then
  # Contradicting rules fail the training only at its end: the rule policy alone finds them in seconds.
  say "Checking the rules and stories for contradictions (rule policy alone)"
  rules_only=$(mktemp -d)
  printf 'recipe: default.v1\nlanguage: en\nassistant_id: rules-check\npipeline: []\npolicies:\n  - name: RulePolicy\n' > "$rules_only/config.yml"
  RASA_TELEMETRY_ENABLED=false PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=2 .venv/rasa/bin/rasa train core \
    -c "$rules_only/config.yml" --out "$rules_only" --quiet >"$rules_only/log" 2>&1 || { cat "$rules_only/log"; exit 1; }
  rm -rf "$rules_only"
  say "Training the model (data changed): the NLU classifier, then the dialogue policies' epochs, each with a progress bar"
  train_start=$(date +%s)
  RASA_TELEMETRY_ENABLED=false PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=2 .venv/rasa/bin/rasa train --fixed-model-name "$MODEL_KEY" --out models
  say "Model trained in $(( $(date +%s) - train_start )) s"
fi
# The cache serves the next clean checkout (CI on this machine) without training again.
[ -f "$CACHE/models/$MODEL_KEY.tar.gz" ] || cp "$MODEL" "$CACHE/models/"
ln -sfn "$MODEL_KEY.tar.gz" models/current.tar.gz

say "Migrating the database"
.venv/api/bin/python -m api.cli migrate
