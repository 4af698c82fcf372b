"""Recording what happened in a conversation: signals, disputes, consents, handoffs, audit entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import datetime as dt

from api.models import (
    Account,
    AuditEntry,
    Consent,
    ContactPreference,
    Conversation,
    Creditor,
    Dispute,
    Handoff,
    Message,
    PaymentClaim,
    Signal,
)
from api.services.errors import NotVerified

# Vulnerability first: a person in distress must not wait behind a routine request.
HANDOFF_PRIORITY = {"vulnerability": 0, "verification_locked": 1, "complaint": 1, "dispute": 2}


def audit(session: Session, actor: str, action: str, entity: str, entity_id: Any, **detail: Any) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )


def last_inbound_message(session: Session, conversation: Conversation) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
    )


def record_signal(
    session: Session,
    conversation: Conversation,
    *,
    kind: str,
    detail: str | None,
    confidence: float | None,
) -> Signal:
    message = last_inbound_message(session, conversation)
    signal = Signal(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        message_id=message.id if message else None,
        kind=kind,
        detail=detail,
        confidence=confidence,
        language=conversation.language,
    )
    session.add(signal)
    session.flush()
    audit(session, "bot", "signal_recorded", "signal", signal.id, kind=kind, detail=detail)
    return signal


def require_account(conversation: Conversation) -> Account:
    if conversation.verified_at is None or conversation.account is None:
        raise NotVerified()
    return conversation.account


def record_dispute(session: Session, conversation: Conversation, reason: str | None) -> Dispute:
    """Records the dispute and pauses collection on the account until it is reviewed."""
    account = require_account(conversation)
    dispute = Dispute(account_id=account.id, conversation_id=conversation.id, reason=reason)
    account.status = "disputed"
    session.add(dispute)
    session.flush()
    audit(session, "bot", "dispute_recorded", "dispute", dispute.id, reason=reason, account=account.reference)
    return dispute


def record_opt_out(session: Session, conversation: Conversation) -> Consent:
    consent = Consent(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        channel_address=conversation.channel_address,
        kind="opt_out",
    )
    session.add(consent)
    session.flush()
    audit(session, "bot", "opt_out_recorded", "consent", consent.id, channel=conversation.channel)
    return consent


def is_opted_out(session: Session, channel: str, channel_address: str) -> bool:
    latest = session.scalar(
        select(Consent)
        .where(Consent.channel == channel, Consent.channel_address == channel_address)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return latest is not None and latest.kind == "opt_out"


def request_handoff(session: Session, conversation: Conversation, reason: str, summary: dict[str, Any]) -> Handoff:
    handoff = Handoff(
        conversation_id=conversation.id,
        account_id=conversation.account_id,
        reason=reason,
        priority=HANDOFF_PRIORITY.get(reason, 3),
        summary=summary,
    )
    # The conversation stays with the bot until the agent console exists (issue 5) to route it to a queue.
    session.add(handoff)
    session.flush()
    audit(session, "bot", "handoff_requested", "handoff", handoff.id, reason=reason)
    return handoff


def flag_vulnerability(
    session: Session, conversation: Conversation, confidence: float | None, claimed_reference: str | None = None
) -> list[str]:
    """Stops collection talk, hands to a person first in the queue, and returns where to find help.

    Before verification is complete, the account the person pointed at (the reference they gave, or the
    account their phone number is on) is flagged too: a flag only protects (collection waits for a person
    to review), and the writer learns nothing from it.
    """
    record_signal(session, conversation, kind="vulnerability", detail=None, confidence=confidence)
    account = conversation.account if conversation.verified_at is not None else None
    if account is None and claimed_reference:
        account = session.scalar(
            select(Account).where(Account.creditor_id == conversation.creditor_id, Account.reference == claimed_reference.upper())
        )
    if account is None and conversation.candidate_account_id:
        account = session.get(Account, conversation.candidate_account_id)
    if account is not None:
        account.vulnerable = True
        audit(session, "bot", "vulnerability_flagged", "account", account.id, verified=conversation.verified_at is not None)
    summary = {"verified": conversation.verified_at is not None, "account_flagged": account is not None}
    request_handoff(session, conversation, "vulnerability", summary)
    creditor = session.get(Creditor, conversation.creditor_id)
    resources = creditor.support_resources or {}
    language = conversation.language or "en"
    return list(resources.get(language) or resources.get("en") or [])


def record_complaint(session: Session, conversation: Conversation, confidence: float | None) -> Handoff:
    record_signal(session, conversation, kind="complaint", detail=None, confidence=confidence)
    return request_handoff(session, conversation, "complaint", {"verified": conversation.verified_at is not None})


def record_payment_claim(
    session: Session, conversation: Conversation, paid_on: dt.date | None, means: str | None
) -> PaymentClaim:
    """The debtor says they paid: recorded to be checked, and no reminder goes out until it is."""
    account = require_account(conversation)
    claim = PaymentClaim(account_id=account.id, conversation_id=conversation.id, paid_on=paid_on, means=means)
    account.reminders_paused = True
    session.add(claim)
    session.flush()
    audit(session, "bot", "payment_claim_recorded", "payment_claim", claim.id, paid_on=str(paid_on), means=means)
    return claim


def record_contact_preference(
    session: Session, conversation: Conversation, channel: str | None, time_window: str | None
) -> ContactPreference:
    preference = ContactPreference(
        account_id=conversation.account_id if conversation.verified_at else None,
        conversation_id=conversation.id,
        channel=channel,
        time_window=time_window,
    )
    session.add(preference)
    session.flush()
    audit(session, "bot", "contact_preference_recorded", "contact_preference", preference.id, channel=channel, time_window=time_window)
    return preference
