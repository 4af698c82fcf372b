"""Payments the creditor reports: recorded once per (creditor, external_id), allocated by the pure rules of
`allocation`, and what they settle or reopen on the account, its instalments and its commitments.

Every way a payment arrives calls `record_payment`: the creditor's API today, a file import or a payment
provider's webhook later (`source` says which).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.logging import log
from api.models import Account, Allocation, Commitment, Creditor, Instalment, Payment, utcnow
from api.services import contacts
from api.services.allocation import (
    InstalmentState,
    Ledger,
    Outcome,
    Share,
    allocate,
    instalment_status,
    reverse,
)
from api.services.audit import audit
from api.services.errors import CurrencyMismatch, InvalidPayment, NothingToReverse, PaymentConflict, UnknownAccount
from api.services.money import MAX_MINOR
from api.states import AllocationKind, CommitmentStatus, PaymentMethod

PAYMENT_METHODS = frozenset(PaymentMethod)
# A payment dated a little ahead is a clock or time-zone slip; further ahead it is a mistake.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def record_payment(
    session: Session,
    creditor: Creditor,
    *,
    reference: str,
    amount_minor: int,
    currency: str,
    paid_at: dt.datetime,
    method: str,
    external_id: str,
    reverses: str | None = None,
    source: str = "api",
    now: dt.datetime | None = None,
) -> tuple[Payment, bool]:
    """Records a payment on one of the creditor's accounts (negative: a refund or reversal, of the payment
    `reverses` names when given) and applies it. Answers the payment and whether it is new: the same
    external_id again answers the first payment, unchanged; under a different payment it is a PaymentConflict."""
    now = now or utcnow()
    account = session.scalar(select(Account).where(Account.creditor_id == creditor.id, Account.reference == reference.upper()))
    if account is None:
        raise UnknownAccount()
    request = (account.id, amount_minor, currency.upper(), paid_at, method, reverses)
    # A repeat changes nothing, so it is answered before anything is locked or written.
    first = _payment_of(session, creditor.id, external_id)
    if first is None:
        _lock(session, account)
        first = _payment_of(session, creditor.id, external_id)  # recorded by a concurrent request meanwhile?
    if first is not None:
        if _request_of(first) != request:
            raise PaymentConflict()
        return first, False
    _check(account, amount_minor=amount_minor, currency=currency, paid_at=paid_at, method=method, reverses=reverses, now=now)
    paid_at = paid_at.astimezone(dt.timezone.utc)  # as it is stored and read back: a repeat answers the same

    ledger = _ledger(session, account)
    original = None
    if amount_minor > 0:
        commitment = _active_commitment(session, account)
        instalment_rows = list(commitment.instalments) if commitment else []
        outcome = allocate(amount_minor, ledger, [_state(i) for i in instalment_rows])
    else:
        if reverses is not None:
            original = _payment_of(session, creditor.id, reverses)
            if original is None or original.account_id != account.id or original.amount_minor <= 0:
                raise NothingToReverse()
        positions = _open_positions(_allocations_to_undo(session, account, original))
        instalment_rows = _instalments_named(session, positions)
        outcome = reverse(amount_minor, ledger, positions, [_state(i) for i in instalment_rows])

    payment = Payment(
        creditor_id=creditor.id,
        account_id=account.id,
        external_id=external_id,
        amount_minor=amount_minor,
        currency=account.currency,
        paid_at=paid_at,
        method=method,
        received_at=now,
        source=source,
        reverses_payment_id=original.id if original else None,
        balance_applied_minor=outcome.balance_applied_minor,
        fees_applied_minor=outcome.fees_applied_minor,
        allocations=[Allocation(kind=s.kind, instalment_id=s.instalment_id, amount_minor=s.amount_minor) for s in outcome.shares],
    )
    session.add(payment)
    try:
        session.flush()
    except IntegrityError as exc:  # the same external_id on another account, recorded at the same moment
        raise PaymentConflict() from exc
    changed = _apply(session, account, outcome, instalment_rows)
    actor = f"creditor:{creditor.id}"
    audit(
        session,
        actor,
        "payment_recorded",
        "payment",
        payment.id,
        account=account.reference,
        external_id=external_id,
        amount_minor=amount_minor,
        currency=account.currency,
        method=method,
        source=source,
        reverses=reverses,
        allocations=[
            {"kind": s.kind.value, "instalment_id": s.instalment_id, "amount_minor": s.amount_minor} for s in outcome.shares
        ],
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        credit_minor=account.credit_minor,
    )
    for changed_commitment, status in changed:
        action = "commitment_kept" if status == CommitmentStatus.KEPT else "commitment_reopened"
        audit(session, actor, action, "commitment", changed_commitment.reference, payment=external_id)
    # Thanks, with what remains (or the "already paid" claim this confirms), on the debtor's channel.
    contacts.on_payment(session, payment, now)
    log.info("payment_recorded", payment_id=payment.id, account_id=account.id, amount_minor=amount_minor, source=source)
    return payment, True


# --- checks ------------------------------------------------------------------------------------------------


def _request_of(payment: Payment) -> tuple[object, ...]:
    reverses = payment.reverses.external_id if payment.reverses else None
    return (payment.account_id, payment.amount_minor, payment.currency, payment.paid_at, payment.method, reverses)


def _check(
    account: Account,
    *,
    amount_minor: int,
    currency: str,
    paid_at: dt.datetime,
    method: str,
    reverses: str | None,
    now: dt.datetime,
) -> None:
    if amount_minor == 0 or abs(amount_minor) > MAX_MINOR or method not in PAYMENT_METHODS:
        raise InvalidPayment()
    if paid_at.tzinfo is None or paid_at > now + FUTURE_TOLERANCE:
        raise InvalidPayment()
    if reverses is not None and amount_minor > 0:
        raise InvalidPayment()
    if currency.upper() != account.currency:
        raise CurrencyMismatch()


# --- reading -----------------------------------------------------------------------------------------------


def _payment_of(session: Session, creditor_id: int, external_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.creditor_id == creditor_id, Payment.external_id == external_id))


def _lock(session: Session, account: Account) -> None:
    """Payments on one account are applied one at a time: a write on the account's row holds it (a row lock
    in PostgreSQL, the write lock in SQLite) until the transaction ends, and the account is read again after."""
    session.execute(update(Account).where(Account.id == account.id).values(balance_minor=Account.balance_minor))
    session.refresh(account)


def _active_commitment(session: Session, account: Account) -> Commitment | None:
    return session.scalars(
        select(Commitment)
        .where(Commitment.account_id == account.id, Commitment.status == CommitmentStatus.ACTIVE)
        .order_by(Commitment.agreed_at.desc(), Commitment.id.desc())
    ).first()


def _instalments_named(session: Session, positions: Sequence[Share]) -> list[Instalment]:
    ids = {p.instalment_id for p in positions if p.instalment_id is not None}
    if not ids:
        return []
    return list(session.scalars(select(Instalment).where(Instalment.id.in_(ids)).order_by(Instalment.id)))


def _state(instalment: Instalment) -> InstalmentState:
    return InstalmentState(
        id=instalment.id,
        sequence=instalment.sequence,
        due_date=instalment.due_date,
        amount_minor=instalment.amount_minor,
        paid_minor=instalment.paid_minor,
    )


def _ledger(session: Session, account: Account) -> Ledger:
    balance_paid, fees_paid = session.execute(
        select(
            func.coalesce(func.sum(Payment.balance_applied_minor), 0),
            func.coalesce(func.sum(Payment.fees_applied_minor), 0),
        ).where(Payment.account_id == account.id)
    ).one()
    return Ledger(
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        credit_minor=account.credit_minor,
        balance_paid_minor=int(balance_paid),
        fees_paid_minor=int(fees_paid),
    )


def _allocations_to_undo(session: Session, account: Account, original: Payment | None) -> list[Allocation]:
    """What a reversal may undo: the payment it names, less what earlier reversals of it gave back; without
    a name, everything still allocated on the account."""
    query = select(Allocation).join(Payment, Payment.id == Allocation.payment_id)
    if original is not None:
        query = query.where((Payment.id == original.id) | (Payment.reverses_payment_id == original.id))
    else:
        query = query.where(Payment.account_id == account.id)
    return list(session.scalars(query.order_by(Allocation.id)))


def _open_positions(allocations: Iterable[Allocation]) -> list[Share]:
    """What is still allocated, per instalment (and credit, and what is owed outside a plan), the most
    recently paid first."""
    net: dict[tuple[str, int | None], int] = {}
    latest: dict[tuple[str, int | None], int] = {}
    for row in allocations:
        key = (row.kind, row.instalment_id)
        net[key] = net.get(key, 0) + row.amount_minor
        if row.amount_minor > 0:
            latest[key] = max(latest.get(key, 0), row.id)
    open_keys = sorted((key for key, amount in net.items() if amount > 0), key=lambda k: latest.get(k, 0), reverse=True)
    return [Share(AllocationKind(kind), net[(kind, instalment_id)], instalment_id) for kind, instalment_id in open_keys]


# --- writing -----------------------------------------------------------------------------------------------


def _apply(
    session: Session, account: Account, outcome: Outcome, instalment_rows: Sequence[Instalment]
) -> list[tuple[Commitment, str]]:
    """The outcome on the account and its instalments, and the commitments this kept or reopened."""
    account.balance_minor = outcome.ledger.balance_minor
    account.fees_minor = outcome.ledger.fees_minor
    account.credit_minor = outcome.ledger.credit_minor
    rows = {row.id: row for row in instalment_rows}
    touched: dict[int, Commitment] = {}
    for state in outcome.instalments:
        row = rows[state.id]
        if row.paid_minor == state.paid_minor:
            continue
        row.paid_minor = state.paid_minor
        row.status = instalment_status(row.amount_minor, row.paid_minor, row.status)
        touched[row.commitment_id] = session.get_one(Commitment, row.commitment_id)
    changed: list[tuple[Commitment, str]] = []
    for commitment in touched.values():
        all_paid = all(i.paid_minor >= i.amount_minor for i in commitment.instalments)
        if commitment.status == CommitmentStatus.ACTIVE and all_paid:
            commitment.status = CommitmentStatus.KEPT
            commitment.ended_at = utcnow()
        elif commitment.status == CommitmentStatus.KEPT and not all_paid:
            commitment.status = CommitmentStatus.ACTIVE
            commitment.ended_at = None
        else:
            continue
        changed.append((commitment, commitment.status))
    return changed
