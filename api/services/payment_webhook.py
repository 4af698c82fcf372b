"""Payments a payment provider posts to us: the creditor's webhook secret, and the signature that proves a
delivery comes from someone who holds it.

The provider sends `X-Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed
with the secret's text. The timestamp bounds replays to a window of `TOLERANCE` either side of now; a
replay inside the window is harmless, because a payment is recorded once per external_id (a repeat answers
the first payment and changes nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy.orm import Session

from api.core.logging import log
from api.models import Creditor, utcnow
from api.services.audit import audit
from api.services.errors import InvalidSignature, PaymentWebhookOff, StaleSignature

SIGNATURE_HEADER = "X-Payment-Signature"
SIGNATURE_SCHEME = "t=<unix>,v1=<hex hmac-sha256 of '<t>.<body>'>"
# Wide enough for a provider's clock drift and retries in flight, narrow enough that a captured delivery
# cannot be replayed later.
TOLERANCE = dt.timedelta(seconds=300)

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def new_secret(session: Session, creditor: Creditor) -> str:
    """Gives the creditor a new webhook secret and answers it (the only time it is shown): the previous one
    stops working at once."""
    had_one = creditor.payment_webhook_secret is not None
    creditor.payment_webhook_secret = secrets.token_hex(32)
    audit(session, f"creditor:{creditor.id}", "payment_webhook_secret_rotated", "creditor", creditor.id, replaced=had_one)
    log.info("payment_webhook_secret_rotated", creditor_id=creditor.id, replaced=had_one)
    return creditor.payment_webhook_secret


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp` (what a provider computes; the docs and tests use it)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def authenticate(
    session: Session, creditor_id: int, header: str | None, body: bytes, *, now: dt.datetime | None = None
) -> Creditor:
    """The creditor whose webhook secret signed `body`. Raises PaymentWebhookOff when the creditor has no
    secret (or does not exist), InvalidSignature when the header is missing, malformed or wrong, and
    StaleSignature when it was made more than `TOLERANCE` away from `now`."""
    creditor = session.get(Creditor, creditor_id)
    if creditor is None or creditor.payment_webhook_secret is None:
        raise PaymentWebhookOff()
    try:
        verify(creditor.payment_webhook_secret, header, body, now=now)
    except InvalidSignature as error:
        log.warning("payment_webhook_refused", creditor_id=creditor_id, reason=error.code, signed=bool(header))
        raise
    return creditor


def verify(secret: str, header: str | None, body: bytes, *, now: dt.datetime | None = None) -> None:
    """Passes when `header` signs `body` with `secret` at a time within `TOLERANCE` of `now`; several v1
    values are allowed (one of them must match)."""
    timestamp, digests = _parse(header)
    expected = _digest(secret, timestamp, body)
    # Every candidate is compared, in constant time, so the answer's timing says nothing about the secret.
    matched = [hmac.compare_digest(expected, candidate) for candidate in digests]
    if not any(matched):
        raise InvalidSignature()
    moment = (now or utcnow()).timestamp()
    if abs(moment - timestamp) > TOLERANCE.total_seconds():
        raise StaleSignature()


def _parse(header: str | None) -> tuple[int, list[str]]:
    timestamp: int | None = None
    digests: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and _TIMESTAMP.match(value):
            timestamp = int(value)
        elif key == "v1" and _DIGEST.match(value.lower()):
            digests.append(value.lower())
    if timestamp is None or not digests:
        raise InvalidSignature()
    return timestamp, digests


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
