"""The debtor's questions (actions/questions.py): each asks the api for the file's real data and says it."""

from __future__ import annotations

import pytest

from actions.questions import ActionAnswerQuestion
from actions.verification import ActionAfterVerification
from tests.bot.actions_fixtures import make_tracker, run_action

PLAN = {
    "has_plan": True,
    "total_text": "380,00 €",
    "commitment_reference": "PLAN-2026-1",
    "schedule_text": "• 15 décembre 2026 : 100,00 €\n• 15 janvier 2027 : 100,00 €",
    "next_due_text": "15 décembre 2026 : 100,00 €",
    "instalments_left": 2,
    "left_text": "200,00 €",
}


def ask(domain, intent, **slots):
    state = make_tracker({"identity": "verified", "language": "fr", **slots}, text="…", intent=intent)
    return run_action(ActionAnswerQuestion(), state, domain)


def test_the_next_payment_and_what_is_left_of_the_plan(fake_api, domain):
    fake_api.answer("GET", "/plan", PLAN)
    outcome = ask(domain, "ask_next_payment")
    assert fake_api.calls() == [("GET", "/plan", None)]
    assert outcome.said == [
        (
            "utter_next_payment",
            {
                "commitment_reference": "PLAN-2026-1",
                "next_due_text": "15 décembre 2026 : 100,00 €",
                "instalments_left": 2,
                "left_text": "200,00 €",
                "schedule_text": PLAN["schedule_text"],
            },
        )
    ]


@pytest.mark.parametrize(
    ("plan", "said"),
    [
        ({"has_plan": False, "total_text": "400,00 €"}, "utter_no_plan"),
        ({**PLAN, "next_due_text": "", "instalments_left": 0}, "utter_plan_all_paid"),
    ],
)
def test_no_plan_or_a_plan_all_paid_is_said_as_such(fake_api, domain, plan, said):
    fake_api.answer("GET", "/plan", plan)
    assert ask(domain, "ask_next_payment").responses == [said]


def test_a_statement_lists_the_payments_and_counts_the_older_ones(fake_api, domain):
    fake_api.answer(
        "GET",
        "/statement",
        {
            "payments_count": 12,
            "payments_text": "• 20 novembre 2026 : 25,00 € (virement)",
            "earlier_count": 2,
            "paid_text": "300,00 €",
            "total_text": "100,00 €",
            "as_of_text": "3 décembre 2026",
        },
    )
    outcome = ask(domain, "request_statement")
    assert outcome.responses == ["utter_statement", "utter_statement_earlier"]
    assert outcome.said[1][1] == {"earlier_count": 2}


def test_no_payment_yet_is_said_with_what_is_owed(fake_api, domain):
    fake_api.answer(
        "GET",
        "/statement",
        {
            "payments_count": 0,
            "payments_text": "",
            "earlier_count": 0,
            "paid_text": "0,00 €",
            "total_text": "400,00 €",
            "as_of_text": "3 décembre 2026",
        },
    )
    assert ask(domain, "request_statement").responses == ["utter_statement_empty"]


def test_the_confirmation_again_or_none_yet(fake_api, domain):
    fake_api.answer(
        "POST",
        "/confirmation-copy",
        {"confirmation_number": "CONF-1", "issued_text": "1 décembre 2026", "document_url": "https://x/documents/1.pdf?token=t"},
    )
    assert ask(domain, "request_confirmation_copy").responses == ["utter_confirmation_copy"]
    fake_api.refuse("POST", "/confirmation-copy", 404, "not_found")
    assert ask(domain, "request_confirmation_copy").responses == ["utter_no_confirmation_yet"]


def test_a_copy_of_the_original_document_is_asked_of_a_person_and_the_file_says_what_it_knows(fake_api, domain):
    fake_api.answer(
        "POST",
        "/original-document",
        {
            "handoff_id": 3,
            "debt_origin": "Facture 2026-123, électricité",
            "principal_text": "380,00 €",
            "interest_text": "0,00 €",
            "fees_text": "20,00 €",
            "handoff": {"open_now": True, "expected_wait_minutes": 15, "next_open_at": None, "next_open_text": ""},
        },
        status=201,
    )
    outcome = ask(domain, "request_invoice")
    assert fake_api.calls() == [("POST", "/original-document", None)]
    assert outcome.said[0][0] == "utter_original_document"
    assert outcome.said[0][1]["debt_origin"] == "Facture 2026-123, électricité"


@pytest.mark.parametrize(
    ("on_miss", "said"), [("move_to_end", "utter_missed_payment_move_to_end"), ("keep", "utter_missed_payment_keep")]
)
def test_what_a_missed_instalment_does_is_the_creditors_setting(fake_api, domain, on_miss, said):
    fake_api.answer(
        "GET", "/missed-payment-rules", {"grace_days": 5, "reminder_days_after": 2, "on_miss": on_miss, "break_after": 2}
    )
    outcome = ask(domain, "ask_missed_payment")
    assert outcome.said == [(said, {"grace_days": 5, "reminder_days_after": 2, "break_after": 2})]


def test_our_contact_details_and_where_to_complain_beyond_us(fake_api, domain):
    details = {
        "collector_name": "Recouvrement Amiable Démo",
        "collector_address": "12 rue de la Paix, 75002 Paris",
        "collector_phone": "01 86 95 00 00",
        "collector_email": "contact@example",
        "hours_text": "lundi – vendredi : 09:00–18:00 (Europe/Paris)",
        "creditor_name": "Lumière Énergie SA",
        "creditor_address": "8 avenue de l'Europe, 69003 Lyon",
    }
    fake_api.answer("GET", "/contact-details", details)
    assert ask(domain, "ask_contact_details", identity="unverified").said == [("utter_contact_details", details)]
    fake_api.answer("GET", "/complaint-escalation", {"escalation_text": "• Médiateur", "configured": True})
    assert ask(domain, "ask_complaint_escalation").responses == ["utter_complaint_first_to_us", "utter_complaint_escalation"]
    fake_api.answer("GET", "/complaint-escalation", {"escalation_text": "", "configured": False})
    assert ask(domain, "ask_complaint_escalation").responses == ["utter_complaint_first_to_us"]


def test_a_file_question_before_verification_is_told_to_verify_first(fake_api, domain):
    fake_api.refuse("GET", "/plan", 403, "not_verified")
    assert ask(domain, "ask_next_payment", identity="unverified").responses == ["utter_need_verification"]


def test_a_question_asked_before_the_check_is_answered_right_after_it(fake_api, domain):
    fake_api.answer("GET", "/plan", PLAN)
    state = make_tracker(
        {"identity": "verified", "pending_request": "ask_next_payment"}, text="12/03/1985", intent="inform_identity"
    )
    outcome = run_action(ActionAfterVerification(), state, domain)
    assert outcome.responses == ["utter_next_payment"]
    assert "utter_present_account" not in outcome.responses
