"""An agent takes over in the console while a debtor waits, in headless Chromium, against the real services.

Two browser contexts: the debtor in the unmodified rasa-webchat widget, the agent in the console. The
debtor asks for a person; the agent signs in, claims, reads, replies, records a commitment, sends its
written confirmation and hands back; the bot then answers knowing the plan. The same with a debtor on SMS
(signed webhooks through the fake Twilio). Screenshots of the console land in docs/img/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy import create_engine, text

from tests.e2e.accounts import new_account
from tests.e2e.phone_client import PhoneDebtor, bodies
from tests.e2e.test_browser_widget import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.e2e.webchat_client import WebChatDebtor, texts

DEMO_AGENT = ("agent@demo.example", "demo-agent-password")
LONG = 60_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watch:
    """Fails the test on any request to another origin, script error or CSP violation in a page."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Page, csp: bool = True) -> Page:
        def only_our_origin(route: Route) -> None:
            if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                self.problems.append(f"foreign request {route.request.url}")
                route.abort()

        page.route("**/*", only_our_origin)
        page.on("pageerror", lambda error: self.problems.append(f"page error {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console {message.text}")
                if csp and message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.fill("#email", DEMO_AGENT[0])
    page.fill("#password", DEMO_AGENT[1])
    page.click("[data-testid=sign-in]")
    expect(page.locator("[data-testid=agent-name]")).to_be_visible(timeout=LONG)
    expect(page.locator("[data-testid=live]")).to_have_attribute("data-state", "connected", timeout=LONG)


def open_from_queue(page: Page, reference: str) -> str:
    item = page.locator("[data-testid=queue-item]", has_text=reference)
    expect(item).to_be_visible(timeout=LONG)  # arrives live, without a reload
    conversation_id = item.get_attribute("data-conversation-id")
    item.click()
    panel = page.locator("[data-testid=conversation]")
    expect(panel).to_have_attribute("data-conversation-id", conversation_id, timeout=LONG)
    return conversation_id


def claim(page: Page) -> None:
    page.click("[data-testid=claim]")
    panel = page.locator("[data-testid=conversation]")
    expect(panel).to_have_attribute("data-claimed-by-me", "true", timeout=LONG)
    expect(panel).to_have_attribute("data-state", "agent", timeout=LONG)


def reply(page: Page, words: str) -> None:
    page.fill("[data-testid=reply-text]", words)
    page.click("[data-testid=reply-send]")
    expect(page.locator("[data-testid=message][data-author=agent]", has_text=words)).to_be_visible(timeout=LONG)


def record_plan_and_send_confirmation(page: Page, first_due: dt.date) -> str:
    page.select_option("[data-testid=commitment-kind]", "instalments")
    page.fill("[data-testid=commitment-amount]", "100")
    page.fill("[data-testid=commitment-first-date]", first_due.isoformat())
    page.select_option("[data-testid=commitment-frequency]", "monthly")
    page.click("[data-testid=commitment-record]")
    expect(page.locator("[data-testid=commitment-result]")).to_contain_text("COM-", timeout=LONG)
    commitment = page.locator("[data-testid=commitment][data-status=active]")
    expect(commitment).to_have_count(1, timeout=LONG)
    reference = commitment.get_attribute("data-reference")
    confirmation = page.locator("[data-testid=confirmation]").last
    expect(confirmation).to_have_attribute("data-sent", "false", timeout=LONG)
    confirmation.locator("[data-testid=confirmation-send]").click()
    expect(confirmation).to_have_attribute("data-sent", "true", timeout=LONG)
    return reference


def hand_back(page: Page) -> None:
    page.click("[data-testid=hand-back]")
    expect(page.locator("[data-testid=conversation]")).to_have_attribute("data-state", "bot", timeout=LONG)


def in_thread(function, *args) -> None:  # noqa: ANN001 - a helper for the two event loops
    """Runs an asyncio client beside Playwright's sync API (which owns this thread's loop)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(function(*args))
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(180)
    if errors:
        raise errors[0]


async def distress_in_web_chat(base_url: str, reference: str) -> None:
    async with WebChatDebtor(base_url, "fr") as debtor:
        await debtor.say("Bonjour")
        await debtor.say(reference)
        care = texts(await debtor.say("je suis à bout, mon mari est décédé et je n'arrive plus à faire face à rien"))
        assert "conseiller" in care


def stored_states(database_url: str, conversation_id: str) -> list[str]:
    with create_engine(database_url).connect() as db:
        return [
            row.status
            for row in db.execute(
                text("select status from messages where conversation_id = :c and direction = 'inbound' order by id"),
                {"c": conversation_id},
            )
        ]


def test_a_web_debtor_asks_for_a_person_and_an_agent_takes_over_then_hands_back(stack, creditor, browser):
    account = new_account(creditor, "fr")
    watch = Watch()
    debtor_context = browser.new_context(viewport={"width": 1000, "height": 800})
    agent_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        # The widget's own stylesheet imports a Google font, which the page's CSP blocks on purpose
        # (test_browser_widget checks no request leaves): only the console's CSP reports are failures here.
        debtor = watch.attach(debtor_context.new_page(), csp=False)
        debtor.goto(f"{stack.api_url}/?lang=fr")
        debtor.locator(".rw-launcher").click()
        box = debtor.locator(".rw-new-message")
        expect(debtor.locator(".rw-response")).to_have_count(2, timeout=LONG)

        def debtor_says(words: str, answers: int) -> None:
            before = debtor.locator(".rw-response").count()
            box.fill(words)
            box.press("Enter")
            expect(debtor.locator(".rw-response")).to_have_count(before + answers, timeout=LONG)

        debtor_says(account["reference"], 1)
        debtor_says("12/03/1985", 1)
        debtor_says("je voudrais parler à un conseiller s'il vous plaît", 2)  # passed on + when
        expect(debtor.locator(".rw-response").last).to_contain_text("minutes")

        # Meanwhile another debtor, in distress, is handed over: they go first in the queue.
        distressed = new_account(creditor, "fr", debtor_name="Lucie Bernard")
        in_thread(distress_in_web_chat, stack.api_url, distressed["reference"])

        agent = watch.attach(agent_context.new_page())
        sign_in(agent, stack.api_url)
        first = agent.locator("[data-testid=queue-item]").first
        expect(first).to_have_attribute("data-reason", "vulnerability", timeout=LONG)
        expect(first).to_have_attribute("data-priority", "0")
        expect(first).not_to_contain_text(distressed["debtor_name"])  # not verified: nothing about the debt
        conversation_id = open_from_queue(agent, account["reference"])
        expect(agent.locator("[data-testid=handoff-summary]")).to_contain_text(account["reference"])
        transcript = agent.locator("[data-testid=transcript]")
        expect(transcript.locator("[data-testid=message][data-author=debtor]", has_text="conseiller")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        agent.screenshot(path=str(SCREENSHOTS / "console-queue.png"))
        claim(agent)

        reply(agent, "Bonjour Madame Dupont, je suis Camille. Je regarde votre dossier avec vous.")
        expect(debtor.locator(".rw-response").last).to_contain_text("je suis Camille", timeout=LONG)

        # The debtor's next words go to the agent, live, and never to the bot.
        before = debtor.locator(".rw-response").count()
        box.fill("je peux payer 100 euros par mois à partir du mois prochain")
        box.press("Enter")
        expect(transcript.locator("[data-testid=message][data-author=debtor]", has_text="100 euros")).to_be_visible(timeout=LONG)
        agent.screenshot(path=str(SCREENSHOTS / "console-conversation.png"))

        first_due = dt.date.today() + dt.timedelta(days=14)
        plan = record_plan_and_send_confirmation(agent, first_due)
        expect(debtor.locator(".rw-response").last).to_contain_text(plan, timeout=LONG)
        assert debtor.locator(".rw-response").count() == before + 1  # only the confirmation: the bot stayed silent
        agent.locator("[data-testid=commitment]").first.scroll_into_view_if_needed()
        agent.screenshot(path=str(SCREENSHOTS / "console-account.png"))

        hand_back(agent)
        expect(debtor.locator(".rw-response").last).to_contain_text("je reprends", timeout=LONG)
        debtor_says("combien je dois ?", 1)
        answer = debtor.locator(".rw-response").last
        expect(answer).to_contain_text(plan)  # the bot knows the plan the agent recorded
        expect(answer).to_contain_text("100,00")

        states = stored_states(stack.database_url, conversation_id)
        assert "for_agent" in states and states[-1] == "processed"
    finally:
        debtor_context.close()
        agent_context.close()
    assert watch.problems == []

    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (commitment,) = stored["commitments"]
    assert commitment["reference"] == plan and commitment["instalments"][0]["due_date"] == first_due.isoformat()
    assert [i["amount_minor"] for i in commitment["instalments"]] == [10000, 10000, 10000, 8000]
    (handoff,) = stored["handoffs"]
    assert (handoff["reason"], handoff["status"]) == ("request_human", "closed")


def test_an_sms_debtor_is_answered_by_an_agent_on_their_phone(stack, creditor, browser):
    account = new_account(creditor, "fr")
    phone = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
    for words in ("Bonjour", account["reference"], "12/03/1985"):
        phone.say(words)
    assert "conseiller" in bodies(phone.say("je veux parler à un conseiller"))

    watch = Watch()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        agent = watch.attach(context.new_page())
        sign_in(agent, stack.api_url)
        conversation_id = open_from_queue(agent, account["reference"])
        claim(agent)
        reply(agent, "Bonjour, ici Camille, conseillère. Comment puis-je vous aider ?")
        expect_on_phone(phone, "ici Camille")

        phone.say("je peux payer 100 euros par mois")
        transcript = agent.locator("[data-testid=transcript]")
        expect(
            transcript.locator("[data-testid=message][data-author=debtor][data-channel=sms]", has_text="100 euros")
        ).to_be_visible(timeout=LONG)
        plan = record_plan_and_send_confirmation(agent, dt.date.today() + dt.timedelta(days=14))
        confirmation = expect_on_phone(phone, plan)
        assert "/l/" in confirmation  # the document link is shortened for SMS
        hand_back(agent)
        expect_on_phone(phone, "je reprends")
    finally:
        context.close()
    assert watch.problems == []
    answer = bodies(phone.say("combien je dois ?"))
    assert plan in answer
    assert "for_agent" in stored_states(stack.database_url, conversation_id)


def expect_on_phone(phone: PhoneDebtor, words: str, timeout: float = 60) -> str:
    """Waits until the fake Twilio was asked to send these words to the debtor's number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = bodies(phone.outbound())
        if words in sent:
            return sent
        time.sleep(0.3)
    raise AssertionError(f"{words!r} never reached {phone.number}; sent: {bodies(phone.outbound())[-500:]}")
