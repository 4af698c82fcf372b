"""The one HTTP client the actions use to reach the api (no database access from actions), and the one place
where the api's refusals become what the debtor hears (`call_or_tell`).

Asynchronous: while one conversation waits for the api, the action server goes on serving the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

# Local-only defaults, refused with APP_ENV=production (as the api refuses its own).
DEV_ACTIONS_TOKEN = "dev-actions-token"
DEV_ACTION_SERVER_TOKEN = "dev-action-server-token"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionsConfig:
    api_url: str
    # Sent to the api with every call (X-Actions-Token).
    actions_token: str
    # Required from Rasa on every call to the action server (X-Action-Server-Token, endpoints.yml).
    action_server_token: str
    action_server_host: str
    timeout_seconds: float
    app_env: str

    @classmethod
    def from_environment(cls) -> ActionsConfig:
        # The action server's only configuration, read once at import.
        return cls(
            api_url=os.environ.get("API_URL", "http://127.0.0.1:8000").rstrip("/"),
            actions_token=os.environ.get("ACTIONS_TOKEN", DEV_ACTIONS_TOKEN),
            action_server_token=os.environ.get("ACTION_SERVER_TOKEN", DEV_ACTION_SERVER_TOKEN),
            action_server_host=os.environ.get("ACTION_SERVER_HOST", "127.0.0.1"),
            timeout_seconds=float(os.environ.get("API_TIMEOUT_SECONDS", "15")),
            app_env=os.environ.get("APP_ENV", "development"),
        )

    def refuse_development_secrets(self) -> None:
        if self.app_env != "production":
            return
        unsafe = [
            name
            for name, value, default in (
                ("ACTIONS_TOKEN", self.actions_token, DEV_ACTIONS_TOKEN),
                ("ACTION_SERVER_TOKEN", self.action_server_token, DEV_ACTION_SERVER_TOKEN),
            )
            if value == default
        ]
        if unsafe:
            raise SystemExit(f"APP_ENV=production refuses the local default of {', '.join(unsafe)}: set a secret value.")


CONFIG = ActionsConfig.from_environment()

# One connection pool per process, opened in the event loop that serves the actions (Sanic's, or a test's).
_session: aiohttp.ClientSession | None = None
_session_loop: asyncio.AbstractEventLoop | None = None


class ApiError(Exception):
    """The api refused or failed; `code` is the problem type (e.g. collection_paused) when it gave one."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"api answered {status} ({code})")
        self.status = status
        self.code = code


def _shared_session() -> aiohttp.ClientSession:
    global _session, _session_loop
    loop = asyncio.get_running_loop()
    # A session cannot outlive its loop: a new loop (another test, a restarted server) gets its own.
    if _session is None or _session.closed or _session_loop is not loop:
        _session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=CONFIG.timeout_seconds),
            headers={"X-Actions-Token": CONFIG.actions_token},
        )
        _session_loop = loop
    return _session


async def close_session() -> None:
    """Closes the shared session (at shutdown, or between tests); the next call opens a new one."""
    global _session, _session_loop
    session, _session, _session_loop = _session, None, None
    if session is not None and not session.closed:
        await session.close()


def _problem_code(body: bytes) -> str:
    """The RFC 9457 problem's type without its `urn:problem:` prefix, or `http_error` when there is none."""
    try:
        problem = json.loads(body)
    except ValueError:
        return "http_error"
    kind = problem.get("type") if isinstance(problem, dict) else None
    return str(kind or "").removeprefix("urn:problem:") or "http_error"


