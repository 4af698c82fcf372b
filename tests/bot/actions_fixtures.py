"""What the actions' unit tests stand on: a real local fake of the api, real trackers, and one way to run an action.

The fake api is an aiohttp server on 127.0.0.1 (a free port) with an event loop and a thread of its own, so the
actions reach it over HTTP exactly as they reach the api, whichever loop the test runs them in. It records every
request and answers what the test set: canned JSON, or an RFC 9457 problem as the api sends its refusals.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client

ROOT = Path(__file__).resolve().parents[2]
CONVERSATION_ID = "conversation-1"
TEST_ACTIONS_TOKEN = "test-actions-token"
T = TypeVar("T")


def load_domain() -> dict[str, Any]:
    # The real domain: form validation reads the forms' required slots from it, and every response an action
    # utters must exist in it.
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@dataclass(frozen=True)
class ApiRequest:
    method: str
    conversation_id: str
    path: str
    body: Any
    token: str | None


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


class FakeApi:
    """The api's action-server door (`/internal/v1/conversations/{id}/…`), answering what each test sets."""

    def __init__(self) -> None:
        self.requests: list[ApiRequest] = []
        # Seconds every answer waits, to stand for a slow api.
        self.delay = 0.0
        self.url = ""
        self._replies: dict[tuple[str, str], Reply] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fake-api", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # --- what the test sets ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any = None, status: int = 200) -> None:
        """Answers `body` as JSON (a str as it is; nothing at all with 204)."""
        self._replies[(method, path)] = Reply(status, {} if body is None else body)

    def refuse(self, method: str, path: str, status: int, code: str) -> None:
        problem = {"type": f"urn:problem:{code}", "title": code.replace("_", " "), "status": status, "detail": code}
        self._replies[(method, path)] = Reply(status, problem)

    def calls(self) -> list[tuple[str, str, Any]]:
        """What the actions asked, in order: (method, path, body)."""
        return [(r.method, r.path, r.body) for r in self.requests]

    # --- the server ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=10) or self._failure is not None:
            raise RuntimeError("the fake api did not start") from self._failure

    def stop(self) -> None:
        """Stops listening (a test may stop it early: the api is down); stopping twice is harmless."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            runner = self._loop.run_until_complete(self._open())
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread, which raises it
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _open(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/internal/v1/conversations/{conversation_id}{path:/.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return runner

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        path = request.match_info["path"]
        self.requests.append(
            ApiRequest(
                method=request.method,
                conversation_id=request.match_info["conversation_id"],
                path=path,
                body=await request.json() if raw else None,
                token=request.headers.get("X-Actions-Token"),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        # Anything the test did not set is unknown to the api, as an unknown conversation is.
        reply = self._replies.get((request.method, path)) or Reply(
            404, {"type": "urn:problem:not_found", "title": "not found", "status": 404, "detail": path}
        )
        if reply.status == 204:
            return web.Response(status=204)
        if isinstance(reply.body, str):
            return web.Response(status=reply.status, text=reply.body)
        content_type = "application/problem+json" if reply.status >= 400 else "application/json"
        return web.json_response(reply.body, status=reply.status, content_type=content_type)


def closed_port_url() -> str:
    """An address where nothing listens: the api is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- trackers ------------------------------------------------------------------------------------------------


def user_event(text: str, intent: str | None, confidence: float = 0.9) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def make_tracker(
    slots: Mapping[str, Any] | None = None,
    *,
    text: str = "",
    intent: str | None = None,
    confidence: float = 0.9,
    entities: Iterable[Mapping[str, Any]] = (),
    events: Iterable[dict[str, Any]] = (),
    filled: Mapping[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """The tracker Rasa sends for the debtor's latest message.

    `filled` are the slot candidates a form extracted from that message: Rasa sends them as the last
    events (and in the slots), which is what `FormValidationAction` validates.
    """
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "entities": [dict(e) for e in entities],
    }
    history = [*events, {**user_event(text, intent, confidence), "parse_data": latest}]
    history += [{"event": "slot", "name": name, "value": value, "timestamp": None} for name, value in (filled or {}).items()]
    return Tracker(
        CONVERSATION_ID,
        {**(slots or {}), **(filled or {})},
        latest,
        history,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


# --- running an action ---------------------------------------------------------------------------------------

# What CollectingDispatcher puts in every message; anything else is a variable the action fills.
_MESSAGE_FIELDS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}


@dataclass
class Outcome:
    """What one run of an action did: what the debtor is sent, and the events returned to Rasa."""

    messages: list[dict[str, Any]]
    events: list[EventType]
    responses: list[str] = field(init=False)
    # (response, the variables the action filled in it)
    said: list[tuple[str, dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.responses = [m["response"] for m in self.messages]
        self.said = [(m["response"], {k: v for k, v in m.items() if k not in _MESSAGE_FIELDS}) for m in self.messages]


async def with_fresh_session(work: Awaitable[T]) -> T:
    """Runs `work`, then closes the client's shared session in the loop that opened it (the next test has its own)."""
    try:
        return await work
    finally:
        await api_client.close_session()


async def run_action_async(action: Action, tracker: Tracker, domain: dict[str, Any]) -> Outcome:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    unknown = [m["response"] for m in dispatcher.messages if m["response"] not in domain["responses"]]
    assert not unknown, f"{action.name()} uttered responses missing from domain.yml: {unknown}"
    return Outcome(dispatcher.messages, events)


def run_action(action: Action, tracker: Tracker, domain: dict[str, Any]) -> Outcome:
    return asyncio.run(with_fresh_session(run_action_async(action, tracker, domain)))
