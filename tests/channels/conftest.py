"""Make the repository root importable (`import api`) however pytest is started, and give these tests the
api's fixtures (tests/api_fixtures.py) and their PostgreSQL variants (tests/postgres.py)."""

import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.api_fixtures import *  # noqa: E402, F403 - the fixtures, after the path above
from tests.postgres import *  # noqa: E402, F403 - the PostgreSQL variants (TEST_DATABASE=postgresql)
