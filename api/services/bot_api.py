"""What the action server asks of the api (/internal/v1/conversations/{id}/…): one function per request.

Each one reads or records through the domain services and answers in the internal API's shapes, with texts
in the conversation's language. The rules that join two services live here: a conversation locked by failed
verifications goes to a person, and so does a debtor who keeps asking for what the policy forbids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import Conversation, Creditor, utcnow
from api.schemas.common import Language, Limits, OfferStatus, Recorded
from api.schemas.internal import (
    AcceptedOut,
    ComplaintOut,
    ConversationContext,
    DebtorDataRequestOut,
    DeclinedOut,
    DisputeRecordedOut,
    HandoffQueuedOut,
    HandoffTiming,
    LanguageOut,
    OfferOut,
    OptedOutOut,
    OptionsOut,
    OtherChannelsOptedOutOut,
    ProposalOut,
    SummaryOut,
    VerifyOut,
    VulnerabilityOut,
)
from api.services import arrangements, data_rights, handoffs, offers, records, signing
from api.services.audit import audit
from api.services.bot_context import commitment_view, conversation_context
from api.services.errors import NotFound
from api.services.presentation import debtor_today, limits_view, offer_view
from api.services.verification import verify_identity


def conversation_of(session: Session, conversation_id: str) -> Conversation:
    """The conversation Rasa calls `conversation_id` (its sender id)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound()
    return conversation


def language_of(conversation: Conversation, settings: Settings) -> str:
    """The language the bot speaks in this conversation: the conversation's own (set by its first message, and
    by verification), else the verified account's, else the api's default."""
    account = conversation.account if conversation.verified_at is not None else None
    return conversation.language or (account.language if account else settings.default_language)


def _timing(team: handoffs.Availability, conversation: Conversation) -> HandoffTiming:
    return HandoffTiming.model_validate(handoffs.debtor_view(team, conversation))


def _limits(session: Session, conversation: Conversation, language: str) -> Limits:
    account = conversation.account
    assert account is not None  # the arrangement services refuse an unverified conversation first
    creditor = session.get_one(Creditor, account.creditor_id)
    policy = arrangements.policy_of(creditor.policy)
    return Limits.model_validate(limits_view(policy, account, language, debtor_today(account)))


def context(session: Session, settings: Settings, conversation_id: str) -> ConversationContext:
    conversation = conversation_of(session, conversation_id)
    return ConversationContext.model_validate(conversation_context(session, conversation, settings))


def verify(
    session: Session, settings: Settings, conversation_id: str, *, reference: str, date_of_birth: dt.date | None
) -> VerifyOut:
    """Checks the two factors. A conversation locked by failed attempts is handed to a person, who can check
    the debtor's identity by other means."""
    conversation = conversation_of(session, conversation_id)
    result = verify_identity(session, conversation, settings, reference=reference, date_of_birth=date_of_birth)
    audit(session, "bot", "verification_attempt", "conversation", conversation.id, succeeded=result.verified)
    # No count of the tries left: it would help a guesser more than a debtor.
    answer: dict[str, Any] = {"status": "verified" if result.verified else ("locked" if result.locked else "failed")}
    if result.locked:
        _, team = handoffs.request_handoff(session, conversation, "verification_locked")
        answer["handoff"] = _timing(team, conversation)
    context = ConversationContext.model_validate(conversation_context(session, conversation, settings))
    return VerifyOut(**answer, context=context)


def set_language(session: Session, conversation_id: str, language: Language) -> LanguageOut:
    conversation_of(session, conversation_id).language = language
    return LanguageOut(language=language)


def add_signal(session: Session, conversation_id: str, *, kind: str, detail: str | None, confidence: float | None) -> Recorded:
    conversation = conversation_of(session, conversation_id)
    signal = records.record_signal(session, conversation, kind=kind, detail=detail, confidence=confidence)
    return Recorded(id=signal.id)


def add_dispute(session: Session, conversation_id: str, reason: str | None) -> DisputeRecordedOut:
    conversation = conversation_of(session, conversation_id)
    dispute = records.record_dispute(session, conversation, reason)
    handoff = handoffs.active_handoff(session, conversation.id)
    # A creditor who reviews disputes: the debtor is told a person will look at it.
    return DisputeRecordedOut(id=dispute.id, review=handoff is not None and handoff.reason == "dispute")


def opt_out(session: Session, conversation_id: str) -> OptedOutOut:
    records.record_opt_out(session, conversation_of(session, conversation_id))
    return OptedOutOut(status="opted_out")


def opt_out_other_channels(session: Session, conversation_id: str, channels: list[str]) -> OtherChannelsOptedOutOut:
    conversation = conversation_of(session, conversation_id)
    consents = records.record_phone_opt_outs(session, conversation, channels)
    return OtherChannelsOptedOutOut.model_validate({"channels": [c.channel for c in consents]})


