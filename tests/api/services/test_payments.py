"""Payments: the allocation rules (pure, property-tested) and the service that records a payment once and
applies it to the account, its instalments and its commitment, against the real database."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.db import session_scope
from api.deps import hash_api_key
from api.models import Account, Allocation, AuditEntry, Commitment, Creditor, Payment
from api.services.allocation import (
    AllocationKind,
    InstalmentState,
    Ledger,
    Outcome,
    Share,
    allocate,
    instalment_status,
    reverse,
    reversible_minor,
)
from api.services.errors import CurrencyMismatch, InvalidPayment, NothingToReverse, PaymentConflict, UnknownAccount
from api.services.payments import record_payment
from tests.api_fixtures import CREDITOR_KEY, make_commitment

# --- strategies ----------------------------------------------------------------------------------------------


@st.composite
def schedules(draw: st.DrawFn) -> tuple[InstalmentState, ...]:
    """An active commitment's instalments, some already partly or fully paid (none at all: no commitment)."""
    count = draw(st.integers(0, 6))
    first = draw(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 1, 1)))
    instalments = []
    for n in range(1, count + 1):
        amount = draw(st.integers(1, 200_000))
        instalments.append(
            InstalmentState(
                id=100 + n,
                sequence=n,
                # Due dates in the schedule's order, sometimes on the same day.
                due_date=first + dt.timedelta(days=draw(st.integers(0, 3)) * 14 * (n - 1)),
                amount_minor=amount,
                paid_minor=draw(st.sampled_from([0, 0, amount]) | st.integers(0, amount)),
            )
        )
    return tuple(draw(st.permutations(instalments)))


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    """What an account owes and holds. Payments settle the principal before the fees and reversals give back
    the fees first, so fees were paid only once the principal was (fees_paid > 0 means no balance left)."""
    fees_paid = draw(st.sampled_from([0, 0, 0]) | st.integers(0, 50_000))
    return Ledger(
        balance_minor=0 if fees_paid else draw(st.integers(0, 2_000_000)),
        fees_minor=draw(st.integers(0, 50_000)),
        credit_minor=draw(st.sampled_from([0]) | st.integers(0, 100_000)),
        balance_paid_minor=draw(st.integers(0, 500_000)),
        fees_paid_minor=fees_paid,
    )


amounts = st.integers(1, 3_000_000)


def _paid(instalments: tuple[InstalmentState, ...]) -> dict[int, int]:
    return {i.id: i.paid_minor for i in instalments}


def _positions(outcome: Outcome) -> list[Share]:
    """A payment's allocations as a reversal of it sees them: the newest first."""
    return list(reversed(outcome.shares))


# --- allocation: properties ----------------------------------------------------------------------------------


@settings(max_examples=300)
@given(amount=amounts, ledger=ledgers(), instalments=schedules())
def test_a_payment_is_allocated_whole_and_never_overpays_an_instalment(amount, ledger, instalments):
    outcome = allocate(amount, ledger, instalments)
    assert sum(s.amount_minor for s in outcome.shares) == amount
    assert all(s.amount_minor > 0 for s in outcome.shares)
    before, after = _paid(instalments), _paid(outcome.instalments)
    for instalment in outcome.instalments:
        assert 0 <= before[instalment.id] <= instalment.paid_minor <= instalment.amount_minor
    for share in outcome.shares:
        if share.kind == AllocationKind.INSTALMENT:
            assert share.instalment_id in before
    assert sum(after.values()) - sum(before.values()) == sum(
        s.amount_minor for s in outcome.shares if s.kind == AllocationKind.INSTALMENT
    )


@settings(max_examples=300)
@given(amount=amounts, ledger=ledgers(), instalments=schedules())
def test_no_money_is_lost_and_the_balance_never_goes_below_zero(amount, ledger, instalments):
    outcome = allocate(amount, ledger, instalments)
    after = outcome.ledger
    assert after.balance_minor >= 0 and after.fees_minor >= 0
    credit = sum(s.amount_minor for s in outcome.shares if s.kind == AllocationKind.CREDIT)
    # What the account owes went down by what was not kept as credit; the credit is recorded, never lost.
    assert ledger.owed_minor - after.owed_minor + (after.credit_minor - ledger.credit_minor) == amount
    assert after.credit_minor - ledger.credit_minor == credit
    assert outcome.balance_applied_minor + outcome.fees_applied_minor == amount - credit
    # The principal is settled before the fees.
    assert outcome.fees_applied_minor == 0 or after.balance_minor == 0
    # Credit only once the plan is paid in full, or nothing more is owed.
    if credit:
        assert after.owed_minor == 0 or all(i.paid_minor == i.amount_minor for i in outcome.instalments)
        if not instalments:
            assert after.owed_minor == 0


