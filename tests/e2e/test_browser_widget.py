"""The demo page in headless Chromium: the unmodified rasa-webchat widget talks to the bot."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from playwright.sync_api import Page, Route, expect, sync_playwright

from api import i18n
from tests.e2e.accounts import new_account
from tests.tone import false_urgency

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "img"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def only_our_origin(route: Route, foreign_requests: list[str]) -> None:
    """Lets the page reach our own origin only, and notes anything else it asks for."""
    if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        foreign_requests.append(route.request.url)
        route.abort()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
@pytest.mark.parametrize(
    ("language", "reference", "disclosure", "next_question"),
    [("fr", "CR-10001", "recouvrement", "date de naissance"), ("en", "CR-20001", "collect a debt", "date of birth")],
)
def test_a_person_types_in_the_widget_and_the_bot_answers(stack, language, reference, disclosure, next_question):
    foreign_requests: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.route("**/*", lambda route: only_our_origin(route, foreign_requests))
            page.goto(f"{stack.api_url}/?lang={language}")
            page.locator(".rw-launcher").click()
            message_box = page.locator(".rw-new-message")
            expect(message_box).to_be_visible(timeout=30_000)
            # The widget opens the conversation itself (initPayload): the disclosure comes first.
            expect(page.locator(".rw-response").first).to_contain_text(disclosure, timeout=60_000)
            # The widget shows queued bot messages one by one; wait for the question before answering it.
            expect(page.locator(".rw-response")).to_have_count(2, timeout=30_000)
            message_box.fill(reference)
            message_box.press("Enter")
            expect(page.locator(".rw-client").last).to_contain_text(reference)
            expect(page.locator(".rw-response").last).to_contain_text(next_question, timeout=60_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"webchat-{language}.png"))
        finally:
            browser.close()
    assert foreign_requests == []


# --- a first contact, as a debtor reads it ----------------------------------------------------------------------

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
# What the bot says when something went wrong or was not understood: none of it belongs in a first contact.
ERROR_RESPONSES = (
    "utter_reference_not_understood",
    "utter_secret_not_understood",
    "utter_verification_failed",
    "utter_technical_problem",
    "utter_default",
)
# How each language's page and replies read: the debtor's words and what the bot's replies hold.
FIRST_CONTACT = {
    "fr": {
        "disclosure": "recouvrement",
        "reference_question": "référence de votre dossier",
        "date_of_birth": "12/03/1985",
        "hardship": "J'ai perdu mon emploi, je ne peux pas tout payer d'un coup",
        "offer": "peut vous proposer",
    },
    "en": {
        "disclosure": "collect a debt",
        "reference_question": "file reference",
        "date_of_birth": "04/05/1990",
        "hardship": "I lost my job, I can't pay it all at once",
        "offer": "can offer you",
    },
}


def error_openings(language: str) -> list[str]:
    """The opening words of each error the debtor could read in `language` (up to the text's first variable)."""
    openings = [i18n.t("router.bot_unavailable", language)[:40]]
    for name in ERROR_RESPONSES:
        for variant in DOMAIN[name]:
            languages = {c.get("value") for c in variant.get("condition", []) if c.get("name") == "language"}
            if variant.get("channel") is None and language in languages:
                openings.append(variant["text"].split("{")[0].strip()[:40])
    return openings


# The bot's messages as shown (the "typing…" bubble is drawn as a response too).
BOT_MESSAGES = ".rw-message:not(.rw-typing-indication) .rw-response"
# A desktop window (the widget in a corner) and a phone (the widget full screen, its close button in the header).
SCREENS = {"desktop": {"width": 1100, "height": 900}, "phone": {"width": 412, "height": 915}}


def transcript(page: Page) -> list[tuple[str, str]]:
    """The conversation as the widget shows it: (who, text) for each message, in order."""
    messages = page.locator(".rw-message:not(.rw-typing-indication)").evaluate_all(
        "items => items.map(m => [m.querySelector('.rw-client') ? 'debtor' : 'bot',"
        " (m.querySelector('.rw-message-text') || m).innerText])"
    )
    return [(who, text) for who, text in messages]


def say(page: Page, text: str) -> None:
    message_box = page.locator(".rw-new-message")
    message_box.fill(text)
    message_box.press("Enter")
    expect(page.locator(".rw-client").last).to_contain_text(text)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def assert_header_reads(page: Page, screen: str) -> None:
    """The widget's title and subtitle are each in the header, neither drawn over the other."""
    header = page.locator(".rw-header").bounding_box()
    title = page.locator(".rw-header .rw-title").bounding_box()
    subtitle = page.locator(".rw-header > span").first.bounding_box()
    assert header and title and subtitle, screen
    assert not overlap(title, subtitle), (screen, title, subtitle)
    for part in (title, subtitle):
        assert header["y"] <= part["y"] and part["y"] + part["height"] <= header["y"] + header["height"], (screen, part)


# Where each "•" of a reply is drawn, against the left edge of its paragraph's text.
BULLETS_JS = """element => {
  const paragraph = element.querySelector('.rw-markdown p') || element;
  const box = paragraph.getBoundingClientRect();
  const left = box.left + parseFloat(getComputedStyle(paragraph).paddingLeft);
  const bullets = [];
  const walker = document.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = node.data.indexOf('•'); i >= 0; i = node.data.indexOf('•', i + 1)) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      bullets.push({left: rect.left - left, top: rect.top});
    }
  }
  return bullets;
}"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_new_debtor_reads_a_first_contact_without_an_error_and_the_offer_one_option_a_line(stack, creditor, language):
    words = FIRST_CONTACT[language]
    account: dict[str, Any] = new_account(creditor, language)
    foreign_requests: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=SCREENS["desktop"])
            page.route("**/*", lambda route: only_our_origin(route, foreign_requests))
            page.goto(f"{stack.api_url}/?lang={language}")
            page.locator(".rw-launcher").click()
            expect(page.locator(".rw-new-message")).to_be_visible(timeout=30_000)
            said = page.locator(BOT_MESSAGES)
            # The widget opens the conversation itself (initPayload); once the question is shown, the debtor says hello.
            expect(page.locator(BOT_MESSAGES, has_text=words["reference_question"])).to_have_count(1, timeout=90_000)
            say(page, "hello")
            expect(said).to_have_count(3, timeout=90_000)
            expect(said.nth(2)).to_contain_text(words["reference_question"])

            for screen, size in SCREENS.items():
                page.set_viewport_size(size)
                assert_header_reads(page, screen)
            if language == "fr":  # the whole first contact, as on a phone
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "first-contact.png"))

            # Once the reference's answer (the date of birth question) is shown, every reply to "hello" has been.
            say(page, account["reference"])
            expect(said).to_have_count(4, timeout=90_000)
            shown = transcript(page)
            first_contact = shown[: shown.index(("debtor", account["reference"]))]
            said = [text for who, text in first_contact if who == "bot"]
            assert words["disclosure"] in said[0], said
            assert any(words["reference_question"] in text for text in said), said
            errors = [(text, opening) for text in said for opening in error_openings(language) if opening in text]
            assert errors == [], first_contact

            # A reply with several options shows each on its own line.
            say(page, words["date_of_birth"])
            expect(page.locator(BOT_MESSAGES, has_text=account["reference"])).to_be_visible(timeout=90_000)
            say(page, words["hardship"])
            offer = page.locator(BOT_MESSAGES, has_text=words["offer"])
            expect(offer).to_be_visible(timeout=90_000)
            bullets = offer.evaluate(BULLETS_JS)
            assert len(bullets) == 2, bullets
            assert all(abs(bullet["left"]) < 2 for bullet in bullets), f"an option does not start its line: {bullets}"
            assert bullets[0]["top"] < bullets[1]["top"], bullets
            rushed = [found for who, text in transcript(page) if who == "bot" for found in false_urgency(text, language)]
            assert rushed == []
        finally:
            browser.close()
    assert foreign_requests == []
