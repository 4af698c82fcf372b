"""Limits on anonymous load: no body larger than any door needs is read, sign-in is throttled per client
(unknown e-mails cost a password hash each), the creditor API per key, document unlocks per client."""

from __future__ import annotations

import tracemalloc

from api.core.config import get_settings


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(client):
    limit = get_settings().max_request_body_bytes
    tracemalloc.start()
    huge = b'{"email": "a@b.c", "password": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post("/console/api/session", content=huge, headers={"content-type": "application/json"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert str(limit) in response.json()["detail"]
    print(f"5 MB sign-in body refused; peak traced memory in the test process {peak / 1e6:.1f} MB (the body itself)")


def test_a_body_without_a_length_is_counted_as_it_arrives(client):
    limit = get_settings().max_request_body_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    response = client.post("/api/v1/payments", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_sign_in_is_throttled_per_client_even_for_unknown_emails(client):
    limit = get_settings().console_sign_ins_per_client_per_15_minutes
    statuses = [
        client.post(
            "/console/api/session", json={"email": f"nobody{n}@example.com", "password": "wrong-password-123"}
        ).status_code
        for n in range(limit + 3)
    ]
    assert statuses[:limit] == [401] * limit and statuses[limit:] == [429] * 3


def test_the_creditor_api_is_throttled_per_key(client, creditor_headers, monkeypatch):
    from api.core import limits

    monkeypatch.setenv("CREDITOR_REQUESTS_PER_MINUTE", "5")
    get_settings.cache_clear()
    limits.get_throttle.cache_clear()
    statuses = [client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["status"] == 429
