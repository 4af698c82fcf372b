"""Rasa's lock store, chosen by `RASA_LOCK_STORE_URL`: in memory for one Rasa server (the embedded default),
Redis (`redis://host:port/db`) when several Rasa servers share the tracker store.

Rasa's Redis lock is not atomic across servers (RasaHQ/rasa#9213), so it is not what keeps a conversation's
turns in order: the api sends each conversation to one server (a stable hash of its id) and takes one turn at
a time per conversation under its own lock (api/services/locks.py). The Redis lock store is the second guard,
for a conversation moved to another server while the first is down.

Configured in endpoints.yml (`type: bot.lock_store.ConfiguredLockStore`, `url: ${RASA_LOCK_STORE_URL}`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class ConfiguredLockStore(LockStore):
    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_: Any) -> LockStore:  # type: ignore[misc]
        url = (endpoint_config.url if endpoint_config else None) or ""
        if not url.startswith(("redis://", "rediss://")):
            return InMemoryLockStore()
        parsed = urlparse(url)
        return RedisLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 1),
            username=parsed.username,
            password=parsed.password,
            use_ssl=parsed.scheme == "rediss",
            key_prefix="rasa",
        )
