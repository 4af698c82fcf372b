"""The action server's API (/internal/v1/conversations/{id}/…): what the bot reads and records.

Texts (`*_text`) are formatted in the conversation's language for the bot's responses; the sentences around
them live in domain.yml.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import (
    AccountSummary,
    ArrangementKind,
    BudgetView,
    Channel,
    CommitmentSummary,
    ConversationState,
    Frequency,
    IsoDateTime,
    Language,
    Limits,
    OfferStatus,
)

# --- requests --------------------------------------------------------------------------------------------


class VerifyIn(BaseModel):
    reference: str = Field(max_length=64)
    date_of_birth: dt.date | None = None


class LanguageIn(BaseModel):
    language: Language


class SignalIn(BaseModel):
    kind: str = Field(max_length=32)
    detail: str | None = Field(default=None, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)


class DisputeIn(BaseModel):
    reason: str | None = Field(default=None, max_length=32)


class HandoffIn(BaseModel):
    reason: Literal["request_human", "repeated_fallback", "outside_policy", "dispute", "complaint"] = "request_human"
    note: str | None = Field(default=None, max_length=500)


class ProposalIn(BaseModel):
    kind: ArrangementKind
    instalment_amount_minor: int | None = Field(default=None, gt=0, le=10**11)
    instalment_count: int | None = Field(default=None, gt=0, le=1000)
    first_due_date: dt.date | None = None
    frequency: Frequency = "monthly"


class AcceptIn(BaseModel):
    agreed_summary: str = Field(default="", max_length=4000)


class CareIn(BaseModel):
    confidence: float | None = Field(default=None, ge=0, le=1)


class VulnerabilityIn(CareIn):
    # The reference the person gave before verification was complete, if any (unverified).
    claimed_reference: str | None = Field(default=None, max_length=40)


class PaymentClaimIn(BaseModel):
    paid_on: dt.date | None = None
    means: Literal["transfer", "card", "cheque", "direct_debit", "cash", "other"] | None = None


class PreferenceIn(BaseModel):
    channel: Literal["email", "sms", "whatsapp", "phone", "post", "webchat"] | None = None
    time_window: Literal["morning", "daytime", "evening", "weekend"] | None = None


# --- responses -------------------------------------------------------------------------------------------


class ContextAccount(AccountSummary):
    vulnerable: bool


class ConversationContext(BaseModel):
    """What the bot knows of the conversation, and the Rasa slots that mirror it."""

    conversation_id: str
    channel: Channel
    language: Language
    state: ConversationState
    creditor_name: str
    collector_name: str
    verified: bool
    locked: bool
    opted_out: bool
    privacy_contact: str
    reference_example: str
    # Only once the debtor is verified.
    account: ContextAccount | None
    # The account's active commitment, if any.
    plan: CommitmentSummary | None
    # Slot name → value, as domain.yml declares them (which slots depends on what is known).
    slots: dict[str, str | bool | None]


class HandoffTiming(BaseModel):
    """When a person will answer: now (within the expected wait), or at the team's next opening."""

    open_now: bool
    expected_wait_minutes: int
    # In the debtor's own timezone once verified, else the team's.
    next_open_at: IsoDateTime | None
    next_open_text: str


class VerifyOut(BaseModel):
    status: Literal["verified", "locked", "failed"]
    # Present only when the conversation is locked: it was handed to a person.
    handoff: HandoffTiming | None = None
    context: ConversationContext


class LanguageOut(BaseModel):
    language: Language


class DisputeRecordedOut(BaseModel):
    id: int
    # A person reviews the dispute (the creditor's setting): the debtor is told so.
    review: bool


class OptedOutOut(BaseModel):
    status: Literal["opted_out"]


class OtherChannelsOptOutIn(BaseModel):
    """Asked in one channel (the web chat), an opt-out of the others on the verified account's number."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Literal["sms", "whatsapp"]] = Field(min_length=1, max_length=2)


class OtherChannelsOptedOutOut(BaseModel):
    # The channels now stopped; empty when the account has no phone number to stop them on.
    channels: list[Literal["sms", "whatsapp"]]


class DebtorDataRequestIn(BaseModel):
    """A data request the debtor makes in the conversation (restriction and rectification go to a person)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["access", "erasure"]


class DebtorDataRequestOut(BaseModel):
    number: str
    kind: Literal["access", "erasure"]
    status: Literal["received", "completed"]
    # The legal deadline, as the debtor reads it (their language, their timezone).
    deadline_text: str
    # Access: the copy of their data, behind a signed link that asks for the date of birth.
    document_url: str | None = None


class _QueuedHandoff(BaseModel):
    id: int
    priority: int


class HandoffQueuedOut(HandoffTiming, _QueuedHandoff):
    """The handoff's id and priority, then its timing (fields in this order)."""


class ScheduleItem(BaseModel):
    due_date: dt.date
    amount_minor: int


