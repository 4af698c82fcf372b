"""What the audiences share: the domain's states and kinds, and the views the bot and the console both show."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.states import (
    AccountStatus,
    Channel,
    CommitmentStatus,
    ConsentKind,
    ConversationState,
    DisputeStatus,
    HandoffReason,
    HandoffStatus,
    InstalmentStatus,
    MessageStatus,
    OfferStatus,
    PaymentClaimStatus,
)

__all__ = [
    "AccountStatus",
    "AccountSummary",
    "ArrangementKind",
    "BudgetView",
    "Channel",
    "CommitmentStatus",
    "CommitmentSummary",
    "ConsentKind",
    "ConversationState",
    "DisputeStatus",
    "Frequency",
    "HandoffReason",
    "HandoffStatus",
    "InstalmentStatus",
    "IsoDateTime",
    "Language",
    "Limits",
    "MessageStatus",
    "OfferStatus",
    "PaymentClaimStatus",
    "Recorded",
]

Language = Literal["fr", "en"]
ArrangementKind = Literal["instalments", "deferral", "full", "settlement"]
Frequency = Literal["weekly", "biweekly", "monthly"]
# An instant as the console and the action server receive it: Python's isoformat, e.g. 2026-03-01T09:30:00+00:00.
IsoDateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Recorded(BaseModel):
    """Something was recorded: its id."""

    id: int


class AccountSummary(BaseModel):
    """An account as the bot tells it and the console shows it: amounts and dates formatted in the reader's language."""

    reference: str
    debtor_name: str
    currency: str
    balance_minor: int
    fees_minor: int
    balance_text: str
    fees_text: str
    total_text: str
    due_date_text: str
    origin: str
    creditor_name: str
    status: AccountStatus
    # An open dispute: no payment may be asked for or arranged.
    collection_paused: bool
    language: Language
    payment_methods: list[str]


class CommitmentSummary(BaseModel):
    reference: str
    status: CommitmentStatus
    total_text: str
    schedule_text: str
    # The next instalment due, e.g. "5 mars 2026 : 50,00 €" (empty when none is due).
    next_due_text: str


class Limits(BaseModel):
    """The creditor's bounds, formatted, so the bot (or the agent) can explain a counter-offer."""

    min_instalments: int
    max_instalments: int
    min_instalment_text: str
    latest_date_text: str
    latest_first_date_text: str
    fees_waivable: bool
    fees_text: str


class BudgetView(BaseModel):
    """A debtor's budget as the bot and the console read it: every figure per month, in minor units and
    formatted in the reader's language (api/services/affordability.py)."""

    id: int
    source: Literal["chat", "web_form"]
    currency: str
    created_at: IsoDateTime
    conversation_id: str | None
    income_minor: int
    housing_minor: int
    bills_minor: int
    food_minor: int
    transport_minor: int
    other_costs_minor: int
    other_debts_minor: int
    income_text: str
    housing_text: str
    bills_text: str
    food_text: str
    transport_text: str
    other_costs_text: str
    other_debts_text: str
    costs_minor: int
    costs_text: str
    adults: int | None
    children: int | None
    # Income less every cost (negative when costs are higher), and the instalment suggested: `share_pct` % of
    # it, rounded down to a whole unit.
    disposable_minor: int
    disposable_text: str
    affordable_minor: int
    affordable_text: str
    share_pct: int
