"""Negotiation within the creditor's policy: options, proposals, counter-offers, summary, commitment."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import NEED_VERIFICATION, SAY_NOTHING, Refusal, call_or_tell, utter_handoff_timing
from bot.parsing import Money, parse_amount, parse_date

RESET_PLAN = [
    SlotSet("plan_type", None),
    SlotSet("plan_amount", None),
    SlotSet("plan_date", None),
    SlotSet("plan_frequency", None),
]
# When the api refuses an arrangement, no offer is pending any more.
NO_OFFER = [SlotSet("offer_stage", None), SlotSet("offer_id", None)]


# The api's refusals of an arrangement the debtor is told about in their own words (any other: a technical
# problem), with what the conversation keeps of them so that the forms stop asking.
REFUSALS = {
    "collection_paused": Refusal("utter_collection_paused", {"collection_paused": True}),
    "under_care": Refusal("utter_care_pending", {"vulnerable": True}),
    "not_verified": NEED_VERIFICATION,
}


async def ask_api(
    dispatcher: CollectingDispatcher, tracker: Tracker, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any] | Refusal:
    return await call_or_tell(dispatcher, tracker, method, path, body, errors=REFUSALS)


def refused(refusal: Refusal) -> list[EventType]:
    """After a refusal no plan is being built and no offer is pending."""
    return [*refusal.events(), *RESET_PLAN, *NO_OFFER]


def encode_money(money: Money) -> str:
    return f"{money.minor} {money.currency}"


def decode_money(value: str) -> Money | None:
    """Reads the `amount` entity's value ("3000 EUR") back."""
    parts = str(value).split()
    if len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 3 and parts[1].isalpha():
        return Money(int(parts[0]), parts[1].upper())
    return None


def today_for_debtor() -> dt.date:
    # Dates are resolved in the creditor's market time; the api re-checks every bound against the
    # debtor's own timezone.
    return dt.datetime.now(ZoneInfo("Europe/Paris")).date()


class ValidateArrangementForm(FormValidationAction):
    def name(self) -> str:
        return "validate_arrangement_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        if tracker.get_slot("identity") != "verified" or tracker.get_slot("collection_paused") or tracker.get_slot("vulnerable"):
            return []
        plan_type = tracker.get_slot("plan_type")
        if plan_type == "instalments":
            return ["plan_type", "plan_amount"]
        if plan_type == "deferral":
            return ["plan_type", "plan_date"]
        return ["plan_type"]

    def validate_plan_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        language = tracker.get_slot("language") or "fr"
        money = decode_money(value) or parse_amount(str(value or ""), language)
        if money is None or money.minor <= 0:
            dispatcher.utter_message(response="utter_amount_not_understood")
            return {"plan_amount": None}
        return {"plan_amount": encode_money(money)}

    def validate_plan_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = str(value or "")
        try:
            return {"plan_date": dt.date.fromisoformat(text).isoformat()}
        except ValueError:
            pass
        parsed = parse_date(text, tracker.get_slot("language") or "fr", today_for_debtor())
        if parsed is None:
            dispatcher.utter_message(response="utter_date_not_understood")
            return {"plan_date": None}
        return {"plan_date": parsed.isoformat()}


def _proposal(tracker: Tracker) -> dict[str, Any]:
    plan_type = tracker.get_slot("plan_type") or "full"
    amount = decode_money(tracker.get_slot("plan_amount") or "")
    plan_date = tracker.get_slot("plan_date")
    frequency = tracker.get_slot("plan_frequency") or "monthly"
    proposal: dict[str, Any] = {"kind": plan_type, "frequency": frequency}
    if plan_type == "instalments" and amount:
        proposal["instalment_amount_minor"] = amount.minor
    if plan_date:
        proposal["first_due_date"] = plan_date
    return proposal


async def utter_summary(dispatcher: CollectingDispatcher, tracker: Tracker, offer_id: str) -> list[EventType] | Refusal:
    summary = await ask_api(dispatcher, tracker, "POST", f"/offers/{offer_id}/summary")
    if isinstance(summary, Refusal):
        return summary
    dispatcher.utter_message(
        response="utter_offer_summary",
        account_reference=summary["account_reference"],
        schedule_text=summary["schedule_text"],
        total_text=summary["total_text"],
    )
    return [SlotSet("offer_id", offer_id), SlotSet("offer_stage", "summary")]


class ActionOfferOptions(Action):
    """Offers first what the policy allows (reciprocity), then asks what the debtor can afford. A debtor who
    has a plan (answering a reminder: "I can't pay this one") sees it first: the new plan replaces it."""

    def name(self) -> str:
        return "action_offer_options"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return await offer_options(dispatcher, tracker)


