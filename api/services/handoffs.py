"""Handing a conversation to a person and back: the queue, claims, and the conversation's state.

A conversation is `bot` → `waiting_for_agent` → `agent` → `bot` again (or `closed`). While it is not with
the bot, the debtor's messages go to the console and never to Rasa (see services/router.py).

A handoff asked while the creditor's team is at work moves the conversation to `waiting_for_agent` at once.
Outside the team's hours it is queued, the debtor is told when someone will be there, and the bot keeps
helping meanwhile; the agent who claims it later takes the conversation over from the bot. A dispute review
(`review_disputes`) is queued the same way: the bot keeps the conversation until an agent claims it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import get_settings
from api.db import rows_changed
from api.models import Agent, Conversation, Creditor, Handoff, Message, Offer, Signal, utcnow
from api.services import agents, hours
from api.services.audit import audit
from api.services.errors import ClaimedByAnother, Conflict, ConversationClosed, NotFound, NotYourConversation
from api.services.presentation import offer_view
from api.states import ConversationState, Direction, HandoffStatus

# Vulnerability first: a person in distress must not wait behind a routine request.
HANDOFF_PRIORITY = {
    "vulnerability": 0,
    "verification_locked": 1,
    "complaint": 1,
    "request_human": 2,
    "repeated_fallback": 2,
    "outside_policy": 2,
    "dispute": 3,
    "payment_claim": 3,
    "plan_broken": 3,
    "document_request": 3,
    "affordability": 2,
}
DEFAULT_PRIORITY = 3
# Reasons a person reviews in their own time: the bot keeps the conversation until an agent claims it.
# A budget below the policy's minimum too: the debtor may take the deferral offered meanwhile.
REVIEW_REASONS = frozenset({"dispute", "payment_claim", "plan_broken", "document_request", "affordability"})
ACTIVE = ("open", "claimed")
LAST_MESSAGE_CHARS = 280


@dataclass(frozen=True)
class Availability:
    open_now: bool
    next_open_at: dt.datetime | None
    expected_wait_minutes: int

    def view(self, language: str, timezone: str | None = None) -> dict[str, Any]:
        """For the debtor: the next opening in their own time when known, else in the team's."""
        next_open = self.next_open_at
        if next_open and timezone:
            next_open = next_open.astimezone(ZoneInfo(timezone))
        return {
            "open_now": self.open_now,
            "expected_wait_minutes": self.expected_wait_minutes,
            "next_open_at": next_open.isoformat() if next_open else None,
            "next_open_text": i18n.format_datetime(next_open, language) if next_open else "",
        }


def debtor_view(team: Availability, conversation: Conversation) -> dict[str, Any]:
    account = conversation.account if conversation.verified_at is not None else None
    # The conversation's language is set by its first message, before anything can be handed over.
    return team.view(conversation.language or get_settings().default_language, account.timezone if account else None)


def availability(creditor: Creditor, now: dt.datetime | None = None) -> Availability:
    team = hours.parse_hours(creditor.agent_hours)
    now = now or utcnow()
    return Availability(
        open_now=hours.is_open(team, now),
        next_open_at=hours.next_opening(team, now),
        expected_wait_minutes=creditor.expected_wait_minutes,
    )


def active_handoff(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE))
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def build_summary(session: Session, conversation: Conversation, reason: str, note: str | None) -> dict[str, Any]:
    """What the agent reads first: who (if verified), how much, what was detected, offered and asked."""
    language = conversation.language or get_settings().default_language
    verified = conversation.verified_at is not None and conversation.account is not None
    account = conversation.account if verified else None
    signals = list(
        dict.fromkeys(session.scalars(select(Signal.kind).where(Signal.conversation_id == conversation.id).order_by(Signal.id)))
    )
    last_offer = session.scalar(
        select(Offer).where(Offer.conversation_id == conversation.id).order_by(Offer.created_at.desc()).limit(1)
    )
    last_message = session.scalar(
        select(Message.text)
        .where(Message.conversation_id == conversation.id, Message.direction == Direction.INBOUND)
        .order_by(Message.id.desc())
        .limit(1)
    )
    offer = offer_view(last_offer, language) if last_offer else None
    return {
        "reason": reason,
        "note": note,
        "verified": verified,
        "reference": account.reference if account else None,
        "debtor_name": account.debtor_name if account else None,
        "balance_text": i18n.format_money(account.balance_minor + account.fees_minor, account.currency, language)
        if account
        else None,
        "signals": signals,
        "last_offer": (
            {
                "kind": offer["kind"],
                "status": offer["status"],
                "total_text": offer["total_text"],
                "schedule_text": offer["schedule_text"],
            }
            if offer
            else None
        ),
        "debtor_asked": (last_message or "")[:LAST_MESSAGE_CHARS],
        "channel": conversation.channel,
        "language": language,
    }


