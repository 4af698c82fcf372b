"""An account as its readers see it: the records kept on it, and the creditor's view of all of it.

The agent console's account panel (`agent_desk.account_panel`) reads the same records through
`account_records` and shows them its own way (formatted amounts, the agent's links).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.models import (
    Account,
    Commitment,
    Confirmation,
    Consent,
    ContactPreference,
    Conversation,
    DataRequest,
    Dispute,
    Handoff,
    Instalment,
    Message,
    Payment,
    PaymentClaim,
    Signal,
)
from api.schemas.creditor import (
    AccountDetailOut,
    AccountOut,
    BudgetSummaryOut,
    CommitmentOut,
    ConfirmationOut,
    ConsentOut,
    ContactOut,
    ContactPreferenceOut,
    ConversationOut,
    DataRequestOut,
    DeliveryFailureOut,
    DisputeOut,
    HandoffOut,
    PaymentClaimOut,
    PaymentOut,
    SignalOut,
)
from api.services import signing
from api.services.affordability import budgets_of
from api.services.arrangements import confirmations_of
from api.services.contacts import contacts_of
from api.services.verification import account_is_locked


@dataclass(frozen=True)
class AccountRecords:
    """What was recorded on an account, each list in the order every view shows it."""

    commitments: list[Commitment]  # by the date they were agreed
    confirmations: list[Confirmation]  # by the date they were made
    signals: list[Signal]
    disputes: list[Dispute]
    consents: list[Consent]
    payment_claims: list[PaymentClaim]
    payments: list[Payment]  # in the order they were recorded


def _rows(session: Session, account: Account, model: Any, *order: Any) -> list[Any]:
    return list(session.scalars(select(model).where(model.account_id == account.id).order_by(*order)))


def account_records(session: Session, account: Account) -> AccountRecords:
    return AccountRecords(
        commitments=_rows(session, account, Commitment, Commitment.agreed_at),
        confirmations=confirmations_of(session, account),
        signals=_rows(session, account, Signal, Signal.id),
        disputes=_rows(session, account, Dispute, Dispute.id),
        consents=_rows(session, account, Consent, Consent.id),
        payment_claims=_rows(session, account, PaymentClaim, PaymentClaim.id),
        payments=_rows(session, account, Payment, Payment.id),
    )


def find_account(session: Session, creditor_id: int, reference: str) -> Account | None:
    """One of the creditor's accounts by its reference (in any case)."""
    return session.scalar(select(Account).where(Account.creditor_id == creditor_id, Account.reference == reference.upper()))


def find_confirmation(session: Session, number: str, account: Account | None = None) -> Confirmation | None:
    """A written confirmation by its number: of `account` only when one is given (an agent may open any)."""
    query = select(Confirmation).where(Confirmation.number == number)
    if account is not None:
        query = query.where(Confirmation.account_id == account.id)
    return session.scalar(query)


def _conversations(session: Session, account: Account) -> list[ConversationOut]:
    message_counts: dict[str, int] = {
        conversation_id: count
        for conversation_id, count in session.execute(
            select(Message.conversation_id, func.count())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.account_id == account.id)
            .group_by(Message.conversation_id)
        ).all()
    }
    return [
        ConversationOut(
            id=c.id,
            channel=c.channel,
            language=c.language,
            state=c.state,
            verified_at=c.verified_at,
            locked_at=c.locked_at,
            created_at=c.created_at,
            messages=message_counts.get(c.id, 0),
        )
        for c in _rows(session, account, Conversation, Conversation.created_at)
    ]


def _delivery_failures(session: Session, account: Account) -> list[DeliveryFailureOut]:
    """Outbound messages that failed for good, on the account's conversations or on those whose number
    points at it (before verification)."""
    failed = session.scalars(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.about(account.id))
        .where(Message.direction == "outbound", Message.status.in_(("failed", "undelivered")))
        .order_by(Message.id)
    )
    return [
        DeliveryFailureOut.model_validate(
            {
                "message_id": m.id,
                "conversation_id": m.conversation_id,
                "channel": m.channel,
                "status": m.status,
                "error": m.error,
                "attempts": m.attempts,
                "created_at": m.created_at,
            }
        )
        for m in failed
    ]


