"""More of issue 3's journeys through the web chat, each on its own fresh account (created via the creditor API)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re

import httpx
import pytest
from pypdf import PdfReader

from tests.e2e.accounts import new_account
from tests.e2e.webchat_client import WebChatDebtor, texts


def run(coro):
    return asyncio.run(coro)


def test_distress_in_the_middle_of_verification_hands_over_and_flags_the_account(stack, creditor):
    account = new_account(creditor, "fr")

    async def conversation() -> str:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await debtor.say("Bonjour")
            await debtor.say(account["reference"])  # the date of birth is not given yet
            return texts(await debtor.say("je n'en peux plus, mon mari est mort le mois dernier et je n'arrive plus à rien"))

    care = run(conversation())
    assert "conseiller" in care and account["debtor_name"] not in care and "400" not in care
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    assert stored["vulnerable"] is True and stored["commitments"] == []


def test_already_paid_records_the_claim_and_pauses_reminders(stack, creditor):
    account = new_account(creditor, "fr")

    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985"):
                await debtor.say(message)
            return [texts(await debtor.say(m)) for m in ("mais j'ai déjà payé !", "le 2 novembre", "par virement")]

    replies = run(conversation())
    assert replies[-1]
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (claim,) = stored["payment_claims"]
    today = dt.date.today()
    last_2_november = dt.date(today.year if (today.month, today.day) >= (11, 2) else today.year - 1, 11, 2)
    assert (claim["paid_on"], claim["means"]) == (last_2_november.isoformat(), "transfer")
    assert stored["reminders_paused"] is True


FORGOT = {
    "fr": {
        "verify": ("Bonjour", "{reference}", "12/03/1985"),
        "forgot": "oh mince j'ai complètement oublié de payer cette facture, désolée",
        "date": "le {d:%d/%m/%Y}",
        "agree": "oui c'est bon",
        "thanks": "Merci",
    },
    "en": {
        "verify": ("Hello", "{reference}", "04/05/1990"),
        "forgot": "sorry I totally forgot to pay that bill",
        "date": "on {d:%d/%m/%Y}",
        "agree": "yes that's fine",
        "thanks": "Thank you",
    },
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_forgot_to_pay_ends_in_a_promise_to_pay_on_a_date(stack, creditor, language):
    """Forgot: thanked, offered to pay now or on a date; the date becomes a one-instalment commitment."""
    account = new_account(creditor, language)
    script = FORGOT[language]
    promised = dt.date.today() + dt.timedelta(days=10)

    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            for message in script["verify"]:
                await debtor.say(message.format(reference=account["reference"]))
            forgot = texts(await debtor.say(script["forgot"]))
            asked_date = texts(await debtor.say("/request_deferral"))  # the "choose a date" button
            summary = texts(await debtor.say(script["date"].format(d=promised)))
            confirmed = texts(await debtor.say(script["agree"]))
            return [forgot, asked_date, summary, confirmed]

    forgot, asked_date, summary, confirmed = run(conversation())
    assert ("oubli" in forgot) if language == "fr" else ("forget" in forgot)
    assert account["reference"] in summary
    assert "/documents/" in confirmed
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (commitment,) = stored["commitments"]
    (instalment,) = commitment["instalments"]
    assert commitment["kind"] == "deferral" and commitment["status"] == "active"
    # The demo policy waives the 20.00 fees for an arrangement: 380.00 on the promised day.
    assert (instalment["due_date"], instalment["amount_minor"]) == (promised.isoformat(), 38000)
    assert "forgot" in {s["kind"] for s in stored["signals"]}
    assert len(stored["confirmations"]) == 1


CHANGE_PLAN = {
    "fr": {
        "verify": ("Bonjour", "{reference}", "12/03/1985"),
        "first_plan": ("je voudrais payer en plusieurs fois", "60 euros par mois", "oui je confirme"),
        "change": "finalement je voudrais changer mon échéancier",
        "amount": "100 euros par mois",
        "agree": "oui je confirme",
    },
    "en": {
        "verify": ("Hello", "{reference}", "04/05/1990"),
        "first_plan": ("I'd like to pay in instalments", "60 euros a month", "yes I agree"),
        "change": "actually I need to change my payment plan",
        "amount": "100 euros a month",
        "agree": "yes I agree",
    },
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_changed_plan_replaces_the_old_one_with_a_new_written_confirmation(stack, creditor, language):
    account = new_account(creditor, language)
    script = CHANGE_PLAN[language]

    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            for message in script["verify"]:
                await debtor.say(message.format(reference=account["reference"]))
            for message in script["first_plan"][:-1]:
                await debtor.say(message)
            first = texts(await debtor.say(script["first_plan"][-1]))
            await debtor.say(script["change"])
            summary = texts(await debtor.say(script["amount"]))
            second = texts(await debtor.say(script["agree"]))
            return first, summary, second

    first, summary, second = run(conversation())
    first_links = re.findall(r"/documents/([0-9a-f]+)\.pdf", first)
    second_links = re.findall(r"/documents/([0-9a-f]+)\.pdf", second)
    assert len(first_links) == 1 and len(second_links) == 1 and first_links != second_links
    assert account["reference"] in summary
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    old, new = stored["commitments"]
    assert (old["status"], new["status"]) == ("replaced", "active")
    assert [i["amount_minor"] for i in old["instalments"]] == [6000] * 6 + [2000]
    assert [i["amount_minor"] for i in new["instalments"]] == [10000, 10000, 10000, 8000]
    old_confirmation, new_confirmation = stored["confirmations"]
    assert old_confirmation["number"] != new_confirmation["number"]
    # The debtor's link asks for the date of birth first.
    document = httpx.post(new_confirmation["document_url"], data={"date_of_birth": account["date_of_birth"]}, timeout=30)
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    content = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    assert new_confirmation["number"] in content and account["reference"] in content


def test_outside_the_team_hours_the_debtor_is_told_when_and_the_bot_keeps_helping(stack, creditor):
    from tests.e2e.conftest import ALWAYS_OPEN

    account = new_account(creditor, "fr")
    opening_day = dt.date.today() + dt.timedelta(days=2)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opening_day.weekday()]
    closed_now = {
        "agent_hours": {"timezone": "Europe/Paris", "weekly": {day: [["09:00", "10:00"]]}},
        "expected_wait_minutes": 10,
        "review_disputes": False,
    }
    assert creditor.put("/api/v1/handoff-settings", json=closed_now).status_code == 200
    try:

        async def conversation() -> tuple[str, str]:
            async with WebChatDebtor(stack.api_url, "fr") as debtor:
                for message in ("Bonjour", account["reference"], "12/03/1985"):
                    await debtor.say(message)
                handed = texts(await debtor.say("je veux parler à un conseiller"))
                return handed, texts(await debtor.say("combien je dois ?"))

        handed, balance = run(conversation())
    finally:
        creditor.put("/api/v1/handoff-settings", json={**closed_now, "agent_hours": ALWAYS_OPEN})
    assert "à partir de" in handed and "09:00" in handed and "En attendant" in handed
    assert account["reference"] in balance and "400,00" in balance  # the bot still answers meanwhile
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (handoff,) = stored["handoffs"]
    assert (handoff["reason"], handoff["status"]) == ("request_human", "open")
    assert stored["conversations"][-1]["state"] == "bot"
