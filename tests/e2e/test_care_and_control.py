"""Care and control at every turn, through the web chat: distress, language, opt-out keywords, questions."""

from __future__ import annotations

import asyncio

from sqlalchemy import create_engine, text

from tests.e2e.webchat_client import WebChatDebtor, texts


def run(coro):
    return asyncio.run(coro)


def test_distress_stops_collection_with_care_and_a_person_first(stack, creditor):
    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            for message in ("Bonjour", "CR-10002", "02/11/1972"):
                await debtor.say(message)
            return [
                texts(await debtor.say("je n'en peux plus, mon mari est mort le mois dernier et je n'arrive plus à rien")),
                texts(await debtor.say("je peux payer 30 euros par mois")),
            ]

    care, afterwards = run(conversation())
    assert "3114" in care and "conseiller" in care
    assert "€" not in afterwards and "conseiller" in afterwards
    account = creditor.get("/api/v1/accounts/CR-10002").json()
    assert account["vulnerable"] is True and account["commitments"] == []
    assert [h["priority"] for h in account["handoffs"] if h["reason"] == "vulnerability"] == [0]
    assert "vulnerability" in {s["kind"] for s in account["signals"]}


def test_the_language_switches_for_the_rest_of_the_conversation(stack):
    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "en") as debtor:
            await debtor.say("Hello")
            return [texts(await debtor.say("can we speak French please?")), texts(await debtor.say("CR-10001"))]

    switched, next_question = run(conversation())
    assert "français" in switched
    assert "date de naissance" in next_question


def test_an_sms_style_stop_keyword_is_an_opt_out_whatever_the_model_thinks(stack):
    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await debtor.say("Bonjour")
            return texts(await debtor.say("ARRET")), debtor.address

    reply, address = run(conversation())
    assert "plus de messages" in reply
    with create_engine(stack.database_url).connect() as db:
        kinds = db.execute(text("select kind from consents where channel_address = :a"), {"a": address}).scalars().all()
    assert kinds == ["opt_out"]


def test_who_we_are_is_answered_before_verification_without_the_debt(stack):
    async def conversation() -> str:
        async with WebChatDebtor(stack.api_url, "en") as debtor:
            await debtor.say("Hello")
            return texts(await debtor.say("who are you exactly? is this a scam?"))

    reply = run(conversation())
    assert "Lumière Énergie SA" in reply and "never through a link" in reply
    assert "€" not in reply
