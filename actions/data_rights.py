"""The debtor's data rights asked in the conversation: a copy of their data, or its erasure.

The api records the request for the data-rights process (api/services/data_rights.py) with its legal
deadline: a copy is made at once and given behind a link that asks for the date of birth; an erasure is
carried out by the scheduler once the conversation is over. Asked before verification, the request is
remembered and acted on as soon as the identity is confirmed (`action_after_verification`).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import NEED_VERIFICATION, Refusal, call_or_tell, latest_intent

KIND_OF_INTENT = {"request_data_access": "access", "request_erasure": "erasure"}
REFUSALS = {"not_verified": NEED_VERIFICATION, "conflict": Refusal("utter_data_request_already_erased")}


def requested_kind(intent: str | None) -> str | None:
    return KIND_OF_INTENT.get(intent or "")


async def record_data_request(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str) -> None:
    result = await call_or_tell(dispatcher, tracker, "POST", "/data-requests", {"kind": kind}, errors=REFUSALS)
    if isinstance(result, Refusal):
        return
    if kind == "access":
        dispatcher.utter_message(
            response="utter_data_access_ready", data_request_number=result["number"], document_url=result["document_url"]
        )
    else:
        dispatcher.utter_message(
            response="utter_erasure_recorded",
            data_request_number=result["number"],
            data_request_deadline_text=result["deadline_text"],
        )


class ActionRecordDataRequest(Action):
    def name(self) -> str:
        return "action_record_data_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        kind = requested_kind(latest_intent(tracker)[0])
        if kind is not None:
            await record_data_request(dispatcher, tracker, kind)
        return [SlotSet("pending_request", None)]


class ActionRememberRequest(Action):
    """What the debtor asked before their identity was confirmed: kept until the check is done, so that it is
    acted on right after (today: the data requests; the rest is answered by presenting the file)."""

    def name(self) -> str:
        return "action_remember_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = latest_intent(tracker)[0]
        return [SlotSet("pending_request", intent)] if intent else []
