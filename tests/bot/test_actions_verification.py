"""Right-party verification (actions/verification.py): the form asks, the api decides, the debtor hears the outcome."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.verification import ActionAfterVerification, ValidateVerificationForm
from tests.bot.actions_fixtures import Outcome, make_tracker, run_action

# The slots the api sends once the debtor is verified (api/services/bot_context.py).
VERIFIED_SLOTS = {
    "identity": "verified",
    "language": "fr",
    "creditor_name": "Banque Exemple",
    "account_reference": "CR-10001",
    "total_text": "400,00 €",
}
CONTEXT = {"slots": VERIFIED_SLOTS}
HANDOFF = {"open_now": False, "expected_wait_minutes": 15, "next_open_text": "lundi 7 décembre, 09:00"}


def give_date_of_birth(domain: dict[str, Any], text: str = "12/03/1985") -> Outcome:
    """The debtor, asked for their date of birth after giving their reference, answers `text`."""
    state = make_tracker(
        {"account_reference": "CR-10001", "language": "fr", "identity": "unverified", "requested_slot": "identity_secret"},
        text=text,
        intent="inform_identity",
        filled={"identity_secret": text},
        active_loop="verification_form",
    )
    return run_action(ValidateVerificationForm(), state, domain)


def test_the_reference_and_date_of_birth_go_to_the_api(fake_api, domain):
    fake_api.answer("POST", "/verify", {"status": "verified", "context": CONTEXT})
    give_date_of_birth(domain)
    assert fake_api.calls() == [("POST", "/verify", {"reference": "CR-10001", "date_of_birth": "1985-03-12"})]


def test_verified_the_conversation_takes_the_account_slots_and_forgets_the_secret(fake_api, domain):
    fake_api.answer("POST", "/verify", {"status": "verified", "context": CONTEXT})
    outcome = give_date_of_birth(domain)
    assert outcome.responses == []
    assert outcome.events == [
        SlotSet("identity_secret", "checked"),
        *(SlotSet(name, value) for name, value in VERIFIED_SLOTS.items()),
        # Verified, the form has nothing more to ask.
        SlotSet("requested_slot", None),
    ]


def test_a_wrong_date_of_birth_is_said_and_both_are_asked_again(fake_api, domain):
    fake_api.answer("POST", "/verify", {"status": "failed", "context": {"slots": {"identity": "unverified"}}})
    outcome = give_date_of_birth(domain)
    assert outcome.responses == ["utter_verification_failed"]
    assert outcome.events == [SlotSet("identity_secret", None), SlotSet("account_reference", None)]


LOCKED_EVENTS = [
    SlotSet("identity_secret", None),
    SlotSet("identity", "locked"),
    SlotSet("account_reference", None),
    # Locked, the form stops asking; action_after_verification explains.
    SlotSet("requested_slot", None),
]


def test_the_try_that_locks_the_reference_ends_the_form_silently(fake_api, domain):
    fake_api.answer("POST", "/verify", {"status": "locked", "handoff": HANDOFF, "context": {"slots": {}}})
    outcome = give_date_of_birth(domain)
    assert outcome.responses == []
    assert outcome.events == LOCKED_EVENTS


def test_a_reference_already_locked_ends_the_form_the_same_way(fake_api, domain):
    fake_api.refuse("POST", "/verify", 423, "verification_locked")
    outcome = give_date_of_birth(domain)
    assert outcome.responses == []
    assert outcome.events == LOCKED_EVENTS


def test_an_api_that_is_down_is_a_technical_problem_and_the_secret_is_asked_again(api_down, domain):
    outcome = give_date_of_birth(domain)
    assert outcome.responses == ["utter_technical_problem"]
    assert outcome.events == [SlotSet("identity_secret", None)]


@pytest.mark.parametrize(("status", "code"), [(404, "not_found"), (500, "internal_error")])
def test_any_other_refusal_is_a_technical_problem(fake_api, domain, status, code):
    fake_api.refuse("POST", "/verify", status, code)
    outcome = give_date_of_birth(domain)
    assert outcome.responses == ["utter_technical_problem"]
    assert outcome.events == [SlotSet("identity_secret", None)]


def test_an_answer_that_is_not_a_date_of_birth_is_asked_again_without_calling_the_api(fake_api, domain):
    outcome = give_date_of_birth(domain, "je ne sais pas")
    assert fake_api.requests == []
    assert outcome.responses == ["utter_secret_not_understood"]
    assert outcome.events == [SlotSet("identity_secret", None)]


@pytest.mark.parametrize(
    ("identity", "said"),
    [("verified", ["utter_present_account"]), ("locked", ["utter_verification_locked"]), ("unverified", [])],
)
def test_after_the_form_the_file_is_presented_or_the_lock_explained(domain, identity, said):
    outcome = run_action(ActionAfterVerification(), make_tracker({"identity": identity}), domain)
    assert (outcome.responses, outcome.events) == (said, [])


@pytest.mark.parametrize(
    ("slots", "said"),
    [
        ({"collection_paused": True}, ["utter_collection_paused"]),
        ({"vulnerable": True}, ["utter_care_pending"]),
        ({"collection_paused": True, "vulnerable": True}, ["utter_collection_paused"]),
    ],
)
def test_a_disputed_or_vulnerable_file_is_not_presented_with_the_ways_to_pay(domain, slots, said):
    outcome = run_action(ActionAfterVerification(), make_tracker({"identity": "verified", **slots}), domain)
    assert outcome.responses == said
    assert "utter_present_account" not in outcome.responses


# --- the reference question -------------------------------------------------------------------------------------


def answer_reference(domain: dict[str, Any], text: str, intent: str = "inform_identity") -> Outcome:
    state = make_tracker(
        {"language": "fr", "identity": "unverified", "requested_slot": "account_reference"},
        text=text,
        intent=intent,
        filled={"account_reference": text},
        active_loop="verification_form",
    )
    return run_action(ValidateVerificationForm(), state, domain)


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("HX482913", "HX482913"),
        ("c'est le 2024/000123", "2024/000123"),
        ("fac-2023-0045", "FAC-2023-0045"),
        ("123456789", "123456789"),
    ],
)
def test_each_creditors_reference_format_is_taken(domain, text, reference):
    outcome = answer_reference(domain, text)
    assert outcome.responses == []
    assert SlotSet("account_reference", reference) in outcome.events


def test_a_greeting_that_opens_the_form_is_not_told_it_is_a_wrong_reference(domain):
    outcome = answer_reference(domain, "bonjour", intent="greet")
    assert outcome.responses == []
    assert SlotSet("account_reference", None) in outcome.events


def test_an_answer_without_a_reference_is_told_what_one_looks_like(domain):
    outcome = answer_reference(domain, "je ne sais pas")
    assert outcome.responses == ["utter_reference_not_understood"]


def open_the_form(domain: dict[str, Any], text: str, filled: dict[str, Any], intent: str = "inform_identity") -> Outcome:
    """The debtor's first message opens the form before it has asked anything (Rasa sends no `requested_slot`),
    and the extractors found `filled` in it."""
    state = make_tracker({"language": "en", "identity": "unverified"}, text=text, intent=intent, filled=filled)
    return run_action(ValidateVerificationForm(), state, domain)


@pytest.mark.parametrize(
    ("text", "filled"),
    [
        # What an entity extractor may take for a reference or a second factor in an opening message.
        ("hello, about my file", {"account_reference": "file"}),
        ("my postcode is SW1A 1AA", {"identity_secret": "SW1A1AA"}),
        ("hi, 75011 and my file", {"account_reference": "file", "identity_secret": "75011"}),
    ],
)
def test_a_message_that_opens_the_form_is_never_told_it_is_a_wrong_answer(domain, text, filled):
    outcome = open_the_form(domain, text, filled)
    assert outcome.responses == []
    assert all(SlotSet(slot, None) in outcome.events for slot in filled)


def test_a_greeting_that_opens_the_form_is_not_told_it_is_a_wrong_reference_whatever_was_extracted(domain):
    outcome = open_the_form(domain, "hello", {"account_reference": "hello"}, intent="greet")
    assert outcome.responses == []


def test_while_the_reference_is_asked_a_second_factor_that_is_not_a_date_of_birth_is_not_corrected(domain):
    state = make_tracker(
        {"language": "fr", "identity": "unverified", "requested_slot": "account_reference"},
        text="CR-10001 75011",
        intent="inform_identity",
        filled={"account_reference": "CR-10001 75011", "identity_secret": "75011"},
        active_loop="verification_form",
    )
    outcome = run_action(ValidateVerificationForm(), state, domain)
    # The reference is taken; the date of birth is simply asked next.
    assert outcome.responses == []
    assert SlotSet("account_reference", "CR-10001") in outcome.events


def test_a_greeting_instead_of_the_date_of_birth_is_not_told_it_is_wrong(fake_api, domain):
    state = make_tracker(
        {"account_reference": "CR-10001", "language": "fr", "identity": "unverified", "requested_slot": "identity_secret"},
        text="bonjour",
        intent="greet",
        filled={"identity_secret": "bonjour"},
        active_loop="verification_form",
    )
    outcome = run_action(ValidateVerificationForm(), state, domain)
    assert outcome.responses == []
    assert fake_api.calls() == []


# --- what was asked before the check --------------------------------------------------------------------------

ERASURE = {"number": "DR-000007", "kind": "erasure", "status": "received", "deadline_text": "1 janvier 2027"}


def test_a_data_request_asked_before_the_check_is_recorded_right_after_it(fake_api, domain):
    fake_api.answer("POST", "/data-requests", ERASURE, status=201)
    state = make_tracker({"identity": "verified", "pending_request": "request_erasure"})
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.calls() == [("POST", "/data-requests", {"kind": "erasure"})]
    assert (outcome.responses, outcome.events) == (["utter_erasure_recorded"], [SlotSet("pending_request", None)])


def test_a_request_asked_before_a_check_that_failed_is_forgotten(fake_api, domain):
    state = make_tracker({"identity": "locked", "pending_request": "request_data_access"})
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.requests == []
    assert (outcome.responses, outcome.events) == (["utter_verification_locked"], [SlotSet("pending_request", None)])


# --- a dispute or a hardship said before the check ------------------------------------------------------------

LIMITS = {
    "min_instalments": 2,
    "max_instalments": 12,
    "min_instalment_text": "50,00 €",
    "latest_date_text": "31 janvier 2027",
    "latest_first_date_text": "15 décembre 2026",
    "fees_waivable": False,
    "fees_text": "0,00 €",
}


def verified_after_saying(intent: str, text: str, entities: list[dict[str, Any]], **slots: Any) -> Any:
    """The tracker when the form ends: the debtor said `text` before the check, then gave their reference and
    date of birth (the latest message)."""
    before = {
        "event": "user",
        "text": text,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.81}, "entities": entities},
    }
    return make_tracker(
        {"identity": "verified", "pending_request": intent, **slots},
        text="12/03/1985",
        intent="inform_identity",
        events=[before],
    )


def test_a_dispute_said_before_the_check_is_recorded_right_after_it_with_its_reason(fake_api, domain):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    fake_api.answer("POST", "/disputes", {"id": 2, "review": False}, status=201)
    not_mine = [{"entity": "dispute_reason", "value": "not_mine"}]
    state = verified_after_saying("dispute_debt", "je conteste, je n'ai jamais rien commandé", not_mine)
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.calls() == [
        ("POST", "/signals", {"kind": "dispute", "detail": "not_mine", "confidence": 0.81}),
        ("POST", "/disputes", {"reason": "not_mine"}),
    ]
    assert outcome.responses == ["utter_dispute_recorded"]
    assert SlotSet("collection_paused", True) in outcome.events
    assert SlotSet("pending_request", None) in outcome.events
    assert "utter_present_account" not in outcome.responses


def test_a_hardship_said_before_the_check_is_heard_and_the_options_offered_right_after_it(fake_api, domain):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    fake_api.answer("GET", "/options", {"options": [], "limits": LIMITS})
    job_loss = [{"entity": "hardship_reason", "value": "job_loss"}]
    state = verified_after_saying("report_hardship", "I lost my job, I can't pay", job_loss, total_text="400,00 €")
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.calls() == [
        ("POST", "/signals", {"kind": "hardship", "detail": "job_loss", "confidence": 0.81}),
        ("GET", "/options", None),
    ]
    assert outcome.responses == ["utter_hardship_empathy", "utter_offer_options"]
    # The budget is offered next, as after a hardship said once verified (data/rules/affordability.yml).
    assert outcome.events == [SlotSet("budget_stage", "to_offer"), SlotSet("pending_request", None)]


def test_a_hardship_said_before_the_check_on_a_paused_file_is_heard_and_nothing_is_asked(fake_api, domain):
    fake_api.answer("POST", "/signals", {"id": 1}, status=201)
    state = verified_after_saying("report_hardship", "j'ai perdu mon travail", [], collection_paused=True)
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert [call[1] for call in fake_api.calls()] == ["/signals"]
    assert outcome.responses == ["utter_hardship_empathy", "utter_collection_paused"]


def test_a_dispute_said_before_the_check_on_a_file_already_disputed_is_not_recorded_twice(fake_api, domain):
    state = verified_after_saying("dispute_debt", "I dispute this", [], collection_paused=True)
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.requests == []
    assert outcome.responses == ["utter_collection_paused"]


def test_a_dispute_said_before_a_check_that_failed_is_not_recorded(fake_api, domain):
    state = verified_after_saying("dispute_debt", "I dispute this", [], identity="locked")
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert fake_api.requests == []
    assert outcome.responses == ["utter_verification_locked"]
