#!/bin/sh
# Starts the Rasa server as scripts/stack.py does, listening on the private network. Rasa is given only the
# public key (the api signs with the private one, api/core/rasa_auth.py); sanic-jwt insists on a private key
# for RS256 though Rasa never signs anything, hence the placeholder.
set -eu
public_key_file="${SECRETS_DIR:-/run/secrets}/rasa_jwt_public_key"
[ -s "$public_key_file" ] || { echo "missing secret: $public_key_file (see deploy/README.md)" >&2; exit 1; }
exec rasa run \
  --enable-api \
  --jwt-secret "$(cat "$public_key_file")" \
  --jwt-method RS256 \
  --jwt-private-key unused-rasa-never-signs \
  --model /app/models/current.tar.gz \
  --port 5005 \
  --interface 0.0.0.0 \
  --endpoints endpoints.yml \
  --credentials credentials.yml