def open_data_request(session: Session, settings: Settings, conversation_id: str, kind: str) -> DebtorDataRequestOut:
    """The debtor's request for a copy of their data (made at once, behind a link that asks for the date of
    birth) or for its erasure (carried out once the conversation is over); both with the legal deadline."""
    conversation = conversation_of(session, conversation_id)
    account = records.require_account(conversation)
    request, _ = data_rights.open_request(
        session, settings, account, kind, requested_by="debtor", note=None, now=utcnow(), conversation=conversation
    )
    language = language_of(conversation, settings)
    deadline = request.deadline.astimezone(ZoneInfo(account.timezone)).date()
    return DebtorDataRequestOut.model_validate(
        {
            "number": data_rights.request_number(request),
            "kind": kind,
            "status": request.status,
            "deadline_text": i18n.format_date(deadline, language),
            "document_url": signing.data_export_url(request.id, settings) if request.export_pdf is not None else None,
        }
    )


def add_handoff(session: Session, conversation_id: str, *, reason: str, note: str | None) -> HandoffQueuedOut:
    """Queues the conversation for a person; says when one will answer (the creditor's team hours)."""
    conversation = conversation_of(session, conversation_id)
    handoff, team = handoffs.request_handoff(session, conversation, reason, note=note)
    return HandoffQueuedOut(id=handoff.id, priority=handoff.priority, **handoffs.debtor_view(team, conversation))


def options(session: Session, settings: Settings, conversation_id: str) -> OptionsOut:
    conversation = conversation_of(session, conversation_id)
    rows = arrangements.options_for(session, conversation)
    language = language_of(conversation, settings)
    return OptionsOut(
        options=[OfferOut.model_validate(offer_view(row, language)) for row in rows],
        limits=_limits(session, conversation, language),
    )


def propose(session: Session, settings: Settings, conversation_id: str, proposal: offers.Proposal) -> ProposalOut:
    """The debtor's proposal: as asked when within the policy, else the closest counter-offer. A debtor who
    keeps asking for what the policy forbids is handed to a person (who may agree to it; the bot may not)."""
    conversation = conversation_of(session, conversation_id)
    row, accepted = arrangements.evaluate_proposal(session, conversation, proposal)
    language = language_of(conversation, settings)
    answer: dict[str, Any] = {
        "accepted": accepted,
        **offer_view(row, language),
        "limits": _limits(session, conversation, language),
    }
    if not accepted and arrangements.insists_outside_policy(session, conversation):
        _, team = handoffs.request_handoff(session, conversation, "outside_policy")
        answer["handoff"] = _timing(team, conversation)
    return ProposalOut(**answer)


def summarise(session: Session, settings: Settings, conversation_id: str, offer_id: str) -> SummaryOut:
    conversation = conversation_of(session, conversation_id)
    row = arrangements.summarise_offer(session, conversation, offer_id)
    account = conversation.account
    assert account is not None  # summarise_offer refuses an unverified conversation
    return SummaryOut(**offer_view(row, language_of(conversation, settings)), account_reference=account.reference)


def accept(session: Session, settings: Settings, conversation_id: str, offer_id: str, agreed_summary: str) -> AcceptedOut:
    conversation = conversation_of(session, conversation_id)
    commitment, confirmation = arrangements.accept_offer(
        session, conversation, offer_id, agreed_summary=agreed_summary, settings=settings
    )
    return AcceptedOut(
        commitment_reference=commitment.reference,
        confirmation_number=confirmation.number,
        document_url=signing.document_url(confirmation.id, settings),
        plan_text=commitment_view(commitment, language_of(conversation, settings))["schedule_text"],
    )


def decline(session: Session, conversation_id: str, offer_id: str) -> DeclinedOut:
    row = arrangements.decline_offer(session, conversation_of(session, conversation_id), offer_id)
    return DeclinedOut(status=OfferStatus(row.status))


def flag_vulnerability(
    session: Session, conversation_id: str, *, confidence: float | None, claimed_reference: str | None
) -> VulnerabilityOut:
    conversation = conversation_of(session, conversation_id)
    resources, team = records.flag_vulnerability(session, conversation, confidence, claimed_reference)
    return VulnerabilityOut(support_resources=resources, handoff=_timing(team, conversation) if team else None)


def complain(session: Session, conversation_id: str, confidence: float | None) -> ComplaintOut:
    conversation = conversation_of(session, conversation_id)
    handoff, team = records.record_complaint(session, conversation, confidence)
    return ComplaintOut(handoff_id=handoff.id, handoff=_timing(team, conversation))


def claim_payment(session: Session, conversation_id: str, *, paid_on: dt.date | None, means: str | None) -> Recorded:
    claim = records.record_payment_claim(session, conversation_of(session, conversation_id), paid_on, means)
    return Recorded(id=claim.id)


def set_preference(session: Session, conversation_id: str, *, channel: str | None, time_window: str | None) -> Recorded:
    row = records.record_contact_preference(session, conversation_of(session, conversation_id), channel, time_window)
    return Recorded(id=row.id)
