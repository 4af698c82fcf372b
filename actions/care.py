"""Care and control at every turn: distress, complaints, payment claims, contact preferences, language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiError, call, record_and_confirm, utter_handoff_timing
from actions.arrangements import today_for_debtor
from bot import keywords
from bot.parsing import parse_past_date


def _confidence(tracker: Tracker) -> float | None:
    return (tracker.latest_message.get("intent") or {}).get("confidence")


class ActionHandleVulnerability(Action):
    """Stops collection talk, answers with care and where to find help, and hands to a person first."""

    def name(self) -> str:
        return "action_handle_vulnerability"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        try:
            body = {"confidence": _confidence(tracker), "claimed_reference": tracker.get_slot("account_reference")}
            answer = call("POST", tracker.sender_id, "/vulnerability", body)
        except ApiError:
            answer = {"support_resources": [], "handoff": None}
        dispatcher.utter_message(
            response="utter_vulnerability_care",
            support_resources_text="\n".join(f"• {line}" for line in answer["support_resources"]),
        )
        utter_handoff_timing(dispatcher, answer.get("handoff"), care=True)
        return [SlotSet("vulnerable", True), SlotSet("offer_stage", None), SlotSet("offer_id", None)]


class ActionRecordComplaint(Action):
    def name(self) -> str:
        return "action_record_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        try:
            answer = call("POST", tracker.sender_id, "/complaints", {"confidence": _confidence(tracker)})
        except ApiError:
            dispatcher.utter_message(response="utter_technical_problem")
            return []
        dispatcher.utter_message(response="utter_complaint_recorded")
        utter_handoff_timing(dispatcher, answer.get("handoff"), care=True)
        return []


class ActionRecordContactPreference(Action):
    def name(self) -> str:
        return "action_record_contact_preference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        preference = {"channel": keywords.contact_channel(text), "time_window": keywords.time_window(text)}
        record_and_confirm(dispatcher, tracker, "/preferences", preference, "utter_preference_recorded")
        return []


class ActionSwitchLanguage(Action):
    """Switches to the language the debtor names, or to the other one; the next response speaks it.

    A language the assistant does not write (Spanish, Polish...) keeps the conversation's language, and
    `language_unavailable` makes the next response say so rather than switch to the other of French and English.
    """

    def name(self) -> str:
        return "action_switch_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        current = tracker.get_slot("language") or "fr"
        wanted = keywords.requested_language(tracker.latest_message.get("text") or "")
        if wanted == "other":
            return [SlotSet("language", current), SlotSet("language_unavailable", True)]
        if wanted is None:
            wanted = "en" if current == "fr" else "fr"
        try:
            call("POST", tracker.sender_id, "/language", {"language": wanted})
        except ApiError:
            pass  # the conversation still switches; the api learns the language at the next verification
        return [SlotSet("language", wanted), SlotSet("language_unavailable", False)]


class ValidatePaymentClaimForm(FormValidationAction):
    def name(self) -> str:
        return "validate_payment_claim_form"

    def validate_paid_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        paid_on = parse_past_date(str(value or ""), tracker.get_slot("language") or "fr", today_for_debtor())
        if paid_on is None:
            dispatcher.utter_message(response="utter_paid_date_not_understood")
            return {"paid_date": None}
        return {"paid_date": paid_on.isoformat()}

    def validate_paid_means(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"paid_means": keywords.payment_means(str(value or "")) or "other"}


class ActionRecordPaymentClaim(Action):
    def name(self) -> str:
        return "action_record_payment_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        paid_date = tracker.get_slot("paid_date")
        claim = {
            "paid_on": dt.date.fromisoformat(paid_date).isoformat() if paid_date else None,
            "means": tracker.get_slot("paid_means"),
        }
        done = [SlotSet("paid_date", None), SlotSet("paid_means", None)]
        try:
            call("POST", tracker.sender_id, "/payment-claims", claim)
        except ApiError as error:
            dispatcher.utter_message(
                response="utter_need_verification" if error.code == "not_verified" else "utter_technical_problem"
            )
            return done
        dispatcher.utter_message(response="utter_payment_claim_recorded")
        return done
