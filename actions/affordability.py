"""Affordability: a short, optional income-and-expenditure statement, and the plan it allows.

Offered (a yes or no) when a debtor reports hardship or declines a counter-offer; a debtor who says no, or who
says "skip" / "je préfère ne pas répondre" at any question, goes on with today's options, without pressure.
One question per figure, each answer read in free text with its period ("1 200 par mois", "£300 a week",
"about 80 quid", "rien", "0"). The api stores the statement, works out what is left and the instalment it
allows, and answers with the plan (summarised for agreement), or, below the policy's minimum, a deferral
where allowed and a person (api/services/affordability.py). A debtor who prefers to type the figures gets a
signed link to a web form; back in the conversation, the bot uses what was typed there.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import SAY_NOTHING, Refusal, call_or_tell, utter_handoff_timing
from actions.arrangements import REFUSALS as ARRANGEMENT_REFUSALS
from actions.arrangements import RESET_PLAN
from bot.parsing import parse_budget_answer

FORM = "budget_form"
# The figures, in the order they are asked (the api's groups: income, then each kind of cost).
GROUPS = ("income", "housing", "bills", "food", "transport", "other_costs", "other_debts")
SLOTS = tuple(f"budget_{group}" for group in GROUPS)
PERIODS_PER_YEAR = {"weekly": 52, "biweekly": 26, "monthly": 12, "yearly": 1}
# The api refuses any figure beyond this a month (api/services/affordability.py MAX_MONTHLY_MINOR).
MAX_MONTHLY_MINOR = 10**8
# `budget_stage` says where the offer stands (the rules read it); `budget_answer` remembers that the debtor
# declined, skipped or gave it: it is not offered again in the conversation.
ANSWERED = [SlotSet("budget_answer", "given")]
# The api has no budget from the web form for this conversation: the questions are asked here instead.
NO_WEB_BUDGET = Refusal(None, {"budget_stage": "asking"})
# The figures leave the slots once the api has them. The answers ("300 € par mois") also filled the arrangement
# form's slots (their mappings read any amount said): a plan the debtor did not ask for must not start from them.
CLEARED = [*(SlotSet(slot, None) for slot in SLOTS), *RESET_PLAN]


def collection_on_hold(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("collection_paused") or tracker.get_slot("vulnerable"))


def monthly(amount_minor: int, period: str) -> int:
    """As the api counts it: ×periods a year / 12, rounded half up."""
    return (amount_minor * PERIODS_PER_YEAR[period] + 6) // 12


def encode(amount_minor: int, period: str) -> str:
    """A validated answer as the slot keeps it, e.g. "30000 weekly"."""
    return f"{amount_minor} {period}"


def decode(value: str | None) -> dict[str, Any] | None:
    parts = str(value or "").split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1] in PERIODS_PER_YEAR:
        return {"amount_minor": int(parts[0]), "period": parts[1]}
    return None


class ActionOfferBudget(Action):
    """Asks whether the debtor would like to go through their budget (a yes or no), with a link to type the
    figures on a page instead. Not asked of a debtor whose collection is on hold, nor again once answered."""

    def name(self) -> str:
        return "action_offer_budget"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        not_offered: list[EventType] = [SlotSet("budget_stage", "not_offered")]
        if tracker.get_slot("identity") != "verified" or collection_on_hold(tracker) or tracker.get_slot("budget_answer"):
            return not_offered
        link = await call_or_tell(dispatcher, tracker, "POST", "/budget-link", default=SAY_NOTHING)
        if isinstance(link, Refusal):
            return not_offered  # today's options stand
        dispatcher.utter_message(response="utter_offer_budget", budget_url=link["budget_url"])
        return [SlotSet("budget_stage", "offered"), SlotSet("budget_currency", link["currency"])]


class ActionDeclineBudget(Action):
    """No to the budget: nothing more is asked about it, and the options stand."""

    def name(self) -> str:
        return "action_decline_budget"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_budget_declined")
        return [SlotSet("budget_stage", "declined"), SlotSet("budget_answer", "declined")]


class ActionStartBudget(Action):
    """Yes to the budget: the figures typed on the page, when the debtor did so, are used at once; otherwise
    the questions start here."""

    def name(self) -> str:
        return "action_start_budget"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        errors = {**ARRANGEMENT_REFUSALS, "not_found": NO_WEB_BUDGET}
        result = await call_or_tell(dispatcher, tracker, "POST", "/budget/web", errors=errors)
        if result is NO_WEB_BUDGET:
            dispatcher.utter_message(response="utter_budget_intro")
            return [*NO_WEB_BUDGET.events(), *CLEARED]
        done = [SlotSet("budget_stage", "done"), *ANSWERED]
        if isinstance(result, Refusal):
            return [*result.events(), *done]
        return [*tell_outcome(dispatcher, result), *done]


class ValidateBudgetForm(FormValidationAction):
    """Each answer is read with its period; "skip" at any question ends the form, and nothing is sent."""

    def name(self) -> str:
        return "validate_budget_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        if tracker.get_slot("identity") != "verified" or collection_on_hold(tracker):
            return []
        if tracker.get_slot("budget_stage") == "skipped":
            return []
        return domain_slots

    def _validate(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        language = tracker.get_slot("language") or "fr"
        currency = tracker.get_slot("budget_currency") or "EUR"
        answer = parse_budget_answer(str(value or ""), language, currency)
        if answer is None:
            dispatcher.utter_message(response="utter_budget_not_understood")
            return {slot: None}
        if answer.kind == "skip":
            return {slot: None, "budget_stage": "skipped"}
        assert answer.money is not None  # an amount, or nothing (0)
        if answer.money.currency != currency:
            dispatcher.utter_message(response="utter_budget_other_currency", budget_currency=currency)
            return {slot: None}
        period = answer.period or "monthly"
        if monthly(answer.money.minor, period) > MAX_MONTHLY_MINOR:
            dispatcher.utter_message(response="utter_budget_too_high")
            return {slot: None}
        return {slot: encode(answer.money.minor, period)}

    def validate_budget_income(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_income", value, dispatcher, tracker)

    def validate_budget_housing(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_housing", value, dispatcher, tracker)

    def validate_budget_bills(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_bills", value, dispatcher, tracker)

    def validate_budget_food(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any) -> dict[str, Any]:
        return self._validate("budget_food", value, dispatcher, tracker)

    def validate_budget_transport(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_transport", value, dispatcher, tracker)

    def validate_budget_other_costs(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_other_costs", value, dispatcher, tracker)

    def validate_budget_other_debts(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self._validate("budget_other_debts", value, dispatcher, tracker)


class ActionSubmitBudget(Action):
    """The form is over: a skipped budget is let go; a complete one goes to the api, and the debtor hears what
    follows (the plan to agree to, or the deferral and the person). The figures leave the conversation's slots."""

    def name(self) -> str:
        return "action_submit_budget"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        figures = {group: decode(tracker.get_slot(slot)) for group, slot in zip(GROUPS, SLOTS, strict=True)}
        if tracker.get_slot("budget_stage") == "skipped" or any(value is None for value in figures.values()):
            if not collection_on_hold(tracker):
                dispatcher.utter_message(response="utter_budget_skipped")
            return [*CLEARED, SlotSet("budget_stage", "skipped"), SlotSet("budget_answer", "skipped")]
        result = await call_or_tell(dispatcher, tracker, "POST", "/budget", figures, errors=ARRANGEMENT_REFUSALS)
        done = [*CLEARED, SlotSet("budget_stage", "done"), *ANSWERED]
        if isinstance(result, Refusal):
            return [*result.events(), *done]
        return [*tell_outcome(dispatcher, result), *done]


