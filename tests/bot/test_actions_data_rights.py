"""Data requests asked in the conversation (actions/data_rights.py): recorded through the api once the identity
is confirmed, remembered when asked before; the debtor hears the number, and the link or the deadline."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.data_rights import ActionRecordDataRequest, ActionRememberRequest
from tests.bot.actions_fixtures import make_tracker, run_action

ACCESS = {
    "number": "DR-000001",
    "kind": "access",
    "status": "completed",
    "deadline_text": "1 janvier 2027",
    "document_url": "http://127.0.0.1:8000/documents/data-exports/1.pdf?token=t",
}
ERASURE = {"number": "DR-000002", "kind": "erasure", "status": "received", "deadline_text": "1 janvier 2027"}


@pytest.mark.parametrize(
    ("intent", "kind", "answer", "said"),
    [
        ("request_data_access", "access", ACCESS, "utter_data_access_ready"),
        ("request_erasure", "erasure", ERASURE, "utter_erasure_recorded"),
    ],
)
def test_a_verified_debtors_request_is_recorded_and_answered(fake_api, domain, intent, kind, answer, said):
    fake_api.answer("POST", "/data-requests", answer, status=201)
    outcome = run_action(ActionRecordDataRequest(), make_tracker({"identity": "verified"}, intent=intent), domain)
    assert fake_api.calls() == [("POST", "/data-requests", {"kind": kind})]
    assert outcome.responses == [said]
    assert outcome.events == [SlotSet("pending_request", None)]


def test_an_erasure_asked_again_after_the_data_was_erased_is_said_so(fake_api, domain):
    fake_api.refuse("POST", "/data-requests", 409, "conflict")
    outcome = run_action(ActionRecordDataRequest(), make_tracker({"identity": "verified"}, intent="request_erasure"), domain)
    assert outcome.responses == ["utter_data_request_already_erased"]


def test_a_request_the_api_cannot_record_is_not_announced(api_down, domain):
    outcome = run_action(ActionRecordDataRequest(), make_tracker({"identity": "verified"}, intent="request_erasure"), domain)
    assert outcome.responses == ["utter_technical_problem"]


def test_what_is_asked_before_the_check_is_remembered(domain):
    outcome = run_action(ActionRememberRequest(), make_tracker(intent="request_erasure"), domain)
    assert (outcome.responses, outcome.events) == ([], [SlotSet("pending_request", "request_erasure")])
