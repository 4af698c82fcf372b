"""Live updates for the agent console: every signed-in console's WebSocket gets each event.

Events are small hints (`queue_changed`, `conversation_changed`, `message`) after which the console reads
what changed through its JSON API, so a missed event costs only freshness (the console also refreshes
on its own every half minute). They come from one place: what a committed transaction changed
(`_collect_console_events` below), so no service has to remember to tell the consoles. Consoles follow the
conversations a person has or that wait in the queue; the bot's own turns send nothing, and with no console
connected to this process nothing is even collected. With several api workers (`REDIS_URL`) every event goes
through Redis pub/sub, and each worker passes it to the consoles it holds: a console hears what happened on
any worker. While Redis is away, a worker's consoles still hear what happens on that worker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from itertools import chain
from typing import Any

import redis.asyncio
import redis.exceptions
from anyio import to_thread
from fastapi import WebSocket
from sqlalchemy import event, exists, or_, select
from sqlalchemy.orm import Session, UOWTransaction

from api.core.logging import log
from api.db import get_sessionmaker
from api.models import (
    AgentNote,
    Commitment,
    Consent,
    ContactPreference,
    Conversation,
    Dispute,
    Handoff,
    Message,
    PaymentClaim,
    Signal,
    VerificationAttempt,
)

EVENTS_CHANNEL = "console-events"


class ConsoleHub:
    def __init__(self) -> None:
        # Each console's agent, and the creditors whose conversations it hears about.
        self._sockets: dict[WebSocket, tuple[int, frozenset[int]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.shared: redis.asyncio.Redis | None = None
        self.listener: redis.asyncio.Redis | None = None

    def bind(
        self,
        loop: asyncio.AbstractEventLoop,
        shared: redis.asyncio.Redis | None = None,
        listener: redis.asyncio.Redis | None = None,
    ) -> None:
        self._loop = loop
        self.shared = shared
        self.listener = listener or shared

    @property
    def connected(self) -> int:
        return len(self._sockets)

    @property
    def has_loop(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    @property
    def listening(self) -> bool:
        """A console may hear of this worker's changes: one is connected here, or any worker may hold one."""
        return bool(self.connected) or self.shared is not None

    async def _publish_everywhere(self, event: dict[str, Any], creditor_id: int | None) -> None:
        assert self.shared is not None
        try:
            await self.shared.publish(EVENTS_CHANNEL, json.dumps({"event": event, "creditor_id": creditor_id}))
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("console_event_without_redis", error=type(exc).__name__)
            await self.publish(event, creditor_id)

    async def listen(self) -> None:
        """With Redis: passes every worker's events to the consoles this worker holds, for ever."""
        if self.listener is None:
            return
        while True:
            try:
                async with self.listener.pubsub() as pubsub:
                    await pubsub.subscribe(EVENTS_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            news = json.loads(message["data"])
                            await self.publish(news["event"], news.get("creditor_id"))
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("console_events_interrupted", error=type(exc).__name__)
                await asyncio.sleep(1.0)  # Redis restarting: subscribe again

    async def attach(self, websocket: WebSocket, agent_id: int, creditor_ids: frozenset[int]) -> None:
        self._sockets[websocket] = (agent_id, creditor_ids)

    def detach(self, websocket: WebSocket) -> None:
        self._sockets.pop(websocket, None)

    async def publish(self, event: dict[str, Any], creditor_id: int | None = None) -> None:
        """To every console, or (a conversation's news) to the consoles of agents who serve its creditor."""
        for websocket, (_, served) in list(self._sockets.items()):
            if creditor_id is not None and creditor_id not in served:
                continue
            try:
                await websocket.send_json(event)
            except Exception:  # noqa: BLE001 - a closed console must not stop the others' updates
                self.detach(websocket)

    def run_soon(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Runs `coroutine` on the api's event loop, whether called from the loop or from a worker thread."""
        if self._loop is None or self._loop.is_closed():
            coroutine.close()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            task = self._loop.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def notify(self, event_type: str, creditor_id: int | None = None, **fields: Any) -> None:
        """Sends an event to the consoles concerned (on every worker), from the event loop or a worker thread."""
        event = {"type": event_type, **fields}
        if self.shared is not None:
            self.run_soon(self._publish_everywhere(event, creditor_id))
        elif self._sockets:
            self.run_soon(self.publish(event, creditor_id))


hub = ConsoleHub()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Runs `callback` once this transaction is committed (nothing happens if it is rolled back)."""
    session.info.setdefault("after_commit", []).append(callback)


# A row of these kinds, written or changed, is news on its conversation's page in the console.
MESSAGE_ROWS = (Message, Signal, Consent)
RECORD_ROWS = (AgentNote, Commitment, Dispute, PaymentClaim, ContactPreference, VerificationAttempt)
EVENTS_KEY = "console_events"


@event.listens_for(Session, "after_flush")
def _collect_console_events(session: Session, _flush: UOWTransaction) -> None:
    """Notes what this flush changed that a console shows; sent once the transaction commits."""
    if not hub.listening:
        return
    events: set[tuple[str, str | None]] = session.info.setdefault(EVENTS_KEY, set())
    for row in chain(session.new, session.dirty):
        if isinstance(row, Handoff):
            events |= {("queue_changed", None), ("conversation_changed!", row.conversation_id)}
        elif isinstance(row, MESSAGE_ROWS) and row.conversation_id:
            events.add(("message", row.conversation_id))
        elif isinstance(row, RECORD_ROWS) and row.conversation_id:
            events.add(("conversation_changed", row.conversation_id))
        elif isinstance(row, Conversation):
            events.add(("conversation_changed", row.id))


def _creditors(conversation_ids: set[str], followed_only: bool) -> dict[str, int]:
    """The creditor of each conversation (only those a console follows — with a person, or waiting in the
    queue — when `followed_only`)."""
    active_handoff = exists().where(Handoff.conversation_id == Conversation.id, Handoff.status.in_(("open", "claimed")))
    query = select(Conversation.id, Conversation.creditor_id).where(Conversation.id.in_(conversation_ids))
    if followed_only:
        query = query.where(or_(Conversation.state != "bot", active_handoff))
    with get_sessionmaker()() as session:
        return {cid: creditor_id for cid, creditor_id in session.execute(query)}


def _send_console_events(events: set[tuple[str, str | None]]) -> None:
    # A handoff's own change is always news ("!"): a conversation just handed back to the bot leaves the queue.
    candidates = {cid for kind, cid in events if cid and not kind.endswith("!")}
    followed = _creditors(candidates, followed_only=True) if candidates else {}
    always = {cid for kind, cid in events if cid and kind.endswith("!")}
    creditors = {**followed, **(_creditors(always, followed_only=False) if always else {})}
    news = {(kind.rstrip("!"), cid) for kind, cid in events if cid is None or kind.endswith("!") or cid in followed}
    for kind, conversation_id in sorted(news, key=lambda e: (e[0], e[1] or "")):
        if conversation_id is None:
            hub.notify(kind)
        elif conversation_id in creditors:  # only to the agents who serve its creditor
            hub.notify(kind, creditor_id=creditors[conversation_id], conversation_id=conversation_id)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()
    events = session.info.pop(EVENTS_KEY, None)
    if events and hub.listening:
        # Not on the committing session's thread: reading the conversations' creditors needs a connection of
        # its own, and taking it while this session still holds one exhausts the pool under load.
        if hub.has_loop:
            hub.run_soon(to_thread.run_sync(_send_console_events, events))
        else:
            _send_console_events(events)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)
    session.info.pop(EVENTS_KEY, None)
