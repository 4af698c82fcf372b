"""The conversation state in a database (bot/tracker_store.py): kept across store instances (a Rasa restart),
and truly replaced when the api replaces a conversation's events (an erasure)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import SESSION_INDEX, ErasableSQLTrackerStore

SECRET = "ma fille est a l'hopital depuis mardi"  # ASCII: stored as JSON, where accents are escaped
DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


def store_at(path) -> ErasableSQLTrackerStore:
    return ErasableSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{path}")


def conversation(sender_id: str = "c1") -> DialogueStateTracker:
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(SECRET, {"name": "report_hardship", "confidence": 0.9}),
        SlotSet("identity", "verified"),
    ]
    return DialogueStateTracker.from_events(sender_id, events, DOMAIN.slots)


def stored_texts(path) -> list[str]:
    with sa.create_engine(f"sqlite:///{path}").connect() as db:
        return [row[0] for row in db.execute(sa.text("select data from events"))]


def test_a_conversation_outlives_the_store_that_saved_it(tmp_path):
    path = tmp_path / "trackers.db"
    asyncio.run(store_at(path).save(conversation()))
    restored = asyncio.run(store_at(path).retrieve("c1"))  # a new process: a Rasa restart
    assert restored is not None
    assert restored.get_slot("identity") == "verified"
    assert restored.latest_message.text == SECRET


def test_replacing_a_conversations_events_removes_the_old_ones(tmp_path):
    path = tmp_path / "trackers.db"
    store = store_at(path)
    asyncio.run(store.save(conversation("c1")))
    asyncio.run(store.save(conversation("c2")))
    asyncio.run(store.save(DialogueStateTracker.from_events("c1", [])))  # what the api's erasure sends
    remaining = stored_texts(path)
    assert sum(SECRET in data for data in remaining) == 1  # c2's only
    assert asyncio.run(store.retrieve("c1")) is None or not asyncio.run(store.retrieve("c1")).events


def test_appending_keeps_what_was_there(tmp_path):
    path = tmp_path / "trackers.db"
    store = store_at(path)
    asyncio.run(store.save(conversation()))
    before = len(stored_texts(path))
    tracker = asyncio.run(store.retrieve("c1"))  # as Rasa does at each message
    tracker.update(UserUttered("et maintenant ?", {"name": "ask_balance", "confidence": 0.9}))
    asyncio.run(store.save(tracker))
    assert len(stored_texts(path)) == before + 1


def test_the_latest_session_query_has_its_index(tmp_path):
    path = tmp_path / "trackers.db"
    store_at(path)
    store_at(path)  # created once, found the second time
    assert SESSION_INDEX in {index["name"] for index in sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_indexes("events")}
