"""Rasa keeps the conversations' state in a database (bot/tracker_store.py): a Rasa restart in the middle of a
negotiation forgets nothing, and an erasure leaves none of what the debtor said in Rasa's store either. In the
embedded default, a service killed is started again by the supervisor, and the debtor loses nothing."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import create_engine, text

from tests.e2e.accounts import new_account
from tests.e2e.faults import back, kill, stored
from tests.e2e.webchat_client import ResumingDebtor, WebChatDebtor, texts

SECRET = "ma fille est a l'hopital depuis mardi, je ne peux pas tout payer"


def tracker_store(stack) -> str:
    """Rasa's tracker store, as this (api) environment reaches it: psycopg 3 rather than Rasa's psycopg2."""
    return stack.rasa_tracker_store_url.replace("postgresql://", "postgresql+psycopg://")


def tracker_rows(stack, needle: str) -> int:
    """How many of Rasa's stored events hold `needle` (a search of Rasa's tracker store)."""
    with create_engine(tracker_store(stack)).connect() as db:
        return db.execute(text("select count(*) from events where data like :n"), {"n": f"%{needle}%"}).scalar_one()


async def verify(debtor: WebChatDebtor, account: dict) -> None:
    """The demo-like French debtor proves who they are; the file is presented."""
    for message in ("Bonjour", account["reference"]):
        await debtor.say(message)
    assert account["debtor_name"] in texts(await debtor.say("12/03/1985"))


def test_a_rasa_restart_in_the_middle_of_a_negotiation_forgets_nothing(stack, creditor):
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await verify(debtor, account)
            options = texts(await debtor.say("J'ai perdu mon emploi, je ne peux pas tout payer d'un coup"))
            kill(stack, "rasa")
            stack.restart("rasa")
            # The same negotiation goes on: still verified (no identity question), the plan understood.
            counter = texts(await debtor.say("je peux payer 30 euros par mois"))
            return options, counter

    options, counter = asyncio.run(conversation())
    assert "50,00" in counter or "30,00" in counter, counter
    assert "référence" not in counter.lower() and "date de naissance" not in counter.lower(), counter
    assert options


def test_rasa_killed_during_a_turn_comes_back_by_itself_and_the_message_is_answered(stack, creditor):
    """The api answers at once that the assistant is unavailable, keeps the message, and relays it once the
    supervisor has Rasa back: the answer arrives without the debtor writing again, still verified."""
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await verify(debtor, account)
            kill(stack, "rasa")  # nobody restarts it but the supervisor
            holding = texts(await debtor.say("combien je dois exactement ?"))
            answer = texts(await debtor.wait_for("380,00", timeout=240))
            return holding, answer

    holding, answer = asyncio.run(conversation())
    assert "indisponible" in holding.lower() or "instant" in holding.lower(), holding
    assert "380,00" in answer
    stack.wait_ready([stack.service("rasa")])
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (conversation_view,) = [c for c in stored["conversations"] if c["channel"] == "webchat"]
    assert conversation_view["verified_at"]


def test_the_api_killed_once_a_message_is_stored_comes_back_and_the_debtor_is_shown_the_answer_once(stack, creditor):
    """The embedded default's only api process dies just after the debtor's message is stored: the supervisor
    starts it again, the widget reconnects and resumes its session, and is shown the answer once, without
    writing again; the conversation goes on."""
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[list[dict], list[dict]]:
        async with ResumingDebtor(stack.api_url, "fr") as debtor:
            await verify(debtor, account)
            await debtor.sio.emit("user_uttered", {"message": "combien je dois exactement ?", "customData": debtor.custom_data})
            await stored(stack.database_url, debtor.address, 4)
            kill(stack, "api")
            await asyncio.wait_for(debtor.resumed.wait(), 180)
            answer = await debtor.wait_for("380,00", timeout=120)
            answer += await debtor.replies_so_far()
            return answer, await debtor.say("merci")

    answer, after = asyncio.run(conversation())
    assert sum("380,00" in r.get("text", "") for r in answer) == 1, answer
    assert after
    back(stack, "api")


def test_an_erasure_leaves_nothing_of_what_the_debtor_said_in_rasas_store(stack, creditor):
    account = new_account(creditor, "fr")

    async def conversation() -> None:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985", SECRET):
                await debtor.say(message)

    asyncio.run(conversation())
    assert tracker_rows(stack, "depuis mardi") >= 1
    erased = creditor.post(f"/api/v1/accounts/{account['reference']}/data-requests", json={"kind": "erasure"})
    assert erased.status_code == 201, erased.text
    outcome = erased.json()["outcome"]
    assert outcome["rasa_trackers_cleared"] >= 1 and "rasa_trackers_not_cleared" not in outcome, outcome
    assert tracker_rows(stack, "depuis mardi") == 0
    with create_engine(stack.database_url).connect() as db:
        found = db.execute(text("select count(*) from messages where text like '%depuis mardi%'")).scalar_one()
    assert found == 0


def test_each_turn_reaches_rasa_with_its_key_so_a_retry_can_find_it(stack, creditor):
    """The api sends every turn with a key (the message's id) that Rasa keeps with the message: after a
    timeout, the retry looks the turn up in Rasa's tracker instead of sending it twice (tests/api: the retry)."""

    async def conversation() -> str:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await debtor.say("Bonjour")
            return debtor.address

    address = asyncio.run(conversation())
    with create_engine(stack.database_url).connect() as db:
        conversation_id, message_id = db.execute(
            text(
                "select c.id, m.id from conversations c join messages m on m.conversation_id = c.id"
                " where c.channel_address = :a and m.direction = 'inbound'"
            ),
            {"a": address},
        ).one()
    with create_engine(tracker_store(stack)).connect() as db:
        stored = [
            json.loads(row[0])
            for row in db.execute(
                text("select data from events where sender_id = :s and type_name = 'user'"), {"s": conversation_id}
            )
        ]
    assert {(event.get("metadata") or {}).get("turn") for event in stored} == {f"{message_id}:opening", str(message_id)}
