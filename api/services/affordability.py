"""Affordability: a debtor's income and expenditure, and the plan it allows within the creditor's policy.

The statement follows the UK Standard Financial Statement's groups, kept to seven monthly totals (income,
housing, bills, food and housekeeping, transport, other costs, payments to other debts; docs/affordability.md
gives the mapping). Every amount is read with its period and kept per month in integer minor units:

    monthly = round(amount × periods a year / 12), half up, in integers: weekly ×52/12, fortnightly ×26/12,
    yearly /12, monthly as it is.

What is left each month (`disposable`) is the income less every cost; the instalment suggested is the
creditor's `affordable_share_pct` of it (50 % by default: the rest is the debtor's margin for the unexpected),
rounded down to a whole unit of the currency. That instalment is then offered through the usual evaluation
(`arrangements.evaluate_proposal`, as `POST …/offers` does), so the debtor sees the usual summary, agrees and
gets the written confirmation. When even the policy's smallest instalment, or its longest plan, is beyond
what the budget allows, nothing is pushed: a deferral is offered where the policy allows one, and a person is
asked to look at the budget with the debtor (handoff reason `affordability`, the budget in its summary).

The figures are personal data: never logged nor audited (only that a budget was given, and its outcome).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import Account, Budget, Conversation, NegotiationPolicy
from api.services import arrangements, handoffs, money, offers, signing
from api.services.audit import audit
from api.services.errors import InvalidAmount, NotFound
from api.services.presentation import debtor_today, offer_view
from api.services.records import require_account
from api.states import BudgetPeriod, BudgetSource, HandoffReason

# The statement's groups, in the order they are asked; the first is what comes in, the others go out.
GROUPS = ("income", "housing", "bills", "food", "transport", "other_costs", "other_debts")
COST_GROUPS = GROUPS[1:]
PERIODS_PER_YEAR = {BudgetPeriod.WEEKLY: 52, BudgetPeriod.BIWEEKLY: 26, BudgetPeriod.MONTHLY: 12, BudgetPeriod.YEARLY: 1}
# No one figure of a debtor's budget comes near a million (of a two-decimal currency) a month: a typing slip.
MAX_MONTHLY_MINOR = 10**8
DEFAULT_SHARE_PCT = 50
# Digits, then a decimal part after a comma or a dot (spaces between thousands are taken out first).
_TYPED_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")
MAX_HOUSEHOLD = 20


# -------------------------------------------------------------------------------------------------------
# Pure arithmetic
# -------------------------------------------------------------------------------------------------------


def to_monthly(amount_minor: int, period: str) -> int:
    """`amount_minor` received or paid every `period`, per month: ×periods a year / 12, rounded half up (integers
    only). InvalidAmount when negative or beyond any budget's figure."""
    if amount_minor < 0:
        raise InvalidAmount("an amount in a budget cannot be negative")
    monthly = (amount_minor * PERIODS_PER_YEAR[BudgetPeriod(period)] + 6) // 12
    if monthly > MAX_MONTHLY_MINOR:
        raise InvalidAmount("this amount is beyond any budget's figure: check it")
    return monthly


@dataclass(frozen=True)
class Figures:
    """A budget's seven monthly totals, in minor units."""

    income: int
    housing: int
    bills: int
    food: int
    transport: int
    other_costs: int
    other_debts: int

    def __post_init__(self) -> None:
        for group in GROUPS:
            value = getattr(self, group)
            if not 0 <= value <= MAX_MONTHLY_MINOR:
                raise InvalidAmount(f"{group} must be between 0 and {MAX_MONTHLY_MINOR} minor units a month")

    @property
    def costs(self) -> int:
        return sum(getattr(self, group) for group in COST_GROUPS)

    @property
    def disposable(self) -> int:
        """What is left each month once every cost is paid (negative when costs are higher than income)."""
        return self.income - self.costs


def affordable_instalment(disposable_minor: int, share_pct: int, currency: str) -> int:
    """The instalment suggested: `share_pct` % of what is left, rounded down to a whole unit of the currency
    (never more than the share; 0 when nothing is left)."""
    if not 1 <= share_pct <= 100:
        raise ValueError("the share must be between 1 and 100 %")
    if disposable_minor <= 0:
        return 0
    unit = 10 ** get_currency_precision(currency)
    return disposable_minor * share_pct // 100 // unit * unit


@dataclass(frozen=True)
class Decision:
    """What the budget allows under the policy: a plan to propose, or why not (then no plan is pushed)."""

    proposal: offers.Proposal | None
    # nothing_left | below_min_instalment | too_many_instalments (when `proposal` is None)
    reason: str | None = None

    @property
    def within_budget(self) -> bool:
        return self.proposal is not None


