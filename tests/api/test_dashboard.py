"""The console's dashboard over HTTP (/console/api/dashboard, /console/dashboard): each person sees the figures
of the creditors they serve and no other; the figures are api/services/kpis.py's for the same question (the
portfolio of tests/kpi_dataset.py); the experiments are the creditor API's reports; and a manager reads the
dashboard and nothing else: every state-changing console route refuses one."""

from __future__ import annotations

import io
import re
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from api import cli
from api.db import session_scope
from api.models import Account, Agent, AuditEntry, Experiment, Handoff
from api.routes import console, dashboard
from api.services import agents, experiments, kpis
from api.services.dashboard import bucket_labels, empty_group
from api.states import AgentRole
from tests.kpi_dataset import ALPHA_KEY, BETA_KEY, MARCH, Portfolio, seed_portfolio

PASSWORD = "a-long-enough-password"
DASHBOARD = "/console/api/dashboard"
MARCH_QUERY = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}
# Signing in and out is every console user's: the only state-changing routes a manager may call.
SESSION_ROUTES = {("POST", "/console/api/session"), ("DELETE", "/console/api/session")}


@pytest.fixture
def portfolio(client) -> Portfolio:
    return seed_portfolio()


def person(email: str, creditor_ids: list[int], role: AgentRole = AgentRole.AGENT) -> int:
    with session_scope() as session:
        return agents.create_agent(
            session, email=email, name=email.split("@")[0].title(), password=PASSWORD, creditor_ids=creditor_ids, role=role
        ).id


