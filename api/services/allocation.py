"""Where a payment goes, and what a refund or reversal gives back: plain functions, no I/O.

A payment settles the active commitment's instalments, oldest due date first (partly if it falls short);
what it brings beyond the plan, or beyond what is owed, is credit kept on the account. Without an active
commitment it goes to what is owed. Whatever goes to an instalment or to what is owed lowers the principal
(`balance_minor`) first, then the fees. A reversal undoes in the opposite order: credit first, then the most
recently paid instalments, and gives back the fees first, then the principal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from api.services.errors import NothingToReverse
from api.states import AllocationKind


@dataclass(frozen=True)
class InstalmentState:
    id: int
    sequence: int
    due_date: dt.date
    amount_minor: int
    paid_minor: int

    @property
    def unpaid_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True)
class Ledger:
    """What an account owes and holds, and what earlier payments took off what it owes."""

    balance_minor: int
    fees_minor: int
    credit_minor: int = 0
    balance_paid_minor: int = 0  # net, over every payment: what a reversal may give back to the balance
    fees_paid_minor: int = 0  # ... and to the fees

    @property
    def owed_minor(self) -> int:
        return self.balance_minor + self.fees_minor


@dataclass(frozen=True)
class Share:
    """One allocation: `amount_minor` of a payment to an instalment, to what is owed, or to credit (negative
    for a reversal)."""

    kind: AllocationKind
    amount_minor: int
    instalment_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The allocations of one payment and the account after it."""

    shares: tuple[Share, ...]
    ledger: Ledger
    instalments: tuple[InstalmentState, ...]  # every instalment given, with its new paid_minor
    balance_applied_minor: int  # how much the balance went down (negative: up)
    fees_applied_minor: int


def instalment_status(amount_minor: int, paid_minor: int, current: str) -> str:
    """`paid` when paid in full, otherwise `due`; a `missed` instalment stays missed until it is paid in full."""
    if paid_minor >= amount_minor:
        return "paid"
    return "missed" if current == "missed" else "due"


def allocate(amount_minor: int, ledger: Ledger, instalments: Sequence[InstalmentState]) -> Outcome:
    """A positive payment on an account whose active commitment has `instalments` (none: no active commitment)."""
    if amount_minor <= 0:
        raise ValueError("allocate() takes a positive payment; reverse() undoes")
    rest = amount_minor
    # Never settle more than is owed, even when a plan says more (the creditor lowered the balance since).
    room = ledger.owed_minor
    shares: list[Share] = []
    paid = {i.id: i.paid_minor for i in instalments}
    if instalments:
        for instalment in sorted(instalments, key=lambda i: (i.due_date, i.sequence)):
            take = min(rest, instalment.unpaid_minor, room)
            if take > 0:
                shares.append(Share(AllocationKind.INSTALMENT, take, instalment.id))
                paid[instalment.id] += take
                rest -= take
                room -= take
    else:
        take = min(rest, room)
        if take > 0:
            shares.append(Share(AllocationKind.BALANCE, take))
            rest -= take
    if rest > 0:
        shares.append(Share(AllocationKind.CREDIT, rest))
    settled = amount_minor - rest
    to_balance = min(settled, ledger.balance_minor)
    to_fees = settled - to_balance
    return Outcome(
        shares=tuple(shares),
        ledger=Ledger(
            balance_minor=ledger.balance_minor - to_balance,
            fees_minor=ledger.fees_minor - to_fees,
            credit_minor=ledger.credit_minor + rest,
            balance_paid_minor=ledger.balance_paid_minor + to_balance,
            fees_paid_minor=ledger.fees_paid_minor + to_fees,
        ),
        instalments=tuple(replace(i, paid_minor=paid[i.id]) for i in instalments),
        balance_applied_minor=to_balance,
        fees_applied_minor=to_fees,
    )


def _credit_first(positions: Iterable[Share]) -> list[Share]:
    positions = list(positions)
    return [p for p in positions if p.kind == AllocationKind.CREDIT] + [p for p in positions if p.kind != AllocationKind.CREDIT]


def reversible_minor(positions: Iterable[Share], ledger: Ledger, instalments: Sequence[InstalmentState]) -> int:
    """How much a reversal over these positions could undo (what `reverse` accepts at most)."""
    return sum(s.amount_minor for s in _undo(positions, ledger, instalments, None))


def _undo(
    positions: Iterable[Share], ledger: Ledger, instalments: Sequence[InstalmentState], amount_minor: int | None
) -> list[Share]:
    """The (positive) amounts to take back from each position, in order, never more than is still there."""
    paid = {i.id: i.paid_minor for i in instalments}
    credit = ledger.credit_minor
    debt = ledger.balance_paid_minor + ledger.fees_paid_minor
    rest = amount_minor
    undone: list[Share] = []
    for position in _credit_first(positions):
        if position.kind == AllocationKind.CREDIT:
            available = min(position.amount_minor, credit)
        elif position.kind == AllocationKind.INSTALMENT:
            available = min(position.amount_minor, paid.get(position.instalment_id or 0, 0), debt)
        else:
            available = min(position.amount_minor, debt)
        take = max(0, available if rest is None else min(rest, available))
        if take == 0:
            continue
        undone.append(Share(position.kind, take, position.instalment_id))
        if position.kind == AllocationKind.CREDIT:
            credit -= take
        else:
            debt -= take
            if position.kind == AllocationKind.INSTALMENT and position.instalment_id is not None:
                paid[position.instalment_id] -= take
        if rest is not None:
            rest -= take
            if rest == 0:
                break
    return undone


def reverse(amount_minor: int, ledger: Ledger, positions: Sequence[Share], instalments: Sequence[InstalmentState]) -> Outcome:
    """A refund or reversal of `amount_minor` (negative) over `positions`, the allocations it may undo (positive,
    newest first; credit is undone first whatever the order). `instalments` are those the positions name.
    NothingToReverse when the positions hold less than the reversal."""
    if amount_minor >= 0:
        raise ValueError("reverse() takes a negative amount; allocate() settles")
    wanted = -amount_minor
    undone = _undo(positions, ledger, instalments, wanted)
    if sum(s.amount_minor for s in undone) < wanted:
        raise NothingToReverse()
    credit_back = sum(s.amount_minor for s in undone if s.kind == AllocationKind.CREDIT)
    debt_back = wanted - credit_back
    # The fees were settled last, so they come back first.
    fees_back = min(debt_back, ledger.fees_paid_minor)
    balance_back = debt_back - fees_back
    paid = {i.id: i.paid_minor for i in instalments}
    for share in undone:
        if share.kind == AllocationKind.INSTALMENT and share.instalment_id is not None:
            paid[share.instalment_id] -= share.amount_minor
    return Outcome(
        shares=tuple(Share(s.kind, -s.amount_minor, s.instalment_id) for s in undone),
        ledger=Ledger(
            balance_minor=ledger.balance_minor + balance_back,
            fees_minor=ledger.fees_minor + fees_back,
            credit_minor=ledger.credit_minor - credit_back,
            balance_paid_minor=ledger.balance_paid_minor - balance_back,
            fees_paid_minor=ledger.fees_paid_minor - fees_back,
        ),
        instalments=tuple(replace(i, paid_minor=paid[i.id]) for i in instalments),
        balance_applied_minor=-balance_back,
        fees_applied_minor=-fees_back,
    )