@settings(max_examples=300)
@given(amount=amounts, ledger=ledgers(), instalments=schedules())
def test_the_oldest_instalment_is_settled_first(amount, ledger, instalments):
    outcome = allocate(amount, ledger, instalments)
    order = sorted(outcome.instalments, key=lambda i: (i.due_date, i.sequence))
    paid_to = {s.instalment_id for s in outcome.shares if s.kind == AllocationKind.INSTALMENT}
    for position, instalment in enumerate(order):
        if instalment.id in paid_to:
            assert all(earlier.paid_minor == earlier.amount_minor for earlier in order[:position])


@settings(max_examples=300)
@given(amount=amounts, ledger=ledgers(), instalments=schedules())
def test_a_payment_then_its_reversal_restores_every_instalment_and_the_balance(amount, ledger, instalments):
    paid = allocate(amount, ledger, instalments)
    undone = reverse(-amount, paid.ledger, _positions(paid), paid.instalments)
    assert sum(s.amount_minor for s in undone.shares) == -amount
    assert undone.ledger == ledger
    assert _paid(undone.instalments) == _paid(instalments)
    assert undone.balance_applied_minor == -paid.balance_applied_minor
    assert undone.fees_applied_minor == -paid.fees_applied_minor


@settings(max_examples=200)
@given(data=st.data(), ledger=ledgers(), instalments=schedules(), payments=st.lists(amounts, min_size=1, max_size=4))
def test_a_partial_refund_never_leaves_a_negative_amount_anywhere(data, ledger, instalments, payments):
    state, current, positions = ledger, instalments, []
    for amount in payments:
        outcome = allocate(amount, state, current)
        state, current = outcome.ledger, outcome.instalments
        positions = _positions(outcome) + positions
    refund = data.draw(st.integers(1, sum(payments)))
    undone = reverse(-refund, state, positions, current)
    assert sum(s.amount_minor for s in undone.shares) == -refund
    assert all(s.amount_minor < 0 for s in undone.shares)
    assert all(0 <= i.paid_minor <= i.amount_minor for i in undone.instalments)
    after = undone.ledger
    assert min(after.balance_minor, after.fees_minor, after.credit_minor, after.balance_paid_minor, after.fees_paid_minor) >= 0
    assert after.owed_minor - state.owed_minor + (state.credit_minor - after.credit_minor) == refund


@settings(max_examples=200)
@given(ledger=ledgers(), instalments=schedules(), payments=st.lists(amounts, min_size=1, max_size=4))
def test_refunding_every_payment_restores_the_account_as_it_was(ledger, instalments, payments):
    state, current, positions = ledger, instalments, []
    for amount in payments:
        outcome = allocate(amount, state, current)
        state, current = outcome.ledger, outcome.instalments
        positions = _positions(outcome) + positions
    undone = reverse(-sum(payments), state, positions, current)
    assert undone.ledger == ledger
    assert _paid(undone.instalments) == _paid(instalments)


@given(ledger=ledgers(), instalments=schedules(), amount=amounts, extra=st.integers(1, 10_000))
def test_a_reversal_cannot_give_back_more_than_was_paid(ledger, instalments, amount, extra):
    paid = allocate(amount, ledger, instalments)
    assert reversible_minor(_positions(paid), paid.ledger, paid.instalments) == amount
    with pytest.raises(NothingToReverse):
        reverse(-(amount + extra), paid.ledger, _positions(paid), paid.instalments)


# --- allocation: examples ------------------------------------------------------------------------------------

PLAN = (
    InstalmentState(id=3, sequence=3, due_date=dt.date(2026, 3, 1), amount_minor=10_000, paid_minor=0),
    InstalmentState(id=1, sequence=1, due_date=dt.date(2026, 1, 1), amount_minor=10_000, paid_minor=0),
    InstalmentState(id=2, sequence=2, due_date=dt.date(2026, 2, 1), amount_minor=10_000, paid_minor=0),
)


def test_a_payment_settles_the_oldest_instalments_first_partly_if_it_falls_short():
    outcome = allocate(15_000, Ledger(balance_minor=30_000, fees_minor=0), PLAN)
    assert outcome.shares == (Share(AllocationKind.INSTALMENT, 10_000, 1), Share(AllocationKind.INSTALMENT, 5_000, 2))
    assert _paid(outcome.instalments) == {1: 10_000, 2: 5_000, 3: 0}
    assert outcome.ledger.balance_minor == 15_000


