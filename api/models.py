"""The system of record: every table of the api.

Money is stored as integer minor units next to its currency; timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from api.db import Base


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and gives them back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use timezone-aware datetimes")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class Creditor(Base):
    __tablename__ = "creditors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Payment instructions shown to debtors, per language: {"fr": [...], "en": [...]}.
    payment_methods: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Where a person in distress can find help, per language (configurable per market).
    support_resources: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Where a debtor may complain beyond us, per language (mediator, ombudsman, regulator): lines said as they are.
    complaint_escalation: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict, server_default="{}")
    # When agents answer handed-over conversations: {"timezone": "Europe/Paris",
    # "weekly": {"mon": [["09:00", "18:00"]], ...}} (see services/hours.py); empty = the default hours.
    agent_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a debtor is told to expect while the team is open ("usually within 15 minutes").
    expected_wait_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # A dispute is handed to a person for review (and not only recorded) when the creditor wants it.
    review_disputes: Mapped[bool] = mapped_column(Boolean, default=True)
    # What happens after the conversation: the contact cadence, local hours and quiet days, the grace period
    # and the missed-payment policy (services/follow_through.py reads it; empty = the documented defaults).
    follow_through: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # Conversations of an account closed (paid, closed) longer than this are anonymised by the retention job;
    # what the law requires is kept (docs/data-rights.md). At least 36 months (Reg F §1006.100).
    retention_months: Mapped[int] = mapped_column(Integer, default=36, server_default="36")
    # The key a payment provider signs its webhooks with (HMAC-SHA256 over the body); None = webhook off.
    payment_webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # What this creditor's file references look like: a regular expression every reference must match in full
    # (case-insensitive; None = any reference the API accepts), and an example shown to debtors asked for theirs.
    reference_pattern: Mapped[str | None] = mapped_column(String(200))
    reference_example: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    policy: Mapped[NegotiationPolicy] = relationship(back_populates="creditor", uselist=False)


class NegotiationPolicy(Base):
    __tablename__ = "negotiation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), unique=True)
    max_deferral_days: Mapped[int] = mapped_column(Integer, default=30)
    min_instalments: Mapped[int] = mapped_column(Integer, default=2)
    max_instalments: Mapped[int] = mapped_column(Integer, default=12)
    min_instalment_minor: Mapped[int] = mapped_column(Integer, default=2000)
    max_first_payment_days: Mapped[int] = mapped_column(Integer, default=30)
    max_settlement_discount_pct: Mapped[int] = mapped_column(Integer, default=0)
    fee_waiver_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Of what a debtor's budget leaves each month, the share suggested as the instalment (docs/affordability.md):
    # the rest is the debtor's margin for the unexpected, so that the plan can be kept.
    affordable_share_pct: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    creditor: Mapped[Creditor] = relationship(back_populates="policy")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("creditor_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), index=True)
    debtor_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    balance_minor: Mapped[int] = mapped_column(Integer)
    fees_minor: Mapped[int] = mapped_column(Integer, default=0)
    # Of balance_minor, the interest (CPCE R124-4: principal, interest and other charges are shown apart).
    interest_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The law the debt is under (ISO 3166 country): "FR" brings the French rules (no collection fees, the
    # L111-8 notice and the R124-4 items in the debtor's language, whatever it is).
    jurisdiction: Mapped[str] = mapped_column(String(2), default="FR", server_default="FR")
    due_date: Mapped[dt.date] = mapped_column(Date)
    # What the debt is for, in the debtor's words-free terms of the creditor ("Invoice 2026-123, electricity").
    origin: Mapped[str] = mapped_column(String(400), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|disputed|arranged|paid|closed
    # Vulnerability stops collection talk until a person has reviewed the account.
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    # A payment the debtor says was made is checked before any reminder goes out.
    reminders_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Paid beyond what was owed (or beyond the plan): kept on the account, never lost.
    credit_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A person's review of a vulnerability flag: kept with a support plan (contact by a person only, no
    # automated collection) or cleared; the note says why.
    care_reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    care_reviewed_by: Mapped[str | None] = mapped_column(String(64))
    care_plan: Mapped[str | None] = mapped_column(Text)
    # GDPR art. 18: processing restricted (e.g. the accuracy is contested): no automated contact, no
    # collection talk, the data kept but not used, until lifted.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # When the debtor's data was erased (art. 17) or anonymised by the retention job.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    creditor: Mapped[Creditor] = relationship()


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # webchat|sms|whatsapp
    # The channel's own address of the debtor: web session id, phone number.
    channel_address: Mapped[str] = mapped_column(String(128), index=True)
    language: Mapped[str | None] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(24), default="bot")  # bot|waiting_for_agent|agent|closed
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # disclosure sent
    # SMS/WhatsApp: the account the sender's number is on, when it is on exactly one. It chooses the
    # creditor and the language; nothing about the debt is disclosed before verification all the same.
    candidate_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Web chat: the last outbound message shown on a live socket of the session (what a socket that resumes
    # the session is shown first: replies written while no socket held it — a worker stopped, a page closed).
    webchat_shown_through: Mapped[int | None] = mapped_column()

    account: Mapped[Account | None] = relationship(foreign_keys=[account_id])

    @classmethod
    def about(cls, account_id: int) -> ColumnElement[bool]:
        """Conversations about an account: verified on it, or on the number it holds (not yet verified)."""
        return or_(cls.account_id == account_id, cls.candidate_account_id == account_id)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id"),
        # The KPI reports read a period's messages, per conversation on SQLite (api/services/kpis.py).
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound|outbound
    author: Mapped[str] = mapped_column(String(16))  # debtor|bot|agent|system
    channel: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # inbound: received -> processed | rejected (received again while Rasa is down, until it answers),
    # or for_agent (arrived while a person has the conversation: the console shows it, the bot never sees it).
    # outbound on the web chat: sent. Outbound by SMS/WhatsApp (the outbox): pending -> sent (accepted by
    # Twilio) -> delivered | undelivered | failed, or blocked (opted out, outside the WhatsApp window).
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Outbox bookkeeping (SMS/WhatsApp outbound only).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the outbox first took it to send: a provider's message to the same number since then may be this one.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))


class Signal(Base):
    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(32))  # hardship|forgot|dispute|vulnerability|wrong_person|...
    detail: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationAttempt(Base):
    __tablename__ = "verification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for the date of birth asked before a document link opens.
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    # Set only on success: a failed attempt must not link a conversation to an account.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # A keyed digest of the creditor and the reference tried, known or not: failures are counted per
    # reference across conversations and channels without keeping what a stranger typed.
    reference_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationLock(Base):
    """Too many failed verifications of one reference, across conversations: nobody verifies on it any more
    until an agent or the creditor unlocks it. Keyed by digest, so unknown references lock the same way."""

    __tablename__ = "verification_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_digest: Mapped[str] = mapped_column(String(64), index=True)
    locked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unlocked_by: Mapped[str | None] = mapped_column(String(64))  # agent:<id> | creditor:<id>


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # proposed (the debtor's request, accepted as asked) | countered | summarised | accepted | declined
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Integer)
    fees_waived_minor: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str | None] = mapped_column(String(16))
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"due_date": iso, "amount_minor": int}]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summarised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Commitment(Base):
    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|kept|broken|cancelled
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Integer)
    fees_waived_minor: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str | None] = mapped_column(String(16))
    agreed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The exact summary the debtor agreed to, kept as evidence.
    agreed_summary: Mapped[str] = mapped_column(Text, default="")
    # Who recorded it (bot | agent:<id>); an agent may go beyond the policy, and must then say why.
    recorded_by: Mapped[str] = mapped_column(String(64), default="bot")
    outside_policy_reason: Mapped[str | None] = mapped_column(String(500))
    # Instalments missed one after the other (reset by an instalment paid in full): the policy breaks the
    # plan when it reaches its limit.
    consecutive_misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # kept, broken, cancelled or replaced

    instalments: Mapped[list[Instalment]] = relationship(order_by="Instalment.sequence", cascade="all, delete-orphan")


class Instalment(Base):
    __tablename__ = "instalments"

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="due")  # due|paid|missed
    # What payments allocated to it so far (partial payments show; never more than amount_minor).
    paid_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The due date agreed, when the missed-payment policy moved the instalment to the end of the plan.
    original_due_date: Mapped[dt.date | None] = mapped_column(Date)
    missed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Confirmation(Base):
    __tablename__ = "confirmations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"))
    kind: Mapped[str] = mapped_column(String(24), default="commitment")
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str | None] = mapped_column(String(16))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the confirmation (message with the document link) was sent on the debtor's channel.
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    reason: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|upheld|rejected
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The review: who decided, why (sent to the debtor in writing), and what changed on the account.
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))  # agent:<id> | creditor:<id>
    explanation: Mapped[str | None] = mapped_column(Text)
    balance_before_minor: Mapped[int | None] = mapped_column(Integer)
    corrected_balance_minor: Mapped[int | None] = mapped_column(Integer)
    closed_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The written answer (message + PDF) and when it left: collection resumes only then.
    answer_confirmation_id: Mapped[str | None] = mapped_column(ForeignKey("confirmations.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    channel_address: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # opt_out|opt_in
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 0 = most urgent
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|claimed|closed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # handed_back (to the bot) | closed (conversation ended by the agent)
    outcome: Mapped[str | None] = mapped_column(String(16))

    claimed_by: Mapped[Agent | None] = relationship()


class Agent(Base):
    """A person who signs in to the console: an agent (a human collector who takes over handed-over
    conversations) or a manager (reads the dashboard, changes nothing)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    # agent | manager (AgentRole): a manager reads the dashboard and changes nothing.
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AgentCreditor(Base):
    """Whose debtors an agent serves: an agent sees, reads and takes only these creditors' conversations."""

    __tablename__ = "agent_creditors"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), primary_key=True)


