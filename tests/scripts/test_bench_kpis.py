"""The KPI benchmark at a tiny size (bench/kpis.py): the portfolio is generated with every kind of fact, every
query is timed, and the JSON holds p50 and p95 for each; on PostgreSQL too (COPY), with the same figures."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from bench import kpis
from scripts.postgres import PostgresUnavailable, server_bin_dir

TINY = ["--accounts", "50", "--messages", "500", "--repeat", "2"]


def _run(tmp_path, database: str) -> dict:
    out = tmp_path / "kpis.json"
    kpis.main([*TINY, "--database", database, "--out", str(out)])
    return json.loads(out.read_text())


def test_a_tiny_portfolio_is_generated_and_every_query_timed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the throw-away database in pytest's folder
    report = _run(tmp_path, "sqlite")

    sqlite = report["databases"]["sqlite"]
    rows = sqlite["generation"]["rows"]
    assert (rows["accounts"], rows["messages"]) == (50, 500)  # the sizes asked, exactly
    for table in ("conversations", "verification_attempts", "commitments", "instalments", "payments", "allocations", "signals"):
        assert rows[table] > 0, rows
    assert set(sqlite["queries"]) == {query.name for query in kpis.QUERIES}
    for name, result in sqlite["queries"].items():
        assert len(result["seconds"]) == 2, name
        assert 0 < result["p50"] <= result["p95"], (name, result)
    assert sqlite["queries"]["export_12m"]["lines"] == 50  # every account was placed in the last 12 months
    assert report["last_30_days"]["messages"] > 0
    assert "ix_messages_created_at(created_at)" in sqlite["indexes"]["messages"]  # migrated, as the app does
    assert sqlite["size_mb"] > 0


@pytest.mark.postgres
def test_postgresql_gets_the_same_portfolio_and_the_same_figures(tmp_path):
    try:
        server_bin_dir()
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} CI must run the PostgreSQL tests.")
        pytest.skip(str(missing))
    report = _run(tmp_path, "both")  # PostgreSQL's own directory must be readable by its user: not pytest's

    databases = report["databases"]
    assert databases["postgresql"]["generation"]["rows"] == databases["sqlite"]["generation"]["rows"]
    for name, comparison in report["comparison"].items():
        assert databases["postgresql"]["queries"][name]["p95"] > 0
        # SQLite counts the agent's reply time in whole seconds (kpis._Dialect.seconds_between), PostgreSQL exactly.
        assert set(comparison["differences"]) <= {"agent_first_reply_seconds_avg"}, (name, comparison["differences"])
        assert all(difference < 1 for difference in comparison["differences"].values()), (name, comparison)
