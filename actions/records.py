"""Recording signals, disputes, opt-outs and handoffs on the account through the api."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import (
    NEED_VERIFICATION,
    SAY_NOTHING,
    Refusal,
    call_or_tell,
    latest_intent,
    message_entity,
    message_intent,
    record_and_confirm,
    utter_handoff_timing,
)

SIGNAL_OF_INTENT = {
    "report_hardship": "hardship",
    "forgot_to_pay": "forgot",
    "dispute_debt": "dispute",
    "wrong_person": "wrong_person",
    "refuse_to_pay": "refusal",
    "ask_debt_origin": "misunderstanding",
    "ask_fees": "misunderstanding",
}
# The entity that says why, for the signals that have a reason.
REASON_ENTITY_OF_SIGNAL = {"hardship": "hardship_reason", "dispute": "dispute_reason"}

HANDOFF_REASON_OF_INTENT = {"request_human": "request_human", "dispute_debt": "dispute"}

# Only a verified debtor can dispute the debt; any other refusal is a technical problem.
DISPUTE_REFUSALS = {"not_verified": NEED_VERIFICATION}


def _reason(message: Mapping[str, Any], signal: str) -> str | None:
    entity = REASON_ENTITY_OF_SIGNAL.get(signal)
    return message_entity(message, entity) if entity else None


async def record_signal(dispatcher: CollectingDispatcher, tracker: Tracker, message: Mapping[str, Any]) -> None:
    """Stores the motivation or care signal of `message` on the conversation (and account)."""
    intent, confidence = message_intent(message)
    kind = SIGNAL_OF_INTENT.get(intent or "")
    if kind:
        # A lost signal must not stop the conversation; the message itself is stored by the api.
        signal = {"kind": kind, "detail": _reason(message, kind), "confidence": confidence}
        await call_or_tell(dispatcher, tracker, "POST", "/signals", signal, default=SAY_NOTHING)


async def record_dispute(dispatcher: CollectingDispatcher, tracker: Tracker, message: Mapping[str, Any]) -> list[EventType]:
    """Records the dispute `message` states, which pauses collection of the account, and tells the debtor."""
    reason = _reason(message, "dispute")
    signal = {"kind": "dispute", "detail": reason, "confidence": message_intent(message)[1]}
    recorded = await call_or_tell(dispatcher, tracker, "POST", "/signals", signal, errors=DISPUTE_REFUSALS)
    if isinstance(recorded, Refusal):
        return []
    recorded = await call_or_tell(dispatcher, tracker, "POST", "/disputes", {"reason": reason}, errors=DISPUTE_REFUSALS)
    if isinstance(recorded, Refusal):
        return []
    # A creditor who reviews every dispute has it queued for a person already: no need to offer one.
    dispatcher.utter_message(response="utter_dispute_review" if recorded.get("review") else "utter_dispute_recorded")
    return [SlotSet("collection_paused", True), SlotSet("offer_stage", None), SlotSet("offer_id", None)]


class ActionRecordSignal(Action):
    """Stores the motivation or care signal of the latest message on the conversation (and account)."""

    def name(self) -> str:
        return "action_record_signal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await record_signal(dispatcher, tracker, tracker.latest_message)
        return []


class ActionRecordDispute(Action):
    def name(self) -> str:
        return "action_record_dispute"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return await record_dispute(dispatcher, tracker, tracker.latest_message)


class ActionRecordOptOut(Action):
    """Honours a stop request at once, with one confirmation. In the web chat, where nothing is sent unasked,
    the debtor is asked whether our SMS and WhatsApp messages should stop too (once their identity is
    confirmed, so that we know which number); before that, they are told how to stop them."""

    def name(self) -> str:
        return "action_record_opt_out"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not await record_and_confirm(dispatcher, tracker, "/opt-out", None, "utter_opt_out_confirmed"):
            return []
        if tracker.get_slot("channel") != "webchat":
            return []
        if tracker.get_slot("identity") != "verified":
            dispatcher.utter_message(response="utter_stop_other_channels_how")
            return []
        dispatcher.utter_message(response="utter_ask_stop_other_channels")
        return [SlotSet("pending_question", "stop_other_channels"), SlotSet("offer_stage", None), SlotSet("offer_id", None)]


class ActionAnswerStopOtherChannels(Action):
    """The answer to "SMS and WhatsApp too?": recorded per channel on the account's number, or nothing more."""

    def name(self) -> str:
        return "action_answer_stop_other_channels"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent, _ = latest_intent(tracker)
        if intent == "affirm":
            body = {"channels": ["sms", "whatsapp"]}
            await record_and_confirm(dispatcher, tracker, "/opt-out/other-channels", body, "utter_other_channels_stopped")
        else:
            dispatcher.utter_message(response="utter_other_channels_kept")
        return [SlotSet("pending_question", None)]


class ActionRequestHandoff(Action):
    """A person on request: queued through the api, and the debtor is told when someone will answer."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent, _ = latest_intent(tracker)
        await request_handoff(dispatcher, tracker, HANDOFF_REASON_OF_INTENT.get(intent or "", "request_human"))
        return []


async def request_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> None:
    handoff = await call_or_tell(dispatcher, tracker, "POST", "/handoffs", {"reason": reason})
    if isinstance(handoff, Refusal):
        return
    dispatcher.utter_message(response="utter_handoff")
    utter_handoff_timing(dispatcher, handoff)


def _fallback_streak(tracker: Tracker) -> int:
    """How many of the debtor's last messages in a row the bot did not understand (this one included)."""
    streak = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != "nlu_fallback":
            break
        streak += 1
    return streak


class ActionHandleFallback(Action):
    """Not understood: ask to rephrase once; not understood twice in a row, hand over to a person."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if _fallback_streak(tracker) >= 2:
            await request_handoff(dispatcher, tracker, "repeated_fallback")
        else:
            dispatcher.utter_message(response="utter_default")
        return []
