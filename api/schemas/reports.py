"""Reports: the KPIs of a creditor over a period (GET /api/v1/reports/kpis). Each field is defined once, in
docs/kpis.md; money is integer minor units keyed by currency, rates are in [0, 1] or null (no denominator)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

PER_CURRENCY = "Per currency (ISO 4217), in minor units"
RATE = "In [0, 1]; null when the denominator is 0"


class LiquidationPoint(BaseModel):
    """What the accounts placed in the period had paid by this many days after their placement (cumulative)."""

    days_since_placement: int
    amount_recovered_minor: int
    recovery_rate: float | None = Field(description=f"amount_recovered_minor / amount_placed_minor. {RATE}")


class KpiGroup(BaseModel):
    """The KPIs of one group (the whole period when nothing is grouped). docs/kpis.md defines every field."""

    key: dict[str, str | None] = Field(description="The group_by values of this group ({} when nothing is grouped)")
    # Placement, recovery, DSO and cure: facts of the accounts (grouped by the account's first channel).
    accounts_placed: int
    amount_placed_minor: dict[str, int] = Field(description=PER_CURRENCY)
    amount_recovered_minor: dict[str, int] = Field(
        description=f"Paid by `to` on the accounts placed in the period. {PER_CURRENCY}"
    )
    recovery_rate: dict[str, float | None] = Field(description=f"amount_recovered_minor / amount_placed_minor. {RATE}")
    liquidation: dict[str, list[LiquidationPoint]] = Field(
        description="Per currency: the recovery of the period's placements 30, 60, 90… days after placement"
    )
    amount_collected_minor: dict[str, int] = Field(description=f"Payments made in the period, on any account. {PER_CURRENCY}")
    amount_outstanding_minor: dict[str, int] = Field(
        description=f"Still owed on the placed accounts at the group's end. {PER_CURRENCY}"
    )
    dso_days: dict[str, float | None] = Field(
        description="amount_outstanding_minor / amount_placed_minor × days in the period; null when nothing was placed"
    )
    accounts_in_collection: int
    accounts_cured: int
    cure_rate: float | None = Field(description=f"accounts_cured / accounts_in_collection. {RATE}")
    # Conversations: those in which the debtor wrote during the period.
    conversations: int
    accounts_contacted: int
    accounts_verified: int
    right_party_contact_rate: float | None = Field(description=f"accounts_verified / accounts_contacted. {RATE}")
    verified_conversations: int
    verified_conversations_with_commitment: int
    promise_to_pay_rate: float | None = Field(
        description=f"verified_conversations_with_commitment / verified_conversations. {RATE}"
    )
    commitments: int
    instalments_due: int
    instalments_paid_on_time: int
    instalments_paid_late: int
    promise_kept_rate: float | None = Field(description=f"instalments_paid_on_time / instalments_due. {RATE}")
    plans_kept: int
    plans_broken: int
    plans_replaced: int
    plans_cancelled: int
    plan_kept_rate: float | None = Field(description=f"plans_kept / (plans_kept + plans_broken). {RATE}")
    disputes: int
    disputes_per_100_conversations: float | None
    vulnerability_flags: int
    vulnerability_flags_per_100_conversations: float | None
    opt_outs: int
    opt_outs_per_100_conversations: float | None
    complaints: int
    complaints_per_100_conversations: float | None
    handoffs: int
    handoffs_by_reason: dict[str, int]
    conversations_handed_over: int
    handoff_rate: float | None = Field(description=f"conversations_handed_over / conversations. {RATE}")
    handoff_rate_by_reason: dict[str, float | None] = Field(
        description=f"Per reason: the conversations handed over for it / conversations. {RATE}"
    )
    handoffs_answered: int
    agent_first_reply_seconds_avg: float | None = Field(
        description="Mean time from a handoff to the agent's first message, over handoffs_answered"
    )
    conversations_resolved_without_person: int
    resolved_without_person_rate: float | None = Field(
        description=f"conversations_resolved_without_person / conversations. {RATE}"
    )
    messages: int
    sms_segments: int
    messages_per_resolution: float | None = Field(description="messages / commitments; null when no commitment")
    sms_segments_per_resolution: float | None = Field(description="sms_segments / commitments; null when no commitment")


class KpiReport(BaseModel):
    """A creditor's KPIs from `from` (included) to `to` (excluded), each fact counted in the period when it
    happened; groups sorted by key."""

    model_config = ConfigDict(populate_by_name=True)

    from_: dt.datetime = Field(alias="from")
    to: dt.datetime
    group_by: list[str]
    groups: list[KpiGroup]
