"""The load benchmark's smoke run on the scaled topology (bench/load.py): debtors complete journeys through both
doors, and the ledger read from stored state shows nothing lost and nothing duplicated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.postgres import PostgresUnavailable, server_bin_dir
from scripts.stack import MODEL, ROOT

pytestmark = pytest.mark.postgres


def _missing() -> list[str]:
    """What the scaled topology needs and this machine lacks."""
    missing = [b for b in ("redis-server", "nginx") if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    try:
        server_bin_dir()
    except PostgresUnavailable:
        missing.append("PostgreSQL's server binaries")
    if not MODEL.exists():
        missing.append("a trained model (make setup)")
    return missing


def test_smoke_load_on_the_scaled_topology_loses_and_duplicates_nothing(tmp_path):
    if missing := _missing():
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: CI must run the scaled load smoke test (.ci/run installs them).")
        pytest.skip(f"{', '.join(missing)} missing")
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "--smoke", "--topology", "scaled", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    scaled = json.loads(out.read_text())["topologies"]["scaled"]
    ledger = scaled["ledger"]

    assert scaled["journeys"]["completed"] >= 1, scaled["journeys"]
    assert (ledger["lost"], ledger["duplicated"]) == (0, 0), ledger
    assert ledger["messages_in"] == ledger["client_sent"] == ledger["client_got_a_reply"] > 0, ledger
    assert done.returncode == 0, done.stdout[-3000:]
    assert scaled["turns_per_second"] > 0
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        assert scaled["latency"][key] is not None, scaled["latency"]
    for service in ("api-1", "api-2", "rasa-1", "rasa-2", "postgres"):
        assert scaled["resources"][service]["rss_max_mb"] > 0, scaled["resources"]
        assert scaled["resources"][service]["rss_mean_mb"] > 0
    assert "0 lost, 0 duplicated" in done.stdout
