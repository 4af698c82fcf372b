"""The scaled topology, started for real (scripts/stack.py `ScaledStack`): PostgreSQL, Redis, two Rasa servers
each with its action server, two api workers behind nginx. A smoke journey on both doors with the console on
the other worker, then faults (processes killed with signals, servers restarted), each checked on stored
state: every debtor message stored once and answered once, every reply shown or sent once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from api.services.rasa import RasaServers
from scripts.stack import ScaledStack, free_port
from tests.e2e.accounts import new_account
from tests.e2e.conftest import ALWAYS_OPEN, CREDITOR_KEY
from tests.e2e.faults import back, kill, stored
from tests.e2e.phone_client import PhoneDebtor, bodies
from tests.e2e.webchat_client import ResumingDebtor, WebChatDebtor, texts

JOURNEY = {
    "fr": ["Bonjour", None, "12/03/1985", "J'ai perdu mon emploi, je ne peux pas tout payer d'un coup"]
    + ["je peux payer 30 euros par mois", "oui ça me va", "oui je confirme"],
    "en": ["Hello", None, "04/05/1990", "I lost my job last month and I can't pay it all at once"]
    + ["I can pay 30 euros a month", "yes that works for me", "yes I agree"],
}


def _needs(binary: str) -> None:
    if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is missing: CI must run the scaled tests (.ci/run installs it).")
        pytest.skip(f"{binary} is not installed")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> Iterator[ScaledStack]:
    for binary in ("redis-server", "nginx"):
        _needs(binary)
    stack = ScaledStack(
        api_port=free_port(),
        twilio_port=free_port(),
        log_dir=tmp_path_factory.mktemp("scaled") / "log",
        extra_env={
            "CREDITOR_API_KEY": CREDITOR_KEY,
            "WEBCHAT_SESSIONS_PER_CLIENT_PER_HOUR": "100000",
            "SCHEDULER_ENABLED": "false",
        },
    )
    stack.start()
    stack.supervise()
    settings = {"agent_hours": ALWAYS_OPEN, "expected_wait_minutes": 10, "review_disputes": False}
    answer = httpx.put(f"{stack.api_url}/api/v1/handoff-settings", json=settings, headers={"X-API-Key": CREDITOR_KEY})
    assert answer.status_code == 200, answer.text
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def creditor(scaled) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scaled.api_url, headers={"X-API-Key": CREDITOR_KEY}, timeout=30) as client:
        yield client


def rows(stack: ScaledStack, sql: str, **params: object) -> list:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            return list(db.execute(text(sql), params))
    finally:
        engine.dispose()


def ledger(stack: ScaledStack, conversation_id: str) -> dict[str, int]:
    """What the database says of a conversation: debtor messages, those still unanswered, and replies stored
    twice for one message (a turn answered twice)."""
    inbound = rows(stack, "select status from messages where conversation_id = :c and direction = 'inbound'", c=conversation_id)
    twice = rows(
        stack,
        "select count(*) from messages where conversation_id = :c and direction = 'outbound' "
        "group by cast(payload as text), text having count(*) > 1",
        c=conversation_id,
    )
    return {
        "inbound": len(inbound),
        "unanswered": sum(1 for (status,) in inbound if status == "received"),
        "answered_twice": len(twice),
    }


def conversation_of(stack: ScaledStack, address: str) -> str:
    return rows(stack, "select id from conversations where channel_address = :a", a=address)[0][0]


def worker_of(debtor: ResumingDebtor) -> str:
    """The api worker holding this socket (engine.io ids start with the worker's name)."""
    return f"api-{debtor.sio.eio.sid.split('.')[0][1:]}"


async def _sign_in_console(stack: ScaledStack, worker: str) -> tuple[websockets.ClientConnection, httpx.AsyncClient]:
    client = httpx.AsyncClient(base_url=stack.api_url_of(worker))
    answer = await client.post("/console/api/session", json={"email": "agent@demo.example", "password": "demo-agent-password"})
    assert answer.status_code == 200, answer.text
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ws_url = stack.api_url_of(worker).replace("http://", "ws://") + "/console/ws"
    socket = await websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": stack.api_url})
    assert json.loads(await socket.recv())["type"] == "hello"
    return socket, client


def test_scaled_journeys_on_both_doors_with_the_console_on_the_other_worker(scaled, creditor):
    """A web-chat debtor on worker 1 and an SMS debtor through nginx complete hardship -> plan -> written
    confirmation; the console, signed in on worker 2, hears of the web-chat debtor's request for a person."""
    web_account, sms_account = new_account(creditor, "fr"), new_account(creditor, "en")

    async def web() -> tuple[list[str], list[dict]]:
        socket, client = await _sign_in_console(scaled, "api-2")
        try:
            async with WebChatDebtor(scaled.api_url_of("api-1"), "fr") as debtor:
                said = [texts(await debtor.say(m or web_account["reference"])) for m in JOURNEY["fr"]]
                said.append(texts(await debtor.say("je voudrais parler à un conseiller")))
                events = []
                deadline = time.monotonic() + 30
                while not any(e.get("type") == "queue_changed" for e in events) and time.monotonic() < deadline:
                    events.append(json.loads(await asyncio.wait_for(socket.recv(), 30)))
                return said, events
        finally:
            await socket.close()
            await client.aclose()

    said, events = asyncio.run(web())
    assert "COM-" in said[-2], said[-2]
    web_conversation = rows(scaled, "select conversation_id from messages where text = 'je voudrais parler à un conseiller'")
    assert ledger(scaled, web_conversation[-1][0]) == {"inbound": 8, "unanswered": 0, "answered_twice": 0}
    assert any(e.get("type") == "queue_changed" for e in events), events

    phone = PhoneDebtor(scaled.twilio_url, scaled.database_url, sms_account["phone"])
    replies = [bodies(phone.say(m or sms_account["reference"])) for m in JOURNEY["en"]]
    assert "COM-" in replies[-1], replies[-1]
    for address in (sms_account["phone"],):
        assert ledger(scaled, conversation_of(scaled, address)) == {"inbound": 7, "unanswered": 0, "answered_twice": 0}
    sent = phone.outbound()
    assert len({m["sid"] for m in sent}) == len(sent)
    assert len([m["body"] for m in sent]) == len({m["body"] for m in sent}), "an SMS was sent twice"
    confirmations = rows(
        scaled,
        "select count(*) from confirmations c join commitments m on m.id = c.commitment_id "
        "join accounts a on a.id = m.account_id where a.reference in (:w, :s)",
        w=web_account["reference"],
        s=sms_account["reference"],
    )
    assert confirmations[0][0] == 2


def test_scaled_rasa_killed_during_a_turn_the_other_server_answers(scaled, creditor):
    """The conversation's own Rasa server dies in the middle of a turn: the debtor is answered (by the other
    server, which shares the tracker store) without writing again, still verified, each message once."""
    account = new_account(creditor, "fr")
    urls = scaled.service("api-1").env["RASA_URLS"].split(",")
    names = {scaled.rasa_url_of(f"rasa-{i}"): f"rasa-{i}" for i in (1, 2)}

    async def conversation() -> tuple[str, str, str]:
        async with WebChatDebtor(scaled.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985"):
                await debtor.say(message)
            conversation_id = conversation_of(scaled, debtor.address)
            own = names[RasaServers(urls).ranked(conversation_id)[0]]
            await debtor.sio.emit("user_uttered", {"message": "combien je dois exactement ?", "customData": debtor.custom_data})
            await stored(scaled.database_url, debtor.address, 4)
            kill(scaled, own)
            answer = texts(await debtor.wait_for("380,00", timeout=120))
            return conversation_id, own, answer

    conversation_id, own, answer = asyncio.run(conversation())
    assert "380,00" in answer
    assert ledger(scaled, conversation_id) == {"inbound": 4, "unanswered": 0, "answered_twice": 0}
    back(scaled, own)


def test_scaled_api_worker_killed_its_sockets_reconnect_to_the_other_and_lose_no_reply(scaled, creditor):
    """The worker holding a debtor's socket dies just after the debtor wrote: the widget reconnects (through
    nginx, to the other worker), resumes its session, and is shown the answer, once."""
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[str, list[dict], list[dict]]:
        async with ResumingDebtor(scaled.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985"):
                await debtor.say(message)
            worker = worker_of(debtor)
            await debtor.sio.emit("user_uttered", {"message": "combien je dois exactement ?", "customData": debtor.custom_data})
            await stored(scaled.database_url, debtor.address, 4)  # in the database, and being answered: now the worker dies
            kill(scaled, worker)
            await asyncio.wait_for(debtor.resumed.wait(), 60)
            answer = await debtor.wait_for("380,00", timeout=120)
            later = await debtor.replies_so_far()
            after = await debtor.say("merci")
            return worker, answer + later, after

    worker, answer, after = asyncio.run(conversation())
    assert sum("380,00" in r.get("text", "") for r in answer) == 1, answer
    assert after
    back(scaled, worker)


def test_scaled_redis_restarted_conversations_continue(scaled, creditor):
    """Redis dies in the middle of a web-chat conversation (its locks, leases and rate counts with it) and is
    restarted empty by the supervisor: the debtor's next messages are answered, each once, still verified."""
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[str, str, str]:
        async with WebChatDebtor(scaled.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985"):
                await debtor.say(message)
            kill(scaled, "redis")
            during = texts(await debtor.say("combien je dois exactement ?"))
            back(scaled, "redis", timeout=60)
            after = texts(await debtor.say("et quelle est la date limite ?"))
            return conversation_of(scaled, debtor.address), during, after

    conversation_id, during, after = asyncio.run(conversation())
    assert "380,00" in during, during
    assert after
    assert ledger(scaled, conversation_id) == {"inbound": 5, "unanswered": 0, "answered_twice": 0}


def test_scaled_postgres_restarted_nothing_lost_and_outbox_sent_once(scaled, creditor):
    """PostgreSQL is stopped at once (connections cut) just after an SMS debtor's message is stored, and started
    again: the message is answered once, the reply sent once, and the conversation goes on."""
    account = new_account(creditor, "en")
    phone = PhoneDebtor(scaled.twilio_url, scaled.database_url, account["phone"])
    for message in ("Hello", account["reference"], "04/05/1990"):
        assert bodies(phone.say(message))
    phone.send("how much do I owe exactly?")
    asyncio.run(stored(scaled.database_url, account["phone"], 4))
    scaled.restart_postgres()
    deadline = time.monotonic() + 120
    while not phone.settled(phone.last_sid or ""):
        assert time.monotonic() < deadline, "the message was not answered after PostgreSQL came back"
        time.sleep(0.5)
    answer = bodies(phone.new_messages())
    assert "380.00" in answer, answer
    assert bodies(phone.say("thank you"))
    assert ledger(scaled, conversation_of(scaled, account["phone"])) == {"inbound": 5, "unanswered": 0, "answered_twice": 0}
    sent = phone.outbound()
    assert len({m["sid"] for m in sent}) == len(sent)
    assert len([m["body"] for m in sent]) == len({m["body"] for m in sent}), "an SMS was sent twice"
