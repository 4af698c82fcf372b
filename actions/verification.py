"""Right-party verification: the form collects a reference and a second factor; the api decides."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import Refusal, call_or_tell, context_slots, latest_intent, stated_message
from actions.arrangements import offer_options
from actions.data_rights import record_data_request, requested_kind
from actions.questions import answer_question
from actions.records import record_dispute, record_signal
from bot.parsing import find_reference, parse_date_of_birth, parse_reference_answer

# A locked reference is no longer asked for; the lock is explained when the form ends (action_after_verification).
LOCKED = {"identity": "locked", "account_reference": None, "identity_secret": None}
# The api's refusals of a verification: a lock is said later, anything else at once (and the secret asked again).
VERIFY_REFUSALS = {"verification_locked": Refusal(None, LOCKED)}
CANNOT_VERIFY = Refusal("utter_technical_problem", {"identity_secret": None})
# Messages that open the conversation rather than answer the reference question.
OPENING_INTENTS = frozenset({"greet", "start_conversation"})


def answers_question(tracker: Tracker, slot: str) -> bool:
    """Whether the latest message answers the form's question for `slot`, so that a value it does not hold is
    worth correcting. Rasa sends the slot the form was asking for as `requested_slot`: none yet when the message
    opened the form ("hello", or "my postcode is…" read as identity details), and a value found there is a hint,
    not a wrong answer — the first thing a debtor reads must not be an error. A greeting is no answer either."""
    return tracker.get_slot("requested_slot") == slot and latest_intent(tracker)[0] not in OPENING_INTENTS


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        if tracker.get_slot("identity") in ("verified", "locked"):
            return []
        return domain_slots

    def validate_account_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        reference = parse_reference_answer(str(value or ""))
        if reference is None and answers_question(tracker, "account_reference"):
            dispatcher.utter_message(response="utter_reference_not_understood")
        return {"account_reference": reference}

    async def validate_identity_secret(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = str(value or "")
        language = tracker.get_slot("language") or "fr"
        date_of_birth = parse_date_of_birth(text, language)
        if date_of_birth is None:
            # A postcode alone no longer verifies (api/services/verification.py says why).
            if answers_question(tracker, "identity_secret"):
                dispatcher.utter_message(response="utter_secret_not_understood")
            return {"identity_secret": None}
        reference = tracker.get_slot("account_reference") or find_reference(tracker.latest_message.get("text") or "")
        if reference is None:
            # Asked in order, so this only happens when both came in one message without a readable reference.
            return {"identity_secret": None}
        claim = {"reference": reference, "date_of_birth": date_of_birth.isoformat()}
        result = await call_or_tell(dispatcher, tracker, "POST", "/verify", claim, errors=VERIFY_REFUSALS, default=CANNOT_VERIFY)
        if isinstance(result, Refusal):
            return dict(result.slots)
        if result["status"] == "verified":
            # The secret itself is not kept in the conversation's slots.
            return {**context_slots(result["context"]), "identity_secret": "checked"}
        if result["status"] == "locked":
            return dict(LOCKED)
        dispatcher.utter_message(response="utter_verification_failed")
        return {"account_reference": None, "identity_secret": None}


class ActionAfterVerification(Action):
    """Runs when the verification form ends: present the file, or explain the lock. A file whose collection
    is paused (an open dispute) or that a person must review (vulnerability) is not presented with the ways
    to pay: the debtor is told that nothing is asked of them meanwhile.

    What the debtor said before the check is acted on first, as if said now: a data request is recorded, a
    question about the file is answered, a dispute is recorded (collection pauses), a hardship is heard, the
    options within policy offered and the budget offered next (`budget_stage: to_offer`). (Distress is answered at once, before any check: the api flags the account
    it turns out to be at verification.)
    """

    def name(self) -> str:
        return "action_after_verification"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        identity = tracker.get_slot("identity")
        pending = tracker.get_slot("pending_request")
        done: list[EventType] = [SlotSet("pending_request", None)] if pending else []
        if identity == "locked":
            dispatcher.utter_message(response="utter_verification_locked")
        if identity != "verified":
            return done
        kind = requested_kind(pending)
        if kind is not None:
            await record_data_request(dispatcher, tracker, kind)
            return done
        if await answer_question(dispatcher, tracker, pending):
            return done
        stated = stated_message(tracker)
        if pending == "report_hardship":
            await record_signal(dispatcher, tracker, stated)
            dispatcher.utter_message(response="utter_hardship_empathy")
        if tracker.get_slot("collection_paused"):
            dispatcher.utter_message(response="utter_collection_paused")
        elif tracker.get_slot("vulnerable"):
            dispatcher.utter_message(response="utter_care_pending")
        elif pending == "dispute_debt":
            return [*await record_dispute(dispatcher, tracker, stated), *done]
        elif pending == "report_hardship":
            offered = await offer_options(dispatcher, tracker)
            # As after a hardship said now: the budget is offered next (unless the api refused the options).
            return [*offered, *done] if offered else [SlotSet("budget_stage", "to_offer"), *done]
        else:
            dispatcher.utter_message(response="utter_present_account")
        return done
