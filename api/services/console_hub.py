"""Live updates for the agent console: every signed-in console's WebSocket gets each event.

Events are small hints (`queue_changed`, `conversation_changed`, `message`) after which the console reads
what changed through its JSON API, so a missed event costs only freshness (the console also refreshes
on its own every half minute). `notify` may be called from any thread: routes and services that run in
worker threads use it too. One api process holds its consoles; several api processes behind a load
balancer would need a shared channel (Redis pub/sub) here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import WebSocket
from sqlalchemy import event
from sqlalchemy.orm import Session


class ConsoleHub:
    def __init__(self) -> None:
        self._sockets: dict[WebSocket, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def connected(self) -> int:
        return len(self._sockets)

    async def attach(self, websocket: WebSocket, agent_id: int) -> None:
        self._sockets[websocket] = agent_id

    def detach(self, websocket: WebSocket) -> None:
        self._sockets.pop(websocket, None)

    async def publish(self, event: dict[str, Any]) -> None:
        for websocket in list(self._sockets):
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

    def notify(self, event_type: str, **fields: Any) -> None:
        """Sends an event to every console, from the event loop or from a worker thread."""
        if self._sockets:
            self.run_soon(self.publish({"type": event_type, **fields}))


hub = ConsoleHub()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Runs `callback` once this transaction is committed (nothing happens if it is rolled back)."""
    session.info.setdefault("after_commit", []).append(callback)


def notify_after_commit(session: Session, event_type: str, **fields: Any) -> None:
    """Tells the consoles once this transaction is committed (they read the change right after)."""
    after_commit(session, lambda: hub.notify(event_type, **fields))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)