class AgentSession(Base):
    """A signed-in console session; the cookie holds a random token, the database only its hash."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agent: Mapped[Agent] = relationship()


class AgentNote(Base):
    """An internal note on a conversation: seen by agents only, never sent to the debtor."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship()


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))  # bot | creditor:<id> | agent:<id> | system
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """Money received for an account, as the creditor reported it; negative for a refund or a reversal.

    Recorded once per (creditor, external_id): the creditor's own id of the payment makes a repeat harmless.
    """

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("creditor_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(16))  # transfer|card|cheque|direct_debit|cash|other
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How it reached us: api (later: import, webhook).
    source: Mapped[str] = mapped_column(String(16), default="api")
    # The payment a reversal undoes, when the creditor named it.
    reverses_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    # What it changed on what the account owes (negative when a reversal gave it back): principal first, then fees.
    balance_applied_minor: Mapped[int] = mapped_column(Integer, default=0)
    fees_applied_minor: Mapped[int] = mapped_column(Integer, default=0)

    allocations: Mapped[list[Allocation]] = relationship(order_by="Allocation.id", cascade="all, delete-orphan")
    reverses: Mapped[Payment | None] = relationship(remote_side=[id])


class Allocation(Base):
    """Where part of a payment went: an instalment, what is owed outside any plan, or the account's credit
    (`instalment_id` NULL for the last two). A reversal's allocations are negative."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # instalment|balance|credit
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("instalments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)


class PaymentClaim(Base):
    """A payment the debtor says was already made, to be checked against the creditor's records."""

    __tablename__ = "payment_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    means: Mapped[str | None] = mapped_column(String(32))  # transfer|card|cheque|direct_debit|cash|other
    status: Mapped[str] = mapped_column(String(16), default="to_check")  # to_check|confirmed|not_found
    # When it was passed to an agent, unconfirmed after the creditor's claim_check_days.
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The payment that confirmed it.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactPreference(Base):
    """How and when the debtor prefers to be contacted (the latest one applies)."""

    __tablename__ = "contact_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str | None] = mapped_column(String(16))  # email|sms|whatsapp|phone|post|webchat
    time_window: Mapped[str | None] = mapped_column(String(16))  # morning|daytime|evening|weekend
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShortLink(Base):
    """A short code for one of our own links (a signed document link is too long for an SMS)."""

    __tablename__ = "short_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    """A contact we initiate (reminder, follow-up, first contact, thanks): planned with its moment, then
    decided by the contact gate when that moment comes — sent, deferred to the next allowed moment, or
    cancelled with its reason. `key` makes planning idempotent: the same contact is never planned twice."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # ContactKind
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"), index=True)
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("instalments.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"))
    # When it was planned for, and when it may leave now (later than planned once deferred).
    planned_for: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)  # ContactStatus
    reason: Mapped[str | None] = mapped_column(String(64))  # why it was last deferred or cancelled
    # Where it left: the channel, its conversation and the outbound message row.
    channel: Mapped[str | None] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decisions: Mapped[list[ContactDecision]] = relationship(order_by="ContactDecision.id", cascade="all, delete-orphan")


