"""Affordability (api/services/affordability.py): amounts per period made monthly in integers, what a budget leaves
and the instalment it suggests, the plan it allows within the policy (or none, and why), and the budget as
personal data: exported with the rest, erased with the rest, never in the audit log."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from api.db import session_scope
from api.models import Account, AuditEntry, Budget, Conversation
from api.services import affordability, offers
from api.services.affordability import Figures, affordable_instalment, decide, to_monthly
from api.services.errors import InvalidAmount
from api.states import BudgetSource

TODAY = dt.date(2026, 12, 3)
# The demo creditor's policy (api/cli.py): 2 to 10 instalments of at least 50.00, fees waived, 30 days' deferral.
DEMO = offers.Policy(min_instalments=2, max_instalments=10, min_instalment_minor=5000, fee_waiver_allowed=True)


# --- periods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "period", "monthly"),
    [
        (120000, "monthly", 120000),  # as it is
        (30000, "weekly", 130000),  # 300 a week: 300 × 52 / 12 = 1 300
        (10000, "weekly", 43333),  # 100 a week: 433.333… → 433.33
        (5000, "weekly", 21667),  # 50 a week: 216.666… → 216.67 (half up)
        (60000, "biweekly", 130000),  # 600 a fortnight: 600 × 26 / 12 = 1 300
        (1800000, "yearly", 150000),  # 18 000 a year: 1 500 a month
        (100, "yearly", 8),  # 1.00 a year: 0.0833… → 0.08
        (6, "yearly", 1),  # 0.06 a year: 0.005 → 0.01 (half up)
        (0, "weekly", 0),
    ],
)
def test_an_amount_and_its_period_become_monthly_minor_units(amount, period, monthly):
    assert to_monthly(amount, period) == monthly


@given(st.integers(min_value=0, max_value=10**7), st.sampled_from(["weekly", "biweekly", "monthly", "yearly"]))
def test_monthly_is_the_exact_value_rounded_half_up_with_no_float(amount, period):
    per_year = {"weekly": 52, "biweekly": 26, "monthly": 12, "yearly": 1}[period]
    monthly = to_monthly(amount, period)
    assert isinstance(monthly, int)
    # |monthly - exact| <= 1/2, i.e. |12 × monthly - amount × periods| <= 6, and a half rounds up.
    assert -6 < 12 * monthly - amount * per_year <= 6


def test_negative_or_impossible_amounts_are_refused():
    with pytest.raises(InvalidAmount):
        to_monthly(-1, "monthly")
    with pytest.raises(InvalidAmount):
        to_monthly(10**8 + 1, "monthly")
    with pytest.raises(InvalidAmount):
        to_monthly(3 * 10**7, "weekly")  # 300 000 a week: 1.3 million a month
    with pytest.raises(InvalidAmount):
        Figures(income=-5, housing=0, bills=0, food=0, transport=0, other_costs=0, other_debts=0)


@pytest.mark.parametrize(
    ("text", "minor"),
    [("1250", 125000), ("1 250,50", 125050), ("450.5", 45050), ("0", 0), ("0,00", 0), (" 80 ", 8000)],
)
def test_web_form_amounts_are_read_exactly(text, minor):
    assert affordability.read_amount(text, "EUR") == minor


@pytest.mark.parametrize("text", ["", "abc", "-20", "12,345", "1e3", "€"])
def test_web_form_amounts_that_are_not_amounts_are_refused(text):
    with pytest.raises(InvalidAmount):
        affordability.read_amount(text, "EUR")


# --- what is left, and the instalment suggested -----------------------------------------------------------------


def figures(income: int, *costs: int) -> Figures:
    padded = [*costs, 0, 0, 0, 0, 0, 0][:6]
    return Figures(income, *padded)


def test_what_is_left_is_income_less_every_cost():
    budget = Figures(income=150000, housing=60000, bills=15000, food=30000, transport=8000, other_costs=12000, other_debts=5000)
    assert budget.costs == 130000
    assert budget.disposable == 20000


def test_costs_above_income_leave_a_negative_amount_and_suggest_nothing():
    budget = figures(100000, 80000, 30000)
    assert budget.disposable == -10000
    assert affordable_instalment(budget.disposable, 50, "EUR") == 0


@pytest.mark.parametrize(
    ("disposable", "share", "currency", "affordable"),
    [
        (20000, 50, "EUR", 10000),  # half of 200.00
        (9567, 50, "EUR", 4700),  # half of 95.67 is 47.835: rounded down to 47.00
        (9567, 100, "EUR", 9500),
        (20000, 30, "GBP", 6000),
        (199, 50, "EUR", 0),  # 0.99: less than a whole euro
        (1999, 50, "JPY", 999),  # no decimals in yen: a whole unit is 1
    ],
)
def test_the_suggested_instalment_is_the_share_rounded_down_to_a_whole_unit(disposable, share, currency, affordable):
    assert affordable_instalment(disposable, share, currency) == affordable


@given(st.integers(min_value=-(10**8), max_value=10**8), st.integers(min_value=1, max_value=100))
def test_the_suggestion_never_exceeds_the_share_of_what_is_left(disposable, share):
    suggested = affordable_instalment(disposable, share, "EUR")
    assert 0 <= suggested <= max(0, disposable) * share / 100
    assert suggested % 100 == 0


# --- the plan it allows ------------------------------------------------------------------------------------------


def decision(affordable: int, policy: offers.Policy = DEMO, balance: int = 38000, fees: int = 2000):
    return decide(affordable, balance_minor=balance, fees_minor=fees, currency="EUR", policy=policy, today=TODAY)


def test_an_affordable_amount_within_the_policy_becomes_a_plan_of_that_amount():
    # 380.00 due (fees waived) at 60.00 a month: 7 instalments, within 2 to 10.
    result = decision(6000)
    assert result.within_budget and result.proposal == offers.Proposal(kind="instalments", instalment_amount_minor=6000)
    evaluation = offers.evaluate(result.proposal, balance_minor=38000, fees_minor=2000, currency="EUR", policy=DEMO, today=TODAY)
    assert evaluation.accepted
    assert [i.amount_minor for i in evaluation.offer.instalments] == [6000] * 6 + [2000]


def test_a_budget_that_would_clear_the_debt_sooner_gets_the_fewest_instalments_the_policy_allows():
    result = decision(50000)  # more than the whole debt each month
    assert result.proposal == offers.Proposal(kind="instalments", instalment_count=2)


@pytest.mark.parametrize(
    ("affordable", "reason"),
    [
        (0, "nothing_left"),
        (1000, "below_min_instalment"),  # 10.00 a month: below the 50.00 minimum
        (4900, "below_min_instalment"),
    ],
)
def test_below_the_policys_minimum_no_plan_is_proposed(affordable, reason):
    result = decision(affordable)
    assert not result.within_budget and result.reason == reason


def test_a_plan_longer_than_the_policy_allows_is_not_proposed():
    # 1 250.00 at 100.00 a month is 13 instalments: the policy stops at 10.
    result = decision(10000, balance=125000, fees=0)
    assert (result.within_budget, result.reason) == (False, "too_many_instalments")


def test_a_small_debt_the_policy_wants_in_one_payment_beyond_the_budget_is_not_proposed():
    # 80.00 due: the policy cannot split it into two of at least 50.00, and one payment of 80.00 is beyond 60.00.
    result = decision(6000, balance=8000, fees=0)
    assert not result.within_budget


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=100, max_value=10**7),
    st.integers(min_value=1, max_value=24),
    st.integers(min_value=100, max_value=20000),
)
def test_a_plan_proposed_is_within_the_policy_and_the_budget(affordable, balance, max_instalments, min_amount):
    policy = offers.Policy(min_instalments=1, max_instalments=max_instalments, min_instalment_minor=min_amount)
    result = decide(affordable, balance_minor=balance, fees_minor=0, currency="EUR", policy=policy, today=TODAY)
    if result.proposal is None:
        return
    evaluation = offers.evaluate(result.proposal, balance_minor=balance, fees_minor=0, currency="EUR", policy=policy, today=TODAY)
    assert evaluation.accepted
    assert max(i.amount_minor for i in evaluation.offer.instalments) <= affordable


# --- recorded, acted on, exported and erased ------------------------------------------------------------------


def verified_conversation(client, actions_headers, reference="CR-10001", date_of_birth="1985-03-12") -> str:
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == reference))
        conversation = Conversation(creditor_id=account.creditor_id, channel="webchat", channel_address=f"budget-{reference}")
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
    answer = client.post(
        f"/internal/v1/conversations/{conversation_id}/verify",
        json={"reference": reference, "date_of_birth": date_of_birth},
        headers=actions_headers,
    )
    assert answer.json()["status"] == "verified"
    return conversation_id


def record(conversation_id: str, budget: Figures, source=BudgetSource.CHAT) -> int:
    with session_scope() as session:
        conversation = session.get_one(Conversation, conversation_id)
        return affordability.record(session, conversation.account, conversation, budget, source=source, adults=1, children=2).id


def test_a_recorded_budget_keeps_the_totals_what_is_left_and_the_share_used(client, actions_headers):
    conversation_id = verified_conversation(client, actions_headers)
    budget_id = record(conversation_id, Figures(150000, 60000, 15000, 30000, 8000, 12000, 5000))
    with session_scope() as session:
        budget = session.get_one(Budget, budget_id)
        assert (budget.disposable_minor, budget.affordable_minor, budget.share_pct) == (20000, 10000, 50)
        assert (budget.currency, budget.source, budget.adults, budget.children) == ("EUR", "chat", 1, 2)
        # Only that a budget was given reaches the audit log: never its figures.
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "budget")).all()
        assert [e.action for e in entries] == ["budget_recorded"]
        assert "150000" not in json.dumps([e.detail for e in entries])


def test_the_creditors_share_is_the_one_used(client, actions_headers, creditor_headers):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    assert policy["affordable_share_pct"] == 50
    policy.pop("updated_at")
    assert client.put("/api/v1/policy", json={**policy, "affordable_share_pct": 30}, headers=creditor_headers).status_code == 200
    assert client.get("/api/v1/policy", headers=creditor_headers).json()["affordable_share_pct"] == 30
    conversation_id = verified_conversation(client, actions_headers)
    budget_id = record(conversation_id, figures(150000, 130000))  # 200.00 left
    with session_scope() as session:
        budget = session.get_one(Budget, budget_id)
        assert (budget.affordable_minor, budget.share_pct) == (6000, 30)


@pytest.mark.parametrize("share", [0, 101])
def test_a_share_outside_1_to_100_is_refused(client, creditor_headers, share):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    policy.pop("updated_at")
    assert (
        client.put("/api/v1/policy", json={**policy, "affordable_share_pct": share}, headers=creditor_headers).status_code == 422
    )


def test_the_budget_is_in_the_data_export_and_erased_with_the_rest(client, actions_headers, creditor_headers):
    conversation_id = verified_conversation(client, actions_headers)
    record(conversation_id, Figures(987654, 60000, 15000, 30000, 8000, 12000, 5000), source=BudgetSource.WEB_FORM)
    access = client.post("/api/v1/accounts/CR-10001/data-requests", json={"kind": "access"}, headers=creditor_headers).json()
    export = client.get(access["export_json_url"].replace("http://testserver", ""), headers=creditor_headers)
    (exported,) = json.loads(export.content)["budgets"]
    assert (exported["income_minor"], exported["source"], exported["conversation_id"]) == (987654, "web_form", conversation_id)
    pdf = client.get(access["export_pdf_url"].replace("http://testserver", ""), headers=creditor_headers)
    assert pdf.content.startswith(b"%PDF")

    erasure = client.post("/api/v1/accounts/CR-10001/data-requests", json={"kind": "erasure"}, headers=creditor_headers)
    assert erasure.json()["outcome"]["erased"]["budgets"] == 1
    with session_scope() as session:
        assert session.scalars(select(Budget)).all() == []
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["budgets"] == []
