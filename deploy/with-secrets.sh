#!/bin/sh
# Exports the secrets this container was given (files /run/secrets/<name>) as environment variables <NAME>,
# upper case, then runs the command: the api's Settings, Rasa's endpoints.yml and the action server read their
# tokens from the environment. The JWT keys (rasa_jwt_*) stay files, read by path (RASA_JWT_PRIVATE_KEY_FILE,
# run-rasa.sh). SECRETS_DIR is for tests/scripts/test_deploy.py.
set -eu
secrets_dir="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
  for file in "$secrets_dir"/*; do
    [ -f "$file" ] || continue
    name=$(basename "$file")
    case "$name" in rasa_jwt_*) continue ;; esac
    export "$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')=$(cat "$file")"
  done
fi
exec "$@"
