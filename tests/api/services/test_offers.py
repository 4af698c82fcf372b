"""Offers stay within the creditor's policy, add up to the cent, and counter-offer the closest acceptable plan."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.services.offers import (
    DEFAULT_FIRST_PAYMENT_DAYS,
    SETTLEMENT_WINDOW_DAYS,
    Instalment,
    Offer,
    Policy,
    Proposal,
    amount_due,
    build_schedule,
    default_options,
    evaluate,
    schedule_for_instalment_amount,
)

TODAY = date(2026, 3, 10)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- strategies ----------------------------------------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    min_count = draw(st.integers(1, 6))
    return Policy(
        max_deferral_days=draw(st.integers(0, 90)),
        min_instalments=min_count,
        max_instalments=draw(st.integers(min_count, 36)),
        min_instalment_minor=draw(st.integers(1, 20_000)),
        max_first_payment_days=draw(st.integers(0, 60)),
        max_settlement_discount_pct=draw(st.sampled_from([0, 0, 1, 10, 33, 50, 99, 100])),
        fee_waiver_allowed=draw(st.booleans()),
    )


todays = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
balances = st.integers(1, 5_000_000)
fees = st.integers(0, 50_000)
frequencies = st.sampled_from(["weekly", "biweekly", "monthly"])


@st.composite
def proposals(draw: st.DrawFn, today: date) -> Proposal:
    offset = draw(st.none() | st.integers(-60, 120))
    return Proposal(
        kind=draw(st.sampled_from(["instalments", "deferral", "full", "settlement"])),
        instalment_amount_minor=draw(st.none() | st.integers(-100, 2_000_000)),
        instalment_count=draw(st.none() | st.integers(-2, 48)),
        first_due_date=None if offset is None else today + timedelta(days=offset),
        frequency=draw(frequencies),
    )


# --- what every offer must satisfy -------------------------------------------------------------------------


def assert_offer_within_policy(offer: Offer, *, balance: int, fees_: int, policy: Policy, today: date) -> None:
    due = amount_due(balance, fees_, policy.fee_waiver_allowed)
    amounts = [i.amount_minor for i in offer.instalments]
    dates = [i.due_date for i in offer.instalments]

    assert offer.currency == "EUR"
    assert sum(amounts) == offer.total_minor == due - offer.discount_minor
    assert offer.fees_waived_minor == (fees_ if policy.fee_waiver_allowed else 0)
    assert all(a > 0 for a in amounts)
    assert all(earlier < later for earlier, later in zip(dates, dates[1:]))
    assert dates[0] >= today

    if offer.kind == "instalments":
        assert offer.discount_minor == 0
        assert all(a >= policy.min_instalment_minor for a in amounts[:-1])
        assert len(amounts) <= policy.max_instalments
        # Fewer than the minimum count only when the amount due cannot make a plan the policy allows.
        if due >= policy.min_instalments * policy.min_instalment_minor:
            assert len(amounts) >= policy.min_instalments
        assert dates[0] <= today + timedelta(days=policy.max_first_payment_days)
    else:
        assert len(amounts) == 1 and offer.frequency is None
        if offer.kind == "settlement":
            assert policy.max_settlement_discount_pct > 0
            assert offer.discount_minor == min(due * policy.max_settlement_discount_pct // 100, due - 1)
            assert dates[0] <= today + timedelta(days=SETTLEMENT_WINDOW_DAYS)
        else:
            assert offer.discount_minor == 0
            assert dates[0] <= today + timedelta(days=policy.max_deferral_days)


def is_within_policy(proposal: Proposal, *, due: int, policy: Policy, today: date) -> bool:
    """An independent statement of the policy, to check evaluate() against."""
    asked = proposal.first_due_date
    if proposal.kind == "instalments":
        if asked is not None and not today <= asked <= today + timedelta(days=policy.max_first_payment_days):
            return False
        if policy.min_instalments > 1 and due < policy.min_instalments * policy.min_instalment_minor:
            return False  # too small for any plan the policy allows
        amount, count = proposal.instalment_amount_minor, proposal.instalment_count
        if amount is not None:
            if amount < 1:
                return False
            n = _ceil_div(due, amount)
            return (
                policy.min_instalments <= n <= policy.max_instalments
                and (n == 1 or amount >= policy.min_instalment_minor)
                and count in (None, n)
            )
        if count is not None:
            return policy.min_instalments <= count <= policy.max_instalments and (
                count == 1 or due // count >= policy.min_instalment_minor
            )
        return True
    if proposal.kind in ("deferral", "full"):
        return asked is None or today <= asked <= today + timedelta(days=policy.max_deferral_days)
    # settlement
    if policy.max_settlement_discount_pct == 0:
        return False
    if asked is not None and not today <= asked <= today + timedelta(days=SETTLEMENT_WINDOW_DAYS):
        return False
    discount = min(due * policy.max_settlement_discount_pct // 100, due - 1)
    return proposal.instalment_amount_minor is None or proposal.instalment_amount_minor >= due - discount


# --- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=400)
@given(data=st.data(), policy=policies(), balance=balances, fees_=fees, today=todays)
def test_every_evaluation_is_within_policy_and_accepts_exactly_the_in_policy_proposals(
    data: st.DataObject, policy: Policy, balance: int, fees_: int, today: date
) -> None:
    proposal = data.draw(proposals(today))
    due = amount_due(balance, fees_, policy.fee_waiver_allowed)

    evaluation = evaluate(proposal, balance_minor=balance, fees_minor=fees_, currency="EUR", policy=policy, today=today)

    assert_offer_within_policy(evaluation.offer, balance=balance, fees_=fees_, policy=policy, today=today)
    assert evaluation.accepted == is_within_policy(proposal, due=due, policy=policy, today=today)
    assert evaluation.accepted == (evaluation.reasons == ())
    if evaluation.accepted:
        assert_offer_is_the_proposal(evaluation.offer, proposal, due=due)


def assert_offer_is_the_proposal(offer: Offer, proposal: Proposal, *, due: int) -> None:
    assert offer.kind == proposal.kind
    if proposal.first_due_date is not None:
        assert offer.instalments[0].due_date == proposal.first_due_date
    if proposal.kind != "instalments":
        return
    assert offer.frequency == proposal.frequency
    amounts = [i.amount_minor for i in offer.instalments]
    if proposal.instalment_amount_minor is not None:
        assert len(amounts) == _ceil_div(due, proposal.instalment_amount_minor)
        assert all(a == proposal.instalment_amount_minor for a in amounts[:-1])
    elif proposal.instalment_count is not None:
        assert len(amounts) == proposal.instalment_count


@st.composite
def in_policy_count_proposals(draw: st.DrawFn) -> tuple[Policy, int, date, Proposal]:
    policy = draw(policies())
    today = draw(todays)
    due = draw(st.integers(policy.min_instalments * policy.min_instalment_minor, 5_000_000))
    most = min(policy.max_instalments, due // policy.min_instalment_minor)
    count = draw(st.integers(policy.min_instalments, most))
    first = today + timedelta(days=draw(st.integers(0, policy.max_first_payment_days)))
    proposal = Proposal("instalments", instalment_count=count, first_due_date=first, frequency=draw(frequencies))
    return policy, due, today, proposal


@given(case=in_policy_count_proposals())
def test_an_in_policy_instalment_count_comes_back_accepted_and_unchanged(
    case: tuple[Policy, int, date, Proposal],
) -> None:
    policy, due, today, proposal = case

    evaluation = evaluate(proposal, balance_minor=due, fees_minor=0, currency="EUR", policy=policy, today=today)

    assert evaluation.accepted
    expected = build_schedule(due, proposal.instalment_count, proposal.first_due_date, proposal.frequency)
    assert evaluation.offer.instalments == expected


@given(policy=policies(), balance=balances, fees_=fees, today=todays)
def test_default_options_are_all_within_policy(policy: Policy, balance: int, fees_: int, today: date) -> None:
    options = default_options(balance_minor=balance, fees_minor=fees_, currency="EUR", policy=policy, today=today)

    assert options
    for offer in options:
        assert_offer_within_policy(offer, balance=balance, fees_=fees_, policy=policy, today=today)


@given(
    total=st.integers(1, 10_000_000),
    count=st.integers(1, 60),
    first=todays,
    frequency=frequencies,
)
def test_build_schedule_splits_equally_with_the_remainder_last(total: int, count: int, first: date, frequency: str) -> None:
    if total < count:
        with pytest.raises(ValueError):
            build_schedule(total, count, first, frequency)
        return
    schedule = build_schedule(total, count, first, frequency)
    amounts = [i.amount_minor for i in schedule]
    assert sum(amounts) == total
    assert amounts[:-1] == [total // count] * (count - 1)
    assert amounts[-1] == total // count + total % count
    assert schedule[0].due_date == first
    assert all(a.due_date < b.due_date for a, b in zip(schedule, schedule[1:]))


@given(data=st.data(), instalment=st.integers(1, 2_000_000), first=todays, frequency=frequencies)
def test_schedule_for_instalment_amount_ends_with_a_positive_rest(
    data: st.DataObject, instalment: int, first: date, frequency: str
) -> None:
    total = data.draw(st.integers(1, instalment * 120), label="total")
    amounts = [i.amount_minor for i in schedule_for_instalment_amount(total, instalment, first, frequency)]
    assert len(amounts) == _ceil_div(total, instalment)
    assert sum(amounts) == total
    assert all(a == instalment for a in amounts[:-1])
    assert 0 < amounts[-1] <= instalment


# --- examples ------------------------------------------------------------------------------------------------

FIFTY_EURO_MINIMUM = Policy(min_instalment_minor=5000, max_instalments=12)


def _evaluate(proposal: Proposal, policy: Policy = FIFTY_EURO_MINIMUM, balance: int = 40000, fees_: int = 0):
    return evaluate(proposal, balance_minor=balance, fees_minor=fees_, currency="EUR", policy=policy, today=TODAY)


def test_thirty_euros_a_month_against_a_fifty_euro_minimum_is_countered_with_eight_times_fifty() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_amount_minor=3000))

    assert not evaluation.accepted
    assert "below_min_instalment" in evaluation.reasons
    assert [i.amount_minor for i in evaluation.offer.instalments] == [5000] * 8


def test_an_instalment_needing_too_many_payments_is_raised_to_fit_the_maximum_count() -> None:
    policy = Policy(min_instalment_minor=1000, max_instalments=6)

    evaluation = _evaluate(Proposal("instalments", instalment_amount_minor=2500), policy=policy, balance=100_000)

    assert evaluation.reasons == ("too_many_instalments",)
    assert [i.amount_minor for i in evaluation.offer.instalments] == [16667] * 5 + [16665]


def test_twenty_instalments_with_a_maximum_of_twelve_are_countered_with_twelve() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_count=20), policy=Policy(), balance=120_000)

    assert evaluation.reasons == ("too_many_instalments",)
    assert [i.amount_minor for i in evaluation.offer.instalments] == [10000] * 12


def test_an_in_policy_plan_is_accepted_as_asked() -> None:
    first = TODAY + timedelta(days=5)

    evaluation = _evaluate(Proposal("instalments", instalment_amount_minor=10000, first_due_date=first))

    assert evaluation.accepted and evaluation.reasons == ()
    assert evaluation.offer.instalments == schedule_for_instalment_amount(40000, 10000, first, "monthly")


def test_a_first_payment_too_late_is_moved_to_the_latest_allowed_date() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_count=4, first_due_date=TODAY + timedelta(days=90)))

    assert evaluation.reasons == ("first_payment_too_late",)
    assert evaluation.offer.instalments[0].due_date == TODAY + timedelta(days=30)


def test_a_first_payment_in_the_past_is_moved_to_today() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_count=4, first_due_date=TODAY - timedelta(days=1)))

    assert evaluation.reasons == ("date_in_past",)
    assert evaluation.offer.instalments[0].due_date == TODAY


def test_without_a_date_the_first_instalment_is_due_in_a_week() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_count=4))

    assert evaluation.accepted
    assert evaluation.offer.instalments[0].due_date == TODAY + timedelta(days=DEFAULT_FIRST_PAYMENT_DAYS)


def test_an_amount_and_a_count_that_do_not_add_up_are_countered_on_the_amount() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_amount_minor=10000, instalment_count=3))

    assert evaluation.reasons == ("amount_count_mismatch",)
    assert [i.amount_minor for i in evaluation.offer.instalments] == [10000] * 4


def test_a_debt_too_small_for_a_plan_is_offered_as_a_single_payment() -> None:
    evaluation = _evaluate(Proposal("instalments", instalment_count=3), balance=7000)  # < 2 x 50 EUR

    assert not evaluation.accepted
    assert evaluation.offer.instalments == (Instalment(TODAY + timedelta(days=7), 7000),)


def test_remainder_goes_on_the_last_instalment() -> None:
    schedule = build_schedule(1000, 3, TODAY, "monthly")

    assert [i.amount_minor for i in schedule] == [333, 333, 334]


def test_monthly_dates_keep_the_first_due_day_clamped_to_month_end() -> None:
    schedule = build_schedule(4000, 4, date(2026, 1, 31), "monthly")
    leap = build_schedule(2000, 2, date(2028, 1, 31), "monthly")

    assert [i.due_date for i in schedule] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert [i.due_date for i in leap] == [date(2028, 1, 31), date(2028, 2, 29)]


def test_weekly_and_biweekly_dates() -> None:
    assert [i.due_date for i in build_schedule(300, 3, date(2026, 12, 24), "weekly")] == [
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2027, 1, 7),
    ]
    assert build_schedule(200, 2, date(2026, 1, 1), "biweekly")[1].due_date == date(2026, 1, 15)


def test_fees_are_waived_when_the_policy_allows_it() -> None:
    policy = Policy(fee_waiver_allowed=True)

    offer = _evaluate(Proposal("full"), policy=policy, balance=40000, fees_=2500).offer

    assert (offer.total_minor, offer.fees_waived_minor) == (40000, 2500)


def test_fees_are_due_when_the_policy_does_not_waive_them() -> None:
    offer = _evaluate(Proposal("full"), policy=Policy(), balance=40000, fees_=2500).offer

    assert (offer.total_minor, offer.fees_waived_minor) == (42500, 0)


def test_a_deferral_beyond_the_limit_is_countered_with_the_limit() -> None:
    evaluation = _evaluate(Proposal("deferral", first_due_date=TODAY + timedelta(days=45)))

    assert evaluation.reasons == ("deferral_too_long",)
    assert evaluation.offer.instalments == (Instalment(TODAY + timedelta(days=30), 40000),)


def test_a_settlement_takes_the_policy_discount_and_is_paid_within_a_week() -> None:
    policy = Policy(max_settlement_discount_pct=10)

    evaluation = _evaluate(Proposal("settlement", first_due_date=TODAY + timedelta(days=20)), policy=policy)

    assert evaluation.reasons == ("deferral_too_long",)
    assert (evaluation.offer.discount_minor, evaluation.offer.total_minor) == (4000, 36000)
    assert evaluation.offer.instalments[0].due_date == TODAY + timedelta(days=SETTLEMENT_WINDOW_DAYS)


def test_a_settlement_without_a_discount_in_the_policy_becomes_a_full_payment() -> None:
    evaluation = _evaluate(Proposal("settlement"), policy=Policy())

    assert evaluation.reasons == ("settlement_not_allowed",)
    assert evaluation.offer.kind == "full" and evaluation.offer.total_minor == 40000


def test_default_options_offer_time_a_plan_and_a_discount() -> None:
    policy = Policy(min_instalment_minor=5000, max_settlement_discount_pct=5, fee_waiver_allowed=True)

    options = default_options(balance_minor=40000, fees_minor=1500, currency="EUR", policy=policy, today=TODAY)

    assert [o.kind for o in options] == ["deferral", "instalments", "settlement"]
    assert options[0].instalments == (Instalment(TODAY + timedelta(days=30), 40000),)
    assert [i.amount_minor for i in options[1].instalments] == [5000] * 8
    assert options[2].total_minor == 38000
    assert all(o.fees_waived_minor == 1500 for o in options)


def test_a_policy_with_counts_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError):
        Policy(min_instalments=6, max_instalments=3)