def sign_in(client: TestClient, email: str) -> dict[str, str]:
    client.cookies.clear()
    response = client.post("/console/api/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def dashboard_kpis(client: TestClient, creditor_id: int, **filters: str) -> dict:
    response = client.get(f"{DASHBOARD}/kpis", params={"creditor_id": creditor_id, **MARCH_QUERY, **filters})
    assert response.status_code == 200, response.text
    return response.json()


def service_groups(creditor_id: int, dimensions: tuple[str, ...] = (), bucket: str | None = None) -> list[dict]:
    """What api/services/kpis.py answers for March, as JSON (the way the api writes it)."""
    with session_scope() as session:
        report = kpis.report(session, creditor_id, kpis.Period.of(*MARCH), kpis.Grouping(dimensions, bucket))
    return [group.model_dump(mode="json") for group in report.groups]


def console_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) of the console: its pages, its API and the dashboard's, and whatever else the OpenAPI
    schema lists under /console (a console route added in another module is walked too)."""
    found = {
        (method, route.path)
        for router in (console.router, console.api, dashboard.router)
        for route in router.routes
        for method in getattr(route, "methods", None) or ()
    }
    schema = client.get("/openapi.json").json()["paths"]
    listed = {(method.upper(), path) for path, item in schema.items() if path.startswith("/console") for method in item}
    return found | listed


def matching(groups: list[dict], **key: str) -> list[dict]:
    return [g for g in groups if all(g["key"].get(name) == value for name, value in key.items())]


# --- who sees what ----------------------------------------------------------------------------------------------


def test_an_agent_of_one_creditor_never_sees_another_creditors_figures(client, portfolio):
    person("alpha.agent@agency.example", [portfolio.alpha])
    sign_in(client, "alpha.agent@agency.example")
    scope = client.get(DASHBOARD).json()
    assert scope == {"role": "agent", "creditors": [{"id": portfolio.alpha, "name": "Alpha"}]}
    assert client.get(f"{DASHBOARD}/kpis", params={"creditor_id": portfolio.alpha, **MARCH_QUERY}).status_code == 200
    for path, params in (("/kpis", MARCH_QUERY), ("/experiments", {})):
        refused = client.get(f"{DASHBOARD}{path}", params={"creditor_id": portfolio.beta, **params})
        assert refused.status_code == 404, path
        assert refused.json()["type"] == "urn:problem:unknown_creditor"
        # A creditor that does not exist answers the same: nothing tells the two apart.
        assert client.get(f"{DASHBOARD}{path}", params={"creditor_id": 9999, **params}).json() == refused.json()


def test_a_person_serving_two_creditors_sees_each_apart(client, portfolio):
    person("both@agency.example", [portfolio.alpha, portfolio.beta], AgentRole.MANAGER)
    sign_in(client, "both@agency.example")
    assert [c["name"] for c in client.get(DASHBOARD).json()["creditors"]] == ["Alpha", "Beta"]
    alpha = dashboard_kpis(client, portfolio.alpha)
    beta = dashboard_kpis(client, portfolio.beta)
    assert alpha["creditor"]["name"] == "Alpha" and beta["creditor"]["name"] == "Beta"
    # B1, Beta's one account placed in March, is in Beta's figures only.
    assert beta["headline"]["accounts_placed"] == 1
    assert alpha["headline"] == service_groups(portfolio.alpha)[0]
    assert beta["headline"] == service_groups(portfolio.beta)[0]


def test_the_dashboard_needs_a_signed_in_person(client, portfolio):
    assert client.get(DASHBOARD).status_code == 401
    assert client.get(f"{DASHBOARD}/kpis", params={"creditor_id": portfolio.alpha, **MARCH_QUERY}).status_code == 401
    page = client.get("/console/dashboard", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"


# --- the figures are the KPI service's ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [{}, {"channel": "sms"}, {"channel": "webchat"}, {"language": "en"}, {"channel": "sms", "language": "fr"}],
    ids=["everything", "sms", "webchat", "english", "sms-in-french"],
)
def test_every_figure_is_the_kpi_services_answer_to_the_same_question(client, portfolio, filters):
    person("reader@agency.example", [portfolio.alpha], AgentRole.MANAGER)
    sign_in(client, "reader@agency.example")
    body = dashboard_kpis(client, portfolio.alpha, **filters)
    dims = tuple(name for name in ("channel", "language") if name in filters)
    assert body["channel"] == filters.get("channel") and body["language"] == filters.get("language")
    assert body["bucket"] == "day"  # a month: one point a day

    (headline,) = matching(service_groups(portfolio.alpha, dims), **filters)
    assert body["headline"] == headline
    assert body["series"] == matching(service_groups(portfolio.alpha, dims, "day"), **filters)
    assert len(body["series"]) == 31
    for name in ("channel", "language", "hardship_reason"):
        expected = matching(service_groups(portfolio.alpha, tuple(dict.fromkeys((*dims, name)))), **filters)
        assert body[f"by_{name}"] == expected, name
    assert [(s["stage"], s["count"]) for s in body["funnel"]] == [
        ("placed", headline["accounts_placed"]),
        ("contacted", headline["accounts_contacted"]),
        ("verified", headline["accounts_verified"]),
        ("promise", headline["commitments"]),
        ("kept", headline["plans_kept"]),
    ]


def test_the_figures_by_hand_on_the_portfolio(client, portfolio):
    """Read off tests/kpi_dataset.py's story: Alpha in March, everything and then SMS only."""
    person("hand@agency.example", [portfolio.alpha])
    sign_in(client, "hand@agency.example")
    everything = dashboard_kpis(client, portfolio.alpha)
    # Placed in March: A1, A2, A4, A7 (A5 at `to` is April's). Contacted: A1, A2, A3 (C3's message at `from`), A6, A7.
    assert [s["count"] for s in everything["funnel"]][:2] == [4, 5]
    sms = dashboard_kpis(client, portfolio.alpha, channel="sms")
    # By their first conversation's channel, A1 is the one SMS account placed in March; C1 and C3 are SMS.
    assert sms["headline"]["accounts_placed"] == 1 and sms["headline"]["conversations"] == 2
    assert [g["key"] for g in sms["by_channel"]] == [{"channel": "sms"}]
    assert {g["key"]["hardship_reason"] for g in sms["by_hardship_reason"]} == {"job_loss", "none"}
    assert sms["headline"]["handoffs"] == 0 and everything["headline"]["handoffs_by_reason"] == {
        "dispute": 1,
        "request_human": 1,
        "vulnerability": 1,
    }


