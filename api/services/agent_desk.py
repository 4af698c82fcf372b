"""What an agent sees and does in the console, through the same services as the bot.

Every action is refused unless the agent has claimed the conversation, and lands in the audit log as
`agent:<id>`. What the agent sends reaches the debtor on their own channel: the web chat at once, SMS and
WhatsApp through the outbox (which refuses opted-out numbers and free text outside the WhatsApp window).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import (
    Account,
    Agent,
    AgentNote,
    Commitment,
    Confirmation,
    Conversation,
    Creditor,
    DataRequest,
    Dispute,
    Handoff,
    Message,
    Signal,
    utcnow,
)
from api.services import (
    affordability,
    agents,
    arrangements,
    data_rights,
    errors,
    handoffs,
    offers,
    outbound,
    records,
    reviews,
    signing,
)
from api.services.account_view import account_records, contact_views, data_request_views, payment_views
from api.services.audit import audit
from api.services.bot_context import commitment_view
from api.services.console_hub import after_commit, hub
from api.services.errors import NotFound, NotVerified
from api.services.presentation import account_view, debtor_today, limits_view, payment_methods
from api.services.transport import Reply, Transports
from api.services.verification import VerificationResult, unlock_reference, verify_identity
from api.states import Author, Channel, HandoffStatus

TRANSCRIPT_LIMIT = 500


def actor(agent: Agent) -> str:
    return f"agent:{agent.id}"


def _agent_brief(agent: Agent | None) -> dict[str, Any] | None:
    return {"id": agent.id, "name": agent.name} if agent else None


def _waiting_seconds(handoff: Handoff, now: dt.datetime) -> int:
    return max(0, int((now - handoff.created_at).total_seconds()))


def handoff_view(session: Session, handoff: Handoff, conversation: Conversation, now: dt.datetime) -> dict[str, Any]:
    return {
        "handoff_id": handoff.id,
        "conversation_id": conversation.id,
        "reason": handoff.reason,
        "priority": handoff.priority,
        "status": handoff.status,
        "created_at": handoff.created_at.isoformat(),
        "waiting_seconds": _waiting_seconds(handoff, now),
        "claimed_by": _agent_brief(handoff.claimed_by),
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "channel": conversation.channel,
        "language": conversation.language,
        "state": conversation.state,
        "summary": live_summary(session, handoff, conversation),
    }


def live_summary(session: Session, handoff: Handoff, conversation: Conversation) -> dict[str, Any]:
    """The summary as stored (reason, note, what the debtor asked then), with what changed since brought up
    to date: verification, balance, signals, the last offer."""
    stored = dict(handoff.summary or {})
    fresh = handoffs.build_summary(session, conversation, handoff.reason, stored.get("note"))
    for key in ("verified", "reference", "debtor_name", "balance_text", "signals", "last_offer"):
        stored[key] = fresh[key]
    return stored


def queue_view(session: Session, agent: Agent) -> list[dict[str, Any]]:
    """The queue of the creditors the agent serves."""
    now = utcnow()
    queue = handoffs.queue(session, agents.creditor_ids_of(session, agent))
    return [handoff_view(session, h, session.get_one(Conversation, h.conversation_id), now) for h in queue]


# -------------------------------------------------------------------------------------------------------
# Reading a conversation
# -------------------------------------------------------------------------------------------------------


def _linked_account(conversation: Conversation) -> Account | None:
    return conversation.account if conversation.verified_at is not None else None


def transcript(session: Session, conversation: Conversation) -> list[dict[str, Any]]:
    """Every message of this conversation, and of the verified account's other conversations (any channel)."""
    account = _linked_account(conversation)
    conversation_ids = [conversation.id]
    if account is not None:
        conversation_ids += list(
            session.scalars(
                select(Conversation.id).where(Conversation.account_id == account.id, Conversation.id != conversation.id)
            )
        )
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(TRANSCRIPT_LIMIT)
        )
    )
    signals: dict[int, list[dict[str, Any]]] = {}
    for signal in session.scalars(
        select(Signal).where(Signal.conversation_id.in_(conversation_ids), Signal.message_id.is_not(None))
    ):
        assert signal.message_id is not None  # selected so
        signals.setdefault(signal.message_id, []).append(
            {"kind": signal.kind, "detail": signal.detail, "confidence": signal.confidence}
        )
    return [
        {
            "id": m.id,
            "conversation_id": m.conversation_id,
            "this_conversation": m.conversation_id == conversation.id,
            "channel": m.channel,
            "direction": m.direction,
            "author": m.author,
            "text": m.text,
            "status": m.status,
            "created_at": m.created_at.isoformat(),
            "signals": signals.get(m.id, []),
        }
        for m in reversed(messages)
    ]


