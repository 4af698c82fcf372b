"""Negotiation (actions/arrangements.py): the api judges every proposal; the debtor hears options, counter-offers,
summaries and the recorded commitment, or why none can be made now."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.arrangements import (
    ActionCreateCommitment,
    ActionDeclineOffer,
    ActionEvaluateProposal,
    ActionOfferOptions,
    ActionSummariseOffer,
)
from tests.bot.actions_fixtures import make_tracker, run_action

LIMITS = {
    "min_instalments": 2,
    "max_instalments": 12,
    "min_instalment_text": "50,00 €",
    "latest_date_text": "31 janvier 2027",
    "latest_first_date_text": "15 décembre 2026",
    "fees_waivable": True,
    "fees_text": "20,00 €",
}
SUMMARY = {"account_reference": "CR-10001", "schedule_text": "• 15 décembre 2026 : 100,00 €", "total_text": "400,00 €"}
RESET_PLAN = [
    SlotSet("plan_type", None),
    SlotSet("plan_amount", None),
    SlotSet("plan_date", None),
    SlotSet("plan_frequency", None),
]
NO_OFFER = [SlotSet("offer_stage", None), SlotSet("offer_id", None)]
VERIFIED = {"identity": "verified", "language": "fr", "total_text": "400,00 €"}
PROPOSAL_SLOTS = {**VERIFIED, "plan_type": "instalments", "plan_amount": "3000 EUR", "plan_date": "2026-12-15"}

# What the debtor hears, and what the conversation keeps, when the api refuses an arrangement.
REFUSALS = [
    pytest.param((409, "collection_paused"), "utter_collection_paused", [SlotSet("collection_paused", True)], id="paused"),
    pytest.param((409, "under_care"), "utter_care_pending", [SlotSet("vulnerable", True)], id="under_care"),
    pytest.param((403, "not_verified"), "utter_need_verification", [], id="not_verified"),
    pytest.param((422, "invalid_arrangement"), "utter_technical_problem", [], id="other"),
    pytest.param(None, "utter_technical_problem", [], id="api_down"),
]


def refuse(fake_api, method: str, path: str, refusal: tuple[int, str] | None) -> None:
    if refusal is None:
        fake_api.stop()  # nothing listens any more: the api is down
    else:
        fake_api.refuse(method, path, *refusal)


# --- options ---------------------------------------------------------------------------------------------------


def test_the_options_the_policy_allows_are_offered_first(fake_api, domain):
    deferral = {"kind": "deferral", "total_text": "400,00 €", "last_date_text": "15 janvier 2027"}
    fake_api.answer("GET", "/options", {"options": [{"kind": "instalments"}, deferral], "limits": LIMITS})
    outcome = run_action(ActionOfferOptions(), make_tracker(VERIFIED), domain)
    assert fake_api.calls() == [("GET", "/options", None)]
    assert outcome.said == [
        (
            "utter_offer_options",
            {
                "total_text": "400,00 €",
                "deferral_date_text": "15 janvier 2027",
                "min_instalments": 2,
                "max_instalments": 12,
                "min_instalment_text": "50,00 €",
            },
        ),
        ("utter_fee_waiver", {"fees_text": "20,00 €"}),
    ]
    assert outcome.events == []


def test_without_a_deferral_the_options_fall_back_on_the_balance_and_the_latest_date(fake_api, domain):
    fake_api.answer("GET", "/options", {"options": [], "limits": {**LIMITS, "fees_waivable": False}})
    outcome = run_action(ActionOfferOptions(), make_tracker(VERIFIED), domain)
    [(response, variables)] = outcome.said
    assert response == "utter_offer_options"
    assert (variables["total_text"], variables["deferral_date_text"]) == ("400,00 €", "31 janvier 2027")


def test_a_debtor_with_a_plan_sees_it_before_the_options(fake_api, domain):
    """Answering a reminder ("I can't pay this one"): the plan in force first, then what a new one can be."""
    fake_api.answer("GET", "/options", {"options": [], "limits": LIMITS})
    with_plan = {**VERIFIED, "commitment_reference": "COM-2026-1A2B3C4D", "plan_text": "• 9 décembre 2026 : 133,34 €"}
    outcome = run_action(ActionOfferOptions(), make_tracker(with_plan), domain)
    assert outcome.responses[:2] == ["utter_balance_with_plan", "utter_offer_options"]


@pytest.mark.parametrize(("refusal", "said", "slots"), REFUSALS)
def test_options_refused_are_explained_and_no_plan_is_pending(fake_api, domain, refusal, said, slots):
    refuse(fake_api, "GET", "/options", refusal)
    outcome = run_action(ActionOfferOptions(), make_tracker(VERIFIED), domain)
    assert outcome.responses == [said]
    assert outcome.events == [*slots, *RESET_PLAN, *NO_OFFER]


# --- proposals -------------------------------------------------------------------------------------------------


def test_the_proposal_sent_is_built_from_the_form_slots(fake_api, domain):
    fake_api.answer("POST", "/offers", {"accepted": True, "offer_id": "off-1"}, status=201)
    fake_api.answer("POST", "/offers/off-1/summary", SUMMARY)
    run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    assert fake_api.calls() == [
        (
            "POST",
            "/offers",
            {"kind": "instalments", "frequency": "monthly", "instalment_amount_minor": 3000, "first_due_date": "2026-12-15"},
        ),
        ("POST", "/offers/off-1/summary", None),
    ]


def test_a_proposal_within_policy_is_summarised_for_agreement(fake_api, domain):
    fake_api.answer("POST", "/offers", {"accepted": True, "offer_id": "off-1"}, status=201)
    fake_api.answer("POST", "/offers/off-1/summary", SUMMARY)
    outcome = run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    assert outcome.said == [("utter_offer_summary", SUMMARY)]
    assert outcome.events == [SlotSet("offer_id", "off-1"), SlotSet("offer_stage", "summary"), *RESET_PLAN]


COUNTER_OFFER = {
    "accepted": False,
    "offer_id": "off-2",
    "reasons": ["below_min_instalment", "first_payment_too_late"],
    "limits": LIMITS,
    "schedule_text": "• 15 décembre 2026 : 50,00 €",
    "total_text": "400,00 €",
}


def test_a_proposal_outside_policy_gets_the_reasons_and_the_closest_counter_offer(fake_api, domain):
    fake_api.answer("POST", "/offers", COUNTER_OFFER, status=201)
    outcome = run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    bounds = {"min_instalment_text": "50,00 €", "min_instalments": 2, "max_instalments": 12}
    assert outcome.said == [
        ("utter_reason_below_min_instalment", {**bounds, "latest_date_text": "31 janvier 2027"}),
        # A first payment too late is measured against the latest first date, not the latest date.
        ("utter_reason_first_payment_too_late", {**bounds, "latest_date_text": "15 décembre 2026"}),
        ("utter_counter_offer", {"schedule_text": COUNTER_OFFER["schedule_text"], "total_text": "400,00 €"}),
    ]
    assert outcome.events == [SlotSet("offer_id", "off-2"), SlotSet("offer_stage", "counter"), *RESET_PLAN]
    assert [path for _, path, _ in fake_api.calls()] == ["/offers"]


@pytest.mark.parametrize(
    ("handoff", "timing"),
    [
        ({"open_now": True, "expected_wait_minutes": 10}, ("utter_handoff_timing_open", {"wait_minutes": 10})),
        (
            {"open_now": False, "next_open_text": "lundi 7 décembre, 09:00"},
            ("utter_handoff_timing_closed", {"next_open_text": "lundi 7 décembre, 09:00"}),
        ),
    ],
)
def test_insisting_outside_policy_offers_a_person_and_says_when(fake_api, domain, handoff, timing):
    fake_api.answer("POST", "/offers", {**COUNTER_OFFER, "reasons": [], "handoff": handoff}, status=201)
    outcome = run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    assert outcome.said[-2:] == [("utter_outside_policy_handoff", {}), timing]
    assert outcome.responses[0] == "utter_counter_offer"


@pytest.mark.parametrize(("refusal", "said", "slots"), REFUSALS)
def test_a_refused_proposal_is_explained_and_no_plan_is_pending(fake_api, domain, refusal, said, slots):
    refuse(fake_api, "POST", "/offers", refusal)
    outcome = run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    assert outcome.responses == [said]
    assert outcome.events == [*slots, *RESET_PLAN, *NO_OFFER]


def test_a_summary_refused_after_an_accepted_proposal_is_explained_once(fake_api, domain):
    fake_api.answer("POST", "/offers", {"accepted": True, "offer_id": "off-1"}, status=201)
    fake_api.refuse("POST", "/offers/off-1/summary", 409, "collection_paused")
    outcome = run_action(ActionEvaluateProposal(), make_tracker(PROPOSAL_SLOTS), domain)
    assert outcome.responses == ["utter_collection_paused"]
    assert outcome.events == [SlotSet("collection_paused", True), *RESET_PLAN, *NO_OFFER]


# --- accepting a counter-offer: the summary --------------------------------------------------------------------


def test_an_accepted_counter_offer_is_summarised(fake_api, domain):
    fake_api.answer("POST", "/offers/off-2/summary", SUMMARY)
    outcome = run_action(ActionSummariseOffer(), make_tracker({**VERIFIED, "offer_id": "off-2"}), domain)
    assert fake_api.calls() == [("POST", "/offers/off-2/summary", None)]
    assert outcome.said == [("utter_offer_summary", SUMMARY)]
    assert outcome.events == [SlotSet("offer_id", "off-2"), SlotSet("offer_stage", "summary")]


def test_without_a_pending_offer_there_is_nothing_to_summarise(fake_api, domain):
    outcome = run_action(ActionSummariseOffer(), make_tracker(VERIFIED), domain)
    assert fake_api.requests == []
    assert (outcome.responses, outcome.events) == (["utter_no_pending_offer"], [SlotSet("offer_stage", None)])


@pytest.mark.parametrize(("refusal", "said", "slots"), REFUSALS)
def test_a_refused_summary_is_explained_and_no_offer_is_pending(fake_api, domain, refusal, said, slots):
    refuse(fake_api, "POST", "/offers/off-2/summary", refusal)
    outcome = run_action(ActionSummariseOffer(), make_tracker({**VERIFIED, "offer_id": "off-2"}), domain)
    assert outcome.responses == [said]
    assert outcome.events == [*slots, *RESET_PLAN, *NO_OFFER]


# --- commitment ------------------------------------------------------------------------------------------------

SUMMARY_SHOWN = "Voici le récapitulatif : • 15 décembre 2026 : 100,00 €. Confirmez-vous ?"
COMMITMENT = {
    "commitment_reference": "CM-0001",
    "confirmation_number": "CF-0001",
    "document_url": "http://127.0.0.1:8000/documents/abc",
    "plan_text": "• 15 décembre 2026 : 100,00 €",
}


def agreeing(slots: dict[str, Any]) -> Any:
    shown = [{"event": "bot", "text": "Bonjour"}, {"event": "bot", "text": SUMMARY_SHOWN}]
    return make_tracker({**VERIFIED, **slots}, text="oui je confirme", intent="affirm", events=shown)


def test_agreeing_to_the_summary_records_the_commitment_with_the_summary_agreed_to(fake_api, domain):
    fake_api.answer("POST", "/offers/off-1/accept", COMMITMENT, status=201)
    outcome = run_action(ActionCreateCommitment(), agreeing({"offer_id": "off-1", "offer_stage": "summary"}), domain)
    assert fake_api.calls() == [("POST", "/offers/off-1/accept", {"agreed_summary": SUMMARY_SHOWN})]
    assert outcome.said == [
        (
            "utter_commitment_confirmed",
            {"commitment_reference": "CM-0001", "confirmation_number": "CF-0001", "document_url": COMMITMENT["document_url"]},
        )
    ]
    assert outcome.events == [
        *NO_OFFER,
        SlotSet("commitment_reference", "CM-0001"),
        SlotSet("plan_text", "• 15 décembre 2026 : 100,00 €"),
    ]


def test_agreeing_without_a_pending_offer_records_nothing(fake_api, domain):
    outcome = run_action(ActionCreateCommitment(), agreeing({}), domain)
    assert fake_api.requests == []
    assert (outcome.responses, outcome.events) == (["utter_no_pending_offer"], NO_OFFER)


@pytest.mark.parametrize(("refusal", "said", "slots"), REFUSALS)
def test_a_refused_commitment_is_explained_and_nothing_is_pending(fake_api, domain, refusal, said, slots):
    refuse(fake_api, "POST", "/offers/off-1/accept", refusal)
    outcome = run_action(ActionCreateCommitment(), agreeing({"offer_id": "off-1"}), domain)
    assert outcome.responses == [said]
    assert outcome.events == [*slots, *RESET_PLAN, *NO_OFFER]


# --- declining -------------------------------------------------------------------------------------------------


def test_declining_records_it_and_acknowledges(fake_api, domain):
    fake_api.answer("POST", "/offers/off-1/decline", {"status": "declined"})
    outcome = run_action(ActionDeclineOffer(), make_tracker({"offer_id": "off-1"}, intent="deny"), domain)
    assert fake_api.calls() == [("POST", "/offers/off-1/decline", None)]
    assert (outcome.responses, outcome.events) == (["utter_offer_declined"], NO_OFFER)


@pytest.mark.parametrize("refusal", [(409, "conflict"), None], ids=["refused", "api_down"])
def test_declining_is_acknowledged_even_when_the_api_cannot_record_it(fake_api, domain, refusal):
    refuse(fake_api, "POST", "/offers/off-1/decline", refusal)
    outcome = run_action(ActionDeclineOffer(), make_tracker({"offer_id": "off-1"}, intent="deny"), domain)
    assert (outcome.responses, outcome.events) == (["utter_offer_declined"], NO_OFFER)
