"""Creditor API: load accounts and read everything recorded about them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.deps import CreditorDep, SessionDep, SettingsDep
from api.models import (
    Account,
    Commitment,
    Consent,
    ContactPreference,
    Conversation,
    Dispute,
    Handoff,
    Message,
    PaymentClaim,
    Signal,
)
from api.schemas import (
    DeliveryFailureOut,
    AccountDetailOut,
    AccountIn,
    AccountOut,
    CommitmentOut,
    ConfirmationOut,
    ConsentOut,
    ContactPreferenceOut,
    ConversationOut,
    DisputeOut,
    HandoffOut,
    InstalmentOut,
    PaymentClaimOut,
    SignalOut,
    VerificationUnlockOut,
)
from api.routes.documents import pdf_response
from api.services.arrangements import confirmations_of, document_url
from api.services.records import audit
from api.services.verification import account_is_locked, unlock_reference

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


def _find(session: SessionDep, creditor_id: int, reference: str) -> Account:
    account = session.scalar(
        select(Account).where(Account.creditor_id == creditor_id, Account.reference == reference.upper())
    )
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No account with reference {reference!r}.")
    return account


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
def create_account(body: AccountIn, creditor: CreditorDep, session: SessionDep) -> Account:
    exists = session.scalar(
        select(Account.id).where(Account.creditor_id == creditor.id, Account.reference == body.reference)
    )
    if exists:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"An account with reference {body.reference!r} exists; use PUT to update it.")
    account = Account(creditor_id=creditor.id, **body.model_dump())
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent POST with the same reference
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"An account with reference {body.reference!r} exists.") from exc
    audit(session, f"creditor:{creditor.id}", "account_created", "account", account.reference)
    return account


@router.put("/{reference}", response_model=AccountOut)
def update_account(reference: str, body: AccountIn, creditor: CreditorDep, session: SessionDep) -> Account:
    account = _find(session, creditor.id, reference)
    if body.reference != account.reference:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="The reference in the body must match the URL.")
    for field, value in body.model_dump().items():
        setattr(account, field, value)
    session.flush()
    audit(session, f"creditor:{creditor.id}", "account_updated", "account", account.reference)
    return account


@router.get("/{reference}", response_model=AccountDetailOut)
def read_account(reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep) -> AccountDetailOut:
    account = _find(session, creditor.id, reference)

    def rows(model, *order):  # noqa: ANN001, ANN202
        return list(session.scalars(select(model).where(model.account_id == account.id).order_by(*order)))

    message_counts = dict(
        session.execute(
            select(Message.conversation_id, func.count())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.account_id == account.id)
            .group_by(Message.conversation_id)
        ).all()
    )
    conversations = [
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
        for c in rows(Conversation, Conversation.created_at)
    ]
    commitments = [
        CommitmentOut(
            reference=c.reference,
            kind=c.kind,
            status=c.status,
            currency=c.currency,
            total_minor=c.total_minor,
            fees_waived_minor=c.fees_waived_minor,
            discount_minor=c.discount_minor,
            frequency=c.frequency,
            agreed_at=c.agreed_at,
            instalments=[InstalmentOut(due_date=i.due_date, amount_minor=i.amount_minor, status=i.status) for i in c.instalments],
        )
        for c in rows(Commitment, Commitment.agreed_at)
    ]
    confirmations = [
        ConfirmationOut(
            number=c.number,
            kind=c.kind,
            language=c.language,
            channel=c.channel,
            created_at=c.created_at,
            document_url=document_url(c, settings),
            pdf_url=f"{settings.base_url}/api/v1/accounts/{account.reference}/confirmations/{c.number}.pdf",
        )
        for c in confirmations_of(session, account)
    ]
    return AccountDetailOut(
        **AccountOut.model_validate(account, from_attributes=True).model_dump(),
        verification_locked=account_is_locked(session, account, settings),
        conversations=conversations,
        signals=[SignalOut.model_validate(s, from_attributes=True) for s in rows(Signal, Signal.id)],
        commitments=commitments,
        confirmations=confirmations,
        disputes=[DisputeOut.model_validate(d, from_attributes=True) for d in rows(Dispute, Dispute.id)],
        consents=[ConsentOut.model_validate(c, from_attributes=True) for c in rows(Consent, Consent.id)],
        handoffs=[HandoffOut.model_validate(h, from_attributes=True) for h in rows(Handoff, Handoff.id)],
        payment_claims=[PaymentClaimOut.model_validate(c, from_attributes=True) for c in rows(PaymentClaim, PaymentClaim.id)],
        contact_preferences=[
            ContactPreferenceOut.model_validate(p, from_attributes=True) for p in rows(ContactPreference, ContactPreference.id)
        ],
        delivery_failures=[
            DeliveryFailureOut(
                message_id=m.id, conversation_id=m.conversation_id, channel=m.channel, status=m.status,
                error=m.error, attempts=m.attempts, created_at=m.created_at,
            )
            for m in session.scalars(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where((Conversation.account_id == account.id) | (Conversation.candidate_account_id == account.id))
                .where(Message.direction == "outbound", Message.status.in_(("failed", "undelivered")))
                .order_by(Message.id)
            )
        ],
    )


@router.post("/{reference}/verification-unlock", response_model=VerificationUnlockOut)
def unlock_verification(reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep) -> VerificationUnlockOut:
    """Lifts the lock that repeated failed verifications put on this reference (after checking the
    debtor's identity by other means)."""
    account = _find(session, creditor.id, reference)
    return VerificationUnlockOut(
        unlocked=unlock_reference(session, settings, creditor.id, account.reference, f"creditor:{creditor.id}")
    )


@router.get("/{reference}/confirmations/{number}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def read_confirmation_pdf(reference: str, number: str, creditor: CreditorDep, session: SessionDep) -> Response:
    """A written confirmation of one of the creditor's accounts, as sent to the debtor."""
    account = _find(session, creditor.id, reference)
    confirmation = next((c for c in confirmations_of(session, account) if c.number == number), None)
    if confirmation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No confirmation {number!r} on account {reference!r}.")
    return pdf_response(confirmation)
