"""The demo page in headless Chromium: the unmodified rasa-webchat widget talks to the bot."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Route, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
@pytest.mark.parametrize(
    ("language", "reference", "disclosure", "next_question"),
    [("fr", "CR-10001", "recouvrement", "date de naissance"), ("en", "CR-20001", "collect a debt", "date of birth")],
)
def test_a_person_types_in_the_widget_and_the_bot_answers(stack, language, reference, disclosure, next_question):
    foreign_requests: list[str] = []

    def only_our_origin(route: Route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            foreign_requests.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.route("**/*", only_our_origin)
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