def request_handoff(
    session: Session,
    conversation: Conversation,
    reason: str,
    *,
    actor: str = "bot",
    note: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Handoff, Availability]:
    """Queues the conversation for a person (one active handoff per conversation, at its most urgent)."""
    creditor = session.get_one(Creditor, conversation.creditor_id)
    team = availability(creditor, now)
    priority = HANDOFF_PRIORITY.get(reason, DEFAULT_PRIORITY)
    handoff = active_handoff(session, conversation.id)
    if handoff is None:
        handoff = Handoff(
            conversation_id=conversation.id,
            account_id=conversation.account_id,
            reason=reason,
            priority=priority,
            summary=build_summary(session, conversation, reason, note),
        )
        session.add(handoff)
    else:
        # Asked again (or for another reason): the same place in the queue, raised if more urgent.
        if priority < handoff.priority:
            handoff.priority, handoff.reason = priority, reason
        summary = dict(handoff.summary or {})
        summary["also"] = sorted({*summary.get("also", []), reason} - {handoff.reason})
        summary["debtor_asked"] = build_summary(session, conversation, reason, note)["debtor_asked"]
        handoff.summary = summary
    if team.open_now and conversation.state == ConversationState.BOT and reason not in REVIEW_REASONS:
        conversation.state = ConversationState.WAITING_FOR_AGENT
    session.flush()
    audit(session, actor, "handoff_requested", "handoff", handoff.id, reason=reason, open_now=team.open_now)
    return handoff, team


def queue(session: Session, creditor_ids: list[int] | None = None) -> list[Handoff]:
    """Open and claimed handoffs: the most urgent first, then the longest waiting."""
    query = select(Handoff).where(Handoff.status.in_(ACTIVE)).order_by(Handoff.priority, Handoff.created_at, Handoff.id)
    if creditor_ids is not None:
        query = query.join(Conversation, Conversation.id == Handoff.conversation_id).where(
            Conversation.creditor_id.in_(creditor_ids)
        )
    return list(session.scalars(query))


def visible_conversation(session: Session, conversation_id: str, agent: Agent) -> Conversation:
    """The conversation, if it is one of the creditors' the agent serves; another creditor's is as unknown
    as a missing one (NotFound)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.creditor_id not in agents.creditor_ids_of(session, agent):
        raise NotFound()
    return conversation


def claim(session: Session, conversation_id: str, agent: Agent) -> Handoff:
    """The agent takes the conversation; a second agent is refused (one agent at a time)."""
    conversation = visible_conversation(session, conversation_id, agent)
    if conversation.state == ConversationState.CLOSED:
        raise ConversationClosed()
    handoff = active_handoff(session, conversation_id)
    if handoff is None:
        # An agent may also take over a conversation that nobody handed over (a colleague points to it).
        handoff, _ = request_handoff(session, conversation, "agent_takeover", actor=f"agent:{agent.id}")
    if handoff.claimed_by_agent_id == agent.id:
        return handoff
    # One UPDATE guarded by the status: two agents clicking at once cannot both win.
    won = rows_changed(
        session,
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.OPEN)
        .values(status="claimed", claimed_by_agent_id=agent.id, claimed_at=utcnow()),
    )
    if won != 1:
        raise ClaimedByAnother()
    session.refresh(handoff)
    conversation.state = ConversationState.AGENT
    audit(session, f"agent:{agent.id}", "handoff_claimed", "handoff", handoff.id, conversation=conversation.id)
    return handoff


def claimed_conversation(session: Session, conversation_id: str, agent: Agent) -> tuple[Conversation, Handoff]:
    """The conversation, if this agent holds it; agents act only on what they claimed."""
    conversation = visible_conversation(session, conversation_id, agent)
    handoff = active_handoff(session, conversation_id)
    if handoff is None or handoff.status != HandoffStatus.CLAIMED or handoff.claimed_by_agent_id != agent.id:
        raise NotYourConversation()
    return conversation, handoff


def release(session: Session, conversation_id: str, agent: Agent) -> Handoff:
    """Back to the queue for another agent (the debtor keeps waiting for a person)."""
    conversation, handoff = claimed_conversation(session, conversation_id, agent)
    handoff.status, handoff.claimed_by_agent_id, handoff.claimed_at = "open", None, None
    conversation.state = ConversationState.WAITING_FOR_AGENT
    audit(session, f"agent:{agent.id}", "handoff_released", "handoff", handoff.id)
    return handoff


def finish(session: Session, conversation_id: str, agent: Agent, outcome: str, note: str | None = None) -> Conversation:
    """`handed_back` returns the conversation to the bot; `closed` ends it."""
    if outcome not in ("handed_back", "closed"):
        raise Conflict()
    conversation, handoff = claimed_conversation(session, conversation_id, agent)
    handoff.status, handoff.closed_at, handoff.outcome = "closed", utcnow(), outcome
    if note:
        handoff.summary = {**(handoff.summary or {}), "agent_note": note}
    conversation.state = ConversationState.BOT if outcome == "handed_back" else "closed"
    audit(session, f"agent:{agent.id}", f"conversation_{outcome}", "handoff", handoff.id, conversation=conversation.id)
    return conversation
