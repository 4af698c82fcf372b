"""Fresh debtors for end-to-end tests, created through the creditor API (each test has its own records)."""

from __future__ import annotations

import uuid

import httpx


def new_account(creditor: httpx.Client, language: str, **overrides: object) -> dict:
    """A fresh debtor with a phone number of their own (the same data as the demo's Marie or Sarah)."""
    # Unique across test modules (pytest may import this module twice under two names).
    n = uuid.uuid4().int % 10**8
    account = {
        "reference": f"CR-9{n:08d}",
        "debtor_name": "Marie Dupont" if language == "fr" else "Sarah Thompson",
        "phone": f"+3361{n:08d}" if language == "fr" else f"+4477{n:08d}",
        "date_of_birth": "1985-03-12" if language == "fr" else "1990-05-04",
        "postcode": "75011" if language == "fr" else "SW1A 1AA",
        "language": language,
        "timezone": "Europe/Paris" if language == "fr" else "Europe/London",
        "balance_minor": 38000,
        "fees_minor": 2000,
        "due_date": "2026-10-15",
        "origin": "Facture d'électricité n° 2026-0815" if language == "fr" else "Electricity bill 2026-0815",
        **overrides,
    }
    response = creditor.post("/api/v1/accounts", json=account)
    assert response.status_code == 201, response.text
    return account