async def call(method: str, conversation_id: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{CONFIG.api_url}/internal/v1/conversations/{conversation_id}{path}"
    try:
        async with _shared_session().request(method, url, json=json) as response:
            status, body = response.status, await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise ApiError(0, "api_unreachable") from exc
    if status >= 400:
        raise ApiError(status, _problem_code(body))
    return _answer(body)


def _answer(body: bytes) -> dict[str, Any]:
    # Outside `call`, whose `json` argument hides the module there.
    return json.loads(body) if body else {}


@dataclass(frozen=True)
class Refusal:
    """How an action answers one refusal of the api: the response the debtor hears (None: nothing, the
    action carries on without the api) and the slots that refusal sets."""

    response: str | None
    slots: Mapping[str, Any] = field(default_factory=dict)

    def events(self) -> list[EventType]:
        return [SlotSet(name, value) for name, value in self.slots.items()]


TECHNICAL_PROBLEM = Refusal("utter_technical_problem")
NEED_VERIFICATION = Refusal("utter_need_verification")
SAY_NOTHING = Refusal(None)


async def call_or_tell(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    errors: Mapping[str, Refusal] | None = None,
    default: Refusal = TECHNICAL_PROBLEM,
) -> dict[str, Any] | Refusal:
    """The api's answer, or, when it refuses, the Refusal mapped to the error's code (`default` for any
    other), already said to the debtor: the one place an api error becomes what the debtor hears."""
    try:
        return await call(method, tracker.sender_id, path, body)
    except ApiError as error:
        refusal = (errors or {}).get(error.code, default)
        if refusal is default:
            logger.warning("api_call_refused method=%s path=%s status=%s code=%s", method, path, error.status, error.code)
        if refusal.response:
            dispatcher.utter_message(response=refusal.response)
        return refusal


async def record_and_confirm(
    dispatcher: CollectingDispatcher, tracker: Tracker, path: str, body: dict[str, Any] | None, response: str
) -> bool:
    """Records something through the api, then confirms it to the debtor; a failure is said plainly."""
    if isinstance(await call_or_tell(dispatcher, tracker, "POST", path, body), Refusal):
        return False
    dispatcher.utter_message(response=response)
    return True


def latest_intent(tracker: Tracker) -> tuple[str | None, float | None]:
    """The intent of the debtor's latest message and the model's confidence in it."""
    return message_intent(tracker.latest_message or {})


def stated_message(tracker: Tracker) -> dict[str, Any]:
    """The message an action acts on: the latest one, or, right after verification, the one in which the debtor
    said what they wanted before their identity was checked (`pending_request`: "I dispute this…"), with its
    intent, confidence and entities (the reason of a dispute or a hardship)."""
    latest = tracker.latest_message or {}
    pending = tracker.get_slot("pending_request")
    if not pending or (latest.get("intent") or {}).get("name") == pending:
        return latest
    for event in reversed(tracker.events):
        parse_data = event.get("parse_data") or {}
        if event.get("event") == "user" and (parse_data.get("intent") or {}).get("name") == pending:
            return dict(parse_data)
    return latest


def message_intent(message: Mapping[str, Any]) -> tuple[str | None, float | None]:
    intent = message.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def message_entity(message: Mapping[str, Any], entity: str) -> str | None:
    """The value of the message's first `entity`, as the extractors normalised it."""
    return next((e.get("value") for e in message.get("entities") or [] if e.get("entity") == entity), None)


def context_slots(context: dict[str, Any]) -> dict[str, Any]:
    """Slots that mirror what the api knows of the conversation (and of the account once verified).

    The api computes them (api/services/bot_context.py), so the same slots are pushed into the tracker
    when an agent hands a conversation back.
    """
    return dict(context["slots"])


def utter_handoff_timing(dispatcher: CollectingDispatcher, handoff: dict[str, Any] | None, *, care: bool = False) -> None:
    """When a person will answer: soon while the team is at work, else from when (and, outside care, what
    the bot can do meanwhile)."""
    if not handoff:
        return
    if handoff.get("open_now"):
        dispatcher.utter_message(response="utter_handoff_timing_open", wait_minutes=handoff["expected_wait_minutes"])
    elif handoff.get("next_open_text"):
        dispatcher.utter_message(
            response="utter_care_timing_closed" if care else "utter_handoff_timing_closed",
            next_open_text=handoff["next_open_text"],
        )