def account_panel(session: Session, settings: Settings, account: Account, language: str) -> dict[str, Any]:
    creditor = session.get_one(Creditor, account.creditor_id)

    def money(minor: int) -> str:
        return i18n.format_money(minor, account.currency, language)

    # The same records, in the same order, as the creditor's view of the account.
    recorded = account_records(session, account)
    policy = arrangements.policy_of(creditor.policy)
    commitments = recorded.commitments

    def recorder(actor_name: str) -> dict[str, Any]:
        kind, _, agent_id = actor_name.partition(":")
        agent = session.get(Agent, int(agent_id)) if kind == "agent" and agent_id.isdigit() else None
        return {"actor": actor_name, "agent": _agent_brief(agent)}

    return {
        **account_view(account, creditor.name, language, payment_methods(creditor, account, language)),
        "timezone": account.timezone,
        "due_date": account.due_date.isoformat(),
        "vulnerable": account.vulnerable,
        "reminders_paused": account.reminders_paused,
        "commitments": [
            {
                **commitment_view(c, language),
                "kind": c.kind,
                "agreed_at": c.agreed_at.isoformat(),
                "recorded_by": c.recorded_by,
                "recorded_by_agent": recorder(c.recorded_by)["agent"],
                "outside_policy_reason": c.outside_policy_reason,
                "instalments": [
                    {
                        "due_date": i.due_date.isoformat(),
                        "amount_minor": i.amount_minor,
                        "amount_text": money(i.amount_minor),
                        "status": i.status,
                    }
                    for i in c.instalments
                ],
            }
            for c in commitments
        ],
        "confirmations": [
            {
                "number": c.number,
                "commitment_reference": next((m.reference for m in commitments if m.id == c.commitment_id), None),
                "created_at": c.created_at.isoformat(),
                "sent_at": c.sent_at.isoformat() if c.sent_at else None,
                # The agent's own door to the document (the debtor's link asks for the date of birth).
                "document_url": f"/console/api/confirmations/{c.number}.pdf",
            }
            for c in recorded.confirmations
        ],
        "disputes": [
            {
                "id": d.id,
                "reason": d.reason,
                "status": d.status,
                "created_at": d.created_at.isoformat(),
                "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
                "resolved_by": d.resolved_by,
                "explanation": d.explanation,
                "corrected_balance_minor": d.corrected_balance_minor,
                "closed_account": d.closed_account,
                "answered_at": d.answered_at.isoformat() if d.answered_at else None,
            }
            for d in recorded.disputes
        ],
        "care_plan": account.care_plan,
        "care_reviewed_at": account.care_reviewed_at.isoformat() if account.care_reviewed_at else None,
        "payments": payment_views(session, recorded.payments),
        "contacts": contact_views(session, account),
        "data_requests": data_request_views(session, settings, account),
        "restricted": account.restricted,
        "budgets": [affordability.budget_view(b, language) for b in affordability.budgets_of(session, account)],
        "consents": [{"channel": c.channel, "kind": c.kind, "created_at": c.created_at.isoformat()} for c in recorded.consents],
        "payment_claims": [
            {"paid_on": p.paid_on.isoformat() if p.paid_on else None, "means": p.means, "status": p.status}
            for p in recorded.payment_claims
        ],
        "signals": [
            {"kind": s.kind, "detail": s.detail, "confidence": s.confidence, "created_at": s.created_at.isoformat()}
            for s in recorded.signals
        ],
        "policy": {
            **limits_view(policy, account, language, debtor_today(account)),
            "max_deferral_days": policy.max_deferral_days,
            "max_first_payment_days": policy.max_first_payment_days,
            "max_settlement_discount_pct": policy.max_settlement_discount_pct,
        },
    }


