"""More of issue 3's journeys through the web chat, each on its own fresh account (created via the creditor API)."""

from __future__ import annotations

import asyncio
import datetime as dt

from tests.e2e.test_phone_channels import new_account
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
