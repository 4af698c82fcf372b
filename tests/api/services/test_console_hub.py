"""Console events come from one place: what a committed transaction changed, for the conversations a
console follows (with a person, or waiting in the queue) — and nothing for the bot's own turns."""

from __future__ import annotations

from api.db import session_scope
from api.models import Conversation, Creditor, Message, Signal
from api.services import console_hub, handoffs
from api.services.console_hub import hub


def _conversation() -> str:
    with session_scope() as session:
        creditor_id = session.query(Creditor.id).scalar()
        row = Conversation(creditor_id=creditor_id, channel="webchat", channel_address=f"hub-{id(object())}", language="fr")
        session.add(row)
        session.flush()
        return row.id


def _message(conversation_id: str, text: str) -> None:
    with session_scope() as session:
        session.add(
            Message(
                conversation_id=conversation_id,
                direction="inbound",
                author="debtor",
                channel="webchat",
                text=text,
                status="received",
            )
        )


def test_console_events_follow_committed_changes(database, monkeypatch):
    sent: list[tuple[str, str | None]] = []
    monkeypatch.setattr(hub, "notify", lambda kind, **fields: sent.append((kind, fields.get("conversation_id"))))
    monkeypatch.setattr(console_hub.ConsoleHub, "connected", property(lambda _self: 1))
    bot_only, handed_over = _conversation(), _conversation()

    _message(bot_only, "Bonjour")  # the bot's own turn: no console cares
    assert sent == []

    with session_scope() as session:
        handoffs.request_handoff(session, session.get_one(Conversation, handed_over), "request_human")
    assert ("queue_changed", None) in sent and ("conversation_changed", handed_over) in sent
    sent.clear()

    _message(handed_over, "Vous êtes là ?")
    with session_scope() as session:
        session.add(Signal(conversation_id=handed_over, kind="hardship"))
    assert sent == [("message", handed_over), ("message", handed_over)]
    sent.clear()

    # A rolled-back transaction tells nobody anything.
    try:
        with session_scope() as session:
            session.add(Signal(conversation_id=handed_over, kind="dispute"))
            session.flush()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert sent == []


def test_nothing_is_collected_while_no_console_is_connected(database, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(hub, "notify", lambda kind, **fields: sent.append(kind))
    conversation_id = _conversation()
    with session_scope() as session:
        handoffs.request_handoff(session, session.get_one(Conversation, conversation_id), "request_human")
        assert console_hub.EVENTS_KEY not in session.info
    assert sent == []
