"""The creditor's A/B tests (/api/v1/experiments): what an experiment compares, and its live report.
docs/experiments.md explains the assignment, the outcomes and the statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.services.experiment_stats import ExperimentState, Verdict
from api.states import CadenceSetting, ExperimentKind, ExperimentOutcome, ExperimentStatus

# What each cadence setting may be set to, in days (the bounds services/follow_through.py accepts or less).
CADENCE_BOUNDS = {CadenceSetting.REMINDER_DAYS_BEFORE: (1, 30), CadenceSetting.FOLLOW_UP_DAYS: (1, 90)}

ArmName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="Lower-case letters, digits and _, starting with a letter (it is the slot value the bot's "
        "response variation is conditioned on)",
    ),
]


class Wordings(BaseModel):
    """What an arm's variation of the response says, in each language (placeholders such as {creditor_name}
    as the response itself uses them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    fr: str = Field(min_length=1, max_length=1000)
    en: str = Field(min_length=1, max_length=1000)


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: ArmName
    ratio: int = Field(ge=1, le=1000, description="Integer weight: arms 1 and 3 get a quarter and three quarters of the accounts")
    wordings: Wordings | None = Field(default=None, description="A response experiment: the arm's wording in French and English")
    value: int | None = Field(default=None, description="A cadence experiment: the setting's value for this arm, in days")


class ExperimentIn(BaseModel):
    """An experiment. The first arm is the control (for a response: the wording domain.yml has today)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    kind: ExperimentKind
    target: str = Field(
        min_length=1,
        max_length=64,
        description="response: a response of domain.yml (utter_offer_options); cadence: reminder_days_before or follow_up_days",
    )
    arms: list[ArmIn] = Field(min_length=2, max_length=10)
    outcome: ExperimentOutcome = Field(description="The primary outcome, one yes/no per assigned account")
    outcome_days: int | None = Field(default=None, ge=1, le=365, description="N of payment_within_days (required for it only)")
    baseline_rate: float = Field(gt=0, lt=1, description="The outcome's rate expected without change (e.g. 0.30)")
    minimum_detectable_effect: float = Field(
        gt=0, lt=1, description="The smallest absolute difference of rates worth finding (e.g. 0.05 for 5 points)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentIn:
        names = [arm.name for arm in self.arms]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"arm names must be unique: {', '.join(twice)} used more than once")
        if self.kind == ExperimentKind.RESPONSE:
            self._check_response_arms()
        else:
            self._check_cadence_arms()
        if (self.outcome == ExperimentOutcome.PAYMENT_WITHIN_DAYS) != (self.outcome_days is not None):
            raise ValueError("outcome_days is required with payment_within_days, and only with it")
        if self.baseline_rate + self.minimum_detectable_effect >= 1:
            raise ValueError("baseline_rate + minimum_detectable_effect must stay below 1")
        return self

    def _check_response_arms(self) -> None:
        missing = [arm.name for arm in self.arms if arm.wordings is None]
        if missing:
            raise ValueError(f"a response experiment gives every arm its wordings in fr and en: missing for {', '.join(missing)}")
        if any(arm.value is not None for arm in self.arms):
            raise ValueError("a response experiment's arms have wordings, not a value")

    def _check_cadence_arms(self) -> None:
        if self.target not in CADENCE_BOUNDS:
            raise ValueError(f"a cadence experiment varies one of: {', '.join(CADENCE_BOUNDS)}")
        low, high = CADENCE_BOUNDS[CadenceSetting(self.target)]
        if any(arm.wordings is not None for arm in self.arms):
            raise ValueError("a cadence experiment's arms have a value, not wordings")
        wrong = [arm.name for arm in self.arms if arm.value is None or not low <= arm.value <= high]
        if wrong:
            raise ValueError(f"{self.target} takes a value from {low} to {high} days: check {', '.join(wrong)}")


class ArmOut(BaseModel):
    name: str
    ratio: int
    wordings: Wordings | None = None
    value: int | None = None


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: ExperimentKind
    target: str
    arms: list[ArmOut] = Field(description="The first arm is the control")
    outcome: ExperimentOutcome
    outcome_days: int | None
    baseline_rate: float
    minimum_detectable_effect: float
    min_sample_per_arm: int = Field(description="Accounts every arm needs before a verdict (alpha 0.05, power 0.8)")
    status: ExperimentStatus
    created_at: dt.datetime
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None


class IntervalOut(BaseModel):
    low: float
    high: float


class ArmReport(BaseModel):
    name: str
    control: bool
    ratio: int
    assigned: int = Field(description="Accounts assigned to the arm")
    n: int = Field(description="Assigned accounts whose outcome counts (payment_within_days: those whose N days are over)")
    pending: int = Field(description="Assigned accounts still inside their N days (payment_within_days only)")
    successes: int
    rate: float | None = Field(description="successes / n; null when n is 0")
    interval: IntervalOut | None = Field(description="95 % Wilson score interval of the rate")
    remaining: int = Field(description="Accounts the arm still needs before any verdict")


class ComparisonReport(BaseModel):
    arm: str
    control: str
    difference: float | None = Field(description="The arm's rate minus the control's")
    interval: IntervalOut | None = Field(description="Wald interval of the difference, at interval_level")
    z: float | None
    p_value: float | None = Field(description="Two-sided p-value of the two-proportion z-test (pooled)")
    verdict: Verdict


class ExperimentReport(BaseModel):
    experiment: ExperimentOut
    as_of: dt.datetime
    method: str
    alpha: float
    power: float
    adjusted_alpha: float = Field(description="alpha / (arms - 1): Bonferroni over the comparisons with the control")
    interval_level: float = Field(description="1 - adjusted_alpha (0.95 with two arms)")
    min_sample_per_arm: int
    ready: bool = Field(description="Every arm has reached min_sample_per_arm; no verdict before")
    state: ExperimentState
    winner: str | None = Field(description="Null before every arm has its planned accounts, and when no arm is shown better")
    arms: list[ArmReport]
    comparisons: list[ComparisonReport]


class AssignmentOut(BaseModel):
    reference: str = Field(description="The account's reference")
    arm: str
    assigned_at: dt.datetime
