"""The console's dashboard API (/console/api/dashboard): the KPIs and the A/B tests of the creditors the signed-in
person serves, for agents and managers alike (reads only). The page is /console/dashboard (api/routes/console.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConsoleUser, SessionDep, SessionReleasingRoute
from api.models import utcnow
from api.routes.reports import From, To
from api.schemas.common import Channel, Language
from api.schemas.dashboard import (
    Bucket,
    CreditorOption,
    DashboardExperiments,
    DashboardKpis,
    DashboardScope,
)
from api.services import dashboard, experiments, kpis
from api.states import AgentRole

router = APIRouter(route_class=SessionReleasingRoute, prefix="/console/api/dashboard", tags=["agent console"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_UNKNOWN_CREDITOR: dict[int | str, dict[str, Any]] = {
    404: {**_PROBLEM, "description": "`unknown_creditor`: not one of the creditors the signed-in person serves"}
}
CreditorId = Annotated[int, Query(description="One of the creditors the signed-in person serves (GET /console/api/dashboard)")]


@router.get("")
def read_scope(person: ConsoleUser, session: SessionDep) -> DashboardScope:
    """The signed-in person's role and the creditors whose figures they see."""
    return DashboardScope(
        role=AgentRole(person.role),
        creditors=[CreditorOption(id=c.id, name=c.name) for c in dashboard.visible_creditors(session, person)],
    )


@router.get(
    "/kpis",
    responses={
        **_UNKNOWN_CREDITOR,
        422: {**_PROBLEM, "description": "A malformed instant or filter, or `invalid_period` (as the creditor API's report)"},
    },
)
def read_kpis(
    person: ConsoleUser,
    session: SessionDep,
    creditor_id: CreditorId,
    start: From,
    to: To,
    channel: Annotated[Channel | None, Query(description="Only the facts of this channel (docs/kpis.md, Groups)")] = None,
    language: Annotated[Language | None, Query(description="Only the facts in this language")] = None,
    bucket: Annotated[Bucket | None, Query(description="The time series' step; default from the period's length")] = None,
) -> DashboardKpis:
    """The headline figures, the funnel, the time series and the breakdowns (channel, language, hardship reason;
    handoff reasons are in the headline) of one creditor: each the creditor API's KPI group for the same period,
    grouped by the filtered keys."""
    creditor = dashboard.visible_creditor(session, person, creditor_id)
    period = kpis.Period.of(start, to)
    step = bucket or dashboard.default_bucket(period)
    view = dashboard.kpi_view(session, creditor.id, period, dashboard.Filters(channel, language), step)
    return DashboardKpis.model_validate(
        {
            "creditor": CreditorOption(id=creditor.id, name=creditor.name),
            "from": period.start,
            "to": period.end,
            "channel": channel,
            "language": language,
            "bucket": step,
            "headline": view.headline,
            "funnel": [{"stage": stage, "field": field, "count": count} for stage, field, count in view.funnel],
            "series": view.series,
            "by_channel": view.breakdowns["channel"],
            "by_language": view.breakdowns["language"],
            "by_hardship_reason": view.breakdowns["hardship_reason"],
        }
    )


@router.get("/experiments", responses=_UNKNOWN_CREDITOR)
def read_experiments(person: ConsoleUser, session: SessionDep, creditor_id: CreditorId) -> DashboardExperiments:
    """The creditor's running and stopped experiments with their live reports: the same report as the creditor
    API's `GET /api/v1/experiments/{id}/report` (no winner before every arm has its planned size)."""
    creditor = dashboard.visible_creditor(session, person, creditor_id)
    return DashboardExperiments(
        creditor=CreditorOption(id=creditor.id, name=creditor.name),
        experiments=[
            experiments.report_out(experiments.report(session, experiment, utcnow()))
            for experiment in dashboard.reported_experiments(session, creditor.id)
        ],
    )
