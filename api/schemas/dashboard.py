"""The console's dashboard (/console/api/dashboard): the KPIs of one creditor the signed-in person serves, cut by
channel and language, and its A/B tests. Each KPI is the creditor API's (api/schemas/reports.py, docs/kpis.md);
each experiment report is the creditor API's (api/schemas/experiments.py, docs/experiments.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Channel, Language
from api.schemas.experiments import ExperimentReport
from api.schemas.reports import KpiGroup
from api.states import AgentRole

Bucket = Literal["day", "week", "month"]
FunnelStageName = Literal["placed", "contacted", "verified", "promise", "kept"]


class CreditorOption(BaseModel):
    id: int
    name: str


class DashboardScope(BaseModel):
    """What the dashboard may show the signed-in person."""

    role: AgentRole
    creditors: list[CreditorOption] = Field(description="The creditors the person serves, whose figures they see")


class FunnelStage(BaseModel):
    stage: FunnelStageName
    field: str = Field(description="The KPI this stage shows (docs/kpis.md)")
    count: int


class DashboardKpis(BaseModel):
    """One creditor's KPIs from `from` (included) to `to` (excluded), narrowed to `channel` and `language` when
    given. `headline` is the KPI group the creditor API answers for the same period grouped by the filtered keys
    (zeros when nothing matches); `series` adds the time bucket; each breakdown adds its key."""

    model_config = ConfigDict(populate_by_name=True)

    creditor: CreditorOption
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime
    channel: Channel | None
    language: Language | None
    bucket: Bucket
    headline: KpiGroup
    funnel: list[FunnelStage] = Field(
        description="placed → contacted → verified → promise → kept: facts of the period, not a cohort followed through"
    )
    series: list[KpiGroup] = Field(description="One group per time bucket (key[bucket] is its first UTC day)")
    by_channel: list[KpiGroup]
    by_language: list[KpiGroup]
    by_hardship_reason: list[KpiGroup]


class DashboardExperiments(BaseModel):
    """The creditor's running and stopped experiments (running first), each with its live report."""

    creditor: CreditorOption
    experiments: list[ExperimentReport]
