"""Offers, commitments and written confirmations for a verified conversation.

The negotiation rules themselves are pure functions in `offers`; this module stores what was offered,
enforces the order "summary shown -> explicit agreement -> commitment", and produces the confirmation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import (
    Account,
    Commitment,
    Confirmation,
    Conversation,
    Creditor,
    Instalment,
    NegotiationPolicy,
    Offer,
    utcnow,
)
from api.services import contacts, offers
from api.services.confirmation_pdf import ConfirmationDocument, render_confirmation_pdf
from api.services.errors import (
    AgreementRequired,
    CollectionPaused,
    Conflict,
    InvalidArrangement,
    NotFound,
    OutsidePolicy,
    UnderCare,
)
from api.services.presentation import debtor_today, document_heading, offer_view, short_reference
from api.services.records import audit, require_account


def policy_of(policy: NegotiationPolicy | None) -> offers.Policy:
    if policy is None:
        return offers.Policy()
    return offers.Policy(
        max_deferral_days=policy.max_deferral_days,
        min_instalments=policy.min_instalments,
        max_instalments=policy.max_instalments,
        min_instalment_minor=policy.min_instalment_minor,
        max_first_payment_days=policy.max_first_payment_days,
        max_settlement_discount_pct=policy.max_settlement_discount_pct,
        fee_waiver_allowed=policy.fee_waiver_allowed,
    )


def _collectable_account(
    session: Session, conversation: Conversation, *, reviewed_by_agent: bool = False
) -> tuple[Account, offers.Policy]:
    account = require_account(conversation)
    # A dispute, or processing restricted at the debtor's request (GDPR art. 18): nothing is collected.
    if account.status == "disputed" or account.restricted:
        raise CollectionPaused()
    # A vulnerable debtor's account waits for a person: an agent is that person, the bot never is.
    if account.vulnerable and not reviewed_by_agent:
        raise UnderCare()
    creditor = session.get_one(Creditor, account.creditor_id)
    return account, policy_of(creditor.policy if creditor else None)


def collectable(session: Session, conversation: Conversation) -> tuple[Account, offers.Policy]:
    """The verified account and its policy, when an arrangement may be talked about now (CollectionPaused,
    UnderCare, NotVerified otherwise)."""
    return _collectable_account(session, conversation)


def _schedule_rows(offer: offers.Offer) -> list[dict[str, Any]]:
    return [{"due_date": i.due_date.isoformat(), "amount_minor": i.amount_minor} for i in offer.instalments]


def _store_offer(
    session: Session,
    account: Account,
    conversation: Conversation,
    offer: offers.Offer,
    *,
    status: str,
    reasons: tuple[str, ...] = (),
    proposal: dict[str, Any] | None = None,
) -> Offer:
    row = Offer(
        account_id=account.id,
        conversation_id=conversation.id,
        kind=offer.kind,
        status=status,
        currency=offer.currency,
        total_minor=offer.total_minor,
        fees_waived_minor=offer.fees_waived_minor,
        discount_minor=offer.discount_minor,
        frequency=offer.frequency,
        schedule=_schedule_rows(offer),
        reasons=list(reasons),
        proposal=proposal or {},
    )
    session.add(row)
    session.flush()
    return row


def options_for(session: Session, conversation: Conversation) -> list[Offer]:
    """The goodwill options the creditor's policy allows, stored so the debtor can pick one."""
    account, policy = _collectable_account(session, conversation)
    options = offers.default_options(
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        currency=account.currency,
        policy=policy,
        today=debtor_today(account),
    )
    return [_store_offer(session, account, conversation, option, status="countered") for option in options]


def offer_deferral(session: Session, conversation: Conversation) -> Offer:
    """More time, to the policy's limit, offered by us (not asked by the debtor): stored so it can be agreed to."""
    account, policy = _collectable_account(session, conversation)
    evaluation = offers.evaluate(
        offers.Proposal(kind="deferral"),
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        currency=account.currency,
        policy=policy,
        today=debtor_today(account),
    )
    return _store_offer(session, account, conversation, evaluation.offer, status="countered")