def tell_outcome(dispatcher: CollectingDispatcher, result: dict[str, Any]) -> list[EventType]:
    """What the budget leads to, said: the plan summarised for agreement (or countered), or, below the
    policy's minimum, no plan pushed: the deferral where allowed, and a person."""
    budget = result["budget"]
    if result["outcome"] in ("plan", "counter"):
        offer = result["offer"]
        dispatcher.utter_message(
            response="utter_budget_result", disposable_text=budget["disposable_text"], affordable_text=budget["affordable_text"]
        )
        if result["outcome"] == "plan":
            dispatcher.utter_message(
                response="utter_offer_summary",
                account_reference=result["account_reference"],
                schedule_text=offer["schedule_text"],
                total_text=offer["total_text"],
            )
            return [SlotSet("offer_id", offer["offer_id"]), SlotSet("offer_stage", "summary")]
        dispatcher.utter_message(
            response="utter_counter_offer", schedule_text=offer["schedule_text"], total_text=offer["total_text"]
        )
        return [SlotSet("offer_id", offer["offer_id"]), SlotSet("offer_stage", "counter")]
    if budget["disposable_minor"] > 0:
        dispatcher.utter_message(
            response="utter_budget_below_minimum",
            disposable_text=budget["disposable_text"],
            min_instalment_text=result["min_instalment_text"],
        )
    else:
        dispatcher.utter_message(response="utter_budget_nothing_left")
    dispatcher.utter_message(response="utter_budget_handoff")
    utter_handoff_timing(dispatcher, result.get("handoff"))
    deferral = result.get("deferral")
    if deferral:
        dispatcher.utter_message(
            response="utter_budget_deferral", deferral_date_text=deferral["last_date_text"], total_text=deferral["total_text"]
        )
        return [SlotSet("offer_id", deferral["offer_id"]), SlotSet("offer_stage", "counter")]
    return [SlotSet("offer_id", None), SlotSet("offer_stage", None)]