def test_a_filter_nothing_matches_shows_zeros_and_every_bucket(client, portfolio):
    person("empty@agency.example", [portfolio.alpha])
    sign_in(client, "empty@agency.example")
    body = dashboard_kpis(client, portfolio.alpha, channel="whatsapp", language="en", bucket="week")
    assert body["headline"] == empty_group({"channel": "whatsapp", "language": "en"}).model_dump(mode="json")
    assert body["headline"]["conversations"] == 0 and body["headline"]["promise_to_pay_rate"] is None
    assert [s["count"] for s in body["funnel"]] == [0, 0, 0, 0, 0]
    # The weeks March touches, from Monday 23 February, as kpis.py labels them.
    weeks = [g["key"]["week"] for g in body["series"]]
    assert weeks == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    assert weeks == [g["key"]["week"] for g in service_groups(portfolio.alpha, (), "week")]
    assert body["by_channel"] == body["by_language"] == body["by_hardship_reason"] == []


def test_the_empty_groups_and_labels_are_kpis_own(database):
    """The two things the dashboard builds itself match what kpis.py answers without facts."""
    for unit in ("day", "week", "month"):
        period = kpis.Period.of(*MARCH)
        with session_scope() as session:
            report = kpis.report(session, 0, period, kpis.Grouping((), unit))  # no creditor 0: nothing found
        assert [g.key[unit] for g in report.groups] == bucket_labels(period, unit)
        assert all(g == empty_group(g.key) for g in report.groups)


def test_the_time_step_follows_the_period_unless_asked(client, portfolio):
    person("steps@agency.example", [portfolio.alpha])
    sign_in(client, "steps@agency.example")
    for start, end, step in (
        ("2026-03-01", "2026-04-01", "day"),
        ("2026-01-01", "2026-07-01", "week"),
        ("2025-04-01", "2026-04-01", "month"),
    ):
        params = {"creditor_id": portfolio.alpha, "from": f"{start}T00:00:00Z", "to": f"{end}T00:00:00Z"}
        assert client.get(f"{DASHBOARD}/kpis", params=params).json()["bucket"] == step
    asked = dashboard_kpis(client, portfolio.alpha, bucket="month")
    assert asked["bucket"] == "month" and [g["key"]["month"] for g in asked["series"]] == ["2026-03-01"]


def test_wrong_filters_are_refused_as_the_creditor_api_refuses_them(client, portfolio):
    person("typo@agency.example", [portfolio.alpha])
    sign_in(client, "typo@agency.example")
    base = {"creditor_id": portfolio.alpha, **MARCH_QUERY}
    too_long = client.get(f"{DASHBOARD}/kpis", params={**base, "from": "2023-01-01T00:00:00Z"})
    assert too_long.status_code == 422 and too_long.json()["type"] == "urn:problem:invalid_period"
    no_offset = client.get(f"{DASHBOARD}/kpis", params={**base, "from": "2026-03-01T00:00:00"})
    assert no_offset.status_code == 422
    for wrong in ({"channel": "fax"}, {"language": "de"}, {"bucket": "year"}):
        assert client.get(f"{DASHBOARD}/kpis", params={**base, **wrong}).status_code == 422, wrong


# --- the experiments -------------------------------------------------------------------------------------------------

EXPERIMENT = {
    "name": "Reminder lead time",
    "kind": "cadence",
    "target": "reminder_days_before",
    "arms": [{"name": "three_days", "ratio": 1, "value": 3}, {"name": "one_day", "ratio": 1, "value": 1}],
    "outcome": "instalment_paid_on_time",
    "baseline_rate": 0.50,
    "minimum_detectable_effect": 0.10,
}


