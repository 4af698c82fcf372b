"""Every promise in the assistant's words is kept: each response that announces a future action (domain.yml,
both languages, every channel variant, and the api's own catalog) is listed here with the code that performs
it and the test that shows it happening. A new promise without its entry fails; an entry whose code or
test has gone fails too. Where something cannot be done, the wording must change instead."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# What announces a future action, in French and English.
PROMISE = re.compile(
    r"rappeller|\bremind|get back|revenons vers|reviendrons|réponse écrite|written answer|respecterons|"
    r"will respect|recontact|continuerons à vous contacter|keep contacting|contact you again|vous recevrez|"
    r"you will receive|will write|vous écrira|va reprendre|will take over|will answer|répond(?:ra|rons)|"
    r"we will|nous allons|nous vous|will send|enverr(?:a|ons)\b",
    re.IGNORECASE,
)

# response -> (code that performs the promise, tests that show it happening)
KEPT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # "We will remind you before each due date" / "Nous vous rappellerons avant chaque échéance".
    "utter_commitment_confirmed": (
        ("api.services.contacts.plan_commitment", "api.services.scheduler.Scheduler.tick"),
        (
            "tests/api/services/test_contacts.py::test_a_plan_gets_its_reminders_and_the_first_leaves_three_days_before_within_hours_by_sms",
            "tests/api/services/test_contacts.py::test_contacts_due_while_the_scheduler_was_stopped_leave_once_and_stale_reminders_are_superseded",
        ),
    ),
    # Collection paused during the review, a written answer, an adviser if wanted.
    "utter_dispute_recorded": (
        ("api.services.records.record_dispute", "api.services.reviews.resolve_dispute", "api.services.reviews.answer_left"),
        (
            "tests/api/services/test_reviews.py::test_a_rejected_dispute_gets_a_written_answer_and_collection_resumes_only_once_it_has_left",
            "tests/api/services/test_contacts.py::test_a_status_reason_stops_collection_contacts_on_every_channel",
            "tests/api/routes/test_bot.py::test_a_dispute_pauses_collection",
        ),
    ),
    # "We will keep contacting you to find a solution".
    "utter_consequences": (
        ("api.services.contacts.sweep",),
        (
            "tests/api/services/test_contacts.py::test_without_a_plan_we_come_back_every_week_at_most_three_times_without_an_answer",
        ),
    ),
    # "We will respect your contact preference": the channel first, the time window narrowing the hours.
    "utter_preference_recorded": (
        ("api.services.contacts.decide_and_send", "api.services.contact_gate.next_allowed"),
        (
            "tests/api/services/test_contact_gate.py::test_the_debtors_time_preference_narrows_the_hours",
            "tests/api/services/test_contacts.py::test_a_plan_gets_its_reminders_and_the_first_leaves_three_days_before_within_hours_by_sms",
        ),
    ),
    # "No reminder meanwhile; we will get back to you once it is checked".
    "utter_payment_claim_recorded": (
        ("api.services.contacts.on_payment", "api.services.contacts.sweep", "api.services.contact_gate.decide"),
        (
            "tests/api/services/test_contacts.py::test_an_already_paid_claim_is_confirmed_by_the_payment_or_goes_to_an_agent",
            "tests/api/services/test_contacts.py::test_a_status_reason_stops_collection_contacts_on_every_channel",
        ),
    ),
    # "An adviser will get back to you" after the verification lock.
    "utter_verification_locked": (
        ("api.services.handoffs.request_handoff",),
        ("tests/api/routes/test_bot.py::test_three_failures_lock_the_conversation_and_ask_for_a_human",),
    ),
    # "An adviser will take over your file personally / will write to you here".
    "utter_vulnerability_care": (
        ("api.services.records.flag_vulnerability", "api.services.handoffs.request_handoff"),
        ("tests/api/routes/test_bot.py::test_vulnerability_flags_the_account_hands_over_first_and_gives_support_resources",),
    ),
    "utter_care_pending": (
        ("api.services.records.flag_vulnerability", "api.services.reviews.review_vulnerability"),
        (
            "tests/api/routes/test_bot.py::test_vulnerability_flags_the_account_hands_over_first_and_gives_support_resources",
            "tests/api/services/test_reviews.py::test_a_vulnerability_flag_is_kept_with_a_support_plan_or_cleared_with_a_note",
        ),
    ),
    "utter_care_timing_closed": (
        ("api.services.handoffs.request_handoff",),
        ("tests/api/routes/test_console.py::test_outside_hours_the_handoff_is_queued_and_the_bot_keeps_the_conversation",),
    ),
    # "A manager / an adviser will answer you personally, here": the queue, a person claims and writes.
    "utter_complaint_recorded": (
        ("api.services.records.record_complaint", "api.services.handoffs.claim"),
        ("tests/api/routes/test_bot.py::test_a_complaint_is_recorded_and_handed_over",),
    ),
    "utter_handoff": (
        ("api.services.handoffs.request_handoff", "api.services.handoffs.claim"),
        ("tests/api/routes/test_console.py::test_a_second_agent_cannot_claim_a_claimed_conversation",),
    ),
    "utter_handoff_timing_open": (
        ("api.services.handoffs.availability", "api.services.handoffs.claim"),
        ("tests/api/routes/test_console.py::test_a_second_agent_cannot_claim_a_claimed_conversation",),
    ),
    "utter_handoff_timing_closed": (
        ("api.services.handoffs.availability", "api.services.handoffs.request_handoff"),
        ("tests/api/routes/test_console.py::test_outside_hours_the_handoff_is_queued_and_the_bot_keeps_the_conversation",),
    ),
    # "An adviser will review your dispute and answer you, in writing".
    "utter_dispute_review": (
        ("api.services.records.record_dispute", "api.services.reviews.resolve_dispute"),
        (
            "tests/api/routes/test_console.py::test_a_creditor_who_reviews_disputes_gets_each_one_in_the_queue",
            "tests/api/services/test_reviews.py::test_a_rejected_dispute_gets_a_written_answer_and_collection_resumes_only_once_it_has_left",
        ),
    ),
    # "We send you a reminder N days after the date; the missed payment moves to the end (or stays due); after N
    # missed in a row the plan ends and we write to you" — the creditor's follow-through settings, applied by the sweep.
    "utter_missed_payment_move_to_end": (
        ("api.services.contacts.plan_instalment", "api.services.contacts.sweep"),
        (
            "tests/api/services/test_contacts.py::test_a_plan_gets_its_reminders_and_the_first_leaves_three_days_before_within_hours_by_sms",
            "tests/api/services/test_contacts.py::test_missed_instalments_move_to_the_end_then_break_the_plan_and_queue_it_for_an_agent",
        ),
    ),
    "utter_missed_payment_keep": (
        ("api.services.contacts.plan_instalment", "api.services.contacts.sweep"),
        (
            "tests/api/services/test_contacts.py::test_with_on_miss_keep_a_missed_instalment_stays_owed_where_it_is_and_a_grace_reminder_went_first",
            "tests/api/services/test_contacts.py::test_missed_instalments_move_to_the_end_then_break_the_plan_and_queue_it_for_an_agent",
        ),
    ),
    # "Tell me you already paid and we will check": the payment claim, matched by a payment or sent to a person.
    "utter_statement_empty": (
        ("api.services.records.record_payment_claim", "api.services.contacts.on_payment"),
        ("tests/api/services/test_contacts.py::test_an_already_paid_claim_is_confirmed_by_the_payment_or_goes_to_an_agent",),
    ),
    # "An adviser will take up your complaint and answer you".
    "utter_complaint_first_to_us": (
        ("api.services.records.record_complaint", "api.services.handoffs.claim"),
        ("tests/api/routes/test_bot.py::test_a_complaint_is_recorded_and_handed_over",),
    ),
    # "An adviser will send you a copy of the original document": a queue item a person answers.
    "utter_original_document": (
        ("api.services.debtor_questions.request_original_document", "api.services.handoffs.claim"),
        ("tests/api/routes/test_debtor_questions.py::test_a_copy_of_the_original_document_is_queued_for_a_person_who_sends_it",),
    ),
    # The api's own words (api/i18n): the message kept while Rasa is down is answered by the retry loop;
    # a message to an agent is answered by the agent.
    "router.bot_unavailable": (
        ("api.services.router.ConversationRouter.retry_unanswered",),
        (
            "tests/api/services/test_router.py::test_a_message_is_kept_and_a_holding_reply_sent_when_rasa_is_down",
            "tests/e2e/test_phone_channels.py::test_an_sms_that_arrives_while_rasa_is_down_is_answered_once_rasa_is_back",
        ),
    ),
    "router.waiting_for_agent": (
        ("api.services.handoffs.claim",),
        ("tests/api/routes/test_console.py::test_messages_to_a_conversation_with_a_person_never_reach_the_bot",),
    ),
}

# Responses that match the pattern but promise nothing the system must do later (checked by hand).
NOT_PROMISES = {
    "utter_disclosure": "information given 'will be used' to collect the debt: a statement of purpose",
}


def _domain_texts() -> dict[str, list[str]]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: [v.get("text") or "" for v in variants] for name, variants in domain["responses"].items()}


def _catalog_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for language in ("fr", "en"):
        catalog = yaml.safe_load((ROOT / "api" / "i18n" / f"{language}.yml").read_text(encoding="utf-8"))
        for section in ("router",):
            for key, value in catalog[section].items():
                texts.setdefault(f"{section}.{key}", []).append(str(value))
    return texts


def test_every_response_that_promises_a_future_action_is_listed_with_its_code_and_tests() -> None:
    promising = {
        name for name, texts in {**_domain_texts(), **_catalog_texts()}.items() if any(PROMISE.search(text) for text in texts)
    }
    unlisted = promising - set(KEPT) - set(NOT_PROMISES)
    assert not unlisted, f"promises without the code that keeps them: {sorted(unlisted)}"
    gone = set(KEPT) - promising
    assert not gone, f"listed promises no response makes any more (remove them): {sorted(gone)}"


def test_the_code_that_keeps_each_promise_exists() -> None:
    for name, (paths, _) in KEPT.items():
        for path in paths:
            module_name, _, attribute = path.rpartition(".")
            try:
                target = importlib.import_module(module_name)
            except ModuleNotFoundError:
                module_name, _, owner = module_name.rpartition(".")
                target = getattr(importlib.import_module(module_name), owner)
            assert callable(getattr(target, attribute, None)), f"{name}: {path} is gone"


def test_the_tests_that_show_each_promise_kept_exist() -> None:
    for name, (_, tests) in KEPT.items():
        assert tests, f"{name}: no test shows this promise kept"
        for test in tests:
            file, _, function = test.partition("::")
            source = (ROOT / file).read_text(encoding="utf-8")
            assert re.search(rf"^def {re.escape(function)}\(", source, re.MULTILINE), f"{name}: {test} is gone"
