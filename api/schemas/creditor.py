"""The creditor's API (/api/v1): loading accounts, reading what was recorded on them, the negotiation policy
and the handoff settings."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from api.schemas.common import (
    AccountStatus,
    ArrangementKind,
    Channel,
    CommitmentStatus,
    ConsentKind,
    ConversationState,
    DisputeStatus,
    Frequency,
    HandoffReason,
    HandoffStatus,
    InstalmentStatus,
    Language,
    PaymentClaimStatus,
)
from api.services import hours
from api.services.money import MAX_MINOR
from api.states import AllocationKind, ContactKind, ContactStatus, PaymentMethod

_CURRENCIES = frozenset(list_currencies())
# A creditor's own file references: letters and digits, with single separators between them ("CR-10001",
# "HX482913", "2024/000123", "FAC-2023-0045"). A creditor may narrow its own format (`/api/v1/reference-format`).
REFERENCE_PATTERN = r"^[A-Za-z0-9]+(?:[-/_][A-Za-z0-9]+)*$"
REFERENCE_DESCRIPTION = "The creditor's file reference, as printed on its letters (letters and digits, single - / _ between them)"
# The law of the country whose currency it is, where that is plain; otherwise the French rules apply.
_JURISDICTION_OF_CURRENCY = {"GBP": "GB", "USD": "US"}


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=3, max_length=40, pattern=REFERENCE_PATTERN, description=REFERENCE_DESCRIPTION)
    debtor_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$", description="E.164, e.g. +33612345678")
    email: EmailStr | None = None
    date_of_birth: dt.date | None = None
    postcode: str | None = Field(default=None, max_length=16)
    language: Language
    timezone: str = "Europe/Paris"
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    balance_minor: int = Field(
        gt=0, le=10**11, description="What is still owed before charges (principal and interest), in minor units (cents)"
    )
    interest_minor: int = Field(
        default=0, ge=0, le=10**11, description="Of balance_minor, the interest (shown apart: CPCE R124-4)"
    )
    fees_minor: int = Field(
        default=0,
        ge=0,
        le=10**11,
        description="Other charges the debtor's contract provides (late-payment penalties). Never the costs of "
        "collection: this service charges none, and under French law they stay with the creditor (CPCE L111-8).",
    )
    due_date: dt.date
    origin: str = Field(default="", max_length=400, description="The basis of the debt (e.g. the invoice and what it was for)")
    jurisdiction: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2}$",
        description="The law the debt is under (ISO 3166 country); by default GB for GBP, US for USD, FR otherwise",
    )

    @model_validator(mode="after")
    def _interest_within_balance(self) -> AccountIn:
        if self.interest_minor > self.balance_minor:
            raise ValueError("interest_minor is part of balance_minor, so it cannot exceed it")
        self.jurisdiction = (self.jurisdiction or _JURISDICTION_OF_CURRENCY.get(self.currency, "FR")).upper()
        return self

    @field_validator("reference")
    @classmethod
    def _upper_reference(cls, value: str) -> str:
        return value.upper()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        value = value.upper()
        if value not in _CURRENCIES:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and not (dt.date(1900, 1, 1) <= value <= dt.date.today()):
            raise ValueError("date of birth must be between 1900-01-01 and today")
        return value


class InstalmentOut(BaseModel):
    due_date: dt.date
    amount_minor: int
    status: InstalmentStatus
    id: int
    sequence: int
    # What payments settled of it so far (status `paid` once it reaches amount_minor).
    paid_minor: int


class CommitmentOut(BaseModel):
    reference: str
    kind: ArrangementKind
    status: CommitmentStatus
    currency: str
    total_minor: int
    fees_waived_minor: int
    discount_minor: int
    frequency: Frequency | None
    agreed_at: dt.datetime
    instalments: list[InstalmentOut]


class ConfirmationOut(BaseModel):
    number: str
    kind: str
    language: Language
    channel: Channel | None
    created_at: dt.datetime
    # The debtor's link (it asks for the date of birth before showing the document).
    document_url: str
    # The same document for the creditor, with the API key.
    pdf_url: str


class ConversationOut(BaseModel):
    id: str
    channel: Channel
    language: Language | None
    state: ConversationState
    verified_at: dt.datetime | None
    locked_at: dt.datetime | None
    created_at: dt.datetime
    messages: int


class SignalOut(BaseModel):
    kind: str
    detail: str | None
    confidence: float | None
    language: Language | None
    conversation_id: str
    message_id: int | None
    created_at: dt.datetime


class DisputeOut(BaseModel):
    id: int
    reason: str | None
    status: DisputeStatus
    created_at: dt.datetime
    # The review, once resolved: who, why, what changed, and when the written answer left (collection
    # resumes only then).
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    explanation: str | None = None
    balance_before_minor: int | None = None
    corrected_balance_minor: int | None = None
    closed_account: bool = False
    answered_at: dt.datetime | None = None


class DisputeResolutionIn(BaseModel):
    """A person's decision on a dispute. Rejected: `explanation` says why, with the facts it rests on (it is
    sent to the debtor in writing with the file's origin, amounts and dates). Upheld: the balance is
    corrected (`corrected_balance_minor`, lower than today's) or the account closed, or neither when the
    dispute was about something else."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    explanation: str = Field(min_length=10, max_length=4000)
    corrected_balance_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    close_account: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> DisputeResolutionIn:
        if self.outcome == "rejected" and (self.corrected_balance_minor is not None or self.close_account):
            raise ValueError("a rejected dispute changes nothing on the account")
        if self.close_account and self.corrected_balance_minor is not None:
            raise ValueError("close the account or correct its balance, not both")
        return self


class ConsentOut(BaseModel):
    channel: Channel
    kind: ConsentKind
    created_at: dt.datetime


class HandoffOut(BaseModel):
    id: int
    reason: HandoffReason
    priority: int
    status: HandoffStatus
    created_at: dt.datetime
    claimed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    outcome: Literal["handed_back", "closed"] | None = None


class AccountOut(BaseModel):
    reference: str
    debtor_name: str
    phone: str | None
    email: str | None
    date_of_birth: dt.date | None
    postcode: str | None
    language: Language
    timezone: str
    currency: str
    balance_minor: int
    interest_minor: int
    fees_minor: int
    due_date: dt.date
    origin: str
    jurisdiction: str
    status: AccountStatus
    vulnerable: bool
    reminders_paused: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class PaymentClaimOut(BaseModel):
    paid_on: dt.date | None
    means: Literal["transfer", "card", "cheque", "direct_debit", "cash", "other"] | None
    status: PaymentClaimStatus
    created_at: dt.datetime


class ContactPreferenceOut(BaseModel):
    channel: Literal["email", "sms", "whatsapp", "phone", "post", "webchat"] | None
    time_window: Literal["morning", "daytime", "evening", "weekend"] | None
    created_at: dt.datetime


class DeliveryFailureOut(BaseModel):
    """An SMS/WhatsApp message that could not be delivered (content left out: the number may not be the debtor's)."""

    message_id: int
    conversation_id: str
    channel: Channel
    status: Literal["failed", "undelivered"]
    error: str | None
    attempts: int
    created_at: dt.datetime


class PaymentIn(BaseModel):
    """A payment received for an account (negative: a refund or a reversal), under the creditor's own id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=3, max_length=40, pattern=REFERENCE_PATTERN, description=REFERENCE_DESCRIPTION)
    amount_minor: int = Field(
        strict=True,  # money is a JSON integer, never a string or a float
        ge=-MAX_MINOR,
        le=MAX_MINOR,
        description="In minor units (cents); negative for a refund or a reversal, never 0",
    )
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217; must be the account's currency")
    paid_at: AwareDatetime = Field(description="When the debtor paid, ISO 8601 with its offset")
    method: PaymentMethod
    external_id: str = Field(
        min_length=1, max_length=100, description="The creditor's id of this payment: sending it again records nothing more"
    )
    reverses: str | None = Field(
        default=None, min_length=1, max_length=100, description="For a reversal: the external_id of the payment it undoes"
    )

    @field_validator("reference", "currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("amount_minor")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a payment of 0 records nothing: send the amount received (negative for a refund)")
        return value


class AllocationOut(BaseModel):
    """Where part of a payment went: an instalment (of a commitment), what is owed outside a plan, or credit."""

    kind: AllocationKind
    amount_minor: int
    instalment_id: int | None
    commitment_reference: str | None
    instalment_sequence: int | None
    instalment_due_date: dt.date | None


class PaymentOut(BaseModel):
    external_id: str
    reference: str
    amount_minor: int
    currency: str
    paid_at: dt.datetime
    method: PaymentMethod
    received_at: dt.datetime
    # The external_id of the payment this one reverses, when it names one.
    reverses: str | None
    # What it took off what the account owes (negative: gave back), principal first, then fees.
    balance_applied_minor: int
    fees_applied_minor: int
    allocations: list[AllocationOut]


class PaymentWebhookSecretOut(BaseModel):
    """The payment webhook's new secret, shown this once (the previous one no longer signs anything)."""

    secret: str = Field(description="The HMAC-SHA256 key: its text, as given, not hex-decoded")
    header: str = Field(description="The header that carries the signature", examples=["X-Payment-Signature"])
    scheme: str = Field(description="What the header holds", examples=["t=<unix>,v1=<hex hmac-sha256 of '<t>.<body>'>"])


class ContactDecisionOut(BaseModel):
    decided_at: dt.datetime
    outcome: ContactStatus
    reason: str | None
    until: dt.datetime | None
    channel: Channel | None


class ContactOut(BaseModel):
    """A contact we initiate (reminder, follow-up, first contact, thanks) and what the contact gate decided."""

    kind: ContactKind
    channel: Channel | None
    # When it is to leave (later than planned once deferred), in the debtor's local time with its offset.
    scheduled_for: dt.datetime
    planned_for: dt.datetime
    status: ContactStatus
    # Why it was deferred or cancelled: outside_contact_hours, contact_cap, dispute_open, vulnerable,
    # payment_claim_pending, opted_out, address_failed, instalment_paid, plan_ended, rescheduled, …
    reason: str | None
    sent_at: dt.datetime | None
    decisions: list[ContactDecisionOut]


class DataRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["access", "erasure", "restriction", "rectification"]
    # What the debtor asked, in their words or the agent's (a rectification says what is wrong).
    note: str | None = Field(default=None, max_length=2000)


class DataRequestOut(BaseModel):
    """A data subject's request, its legal deadline (one month) and what was done."""

    id: int
    kind: Literal["access", "erasure", "restriction", "rectification"]
    status: Literal["received", "completed", "refused"]
    requested_by: str
    note: str | None
    created_at: dt.datetime
    deadline: dt.datetime
    completed_at: dt.datetime | None
    # Erasure: what was erased and what was kept, with the legal reason for each hold.
    outcome: dict[str, object]
    # Access: the export (creditor's key), as JSON and as a readable PDF.
    export_json_url: str | None = None
    export_pdf_url: str | None = None


class BudgetSummaryOut(BaseModel):
    """A debtor's budget as the creditor sees it: what it allows, not its figures (income and each cost stay
    with the collector's agents and the debtor's own data export: docs/affordability.md)."""

    created_at: dt.datetime
    source: Literal["chat", "web_form"]
    currency: str
    # What is left each month once every cost is paid (negative when costs are higher than income).
    disposable_minor: int
    # The instalment suggested: `share_pct` % of what is left, rounded down to a whole unit.
    affordable_minor: int
    share_pct: int


class AccountDetailOut(AccountOut):
    # Verification on this reference is locked after repeated failures (unlock with POST …/verification-unlock).
    verification_locked: bool
    conversations: list[ConversationOut]
    signals: list[SignalOut]
    commitments: list[CommitmentOut]
    confirmations: list[ConfirmationOut]
    disputes: list[DisputeOut]
    consents: list[ConsentOut]
    handoffs: list[HandoffOut]
    payment_claims: list[PaymentClaimOut]
    contact_preferences: list[ContactPreferenceOut]
    # Messages to the debtor's number(s) that failed for good: the operations team should check the number.
    delivery_failures: list[DeliveryFailureOut]
    # Paid beyond what was owed or planned, kept on the account (balance_minor and fees_minor are net of payments).
    credit_minor: int
    payments: list[PaymentOut]
    # Every contact planned or made, oldest first, with the gate's decisions.
    contacts: list[ContactOut]
    data_requests: list[DataRequestOut]
    # Processing restricted at the debtor's request (GDPR art. 18), and when the data was erased.
    restricted: bool
    erased_at: dt.datetime | None
    # The debtor's budgets, the latest first (summaries only).
    budgets: list[BudgetSummaryOut] = []


class VerificationUnlockOut(BaseModel):
    # Whether there was a lock to lift; either way the reference can be verified now.
    unlocked: bool


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_deferral_days: int = Field(ge=0, le=365)
    min_instalments: int = Field(ge=1, le=120)
    max_instalments: int = Field(ge=1, le=120)
    min_instalment_minor: int = Field(ge=1, le=10**9)
    max_first_payment_days: int = Field(ge=0, le=365)
    max_settlement_discount_pct: int = Field(ge=0, le=100)
    fee_waiver_allowed: bool
    affordable_share_pct: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Of what a debtor's budget leaves each month, the share suggested as the instalment "
        "(docs/affordability.md); 50 when left out",
    )

    @model_validator(mode="after")
    def _counts_in_order(self) -> PolicyIn:
        if self.min_instalments > self.max_instalments:
            raise ValueError("min_instalments must not exceed max_instalments")
        return self


