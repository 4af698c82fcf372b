"""Asking for a language: French or English switches; a language the assistant does not write keeps the current one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client, care


def switch(text: str, language: str, monkeypatch) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any] | None]]]:
    calls: list[tuple[str, dict[str, Any] | None]] = []

    async def call(method: str, conversation_id: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append((path, body))
        return {}

    monkeypatch.setattr(api_client, "call", call)
    latest = {"text": text, "intent": {"name": "request_language", "confidence": 0.9}}
    state = Tracker("conversation-1", {"language": language}, latest, [], False, None, {}, "action_listen")
    events = asyncio.run(care.ActionSwitchLanguage().run(CollectingDispatcher(), state, {}))
    return [{e["name"]: e["value"]} for e in events], calls


@pytest.mark.parametrize(
    ("text", "language", "now"),
    [("English please", "fr", "en"), ("on peut parler français ?", "en", "fr"), ("autre langue svp", "fr", "en")],
)
def test_french_or_english_switches(text, language, now, monkeypatch):
    events, calls = switch(text, language, monkeypatch)
    assert events == [{"language": now}, {"language_unavailable": False}]
    assert calls == [("/language", {"language": now})]


@pytest.mark.parametrize(("text", "language"), [("do you speak Polish?", "en"), ("c'est possible en espagnol ?", "fr")])
def test_a_language_the_assistant_does_not_write_keeps_the_conversation_language(text, language, monkeypatch):
    events, calls = switch(text, language, monkeypatch)
    assert events == [{"language": language}, {"language_unavailable": True}]
    assert calls == []