def test_the_experiments_are_the_creditor_apis_reports_and_drafts_are_left_out(client, portfolio):
    alpha = {"X-API-Key": ALPHA_KEY}
    draft = client.post("/api/v1/experiments", json={**EXPERIMENT, "name": "Draft"}, headers=alpha).json()
    running = client.post("/api/v1/experiments", json=EXPERIMENT, headers=alpha).json()
    assert client.post(f"/api/v1/experiments/{running['id']}/start", headers=alpha).status_code == 200
    beta = client.post("/api/v1/experiments", json=EXPERIMENT, headers={"X-API-Key": BETA_KEY}).json()
    client.post(f"/api/v1/experiments/{beta['id']}/start", headers={"X-API-Key": BETA_KEY})
    with session_scope() as session:
        experiment = session.get_one(Experiment, running["id"])
        for account in session.scalars(select(Account).where(Account.creditor_id == portfolio.alpha)):
            experiments.assign(session, experiment, account, experiment.started_at)

    person("ab@agency.example", [portfolio.alpha], AgentRole.MANAGER)
    sign_in(client, "ab@agency.example")
    body = client.get(f"{DASHBOARD}/experiments", params={"creditor_id": portfolio.alpha}).json()
    assert body["creditor"] == {"id": portfolio.alpha, "name": "Alpha"}
    (report,) = body["experiments"]
    assert report["experiment"]["id"] == running["id"] != draft["id"]
    creditor_report = client.get(f"/api/v1/experiments/{running['id']}/report", headers=alpha).json()
    assert {**report, "as_of": None} == {**creditor_report, "as_of": None}
    # Seven accounts against hundreds planned: no verdict, no winner, and what is missing is said.
    assert report["ready"] is False and report["winner"] is None and report["state"] == "collecting"
    assert sum(arm["assigned"] for arm in report["arms"]) == 7
    assert all(arm["remaining"] == report["min_sample_per_arm"] - arm["n"] for arm in report["arms"])


# --- the manager: the dashboard, and nothing that changes anything ------------------------------------------------------


@pytest.fixture
def manager(client, portfolio) -> dict[str, str]:
    person("manager@agency.example", [portfolio.alpha], AgentRole.MANAGER)
    return sign_in(client, "manager@agency.example")


def test_a_manager_is_sent_to_the_dashboard_and_reads_figures_not_debtors(client, portfolio, manager):
    me = client.get("/console/api/me").json()
    assert me["agent"]["role"] == "manager"
    console = client.get("/console", follow_redirects=False)
    assert console.status_code == 303 and console.headers["location"] == "/console/dashboard"
    assert client.get("/console/dashboard").status_code == 200
    assert client.get(DASHBOARD).json()["role"] == "manager"
    # The queue, a conversation, a written confirmation: an agent's, refused to a manager.
    conversation_id = portfolio.conversations["C2"]
    for path in ("/console/api/queue", f"/console/api/conversations/{conversation_id}", "/console/api/confirmations/X.pdf"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "read-only" in refused.json()["detail"]
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/console/ws", headers={"origin": "http://testserver"}) as socket,
    ):
        socket.receive_json()
    assert client.delete("/console/api/session", headers=manager).status_code == 204
    assert client.get(DASHBOARD).status_code == 401


def test_every_state_changing_console_route_refuses_a_manager(client, portfolio, manager):
    """Walks the console's routes as the app has them (the schema's and the pages'), so a new one is checked too."""
    conversation_id = portfolio.conversations["C2"]
    with session_scope() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id))
        before = session.scalar(select(func.count()).select_from(AuditEntry))
        handoff_status = handoff.status
    writes = sorted(
        (method, path)
        for method, path in console_routes(client)
        if method not in {"GET", "HEAD", "OPTIONS"} and (method, path) not in SESSION_ROUTES
    )
    assert len(writes) >= 15, writes
    for method, template in writes:
        path = re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{dispute_id}" else conversation_id, template)
        response = client.request(method, path, json={"text": "hello"}, headers=manager)
        assert response.status_code == 403, (method, template, response.status_code, response.text)
        assert "read-only" in response.json()["detail"], (method, template)
    with session_scope() as session:
        # Nothing was recorded, not even a refusal, and the handoff waits as it did.
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert session.get_one(Handoff, handoff.id).status == handoff_status


