"""The budget through the real api: answered in the conversation (`POST …/budget`), typed on the page a signed
link opens (date of birth first, figures checked, nothing lost), then acted on in the conversation
(`POST …/budget/web`): the plan it allows goes through the usual summary, agreement and written confirmation;
below the policy's minimum, no plan is pushed (a deferral where allowed, and a person with the budget in the
handoff). Agents read it in the account panel; the creditor reads what it allows, not its figures."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api.core.config import get_settings
from api.db import session_scope
from api.models import Budget, Conversation, Handoff
from tests.api.routes.test_bot import bot, new_conversation, verify
from tests.api.routes.test_console import ALWAYS_OPEN, new_agent, set_hours, sign_in


def figure(amount_minor: int, period: str = "monthly") -> dict:
    return {"amount_minor": amount_minor, "period": period}


# Marie (CR-10001) owes 380.00 once the fees are waived; the demo policy: 2 to 10 instalments of 50.00 or more.
# 300 a week (1 300.00 a month) in, 1 180.00 a month out: 120.00 left, 60.00 suggested, so 7 instalments.
WITHIN = {
    "income": figure(30000, "weekly"),  # 1 300.00 a month
    "housing": figure(65000),
    "bills": figure(1800000 // 10, "yearly"),  # 1 800.00 a year: 150.00 a month
    "food": figure(25000),
    "transport": figure(4000),
    "other_costs": figure(8000),
    "other_debts": figure(1000),
}
# 20.00 left, 10.00 suggested: below the 50.00 minimum.
BELOW = {**WITHIN, "other_debts": figure(11000)}


@pytest.fixture
def verified(client, actions_headers) -> str:
    conversation_id = new_conversation("budget-session")
    assert verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12").json()["status"] == "verified"
    return conversation_id


def test_the_budget_routes_need_a_verified_debtor(client, actions_headers):
    conversation_id = new_conversation("stranger")
    assert bot(client, actions_headers, "POST", conversation_id, "/budget-link").status_code == 403
    assert bot(client, actions_headers, "POST", conversation_id, "/budget", WITHIN).status_code == 403
    assert bot(client, actions_headers, "POST", conversation_id, "/budget/web").status_code == 403


def test_a_budget_within_the_policy_is_summarised_then_agreed_and_confirmed_in_writing(
    client, actions_headers, creditor_headers, verified
):
    answer = bot(client, actions_headers, "POST", verified, "/budget", WITHIN)
    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    budget = outcome["budget"]
    # Weekly and yearly figures are kept per month.
    assert (budget["income_minor"], budget["bills_minor"]) == (130000, 15000)
    assert (budget["disposable_minor"], budget["affordable_minor"], budget["share_pct"]) == (12000, 6000, 50)
    assert budget["disposable_text"] == "120,00\u00a0€" and budget["affordable_text"] == "60,00\u00a0€"
    assert outcome["outcome"] == "plan"
    offer = outcome["offer"]
    assert offer["status"] == "summarised" and [i["amount_minor"] for i in offer["schedule"]] == [6000] * 6 + [2000]
    # The usual agreement and written confirmation.
    accepted = bot(client, actions_headers, "POST", verified, f"/offers/{offer['offer_id']}/accept", {"agreed_summary": "ok"})
    assert accepted.status_code == 201 and "/documents/" in accepted.json()["document_url"]
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["commitments"][0]["status"] == "active"
    # The creditor sees what the budget allows, not its figures.
    (summary,) = account["budgets"]
    assert summary == {
        "created_at": summary["created_at"],
        "source": "chat",
        "currency": "EUR",
        "disposable_minor": 12000,
        "affordable_minor": 6000,
        "share_pct": 50,
    }


def test_below_the_minimum_no_plan_is_pushed_more_time_is_offered_and_a_person_sees_the_budget(
    client, actions_headers, creditor_headers, verified
):
    answer = bot(client, actions_headers, "POST", verified, "/budget", BELOW)
    outcome = answer.json()
    assert outcome["outcome"] == "below_minimum" and outcome["reason"] == "below_min_instalment"
    assert "offer" not in outcome
    assert outcome["min_instalment_text"] == "50,00\u00a0€"
    deferral = outcome["deferral"]
    assert deferral["kind"] == "deferral" and deferral["status"] == "countered" and deferral["total_minor"] == 38000
    assert outcome["handoff"]["priority"] == 2
    with session_scope() as session:
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == verified)).one()
        assert handoff.reason == "affordability"
        assert handoff.summary["budget"]["disposable_text"] == "20,00\u00a0€"
        assert handoff.summary["budget"]["min_instalment_text"] == "50,00\u00a0€"
        # A person looks at it in their own time: the bot keeps the conversation, and the deferral can be taken.
        assert session.get_one(Conversation, verified).state == "bot"
    summary = bot(client, actions_headers, "POST", verified, f"/offers/{deferral['offer_id']}/summary")
    assert summary.status_code == 200
    accepted = bot(client, actions_headers, "POST", verified, f"/offers/{deferral['offer_id']}/accept", {"agreed_summary": "x"})
    assert accepted.status_code == 201


def test_below_the_minimum_without_deferral_in_the_policy_only_a_person_is_asked(
    client, actions_headers, creditor_headers, verified
):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    policy.pop("updated_at")
    client.put("/api/v1/policy", json={**policy, "max_deferral_days": 0}, headers=creditor_headers)
    outcome = bot(client, actions_headers, "POST", verified, "/budget", BELOW).json()
    assert outcome["outcome"] == "below_minimum" and "deferral" not in outcome and outcome["handoff"]["id"]


def test_nothing_is_stored_while_collection_is_paused(client, actions_headers, verified):
    bot(client, actions_headers, "POST", verified, "/disputes", {"reason": "wrong_amount"})
    answer = bot(client, actions_headers, "POST", verified, "/budget", WITHIN)
    assert answer.status_code == 409 and answer.json()["type"] == "urn:problem:collection_paused"
    with session_scope() as session:
        assert session.scalars(select(Budget)).all() == []


def test_impossible_figures_are_refused(client, actions_headers, verified):
    too_much = {**WITHIN, "food": figure(30_000_000, "weekly")}  # 300 000 a week
    assert bot(client, actions_headers, "POST", verified, "/budget", too_much).status_code == 422
    negative = {**WITHIN, "food": figure(-1)}
    assert bot(client, actions_headers, "POST", verified, "/budget", negative).status_code == 422
    assert bot(client, actions_headers, "POST", verified, "/budget", {"income": figure(1)}).status_code == 422


# --- the web form -------------------------------------------------------------------------------------------


def page_link(client, actions_headers, conversation_id) -> str:
    answer = bot(client, actions_headers, "POST", conversation_id, "/budget-link").json()
    assert answer["currency"] == "EUR"
    return answer["budget_url"].removeprefix("http://testserver")


def unlock(client, link: str) -> tuple[str, str]:
    """The figures form, once the date of birth is confirmed: its action and its unlocking token."""
    page = client.post(link, data={"date_of_birth": "12/03/1985"})
    assert page.status_code == 200, page.text
    action = re.search(r'action="([^"]+)"', page.text)[1].replace("&amp;", "&")
    token = re.search(r'name="unlock" value="([^"]+)"', page.text)[1]
    return action, token


FORM = {
    "income": "1 300",
    "income_period": "monthly",
    "housing": "650",
    "housing_period": "monthly",
    "bills": "1800",
    "bills_period": "yearly",
    "food": "250",
    "food_period": "monthly",
    "transport": "40",
    "transport_period": "monthly",
    "other_costs": "80",
    "other_costs_period": "monthly",
    "other_debts": "10",
    "other_debts_period": "monthly",
    "adults": "1",
    "children": "2",
}


def test_the_web_form_asks_for_the_date_of_birth_then_saves_the_figures_and_the_bot_uses_them(client, actions_headers, verified):
    link = page_link(client, actions_headers, verified)
    first = client.get(link)
    assert first.status_code == 200 and 'name="date_of_birth"' in first.text
    assert "Marie" not in first.text and "380" not in first.text
    assert "default-src 'none'" in first.headers["content-security-policy"]
    assert "<script" not in first.text and "http" not in first.text.split("<body>")[1]
    # Nothing typed on the page yet: the conversation asks its questions instead.
    assert bot(client, actions_headers, "POST", verified, "/budget/web").status_code == 404

    action, token = unlock(client, link)
    saved = client.post(action, data={**FORM, "unlock": token})
    assert saved.status_code == 200, saved.text
    assert "120,00" in saved.text and "60,00" in saved.text and "« oui »" in saved.text
    with session_scope() as session:
        budget = session.scalars(select(Budget)).one()
        assert (budget.source, budget.conversation_id, budget.bills_minor, budget.children) == ("web_form", verified, 15000, 2)

    outcome = bot(client, actions_headers, "POST", verified, "/budget/web").json()
    assert outcome["outcome"] == "plan" and outcome["budget"]["source"] == "web_form"


def test_figures_that_cannot_be_right_are_said_next_to_the_field_and_nothing_typed_is_lost(client, actions_headers, verified):
    link = page_link(client, actions_headers, verified)
    action, token = unlock(client, link)
    wrong = {**FORM, "food": "beaucoup", "transport": "9999999", "transport_period": "weekly", "children": "-1"}
    page = client.post(action, data={**wrong, "unlock": token})
    assert page.status_code == 422
    assert 'id="food-error"' in page.text and 'id="transport-error"' in page.text and 'id="children-error"' in page.text
    assert 'id="housing-error"' not in page.text
    # What was typed is still there, and the period chosen.
    assert 'value="beaucoup"' in page.text and 'value="1 300"' in page.text
    assert re.search(r'name="bills_period".*?<option value="yearly" selected>', page.text, re.S)
    with session_scope() as session:
        assert session.scalars(select(Budget)).all() == []


def test_the_figures_need_the_date_of_birth_confirmed(client, actions_headers, verified):
    link = page_link(client, actions_headers, verified)
    token = link.split("token=")[1]
    for unlock_token in ("", "forged", token):  # the link's own token does not unlock the form
        page = client.post(f"/budget/figures?token={token}", data={**FORM, "unlock": unlock_token})
        assert page.status_code == 403 and 'name="date_of_birth"' in page.text
    # Another conversation's unlocking does not open this one.
    other = new_conversation("other-session")
    verify(client, actions_headers, other, date_of_birth="1985-03-12")
    _, other_unlock = unlock(client, page_link(client, actions_headers, other))
    assert client.post(f"/budget/figures?token={token}", data={**FORM, "unlock": other_unlock}).status_code == 403
    with session_scope() as session:
        assert session.scalars(select(Budget)).all() == []


def test_wrong_dates_of_birth_on_the_budget_page_count_towards_the_references_lock(
    client, actions_headers, creditor_headers, verified
):
    link = page_link(client, actions_headers, verified)
    for day in range(1, get_settings().verification_max_failures_per_reference + 1):
        refused = client.post(link, data={"date_of_birth": f"1970-01-{day:02d}"})
        assert refused.status_code == 403 and 'name="unlock"' not in refused.text
    assert client.post(link, data={"date_of_birth": "1985-03-12"}).status_code == 403
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["verification_locked"] is True


def test_a_forged_or_altered_link_opens_nothing(client):
    assert client.get("/budget?token=forged").status_code == 403
    assert client.post("/budget?token=forged", data={"date_of_birth": "1985-03-12"}).status_code == 403


def test_the_page_speaks_english_to_an_english_debtor(client, actions_headers):
    conversation_id = new_conversation("sarah")
    verify_en = bot(
        client, actions_headers, "POST", conversation_id, "/verify", {"reference": "CR-20001", "date_of_birth": "1990-05-04"}
    )
    assert verify_en.json()["status"] == "verified"
    page = client.get(page_link(client, actions_headers, conversation_id))
    assert 'lang="en"' in page.text and "date of birth" in page.text


# --- what the agent reads ------------------------------------------------------------------------------------


def test_the_agent_reads_the_budget_in_the_handoff_and_in_the_account_panel(client, actions_headers, creditor_headers, verified):
    set_hours(client, creditor_headers, ALWAYS_OPEN)
    new_agent("budget@agency.example", "Bea")
    headers = sign_in(client, "budget@agency.example")
    bot(client, actions_headers, "POST", verified, "/budget", BELOW)
    (queued,) = client.get("/console/api/queue", headers=headers).json()["handoffs"]
    assert queued["reason"] == "affordability"
    assert queued["summary"]["budget"]["affordable_text"] == "10,00\u00a0€"
    view = client.get(f"/console/api/conversations/{verified}", headers=headers).json()
    (budget,) = view["account"]["budgets"]
    assert budget["income_text"] == "1\u202f300,00\u00a0€" and budget["other_debts_text"] == "110,00\u00a0€"
    assert budget["disposable_text"] == "20,00\u00a0€" and budget["source"] == "chat"
