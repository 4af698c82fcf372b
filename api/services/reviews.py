"""A person ends what the bot only records: a dispute is resolved with a written answer, a vulnerability flag
is reviewed.

A dispute resolved — upheld (the balance corrected, or the account closed) or rejected (with the explanation
and the facts it rests on) — gets a written answer: a PDF and a message with its link, sent as a contact
through the gate and the one outbound writer. Collection stays paused until that answer has left: the
account leaves `disputed` only when the outbox has sent the message (`answer_left`), and not while another
dispute of the account is open or unanswered.

A vulnerability flag is kept (with a support plan: automated collection stays off, a person contacts the
debtor) or cleared with a note; either way the review is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.models import Account, Commitment, Confirmation, Contact, Creditor, Dispute, Message
from api.services import contacts
from api.services.audit import audit
from api.services.confirmation_pdf import DisputeAnswerDocument, render_dispute_answer_pdf
from api.services.errors import Conflict, InvalidAmount, NotFound
from api.services.presentation import document_heading, short_reference
from api.states import AccountStatus, CommitmentStatus, ContactKind, DisputeStatus

Outcome = Literal["upheld", "rejected"]


def resolve_dispute(
    session: Session,
    settings: Settings,
    dispute: Dispute,
    *,
    outcome: Outcome,
    explanation: str,
    actor: str,
    now: dt.datetime,
    corrected_balance_minor: int | None = None,
    close_account: bool = False,
) -> Dispute:
    """Records the decision, makes the written answer and plans its sending. Conflict when the dispute was
    resolved already; InvalidAmount for a correction that is not a reduction of what is owed."""
    if dispute.status != DisputeStatus.OPEN:
        raise Conflict()
    account = session.get_one(Account, dispute.account_id)
    if outcome == "rejected" and (corrected_balance_minor is not None or close_account):
        raise InvalidAmount()
    if corrected_balance_minor is not None and not 0 <= corrected_balance_minor < account.balance_minor:
        raise InvalidAmount()
    dispute.status = DisputeStatus.UPHELD if outcome == "upheld" else DisputeStatus.REJECTED
    dispute.resolved_at, dispute.resolved_by, dispute.explanation = now, actor, explanation
    dispute.balance_before_minor = account.balance_minor
    confirmation = _written_answer(session, settings, account, dispute, now, corrected_balance_minor, close_account)
    dispute.answer_confirmation_id = confirmation.id
    if close_account:
        dispute.closed_account = True
        account.status = AccountStatus.CLOSED
        for commitment in session.scalars(
            select(Commitment).where(Commitment.account_id == account.id, Commitment.status == CommitmentStatus.ACTIVE)
        ):
            commitment.status, commitment.ended_at = CommitmentStatus.CANCELLED, now
            contacts.cancel_open(session, commitment.id, "account_closed", now)
    elif corrected_balance_minor is not None:
        dispute.corrected_balance_minor = corrected_balance_minor
        account.balance_minor = corrected_balance_minor
    session.flush()
    contacts.plan(
        session,
        key=f"{ContactKind.DISPUTE_ANSWER}:{dispute.id}",
        kind=ContactKind.DISPUTE_ANSWER,
        account=account,
        at=now,
        now=now,
        dispute=dispute,
    )
    audit(
        session,
        actor,
        "dispute_resolved",
        "dispute",
        dispute.id,
        outcome=outcome,
        account=account.reference,
        balance_before_minor=dispute.balance_before_minor,
        corrected_balance_minor=corrected_balance_minor,
        closed_account=close_account,
        answer=confirmation.number,
    )
    return dispute


def _written_answer(
    session: Session,
    settings: Settings,
    account: Account,
    dispute: Dispute,
    now: dt.datetime,
    corrected_balance_minor: int | None,
    close_account: bool,
) -> Confirmation:
    creditor = session.get_one(Creditor, account.creditor_id)
    language = account.language
    number = short_reference("ANS", now.date())
    document = DisputeAnswerDocument(
        **document_heading(creditor, account, settings, language=language, number=number, issued_at=now),
        disputed_on=dispute.created_at.date(),
        outcome=str(dispute.status),
        explanation=dispute.explanation or "",
        principal_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        due_date=account.due_date,
        corrected_principal_minor=corrected_balance_minor,
        closed_account=close_account,
    )
    confirmation = Confirmation(
        number=number,
        account_id=account.id,
        kind="dispute_answer",
        language=language,
        pdf=render_dispute_answer_pdf(document, font_dir=settings.font_dir),
    )
    session.add(confirmation)
    session.flush()
    return confirmation


def answer_left(session: Session, message: Message, now: dt.datetime) -> Dispute | None:
    """The outbox sent a message: when it carried a dispute's written answer, collection may resume — once no
    other dispute of the account is open or still unanswered."""
    contact = session.scalar(select(Contact).where(Contact.message_id == message.id, Contact.kind == ContactKind.DISPUTE_ANSWER))
    if contact is None or contact.dispute_id is None:
        return None
    dispute = session.get_one(Dispute, contact.dispute_id)
    dispute.answered_at = now
    if confirmation := session.get(Confirmation, dispute.answer_confirmation_id):
        confirmation.sent_at = now
    account = session.get_one(Account, dispute.account_id)
    waiting = session.scalar(
        select(Dispute.id)
        .where(Dispute.account_id == account.id, Dispute.id != dispute.id)
        .where((Dispute.status == DisputeStatus.OPEN) | Dispute.answered_at.is_(None))
        .limit(1)
    )
    if waiting is None and account.status == AccountStatus.DISPUTED:
        active = session.scalar(
            select(Commitment.id).where(Commitment.account_id == account.id, Commitment.status == CommitmentStatus.ACTIVE)
        )
        account.status = AccountStatus.ARRANGED if active else AccountStatus.ACTIVE
        audit(session, "system", "collection_resumed", "account", account.reference, dispute=dispute.id)
    return dispute


def find_dispute(session: Session, account: Account, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None or dispute.account_id != account.id:
        raise NotFound()
    return dispute


def review_vulnerability(
    session: Session, account: Account, *, decision: Literal["keep", "clear"], note: str, actor: str, now: dt.datetime
) -> Account:
    """Kept: the support plan (`note`) says how a person will contact the debtor; automated collection stays
    off. Cleared: the flag is lifted with the reason, and automated collection may resume."""
    account.care_reviewed_at, account.care_reviewed_by = now, actor
    if decision == "keep":
        account.vulnerable = True
        account.care_plan = note
    else:
        account.vulnerable = False
        account.care_plan = None
    audit(session, actor, "vulnerability_reviewed", "account", account.reference, decision=decision, note=note)
    return account
