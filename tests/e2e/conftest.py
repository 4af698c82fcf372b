"""The three real services on free ports, over a throw-away database loaded with the demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.stack import ROOT, Stack, free_port

CREDITOR_KEY = "e2e-creditor-key"
ALWAYS_OPEN = {
    "timezone": "Europe/Paris",
    "weekly": {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[tuple[str, str | None]]:
    """The api's database URL and Rasa's tracker store URL: SQLite files (the embedded default), or, with
    `TEST_DATABASE=postgresql`, two databases on a throw-away PostgreSQL server (the scaled deployment's)."""
    if os.environ.get("TEST_DATABASE") != "postgresql":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'e2e.db'}", None
        return
    from tests.postgres import throwaway_postgres

    with throwaway_postgres() as server:
        trackers = server.create_database("rasa_trackers").replace("postgresql+psycopg://", "postgresql://")
        yield server.url, trackers


@pytest.fixture(scope="session")
def stack(tmp_path_factory, databases) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    database_url, tracker_store_url = databases
    api_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CREDITOR_API_KEY": CREDITOR_KEY,
        "API_PORT": str(api_port),
        "PYTHONPATH": str(ROOT),
    }
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "api.cli", command], cwd=ROOT, env=env, check=True, capture_output=True)
    stack = Stack(
        api_port=api_port,
        rasa_port=free_port(),
        actions_port=free_port(),
        twilio_port=free_port(),
        database_url=database_url,
        tracker_store_url=tracker_store_url,
        log_dir=workdir / "log",
        # Every test opens web-chat sessions from this one address: the per-client limit has its own test.
        # The follow-through's clock is the tests' (`python -m api.cli contacts-tick --now …`), not the wall
        # clock: no first contact or reminder leaves on its own in the middle of another test.
        extra_env={
            "CREDITOR_API_KEY": CREDITOR_KEY,
            "WEBCHAT_SESSIONS_PER_CLIENT_PER_HOUR": "100000",
            "SCHEDULER_ENABLED": "false",
        },
    )
    stack.start()
    # As `make run` does: a service that dies is restarted (the fault tests kill them).
    stack.supervise()
    # The tests run at any hour: the agents' team is at work all the time, unless a test says otherwise.
    settings = {"agent_hours": ALWAYS_OPEN, "expected_wait_minutes": 10, "review_disputes": False}
    answer = httpx.put(f"{stack.api_url}/api/v1/handoff-settings", json=settings, headers={"X-API-Key": CREDITOR_KEY})
    assert answer.status_code == 200, answer.text
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def creditor(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": CREDITOR_KEY}, timeout=30) as client:
        yield client