def decide(
    affordable_minor: int,
    *,
    balance_minor: int,
    fees_minor: int,
    currency: str,
    policy: offers.Policy,
    today: dt.date,
) -> Decision:
    """The plan the budget allows within the policy: instalments of the affordable amount when they reach the
    policy's minimum and clear the debt within its longest plan (the fewest instalments the policy allows,
    each smaller, when the budget would clear it sooner); otherwise no plan, and why."""
    due = offers.amount_due(balance_minor, fees_minor, policy.fee_waiver_allowed)
    if affordable_minor <= 0:
        return Decision(None, "nothing_left")
    needed = -(-due // affordable_minor)
    if needed > 1 and affordable_minor < policy.min_instalment_minor:
        return Decision(None, "below_min_instalment")
    if needed > policy.max_instalments:
        return Decision(None, "too_many_instalments")
    if needed >= policy.min_instalments:
        proposal = offers.Proposal(kind="instalments", instalment_amount_minor=affordable_minor)
    else:
        proposal = offers.Proposal(kind="instalments", instalment_count=policy.min_instalments)
    # The offer the policy makes of it must stay within the budget (a small debt may be countered as one payment).
    evaluation = offers.evaluate(
        proposal, balance_minor=balance_minor, fees_minor=fees_minor, currency=currency, policy=policy, today=today
    )
    if max(i.amount_minor for i in evaluation.offer.instalments) > affordable_minor:
        return Decision(None, "below_min_instalment")
    return Decision(proposal)


def read_amount(text: str, currency: str) -> int:
    """An amount typed in the web form ("1 250", "1250,50", "0") as minor units; InvalidAmount otherwise."""
    cleaned = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not _TYPED_AMOUNT.fullmatch(cleaned):
        raise InvalidAmount("an amount in figures, e.g. 450 or 450,50")
    if not cleaned.replace(",", "").replace(".", "").strip("0"):
        return 0
    return money.minor_units(cleaned, currency)


# -------------------------------------------------------------------------------------------------------
# Recording and reading
# -------------------------------------------------------------------------------------------------------


def share_of(session: Session, account: Account) -> int:
    """The creditor's share of what is left suggested as the instalment."""
    policy = session.scalar(select(NegotiationPolicy).where(NegotiationPolicy.creditor_id == account.creditor_id))
    return policy.affordable_share_pct if policy is not None else DEFAULT_SHARE_PCT


def record(
    session: Session,
    account: Account,
    conversation: Conversation | None,
    figures: Figures,
    *,
    source: BudgetSource,
    adults: int | None = None,
    children: int | None = None,
) -> Budget:
    """Stores a completed statement with what it leaves and the instalment it suggests."""
    for count in (adults, children):
        if count is not None and not 0 <= count <= MAX_HOUSEHOLD:
            raise InvalidAmount(f"a household counts between 0 and {MAX_HOUSEHOLD} people of each kind")
    share = share_of(session, account)
    budget = Budget(
        account_id=account.id,
        conversation_id=conversation.id if conversation is not None else None,
        source=source,
        currency=account.currency,
        **{f"{group}_minor": getattr(figures, group) for group in GROUPS},
        adults=adults,
        children=children,
        disposable_minor=figures.disposable,
        affordable_minor=affordable_instalment(figures.disposable, share, account.currency),
        share_pct=share,
    )
    session.add(budget)
    session.flush()
    # What was given, never how much: the audit log outlives an erasure.
    audit(session, "debtor", "budget_recorded", "budget", budget.id, account=account.reference, source=str(source))
    return budget


def figures_of(budget: Budget) -> Figures:
    return Figures(**{group: getattr(budget, f"{group}_minor") for group in GROUPS})


def budgets_of(session: Session, account: Account) -> list[Budget]:
    """The account's budgets, the latest first (the latest is the one that applies)."""
    return list(session.scalars(select(Budget).where(Budget.account_id == account.id).order_by(Budget.id.desc())))


def latest_from_web_form(session: Session, conversation: Conversation) -> Budget | None:
    """The latest budget typed on the page this conversation's link opened."""
    return session.scalar(
        select(Budget)
        .where(Budget.conversation_id == conversation.id, Budget.source == BudgetSource.WEB_FORM)
        .order_by(Budget.id.desc())
        .limit(1)
    )


def budget_view(budget: Budget, language: str) -> dict[str, Any]:
    """A budget as the debtor and the agent read it: every figure per month, formatted."""

    def money_text(minor: int) -> str:
        return i18n.format_money(minor, budget.currency, language)

    costs = figures_of(budget).costs
    return {
        "id": budget.id,
        "source": budget.source,
        "currency": budget.currency,
        "created_at": budget.created_at.isoformat(),
        "conversation_id": budget.conversation_id,
        **{f"{group}_minor": getattr(budget, f"{group}_minor") for group in GROUPS},
        **{f"{group}_text": money_text(getattr(budget, f"{group}_minor")) for group in GROUPS},
        "costs_minor": costs,
        "costs_text": money_text(costs),
        "adults": budget.adults,
        "children": budget.children,
        "disposable_minor": budget.disposable_minor,
        "disposable_text": money_text(budget.disposable_minor),
        "affordable_minor": budget.affordable_minor,
        "affordable_text": money_text(budget.affordable_minor),
        "share_pct": budget.share_pct,
    }


def handoff_summary(budget: Budget, language: str, min_instalment_text: str) -> dict[str, Any]:
    """What the agent reads first in the handoff: the totals, and the policy's minimum they fall short of."""
    view = budget_view(budget, language)
    keys = ("source", "created_at", "income_text", "costs_text", "disposable_text", "affordable_text", "share_pct")
    return {**{key: view[key] for key in keys}, "min_instalment_text": min_instalment_text}


# -------------------------------------------------------------------------------------------------------
# Acting on a budget in the conversation
# -------------------------------------------------------------------------------------------------------


def act_on(session: Session, conversation: Conversation, budget: Budget) -> dict[str, Any]:
    """What the budget leads to in the conversation: the plan it allows, summarised for agreement (`plan`) or,
    when the policy counters it, as a counter-offer (`counter`); or, below the policy's minimum, a deferral
    where the policy allows one and a person to look at it (`below_minimum`). CollectionPaused / UnderCare
    when nothing may be arranged now."""
    account, policy = arrangements.collectable(session, conversation)
    language = conversation.language or account.language
    today = debtor_today(account)
    decision = decide(
        budget.affordable_minor,
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        currency=account.currency,
        policy=policy,
        today=today,
    )
    min_instalment_text = i18n.format_money(policy.min_instalment_minor, account.currency, language)
    answer: dict[str, Any] = {
        "budget": budget_view(budget, language),
        "min_instalment_text": min_instalment_text,
        "account_reference": account.reference,
    }
    if decision.proposal is not None:
        row, accepted = arrangements.evaluate_proposal(session, conversation, decision.proposal)
        if accepted:
            row = arrangements.summarise_offer(session, conversation, row.id)
        answer.update(outcome="plan" if accepted else "counter", offer=offer_view(row, language))
    else:
        deferral = arrangements.offer_deferral(session, conversation) if policy.max_deferral_days > 0 else None
        handoff, team = handoffs.request_handoff(session, conversation, HandoffReason.AFFORDABILITY)
        handoff.summary = {**(handoff.summary or {}), "budget": handoff_summary(budget, language, min_instalment_text)}
        answer.update(
            outcome="below_minimum",
            reason=decision.reason,
            handoff={"id": handoff.id, "priority": handoff.priority, **handoffs.debtor_view(team, conversation)},
        )
        if deferral is not None:
            answer["deferral"] = offer_view(deferral, language)
    audit(session, "bot", "budget_assessed", "budget", budget.id, account=account.reference, outcome=answer["outcome"])
    return answer


def record_from_chat(
    session: Session, conversation: Conversation, amounts: dict[str, tuple[int, str]], adults: int | None, children: int | None
) -> dict[str, Any]:
    """The statement the debtor gave in the conversation (`amounts`: group → amount and period), stored, then
    acted on. Nothing is stored when nothing may be arranged now."""
    account = require_account(conversation)
    arrangements.collectable(session, conversation)
    figures = Figures(**{group: to_monthly(*amounts[group]) for group in GROUPS})
    budget = record(session, account, conversation, figures, source=BudgetSource.CHAT, adults=adults, children=children)
    return act_on(session, conversation, budget)


def act_on_web_form(session: Session, conversation: Conversation) -> dict[str, Any]:
    """The debtor is back from the web form: the budget typed there is acted on (NotFound when none yet)."""
    require_account(conversation)
    budget = latest_from_web_form(session, conversation)
    if budget is None:
        raise NotFound()
    return act_on(session, conversation, budget)


def link(conversation: Conversation, settings: Settings) -> dict[str, str]:
    """The web form's signed link for this verified conversation, and the currency its figures are in."""
    account = require_account(conversation)
    return {"budget_url": signing.budget_url(conversation.id, settings), "currency": account.currency}
