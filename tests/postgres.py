"""PostgreSQL for tests: one throw-away server (scripts/postgres.py) per run, a fresh database per test.
Without Debian's server binaries the tests are skipped on a laptop and fail under CI, which must run them.
Star-imported by tests/api/conftest.py, like tests/api_fixtures.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.core.config import get_settings
from api.db import get_engine, get_sessionmaker
from scripts.postgres import PostgresServer, PostgresUnavailable, server_bin_dir, throwaway_postgres
from tests.api_fixtures import CREDITOR_KEY

__all__ = ["postgres_client", "postgres_database", "postgres_server", "postgres_template", "throwaway_postgres"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the whole run; skipped without PostgreSQL, except under CI (CI must test it)."""
    try:
        bin_dir = server_bin_dir()
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} CI must run the PostgreSQL tests (.ci/run installs the package).")
        pytest.skip(str(missing))
    with throwaway_postgres(bin_dir) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A database migrated with Alembic and seeded with the demo data, once: each test's database is a copy
    (`CREATE DATABASE … TEMPLATE`, a file copy) instead of running the migrations again."""
    name, url = postgres_server.new_database()
    with pytest.MonkeyPatch.context() as env:
        _point_the_api_at(env, url)
        from api.cli import migrate, seed_demo

        migrate()
        seed_demo()
        get_engine().dispose()
        for cached in (get_settings, get_engine, get_sessionmaker):
            cached.cache_clear()
    return name


def _point_the_api_at(env: pytest.MonkeyPatch, url: str) -> None:
    env.setenv("DATABASE_URL", url)
    env.setenv("CREDITOR_API_KEY", CREDITOR_KEY)
    env.setenv("PUBLIC_BASE_URL", "http://testserver")
    env.setenv("SCHEDULER_ENABLED", "false")
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer, postgres_template: str, monkeypatch) -> Iterator[str]:
    """The `database` fixture on PostgreSQL: a fresh copy of the migrated and seeded database, with the api's
    settings and engine pointed at it; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres_server.admin(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(postgres_template))
    )
    url = postgres_server.url_of(name)
    _point_the_api_at(monkeypatch, url)
    yield url
    get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()
    postgres_server.drop_database(name)


@pytest.fixture
def postgres_client(postgres_database) -> Iterator[TestClient]:
    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
