"""The api's test fixtures: a real api on a throw-away SQLite database, migrated with Alembic and loaded with
the demo data. Star-imported by the conftest of every folder whose tests need the api (tests/api,
tests/channels)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.core.config import get_settings
from api.db import get_engine, get_sessionmaker

__all__ = ["CREDITOR_KEY", "actions_headers", "client", "creditor_headers", "database"]

CREDITOR_KEY = "test-creditor-key"


@pytest.fixture
def database(tmp_path, monkeypatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CREDITOR_API_KEY", CREDITOR_KEY)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://testserver")
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()
    from api.cli import migrate, seed_demo

    migrate()
    seed_demo()
    yield url
    get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker):
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