def test_beyond_the_plan_the_payment_becomes_credit():
    outcome = allocate(35_000, Ledger(balance_minor=30_000, fees_minor=2_000), PLAN)
    assert outcome.shares[-1] == Share(AllocationKind.CREDIT, 5_000)
    # The plan waived the fees: they stay as they were, and the 50 € beyond the plan are the debtor's credit.
    assert (outcome.ledger.balance_minor, outcome.ledger.fees_minor, outcome.ledger.credit_minor) == (0, 2_000, 5_000)


def test_without_a_plan_the_principal_is_paid_then_the_fees_then_credit():
    outcome = allocate(45_000, Ledger(balance_minor=38_000, fees_minor=2_000), ())
    assert outcome.shares == (Share(AllocationKind.BALANCE, 40_000), Share(AllocationKind.CREDIT, 5_000))
    assert (outcome.balance_applied_minor, outcome.fees_applied_minor) == (38_000, 2_000)
    assert outcome.ledger == Ledger(
        balance_minor=0, fees_minor=0, credit_minor=5_000, balance_paid_minor=38_000, fees_paid_minor=2_000
    )


def test_a_plan_that_includes_the_fees_settles_them_too():
    plan = (replace(PLAN[1], amount_minor=20_000), replace(PLAN[2], amount_minor=20_000))
    outcome = allocate(40_000, Ledger(balance_minor=38_000, fees_minor=2_000), plan)
    assert (outcome.ledger.balance_minor, outcome.ledger.fees_minor, outcome.ledger.credit_minor) == (0, 0, 0)


def test_a_plain_refund_takes_back_credit_first_then_the_latest_paid_instalment():
    paid = allocate(25_000, Ledger(balance_minor=20_000, fees_minor=0), PLAN[1:])
    assert paid.ledger.credit_minor == 5_000
    undone = reverse(-12_000, paid.ledger, _positions(paid), paid.instalments)
    assert undone.shares == (Share(AllocationKind.CREDIT, -5_000), Share(AllocationKind.INSTALMENT, -7_000, 2))
    assert _paid(undone.instalments) == {1: 10_000, 2: 3_000}
    assert (undone.ledger.balance_minor, undone.ledger.credit_minor) == (7_000, 0)


def test_a_missed_instalment_stays_missed_until_paid_in_full():
    assert instalment_status(5_000, 5_000, "due") == "paid"
    assert instalment_status(5_000, 5_000, "missed") == "paid"
    assert instalment_status(5_000, 4_999, "missed") == "missed"
    assert instalment_status(5_000, 0, "paid") == "due"


# --- the service, against the database ----------------------------------------------------------------------

PAID_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


def _creditor(session, key: str = CREDITOR_KEY) -> Creditor:
    return session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(key))).one()


def _pay(session, amount_minor: int, external_id: str, reference: str = "CR-10001", creditor=None, **overrides):
    values = {
        "reference": reference,
        "amount_minor": amount_minor,
        "currency": "EUR",
        "paid_at": PAID_AT,
        "method": "transfer",
        "external_id": external_id,
        **overrides,
    }
    return record_payment(session, creditor or _creditor(session), **values)


def _account(session, reference: str = "CR-10001") -> Account:
    return session.scalars(select(Account).where(Account.reference == reference)).one()


def test_the_same_external_id_again_answers_the_first_payment_and_counts_once(database):
    with session_scope() as session:
        first, created = _pay(session, 10_000, "bank-1")
        assert created
    with session_scope() as session:
        again, created = _pay(session, 10_000, "bank-1", paid_at=PAID_AT.astimezone(dt.timezone(dt.timedelta(hours=1))))
        assert not created and again.id == first.id
        assert _account(session).balance_minor == 38_000 - 10_000
        assert session.scalar(select(Payment.id).where(Payment.external_id == "bank-1")) == first.id
        assert len(session.scalars(select(Allocation)).all()) == 1
        recorded = session.scalars(select(AuditEntry).where(AuditEntry.action == "payment_recorded")).all()
        assert len(recorded) == 1 and recorded[0].actor.startswith("creditor:")
        assert recorded[0].detail["external_id"] == "bank-1" and recorded[0].detail["balance_minor"] == 28_000


