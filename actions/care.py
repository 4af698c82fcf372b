"""Care and control at every turn: distress, complaints, payment claims, contact preferences, language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import (
    NEED_VERIFICATION,
    SAY_NOTHING,
    Refusal,
    call_or_tell,
    latest_intent,
    record_and_confirm,
    utter_handoff_timing,
)
from actions.arrangements import today_for_debtor
from bot import keywords
from bot.parsing import parse_past_date

# Care is given even when the api cannot be reached: the words of care, without resources or a handoff.
CARE_WITHOUT_API: dict[str, Any] = {"support_resources": [], "handoff": None}


class ActionHandleVulnerability(Action):
    """Stops collection talk, answers with care and where to find help, and hands to a person first."""

    def name(self) -> str:
        return "action_handle_vulnerability"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        body = {"confidence": latest_intent(tracker)[1], "claimed_reference": tracker.get_slot("account_reference")}
        answer = await call_or_tell(dispatcher, tracker, "POST", "/vulnerability", body, default=SAY_NOTHING)
        if isinstance(answer, Refusal):
            answer = CARE_WITHOUT_API
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
        answer = await call_or_tell(dispatcher, tracker, "POST", "/complaints", {"confidence": latest_intent(tracker)[1]})
        if isinstance(answer, Refusal):
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
        await record_and_confirm(dispatcher, tracker, "/preferences", preference, "utter_preference_recorded")
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
        # The conversation still switches if the api cannot hear it: it learns the language at the next verification.
        await call_or_tell(dispatcher, tracker, "POST", "/language", {"language": wanted}, default=SAY_NOTHING)
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
        answer = await call_or_tell(
            dispatcher, tracker, "POST", "/payment-claims", claim, errors={"not_verified": NEED_VERIFICATION}
        )
        if isinstance(answer, Refusal):
            return done
        dispatcher.utter_message(response="utter_payment_claim_recorded")
        return done
