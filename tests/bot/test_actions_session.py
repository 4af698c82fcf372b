"""Session start (actions/session.py): the bot learns from the api who it speaks for, in which language and on
which channel, and keeps what it already knew when the api does not know the conversation."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.session import ActionSessionStart
from tests.bot.actions_fixtures import make_tracker, run_action

CONTEXT_SLOTS = {"language": "en", "channel": "webchat", "creditor_name": "Example Bank", "collector_name": "Recouvra"}
# Slots of the session that ended, carried over (the form's requested slot is not).
PREVIOUS = {"language": "fr", "identity": "verified", "requested_slot": "plan_amount", "offer_id": None}


def starting():
    return make_tracker(PREVIOUS, intent="session_start")


def test_a_new_session_asks_the_api_for_the_conversation_context(fake_api, domain):
    fake_api.answer("GET", "/context", {"slots": CONTEXT_SLOTS})
    outcome = run_action(ActionSessionStart(), starting(), domain)
    assert fake_api.calls() == [("GET", "/context", None)]
    assert outcome.responses == []
    assert outcome.events == [
        SessionStarted(),
        # What the api says wins over what the tracker carried; the rest is carried over.
        SlotSet("language", "en"),
        SlotSet("identity", "verified"),
        SlotSet("channel", "webchat"),
        SlotSet("creditor_name", "Example Bank"),
        SlotSet("collector_name", "Recouvra"),
        ActionExecuted("action_listen"),
    ]


CARRIED_ONLY = [SessionStarted(), SlotSet("language", "fr"), SlotSet("identity", "verified"), ActionExecuted("action_listen")]


def test_a_conversation_the_api_does_not_know_keeps_what_it_carried(fake_api, domain):
    # Nothing set on the fake api: it answers 404 not_found, as for a `rasa shell` sender.
    outcome = run_action(ActionSessionStart(), starting(), domain)
    assert [path for _, path, _ in fake_api.calls()] == ["/context"]
    assert (outcome.responses, outcome.events) == ([], CARRIED_ONLY)


@pytest.mark.parametrize("refusal", [(500, "internal_error"), None], ids=["refused", "api_down"])
def test_a_session_starts_quietly_when_the_api_cannot_answer(fake_api, domain, refusal):
    if refusal is None:
        fake_api.stop()
    else:
        fake_api.refuse("GET", "/context", *refusal)
    outcome = run_action(ActionSessionStart(), starting(), domain)
    assert (outcome.responses, outcome.events) == ([], CARRIED_ONLY)