def evaluate_proposal(session: Session, conversation: Conversation, proposal: offers.Proposal) -> tuple[Offer, bool]:
    """Stores the debtor's proposal as an offer: as asked when within policy, else the closest counter-offer."""
    account, policy = _collectable_account(session, conversation)
    evaluation = offers.evaluate(
        proposal,
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        currency=account.currency,
        policy=policy,
        today=debtor_today(account),
    )
    proposal_record = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(proposal).items()}
    row = _store_offer(
        session,
        account,
        conversation,
        evaluation.offer,
        status="proposed" if evaluation.accepted else "countered",
        reasons=evaluation.reasons,
        proposal=proposal_record,
    )
    audit(session, "bot", "offer_evaluated", "offer", row.id, accepted=evaluation.accepted, reasons=list(evaluation.reasons))
    return row, evaluation.accepted


def insists_outside_policy(session: Session, conversation: Conversation, times: int = 2) -> bool:
    """True when the debtor's last `times` proposals were all outside the policy (countered, not taken)."""
    offers_made = session.scalars(
        select(Offer).where(Offer.conversation_id == conversation.id).order_by(Offer.created_at.desc(), Offer.id.desc())
    )
    # Those the debtor proposed (JSON is not comparable in PostgreSQL's SQL: filtered here; a conversation has few).
    recent = [row for row in offers_made if row.proposal][:times]
    return len(recent) == times and all(row.status in ("countered", "declined") and row.reasons for row in recent)


def _offer_of_conversation(session: Session, conversation: Conversation, offer_id: str) -> Offer:
    row = session.get(Offer, offer_id)
    if row is None or row.conversation_id != conversation.id:
        raise NotFound()
    return row


def summarise_offer(session: Session, conversation: Conversation, offer_id: str) -> Offer:
    """Marks the offer as shown to the debtor as a summary; only a summarised offer can be agreed to."""
    _collectable_account(session, conversation)
    row = _offer_of_conversation(session, conversation, offer_id)
    if row.status in {"accepted", "declined"}:
        raise Conflict()
    row.status = "summarised"
    row.summarised_at = utcnow()
    session.flush()
    return row


def decline_offer(session: Session, conversation: Conversation, offer_id: str) -> Offer:
    row = _offer_of_conversation(session, conversation, offer_id)
    if row.status != "accepted":
        row.status = "declined"
    return row


def accept_offer(
    session: Session,
    conversation: Conversation,
    offer_id: str,
    *,
    agreed_summary: str,
    settings: Settings,
    actor: str = "bot",
    outside_policy_reason: str | None = None,
) -> tuple[Commitment, Confirmation]:
    """Records the commitment the debtor explicitly agreed to, and its written confirmation."""
    account, _ = _collectable_account(session, conversation, reviewed_by_agent=actor.startswith("agent:"))
    row = _offer_of_conversation(session, conversation, offer_id)
    if row.status == "accepted":
        raise Conflict()
    if row.status != "summarised" or row.summarised_at is None:
        raise AgreementRequired()
    today = debtor_today(account)
    commitment = Commitment(
        reference=short_reference("COM", today),
        account_id=account.id,
        conversation_id=conversation.id,
        offer_id=row.id,
        kind=row.kind,
        currency=row.currency,
        total_minor=row.total_minor,
        fees_waived_minor=row.fees_waived_minor,
        discount_minor=row.discount_minor,
        frequency=row.frequency,
        agreed_summary=agreed_summary,
        recorded_by=actor,
        outside_policy_reason=outside_policy_reason,
        instalments=[
            Instalment(sequence=n, due_date=dt.date.fromisoformat(i["due_date"]), amount_minor=i["amount_minor"])
            for n, i in enumerate(row.schedule, start=1)
        ],
    )
    # A new plan replaces the one the debtor had (change_plan): only one commitment is active at a time.
    for previous in session.scalars(select(Commitment).where(Commitment.account_id == account.id, Commitment.status == "active")):
        previous.status = "replaced"
        previous.ended_at = utcnow()
    row.status = "accepted"
    account.status = "arranged"
    session.add(commitment)
    session.flush()
    confirmation = create_confirmation(session, account, commitment, conversation, settings)
    # The reminders the confirmation announces ("we will remind you before each due date").
    contacts.plan_commitment(session, commitment, utcnow())
    audit(
        session,
        actor,
        "commitment_recorded",
        "commitment",
        commitment.reference,
        total_minor=commitment.total_minor,
        instalments=len(commitment.instalments),
        confirmation=confirmation.number,
        outside_policy=outside_policy_reason is not None,
    )
    return commitment, confirmation


