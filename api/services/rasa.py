"""The Rasa server, reached through its REST channel: one Rasa conversation per debtor conversation."""

from __future__ import annotations

from typing import Any

import httpx

from api.core.config import Settings
from api.core.rasa_auth import bearer
from api.services.errors import RasaUnavailable


async def send_to_rasa(
    client: httpx.AsyncClient,
    rasa_url: str,
    sender: str,
    text: str,
    metadata: dict[str, Any],
    *,
    webhook: str = "rest",
) -> list[dict[str, Any]]:
    """The bot's replies to one message; `webhook` is Rasa's input channel (`rest`, `twilio_relay`)."""
    try:
        response = await client.post(
            f"{rasa_url.rstrip('/')}/webhooks/{webhook}/webhook",
            json={"sender": sender, "message": text, "metadata": metadata},
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise RasaUnavailable(str(exc)) from exc
    return response.json() or []


async def turn_replies(client: httpx.AsyncClient, settings: Settings, sender: str, turn: str) -> list[dict[str, Any]] | None:
    """What Rasa answered to the message sent with metadata `turn`, read from its tracker: None when Rasa never
    took it (send it), the replies when it finished; RasaUnavailable while it is still being answered."""
    try:
        response = await client.get(
            f"{settings.rasa_url.rstrip('/')}/conversations/{sender}/tracker",
            params={"include_events": "AFTER_RESTART"},
            headers=bearer(settings.rasa_jwt_private_key_file),
        )
        response.raise_for_status()
    except (httpx.HTTPError, OSError) as exc:
        raise RasaUnavailable(str(exc)) from exc
    events: list[dict[str, Any]] = response.json().get("events") or []
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
    try:
        response = await client.post(
            f"{settings.rasa_url.rstrip('/')}/conversations/{sender}/tracker/events",
            params={"include_events": "NONE"},
            headers=bearer(settings.rasa_jwt_private_key_file),
            json=events,
        )
        response.raise_for_status()
    except (httpx.HTTPError, OSError) as exc:  # OSError: no key to sign with (RASA_JWT_PRIVATE_KEY_FILE)
        raise RasaUnavailable(str(exc)) from exc


def clear_trackers_now(settings: Settings, senders: list[str], timeout: float = 10.0) -> list[str]:
    """Replaces conversations' tracker events with none (what the debtor said is gone from Rasa too), from a
    worker thread; answers the conversations Rasa could not clear."""
    failed = []
    with httpx.Client(timeout=timeout) as client:
        for sender in senders:
            try:
                client.put(
                    f"{settings.rasa_url.rstrip('/')}/conversations/{sender}/tracker/events",
                    params={"include_events": "NONE"},
                    headers=bearer(settings.rasa_jwt_private_key_file),
                    json=[],
                ).raise_for_status()
            except (httpx.HTTPError, OSError):
                failed.append(sender)
    return failed
