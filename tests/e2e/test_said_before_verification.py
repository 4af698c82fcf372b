"""What the debtor says before verifying is acted on right after it (issue 15), and the questions debtors could
not ask before are answered from the file: through the web chat, on fresh accounts, with the real model."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.accounts import new_account
from tests.e2e.webchat_client import WebChatDebtor, texts

DATE_OF_BIRTH = {"fr": "12/03/1985", "en": "04/05/1990"}
SAID = {
    "fr": {
        "dispute": "Bonjour, je conteste cette dette, je n'ai jamais rien commandé chez vous",
        "hardship": "bonjour, j'ai perdu mon travail et je ne peux pas payer",
        "distress": "bonjour, je n'en peux plus, je ne vois plus d'issue",
        "next_payment": "c'est quand mon prochain paiement ?",
        "contact": "quelle est votre adresse et votre numéro de téléphone ?",
    },
    "en": {
        "dispute": "Hello, I dispute this debt, I never ordered anything from you",
        "hardship": "hi, I lost my job and I can't pay this",
        "distress": "hello, I can't cope anymore, I don't see a way out",
        "next_payment": "when is my next payment?",
        "contact": "what is your postal address and phone number?",
    },
}


def said_then_verified(stack, account, language: str, first: str) -> tuple[str, str]:
    """The debtor's first words, then their reference and date of birth: (the answer to the first words, the
    answer once verified)."""

    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            before = texts(await debtor.say(first))
            await debtor.say(account["reference"])
            return before, texts(await debtor.say(DATE_OF_BIRTH[language]))

    return asyncio.run(conversation())


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_dispute_said_before_verification_is_recorded_right_after_it(stack, creditor, language):
    account = new_account(creditor, language)
    before, after = said_then_verified(stack, account, language, SAID[language]["dispute"])
    assert account["debtor_name"] not in before
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    assert stored["status"] == "disputed" and len(stored["disputes"]) == 1
    assert "dispute" in [s["kind"] for s in stored["signals"]]
    # Not presented with the ways to pay: the dispute is what the debtor hears about.
    assert ("contestation" if language == "fr" else "dispute") in after.lower()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_hardship_said_before_verification_is_heard_and_options_offered_right_after_it(stack, creditor, language):
    account = new_account(creditor, language)
    _, after = said_then_verified(stack, account, language, SAID[language]["hardship"])
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    assert [(s["kind"], s["detail"]) for s in stored["signals"]] == [("hardship", "job_loss")]
    # The options within policy are offered at once, then the budget, as after a hardship said once verified.
    assert ("Voici ce que" if language == "fr" else "Here is what") in after
    assert ("7 courtes questions" if language == "fr" else "7 short questions") in after


@pytest.fixture
def team_closed(creditor):
    """The creditor's team out of hours: a debtor handed to a person stays with the bot until someone is there
    (during hours the conversation waits for an agent, and the bot says nothing more)."""
    settings = creditor.get("/api/v1/handoff-settings").json()
    closed = {**settings, "agent_hours": {"timezone": "Europe/Paris", "weekly": {}}}
    assert creditor.put("/api/v1/handoff-settings", json=closed).status_code == 200
    yield
    assert creditor.put("/api/v1/handoff-settings", json=settings).status_code == 200


@pytest.mark.parametrize("language", ["fr", "en"])
def test_distress_said_before_verification_is_cared_for_and_the_account_flagged_once_verified(
    stack, creditor, team_closed, language
):
    account = new_account(creditor, language)
    before, after = said_then_verified(stack, account, language, SAID[language]["distress"])
    assert "3114" in before or "116 123" in before  # support resources at once, before any check
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    assert stored["vulnerable"] is True and stored["commitments"] == []
    assert "400" not in after  # no amount, no ways to pay: a person first


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_next_payment_asked_before_verification_is_answered_after_it_and_our_details_at_once(stack, creditor, language):
    account = new_account(creditor, language)

    async def conversation() -> tuple[str, str, str]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            details = texts(await debtor.say(SAID[language]["contact"]))
            waiting = texts(await debtor.say(SAID[language]["next_payment"]))
            await debtor.say(account["reference"])
            return details, waiting, texts(await debtor.say(DATE_OF_BIRTH[language]))

    details, waiting, answer = asyncio.run(conversation())
    assert "01 86 95 00 00" in details and "rue de la Paix" in details
    assert "400" not in waiting
    # No plan yet: said so, with what is owed and a way to set one up.
    assert "400" in answer
