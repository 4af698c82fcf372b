"""The debtor's questions about their file and about us, answered from the api's data
(api/services/debtor_questions.py): the plan and the next payment, a statement of what was paid, the written
confirmation again, a copy of the document the debt is based on, what a missed instalment does, our contact
details, and where to complain beyond us.

Asked before verification, a question about the file is remembered and answered right after the check
(`action_after_verification`); the last two are about us and are answered at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import NEED_VERIFICATION, Refusal, call_or_tell, latest_intent

FILE_REFUSALS = {"not_verified": NEED_VERIFICATION}
NO_CONFIRMATION = {**FILE_REFUSALS, "not_found": Refusal("utter_no_confirmation_yet")}


async def _next_payment(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    plan = await call_or_tell(dispatcher, tracker, "GET", "/plan", errors=FILE_REFUSALS)
    if isinstance(plan, Refusal):
        return
    if not plan["has_plan"]:
        dispatcher.utter_message(response="utter_no_plan", total_text=plan["total_text"])
    elif not plan["next_due_text"]:
        dispatcher.utter_message(response="utter_plan_all_paid", commitment_reference=plan["commitment_reference"])
    else:
        dispatcher.utter_message(
            response="utter_next_payment",
            commitment_reference=plan["commitment_reference"],
            next_due_text=plan["next_due_text"],
            instalments_left=plan["instalments_left"],
            left_text=plan["left_text"],
            schedule_text=plan["schedule_text"],
        )


async def _statement(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    statement = await call_or_tell(dispatcher, tracker, "GET", "/statement", errors=FILE_REFUSALS)
    if isinstance(statement, Refusal):
        return
    if not statement["payments_count"]:
        dispatcher.utter_message(
            response="utter_statement_empty", total_text=statement["total_text"], as_of_text=statement["as_of_text"]
        )
        return
    dispatcher.utter_message(
        response="utter_statement",
        payments_text=statement["payments_text"],
        paid_text=statement["paid_text"],
        total_text=statement["total_text"],
        as_of_text=statement["as_of_text"],
    )
    if statement["earlier_count"]:
        dispatcher.utter_message(response="utter_statement_earlier", earlier_count=statement["earlier_count"])


async def _confirmation_copy(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    copy = await call_or_tell(dispatcher, tracker, "POST", "/confirmation-copy", errors=NO_CONFIRMATION)
    if isinstance(copy, Refusal):
        return
    dispatcher.utter_message(
        response="utter_confirmation_copy",
        confirmation_number=copy["confirmation_number"],
        issued_text=copy["issued_text"],
        document_url=copy["document_url"],
    )


async def _original_document(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    answer = await call_or_tell(dispatcher, tracker, "POST", "/original-document", errors=FILE_REFUSALS)
    if isinstance(answer, Refusal):
        return
    dispatcher.utter_message(
        response="utter_original_document",
        debt_origin=answer["debt_origin"],
        principal_text=answer["principal_text"],
        interest_text=answer["interest_text"],
        fees_text=answer["fees_text"],
    )


async def _missed_payment(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    rules = await call_or_tell(dispatcher, tracker, "GET", "/missed-payment-rules", errors=FILE_REFUSALS)
    if isinstance(rules, Refusal):
        return
    dispatcher.utter_message(
        response="utter_missed_payment_move_to_end" if rules["on_miss"] == "move_to_end" else "utter_missed_payment_keep",
        grace_days=rules["grace_days"],
        reminder_days_after=rules["reminder_days_after"],
        break_after=rules["break_after"],
    )


async def _contact_details(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    details = await call_or_tell(dispatcher, tracker, "GET", "/contact-details")
    if isinstance(details, Refusal):
        return
    dispatcher.utter_message(
        response="utter_contact_details",
        collector_name=details["collector_name"],
        collector_address=details["collector_address"],
        collector_phone=details["collector_phone"],
        collector_email=details["collector_email"],
        hours_text=details["hours_text"],
        creditor_name=details["creditor_name"],
        creditor_address=details["creditor_address"],
    )


async def _complaint_escalation(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    answer = await call_or_tell(dispatcher, tracker, "GET", "/complaint-escalation")
    if isinstance(answer, Refusal):
        return
    dispatcher.utter_message(response="utter_complaint_first_to_us")
    if answer["configured"]:
        dispatcher.utter_message(response="utter_complaint_escalation", escalation_text=answer["escalation_text"])


ANSWERS: dict[str, Callable[[CollectingDispatcher, Tracker], Awaitable[None]]] = {
    "ask_next_payment": _next_payment,
    "request_statement": _statement,
    "request_confirmation_copy": _confirmation_copy,
    "request_invoice": _original_document,
    "ask_missed_payment": _missed_payment,
    "ask_contact_details": _contact_details,
    "ask_complaint_escalation": _complaint_escalation,
}


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str | None) -> bool:
    """Answers the question `intent` asks; False when it is not one of these questions."""
    answer = ANSWERS.get(intent or "")
    if answer is None:
        return False
    await answer(dispatcher, tracker)
    return True


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await answer_question(dispatcher, tracker, latest_intent(tracker)[0])
        return []