def test_an_agent_is_not_refused_what_a_manager_is(client, portfolio):
    person("worker@agency.example", [portfolio.alpha])
    csrf = sign_in(client, "worker@agency.example")
    assert client.get("/console", follow_redirects=False).status_code == 200
    note = client.post(f"/console/api/conversations/{portfolio.conversations['C2']}/notes", json={"text": "seen"}, headers=csrf)
    assert note.status_code == 201
    assert client.get(DASHBOARD).json()["role"] == "agent"


def test_the_cli_creates_a_manager_and_everyone_before_was_an_agent(client, portfolio, monkeypatch, capsys):
    with session_scope() as session:
        assert set(session.scalars(select(Agent.role))) == {"agent"}  # the demo agent, made before any role was given
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["create-agent", "--email", "Mia@Agency.example", "--name", "Mia", "--role", "manager"]
    cli.main([*argv, "--creditor-id", str(portfolio.alpha), "--password-stdin"])
    assert "Manager" in capsys.readouterr().out
    with session_scope() as session:
        mia = session.scalar(select(Agent).where(Agent.email == "mia@agency.example"))
        assert mia is not None and mia.role == "manager"
        assert agents.creditor_ids_of(session, mia) == [portfolio.alpha]
    sign_in(client, "mia@agency.example")
    assert client.get("/console/api/queue").status_code == 403
    with pytest.raises(SystemExit):
        cli.main(["create-agent", "--email", "x@agency.example", "--name", "X", "--role", "admin", "--password-stdin"])


# --- the page and its chart library, from our own origin ------------------------------------------------------------------


def test_the_dashboard_page_keeps_the_consoles_own_origin_policy(client, manager):
    page = client.get("/console/dashboard")
    assert page.headers["content-security-policy"] == client.get("/console/login").headers["content-security-policy"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "http" not in policy
    # Every script and stylesheet the page loads is ours, and no inline script or style is in it.
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith(("/console", "#")) for source in sources), sources
    assert "<script>" not in page.text and "style=" not in page.text and "<style" not in page.text
    assert "/console/vendor/chart.umd.min.js" in sources
    library = client.get("/console/vendor/chart.umd.min.js")
    assert library.status_code == 200 and library.headers["content-type"].startswith("application/javascript")
    assert library.text.startswith("/*!\n * Chart.js v4.")


def test_every_word_of_the_dashboard_is_in_both_languages():
    import json
    from pathlib import Path

    console = Path(__file__).resolve().parents[2] / "api" / "console"
    catalog = json.loads((console / "i18n.json").read_text(encoding="utf-8"))
    assert set(catalog["fr"]) == set(catalog["en"])
    script = (console / "dashboard.js").read_text(encoding="utf-8")
    page = (console / "dashboard.html").read_text(encoding="utf-8")
    used = set(re.findall(r"\bt\('([a-z_0-9.]+)'", script)) | set(re.findall(r'data-i18n(?:-aria-label)?="([^"]+)"', page))
    used |= set(re.findall(r"'((?:unit|chart)\.[a-z_]+)'", script))
    assert used and used <= set(catalog["en"]), sorted(used - set(catalog["en"]))
    # Enumerations the figures name: every value the api sends has its words.
    for prefix, values in {
        "funnel": ("placed", "contacted", "verified", "promise", "kept"),
        "hardship_reason": (
            *("job_loss", "illness", "separation", "bereavement", "reduced_income", "other"),
            "none",
            "unspecified",
        ),
        "verdict": ("not_yet", "no_difference", "challenger_better", "control_better"),
        "role": tuple(AgentRole),
    }.items():
        assert all(f"{prefix}.{value}" in catalog["en"] for value in values), prefix
    # No sentence in the script itself: strings are keys, CSS classes, test ids or API words.
    sentences = [s for s in re.findall(r"'([^'\n]*)'", script) if re.search(r"[A-Za-z]+ [a-z]+ [a-z]+", s)]
    assert sentences == []
