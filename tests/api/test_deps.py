"""The database session of a request is committed before its response leaves."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app

ACCOUNT = {
    "reference": "CR-77001",
    "debtor_name": "Test",
    "date_of_birth": "1980-01-01",
    "language": "fr",
    "balance_minor": 1000,
    "due_date": "2026-10-01",
}


def test_a_failed_commit_is_answered_as_a_failure_not_a_success(database, creditor_headers, monkeypatch):
    def failing_commit(_session: Session) -> None:
        raise RuntimeError("the disk is full")

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        monkeypatch.setattr(Session, "commit", failing_commit)
        answer = client.post("/api/v1/accounts", json=ACCOUNT, headers=creditor_headers)
        monkeypatch.undo()
        assert answer.status_code == 500
        assert client.get("/api/v1/accounts/CR-77001", headers=creditor_headers).status_code == 404