def conversation_view(session: Session, settings: Settings, conversation_id: str, agent: Agent) -> dict[str, Any]:
    conversation = handoffs.visible_conversation(session, conversation_id, agent)
    handoff = handoffs.active_handoff(session, conversation.id)
    account = _linked_account(conversation)
    language = conversation.language or (account.language if account else settings.default_language)
    notes = session.scalars(
        select(AgentNote)
        .where(
            or_(AgentNote.conversation_id == conversation.id, AgentNote.account_id == account.id)
            if account
            else AgentNote.conversation_id == conversation.id
        )
        .order_by(AgentNote.id)
    )
    return {
        "conversation": {
            "id": conversation.id,
            "channel": conversation.channel,
            "state": conversation.state,
            "language": language,
            "verified": account is not None,
            "locked": conversation.locked_at is not None,
            "opted_out": records.is_opted_out(session, conversation.channel, conversation.channel_address),
            "whatsapp_window_open": (
                outbound.within_whatsapp_window(session, settings, conversation)
                if conversation.channel == Channel.WHATSAPP
                else None
            ),
            "created_at": conversation.created_at.isoformat(),
        },
        "handoff": handoff_view(session, handoff, conversation, utcnow()) if handoff else None,
        "claimed_by_me": bool(handoff and handoff.status == HandoffStatus.CLAIMED and handoff.claimed_by_agent_id == agent.id),
        "messages": transcript(session, conversation),
        "notes": [
            {"id": n.id, "agent": _agent_brief(n.agent), "text": n.text, "created_at": n.created_at.isoformat()} for n in notes
        ],
        "account": account_panel(session, settings, account, language) if account else None,
    }


# -------------------------------------------------------------------------------------------------------
# Acting on it
# -------------------------------------------------------------------------------------------------------


def send_to_debtor(
    session: Session,
    settings: Settings,
    conversation: Conversation,
    text: str,
    *,
    author: str,
    transports: Transports,
    kind: str | None = None,
) -> Message:
    """One message on the debtor's own channel; refused for an opted-out address (any channel)."""
    message = outbound.write(session, settings, conversation, outbound.Outbound(text=text, author=author, kind=kind))
    session.flush()  # the caller reports the message's id
    channel, address, reply = conversation.channel, conversation.channel_address, Reply(text=message.text, author=author)
    after_commit(session, lambda: hub.run_soon(transports.deliver(conversation.id, channel, address, [reply])))
    return message


def reply(session: Session, settings: Settings, conversation_id: str, agent: Agent, text: str, transports: Transports) -> Message:
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    message = send_to_debtor(session, settings, conversation, text, author=Author.AGENT, transports=transports)
    audit(session, actor(agent), "agent_replied", "message", message.id, channel=conversation.channel, chars=len(text))
    return message


def serves_account(session: Session, agent: Agent, account_id: int) -> bool:
    account = session.get(Account, account_id)
    return account is not None and account.creditor_id in agents.creditor_ids_of(session, agent)


def add_note(session: Session, conversation_id: str, agent: Agent, text: str) -> AgentNote:
    conversation = handoffs.visible_conversation(session, conversation_id, agent)
    account = _linked_account(conversation)
    note = AgentNote(conversation_id=conversation.id, account_id=account.id if account else None, agent_id=agent.id, text=text)
    session.add(note)
    session.flush()
    audit(session, actor(agent), "note_added", "agent_note", note.id, conversation=conversation.id)
    return note


def verify(
    session: Session, settings: Settings, conversation_id: str, agent: Agent, *, reference: str, date_of_birth: dt.date | None
) -> VerificationResult:
    """The agent checks the debtor's identity with them (same two factors, same locks as the bot)."""
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    result = verify_identity(session, conversation, settings, reference=reference, date_of_birth=date_of_birth, by_agent=True)
    audit(session, actor(agent), "verification_attempt", "conversation", conversation.id, succeeded=result.verified)
    return result


def unlock_verification(session: Session, settings: Settings, conversation_id: str, agent: Agent, *, reference: str) -> bool:
    """Lifts the lock on a reference after repeated failures, for the conversation the agent has taken over
    (the agent has satisfied themselves of the person's identity by other means)."""
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    unlocked = unlock_reference(session, settings, conversation.creditor_id, reference, actor(agent))
    return unlocked


def record_commitment(
    session: Session,
    settings: Settings,
    conversation_id: str,
    agent: Agent,
    proposal: offers.Proposal,
    outside_policy_reason: str | None,
) -> tuple[Commitment, Confirmation]:
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    if _linked_account(conversation) is None:
        raise NotVerified()
    commitment, confirmation = arrangements.record_agent_commitment(
        session, conversation, proposal, actor=actor(agent), settings=settings, outside_policy_reason=outside_policy_reason
    )
    return commitment, confirmation


