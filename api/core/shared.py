"""Redis, the state several api workers share (`REDIS_URL`; unset: one process keeps it in memory).

What goes through it: socket.io's Redis manager (a reply emitted by any worker reaches the debtor's socket),
the console's live events (pub/sub), the rate limits (`limits`' Redis storage), the conversations' locks
(api/services/locks.py) and which worker holds each web-chat session (channels/webchat/socket.py). Every
user of it survives Redis being away: limits and locks fall back to this process, and the web chat and the
console keep serving the sockets this worker holds (a restarted Redis is reconnected to on the next call).
"""

from __future__ import annotations

import os
import socket
from functools import cache

import redis
import redis.asyncio

# A call to Redis that takes longer than this is treated as Redis being away (fall back, log, carry on).
TIMEOUT_SECONDS = 1.0


@cache
def async_redis(url: str) -> redis.asyncio.Redis:
    """The worker's asyncio client (one connection pool, made on first use inside the event loop)."""
    return redis.asyncio.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


@cache
def async_redis_listener(url: str) -> redis.asyncio.Redis:
    """The worker's client for pub/sub subscriptions: no read timeout (a quiet channel is not a dead one);
    a dead connection shows as a closed socket or a failed health check, and the listener subscribes again."""
    return redis.asyncio.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_keepalive=True, health_check_interval=10
    )


@cache
def sync_redis(url: str) -> redis.Redis:
    """The worker's blocking client, for code that runs in a thread or must answer at once (rate limits)."""
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


@cache
def worker_id(name: str) -> str:
    """This process among the api's workers: its configured name (or host) and its pid."""
    return f"{name or socket.gethostname()}-{os.getpid()}"