def payment_views(session: Session, payments: list[Payment]) -> list[PaymentOut]:
    """Payments as the creditor's API shows them: each with its allocations, an instalment named by its
    commitment's reference and its place in the schedule."""
    instalment_ids = {a.instalment_id for p in payments for a in p.allocations if a.instalment_id is not None}
    places = {
        row.id: row
        for row in session.execute(
            select(Instalment.id, Instalment.sequence, Instalment.due_date, Commitment.reference)
            .join(Commitment, Commitment.id == Instalment.commitment_id)
            .where(Instalment.id.in_(instalment_ids))
        )
    }
    accounts = select(Account.id, Account.reference).where(Account.id.in_({p.account_id for p in payments}))
    references: dict[int, str] = {account_id: reference for account_id, reference in session.execute(accounts)}

    def allocation(row: Any) -> dict[str, Any]:
        place = places.get(row.instalment_id)
        return {
            "kind": row.kind,
            "amount_minor": row.amount_minor,
            "instalment_id": row.instalment_id,
            "commitment_reference": place.reference if place else None,
            "instalment_sequence": place.sequence if place else None,
            "instalment_due_date": place.due_date if place else None,
        }

    return [
        PaymentOut.model_validate(
            {
                "external_id": p.external_id,
                "reference": references[p.account_id],
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "paid_at": p.paid_at,
                "method": p.method,
                "received_at": p.received_at,
                "reverses": p.reverses.external_id if p.reverses else None,
                "balance_applied_minor": p.balance_applied_minor,
                "fees_applied_minor": p.fees_applied_minor,
                "allocations": [allocation(a) for a in p.allocations],
            }
        )
        for p in payments
    ]


def creditor_account_view(session: Session, settings: Settings, account: Account) -> AccountDetailOut:
    """The account with everything recorded about it, as the creditor's API shows it."""
    records = account_records(session, account)
    # The same document for the creditor, behind the API key.
    pdf_base = f"{settings.base_url}/api/v1/accounts/{account.reference}/confirmations"
    confirmations = [
        ConfirmationOut.model_validate(
            {
                "number": c.number,
                "kind": c.kind,
                "language": c.language,
                "channel": c.channel,
                "created_at": c.created_at,
                "document_url": signing.document_url(c.id, settings),
                "pdf_url": f"{pdf_base}/{c.number}.pdf",
            }
        )
        for c in records.confirmations
    ]

    def each(schema: Any, rows: list[Any]) -> list[Any]:
        return [schema.model_validate(row, from_attributes=True) for row in rows]

    return AccountDetailOut(
        **AccountOut.model_validate(account, from_attributes=True).model_dump(),
        verification_locked=account_is_locked(session, account, settings),
        conversations=_conversations(session, account),
        signals=each(SignalOut, records.signals),
        commitments=each(CommitmentOut, records.commitments),
        confirmations=confirmations,
        disputes=each(DisputeOut, records.disputes),
        consents=each(ConsentOut, records.consents),
        handoffs=each(HandoffOut, _rows(session, account, Handoff, Handoff.id)),
        payment_claims=each(PaymentClaimOut, records.payment_claims),
        contact_preferences=each(ContactPreferenceOut, _rows(session, account, ContactPreference, ContactPreference.id)),
        delivery_failures=_delivery_failures(session, account),
        credit_minor=account.credit_minor,
        payments=payment_views(session, records.payments),
        contacts=contact_views(session, account),
        data_requests=data_request_views(session, settings, account),
        restricted=account.restricted,
        erased_at=account.erased_at,
        budgets=each(BudgetSummaryOut, budgets_of(session, account)),
    )


def data_request_views(session: Session, settings: Settings, account: Account) -> list[DataRequestOut]:
    base = f"{settings.base_url}/api/v1/accounts/{account.reference}/data-requests"
    rows = session.scalars(select(DataRequest).where(DataRequest.account_id == account.id).order_by(DataRequest.id))
    return [data_request_view(row, base) for row in rows]


def data_request_view(request: DataRequest, base: str) -> DataRequestOut:
    view = DataRequestOut.model_validate(request, from_attributes=True)
    if request.export_json is not None:
        view.export_json_url, view.export_pdf_url = f"{base}/{request.id}/export.json", f"{base}/{request.id}/export.pdf"
    return view


def contact_views(session: Session, account: Account) -> list[ContactOut]:
    """The account's contacts, their moments in the debtor's local time."""
    zone = ZoneInfo(account.timezone)
    views = []
    for contact in contacts_of(session, account.id):
        view = ContactOut.model_validate(contact, from_attributes=True)
        views.append(
            view.model_copy(
                update={"scheduled_for": view.scheduled_for.astimezone(zone), "planned_for": view.planned_for.astimezone(zone)}
            )
        )
    return views
