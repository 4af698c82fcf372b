"""A manager reads the dashboard in headless Chromium, against the real api (no Rasa needed): signs in, lands on
the dashboard, sees the charts drawn and the headline figures the API answers for the same filters (and the
creditor API's own report), changes a filter and sees them follow, in English and in French; every request the
page makes stays on our origin. Screenshots: docs/img/dashboard-en.png and docs/img/dashboard-fr.png.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from scripts.stack import API_BIN, ROOT, Service, Stack, free_port
from tests.e2e.dashboard_data import ALPHA_KEY
from tests.e2e.test_browser_widget import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

MANAGER = ("manager@agency.example", "a-long-enough-password")
PERIOD = {"from": "2026-09-01", "to": "2026-11-30"}  # the end day included
API_PERIOD = {"from": "2026-09-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
LONG = 30_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, dict[str, int]]]:
    """The api alone on a free port, over a fresh database with tests/e2e/dashboard_data.py's portfolio and a
    manager of Alpha made with the CLI."""
    workdir = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{workdir / 'dashboard.db'}",
        "API_PORT": str(port),
        "SCHEDULER_ENABLED": "false",
        "CREDITOR_API_KEY": "dashboard-demo-creditor-key",
    }

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("-m", "api.cli", "migrate")
    ids = json.loads(cli("-m", "tests.e2e.dashboard_data").strip().splitlines()[-1])
    manager = ["create-agent", "--email", MANAGER[0], "--name", "Morgan Manager", "--role", "manager"]
    cli("-m", "api.cli", *manager, "--creditor-id", str(ids["alpha"]), "--password-stdin", stdin=MANAGER[1] + "\n")
    command = [str(API_BIN / "uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    api = Service("api", command, f"http://127.0.0.1:{port}/health", env, workdir / "api.log")
    api.start()
    try:
        Stack(api_port=port).wait_ready([api], timeout=60)
        yield f"http://127.0.0.1:{port}", ids
    finally:
        api.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def creditor_report(base_url: str, **params: str) -> list[dict]:
    """The creditor API's own KPI report (Alpha's key), for the same period."""
    answer = httpx.get(f"{base_url}/api/v1/reports/kpis", params={**API_PERIOD, **params}, headers={"X-API-Key": ALPHA_KEY})
    assert answer.status_code == 200, answer.text
    return answer.json()["groups"]


def wait_for(page: Page, **filters: str) -> dict:
    """Waits for the dashboard to show the figures of `filters`; answers the API's JSON for the same query."""
    main = page.locator("[data-testid=dashboard]")
    expect(main).to_have_attribute("data-state", "ready", timeout=LONG)
    for name, value in filters.items():
        expect(main).to_have_attribute("data-query", re.compile(rf"(^|&){name}={value}(&|$)"), timeout=LONG)
    query = main.get_attribute("data-query")
    answer = page.request.get(f"/console/api/dashboard/kpis?{query}")
    assert answer.ok, answer.text()
    return answer.json()


def number_in(text: str, language: str = "en") -> float:
    """The number a figure shows, as the language writes it ("41,1 %" and "1 332" in French, "41.1%" and "1,332"
    in English)."""
    kept = re.sub(r"[^\d,.\-]", "", text)
    return float(kept.replace(",", ".") if language == "fr" else kept.replace(",", ""))


def check_headline(page: Page, expected: dict, language: str) -> int:
    """Each headline card holds the API's value, and shows it (counts and rates checked as numbers)."""
    cards = page.locator("[data-testid=kpi-card]")
    checked = 0
    for i in range(cards.count()):
        card = cards.nth(i)
        field = card.get_attribute("data-field")
        value = expected[field]
        assert json.loads(card.get_attribute("data-value")) == value, field
        shown = card.locator("[data-testid=kpi-value]").inner_text()
        if isinstance(value, int):
            assert number_in(shown, language) == value, (field, shown)
        elif isinstance(value, float) and field.endswith("_rate"):
            assert abs(number_in(shown, language) - value * 100) <= 0.05 + 1e-9, (field, shown, value)
        checked += 1
    return checked