class PolicyOut(PolicyIn):
    updated_at: dt.datetime


class AgentHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(examples=["Europe/Paris"])
    weekly: dict[str, list[list[str]]] = Field(examples=[{"mon": [["09:00", "12:30"], ["13:30", "18:00"]]}])


class ReferenceFormat(BaseModel):
    """What the creditor's file references look like: every account placed must match `pattern` in full
    (case-insensitive; null = any reference the API accepts), and debtors asked for their reference are shown
    `example`. The assistant recognises any such reference; matching it is the api's (nothing the debtor is
    told reveals whether a reference exists)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    pattern: str | None = Field(default=None, max_length=200, examples=[r"HX\d{6}", r"\d{4}/\d{6}", r"FAC-\d{4}-\d{4}"])
    example: str = Field(min_length=3, max_length=40, pattern=REFERENCE_PATTERN)
    # Answered, never set: accounts already placed whose reference does not match the pattern.
    accounts_not_matching: int = 0

    @model_validator(mode="after")
    def _example_matches(self) -> ReferenceFormat:
        if self.pattern is not None:
            try:
                compiled = re.compile(self.pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from exc
            if not compiled.fullmatch(self.example):
                raise ValueError("the example must match the pattern")
        return self


class HandoffSettings(BaseModel):
    """When the creditor's agents answer handed-over conversations, and whether they review disputes."""

    model_config = ConfigDict(extra="forbid")

    agent_hours: AgentHoursIn
    expected_wait_minutes: int = Field(ge=1, le=7 * 24 * 60)
    review_disputes: bool

    @field_validator("agent_hours")
    @classmethod
    def _readable_hours(cls, value: AgentHoursIn) -> AgentHoursIn:
        hours.parse_hours(value.model_dump())  # a ValueError says what is wrong (unknown zone, bad range)
        return value


class DebtorInformation(BaseModel):
    """What the assistant tells debtors in the creditor's name, per language (`fr`, `en`; English is used
    for a language without lines): where to find help when they are in distress, and where to complain beyond
    the collector (mediator, ombudsman, regulator). Each line is said as it is, one per bullet."""

    model_config = ConfigDict(extra="forbid")

    support_resources: dict[Language, list[Annotated[str, Field(min_length=1, max_length=300)]]]
    complaint_escalation: dict[Language, list[Annotated[str, Field(min_length=1, max_length=300)]]]

    @field_validator("support_resources", "complaint_escalation")
    @classmethod
    def _few_lines(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(len(lines) > 8 for lines in value.values()):
            raise ValueError("at most 8 lines per language")
        return value
