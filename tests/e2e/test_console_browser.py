"""An agent takes over in the console while a debtor waits, in headless Chromium, against the real services.

Two browser contexts: the debtor in the unmodified rasa-webchat widget, the agent in the console. The
debtor asks for a person; the agent signs in, claims, reads, replies, records a commitment, sends its
written confirmation and hands back; the bot then answers knowing the plan. The same with a debtor on SMS
(signed webhooks through the fake Twilio). Then the follow-through as the agent sees it: payments, the
contacts the scheduler made or held back, a dispute decided in the console and its written answer, a
vulnerability review. Screenshots of the console land in docs/img/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy import create_engine, text

from scripts.stack import ROOT
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


def contacts_tick(database_url: str, now: dt.datetime) -> str:
    """One pass of the follow-through with the clock at `now` (the e2e api runs no scheduler of its own)."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "contacts-tick", "--now", now.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def scroll_to_top_of_panel(page: Page, selector: str) -> None:
    """Brings a part of the account panel to the top of its column (for a screenshot that shows what follows)."""
    page.locator(selector).first.evaluate("node => node.scrollIntoView({block: 'start'})")


def wait_for_dispute_answer(creditor, reference: str, timeout: float = 60) -> dict:  # noqa: ANN001 - httpx.Client
    """Polls the account until the outbox has sent the dispute's written answer (`answered_at`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (dispute,) = creditor.get(f"/api/v1/accounts/{reference}").json()["disputes"]
        if dispute["answered_at"]:
            return dispute
        time.sleep(0.5)
    raise AssertionError(f"the written answer to the dispute of {reference} never left")


def test_an_agent_sees_payments_and_contacts_and_resolves_a_dispute_in_the_console(stack, creditor, browser):
    account = new_account(creditor, "fr")  # with a phone number: a first contact is planned at once
    phone = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
    for words in ("Bonjour", account["reference"], "12/03/1985"):
        phone.say(words)
    assert "conseiller" in bodies(phone.say("je veux parler à un conseiller"))

    # The first instalment in two weeks; the day its first reminder falls due is a contact day (not a Sunday).
    first_due = dt.date.today() + dt.timedelta(days=14)
    while (first_due - dt.timedelta(days=3)).weekday() == 6:
        first_due += dt.timedelta(days=1)
    reminder_day = dt.datetime.combine(first_due - dt.timedelta(days=3), dt.time(12), tzinfo=ZoneInfo("Europe/Paris"))

    watch = Watch()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        agent = watch.attach(context.new_page())
        sign_in(agent, stack.api_url)
        agent.select_option("[data-testid=ui-language]", "en")
        open_from_queue(agent, account["reference"])
        claim(agent)
        plan = record_plan_and_send_confirmation(agent, first_due)

        # The debtor disputes the amount: the agent records it; it can be reviewed at once.
        agent.select_option("[data-testid=dispute-reason]", "wrong_amount")
        agent.click("[data-testid=dispute-record]")
        dispute = agent.locator("[data-testid=dispute]")
        expect(dispute).to_have_attribute("data-status", "open", timeout=LONG)
        expect(dispute.locator("[data-testid=dispute-review]")).to_be_visible()

        # A payment arrives through the creditor's API, then the scheduler runs on the day of the first reminder.
        payment_id = f"PAY-{uuid.uuid4().hex[:12]}"
        paid = {
            "reference": account["reference"],
            "amount_minor": 3000,
            "currency": "EUR",
            "paid_at": dt.datetime.now(dt.UTC).isoformat(),
            "method": "transfer",
            "external_id": payment_id,
        }
        answer = creditor.post("/api/v1/payments", json=paid)
        assert answer.status_code == 201, answer.text
        contacts_tick(stack.database_url, reminder_day)

        agent.reload()
        payment = agent.locator(f"[data-testid=payment][data-external-id={payment_id}]")
        expect(payment).to_have_attribute("data-amount-minor", "3000", timeout=LONG)
        expect(payment).to_contain_text("30,00")
        expect(payment).to_contain_text("Bank transfer")
        expect(payment.locator("[data-testid=allocation][data-kind=instalment]")).to_contain_text(f"Instalment 1 of {plan}")

        contacts = agent.locator("[data-testid=contacts]")
        past = contacts.locator("[data-testid=contacts-past]")
        held = past.locator("[data-testid=contact][data-kind=reminder_before][data-status=cancelled]")
        expect(held).to_have_attribute("data-reason", "dispute_open")
        expect(held).to_contain_text("Cancelled: dispute open")
        expect(past.locator("[data-testid=contact][data-kind=first_contact]")).to_have_attribute(
            "data-reason", "debtor_already_in_touch"
        )
        expect(past.locator("[data-testid=contact][data-kind=payment_thanks]")).to_have_attribute("data-status", "sent")
        upcoming = contacts.locator("[data-testid=contacts-upcoming]")
        expect(upcoming.locator("[data-testid=contact]").first).to_have_attribute("data-kind", "reminder_due")
        expect(upcoming.locator("[data-testid=contact]").first).to_contain_text("10:00")  # the debtor's time
        expect(contacts).to_contain_text("debtor's local time (Europe/Paris)")
        agent.select_option("[data-testid=ui-language]", "fr")
        expect(held).to_contain_text("Annulé : contestation ouverte")
        agent.select_option("[data-testid=ui-language]", "en")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        scroll_to_top_of_panel(agent, "[data-testid=payments]")
        agent.screenshot(path=str(SCREENSHOTS / "console-follow-through.png"))

        # The agent rejects the dispute, with the facts, through the review form.
        review = dispute.locator("[data-testid=dispute-review]")
        review.locator("[data-testid=dispute-resolve]").click()
        expect(review.locator("[data-testid=action-error]")).to_contain_text("Choose a decision")
        review.locator("[data-testid=dispute-outcome-upheld]").check()
        expect(review.locator("[data-testid=action-error]")).to_have_count(0)  # answered: the hint goes
        expect(review.locator("[data-testid=dispute-corrected-balance]")).to_be_visible()
        review.locator("[data-testid=dispute-outcome-rejected]").check()
        expect(review.locator("[data-testid=dispute-corrected-balance]")).to_be_hidden()
        explanation = "Le montant correspond à la facture 2026-0815 et aux relevés du compteur du 15 octobre 2026."
        review.locator("[data-testid=dispute-explanation]").fill(explanation)
        scroll_to_top_of_panel(agent, "[data-testid=disputes]")
        agent.screenshot(path=str(SCREENSHOTS / "console-dispute-review.png"))
        review.locator("[data-testid=dispute-resolve]").click()
        expect(dispute).to_have_attribute("data-status", "rejected", timeout=LONG)
        expect(dispute).to_contain_text(explanation)
        not_sent = dispute.locator("[data-testid=dispute-answer]")
        expect(not_sent).to_have_attribute("data-sent", "false")
        expect(not_sent).to_contain_text("Written answer not sent yet")

        # The next pass sends the written answer; once the fake Twilio has it, the dispute shows it sent.
        contacts_tick(stack.database_url, reminder_day + dt.timedelta(minutes=5))
        expect_on_phone(phone, "réponse écrite")
        assert wait_for_dispute_answer(creditor, account["reference"])["status"] == "rejected"
        agent.reload()
        sent = agent.locator("[data-testid=dispute] [data-testid=dispute-answer]")
        expect(sent).to_have_attribute("data-sent", "true", timeout=LONG)
        expect(sent).to_contain_text("Written answer sent on")
        expect(agent.locator("[data-testid=contacts-past] [data-testid=contact][data-kind=dispute_answer]")).to_have_attribute(
            "data-status", "sent"
        )

        # A vulnerability flag, reviewed: kept with a support plan, which the panel then shows.
        agent.click("[data-testid=flag-vulnerable]")
        care = agent.locator("[data-testid=vulnerability-review]")
        expect(care).to_be_visible(timeout=LONG)
        care.locator("[data-testid=vulnerability-keep]").check()
        support = "Appels seulement, par Camille, le mardi après 14 h ; pas de rappel par SMS."
        care.locator("[data-testid=vulnerability-note]").fill(support)
        care.locator("[data-testid=vulnerability-review-submit]").click()
        expect(agent.locator("[data-testid=care-plan]")).to_contain_text(support, timeout=LONG)
        expect(agent.locator("[data-testid=vulnerable]")).to_be_visible()
    finally:
        context.close()
    assert watch.problems == []
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    assert stored["vulnerable"] is True
