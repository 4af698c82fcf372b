"""The router stores every debtor message before anything else, and loses nothing when Rasa is down."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from api.core.config import get_settings
from api.db import session_scope
from api.models import Conversation, Message, utcnow
from api.services.language import detect_language
from api.services.router import ConversationRouter, find_or_create_conversation
from api.services.transport import Transports


def run(coro):
    return asyncio.run(coro)


def messages(conversation_id: str) -> list[Message]:
    with session_scope() as session:
        return list(session.query(Message).filter_by(conversation_id=conversation_id).order_by(Message.id))


@pytest.fixture
def router_without_rasa(database, monkeypatch):
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    get_settings.cache_clear()

    async def make():
        return ConversationRouter(get_settings(), httpx.AsyncClient(timeout=2), Transports())

    return make


def test_a_message_is_kept_and_a_holding_reply_sent_when_rasa_is_down(router_without_rasa):
    conversation_id = find_or_create_conversation("webchat", "session-rasa-down")

    async def send():
        router = await router_without_rasa()
        return await router.handle_inbound(conversation_id, "Bonjour, je voudrais payer ma facture")

    replies = run(send())
    assert len(replies) == 1 and replies[0].author == "system"
    assert "enregistré" in replies[0].text
    inbound, holding = messages(conversation_id)
    assert (inbound.direction, inbound.status, inbound.error) == ("inbound", "received", "rasa_unavailable")
    assert inbound.text == "Bonjour, je voudrais payer ma facture"
    assert (holding.direction, holding.author) == ("outbound", "system")
    with session_scope() as session:
        # The disclosure was not sent, so it will open the conversation once Rasa is back.
        assert session.get(Conversation, conversation_id).opened_at is None


def test_an_oversized_message_is_stored_refused_and_explained(router_without_rasa):
    conversation_id = find_or_create_conversation("webchat", "session-too-long")
    limit = get_settings().max_message_chars

    async def send():
        router = await router_without_rasa()
        return await router.handle_inbound(conversation_id, "x" * (limit + 1), language_hint="en")

    (reply,) = run(send())
    assert str(limit) in reply.text and "too long" in reply.text
    inbound = messages(conversation_id)[0]
    # Refused, and only the beginning kept: a flood of huge messages does not fill the database.
    assert (inbound.status, inbound.error, len(inbound.text)) == ("rejected", "too_long", limit)
    assert inbound.payload == {"original_chars": limit + 1}


def test_messages_arriving_together_are_stored_at_once_and_answered_once_in_order(database):
    conversation_id = find_or_create_conversation("webchat", "session-two-at-once")
    seen: list[str] = []
    stored_when_rasa_called: list[int] = []
    at_rasa = asyncio.Event()

    async def rasa(request: httpx.Request) -> httpx.Response:
        message = json.loads(request.content)["message"]
        stored_when_rasa_called.append(len([m for m in messages(conversation_id) if m.direction == "inbound"]))
        at_rasa.set()
        await asyncio.sleep(0.05)  # the first turn is still running when the second message arrives
        seen.append(message)
        return httpx.Response(200, json=[{"recipient_id": conversation_id, "text": f"re: {message}"}])

    async def send_both():
        router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)), Transports())
        with session_scope() as session:
            session.get(Conversation, conversation_id).opened_at = utcnow()
        first = asyncio.create_task(router.handle_inbound(conversation_id, "premier"))
        await at_rasa.wait()  # not a pause: on a busy machine the first may take longer to reach Rasa
        second = asyncio.create_task(router.handle_inbound(conversation_id, "second"))
        return await first, await second

    first, second = run(send_both())
    assert [r.text for r in first] == ["re: premier"] and [r.text for r in second] == ["re: second"]
    assert seen == ["premier", "second"]
    assert stored_when_rasa_called[0] >= 1 and stored_when_rasa_called[1] == 2
    # The second message was stored while the first was being answered, before the first reply.
    assert [(m.direction, m.text) for m in messages(conversation_id)] == [
        ("inbound", "premier"),
        ("inbound", "second"),
        ("outbound", "re: premier"),
        ("outbound", "re: second"),
    ]
    assert {m.status for m in messages(conversation_id) if m.direction == "inbound"} == {"processed"}


def test_the_same_web_session_finds_the_same_conversation(database):
    first = find_or_create_conversation("webchat", "session-a")
    assert find_or_create_conversation("webchat", "session-a") == first
    assert find_or_create_conversation("webchat", "session-b") != first


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Bonjour, j'ai reçu un courrier concernant une facture", "fr"),
        ("Hello, I received a letter about an unpaid bill", "en"),
        ("/greet", None),
        ("12/03/1985", None),
    ],
)
def test_language_is_detected_from_words_only(text, language):
    assert detect_language(text) == language


def test_malformed_unicode_is_stored_readably_and_answered(router_without_rasa):
    conversation_id = find_or_create_conversation("webchat", "session-lone-surrogate")

    async def send():
        router = await router_without_rasa()
        return await router.handle_inbound(conversation_id, "Bonjour \ud800 ça va \U0001f600")

    (reply,) = run(send())  # the holding reply: Rasa is away in this test, and nothing crashed
    inbound = messages(conversation_id)[0]
    assert inbound.text == "Bonjour \ufffd ça va \U0001f600"


def test_a_verified_debtor_silent_too_long_proves_who_they_are_again_before_any_detail(database):
    """Verification expiry (a recycled or shared phone): the clock is the conversation's last message, moved
    back; the next message finds the verification gone, and Rasa forgets the file before it reads it."""
    import datetime as dt

    from api.models import Account
    from api.services.bot_context import conversation_context

    conversation_id = find_or_create_conversation("sms", "+33612345678")
    calls: list[tuple[str, object]] = []

    async def rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls.append((request.url.path, body))
        if request.url.path.endswith("/tracker/events"):
            return httpx.Response(200, json={})
        return httpx.Response(200, json=[{"recipient_id": conversation_id, "text": "Quelle est votre référence ?"}])

    def verified(minutes_ago: int) -> None:
        with session_scope() as session:
            conversation = session.get_one(Conversation, conversation_id)
            account = session.query(Account).filter_by(reference="CR-10001").one()
            conversation.account_id, conversation.verified_at = account.id, utcnow() - dt.timedelta(minutes=minutes_ago + 1)
            conversation.opened_at = conversation.verified_at
            conversation.last_message_at = utcnow() - dt.timedelta(minutes=minutes_ago)

    async def say(text: str):
        router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)), Transports())
        return await router.handle_inbound(conversation_id, text)

    verified(minutes_ago=59)  # within the hour: still verified, nothing reset
    run(say("quel est mon solde ?"))
    assert [path for path, _ in calls] == ["/webhooks/twilio_relay/webhook"]
    with session_scope() as session:
        assert session.get_one(Conversation, conversation_id).verified_at is not None

    calls.clear()
    verified(minutes_ago=61)
    run(say("quel est mon solde ?"))
    (reset_path, events), (turn_path, _) = calls
    assert reset_path == f"/conversations/{conversation_id}/tracker/events" and turn_path.endswith("/webhook")
    assert {"event": "slot", "name": "identity", "value": "unverified"} in events
    assert {"event": "slot", "name": "balance_text", "value": None} in events
    with session_scope() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert conversation.verified_at is None
        context = conversation_context(session, conversation, get_settings())
        assert context["verified"] is False and context["account"] is None  # nothing for the action server either


class FakeRasa:
    """Rasa's webhook and tracker: each message the webhook takes goes into the tracker with its metadata and
    the bot's answer; `lost` answers are taken (in the tracker) but their HTTP response never arrives."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.taken: list[str] = []
        self.lost = 0
        self.unreachable = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/tracker"):
            return httpx.Response(200, json={"events": self.events})
        if self.unreachable:
            self.unreachable -= 1
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content)
        self.taken.append(body["message"])
        answer = f"re: {body['message']}"
        self.events += [
            {"event": "user", "text": body["message"], "metadata": body["metadata"]},
            {"event": "action", "name": "utter_answer"},
            {"event": "bot", "text": answer, "data": {"buttons": None}},
            {"event": "action", "name": "action_listen"},
        ]
        if self.lost:
            self.lost -= 1
            raise httpx.ReadTimeout("Rasa took too long", request=request)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": answer}])


