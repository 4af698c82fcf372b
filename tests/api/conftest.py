"""Make the repository root importable (`import api`) however pytest is started; a real api on a throw-away
SQLite database, migrated with Alembic and loaded with the demo data, for the tests that need one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from fastapi.testclient import TestClient  # noqa: E402 - after the path above

from api.core.config import get_settings  # noqa: E402
from api.db import get_engine, get_sessionmaker  # noqa: E402

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
