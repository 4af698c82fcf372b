"""Affordability (actions/affordability.py): the budget offered as a yes or no (with a link to the web form), asked
one figure at a time with each answer read with its period, skippable at any question, sent to the api when
complete, and what follows said: the plan to agree to, or, below the policy's minimum, more time and a person;
by SMS the debtor's figures are never repeated (the responses' SMS variants: tests/bot/test_responses.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa_sdk.events import SlotSet

from actions.affordability import (
    ActionDeclineBudget,
    ActionOfferBudget,
    ActionStartBudget,
    ActionSubmitBudget,
    ValidateBudgetForm,
)
from tests.bot.actions_fixtures import ROOT, make_tracker, run_action

VERIFIED = {"identity": "verified", "language": "fr", "budget_currency": "EUR"}
LINK = {"budget_url": "http://127.0.0.1:8000/budget?token=t", "currency": "EUR"}
CLEARED = [
    *(SlotSet(f"budget_{g}", None) for g in ("income", "housing", "bills", "food", "transport", "other_costs", "other_debts")),
    # The answers' amounts filled the arrangement form's slots too: they are not a proposal.
    SlotSet("plan_type", None),
    SlotSet("plan_amount", None),
    SlotSet("plan_date", None),
    SlotSet("plan_frequency", None),
]
BUDGET = {"disposable_minor": 12000, "disposable_text": "120,00 €", "affordable_text": "60,00 €"}
OFFER = {
    "offer_id": "off-1",
    "schedule_text": "• 10 décembre 2026 : 60,00 €",
    "total_text": "380,00 €",
    "last_date_text": "2 janvier 2027",
}
HANDOFF = {"id": 4, "priority": 2, "open_now": True, "expected_wait_minutes": 15, "next_open_at": None, "next_open_text": ""}
NOT_OFFERED = [SlotSet("budget_stage", "not_offered")]
SUMMARY_PENDING = [SlotSet("offer_id", "off-1"), SlotSet("offer_stage", "summary")]
GIVEN = SlotSet("budget_answer", "given")
FILLED = {
    "budget_income": "30000 weekly",
    "budget_housing": "65000 monthly",
    "budget_bills": "180000 yearly",
    "budget_food": "25000 monthly",
    "budget_transport": "4000 monthly",
    "budget_other_costs": "8000 monthly",
    "budget_other_debts": "0 monthly",
}


# --- the offer ---------------------------------------------------------------------------------------------------


def test_the_budget_is_offered_with_the_link_to_the_web_form(fake_api, domain):
    fake_api.answer("POST", "/budget-link", LINK)
    outcome = run_action(ActionOfferBudget(), make_tracker(VERIFIED), domain)
    assert outcome.said == [("utter_offer_budget", {"budget_url": LINK["budget_url"]})]
    assert outcome.events == [SlotSet("budget_stage", "offered"), SlotSet("budget_currency", "EUR")]


@pytest.mark.parametrize(
    "slots",
    [
        pytest.param({"identity": "unverified"}, id="not verified"),
        pytest.param({**VERIFIED, "collection_paused": True}, id="dispute"),
        pytest.param({**VERIFIED, "vulnerable": True}, id="under care"),
        pytest.param({**VERIFIED, "budget_answer": "declined"}, id="said no already"),
        pytest.param({**VERIFIED, "budget_answer": "skipped"}, id="skipped already"),
        pytest.param({**VERIFIED, "budget_answer": "given"}, id="given already"),
    ],
)
def test_the_budget_is_not_offered_on_hold_nor_again(fake_api, domain, slots):
    outcome = run_action(ActionOfferBudget(), make_tracker(slots), domain)
    assert (outcome.responses, outcome.events, fake_api.calls()) == ([], NOT_OFFERED, [])


def test_without_the_api_nothing_is_offered_and_the_options_stand(api_down, domain):
    outcome = run_action(ActionOfferBudget(), make_tracker({**VERIFIED, "budget_stage": "offered"}), domain)
    assert outcome.responses == [] and outcome.events == NOT_OFFERED


def test_no_to_the_budget_is_heard_without_pressure(domain):
    outcome = run_action(ActionDeclineBudget(), make_tracker(VERIFIED, intent="deny"), domain)
    assert outcome.responses == ["utter_budget_declined"]
    assert outcome.events == [SlotSet("budget_stage", "declined"), SlotSet("budget_answer", "declined")]


def test_yes_starts_the_questions_when_nothing_was_typed_on_the_page(fake_api, domain):
    outcome = run_action(ActionStartBudget(), make_tracker(VERIFIED, intent="affirm"), domain)
    assert fake_api.calls() == [("POST", "/budget/web", None)]
    assert outcome.responses == ["utter_budget_intro"]
    assert outcome.events == [SlotSet("budget_stage", "asking"), *CLEARED]


def test_yes_after_the_web_form_uses_the_figures_typed_there(fake_api, domain):
    plan = {
        "outcome": "plan",
        "budget": BUDGET,
        "offer": OFFER,
        "account_reference": "CR-10001",
        "min_instalment_text": "50,00 €",
    }
    fake_api.answer("POST", "/budget/web", plan)
    outcome = run_action(ActionStartBudget(), make_tracker(VERIFIED, intent="affirm"), domain)
    assert outcome.responses == ["utter_budget_result", "utter_offer_summary"]
    assert outcome.events == [*SUMMARY_PENDING, SlotSet("budget_stage", "done"), GIVEN]


# --- one question per figure ---------------------------------------------------------------------------------------


def answer(domain: dict[str, Any], text: str, slot: str = "budget_food", **slots: Any):
    state = make_tracker(
        {**VERIFIED, "requested_slot": slot, "budget_stage": "asking", **slots},
        text=text,
        intent="propose_payment",
        filled={slot: text},
        active_loop="budget_form",
    )
    return run_action(ValidateBudgetForm(), state, domain)


def validated(outcome) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in outcome.events if e["name"] != "requested_slot"}


@pytest.mark.parametrize(
    ("language", "currency", "text", "kept"),
    [
        ("fr", "EUR", "1 200 par mois", "120000 monthly"),
        ("fr", "EUR", "environ 300 euros par semaine", "30000 weekly"),
        ("fr", "EUR", "1 800 € par an", "180000 yearly"),
        ("fr", "EUR", "450", "45000 monthly"),  # no period said: per month, as asked
        ("fr", "EUR", "rien", "0 monthly"),
        ("fr", "EUR", "pas de loyer, je suis hébergée", "0 monthly"),
        ("en", "GBP", "£300 a week", "30000 weekly"),
        ("en", "GBP", "about 80 quid", "8000 monthly"),
        ("en", "GBP", "£1,250.50 per month", "125050 monthly"),
        ("en", "GBP", "£60 every two weeks", "6000 biweekly"),
        ("en", "GBP", "none", "0 monthly"),
        ("en", "GBP", "0", "0 monthly"),
    ],
)
def test_each_answer_is_read_with_its_period(domain, language, currency, text, kept):
    outcome = answer(domain, text, language=language, budget_currency=currency)
    assert outcome.responses == []
    # Understood: kept as "<minor units> <period>"; Rasa's form then asks the next figure.
    assert outcome.events == [SlotSet("budget_food", kept)]


@pytest.mark.parametrize(
    ("language", "text"),
    [("fr", "je préfère ne pas répondre"), ("fr", "passer"), ("en", "skip"), ("en", "I'd rather not say")],
)
def test_skip_at_any_question_ends_the_form_and_nothing_is_sent(fake_api, domain, language, text):
    outcome = answer(domain, text, slot="budget_housing", language=language, budget_income="130000 monthly")
    assert outcome.responses == []
    assert validated(outcome) == {"budget_housing": None, "budget_stage": "skipped"}
    assert SlotSet("requested_slot", None) in outcome.events
    assert fake_api.calls() == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("je ne sais pas trop", "utter_budget_not_understood"),
        ("non", "utter_budget_not_understood"),  # a bare no may refuse the question: asked again, not read as 0
        ("2 000 000 € par mois", "utter_budget_too_high"),
        ("500 000 € par semaine", "utter_budget_too_high"),
        ("300 £ par mois", "utter_budget_other_currency"),
    ],
)
def test_an_answer_that_cannot_be_right_is_asked_again(domain, text, said):
    outcome = answer(domain, text)
    assert outcome.responses == [said]
    # The slot stays empty: Rasa's form asks the same question again.
    assert outcome.events == [SlotSet("budget_food", None)]


def test_the_form_asks_nothing_of_a_debtor_whose_collection_is_on_hold(domain):
    outcome = answer(domain, "250", collection_paused=True)
    assert SlotSet("requested_slot", None) in outcome.events


# --- what follows -------------------------------------------------------------------------------------------------


def submitting(**slots: Any):
    return make_tracker({**VERIFIED, **FILLED, "budget_stage": "asking", **slots}, intent="propose_payment")


def test_the_complete_budget_goes_to_the_api_and_the_plan_is_summarised_for_agreement(fake_api, domain):
    plan = {
        "outcome": "plan",
        "budget": BUDGET,
        "offer": OFFER,
        "account_reference": "CR-10001",
        "min_instalment_text": "50,00 €",
    }
    fake_api.answer("POST", "/budget", plan, status=201)
    outcome = run_action(ActionSubmitBudget(), submitting(), domain)
    ((method, path, body),) = fake_api.calls()
    assert (method, path) == ("POST", "/budget")
    assert body["income"] == {"amount_minor": 30000, "period": "weekly"}
    assert body["bills"] == {"amount_minor": 180000, "period": "yearly"}
    assert body["other_debts"] == {"amount_minor": 0, "period": "monthly"}
    assert outcome.said == [
        ("utter_budget_result", {"disposable_text": "120,00 €", "affordable_text": "60,00 €"}),
        (
            "utter_offer_summary",
            {"account_reference": "CR-10001", "schedule_text": OFFER["schedule_text"], "total_text": "380,00 €"},
        ),
    ]
    # The figures leave the conversation's slots once the api has them.
    assert outcome.events == [*SUMMARY_PENDING, *CLEARED, SlotSet("budget_stage", "done"), GIVEN]


def test_below_the_minimum_more_time_and_a_person_are_offered_and_no_plan_is_pushed(fake_api, domain):
    below = {
        "outcome": "below_minimum",
        "reason": "below_min_instalment",
        "budget": {**BUDGET, "disposable_minor": 2000, "disposable_text": "20,00 €"},
        "deferral": {**OFFER, "offer_id": "off-2"},
        "handoff": HANDOFF,
        "account_reference": "CR-10001",
        "min_instalment_text": "50,00 €",
    }
    fake_api.answer("POST", "/budget", below, status=201)
    outcome = run_action(ActionSubmitBudget(), submitting(), domain)
    assert outcome.responses == [
        "utter_budget_below_minimum",
        "utter_budget_handoff",
        "utter_handoff_timing_open",
        "utter_budget_deferral",
    ]
    assert "utter_offer_summary" not in outcome.responses and "utter_counter_offer" not in outcome.responses
    assert outcome.said[-1] == ("utter_budget_deferral", {"deferral_date_text": "2 janvier 2027", "total_text": "380,00 €"})
    assert outcome.events[:2] == [SlotSet("offer_id", "off-2"), SlotSet("offer_stage", "counter")]


def test_with_nothing_left_and_no_deferral_in_the_policy_only_a_person_is_offered(fake_api, domain):
    below = {
        "outcome": "below_minimum",
        "reason": "nothing_left",
        "budget": {**BUDGET, "disposable_minor": -5000, "disposable_text": "-50,00 €"},
        "handoff": {**HANDOFF, "open_now": False, "next_open_text": "lundi 7 décembre, 09:00"},
        "account_reference": "CR-10001",
        "min_instalment_text": "50,00 €",
    }
    fake_api.answer("POST", "/budget", below, status=201)
    outcome = run_action(ActionSubmitBudget(), submitting(), domain)
    assert outcome.responses == ["utter_budget_nothing_left", "utter_budget_handoff", "utter_handoff_timing_closed"]
    assert outcome.events[:2] == [SlotSet("offer_id", None), SlotSet("offer_stage", None)]


def test_a_skipped_budget_is_let_go_and_nothing_is_sent(fake_api, domain):
    outcome = run_action(ActionSubmitBudget(), submitting(budget_stage="skipped", budget_housing=None), domain)
    assert fake_api.calls() == []
    assert outcome.responses == ["utter_budget_skipped"]
    assert outcome.events == [*CLEARED, SlotSet("budget_stage", "skipped"), SlotSet("budget_answer", "skipped")]


@pytest.mark.parametrize(
    ("refusal", "said", "slots"),
    [
        ((409, "collection_paused"), "utter_collection_paused", [SlotSet("collection_paused", True)]),
        ((409, "under_care"), "utter_care_pending", [SlotSet("vulnerable", True)]),
        ((422, "invalid_amount"), "utter_technical_problem", []),
    ],
)
def test_a_budget_the_api_refuses_is_explained(fake_api, domain, refusal, said, slots):
    fake_api.refuse("POST", "/budget", *refusal)
    outcome = run_action(ActionSubmitBudget(), submitting(), domain)
    assert outcome.responses == [said]
    assert outcome.events == [*slots, *CLEARED, SlotSet("budget_stage", "done"), GIVEN]


# --- never by SMS -----------------------------------------------------------------------------------------------

BUDGET_FIGURES = {"disposable_text", "affordable_text"}


def test_no_sms_variant_repeats_the_debtors_budget_figures():
    responses = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
    for name, variants in responses.items():
        web = [v for v in variants if v.get("channel") is None]
        if not any(set(BUDGET_FIGURES) & set(_variables(v["text"])) for v in web):
            continue
        sms = [v for v in variants if v.get("channel") == "twilio"]
        assert sms, f"{name} shows the budget on the web: it needs an SMS variant without it"
        for variant in sms:
            assert not BUDGET_FIGURES & _variables(variant["text"]), f"{name} repeats the budget by SMS"


def _variables(text: str) -> set[str]:
    import re

    return set(re.findall(r"\{(\w+)\}", text))
