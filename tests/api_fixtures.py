"""The api's test fixtures: a real api on a throw-away SQLite database, migrated with Alembic and loaded with
the demo data. Star-imported by the conftest of every folder whose tests need the api (tests/api,
tests/channels)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.core.config import get_settings
from api.core.limits import get_throttle
from api.core.rasa_auth import ensure_key_pair
from api.db import get_engine, get_sessionmaker, session_scope
from api.deps import hash_api_key
from api.models import Conversation, Creditor

__all__ = ["CREDITOR_KEY", "actions_headers", "client", "creditor_headers", "database", "make_commitment", "rasa_jwt_key"]

CREDITOR_KEY = "test-creditor-key"


@pytest.fixture(scope="session")
def rasa_jwt_key(tmp_path_factory) -> Path:
    """The key the api signs Rasa's JWTs with (made once per test session)."""
    key_file = tmp_path_factory.mktemp("rasa-jwt") / "key.pem"
    ensure_key_pair(key_file)
    return key_file


# `TEST_DATABASE=postgresql` runs every test that uses `database` on PostgreSQL (tests/postgres.py) instead
# of SQLite: scripts/test.sh runs the api suite both ways.
ON_POSTGRESQL = os.environ.get("TEST_DATABASE") == "postgresql"


@pytest.fixture
def database(request, tmp_path, monkeypatch, rasa_jwt_key) -> Iterator[str]:
    if ON_POSTGRESQL:
        monkeypatch.setenv("RASA_JWT_PRIVATE_KEY_FILE", str(rasa_jwt_key))
        get_throttle.cache_clear()
        yield request.getfixturevalue("postgres_database")
        get_throttle.cache_clear()
        return
    url = f"sqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RASA_JWT_PRIVATE_KEY_FILE", str(rasa_jwt_key))
    monkeypatch.setenv("CREDITOR_API_KEY", CREDITOR_KEY)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://testserver")
    # Tests run the follow-through scheduler themselves, with the clock they choose.
    monkeypatch.setenv("SCHEDULER_ENABLED", "false")
    for cached in (get_settings, get_engine, get_sessionmaker, get_throttle):
        cached.cache_clear()
    from api.cli import migrate, seed_demo

    migrate()
    seed_demo()
    yield url
    get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker, get_throttle):
        cached.cache_clear()


@pytest.fixture
def client(database) -> Iterator[TestClient]:
    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def creditor_headers() -> dict[str, str]:
    return {"X-API-Key": CREDITOR_KEY}


@pytest.fixture
def actions_headers() -> dict[str, str]:
    return {"X-Actions-Token": get_settings().actions_token}


def make_commitment(client, actions_headers, proposal, reference="CR-10001", date_of_birth="1985-03-12") -> dict:
    """A commitment agreed through the action server's API (verify, offer, summary, accept)."""
    with session_scope() as session:
        creditor_id = session.scalar(select(Creditor.id).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY)))
        conversation = Conversation(creditor_id=creditor_id, channel="webchat", channel_address=f"pay-{reference}")
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id

    def bot(path, json=None):
        return client.post(f"/internal/v1/conversations/{conversation_id}{path}", json=json, headers=actions_headers)

    assert bot("/verify", {"reference": reference, "date_of_birth": date_of_birth}).json()["status"] == "verified"
    offer = bot("/offers", proposal).json()
    assert offer["accepted"], offer
    bot(f"/offers/{offer['offer_id']}/summary")
    accepted = bot(f"/offers/{offer['offer_id']}/accept", {"agreed_summary": "as summarised"})
    assert accepted.status_code == 201
    return {**offer, "commitment_reference": accepted.json()["commitment_reference"]}
