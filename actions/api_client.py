"""The one HTTP client the actions use to reach the api (no database access from actions)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


# Local-only defaults, refused with APP_ENV=production (as the api refuses its own).
DEV_ACTIONS_TOKEN = "dev-actions-token"
DEV_ACTION_SERVER_TOKEN = "dev-action-server-token"


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
    def from_environment(cls) -> "ActionsConfig":
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
_session = requests.Session()


class ApiError(Exception):
    """The api refused or failed; `code` is the problem type (e.g. collection_paused) when it gave one."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"api answered {status} ({code})")
        self.status = status
        self.code = code


def call(method: str, conversation_id: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{CONFIG.api_url}/internal/v1/conversations/{conversation_id}{path}"
    try:
        response = _session.request(
            method, url, json=json, timeout=CONFIG.timeout_seconds, headers={"X-Actions-Token": CONFIG.actions_token}
        )
    except requests.RequestException as exc:
        raise ApiError(0, "api_unreachable") from exc
    if response.status_code >= 400:
        try:
            code = response.json().get("type", "").removeprefix("urn:problem:") or "http_error"
        except ValueError:
            code = "http_error"
        raise ApiError(response.status_code, code)
    return response.json() if response.content else {}


def record_and_confirm(
    dispatcher: CollectingDispatcher, tracker: Tracker, path: str, body: dict[str, Any] | None, response: str
) -> bool:
    """Records something through the api, then confirms it to the debtor; a failure is said plainly."""
    try:
        call("POST", tracker.sender_id, path, body)
    except ApiError:
        dispatcher.utter_message(response="utter_technical_problem")
        return False
    dispatcher.utter_message(response=response)
    return True


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
