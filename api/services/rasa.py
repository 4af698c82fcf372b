"""The Rasa servers, reached through their REST channel: one Rasa conversation per debtor conversation.

With several Rasa servers (`RASA_URLS`), each conversation goes to one of them, chosen by rendezvous hashing
of its id: every api worker picks the same server for it without talking to the others, and adding or
losing a server moves only the conversations it had. A server that refuses the connection (down, restarting)
is skipped for `DOWN_SECONDS` and the conversation goes to the next server of its own order; the servers
share the tracker store (PostgreSQL), so the other server carries on the same conversation. A request that
reached a server and then failed (a timeout: it may still be answering) is sent again to that same server
first, even when the conversation's own server is back meanwhile: the caller holds the message and looks for
the turn in the tracker before sending it again (api/services/router.py), but a turn still running is in no
tracker yet, and only the server running it recognises it (bot/channels.py `once_per_turn`). If that server
refuses the connection, it died with the turn, and any server may take it.
One turn at a time per conversation is the api's own lock (api/services/locks.py), which is why Rasa's
non-atomic Redis lock store (RasaHQ/rasa#9213) is never the only guard.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from typing import Any, TypeVar

import httpx

from api.core.config import Settings
from api.core.logging import log
from api.core.rasa_auth import bearer
from api.services.errors import RasaUnavailable

T = TypeVar("T")
# How long a server that refused a connection is skipped before it is tried again.
DOWN_SECONDS = 10.0
# Turns that reached a server without an answer, remembered (oldest forgotten first) to be sent there again.
REMEMBERED_TURNS = 10_000


class RasaServers:
    """The servers in each conversation's own order, servers seen down last."""

    def __init__(self, urls: list[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        self.clock = clock
        self._down_until: dict[str, float] = {}
        self._took: OrderedDict[str, str] = OrderedDict()  # turn key -> the server that took it, unanswered

    def ranked(self, sender: str) -> list[str]:
        def weight(url: str) -> bytes:
            return hashlib.sha256(f"{url}|{sender}".encode()).digest()

        by_hash = sorted(self.urls, key=weight, reverse=True)
        now = self.clock()
        return [url for url in by_hash if self._down_until.get(url, 0) <= now] + [
            url for url in by_hash if self._down_until.get(url, 0) > now
        ]

    def mark_down(self, url: str) -> None:
        if len(self.urls) > 1:
            log.warning("rasa_server_down", server=self.urls.index(url))
        self._down_until[url] = self.clock() + DOWN_SECONDS

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)

    async def call(self, sender: str, request: Callable[[str], Awaitable[T]], *, turn: str | None = None) -> T:
        """`request(server_url)` on the conversation's server, or the next one while connections are refused.
        With `turn` (its key): first on the server a previous attempt of that turn reached, if any."""
        order = self.ranked(sender)
        key = f"{sender}:{turn}" if turn else None
        took = self._took.get(key) if key else None
        if took in order:
            order = [took, *(url for url in order if url != took)]
        refused: httpx.HTTPError | None = None
        for url in order:
            try:
                result = await request(url)
            except httpx.ConnectError as exc:  # nothing reached that server: another may take the turn
                self.mark_down(url)
                refused = exc
                continue
            except BaseException:
                if key:  # it reached the server, which may still be answering: next time, there first
                    self._took[key] = url
                    self._took.move_to_end(key)
                    while len(self._took) > REMEMBERED_TURNS:
                        self._took.popitem(last=False)
                raise
            self.mark_up(url)
            if key:
                self._took.pop(key, None)
            return result
        raise RasaUnavailable(str(refused))

    def each(self, sender: str) -> Iterator[str]:
        """The conversation's servers in order, for blocking callers that handle refusals themselves."""
        yield from self.ranked(sender)


@cache
def _servers(urls: tuple[str, ...]) -> RasaServers:
    return RasaServers(list(urls))


def servers(settings: Settings) -> RasaServers:
    """This process's view of the configured servers (which ones are down is remembered between calls)."""
    return _servers(tuple(settings.rasa_servers))


async def send_to_rasa(
    client: httpx.AsyncClient,
    settings: Settings,
    sender: str,
    text: str,
    metadata: dict[str, Any],
    *,
    webhook: str = "rest",
) -> list[dict[str, Any]]:
    """The bot's replies to one message; `webhook` is Rasa's input channel (`rest`, `twilio_relay`)."""

    async def post(url: str) -> list[dict[str, Any]]:
        response = await client.post(
            f"{url}/webhooks/{webhook}/webhook", json={"sender": sender, "message": text, "metadata": metadata}
        )
        response.raise_for_status()
        return response.json() or []

    try:
        return await servers(settings).call(sender, post, turn=metadata.get("turn"))
    except httpx.HTTPError as exc:
        raise RasaUnavailable(str(exc)) from exc


async def _tracker(client: httpx.AsyncClient, settings: Settings, sender: str) -> dict[str, Any]:
    async def get(url: str) -> dict[str, Any]:
        response = await client.get(
            f"{url}/conversations/{sender}/tracker",
            params={"include_events": "AFTER_RESTART"},
            headers=bearer(settings.rasa_jwt_private_key_file),
        )
        response.raise_for_status()
        return dict(response.json())

    try:
        return await servers(settings).call(sender, get)
    except (httpx.HTTPError, OSError) as exc:  # OSError: no key to sign with (RASA_JWT_PRIVATE_KEY_FILE)
        raise RasaUnavailable(str(exc)) from exc


async def turn_replies(client: httpx.AsyncClient, settings: Settings, sender: str, turn: str) -> list[dict[str, Any]] | None:
    """What Rasa answered to the message sent with metadata `turn`, read from its tracker: None when Rasa never
    took it (send it), the replies when it finished; RasaUnavailable while it is still being answered."""
    events: list[dict[str, Any]] = (await _tracker(client, settings, sender)).get("events") or []
    starts = [i for i, e in enumerate(events) if e.get("event") == "user" and (e.get("metadata") or {}).get("turn") == turn]
    if not starts:
        return None
    replies: list[dict[str, Any]] = []
    for event in events[starts[-1] + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            replies.append({"text": event.get("text"), **{k: v for k, v in (event.get("data") or {}).items() if v}})
        if event.get("event") == "action" and event.get("name") == "action_listen":
            return replies
    raise RasaUnavailable(f"turn {turn} is still being answered")


async def append_tracker_events(client: httpx.AsyncClient, settings: Settings, sender: str, events: list[dict[str, Any]]) -> None:
    """Appends events (slots, a closed form) to a conversation's tracker through Rasa's HTTP API."""

    async def post(url: str) -> None:
        response = await client.post(
            f"{url}/conversations/{sender}/tracker/events",
            params={"include_events": "NONE"},
            headers=bearer(settings.rasa_jwt_private_key_file),
            json=events,
        )
        response.raise_for_status()

    try:
        await servers(settings).call(sender, post)
    except (httpx.HTTPError, OSError) as exc:  # OSError: no key to sign with (RASA_JWT_PRIVATE_KEY_FILE)
        raise RasaUnavailable(str(exc)) from exc


def clear_trackers_now(settings: Settings, senders: list[str], timeout: float = 10.0) -> list[str]:
    """Replaces conversations' tracker events with none (what the debtor said is gone from Rasa too), from a
    worker thread; answers the conversations Rasa could not clear."""
    failed = []
    pool = servers(settings)
    with httpx.Client(timeout=timeout) as client:
        for sender in senders:
            for url in pool.each(sender):
                try:
                    client.put(
                        f"{url}/conversations/{sender}/tracker/events",
                        params={"include_events": "NONE"},
                        headers=bearer(settings.rasa_jwt_private_key_file),
                        json=[],
                    ).raise_for_status()
                except httpx.ConnectError:
                    continue  # that server is down: the next one shares the tracker store
                except (httpx.HTTPError, OSError):
                    failed.append(sender)
                break
            else:
                failed.append(sender)
    return failed