def send_confirmation(
    session: Session, settings: Settings, conversation_id: str, agent: Agent, number: str, transports: Transports
) -> Message:
    """The written confirmation of a commitment, as a message with its document link, on the debtor's channel."""
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    account = _linked_account(conversation)
    confirmation = session.scalar(select(Confirmation).where(Confirmation.number == number))
    if account is None or confirmation is None or confirmation.account_id != account.id:
        raise NotFound()
    commitment = session.get_one(Commitment, confirmation.commitment_id)
    language = conversation.language or account.language
    plan = commitment_view(commitment, language)
    text = i18n.t(
        "console.confirmation_message",
        language,
        confirmation_number=confirmation.number,
        account_reference=account.reference,
        commitment_reference=commitment.reference,
        schedule_text=plan["schedule_text"],
        total_text=plan["total_text"],
        document_url=signing.document_url(confirmation.id, settings),
    )
    message = send_to_debtor(
        session, settings, conversation, text, author=Author.AGENT, transports=transports, kind="confirmation"
    )
    confirmation.sent_at, confirmation.channel = utcnow(), conversation.channel
    audit(session, actor(agent), "confirmation_sent", "confirmation", confirmation.number, channel=conversation.channel)
    return message


def record_dispute(session: Session, conversation_id: str, agent: Agent, reason: str | None) -> Dispute:
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    dispute = records.record_dispute(session, conversation, reason, actor=actor(agent))
    return dispute


def resolve_dispute(
    session: Session,
    settings: Settings,
    conversation_id: str,
    agent: Agent,
    dispute_id: int,
    *,
    outcome: Literal["upheld", "rejected"],
    explanation: str,
    corrected_balance_minor: int | None,
    close_account: bool,
) -> Dispute:
    """An agent resolves a dispute of the account of a conversation they took (the dispute's review item)."""
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    account = _linked_account(conversation)
    if account is None:
        raise NotVerified()
    dispute = reviews.find_dispute(session, account, dispute_id)
    return reviews.resolve_dispute(
        session,
        settings,
        dispute,
        outcome=outcome,
        explanation=explanation,
        actor=actor(agent),
        now=utcnow(),
        corrected_balance_minor=corrected_balance_minor,
        close_account=close_account,
    )


def open_data_request(
    session: Session, settings: Settings, conversation_id: str, agent: Agent, kind: str, note: str | None
) -> tuple[DataRequest, list[str]]:
    """The debtor asked the agent (access, erasure, restriction, rectification) in a conversation they took."""
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    account = _linked_account(conversation)
    if account is None:
        raise NotVerified()
    return data_rights.open_request(session, settings, account, kind, requested_by=actor(agent), note=note, now=utcnow())


def review_vulnerability(
    session: Session, conversation_id: str, agent: Agent, decision: Literal["keep", "clear"], note: str
) -> Account:
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    account = _linked_account(conversation) or (
        session.get(Account, conversation.candidate_account_id) if conversation.candidate_account_id else None
    )
    if account is None:
        raise NotVerified()
    return reviews.review_vulnerability(session, account, decision=decision, note=note, actor=actor(agent), now=utcnow())


def flag_vulnerability(session: Session, conversation_id: str, agent: Agent) -> None:
    conversation, _ = handoffs.claimed_conversation(session, conversation_id, agent)
    if _linked_account(conversation) is None and conversation.candidate_account_id is None:
        raise NotVerified()
    records.flag_vulnerability(session, conversation, confidence=None, actor=actor(agent))


def finish(
    session: Session,
    settings: Settings,
    conversation_id: str,
    agent: Agent,
    outcome: str,
    note: str | None,
    transports: Transports,
) -> Conversation:
    """Hands the conversation back to the bot (or closes it) and tells the debtor, in their language."""
    conversation = handoffs.finish(session, conversation_id, agent, outcome, note)
    language = conversation.language or settings.default_language
    key = "console.handed_back" if outcome == "handed_back" else "console.closed"
    if not records.is_opted_out(session, conversation.channel, conversation.channel_address):
        try:
            send_to_debtor(
                session, settings, conversation, i18n.t(key, language), author=Author.SYSTEM, transports=transports, kind=outcome
            )
        except (errors.OptedOut, errors.OutsideWhatsAppWindow):
            pass  # the conversation is handed back all the same; the debtor hears from the bot when they write
    return conversation
