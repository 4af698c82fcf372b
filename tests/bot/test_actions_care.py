"""Care and control (actions/care.py): distress, complaints, contact preferences and payment claims are recorded
through the api, and the debtor is answered with care even when the api cannot be reached."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.care import (
    ActionHandleVulnerability,
    ActionRecordComplaint,
    ActionRecordContactPreference,
    ActionRecordPaymentClaim,
    ActionSwitchLanguage,
)
from tests.bot.actions_fixtures import make_tracker, run_action

OPEN = {"open_now": True, "expected_wait_minutes": 5, "next_open_text": None}
CLOSED = {"open_now": False, "expected_wait_minutes": 15, "next_open_text": "lundi 7 décembre, 09:00"}
RESOURCES = ["Écoute Détresse : 01 02 03 04 05", "Point conseil budget : pointconseilbudget.fr"]
# Care stops collection talk: no offer stays pending.
CARE_EVENTS = [SlotSet("vulnerable", True), SlotSet("offer_stage", None), SlotSet("offer_id", None)]


def distressed():
    return make_tracker(
        {"account_reference": "CR-10001", "offer_id": "off-1", "offer_stage": "counter"},
        text="je n'en peux plus",
        intent="express_vulnerability",
        confidence=0.83,
    )


# --- vulnerability ---------------------------------------------------------------------------------------------


def test_distress_is_flagged_with_the_reference_the_person_gave(fake_api, domain):
    fake_api.answer("POST", "/vulnerability", {"support_resources": RESOURCES, "handoff": OPEN}, status=201)
    run_action(ActionHandleVulnerability(), distressed(), domain)
    assert fake_api.calls() == [("POST", "/vulnerability", {"confidence": 0.83, "claimed_reference": "CR-10001"})]


@pytest.mark.parametrize(
    ("handoff", "timing"),
    [
        (OPEN, ("utter_handoff_timing_open", {"wait_minutes": 5})),
        # Outside the team's hours, care says from when, without what the bot can do meanwhile.
        (CLOSED, ("utter_care_timing_closed", {"next_open_text": "lundi 7 décembre, 09:00"})),
    ],
    ids=["team_at_work", "team_away"],
)
def test_distress_gets_care_resources_and_when_a_person_will_answer(fake_api, domain, handoff, timing):
    fake_api.answer("POST", "/vulnerability", {"support_resources": RESOURCES, "handoff": handoff}, status=201)
    outcome = run_action(ActionHandleVulnerability(), distressed(), domain)
    resources_text = "• Écoute Détresse : 01 02 03 04 05\n• Point conseil budget : pointconseilbudget.fr"
    assert outcome.said == [("utter_vulnerability_care", {"support_resources_text": resources_text}), timing]
    assert outcome.events == CARE_EVENTS


def test_distress_without_a_handoff_gets_care_alone(fake_api, domain):
    fake_api.answer("POST", "/vulnerability", {"support_resources": RESOURCES, "handoff": None}, status=201)
    outcome = run_action(ActionHandleVulnerability(), distressed(), domain)
    assert outcome.responses == ["utter_vulnerability_care"]
    assert outcome.events == CARE_EVENTS


@pytest.mark.parametrize("refusal", [(404, "not_found"), None], ids=["refused", "api_down"])
def test_distress_gets_care_even_when_the_api_cannot_be_reached(fake_api, domain, refusal):
    if refusal is None:
        fake_api.stop()
    else:
        fake_api.refuse("POST", "/vulnerability", *refusal)
    outcome = run_action(ActionHandleVulnerability(), distressed(), domain)
    # No technical problem is put before the words of care.
    assert outcome.said == [("utter_vulnerability_care", {"support_resources_text": ""})]
    assert outcome.events == CARE_EVENTS


# --- complaints ------------------------------------------------------------------------------------------------


def complaining():
    return make_tracker(text="je veux faire une réclamation", intent="complain", confidence=0.77)


def test_a_complaint_is_recorded_and_a_person_will_answer(fake_api, domain):
    fake_api.answer("POST", "/complaints", {"handoff_id": 4, "handoff": CLOSED}, status=201)
    outcome = run_action(ActionRecordComplaint(), complaining(), domain)
    assert fake_api.calls() == [("POST", "/complaints", {"confidence": 0.77})]
    assert outcome.said == [
        ("utter_complaint_recorded", {}),
        ("utter_care_timing_closed", {"next_open_text": "lundi 7 décembre, 09:00"}),
    ]
    assert outcome.events == []


def test_a_complaint_the_api_cannot_record_is_a_technical_problem(api_down, domain):
    outcome = run_action(ActionRecordComplaint(), complaining(), domain)
    assert (outcome.responses, outcome.events) == (["utter_technical_problem"], [])


# --- contact preferences ---------------------------------------------------------------------------------------


def test_a_contact_preference_is_recorded_then_confirmed(fake_api, domain):
    fake_api.answer("POST", "/preferences", {"id": 2}, status=201)
    state = make_tracker(text="contactez-moi par sms le matin", intent="contact_preference")
    outcome = run_action(ActionRecordContactPreference(), state, domain)
    assert fake_api.calls() == [("POST", "/preferences", {"channel": "sms", "time_window": "morning"})]
    assert (outcome.responses, outcome.events) == (["utter_preference_recorded"], [])


def test_a_contact_preference_the_api_cannot_record_is_not_confirmed(fake_api, domain):
    fake_api.refuse("POST", "/preferences", 422, "unprocessable")
    state = make_tracker(text="by email in the evening please", intent="contact_preference")
    outcome = run_action(ActionRecordContactPreference(), state, domain)
    assert (outcome.responses, outcome.events) == (["utter_technical_problem"], [])


# --- payment claims --------------------------------------------------------------------------------------------

CLAIM_SLOTS = {"identity": "verified", "paid_date": "2026-11-30", "paid_means": "transfer"}
# The form's answers are cleared whatever the api said: the next claim starts afresh.
CLAIM_DONE = [SlotSet("paid_date", None), SlotSet("paid_means", None)]


def test_a_payment_the_debtor_says_was_made_is_recorded(fake_api, domain):
    fake_api.answer("POST", "/payment-claims", {"id": 9}, status=201)
    outcome = run_action(ActionRecordPaymentClaim(), make_tracker(CLAIM_SLOTS), domain)
    assert fake_api.calls() == [("POST", "/payment-claims", {"paid_on": "2026-11-30", "means": "transfer"})]
    assert (outcome.responses, outcome.events) == (["utter_payment_claim_recorded"], CLAIM_DONE)


def test_a_payment_claim_without_date_or_means_sends_nulls(fake_api, domain):
    fake_api.answer("POST", "/payment-claims", {"id": 9}, status=201)
    run_action(ActionRecordPaymentClaim(), make_tracker({"identity": "verified"}), domain)
    assert fake_api.calls() == [("POST", "/payment-claims", {"paid_on": None, "means": None})]


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        ((403, "not_verified"), "utter_need_verification"),
        ((422, "invalid_date"), "utter_technical_problem"),
        (None, "utter_technical_problem"),
    ],
    ids=["not_verified", "other", "api_down"],
)
def test_a_payment_claim_refused_is_explained(fake_api, domain, refusal, said):
    if refusal is None:
        fake_api.stop()
    else:
        fake_api.refuse("POST", "/payment-claims", *refusal)
    outcome = run_action(ActionRecordPaymentClaim(), make_tracker(CLAIM_SLOTS), domain)
    assert (outcome.responses, outcome.events) == ([said], CLAIM_DONE)


# --- language --------------------------------------------------------------------------------------------------


def asking_for_english():
    return make_tracker({"language": "fr"}, text="English please", intent="request_language")


SWITCHED = [SlotSet("language", "en"), SlotSet("language_unavailable", False)]


def test_the_language_asked_for_is_told_to_the_api_and_spoken_next(fake_api, domain):
    fake_api.answer("POST", "/language", {"language": "en"})
    outcome = run_action(ActionSwitchLanguage(), asking_for_english(), domain)
    assert fake_api.calls() == [("POST", "/language", {"language": "en"})]
    assert (outcome.responses, outcome.events) == ([], SWITCHED)


def test_the_language_switches_even_when_the_api_cannot_hear_it(api_down, domain):
    outcome = run_action(ActionSwitchLanguage(), asking_for_english(), domain)
    assert (outcome.responses, outcome.events) == ([], SWITCHED)
