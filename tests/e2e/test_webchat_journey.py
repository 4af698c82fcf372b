"""The foundation journey end to end, through the real web-chat door, against the three real services.

A debtor verifies, reports hardship, proposes less than the policy allows, accepts the counter-offer,
agrees to the summary, and gets a written confirmation; the assertions are on what the api stored.
"""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from tests.e2e.webchat_client import WebChatDebtor, texts

JOURNEYS = {
    "fr": {
        "reference": "CR-10001",
        "messages": [
            "Bonjour",
            "CR-10001",
            "12/03/1985",
            "J'ai perdu mon emploi le mois dernier et je ne peux pas tout payer d'un coup",
            "je peux payer 30 euros par mois",
            "oui ça me va",
            "oui je confirme",
        ],
        "disclosure": ["assistant automatique", "recouvrement", "Lumière Énergie SA", "enregistrée"],
        "debtor_name": "Marie Dupont",
        "date_of_birth": "1985-03-12",
        "amount_text": "50,00",
    },
    "en": {
        "reference": "CR-20001",
        "messages": [
            "Hello",
            "my reference is CR-20001",
            "04/05/1990",
            "I lost my job last month and I can't pay it all at once",
            "I can pay 30 euros a month",
            "yes that works for me",
            "yes I agree",
        ],
        "disclosure": ["automated assistant", "collect a debt", "Lumière Énergie SA", "recorded"],
        "debtor_name": "Sarah Thompson",
        "date_of_birth": "1990-05-04",
        "amount_text": "€50.00",
    },
}


def run(coro):
    return asyncio.run(coro)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_hardship_journey_ends_in_a_commitment_confirmed_in_writing(stack, creditor, language):
    journey = JOURNEYS[language]

    async def conversation() -> list[list[dict]]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            return [await debtor.say(message) for message in journey["messages"]]

    opening, ask_secret, presented, options, counter, summary, confirmed = run(conversation())

    disclosure = texts(opening)
    for words in journey["disclosure"]:
        assert words in disclosure
    assert journey["debtor_name"] not in disclosure and "400" not in disclosure
    assert journey["debtor_name"] in texts(presented)
    assert journey["amount_text"] in texts(counter)
    assert journey["reference"] in texts(summary)
    links = re.findall(r"\((http://[^)]+/documents/[^)]+)\)", texts(confirmed))
    assert len(links) == 1, texts(confirmed)

    account = creditor.get(f"/api/v1/accounts/{journey['reference']}").json()
    (commitment,) = account["commitments"]
    amounts = [i["amount_minor"] for i in commitment["instalments"]]
    assert commitment["status"] == "active"
    assert amounts == [5000] * 7 + [3000]  # 380.00 due once the fees are waived: 7 × 50 + 30
    assert sum(amounts) == commitment["total_minor"] == 38000
    assert {s["kind"] for s in account["signals"]} >= {"hardship"}
    assert any(c["channel"] == "webchat" and c["messages"] >= 14 for c in account["conversations"])

    (confirmation,) = account["confirmations"]
    # Each link is signed when issued (with its own time stamp), so only the document must be the same.
    assert confirmation["document_url"].split("?")[0] == links[0].split("?")[0]
    # The link asks for the date of birth before it shows anything.
    page = httpx.get(links[0], timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert journey["debtor_name"] not in page.text and journey["reference"] not in page.text
    document = httpx.post(links[0], data={"date_of_birth": journey["date_of_birth"]}, timeout=30)
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    content = pdf_text(document.content)
    assert journey["reference"] in content and confirmation["number"] in content
    assert content.count(journey["amount_text"]) >= 7


def test_three_wrong_verifications_lock_and_disclose_nothing(stack, creditor):
    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            replies = [texts(await debtor.say("Bonjour"))]
            for wrong in ("01/01/1970", "02/02/1972", "03/03/1973"):
                replies.append(texts(await debtor.say("CR-10002")))
                replies.append(texts(await debtor.say(wrong)))
            replies.append(texts(await debtor.say("combien je dois ?")))
            return replies, debtor.address

    replies, address = run(conversation())
    everything = "\n".join(replies)
    assert "Jean Martin" not in everything and "1250" not in everything and "1 250" not in everything
    assert "conseiller" in replies[-2] and "conseiller" in replies[-1]
    engine = create_engine(stack_database(stack))
    with engine.connect() as db:
        locked_at, account_id, conversation_id = db.execute(
            text("select locked_at, account_id, id from conversations where channel_address = :a"), {"a": address}
        ).one()
        attempts = db.execute(
            text("select count(*) from verification_attempts where conversation_id = :c and not succeeded"),
            {"c": conversation_id},
        ).scalar()
        handoffs = db.execute(text("select reason from handoffs where conversation_id = :c"), {"c": conversation_id}).all()
    assert locked_at is not None and account_id is None and attempts == 3
    assert [h.reason for h in handoffs] == ["verification_locked"]


def test_a_dispute_is_recorded_and_the_bot_stops_asking_for_payment(stack, creditor):
    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "en") as debtor:
            for message in ("Hi", "CR-20002", "21/01/1968"):
                await debtor.say(message)
            return [
                texts(await debtor.say("I dispute this bill, I never received any gas from you")),
                texts(await debtor.say("can I pay in instalments?")),
            ]

    disputed, afterwards = run(conversation())
    assert "dispute" in disputed and "paused" in disputed
    assert "paused" in afterwards and "€" not in afterwards
    account = creditor.get("/api/v1/accounts/CR-20002").json()
    assert account["status"] == "disputed" and len(account["disputes"]) == 1
    assert account["commitments"] == []
    assert "dispute" in {s["kind"] for s in account["signals"]}


@pytest.mark.parametrize(
    ("language", "verify", "stop"),
    [
        ("fr", ("Bonjour", "CR-10002", "02/11/1972"), "arrêtez de m'écrire"),
        ("en", ("Hello",), "stop"),
    ],
)
def test_stop_is_recorded_as_an_opt_out(stack, creditor, language, verify, stop):
    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, language) as debtor:
            for message in verify:
                await debtor.say(message)
            return texts(await debtor.say(stop)), debtor.address

    reply, address = run(conversation())
    assert ("plus de messages" in reply) if language == "fr" else ("no longer receive" in reply)
    engine = create_engine(stack_database(stack))
    with engine.connect() as db:
        consents = db.execute(text("select kind, channel from consents where channel_address = :a"), {"a": address}).all()
    assert [(c.kind, c.channel) for c in consents] == [("opt_out", "webchat")]


def stack_database(stack) -> str:
    return stack.database_url