class OfferOut(BaseModel):
    offer_id: str
    kind: ArrangementKind
    status: OfferStatus
    # Why a proposal was countered (e.g. below_min_instalment, first_payment_too_late).
    reasons: list[str]
    currency: str
    total_minor: int
    total_text: str
    instalment_count: int
    instalment_text: str
    last_instalment_text: str
    first_date_text: str
    last_date_text: str
    frequency_text: str
    fees_waived_text: str
    discount_text: str
    schedule_text: str
    schedule: list[ScheduleItem]


class OptionsOut(BaseModel):
    options: list[OfferOut]
    limits: Limits


class _Accepted(BaseModel):
    # The proposal as asked is within the policy; otherwise the offer is the closest counter-offer.
    accepted: bool


class ProposalOut(OfferOut, _Accepted):
    """`accepted`, then the offer, then the limits (fields in this order)."""

    limits: Limits
    # Present only when the debtor keeps asking for what the policy forbids: a person was asked to look.
    handoff: HandoffTiming | None = None


class SummaryOut(OfferOut):
    account_reference: str


class AcceptedOut(BaseModel):
    commitment_reference: str
    confirmation_number: str
    document_url: str
    plan_text: str


class DeclinedOut(BaseModel):
    # `accepted` when the offer had already been agreed to (declining it then changes nothing).
    status: OfferStatus


class VulnerabilityOut(BaseModel):
    support_resources: list[str]
    # None when the conversation was not handed over (an agent flagged it).
    handoff: HandoffTiming | None


class ComplaintOut(BaseModel):
    handoff_id: int
    handoff: HandoffTiming


# --- the debtor's questions (services/debtor_questions.py) --------------------------------------------------


class PlanOut(BaseModel):
    """The active plan as it stands; without one, only what is owed."""

    has_plan: bool
    total_text: str
    commitment_reference: str | None = None
    schedule_text: str | None = None
    # The next instalment due ("15 janvier 2027 : 100,00 €"); empty when none is left to pay.
    next_due_text: str | None = None
    instalments_left: int | None = None
    left_text: str | None = None


class StatementOut(BaseModel):
    payments_count: int
    # The latest payments, newest first, one per line; `earlier_count` older ones are in `paid_text` only.
    payments_text: str
    earlier_count: int
    paid_text: str
    total_text: str
    as_of_text: str


class ConfirmationCopyOut(BaseModel):
    confirmation_number: str
    issued_text: str
    # A fresh signed link; the document asks for the date of birth.
    document_url: str


class OriginalDocumentOut(BaseModel):
    handoff_id: int
    debt_origin: str
    principal_text: str
    interest_text: str
    fees_text: str
    handoff: HandoffTiming


class MissedPaymentOut(BaseModel):
    grace_days: int
    reminder_days_after: int
    on_miss: Literal["move_to_end", "keep"]
    break_after: int


class ContactDetailsOut(BaseModel):
    collector_name: str
    collector_address: str
    collector_phone: str
    collector_email: str
    hours_text: str
    creditor_name: str
    creditor_address: str


class ComplaintEscalationOut(BaseModel):
    escalation_text: str
    configured: bool


# --- affordability (services/affordability.py) ----------------------------------------------------------------


class BudgetFigureIn(BaseModel):
    """One figure as the debtor gave it: an amount (minor units of the account's currency) and how often."""

    model_config = ConfigDict(extra="forbid")

    amount_minor: int = Field(strict=True, ge=0, le=10**11)
    period: Literal["weekly", "biweekly", "monthly", "yearly"] = "monthly"


class BudgetIn(BaseModel):
    """The statement answered in the conversation, one figure per group (kept per month by the api)."""

    model_config = ConfigDict(extra="forbid")

    income: BudgetFigureIn
    housing: BudgetFigureIn
    bills: BudgetFigureIn
    food: BudgetFigureIn
    transport: BudgetFigureIn
    other_costs: BudgetFigureIn
    other_debts: BudgetFigureIn
    adults: int | None = Field(default=None, ge=0, le=20)
    children: int | None = Field(default=None, ge=0, le=20)


class BudgetLinkOut(BaseModel):
    # The page where the debtor may type the figures instead (signed, expiring; it asks for the date of birth).
    budget_url: str
    # The account's currency: the figures are in it.
    currency: str


class BudgetOutcomeOut(BaseModel):
    """What the budget leads to: `plan` (summarised: the debtor is asked to agree), `counter` (the policy's
    closest offer within the budget), or `below_minimum` (no plan pushed: a deferral where the policy allows
    one, and a person to look at the budget)."""

    outcome: Literal["plan", "counter", "below_minimum"]
    budget: BudgetView
    min_instalment_text: str
    account_reference: str
    offer: OfferOut | None = None
    # Below the minimum: nothing_left | below_min_instalment | too_many_instalments.
    reason: str | None = None
    deferral: OfferOut | None = None
    handoff: HandoffQueuedOut | None = None
