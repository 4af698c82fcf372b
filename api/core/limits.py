"""Limits on anonymous and automated load: request body size, and rates per client, sender or API key.

Rates are moving windows counted by the `limits` library: in this process's memory (bounded: one small entry
per key and window), or in Redis when several api workers share the counts (`REDIS_URL`). When Redis is
away, the worker counts in its own memory until it is back (logged): a limit is never a reason to refuse a
debtor's message because a counter is unreachable. Each limit is named and configured in `Settings`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from typing import Any

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from api.core.config import Settings, get_settings
from api.core.logging import log
from api.services.errors import TooManyRequests

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Throttle:
    """`allow(name, key)`: one more event of `name` for `key` (a client address, a phone number, a creditor)."""

    def __init__(self, settings: Settings) -> None:
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = (
            MovingWindowRateLimiter(
                RedisStorage(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0, wrap_exceptions=True)
            )
            if settings.redis_url
            else None
        )
        self._items: dict[str, RateLimitItem] = {
            "inbound_message": RateLimitItemPerMinute(settings.inbound_messages_per_sender_per_minute),
            "console_sign_in": parse(f"{settings.console_sign_ins_per_client_per_15_minutes}/15minutes"),
            "creditor_request": RateLimitItemPerMinute(settings.creditor_requests_per_minute),
            "document_unlock": parse(f"{settings.document_unlocks_per_client_per_15_minutes}/15minutes"),
            "webchat_session": RateLimitItemPerHour(settings.webchat_sessions_per_client_per_hour),
        }

    def _hit(self, item: RateLimitItem, name: str, key: str) -> bool:
        if self._shared is not None:
            try:
                return self._shared.hit(item, name, key)
            except Exception as exc:  # noqa: BLE001 - limits wraps the storage's errors; any means "Redis away"
                log.warning("rate_limit_without_redis", limit=name, error=type(exc).__name__)
        return self._local.hit(item, name, key)

    def allow(self, name: str, key: str) -> bool:
        allowed = self._hit(self._items[name], name, key)
        if not allowed:
            log.warning("rate_limited", limit=name)  # the key is a client address or a number: not logged
        return allowed

    def check(self, name: str, key: str) -> None:
        """Raises TooManyRequests (429) when the limit is reached."""
        if not self.allow(name, key):
            raise TooManyRequests()


@cache
def get_throttle() -> Throttle:
    return Throttle(get_settings())


class BodySizeLimit:
    """Refuses with 413 a request whose body is larger than `max_bytes`, before the app reads it: by its
    Content-Length when it has one, otherwise by reading it first, never more than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(send, self.max_bytes)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read it first, up to the limit, then hand the app what was read.
        chunks: list[Message] = []
        received = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = (
        b'{"type": "about:blank#payload_too_large", "title": "Payload too large", "status": 413, '
        b'"detail": "The request body is larger than ' + str(max_bytes).encode() + b' bytes."}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