def record_agent_commitment(
    session: Session,
    conversation: Conversation,
    proposal: offers.Proposal,
    *,
    actor: str,
    settings: Settings,
    outside_policy_reason: str | None = None,
) -> tuple[Commitment, Confirmation]:
    """An arrangement an agent agreed with the debtor: within policy as asked, or beyond it with a reason."""
    account, policy = _collectable_account(session, conversation, reviewed_by_agent=True)
    terms: dict[str, Any] = {
        "balance_minor": account.balance_minor,
        "fees_minor": account.fees_minor,
        "currency": account.currency,
        "policy": policy,
        "today": debtor_today(account),
    }
    evaluation = offers.evaluate(proposal, **terms)
    proposal_record = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(proposal).items()}
    if evaluation.accepted:
        offer, reasons, reason_given = evaluation.offer, tuple[str, ...](), None
    elif outside_policy_reason:
        try:
            offer = offers.as_asked(proposal, **terms)
        except ValueError as exc:
            raise InvalidArrangement(str(exc)) from exc
        reasons, reason_given = evaluation.reasons, outside_policy_reason
    else:
        counter = _store_offer(
            session,
            account,
            conversation,
            evaluation.offer,
            status="countered",
            reasons=evaluation.reasons,
            proposal=proposal_record,
        )
        raise OutsidePolicy(offer_view(counter, conversation.language or account.language))
    row = _store_offer(
        session, account, conversation, offer, status="summarised", reasons=tuple(reasons), proposal=proposal_record
    )
    row.summarised_at = utcnow()
    audit(session, actor, "offer_evaluated", "offer", row.id, accepted=evaluation.accepted, reasons=list(evaluation.reasons))
    # The evidence is what the agent recorded, in the debtor's language, as the debtor will read it in writing.
    summary = offer_view(row, conversation.language or account.language)["schedule_text"]
    return accept_offer(
        session, conversation, row.id, agreed_summary=summary, settings=settings, actor=actor, outside_policy_reason=reason_given
    )


def create_confirmation(
    session: Session,
    account: Account,
    commitment: Commitment,
    conversation: Conversation | None,
    settings: Settings,
) -> Confirmation:
    creditor = session.get_one(Creditor, account.creditor_id)
    language = conversation.language if conversation and conversation.language else account.language
    number = short_reference("CONF", debtor_today(account))
    document = ConfirmationDocument(
        **document_heading(creditor, account, settings, language=language, number=number, issued_at=utcnow()),
        principal_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        fees_waived_minor=commitment.fees_waived_minor,
        discount_minor=commitment.discount_minor,
        total_minor=commitment.total_minor,
        instalments=tuple((i.due_date, i.amount_minor) for i in commitment.instalments),
        change_plan_instructions=i18n.t("confirmation.change_plan_instructions", language),
    )
    confirmation = Confirmation(
        number=number,
        account_id=account.id,
        commitment_id=commitment.id,
        language=language,
        channel=conversation.channel if conversation else None,
        pdf=render_confirmation_pdf(document, font_dir=settings.font_dir),
    )
    session.add(confirmation)
    session.flush()
    return confirmation


def confirmations_of(session: Session, account: Account) -> list[Confirmation]:
    return list(
        session.scalars(select(Confirmation).where(Confirmation.account_id == account.id).order_by(Confirmation.created_at))
    )