async def offer_options(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """What the policy allows, said in one message (and the fee waiver where the creditor allows it)."""
    result = await ask_api(dispatcher, tracker, "GET", "/options")
    if isinstance(result, Refusal):
        return refused(result)
    if tracker.get_slot("plan_text"):
        dispatcher.utter_message(response="utter_balance_with_plan")
    limits = result["limits"]
    deferral = next((o for o in result["options"] if o["kind"] in ("deferral", "full")), None)
    dispatcher.utter_message(
        response="utter_offer_options",
        total_text=deferral["total_text"] if deferral else tracker.get_slot("total_text"),
        deferral_date_text=deferral["last_date_text"] if deferral else limits["latest_date_text"],
        min_instalments=limits["min_instalments"],
        max_instalments=limits["max_instalments"],
        min_instalment_text=limits["min_instalment_text"],
    )
    if limits["fees_waivable"]:
        dispatcher.utter_message(response="utter_fee_waiver", fees_text=limits["fees_text"])
    return []


class ActionEvaluateProposal(Action):
    """The debtor's proposal goes to the api: within policy -> summary; outside -> closest counter-offer."""

    def name(self) -> str:
        return "action_evaluate_proposal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        result = await ask_api(dispatcher, tracker, "POST", "/offers", _proposal(tracker))
        if isinstance(result, Refusal):
            return refused(result)
        if result["accepted"]:
            summary = await utter_summary(dispatcher, tracker, result["offer_id"])
            return refused(summary) if isinstance(summary, Refusal) else [*summary, *RESET_PLAN]
        limits = result["limits"]
        for reason in result["reasons"]:
            dispatcher.utter_message(
                response=f"utter_reason_{reason}",
                min_instalment_text=limits["min_instalment_text"],
                min_instalments=limits["min_instalments"],
                max_instalments=limits["max_instalments"],
                latest_date_text=limits["latest_first_date_text"]
                if reason == "first_payment_too_late"
                else limits["latest_date_text"],
            )
        dispatcher.utter_message(
            response="utter_counter_offer", schedule_text=result["schedule_text"], total_text=result["total_text"]
        )
        if result.get("handoff"):
            # Asked again for what the policy forbids: a person may be able to agree to it.
            dispatcher.utter_message(response="utter_outside_policy_handoff")
            utter_handoff_timing(dispatcher, result["handoff"])
        return [SlotSet("offer_id", result["offer_id"]), SlotSet("offer_stage", "counter"), *RESET_PLAN]


class ActionSummariseOffer(Action):
    """The debtor accepted a counter-offer: show the summary they are asked to commit to."""

    def name(self) -> str:
        return "action_summarise_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        offer_id = tracker.get_slot("offer_id")
        if not offer_id:
            dispatcher.utter_message(response="utter_no_pending_offer")
            return [SlotSet("offer_stage", None)]
        summary = await utter_summary(dispatcher, tracker, offer_id)
        return refused(summary) if isinstance(summary, Refusal) else summary


def _last_bot_text(tracker: Tracker) -> str:
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "bot"]
    return texts[-1] if texts else ""


class ActionCreateCommitment(Action):
    """Explicit agreement to the summary: record the commitment and send the written confirmation."""

    def name(self) -> str:
        return "action_create_commitment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        offer_id = tracker.get_slot("offer_id")
        done = [SlotSet("offer_stage", None), SlotSet("offer_id", None)]
        if not offer_id:
            dispatcher.utter_message(response="utter_no_pending_offer")
            return done
        result = await ask_api(
            dispatcher, tracker, "POST", f"/offers/{offer_id}/accept", {"agreed_summary": _last_bot_text(tracker)}
        )
        if isinstance(result, Refusal):
            return refused(result)
        dispatcher.utter_message(
            response="utter_commitment_confirmed",
            commitment_reference=result["commitment_reference"],
            confirmation_number=result["confirmation_number"],
            document_url=result["document_url"],
        )
        return [*done, SlotSet("commitment_reference", result["commitment_reference"]), SlotSet("plan_text", result["plan_text"])]


class ActionDeclineOffer(Action):
    def name(self) -> str:
        return "action_decline_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        offer_id = tracker.get_slot("offer_id")
        if offer_id:
            # Declining needs no record to succeed: nothing was committed.
            await call_or_tell(dispatcher, tracker, "POST", f"/offers/{offer_id}/decline", default=SAY_NOTHING)
        dispatcher.utter_message(response="utter_offer_declined")
        return [SlotSet("offer_stage", None), SlotSet("offer_id", None)]


class ActionTellBalance(Action):
    """The balance, and the active payment plan when there is one (agreed with the bot or with an agent)."""

    def name(self) -> str:
        return "action_tell_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("plan_text"):
            dispatcher.utter_message(response="utter_balance_with_plan")
        else:
            dispatcher.utter_message(response="utter_balance")
        return []
