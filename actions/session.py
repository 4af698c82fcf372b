"""Session start: the bot learns from the api who it speaks for, in which language and on which channel."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import SAY_NOTHING, Refusal, call_or_tell, context_slots


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = {k: v for k, v in tracker.current_slot_values().items() if v is not None and k != "requested_slot"}
        # An unknown sender (e.g. `rasa shell`) keeps the domain's defaults.
        context = await call_or_tell(dispatcher, tracker, "GET", "/context", default=SAY_NOTHING)
        if not isinstance(context, Refusal):
            carried.update(context_slots(context))
        events += [SlotSet(name, value) for name, value in carried.items()]
        events.append(ActionExecuted("action_listen"))
        return events
