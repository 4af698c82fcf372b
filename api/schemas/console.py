"""The agent console's API (/console/api): signing in, the queue, one conversation, and what an agent does in it.

Instants are strings as Python's isoformat writes them (e.g. 2026-03-01T09:30:00.123456+00:00).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import (
    AccountSummary,
    ArrangementKind,
    BudgetView,
    Channel,
    CommitmentSummary,
    ConsentKind,
    ConversationState,
    DisputeStatus,
    Frequency,
    HandoffReason,
    HandoffStatus,
    InstalmentStatus,
    IsoDateTime,
    Language,
    Limits,
    MessageStatus,
    OfferStatus,
    PaymentClaimStatus,
)
from api.schemas.creditor import ContactOut, DataRequestOut, PaymentOut
from api.states import AgentRole

# --- requests --------------------------------------------------------------------------------------------


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=1600)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value.strip()


class AgentVerifyIn(BaseModel):
    reference: str = Field(min_length=1, max_length=64)
    date_of_birth: dt.date


class UnlockIn(BaseModel):
    reference: str = Field(min_length=1, max_length=64)


class CommitmentIn(BaseModel):
    kind: ArrangementKind
    # Money as the agent types it ("50", "50.00", "50,00"), read exactly (no float) in the account's currency.
    instalment_amount: str | None = Field(default=None, max_length=20)
    instalment_count: int | None = Field(default=None, gt=0, le=120)
    first_due_date: dt.date | None = None
    frequency: Frequency = "monthly"
    # Required to go beyond the creditor's policy: why the agent agrees to it.
    outside_policy_reason: str | None = Field(default=None, min_length=5, max_length=500)


class AgentDisputeIn(BaseModel):
    reason: Literal["not_mine", "wrong_amount", "already_paid", "product_or_service", "fraud"] | None = None


class VulnerabilityReviewIn(BaseModel):
    """Kept: `note` is the support plan (how a person will contact the debtor; automated collection stays off).
    Cleared: `note` says why the flag is lifted."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["keep", "clear"]
    note: str = Field(min_length=5, max_length=2000)


class ReviewedOut(BaseModel):
    status: str


class FinishIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


# --- signing in ------------------------------------------------------------------------------------------


class AgentOut(BaseModel):
    id: int
    email: str
    name: str
    role: AgentRole = Field(description="agent: works the queue; manager: reads the dashboard, changes nothing")


class SessionOut(BaseModel):
    agent: AgentOut
    # Echo it in X-CSRF-Token on every state-changing request.
    csrf_token: str


# --- the queue -------------------------------------------------------------------------------------------


class AgentBrief(BaseModel):
    id: int
    name: str


class LastOffer(BaseModel):
    kind: ArrangementKind
    status: OfferStatus
    total_text: str
    schedule_text: str


class HandoffBudget(BaseModel):
    """The debtor's budget in a handoff: the totals a person reads first (the details are in the account panel)."""

    source: Literal["chat", "web_form"]
    created_at: IsoDateTime
    income_text: str
    costs_text: str
    disposable_text: str
    affordable_text: str
    share_pct: int
    # The policy's smallest instalment, which the budget does not reach.
    min_instalment_text: str


class HandoffSummary(BaseModel):
    """What the agent reads first. Stored when the handoff was asked; verification, balance, signals and the
    last offer are brought up to date each time it is shown."""

    reason: HandoffReason
    note: str | None = None
    verified: bool
    reference: str | None
    debtor_name: str | None
    balance_text: str | None
    # Kinds of the signals detected in the conversation, first seen first.
    signals: list[str]
    last_offer: LastOffer | None
    # The debtor's last message (cut to 280 characters).
    debtor_asked: str = ""
    channel: Channel | None = None
    language: Language | None = None
    # Other reasons the handoff was asked for since (present once there is one).
    also: list[HandoffReason] = []
    # A budget below the policy's minimum (reason `affordability`): its totals, as given then.
    budget: HandoffBudget | None = None


class HandoffView(BaseModel):
    handoff_id: int
    conversation_id: str
    reason: HandoffReason
    priority: int
    status: HandoffStatus
    created_at: IsoDateTime
    waiting_seconds: int
    claimed_by: AgentBrief | None
    claimed_at: IsoDateTime | None
    channel: Channel
    language: Language | None
    state: ConversationState
    summary: HandoffSummary


class QueueOut(BaseModel):
    handoffs: list[HandoffView]


# --- one conversation ------------------------------------------------------------------------------------


class ConversationHeader(BaseModel):
    id: str
    channel: Channel
    state: ConversationState
    language: Language
    verified: bool
    locked: bool
    opted_out: bool
    # WhatsApp only: free text may be sent (the debtor wrote within the last 24 hours); None on other channels.
    whatsapp_window_open: bool | None
    created_at: IsoDateTime


