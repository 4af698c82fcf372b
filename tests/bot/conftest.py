"""Puts the repository root on sys.path so tests import the `bot` package without installing it.

Also the fixtures of the actions' unit tests (tests/bot/test_actions_*.py): the real domain, and a real local
fake of the api (tests/bot/actions_fixtures.py) that the actions' client is pointed at.
"""

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Only importable once the repository root is on the path.
from actions import api_client  # noqa: E402
from tests.bot.actions_fixtures import TEST_ACTIONS_TOKEN, FakeApi, closed_port_url, load_domain  # noqa: E402


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return load_domain()


def _point_client_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    config = dataclasses.replace(api_client.CONFIG, api_url=url, actions_token=TEST_ACTIONS_TOKEN, timeout_seconds=5)
    monkeypatch.setattr(api_client, "CONFIG", config)


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    """A real local api on a free port, which the actions' client is pointed at for the test."""
    api = FakeApi()
    api.start()
    _point_client_at(monkeypatch, api.url)
    yield api
    api.stop()


@pytest.fixture
def api_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """The actions' client points at a port where nothing listens."""
    _point_client_at(monkeypatch, closed_port_url())
