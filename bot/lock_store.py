"""Rasa's lock store, chosen by `RASA_LOCK_STORE_URL`: in memory for one Rasa server (the embedded default),
Redis (`redis://host:port/db`) when several Rasa servers share the tracker store.

Rasa's Redis lock is not atomic across servers (RasaHQ/rasa#9213), so it is not what keeps a conversation's
turns in order: the api sends each conversation to one server (a stable hash of its id) and takes one turn at
a time per conversation under its own lock (api/services/locks.py). The Redis lock store is the second guard,
for a conversation moved to another server while the first is down.

When Redis is away, a turn is not refused for want of its lock: it takes this server's own lock instead
(logged), as the embedded default does. The api's lock already keeps the conversation's turns one at a time,
and its messages keep reaching this server; a Redis restarted empty loses only tickets that expire anyway.

Configured in endpoints.yml (`type: bot.lock_store.ConfiguredLockStore`, `url: ${RASA_LOCK_STORE_URL}`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator
from urllib.parse import urlparse

import redis.exceptions
import structlog
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

structlogger = structlog.get_logger()
REDIS_AWAY = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# A Redis that does not answer within this is away: the turn goes on under this server's lock.
SOCKET_TIMEOUT_SECONDS = 2.0


def _redis_away(exc: BaseException) -> bool:
    """Redis refused, dropped or timed out (Rasa wraps the error in a LockError, keeping it as the context)."""
    return isinstance(exc, REDIS_AWAY) or (isinstance(exc, LockError) and isinstance(exc.__context__, REDIS_AWAY))


class RedisOrLocalLockStore(RedisLockStore):
    """Rasa's Redis lock store, and this server's own locks while Redis is away."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(socket_timeout=SOCKET_TIMEOUT_SECONDS, **kwargs)
        self.local = InMemoryLockStore()

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        held: TicketLock | None = None
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
            try:
                held = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            except BaseException as exc:  # cancelled (the api gave up waiting), refused: the ticket goes
                self._cleanup_quietly(conversation_id, ticket)
                raise exc
        except (LockError, *REDIS_AWAY) as exc:
            if not _redis_away(exc):
                raise
            structlogger.warning("lock_store.without_redis", error=type(exc.__context__ or exc).__name__)
        if held is None:
            async with self.local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as local:
                yield local
            return
        try:
            yield held
        finally:
            self._cleanup_quietly(conversation_id, ticket)

    def _cleanup_quietly(self, conversation_id: str, ticket: int) -> None:
        try:
            self.cleanup(conversation_id, ticket)
        except REDIS_AWAY as exc:  # the ticket expires with its lifetime
            structlogger.warning("lock_store.cleanup_without_redis", error=type(exc).__name__)


class ConfiguredLockStore(LockStore):
    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_: Any) -> LockStore:  # type: ignore[misc]
        url = (endpoint_config.url if endpoint_config else None) or ""
        if not url.startswith(("redis://", "rediss://")):
            return InMemoryLockStore()
        parsed = urlparse(url)
        return RedisOrLocalLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 1),
            username=parsed.username,
            password=parsed.password,
            use_ssl=parsed.scheme == "rediss",
            key_prefix="rasa",
        )
