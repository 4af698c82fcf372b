"""One turn at a time per conversation, across the api's workers.

A conversation's messages are answered in order, one at a time: that keeps Rasa's tracker and our records in
the same order. Within a worker an asyncio lock does it; with several workers (`REDIS_URL`) a Redis lock
with a short lease is taken as well, renewed while the turn lasts, so a worker killed in the middle of a turn
holds nobody up for longer than the lease. When Redis is away the worker carries on with its own lock
(logged): a conversation's messages normally reach one worker (its socket, or the webhooks of one number
arriving one after the other), so ordering rarely depends on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import redis.asyncio
import redis.exceptions
from redis.asyncio.lock import Lock as RedisLock

from api.core.logging import log

LEASE_SECONDS = 10.0
RENEW_SECONDS = 3.0


@dataclass
class Held:
    """A conversation's lock, held; `release()` once the turn is done."""

    local: asyncio.Lock
    shared: RedisLock | None = None
    renewer: asyncio.Task[None] | None = None

    async def release(self) -> None:
        if self.renewer is not None:
            self.renewer.cancel()
        if self.shared is not None:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                await self.shared.release()
        self.local.release()


class ConversationLocks:
    def __init__(self, client: redis.asyncio.Redis | None = None, *, wait_seconds: float = 60.0) -> None:
        self.client = client
        self.wait_seconds = wait_seconds
        self._local: dict[str, asyncio.Lock] = {}

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        return self._local.setdefault(conversation_id, asyncio.Lock())

    async def acquire(self, conversation_id: str, *, wait: bool = True) -> Held | None:
        """The conversation's lock; None when it is busy and `wait` is false, or still busy after
        `wait_seconds` (the message stays stored and unanswered: the retry loop answers it)."""
        local = self._lock(conversation_id)
        if not wait and local.locked():
            return None
        try:
            await asyncio.wait_for(local.acquire(), self.wait_seconds)
        except TimeoutError:
            return None
        if self.client is None:
            return Held(local)
        shared = RedisLock(self.client, f"conversation-lock:{conversation_id}", timeout=LEASE_SECONDS, sleep=0.05)
        try:
            taken = await shared.acquire(blocking=wait, blocking_timeout=self.wait_seconds if wait else None)
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("conversation_lock_without_redis", error=type(exc).__name__)
            return Held(local)
        if not taken:
            local.release()
            return None
        return Held(local, shared, asyncio.create_task(self._renew(shared)))

    @staticmethod
    async def _renew(shared: RedisLock) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await shared.reacquire()
            except (redis.exceptions.RedisError, OSError):
                return  # lost to Redis going away: the turn finishes under the worker's own lock