@pytest.mark.parametrize(
    "change",
    [
        {"amount_minor": 10_001},
        {"reference": "CR-10002"},
        {"paid_at": PAID_AT + dt.timedelta(days=1)},
        {"method": "card"},
    ],
)
def test_a_different_payment_under_the_same_external_id_is_a_conflict(database, change):
    with session_scope() as session:
        _pay(session, 10_000, "bank-1")
    with session_scope() as session, pytest.raises(PaymentConflict):
        _pay(session, **{"amount_minor": 10_000, "external_id": "bank-1", **change})
    with session_scope() as session:
        assert _account(session).balance_minor == 28_000 and _account(session, "CR-10002").balance_minor == 125_000


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"amount_minor": 0}, InvalidPayment),
        ({"currency": "GBP"}, CurrencyMismatch),
        ({"method": "bitcoin"}, InvalidPayment),
        ({"paid_at": dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)}, InvalidPayment),
        ({"paid_at": dt.datetime(2026, 11, 20, 9, 30)}, InvalidPayment),
        ({"reverses": "bank-0"}, InvalidPayment),  # only a negative payment reverses one
        ({"reference": "CR-99999"}, UnknownAccount),
    ],
)
def test_a_payment_that_cannot_be_right_is_refused_and_changes_nothing(database, overrides, error):
    with session_scope() as session, pytest.raises(error):
        _pay(session, **{"amount_minor": 10_000, "external_id": "bank-1", **overrides})
    with session_scope() as session:
        assert session.scalars(select(Payment)).all() == []
        assert _account(session).balance_minor == 38_000


def test_a_creditor_cannot_pay_into_another_creditors_account(database):
    with session_scope() as session:
        other = Creditor(name="Autre SA", api_key_hash=hash_api_key("other-key"))
        session.add(other)
        session.flush()
        with pytest.raises(UnknownAccount):
            _pay(session, 10_000, "bank-1", creditor=other)


def test_payments_keep_a_plan_and_a_reversal_reopens_it(client, actions_headers):
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    first, second, third = (i["amount_minor"] for i in offer["schedule"])
    with session_scope() as session:
        payment, _ = _pay(session, first + 1_000, "bank-1")
        assert [(a.kind, a.amount_minor) for a in payment.allocations] == [("instalment", first), ("instalment", 1_000)]
    with session_scope() as session:
        commitment = session.scalars(select(Commitment)).one()
        assert [(i.paid_minor, i.status) for i in commitment.instalments] == [(first, "paid"), (1_000, "due"), (0, "due")]
        assert commitment.status == "active"
        _pay(session, second - 1_000 + third, "bank-2")
    with session_scope() as session:
        commitment = session.scalars(select(Commitment)).one()
        assert commitment.status == "kept"
        assert all(i.status == "paid" for i in commitment.instalments)
        assert _account(session).balance_minor == 38_000 - offer["total_minor"]
        assert session.scalar(select(AuditEntry.entity_id).where(AuditEntry.action == "commitment_kept")) == commitment.reference
    with session_scope() as session:
        reversal, created = _pay(session, -(second - 1_000 + third), "bank-2-returned", reverses="bank-2")
        assert created and reversal.reverses_payment_id is not None
    with session_scope() as session:
        commitment = session.scalars(select(Commitment)).one()
        assert commitment.status == "active"
        assert [(i.paid_minor, i.status) for i in commitment.instalments] == [(first, "paid"), (1_000, "due"), (0, "due")]
        assert _account(session).balance_minor == 38_000 - first - 1_000
        assert (
            session.scalar(select(AuditEntry.entity_id).where(AuditEntry.action == "commitment_reopened")) == commitment.reference
        )


def test_a_plan_with_the_fees_settles_the_fees_and_an_overpayment_is_credit(client, actions_headers, creditor_headers):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    policy.pop("updated_at")
    client.put("/api/v1/policy", json={**policy, "fee_waiver_allowed": False}, headers=creditor_headers)
    offer = make_commitment(client, actions_headers, {"kind": "full"})
    assert offer["total_minor"] == 40_000
    with session_scope() as session:
        _pay(session, 41_500, "bank-1")
    with session_scope() as session:
        account = _account(session)
        assert (account.balance_minor, account.fees_minor, account.credit_minor) == (0, 0, 1_500)
        assert session.scalars(select(Commitment)).one().status == "kept"


def test_a_reversal_gives_back_no_more_than_the_payment_it_names(database):
    with session_scope() as session:
        _pay(session, 10_000, "bank-1")
        _pay(session, 5_000, "bank-2")
    for overrides in (
        {"reverses": "bank-1", "amount_minor": -10_001},
        {"reverses": "nope", "amount_minor": -1},
        {"amount_minor": -15_001},
    ):
        with session_scope() as session, pytest.raises(NothingToReverse):
            _pay(session, external_id="refund", **overrides)
    with session_scope() as session:
        _pay(session, -10_000, "refund", reverses="bank-1")
        # bank-1 is fully reversed now; a reversal of it again has nothing left to undo.
        with pytest.raises(NothingToReverse):
            _pay(session, -1, "refund-2", reverses="bank-1")
        with pytest.raises(NothingToReverse):
            _pay(session, -1, "refund-3", reverses="refund")
    with session_scope() as session:
        assert _account(session).balance_minor == 38_000 - 5_000
