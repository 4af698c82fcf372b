"""Guessing a debtor's date of birth, as a script would, through the real doors (socket.io, signed SMS webhooks).

The script opens a new web-chat session after each wrong guess, so a conversation's own lock never trips:
the reference's lock, counted across sessions and channels, must.
"""

from __future__ import annotations

import asyncio
import re

from tests.e2e.accounts import new_account
from tests.e2e.phone_client import PhoneDebtor, bodies
from tests.e2e.webchat_client import WebChatDebtor, texts

SESSIONS = 20


async def try_once(base_url: str, reference: str, date_of_birth: str) -> str:
    """One fresh web-chat session: hello, the reference, a date of birth; the bot's answer to the last."""
    async with WebChatDebtor(base_url, "fr") as debtor:
        await debtor.say("Bonjour")
        await debtor.say(reference)
        return texts(await debtor.say(date_of_birth))


def test_guessing_from_many_sessions_locks_the_reference_on_every_channel(stack, creditor):
    account = new_account(creditor, "fr")
    reference = account["reference"]
    wrong_dates = [f"{day:02d}/{month:02d}/19{70 + day}" for day, month in zip(range(1, SESSIONS + 1), [1, 2] * SESSIONS)]
    answers = [asyncio.run(try_once(stack.api_url, reference, date)) for date in wrong_dates]

    stored = creditor.get(f"/api/v1/accounts/{reference}").json()
    assert stored["verification_locked"] is True
    assert not any(c["verified_at"] for c in stored["conversations"])
    # Every session heard the same words, before and after the lock: no count of tries, nothing that tells
    # a locked reference from a wrong date of birth.
    assert len(set(answers)) == 1, set(answers)
    assert not re.search(r"\d", answers[0].replace("CR-12345", "")), answers[0]  # the example reference aside
    assert account["debtor_name"] not in answers[0]

    # The real debtor, with the right date of birth, on the web chat and by SMS: nothing is disclosed, and
    # the web chat says exactly what it said to the guesser.
    assert asyncio.run(try_once(stack.api_url, reference, "12/03/1985")) == answers[0]
    phone = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
    for message in ("Bonjour", reference):
        phone.say(message)
    sms_answer = bodies(phone.say("12/03/1985"))
    assert account["debtor_name"] not in sms_answer and "380" not in sms_answer, sms_answer

    # The creditor unlocks it (having checked the debtor otherwise): the right answer verifies again.
    assert creditor.post(f"/api/v1/accounts/{reference}/verification-unlock").json() == {"unlocked": True}
    verified = asyncio.run(try_once(stack.api_url, reference, "12/03/1985"))
    assert account["debtor_name"] in verified, verified