def charts_are_drawn(page: Page) -> int:
    """Every chart's canvas has a size and something painted on it."""
    expect(page.locator("[data-testid=chart-canvas]").first).to_be_visible(timeout=LONG)
    painted = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=chart-canvas]')).map((canvas) => {
             if (!canvas.width || !canvas.height) return false;
             const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
             for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
             return false;
           })"""
    )
    assert painted and all(painted), painted
    return len(painted)


def test_a_manager_reads_the_dashboard_and_nothing_leaves_our_origin(browser: Browser, server) -> None:
    base_url, ids = server
    origin = urlparse(base_url)
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900}, locale="en-GB")
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: problems.append(f"page error {error}"))
    # Script errors, and anything the Content-Security-Policy blocked (the 403 asked for below is no problem).
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )

    # Signed in, a manager lands on the dashboard: no queue, no link to it, a read-only note.
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.fill("#email", MANAGER[0])
    page.fill("#password", MANAGER[1])
    page.click("[data-testid=sign-in]")
    expect(page).to_have_url(re.compile(r"/console/dashboard"), timeout=LONG)
    expect(page.locator("[data-testid=agent-name]")).to_have_text("Morgan Manager", timeout=LONG)
    expect(page.locator("[data-testid=read-only-note]")).to_be_visible()
    expect(page.locator("[data-testid=nav-queue]")).to_be_hidden()
    # Only Alpha, whom the manager serves, is offered.
    expect(page.locator("[data-testid=filter-creditor] option")).to_have_count(1)

    # September to November, every channel: the figures are the API's, and the creditor API's.
    page.goto(f"/console/dashboard#creditor={ids['alpha']}&{urlencode(PERIOD)}")
    page.select_option("[data-testid=ui-language]", "en")
    everything = wait_for(page, creditor_id=str(ids["alpha"]), **{"from": "2026-09-01T00%3A00%3A00Z"})
    assert everything["bucket"] == "week" and everything["headline"]["accounts_placed"] > 100
    (whole,) = creditor_report(base_url)
    assert everything["headline"] == whole
    assert check_headline(page, everything["headline"], "en") >= 12
    assert charts_are_drawn(page) >= 9  # funnel, 3 over time, 4 breakdowns, an interval chart per A/B test
    funnel = page.locator("[data-chart=funnel] [data-testid=chart-table] td")
    assert [number_in(funnel.nth(i).inner_text(), "en") for i in range(0, 10, 2)] == [s["count"] for s in everything["funnel"]]

    # The A/B tests: one with its verdict, one short of its planned size, which says so and names no winner.
    ab = page.locator("[data-testid=experiment]")
    expect(ab).to_have_count(2)
    follow_up = page.locator(f"[data-testid=experiment][data-experiment-id='{ids['follow_up_experiment']}']")
    expect(follow_up).to_have_attribute("data-ready", "true")
    expect(follow_up.locator("[data-testid=ab-verdict]")).to_contain_text("Winner: every_3_days")
    reminder = page.locator(f"[data-testid=experiment][data-experiment-id='{ids['reminder_experiment']}']")
    expect(reminder).to_have_attribute("data-ready", "false")
    expect(reminder.locator("[data-testid=ab-verdict]")).to_contain_text(
        re.compile(r"Not enough data yet — \d+ of 1,471 accounts per arm")
    )

    # The table under a chart shows on demand (it is read by screen readers all along).
    toggle = page.locator("[data-chart=funnel] [data-testid=table-toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("[data-chart=funnel] [data-testid=chart-table]")).not_to_have_class(re.compile("visually-hidden"))
    toggle.click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-en.png"), full_page=True)

    # In French: the words, and the numbers written the French way.
    page.select_option("[data-testid=ui-language]", "fr")
    expect(page.locator("h1")).to_have_text("Tableau de bord")
    rate = page.locator("[data-testid=kpi-card][data-field=promise_to_pay_rate] [data-testid=kpi-value]")
    expect(rate).to_have_text(re.compile(r"^\d+(,\d)?[\u00a0\u202f]%$"))
    expect(reminder.locator("[data-testid=ab-verdict]")).to_contain_text(
        re.compile(r"Pas encore assez de données — \d+ sur 1[\u00a0\u202f]471")
    )
    assert check_headline(page, everything["headline"], "fr") >= 12
    page.screenshot(path=str(SCREENSHOTS / "dashboard-fr.png"), full_page=True)

    # One channel: every figure follows, and is still the creditor API's, now grouped by channel.
    page.select_option("[data-testid=filter-channel]", "sms")
    sms = wait_for(page, channel="sms")
    assert sms["headline"] != everything["headline"]
    (sms_group,) = [g for g in creditor_report(base_url, group_by="channel") if g["key"] == {"channel": "sms"}]
    assert sms["headline"] == sms_group
    check_headline(page, sms["headline"], "fr")
    assert charts_are_drawn(page) >= 9
    assert "channel=sms" in page.url  # the view can be bookmarked

    # Nothing a manager can change: the console's queue sends them back here, and a write is refused.
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/dashboard"))
    refused = page.evaluate(
        """async () => {
             const me = await (await fetch('/console/api/me')).json();
             const answer = await fetch('/console/api/conversations/x/claim',
               {method: 'POST', headers: {'X-CSRF-Token': me.csrf_token, 'Content-Type': 'application/json'}, body: '{}'});
             return answer.status;
           }"""
    )
    assert refused == 403

    foreign = [url for url in requests if urlparse(url).scheme in ("http", "https") and urlparse(url).netloc != origin.netloc]
    assert foreign == [] and requests, foreign
    assert any(url.endswith("/console/vendor/chart.umd.min.js") for url in requests)
    assert problems == []
    context.close()
