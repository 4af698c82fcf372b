"""The payment provider's webhook (POST /api/v1/payments/webhook/{creditor_id}), signed with the creditor's
secret (POST /api/v1/payments/webhook-secret): what is signed right is recorded once, anything else nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from api.db import session_scope
from api.deps import hash_api_key
from api.models import Account, AuditEntry, Creditor, Payment
from api.services.errors import InvalidSignature, StaleSignature
from api.services.payment_webhook import TOLERANCE, sign, verify
from tests.api_fixtures import CREDITOR_KEY

PAYMENT = {
    "reference": "CR-10001",
    "amount_minor": 10_000,
    "currency": "EUR",
    "paid_at": "2026-11-20T10:30:00+01:00",
    "method": "card",
    "external_id": "psp-ch_0001",
}


def creditor_id() -> int:
    with session_scope() as session:
        return session.scalars(select(Creditor.id).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()


def new_secret(client, creditor_headers) -> str:
    response = client.post("/api/v1/payments/webhook-secret", headers=creditor_headers)
    assert response.status_code == 200, response.text
    assert response.json()["header"] == "X-Payment-Signature"
    assert response.json()["scheme"] == "t=<unix>,v1=<hex hmac-sha256 of '<t>.<body>'>"
    return response.json()["secret"]


def deliver(client, body: bytes, signature: str | None, creditor: int | None = None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Payment-Signature"] = signature
    return client.post(f"/api/v1/payments/webhook/{creditor or creditor_id()}", content=body, headers=headers)


def body_of(**changes) -> bytes:
    return json.dumps({**PAYMENT, **changes}).encode()


def payments_recorded() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Payment.id))) or 0


def balance() -> int:
    with session_scope() as session:
        return session.scalars(select(Account.balance_minor).where(Account.reference == "CR-10001")).one()


def test_a_signed_payment_is_recorded_with_201_and_a_repeat_answers_200_without_counting_it_twice(client, creditor_headers):
    secret = new_secret(client, creditor_headers)
    body = body_of()
    first = deliver(client, body, sign(secret, body, int(time.time())))
    assert first.status_code == 201, first.text
    assert first.json()["external_id"] == "psp-ch_0001" and first.json()["amount_minor"] == 10_000
    assert balance() == 38_000 - 10_000

    # The provider retries (a new signature), or someone replays the same delivery within the window.
    again = deliver(client, body, sign(secret, body, int(time.time())))
    assert again.status_code == 200 and again.json() == first.json()
    replay = deliver(client, body, first.request.headers["X-Payment-Signature"])
    assert replay.status_code == 200
    assert payments_recorded() == 1 and balance() == 38_000 - 10_000
    with session_scope() as session:
        assert session.scalars(select(Payment.source)).one() == "webhook"


def test_the_signature_follows_the_documented_recipe(client, creditor_headers):
    secret = new_secret(client, creditor_headers)
    body, timestamp = body_of(), int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(secret, body, timestamp) == f"t={timestamp},v1={digest}"
    assert deliver(client, body, f"t={timestamp},v1={digest}").status_code == 201


@pytest.mark.parametrize(
    "case",
    ["forged signature", "wrong secret", "missing header", "malformed header", "expired timestamp", "body changed", "future"],
)
def test_what_is_not_signed_right_is_refused_with_401_and_stores_nothing(client, creditor_headers, case):
    secret = new_secret(client, creditor_headers)
    body, now = body_of(), int(time.time())
    signature: str | None = sign(secret, body, now)
    if case == "forged signature":
        signature = f"t={now},v1={'0' * 64}"
    elif case == "wrong secret":
        signature = sign("someone-elses-secret", body, now)
    elif case == "missing header":
        signature = None
    elif case == "malformed header":
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    elif case == "expired timestamp":
        signature = sign(secret, body, now - 301)
    elif case == "future":
        signature = sign(secret, body, now + 301)
    elif case == "body changed":
        signature = sign(secret, body_of(amount_minor=100), now)
    before = payments_recorded()
    response = deliver(client, body, signature)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    expected = "stale_signature" if case in ("expired timestamp", "future") else "invalid_signature"
    assert response.json()["type"] == f"urn:problem:{expected}"
    assert payments_recorded() == before == 0 and balance() == 38_000


def test_a_creditor_without_a_webhook_secret_or_an_unknown_creditor_gets_404_and_nothing_is_stored(client):
    body = body_of()
    for creditor in (creditor_id(), 9_999):
        response = deliver(client, body, sign("anything", body, int(time.time())), creditor)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:problem:payment_webhook_off"
    assert payments_recorded() == 0


def test_rotating_the_secret_makes_the_old_one_fail(client, creditor_headers):
    old = new_secret(client, creditor_headers)
    new = new_secret(client, creditor_headers)
    assert old != new and len(new) == 64
    body = body_of()
    refused = deliver(client, body, sign(old, body, int(time.time())))
    assert refused.status_code == 401 and payments_recorded() == 0
    assert deliver(client, body, sign(new, body, int(time.time()))).status_code == 201
    with session_scope() as session:
        rotations = session.scalars(select(AuditEntry).where(AuditEntry.action == "payment_webhook_secret_rotated")).all()
        assert [entry.detail for entry in rotations] == [{"replaced": False}, {"replaced": True}]
        assert all(old not in json.dumps(e.detail) and new not in json.dumps(e.detail) for e in rotations)


def test_the_secret_is_made_only_with_the_creditors_api_key(client):
    assert client.post("/api/v1/payments/webhook-secret").status_code == 401
    assert client.post("/api/v1/payments/webhook-secret", headers={"X-API-Key": "wrong"}).status_code == 401


def test_a_signed_body_is_checked_like_the_apis(client, creditor_headers):
    secret = new_secret(client, creditor_headers)
    for body, status in (
        (body_of(paid_at="2026-11-20T10:30:00"), 422),  # no offset
        (body_of(amount_minor="100"), 422),
        (b"{not json", 422),
        (body_of(currency="GBP"), 422),
        (body_of(reference="CR-99999"), 404),
    ):
        response = deliver(client, body, sign(secret, body, int(time.time())))
        assert response.status_code == status, (body, response.text)
    assert payments_recorded() == 0


def test_the_replay_window_is_five_minutes_either_side_of_the_injected_clock():
    body, secret = body_of(), "s" * 64
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
    t = int(now.timestamp())
    assert TOLERANCE.total_seconds() == 300
    for offset in (-300, 0, 300):
        verify(secret, sign(secret, body, t + offset), body, now=now)
    for offset in (-301, 301):
        with pytest.raises(StaleSignature):
            verify(secret, sign(secret, body, t + offset), body, now=now)
    # Several v1 values (a provider rolling its own keys): one that matches is enough.
    verify(secret, f"t={t},v1={'a' * 64},v1={sign(secret, body, t).split('v1=')[1]}", body, now=now)
    for header in (None, "", "t=,v1=", f"t={t}", f"v1={'a' * 64}", f"t=abc,v1={'a' * 64}", f"t={t},v1=é"):
        with pytest.raises(InvalidSignature):
            verify(secret, header, body, now=now)


def test_the_webhook_routes_are_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    webhook = paths["/api/v1/payments/webhook/{creditor_id}"]["post"]
    assert set(webhook["responses"]) >= {"200", "201", "401", "404", "409", "422"}
    assert webhook["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PaymentIn"}
    assert any(p["name"] == "X-Payment-Signature" for p in webhook["parameters"])
    secret = paths["/api/v1/payments/webhook-secret"]["post"]
    assert secret["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaymentWebhookSecretOut"
    }
