"""The actions' one client to the api: what it sends, how refusals reach the debtor, and that it never blocks."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import aiohttp
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client
from actions.api_client import (
    NEED_VERIFICATION,
    SAY_NOTHING,
    TECHNICAL_PROBLEM,
    ApiError,
    Refusal,
    call,
    call_or_tell,
    record_and_confirm,
)
from actions.arrangements import ActionDeclineOffer, ActionOfferOptions
from actions.care import (
    ActionHandleVulnerability,
    ActionRecordComplaint,
    ActionRecordContactPreference,
    ActionRecordPaymentClaim,
    ActionSwitchLanguage,
)
from actions.records import ActionRecordOptOut, ActionRequestHandoff
from actions.session import ActionSessionStart
from tests.bot.actions_fixtures import (
    CONVERSATION_ID,
    TEST_ACTIONS_TOKEN,
    make_tracker,
    run_action_async,
    with_fresh_session,
)


def run(work: Any) -> Any:
    return asyncio.run(with_fresh_session(work))


def test_a_call_reaches_the_conversation_path_with_the_token_and_the_json_body(fake_api):
    fake_api.answer("POST", "/signals", {"id": 7}, status=201)
    assert run(call("POST", CONVERSATION_ID, "/signals", {"kind": "forgot"})) == {"id": 7}
    [request] = fake_api.requests
    assert (request.method, request.conversation_id, request.path, request.body) == (
        "POST",
        CONVERSATION_ID,
        "/signals",
        {"kind": "forgot"},
    )
    assert request.token == TEST_ACTIONS_TOKEN


def test_an_empty_answer_reads_as_an_empty_dict(fake_api):
    fake_api.answer("POST", "/opt-out", status=204)
    assert run(call("POST", CONVERSATION_ID, "/opt-out")) == {}
    assert fake_api.requests[0].body is None


def test_calls_in_one_event_loop_share_one_session(fake_api, monkeypatch):
    opened: list[aiohttp.ClientSession] = []
    open_session = aiohttp.ClientSession

    def counted(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        opened.append(open_session(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(aiohttp, "ClientSession", counted)
    fake_api.answer("GET", "/context", {"slots": {}})

    async def twice() -> None:
        await call("GET", CONVERSATION_ID, "/context")
        await call("GET", CONVERSATION_ID, "/context")

    run(twice())
    assert len(opened) == 1
    # A new loop (a restarted server, the next test) opens its own: a session cannot outlive its loop.
    run(twice())
    assert len(opened) == 2
    assert all(session.closed for session in opened)
    assert len(fake_api.requests) == 4


@pytest.mark.parametrize(("status", "code"), [(409, "collection_paused"), (423, "verification_locked"), (403, "not_verified")])
def test_a_refusal_carries_the_problem_type_without_its_urn_prefix(fake_api, status, code):
    fake_api.refuse("POST", "/offers", status, code)
    with pytest.raises(ApiError) as refused:
        run(call("POST", CONVERSATION_ID, "/offers", {"kind": "full"}))
    assert (refused.value.status, refused.value.code) == (status, code)


def test_an_error_without_a_problem_body_is_an_http_error(fake_api):
    fake_api.answer("GET", "/options", "Internal Server Error", status=500)
    with pytest.raises(ApiError) as refused:
        run(call("GET", CONVERSATION_ID, "/options"))
    assert (refused.value.status, refused.value.code) == (500, "http_error")


def test_an_api_that_is_down_is_unreachable(api_down):
    with pytest.raises(ApiError) as refused:
        run(call("GET", CONVERSATION_ID, "/context"))
    assert (refused.value.status, refused.value.code) == (0, "api_unreachable")


def test_an_api_slower_than_the_timeout_is_unreachable(fake_api, monkeypatch):
    monkeypatch.setattr(api_client, "CONFIG", dataclasses.replace(api_client.CONFIG, timeout_seconds=0.1))
    fake_api.delay = 0.5
    fake_api.answer("GET", "/context", {"slots": {}})
    with pytest.raises(ApiError) as refused:
        run(call("GET", CONVERSATION_ID, "/context"))
    assert (refused.value.status, refused.value.code) == (0, "api_unreachable")


# --- call_or_tell: the one place a refusal becomes what the debtor hears ---------------------------------------


def tell(method: str, path: str, **mapping: Any) -> tuple[Any, list[str]]:
    dispatcher = CollectingDispatcher()
    answer = run(call_or_tell(dispatcher, make_tracker(), method, path, **mapping))
    return answer, [m["response"] for m in dispatcher.messages]


def test_an_answer_is_returned_and_nothing_is_said(fake_api):
    fake_api.answer("POST", "/complaints", {"handoff_id": 3})
    assert tell("POST", "/complaints") == ({"handoff_id": 3}, [])


def test_a_mapped_refusal_says_its_response_and_is_returned_with_its_slots(fake_api):
    paused = Refusal("utter_collection_paused", {"collection_paused": True})
    fake_api.refuse("GET", "/options", 409, "collection_paused")
    answer, said = tell("GET", "/options", errors={"collection_paused": paused, "not_verified": NEED_VERIFICATION})
    assert (answer, said) == (paused, ["utter_collection_paused"])
    assert answer.events() == [SlotSet("collection_paused", True)]


def test_any_other_refusal_is_a_technical_problem_unless_the_action_says_otherwise(fake_api):
    fake_api.refuse("GET", "/options", 409, "under_care")
    assert tell("GET", "/options", errors={"not_verified": NEED_VERIFICATION}) == (
        TECHNICAL_PROBLEM,
        ["utter_technical_problem"],
    )
    assert tell("GET", "/options", default=SAY_NOTHING) == (SAY_NOTHING, [])


def test_record_and_confirm_confirms_only_what_was_recorded(fake_api):
    fake_api.answer("POST", "/preferences", {"id": 1}, status=201)
    dispatcher = CollectingDispatcher()
    assert run(record_and_confirm(dispatcher, make_tracker(), "/preferences", {"channel": "sms"}, "utter_preference_recorded"))
    fake_api.refuse("POST", "/preferences", 404, "not_found")
    assert not run(
        record_and_confirm(dispatcher, make_tracker(), "/preferences", {"channel": "sms"}, "utter_preference_recorded")
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_preference_recorded", "utter_technical_problem"]


# --- the action server no longer serialises conversations ------------------------------------------------------

SLOW_API_SECONDS = 0.3


def _answer_everything(fake_api) -> None:
    handoff = {"open_now": True, "expected_wait_minutes": 5, "next_open_text": None}
    limits = {
        "min_instalments": 2,
        "max_instalments": 12,
        "min_instalment_text": "50,00 €",
        "latest_date_text": "31 janvier 2027",
        "fees_waivable": False,
        "fees_text": "0,00 €",
    }
    fake_api.answer("GET", "/context", {"slots": {"language": "fr"}})
    fake_api.answer("GET", "/options", {"options": [], "limits": limits})
    fake_api.answer("POST", "/vulnerability", {"support_resources": [], "handoff": handoff})
    fake_api.answer("POST", "/complaints", {"handoff_id": 1, "handoff": handoff})
    fake_api.answer("POST", "/preferences", {"id": 1})
    fake_api.answer("POST", "/language", {"language": "en"})
    fake_api.answer("POST", "/payment-claims", {"id": 1})
    fake_api.answer("POST", "/opt-out", {"status": "opted_out"})
    fake_api.answer("POST", "/handoffs", {"id": 1, "priority": 2, **handoff})
    fake_api.answer("POST", "/offers/off-1/decline", {"status": "declined"})


def _ten_conversations() -> list[tuple[Any, Tracker]]:
    """Ten actions of every module, each in its own conversation and each making one api call."""
    return [
        (ActionSessionStart(), make_tracker()),
        (ActionOfferOptions(), make_tracker({"identity": "verified"})),
        (ActionHandleVulnerability(), make_tracker(text="je n'en peux plus", intent="express_vulnerability")),
        (ActionRecordComplaint(), make_tracker(text="je veux me plaindre", intent="complain")),
        (ActionRecordContactPreference(), make_tracker(text="par sms le matin", intent="contact_preference")),
        (ActionSwitchLanguage(), make_tracker({"language": "fr"}, text="English please", intent="request_language")),
        (ActionRecordPaymentClaim(), make_tracker({"paid_date": "2026-11-30", "paid_means": "transfer"})),
        (ActionRecordOptOut(), make_tracker(text="STOP", intent="stop_contact")),
        (ActionRequestHandoff(), make_tracker(text="un conseiller", intent="request_human")),
        (ActionDeclineOffer(), make_tracker({"offer_id": "off-1"}, text="non", intent="deny")),
    ]


def test_ten_conversations_waiting_on_a_slow_api_are_served_at_the_same_time(fake_api, domain):
    _answer_everything(fake_api)
    fake_api.delay = SLOW_API_SECONDS
    conversations = _ten_conversations()

    async def all_at_once() -> tuple[list[Any], float]:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(run_action_async(action, state, domain) for action, state in conversations))
        return outcomes, time.perf_counter() - started

    outcomes, elapsed = run(all_at_once())

    assert len(fake_api.requests) == 10
    # One after another they would take 10 × 0.3 s; together, about one slow answer.
    assert elapsed < 1.5, f"10 actions took {elapsed:.2f} s"
    # Each was served as it would have been alone, none fell back to a technical problem.
    assert not any("utter_technical_problem" in outcome.responses for outcome in outcomes)