def opened_conversation(address: str) -> str:
    conversation_id = find_or_create_conversation("webchat", address)
    with session_scope() as session:
        session.get_one(Conversation, conversation_id).opened_at = utcnow()
    return conversation_id


def outbound_texts(conversation_id: str) -> list[str]:
    return [m.text for m in messages(conversation_id) if m.direction == "outbound"]


def test_a_turn_rasa_took_but_answered_too_late_is_not_sent_again(database):
    """The 30-second timeout passed while Rasa was still working: the retry finds the turn in Rasa's tracker by
    its key and relays its answer, instead of making Rasa take the message a second time."""
    conversation_id = opened_conversation("session-slow-rasa")
    rasa = FakeRasa()
    rasa.lost = 1
    router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)), Transports())
    holding = run(router.handle_inbound(conversation_id, "combien je dois ?"))
    assert [r.author for r in holding] == ["system"]
    run(router.retry_unanswered(older_than_seconds=0))
    run(router.retry_unanswered(older_than_seconds=0))
    assert rasa.taken == ["combien je dois ?"]
    assert outbound_texts(conversation_id)[1:] == ["re: combien je dois ?"]
    assert [m.status for m in messages(conversation_id) if m.direction == "inbound"] == ["processed"]


def test_a_turn_rasa_never_took_is_sent_once_it_is_back(database):
    conversation_id = opened_conversation("session-rasa-away")
    rasa = FakeRasa()
    rasa.unreachable = 1
    router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)), Transports())
    run(router.handle_inbound(conversation_id, "bonjour"))
    assert rasa.taken == []
    run(router.retry_unanswered(older_than_seconds=0))
    assert rasa.taken == ["bonjour"]
    assert outbound_texts(conversation_id)[1:] == ["re: bonjour"]
    # Each turn carries its key (the message's id) in the metadata Rasa keeps.
    (user,) = [e for e in rasa.events if e["event"] == "user"]
    assert user["metadata"]["turn"] == str(messages(conversation_id)[0].id)


