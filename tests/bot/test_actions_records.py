"""Records on the account (actions/records.py): signals, disputes, opt-outs and handoffs, each sent to the api;
the debtor is told what was recorded, or plainly that it could not be."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.records import (
    ActionAnswerStopOtherChannels,
    ActionRecordDispute,
    ActionRecordOptOut,
    ActionRecordSignal,
    ActionRequestHandoff,
)
from tests.bot.actions_fixtures import make_tracker, run_action

OPEN = {"open_now": True, "expected_wait_minutes": 5, "next_open_text": None}
CLOSED = {"open_now": False, "expected_wait_minutes": 15, "next_open_text": "lundi 7 décembre, 09:00"}


# --- signals ---------------------------------------------------------------------------------------------------


def test_a_hardship_signal_is_stored_with_its_reason_and_nothing_is_said(fake_api, domain):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    state = make_tracker(
        text="j'ai perdu mon emploi",
        intent="report_hardship",
        confidence=0.92,
        entities=[{"entity": "hardship_reason", "value": "job_loss"}],
    )
    outcome = run_action(ActionRecordSignal(), state, domain)
    assert fake_api.calls() == [("POST", "/signals", {"kind": "hardship", "detail": "job_loss", "confidence": 0.92})]
    assert (outcome.responses, outcome.events) == ([], [])


def test_a_message_that_signals_nothing_stores_nothing(fake_api, domain):
    outcome = run_action(ActionRecordSignal(), make_tracker(text="bonjour", intent="greet"), domain)
    assert fake_api.requests == []
    assert (outcome.responses, outcome.events) == ([], [])


def test_a_lost_signal_does_not_stop_the_conversation(api_down, domain):
    outcome = run_action(ActionRecordSignal(), make_tracker(text="j'ai oublié", intent="forgot_to_pay"), domain)
    assert (outcome.responses, outcome.events) == ([], [])


# --- disputes --------------------------------------------------------------------------------------------------


def disputing():
    return make_tracker(
        {"identity": "verified", "offer_id": "off-1", "offer_stage": "counter"},
        text="je ne dois rien, j'ai déjà payé",
        intent="dispute_debt",
        confidence=0.88,
        entities=[{"entity": "dispute_reason", "value": "already_paid"}],
    )


# A dispute pauses collection on the account: nothing more is offered.
DISPUTE_EVENTS = [SlotSet("collection_paused", True), SlotSet("offer_stage", None), SlotSet("offer_id", None)]


@pytest.mark.parametrize(("review", "said"), [(False, "utter_dispute_recorded"), (True, "utter_dispute_review")])
def test_a_dispute_is_signalled_recorded_and_pauses_collection(fake_api, domain, review, said):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    fake_api.answer("POST", "/disputes", {"id": 2, "review": review}, status=201)
    outcome = run_action(ActionRecordDispute(), disputing(), domain)
    assert fake_api.calls() == [
        ("POST", "/signals", {"kind": "dispute", "detail": "already_paid", "confidence": 0.88}),
        ("POST", "/disputes", {"reason": "already_paid"}),
    ]
    assert (outcome.responses, outcome.events) == ([said], DISPUTE_EVENTS)


@pytest.mark.parametrize(
    ("refused_path", "refusal", "said", "sent"),
    [
        # Refused at the signal, the dispute itself is not sent.
        ("/signals", (403, "not_verified"), "utter_need_verification", ["/signals"]),
        ("/disputes", (403, "not_verified"), "utter_need_verification", ["/signals", "/disputes"]),
        ("/disputes", (409, "conflict"), "utter_technical_problem", ["/signals", "/disputes"]),
    ],
)
def test_a_dispute_refused_is_explained_and_collection_is_not_paused(fake_api, domain, refused_path, refusal, said, sent):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    fake_api.answer("POST", "/disputes", {"id": 2, "review": False}, status=201)
    fake_api.refuse("POST", refused_path, *refusal)
    outcome = run_action(ActionRecordDispute(), disputing(), domain)
    assert (outcome.responses, outcome.events) == ([said], [])
    assert [path for _, path, _ in fake_api.calls()] == sent


def test_a_dispute_the_api_cannot_hear_is_a_technical_problem(api_down, domain):
    outcome = run_action(ActionRecordDispute(), disputing(), domain)
    assert (outcome.responses, outcome.events) == (["utter_technical_problem"], [])


# --- opt-out ---------------------------------------------------------------------------------------------------


def test_a_stop_request_is_recorded_then_confirmed_once(fake_api, domain):
    fake_api.answer("POST", "/opt-out", {"status": "opted_out"}, status=201)
    outcome = run_action(ActionRecordOptOut(), make_tracker(text="STOP", intent="stop_contact"), domain)
    assert fake_api.calls() == [("POST", "/opt-out", None)]
    assert (outcome.responses, outcome.events) == (["utter_opt_out_confirmed"], [])


def test_a_stop_in_the_web_chat_asks_whether_sms_and_whatsapp_stop_too(fake_api, domain):
    fake_api.answer("POST", "/opt-out", {"status": "opted_out"}, status=201)
    state = make_tracker({"channel": "webchat", "identity": "verified"}, text="stop", intent="stop_contact")
    outcome = run_action(ActionRecordOptOut(), state, domain)
    assert outcome.responses == ["utter_opt_out_confirmed", "utter_ask_stop_other_channels"]
    assert SlotSet("pending_question", "stop_other_channels") in outcome.events


def test_a_stop_in_the_web_chat_before_the_check_says_how_to_stop_the_others(fake_api, domain):
    # Which number to stop is known only once the identity is confirmed.
    fake_api.answer("POST", "/opt-out", {"status": "opted_out"}, status=201)
    state = make_tracker({"channel": "webchat", "identity": "unverified"}, text="stop", intent="stop_contact")
    outcome = run_action(ActionRecordOptOut(), state, domain)
    assert (outcome.responses, outcome.events) == (["utter_opt_out_confirmed", "utter_stop_other_channels_how"], [])


@pytest.mark.parametrize(
    ("intent", "calls", "said"),
    [
        ("affirm", [("POST", "/opt-out/other-channels", {"channels": ["sms", "whatsapp"]})], "utter_other_channels_stopped"),
        ("deny", [], "utter_other_channels_kept"),
    ],
)
def test_the_answer_about_sms_and_whatsapp_is_recorded_per_channel(fake_api, domain, intent, calls, said):
    fake_api.answer("POST", "/opt-out/other-channels", {"channels": ["sms", "whatsapp"]}, status=201)
    state = make_tracker({"channel": "webchat", "identity": "verified", "pending_question": "stop_other_channels"}, intent=intent)
    outcome = run_action(ActionAnswerStopOtherChannels(), state, domain)
    assert fake_api.calls() == calls
    assert (outcome.responses, outcome.events) == ([said], [SlotSet("pending_question", None)])


def test_a_stop_request_the_api_cannot_record_is_not_confirmed(api_down, domain):
    outcome = run_action(ActionRecordOptOut(), make_tracker(text="STOP", intent="stop_contact"), domain)
    assert (outcome.responses, outcome.events) == (["utter_technical_problem"], [])


# --- handoffs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("intent", "reason"), [("request_human", "request_human"), ("dispute_debt", "dispute")])
def test_a_person_is_requested_with_the_reason_of_the_intent(fake_api, domain, intent, reason):
    fake_api.answer("POST", "/handoffs", {"id": 1, "priority": 2, **OPEN}, status=201)
    run_action(ActionRequestHandoff(), make_tracker(text="un conseiller svp", intent=intent), domain)
    assert fake_api.calls() == [("POST", "/handoffs", {"reason": reason})]


@pytest.mark.parametrize(
    ("team", "timing"),
    [
        (OPEN, ("utter_handoff_timing_open", {"wait_minutes": 5})),
        (CLOSED, ("utter_handoff_timing_closed", {"next_open_text": "lundi 7 décembre, 09:00"})),
    ],
    ids=["team_at_work", "team_away"],
)
def test_the_debtor_is_told_when_a_person_will_answer(fake_api, domain, team, timing):
    fake_api.answer("POST", "/handoffs", {"id": 1, "priority": 2, **team}, status=201)
    outcome = run_action(ActionRequestHandoff(), make_tracker(text="un conseiller svp", intent="request_human"), domain)
    assert (outcome.said, outcome.events) == ([("utter_handoff", {}), timing], [])


def test_a_handoff_the_api_cannot_queue_is_a_technical_problem(api_down, domain):
    outcome = run_action(ActionRequestHandoff(), make_tracker(text="un conseiller svp", intent="request_human"), domain)
    assert (outcome.responses, outcome.events) == (["utter_technical_problem"], [])
