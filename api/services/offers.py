"""Offers a debtor can be given under the creditor's negotiation policy: payment schedules, checks of what the
debtor proposed, and the closest acceptable counter-offer. Pure functions over integer minor units; no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Frequency = Literal["weekly", "biweekly", "monthly"]
OfferKind = Literal["instalments", "deferral", "full", "settlement"]

# When the debtor names no date for a first instalment, a week gives them time to organise it.
DEFAULT_FIRST_PAYMENT_DAYS = 7
# A settlement discount rewards paying now, so the reduced amount must be paid within a week.
SETTLEMENT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Policy:
    max_deferral_days: int = 30  # a single full payment may be deferred up to N days from today
    min_instalments: int = 2
    max_instalments: int = 12
    min_instalment_minor: int = 2000  # minimum amount of each instalment but the last
    max_first_payment_days: int = 30  # first instalment no later than today + N days
    max_settlement_discount_pct: int = 0  # discount for paying the whole balance now (0-100)
    fee_waiver_allowed: bool = False

    def __post_init__(self) -> None:
        if self.max_deferral_days < 0 or self.max_first_payment_days < 0:
            raise ValueError("policy day limits cannot be negative")
        if not 1 <= self.min_instalments <= self.max_instalments:
            raise ValueError("policy needs 1 <= min_instalments <= max_instalments")
        if self.min_instalment_minor < 1:
            raise ValueError("policy min_instalment_minor must be at least 1 minor unit")
        if not 0 <= self.max_settlement_discount_pct <= 100:
            raise ValueError("policy max_settlement_discount_pct must be between 0 and 100")


@dataclass(frozen=True)
class Instalment:
    due_date: date
    amount_minor: int


@dataclass(frozen=True)
class Offer:
    kind: OfferKind
    currency: str
    total_minor: int  # what the debtor will pay in total (= sum of instalments)
    instalments: tuple[Instalment, ...]
    frequency: Frequency | None
    fees_waived_minor: int = 0
    discount_minor: int = 0


@dataclass(frozen=True)
class Proposal:
    """What the debtor asked for; a field left None takes a default within policy (see evaluate)."""

    kind: OfferKind
    instalment_amount_minor: int | None = None
    instalment_count: int | None = None
    first_due_date: date | None = None
    frequency: Frequency = "monthly"


@dataclass(frozen=True)
class Evaluation:
    accepted: bool  # True only when the proposal as asked is within policy
    offer: Offer  # the proposal itself when accepted, else the closest acceptable counter-offer
    reasons: tuple[str, ...]  # machine codes, empty when accepted


@dataclass(frozen=True)
class _Debt:
    currency: str
    due_minor: int
    fees_waived_minor: int


def amount_due(balance_minor: int, fees_minor: int, waive_fees: bool) -> int:
    if balance_minor < 0 or fees_minor < 0:
        raise ValueError("balance and fees cannot be negative")
    return balance_minor if waive_fees else balance_minor + fees_minor


def build_schedule(total_minor: int, count: int, first_due: date, frequency: Frequency) -> tuple[Instalment, ...]:
    """Split `total_minor` into `count` equal instalments, the remainder going on the last one."""
    if count < 1 or total_minor < count:
        raise ValueError(f"cannot split {total_minor} minor units into {count} positive instalments")
    regular, remainder = divmod(total_minor, count)
    amounts = [regular] * count
    amounts[-1] += remainder
    return _dated(amounts, first_due, frequency)


def schedule_for_instalment_amount(
    total_minor: int, instalment_minor: int, first_due: date, frequency: Frequency
) -> tuple[Instalment, ...]:
    """Instalments of `instalment_minor` until `total_minor` is paid; the last one is the (positive) rest."""
    if total_minor < 1 or instalment_minor < 1:
        raise ValueError("total and instalment amounts must be positive")
    count = _ceil_div(total_minor, instalment_minor)
    amounts = [instalment_minor] * count
    amounts[-1] = total_minor - instalment_minor * (count - 1)
    return _dated(amounts, first_due, frequency)


def evaluate(
    proposal: Proposal,
    *,
    balance_minor: int,
    fees_minor: int,
    currency: str,
    policy: Policy,
    today: date,
) -> Evaluation:
    """Accept the proposal if the policy allows it as asked, otherwise return the closest acceptable offer.

    Terms left out take defaults within policy and do not stop acceptance: a plan starts in 7 days (or at the
    latest allowed date) and has the most instalments the minimum amount allows; a deferral runs to the
    policy's limit; a full payment or settlement is due today. A debt smaller than min_instalments times the
    minimum amount is never accepted as a plan: it is countered with as many instalments as the minimum amount
    allows, down to a single payment (count 1), which is then below the policy's min_instalments.

    Reason codes: below_min_instalment, too_many_instalments, too_few_instalments, first_payment_too_late,
    date_in_past, deferral_too_long, amount_count_mismatch (an instalment amount and a count that do not
    add up to the amount due), settlement_not_allowed (countered with a full payment), discount_too_large
    (a settlement amount below what the policy's discount allows).
    """
    debt = _debt(balance_minor, fees_minor, currency, policy)
    evaluate_kind: dict[str, Callable[[Proposal, _Debt, Policy, date], tuple[Offer, list[str]]]] = {
        "instalments": _evaluate_instalments,
        "deferral": _evaluate_deferral,
        "full": _evaluate_full,
        "settlement": _evaluate_settlement,
    }
    offer, reasons = evaluate_kind[proposal.kind](proposal, debt, policy, today)
    return Evaluation(accepted=not reasons, offer=offer, reasons=tuple(reasons))


def default_options(*, balance_minor: int, fees_minor: int, currency: str, policy: Policy, today: date) -> list[Offer]:
    """What to offer first, most time first: a deferral to the policy's limit, the longest instalment plan the
    minimum amount allows, and a settlement when the policy grants a discount; fees waived where allowed.
    Falls back to a full payment today when the policy allows none of these."""

    def offer_for(kind: OfferKind) -> Offer:
        proposal = Proposal(kind=kind)
        return evaluate(
            proposal,
            balance_minor=balance_minor,
            fees_minor=fees_minor,
            currency=currency,
            policy=policy,
            today=today,
        ).offer

    options = []
    if policy.max_deferral_days > 0:
        options.append(offer_for("deferral"))
    plan = offer_for("instalments")
    if len(plan.instalments) > 1:  # a one-payment "plan" would only repeat the deferral
        options.append(plan)
    if policy.max_settlement_discount_pct > 0:
        options.append(offer_for("settlement"))
    return options or [offer_for("full")]


def as_asked(
    proposal: Proposal,
    *,
    balance_minor: int,
    fees_minor: int,
    currency: str,
    policy: Policy,
    today: date,
) -> Offer:
    """The proposal exactly as asked, beyond the policy's bounds: for a person who may grant more than the
    bot (the agent records why). Still refused: dates in the past, a plan with no terms, amounts that
    cannot be paid in positive instalments, and a settlement above what is due."""
    debt = _debt(balance_minor, fees_minor, currency, policy)
    first = proposal.first_due_date or today + timedelta(days=DEFAULT_FIRST_PAYMENT_DAYS)
    if first < today:
        raise ValueError("date_in_past")
    if proposal.kind == "instalments":
        if proposal.instalment_amount_minor:
            schedule = schedule_for_instalment_amount(debt.due_minor, proposal.instalment_amount_minor, first, proposal.frequency)
        elif proposal.instalment_count:
            schedule = build_schedule(debt.due_minor, proposal.instalment_count, first, proposal.frequency)
        else:
            raise ValueError("no_terms")
        return _plan(debt, schedule, proposal.frequency)
    if proposal.kind == "settlement":
        settled = proposal.instalment_amount_minor or debt.due_minor
        if not 1 <= settled <= debt.due_minor:
            raise ValueError("settlement_amount")
        return _single_payment("settlement", debt, first if proposal.first_due_date else today, debt.due_minor - settled)
    return _single_payment(proposal.kind, debt, first if proposal.first_due_date else today)


# --- one evaluation per kind of proposal -------------------------------------------------------------------


def _evaluate_instalments(proposal: Proposal, debt: _Debt, policy: Policy, today: date) -> tuple[Offer, list[str]]:
    latest_first = today + timedelta(days=policy.max_first_payment_days)
    asked_first = proposal.first_due_date or min(today + timedelta(days=DEFAULT_FIRST_PAYMENT_DAYS), latest_first)
    first_due, reasons = _clamp_date(asked_first, today, latest_first, too_late="first_payment_too_late")
    total, frequency = debt.due_minor, proposal.frequency
    most = _most_instalments(total, policy)

    if most < policy.min_instalments:
        # The amount due is too small for any plan the policy allows (it is below min_instalments times the
        # minimum amount): offer as many instalments as the minimum amount permits, down to a single payment.
        schedule = build_schedule(total, most, first_due, frequency)
        return _plan(debt, schedule, frequency), [*reasons, "below_min_instalment"]

    amount, count = proposal.instalment_amount_minor, proposal.instalment_count
    if amount is not None:
        schedule, term_reasons = _plan_for_amount(total, amount, count, first_due, frequency, policy)
    elif count is not None:
        schedule, term_reasons = _plan_for_count(total, count, most, first_due, frequency, policy)
    else:
        # No terms named: the longest plan the policy allows is the most helpful, and it is within policy.
        schedule, term_reasons = build_schedule(total, most, first_due, frequency), []
    return _plan(debt, schedule, frequency), reasons + term_reasons


def _evaluate_deferral(proposal: Proposal, debt: _Debt, policy: Policy, today: date) -> tuple[Offer, list[str]]:
    latest = today + timedelta(days=policy.max_deferral_days)
    due, reasons = _clamp_date(proposal.first_due_date or latest, today, latest, too_late="deferral_too_long")
    return _single_payment("deferral", debt, due), reasons


def _evaluate_full(proposal: Proposal, debt: _Debt, policy: Policy, today: date) -> tuple[Offer, list[str]]:
    latest = today + timedelta(days=policy.max_deferral_days)
    due, reasons = _clamp_date(proposal.first_due_date or today, today, latest, too_late="deferral_too_long")
    return _single_payment("full", debt, due), reasons


def _evaluate_settlement(proposal: Proposal, debt: _Debt, policy: Policy, today: date) -> tuple[Offer, list[str]]:
    if policy.max_settlement_discount_pct == 0:
        offer, reasons = _evaluate_full(proposal, debt, policy, today)
        return offer, ["settlement_not_allowed", *reasons]
    # The policy's whole discount is always offered: a smaller discount is never what a debtor asks for.
    # A settlement is still a payment (at least one minor unit): writing a debt off is the creditor's act.
    discount = min(debt.due_minor * policy.max_settlement_discount_pct // 100, debt.due_minor - 1)
    latest = today + timedelta(days=SETTLEMENT_WINDOW_DAYS)
    due, reasons = _clamp_date(proposal.first_due_date or today, today, latest, too_late="deferral_too_long")
    asked = proposal.instalment_amount_minor
    if asked is not None and asked < debt.due_minor - discount:
        reasons.append("discount_too_large")
    return _single_payment("settlement", debt, due, discount), reasons


# --- instalment terms ----------------------------------------------------------------------------------------


def _plan_for_amount(
    total: int,
    amount: int,
    count: int | None,
    first_due: date,
    frequency: Frequency,
    policy: Policy,
) -> tuple[tuple[Instalment, ...], list[str]]:
    """A plan driven by what the debtor can pay each time; their count, if any, must agree with it."""
    if amount < 1:
        reasons = ["below_min_instalment"]
    else:
        asked_count = _ceil_div(total, amount)
        reasons = _plan_reasons(asked_count, amount, policy)
        if count is not None and count != asked_count:
            reasons.append("amount_count_mismatch")
        if not reasons:
            return schedule_for_instalment_amount(total, amount, first_due, frequency), []

    # The smallest acceptable instalment at least as large as asked, raised further if it would take more
    # instalments than allowed.
    amount = max(amount, policy.min_instalment_minor, _ceil_div(total, policy.max_instalments))
    if _ceil_div(total, amount) >= policy.min_instalments:
        return schedule_for_instalment_amount(total, amount, first_due, frequency), reasons
    # That much each time would clear the debt in fewer instalments than allowed: use the fewest allowed.
    return build_schedule(total, policy.min_instalments, first_due, frequency), reasons


def _plan_for_count(
    total: int, count: int, most: int, first_due: date, frequency: Frequency, policy: Policy
) -> tuple[tuple[Instalment, ...], list[str]]:
    regular = total // count if count > 0 else 0
    reasons = _plan_reasons(count, regular, policy)
    allowed_count = min(max(count, policy.min_instalments), most)
    return build_schedule(total, allowed_count, first_due, frequency), reasons


def _plan_reasons(count: int, regular_amount: int, policy: Policy) -> list[str]:
    """Why `count` instalments of `regular_amount` (the last one taking the rest) would break the policy."""
    reasons = []
    if count > 1 and regular_amount < policy.min_instalment_minor:
        reasons.append("below_min_instalment")
    if count > policy.max_instalments:
        reasons.append("too_many_instalments")
    if count < policy.min_instalments:
        reasons.append("too_few_instalments")
    return reasons


def _most_instalments(total: int, policy: Policy) -> int:
    """The largest count whose equal instalments respect the minimum amount (1, a single payment, at worst)."""
    return min(policy.max_instalments, max(1, total // policy.min_instalment_minor))


# --- small helpers --------------------------------------------------------------------------------------------


def _debt(balance_minor: int, fees_minor: int, currency: str, policy: Policy) -> _Debt:
    due = amount_due(balance_minor, fees_minor, policy.fee_waiver_allowed)
    if due < 1:
        raise ValueError("nothing is due on this account")
    waived = fees_minor if policy.fee_waiver_allowed else 0
    return _Debt(currency=currency, due_minor=due, fees_waived_minor=waived)


def _plan(debt: _Debt, schedule: tuple[Instalment, ...], frequency: Frequency) -> Offer:
    return Offer(
        kind="instalments",
        currency=debt.currency,
        total_minor=debt.due_minor,
        instalments=schedule,
        frequency=frequency,
        fees_waived_minor=debt.fees_waived_minor,
    )


def _single_payment(kind: OfferKind, debt: _Debt, due: date, discount_minor: int = 0) -> Offer:
    total = debt.due_minor - discount_minor
    return Offer(
        kind=kind,
        currency=debt.currency,
        total_minor=total,
        instalments=(Instalment(due, total),),
        frequency=None,
        fees_waived_minor=debt.fees_waived_minor,
        discount_minor=discount_minor,
    )


def _clamp_date(asked: date, earliest: date, latest: date, *, too_late: str) -> tuple[date, list[str]]:
    if asked < earliest:
        return earliest, ["date_in_past"]
    if asked > latest:
        return latest, [too_late]
    return asked, []


def _dated(amounts: list[int], first_due: date, frequency: Frequency) -> tuple[Instalment, ...]:
    return tuple(Instalment(nth_due_date(first_due, index, frequency), amount) for index, amount in enumerate(amounts))


def nth_due_date(first_due: date, index: int, frequency: Frequency) -> date:
    if frequency == "weekly":
        return first_due + timedelta(weeks=index)
    if frequency == "biweekly":
        return first_due + timedelta(weeks=2 * index)
    if frequency == "monthly":
        return _add_months(first_due, index)
    raise ValueError(f"unknown frequency {frequency!r}")


def _add_months(start: date, months: int) -> date:
    # Always from the first due date, so 31 Jan -> 28/29 Feb -> 31 Mar rather than drifting to the 28th.
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(start.day, last_day))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
