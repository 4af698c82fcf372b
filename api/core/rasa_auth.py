"""How the api proves itself to Rasa's HTTP API: a short-lived JWT signed with the api's private key (RS256).

Rasa is started with only the public key (`rasa run --jwt-secret <public key> --jwt-method RS256`), so neither
a query string nor the process list ever shows a secret, and nothing Rasa holds can sign a token. The
development stack makes the key pair on its first start (`ensure_key_pair`); a deployment provides its own
private key file (`RASA_JWT_PRIVATE_KEY_FILE`).
"""

from __future__ import annotations

import datetime as dt
import time
from functools import cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LIFETIME = dt.timedelta(minutes=10)
# Rasa's roles: `admin` may use every endpoint (the api updates any conversation's tracker).
CLAIMS = {"user": {"username": "debtor-assistant-api", "role": "admin"}}


def ensure_key_pair(private_key_file: Path) -> str:
    """The public key (PEM) of the key pair in `private_key_file`, made there first if missing (mode 0600)."""
    if not private_key_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_key_file.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        private_key_file.touch(mode=0o600)
        private_key_file.write_bytes(pem)
    return public_key(private_key_file)


def public_key(private_key_file: Path) -> str:
    key = serialization.load_pem_private_key(private_key_file.read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@cache
def _private_key(private_key_file: Path) -> bytes:
    return private_key_file.read_bytes()


_issued: dict[Path, tuple[float, str]] = {}


def bearer(private_key_file: Path) -> dict[str, str]:
    """The Authorization header for Rasa's HTTP API (a token reused until close to its expiry)."""
    now = time.time()
    issued = _issued.get(private_key_file)
    if issued is None or issued[0] - now < 60:
        expires = now + LIFETIME.total_seconds()
        token = jwt.encode({**CLAIMS, "iat": int(now), "exp": int(expires)}, _private_key(private_key_file), algorithm="RS256")
        issued = _issued[private_key_file] = (expires, token)
    return {"Authorization": f"Bearer {issued[1]}"}
