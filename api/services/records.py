"""Recording what happened in a conversation: signals, disputes, consents, handoffs, audit entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.config import get_settings
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
    utcnow,
)
from api.services import handoffs
from api.services.audit import audit
from api.services.errors import InvalidDate, NotVerified
from api.states import ConsentKind, Direction


def last_inbound_message(session: Session, conversation: Conversation) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == Direction.INBOUND)
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
    actor: str = "bot",
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
    audit(session, actor, "signal_recorded", "signal", signal.id, kind=kind, detail=detail)
    return signal


def require_account(conversation: Conversation) -> Account:
    if conversation.verified_at is None or conversation.account is None:
        raise NotVerified()
    return conversation.account


def record_dispute(session: Session, conversation: Conversation, reason: str | None, actor: str = "bot") -> Dispute:
    """Records the dispute and pauses collection on the account until it is reviewed.

    When the creditor wants disputes reviewed by a person, the dispute also joins the agents' queue.
    """
    account = require_account(conversation)
    dispute = Dispute(account_id=account.id, conversation_id=conversation.id, reason=reason)
    account.status = "disputed"
    session.add(dispute)
    session.flush()
    audit(session, actor, "dispute_recorded", "dispute", dispute.id, reason=reason, account=account.reference)
    creditor = session.get_one(Creditor, conversation.creditor_id)
    if creditor.review_disputes and not actor.startswith("agent:"):
        handoffs.request_handoff(session, conversation, "dispute", actor=actor, note=reason)
    return dispute


def record_consent(
    session: Session,
    conversation: Conversation,
    kind: str,
    actor: str,
    *,
    channel: str | None = None,
    address: str | None = None,
    **detail: Any,
) -> Consent:
    """An opt-out or opt-in (the latest one applies), on the conversation's channel and address unless another
    is named (asked in one channel about another)."""
    consent = Consent(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        channel=channel or conversation.channel,
        channel_address=address or conversation.channel_address,
        kind=kind,
    )
    session.add(consent)
    session.flush()
    audit(session, actor, f"{kind}_recorded", "consent", consent.id, channel=consent.channel, **detail)
    return consent


def record_opt_out(session: Session, conversation: Conversation, actor: str = "bot") -> Consent:
    return record_consent(session, conversation, "opt_out", actor)


def record_phone_opt_outs(session: Session, conversation: Conversation, channels: list[str], actor: str = "bot") -> list[Consent]:
    """Opt-outs on the verified account's phone number for these channels (asked in another channel, e.g. the
    web chat): the contacts and the outbound writer read them as if STOP had been sent on each."""
    phone = require_account(conversation).phone
    if phone is None:
        return []
    return [
        record_consent(
            session, conversation, ConsentKind.OPT_OUT, actor, channel=channel, address=phone, asked_on=conversation.channel
        )
        for channel in channels
    ]


def latest_consent(session: Session, channel: str, channel_address: str) -> Consent | None:
    return session.scalar(
        select(Consent)
        .where(Consent.channel == channel, Consent.channel_address == channel_address)
        .order_by(Consent.id.desc())
        .limit(1)
    )


def is_opted_out(session: Session, channel: str, channel_address: str) -> bool:
    latest = latest_consent(session, channel, channel_address)
    return latest is not None and latest.kind == "opt_out"


# A flag raised before verification pauses the account for a person to review; a stranger naming a reference
# may do it this many times a week, so that clearing a false flag is not undone at once, again and again.
UNVERIFIED_FLAGS_PER_WEEK = 3
UNVERIFIED_FLAG = "vulnerability_flagged_unverified"


def _unverified_flags(session: Session, account: Account) -> int:
    since = utcnow() - dt.timedelta(days=7)
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == UNVERIFIED_FLAG,
                AuditEntry.entity == "account",
                AuditEntry.entity_id == str(account.id),
                AuditEntry.created_at >= since,
            )
        )
        or 0
    )


def flag_vulnerability(
    session: Session,
    conversation: Conversation,
    confidence: float | None,
    claimed_reference: str | None = None,
    actor: str = "bot",
) -> tuple[list[str], handoffs.Availability | None]:
    """Stops collection talk, hands to a person first in the queue, and returns where to find help.

    Before verification is complete, the account the person pointed at (the reference they gave, or the
    account their phone number is on) is flagged too: a flag only protects (collection waits for a person
    to review), and the writer learns nothing from it. An agent who flags it is already the person: no
    new handoff then.
    """
    record_signal(session, conversation, kind="vulnerability", detail=None, confidence=confidence, actor=actor)
    account = conversation.account if conversation.verified_at is not None else None
    if account is None and claimed_reference:
        account = session.scalar(
            select(Account).where(Account.creditor_id == conversation.creditor_id, Account.reference == claimed_reference.upper())
        )
    if account is None and conversation.candidate_account_id:
        account = session.get(Account, conversation.candidate_account_id)
    verified = conversation.verified_at is not None
    if account is not None and not verified and _unverified_flags(session, account) >= UNVERIFIED_FLAGS_PER_WEEK:
        # Someone who has not proved who they are has paused this account often enough this week (a person
        # cleared it in between): the account waits for a verified conversation; this one still gets care.
        audit(session, actor, "vulnerability_flag_limited", "account", account.id)
        account = None
    if account is not None:
        account.vulnerable = True
        action = "vulnerability_flagged" if verified else UNVERIFIED_FLAG
        audit(session, actor, action, "account", account.id, verified=verified)
    team = None
    if not actor.startswith("agent:"):
        _, team = handoffs.request_handoff(session, conversation, "vulnerability", actor=actor)
    creditor = session.get_one(Creditor, conversation.creditor_id)
    resources = creditor.support_resources or {}
    language = conversation.language or get_settings().default_language
    return list(resources.get(language) or resources.get("en") or []), team


def record_complaint(
    session: Session, conversation: Conversation, confidence: float | None
) -> tuple[Handoff, handoffs.Availability]:
    record_signal(session, conversation, kind="complaint", detail=None, confidence=confidence)
    return handoffs.request_handoff(session, conversation, "complaint")


def record_payment_claim(
    session: Session, conversation: Conversation, paid_on: dt.date | None, means: str | None
) -> PaymentClaim:
    """The debtor says they paid: recorded to be checked, and no reminder goes out until it is.

    A payment cannot have been made in the future; a day of margin covers a debtor ahead of the server's
    clock (another timezone)."""
    if paid_on and paid_on > dt.date.today() + dt.timedelta(days=1):
        raise InvalidDate()
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
    audit(
        session,
        "bot",
        "contact_preference_recorded",
        "contact_preference",
        preference.id,
        channel=channel,
        time_window=time_window,
    )
    return preference
