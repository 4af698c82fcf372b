"""The handoff actions: a person after two misunderstandings in a row, and the debtor told when."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client, records
from actions.arrangements import ActionTellBalance


def user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "...", "parse_data": {"intent": {"name": intent, "confidence": 0.2}}}


def tracker(intents: list[str], slots: dict[str, Any] | None = None) -> Tracker:
    events: list[dict[str, Any]] = []
    for intent in intents:
        events += [user(intent), {"event": "action", "name": "action_listen"}]
    latest = events[-2]["parse_data"] if events else {}
    return Tracker("conversation-1", slots or {}, latest, events, False, None, {}, "action_listen")


def run(action: Any, state: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, state, {}))
    return [m["response"] for m in dispatcher.messages]


@pytest.fixture
def api(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    async def call(method: str, conversation_id: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append((path, body or {}))
        return {
            "id": 1,
            "priority": 2,
            "open_now": False,
            "expected_wait_minutes": 15,
            "next_open_text": "lundi 7 décembre, 09:00",
        }

    # Every action reaches the api through the client's one `call`.
    monkeypatch.setattr(api_client, "call", call)
    return calls


def test_one_misunderstanding_asks_to_rephrase(api):
    assert run(records.ActionHandleFallback(), tracker(["greet", "nlu_fallback"])) == ["utter_default"]
    assert api == []


def test_two_misunderstandings_in_a_row_hand_over_to_a_person(api):
    said = run(records.ActionHandleFallback(), tracker(["nlu_fallback", "nlu_fallback"]))
    assert api == [("/handoffs", {"reason": "repeated_fallback"})]
    # Outside the team's hours the debtor is told from when, and what the bot can do meanwhile.
    assert said == ["utter_handoff", "utter_handoff_timing_closed"]


def test_misunderstandings_apart_do_not_hand_over(api):
    assert run(records.ActionHandleFallback(), tracker(["nlu_fallback", "greet", "nlu_fallback"])) == ["utter_default"]


def test_the_balance_includes_the_plan_when_there_is_one():
    assert run(ActionTellBalance(), tracker(["ask_balance"], {"plan_text": "• 15 décembre 2026 : 100,00 €"})) == [
        "utter_balance_with_plan"
    ]
    assert run(ActionTellBalance(), tracker(["ask_balance"])) == ["utter_balance"]