class MessageSignal(BaseModel):
    kind: str
    detail: str | None
    confidence: float | None


class TranscriptMessage(BaseModel):
    id: int
    conversation_id: str
    # False for the messages of the account's other conversations.
    this_conversation: bool
    channel: Channel
    direction: Literal["inbound", "outbound"]
    author: Literal["debtor", "bot", "agent", "system"]
    text: str
    status: MessageStatus
    created_at: IsoDateTime
    signals: list[MessageSignal]


class NoteOut(BaseModel):
    id: int
    agent: AgentBrief | None
    text: str
    created_at: IsoDateTime


class PanelInstalment(BaseModel):
    due_date: dt.date
    amount_minor: int
    amount_text: str
    status: InstalmentStatus


class PanelCommitment(CommitmentSummary):
    kind: ArrangementKind
    agreed_at: IsoDateTime
    # bot | agent:<id>
    recorded_by: str
    recorded_by_agent: AgentBrief | None
    outside_policy_reason: str | None
    instalments: list[PanelInstalment]


class PanelConfirmation(BaseModel):
    number: str
    commitment_reference: str | None
    created_at: IsoDateTime
    sent_at: IsoDateTime | None
    # The agent's own door to the document (the debtor's link asks for the date of birth).
    document_url: str


class PanelDispute(BaseModel):
    id: int
    reason: str | None
    status: DisputeStatus
    created_at: IsoDateTime
    resolved_at: IsoDateTime | None
    resolved_by: str | None
    explanation: str | None
    corrected_balance_minor: int | None
    closed_account: bool
    # When the written answer left: collection resumes only then.
    answered_at: IsoDateTime | None


class PanelConsent(BaseModel):
    channel: Channel
    kind: ConsentKind
    created_at: IsoDateTime


class PanelPaymentClaim(BaseModel):
    paid_on: dt.date | None
    means: str | None
    status: PaymentClaimStatus


class PanelSignal(BaseModel):
    kind: str
    detail: str | None
    confidence: float | None
    created_at: IsoDateTime


class PanelPolicy(Limits):
    max_deferral_days: int
    max_first_payment_days: int
    max_settlement_discount_pct: int


class AccountPanel(AccountSummary):
    """The verified account, in the conversation's language."""

    timezone: str
    due_date: dt.date
    vulnerable: bool
    reminders_paused: bool
    commitments: list[PanelCommitment]
    confirmations: list[PanelConfirmation]
    disputes: list[PanelDispute]
    consents: list[PanelConsent]
    payment_claims: list[PanelPaymentClaim]
    signals: list[PanelSignal]
    policy: PanelPolicy
    # The vulnerability review: the support plan when the flag was kept.
    care_plan: str | None
    care_reviewed_at: IsoDateTime | None
    payments: list[PaymentOut]
    # Contacts planned and made, with the gate's decisions (times in the debtor's local time).
    contacts: list[ContactOut]
    # Data subject requests with their legal deadline (exports are the creditor's to hand over).
    data_requests: list[DataRequestOut]
    restricted: bool
    # The debtor's budgets (income and expenditure, per month), the latest first: the latest applies.
    budgets: list[BudgetView] = []


class ConversationDetailOut(BaseModel):
    conversation: ConversationHeader
    # The active handoff (open or claimed), if any.
    handoff: HandoffView | None
    claimed_by_me: bool
    # This conversation's messages and the verified account's other conversations' (the latest 500), oldest first.
    messages: list[TranscriptMessage]
    notes: list[NoteOut]
    # Only once the debtor is verified.
    account: AccountPanel | None


# --- acting on it ----------------------------------------------------------------------------------------


class ClaimOut(BaseModel):
    handoff_id: int
    status: HandoffStatus
    claimed_by: AgentBrief


class ReleaseOut(BaseModel):
    handoff_id: int
    status: HandoffStatus


class MessageSentOut(BaseModel):
    id: int
    status: MessageStatus
    channel: Channel


class ConfirmationSentOut(BaseModel):
    id: int
    status: MessageStatus


class AgentVerifyOut(BaseModel):
    verified: bool
    # The reference is locked after repeated failures across conversations (lift it with unlock-verification).
    reference_locked: bool


class UnlockOut(BaseModel):
    # Whether there was a lock to lift.
    unlocked: bool


class CommitmentRecordedOut(BaseModel):
    commitment_reference: str
    confirmation_number: str
    total_minor: int
    # How many instalments the plan has.
    instalments: int
    outside_policy: bool


class FlaggedOut(BaseModel):
    status: Literal["flagged"]


class FinishedOut(BaseModel):
    conversation_id: str
    state: ConversationState