class ContactDecision(Base):
    """One decision of the gate on a contact (planned, deferred until…, cancelled because…, sent)."""

    __tablename__ = "contact_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # scheduled | sent | deferred | cancelled
    reason: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(16))


class DataRequest(Base):
    """A data subject's request (GDPR arts. 15-18): access, erasure, restriction or rectification, with the
    legal deadline (one month, art. 12(3)) and what was done."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The conversation the debtor asked in (an erasure asked there waits until the conversation is over).
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # access | erasure | restriction | rectification
    status: Mapped[str] = mapped_column(String(16), default="received")  # received | completed | refused
    requested_by: Mapped[str] = mapped_column(String(64))  # creditor:<id> | agent:<id> | debtor
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What was done, or why not all of it (the legal holds kept on an erasure, a refusal's reason).
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Access: the export, as JSON and as a readable PDF.
    export_json: Mapped[bytes | None] = mapped_column(LargeBinary)
    export_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)


class Budget(Base):
    """A debtor's income and expenditure, as they gave it (the UK Standard Financial Statement's groups, kept to
    seven totals: docs/affordability.md). Every figure is per month, in minor units of the account's currency;
    nothing else is kept (no line items, no free text). Personal data: shown to agents, exported, erased."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The conversation it was given in, or whose link opened the web form.
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # BudgetSource: chat | web_form
    currency: Mapped[str] = mapped_column(String(3))
    income_minor: Mapped[int] = mapped_column(Integer)
    housing_minor: Mapped[int] = mapped_column(Integer)  # rent or mortgage
    bills_minor: Mapped[int] = mapped_column(Integer)  # energy, water, council tax / local taxes
    food_minor: Mapped[int] = mapped_column(Integer)  # food and housekeeping
    transport_minor: Mapped[int] = mapped_column(Integer)
    other_costs_minor: Mapped[int] = mapped_column(Integer)  # care, childcare and school, insurance, phone, personal
    other_debts_minor: Mapped[int] = mapped_column(Integer)  # payments to other creditors
    adults: Mapped[int | None] = mapped_column(Integer)
    children: Mapped[int | None] = mapped_column(Integer)
    # Computed when it was given: income less every cost (negative when costs are higher), and the instalment
    # suggested (the policy's share of it, rounded down to a whole unit), with the share used.
    disposable_minor: Mapped[int] = mapped_column(Integer)
    affordable_minor: Mapped[int] = mapped_column(Integer)
    share_pct: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Experiment(Base):
    """A creditor's A/B test of a response's wording or of a follow-through setting (docs/experiments.md).

    `arms` is the list of what is compared, the first arm the control: `{"name", "ratio", "wordings": {"fr",
    "en"}}` for a response (the wording each arm's variation of `target` says in domain.yml), `{"name", "ratio",
    "value"}` for a cadence (the value of the setting `target`, in days). Editable only as a draft.
    """

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # ExperimentKind
    # The response of domain.yml (utter_offer_options) or the follow-through setting (reminder_days_before).
    target: Mapped[str] = mapped_column(String(64))
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))  # ExperimentOutcome
    # N of payment_within_days; None for the other outcomes.
    outcome_days: Mapped[int | None] = mapped_column(Integer)
    # The plan, fixed before the start: the rate expected without change, the smallest difference worth finding
    # (absolute), and the accounts every arm needs before any verdict (alpha 0.05, power 0.8).
    baseline_rate: Mapped[float] = mapped_column(Float)
    minimum_detectable_effect: Mapped[float] = mapped_column(Float)
    min_sample_per_arm: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # ExperimentStatus
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ExperimentAssignment(Base):
    """The arm an account is in: decided once from a hash of the experiment and the account, then read back.
    Kept when the experiment stops (the record of who saw what)."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("experiment_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    arm: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
