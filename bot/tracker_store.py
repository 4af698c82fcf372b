"""Rasa's conversation state kept in a database (SQLite in the embedded default, PostgreSQL when scaled), so
that a Rasa restart loses nothing a debtor said or agreed.

Rasa's own SQL tracker store only ever appends: replacing a conversation's events (`PUT
/conversations/{id}/tracker/events`, what the api does to erase a debtor's conversations) would leave the
old events in the table. This one deletes them first when a save holds fewer events than the table, and adds
an index fit for the store's own query (the latest session of a conversation).

Configured in endpoints.yml (`type: bot.tracker_store.ErasableSQLTrackerStore`, `url:` a database URL).
Rasa falls back to memory, with only a warning, when a custom store cannot be loaded: the restart test in
tests/e2e proves this one is used.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

SESSION_INDEX = "ix_events_sender_id_type_name_timestamp"


class ErasableSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The latest session of a conversation: `sender_id`, then its `session_started` events by time.
        with self.engine.begin() as db:
            db.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {SESSION_INDEX} ON events (sender_id, type_name, timestamp)"))

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            if stored > len(tracker.events):
                # The events were replaced (an erasure, a reset): what was stored goes, every session of it.
                deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == tracker.sender_id).delete()
                session.commit()
                logger.info("tracker_events_replaced deleted=%s kept=%s", deleted, len(tracker.events))
        await super().save(tracker)