def test_a_worker_has_rasa_answer_at_most_rasa_turns_at_once_and_the_others_wait_without_timing_out(database, monkeypatch):
    """Five debtors write at once to a worker allowed two turns at Rasa: Rasa never has more than two, every
    debtor is answered, none held (the wait is in the api, where no timeout runs)."""
    monkeypatch.setenv("RASA_TURNS_AT_ONCE", "2")
    get_settings.cache_clear()
    conversations = [find_or_create_conversation("webchat", f"session-at-once-{i}") for i in range(5)]
    at_rasa, most = 0, 0

    async def rasa(request: httpx.Request) -> httpx.Response:
        nonlocal at_rasa, most
        at_rasa += 1
        most = max(most, at_rasa)
        await asyncio.sleep(0.05)
        at_rasa -= 1
        return httpx.Response(200, json=[{"text": "re: " + json.loads(request.content)["message"]}])

    async def everyone():
        router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)), Transports())
        with session_scope() as session:
            for conversation_id in conversations:
                session.get(Conversation, conversation_id).opened_at = utcnow()
        return await asyncio.gather(*(router.handle_inbound(c, "combien je dois ?") for c in conversations))

    answers = run(everyone())
    assert most == 2
    assert [[r.text for r in replies] for replies in answers] == [["re: combien je dois ?"]] * 5
    get_settings.cache_clear()


def test_once_rasa_is_back_the_held_conversations_are_answered_side_by_side(database, monkeypatch):
    """Rasa was away for six debtors: the retry answers them together, as many at once as Rasa is allowed
    (not one conversation after the other), each once."""
    monkeypatch.setenv("RASA_TURNS_AT_ONCE", "3")
    get_settings.cache_clear()
    conversations = [opened_conversation(f"session-backlog-{i}") for i in range(6)]
    rasa = FakeRasa()
    rasa.unreachable = 6
    at_rasa, most = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal at_rasa, most
        if request.method == "POST" and not rasa.unreachable:
            at_rasa += 1
            most = max(most, at_rasa)
            await asyncio.sleep(0.05)
            at_rasa -= 1
        return await rasa(request)

    router = ConversationRouter(get_settings(), httpx.AsyncClient(transport=httpx.MockTransport(slow)), Transports())

    async def outage_then_back() -> None:
        await asyncio.gather(*(router.handle_inbound(c, "combien je dois ?") for c in conversations))
        assert rasa.taken == []
        await router.retry_unanswered(older_than_seconds=0)

    run(outage_then_back())
    assert most == 3
    assert len(rasa.taken) == 6
    for conversation_id in conversations:
        assert outbound_texts(conversation_id)[1:] == ["re: combien je dois ?"]
    get_settings.cache_clear()
