"""The one HTTP client the actions use to reach the api (no database access from actions)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


@dataclass(frozen=True)
class ActionsConfig:
    api_url: str
    actions_token: str
    timeout_seconds: float

    @classmethod
    def from_environment(cls) -> "ActionsConfig":
        # The action server's only configuration, read once at import.
        return cls(
            api_url=os.environ.get("API_URL", "http://127.0.0.1:8000").rstrip("/"),
            actions_token=os.environ.get("ACTIONS_TOKEN", "dev-actions-token"),
            timeout_seconds=float(os.environ.get("API_TIMEOUT_SECONDS", "15")),
        )


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
    """Slots that mirror what the api knows of the conversation (and of the account once verified)."""
    account = context.get("account")
    slots: dict[str, Any] = {
        "language": context["language"],
        "channel": context["channel"],
        "creditor_name": context["creditor_name"],
        "collector_name": context["collector_name"],
        "privacy_contact": context.get("privacy_contact"),
        "identity": "verified" if context["verified"] else ("locked" if context["locked"] else "unverified"),
    }
    if account:
        slots.update(
            {
                "language": account["language"],
                "debtor_name": account["debtor_name"],
                "account_reference": account["reference"],
                "balance_text": account["balance_text"],
                "fees_text": account["fees_text"],
                "total_text": account["total_text"],
                "due_date_text": account["due_date_text"],
                "debt_origin": account["origin"],
                "payment_methods_text": "\n".join(f"• {line}" for line in account.get("payment_methods", [])),
                "collection_paused": account["collection_paused"],
            }
        )
    return slots
