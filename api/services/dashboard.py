"""The console's dashboard: a creditor's KPIs (api/services/kpis.py) cut by the dashboard's filters, and the
experiments it reports on, for the creditors the signed-in person serves (agent or manager).

Nothing is computed here that kpis.py does not compute: a filter (channel, language) is a `group_by` key whose
group is picked out of the report, so every figure is the creditor API's figure for the same question.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, get_origin

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Agent, Creditor, Experiment
from api.schemas.reports import KpiGroup
from api.services import agents, experiments, kpis
from api.services.errors import UnknownCreditor
from api.states import ExperimentStatus

# The funnel, stage by stage, and the KPI each stage shows (docs/kpis.md defines them). Facts of the period,
# not a cohort followed through: accounts placed before the period are contacted in it, so a stage can be
# larger than the one before.
FUNNEL = (
    ("placed", "accounts_placed"),
    ("contacted", "accounts_contacted"),
    ("verified", "accounts_verified"),
    ("promise", "commitments"),
    ("kept", "plans_kept"),
)
BREAKDOWNS = kpis.DIMENSIONS  # channel, language, hardship_reason
# The time bucket chosen when none is asked: from about 7 to 62 points on the time series.
_DAYS_BY_DAY = 62
_DAYS_BY_WEEK = 200


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to; None is everything."""

    channel: str | None = None
    language: str | None = None

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(name for name in ("channel", "language") if getattr(self, name) is not None)

    @property
    def key(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in self.dimensions}

    def matches(self, group: KpiGroup) -> bool:
        return all(group.key.get(name) == value for name, value in self.key.items())


@dataclass(frozen=True)
class KpiView:
    headline: KpiGroup
    funnel: list[tuple[str, str, int]]
    series: list[KpiGroup]
    breakdowns: dict[str, list[KpiGroup]]


# --- whose figures -----------------------------------------------------------------------------------------------


def visible_creditors(session: Session, person: Agent) -> list[Creditor]:
    """The creditors whose figures the person sees: those they serve, agent or manager."""
    ids = agents.creditor_ids_of(session, person)
    return list(session.scalars(select(Creditor).where(Creditor.id.in_(ids)).order_by(Creditor.id))) if ids else []


def visible_creditor(session: Session, person: Agent, creditor_id: int) -> Creditor:
    """One of them; any other creditor is as unknown as a missing one (404)."""
    if creditor_id not in agents.creditor_ids_of(session, person):
        raise UnknownCreditor()
    return session.get_one(Creditor, creditor_id)


# --- the KPIs ------------------------------------------------------------------------------------------------------


def default_bucket(period: kpis.Period) -> str:
    if period.days <= _DAYS_BY_DAY:
        return "day"
    return "week" if period.days <= _DAYS_BY_WEEK else "month"


def kpi_view(
    session: Session, creditor_id: int, period: kpis.Period, filters: Filters, bucket: str, now: dt.datetime | None = None
) -> KpiView:
    """The headline figures, the funnel, the time series and the breakdowns of one creditor over `period`."""

    def report(grouping: kpis.Grouping) -> list[KpiGroup]:
        return [group for group in kpis.report(session, creditor_id, period, grouping, now).groups if filters.matches(group)]

    dims = filters.dimensions
    found = report(kpis.Grouping(dims))
    headline = found[0] if found else empty_group(filters.key)
    series = report(kpis.Grouping(dims, bucket)) or [
        empty_group({**filters.key, bucket: label}) for label in bucket_labels(period, bucket)
    ]
    breakdowns = {name: (found if name in dims else report(kpis.Grouping((*dims, name)))) for name in BREAKDOWNS}
    funnel = [(stage, field, int(getattr(headline, field))) for stage, field in FUNNEL]
    return KpiView(headline=headline, funnel=funnel, series=series, breakdowns=breakdowns)


def empty_group(key: dict[str, str | None]) -> KpiGroup:
    """The figures of a group without a single fact: what kpis.py answers for one (counts 0, no money, rates
    null), for a filter that matches nothing (kpis.py lists only the groups it finds)."""
    values: dict[str, Any] = {"key": key}
    for name, info in KpiGroup.model_fields.items():
        if name == "key":
            continue
        values[name] = 0 if info.annotation is int else ({} if get_origin(info.annotation) is dict else None)
    return KpiGroup(**values)


def bucket_labels(period: kpis.Period, unit: str) -> list[str]:
    """The first UTC day of each day, ISO week (from Monday) or month the period touches, as kpis.py labels its
    time buckets."""
    start, end = period.start.astimezone(dt.timezone.utc), period.end.astimezone(dt.timezone.utc)
    day = start.date()
    if unit == "week":
        day -= dt.timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    labels = []
    while dt.datetime.combine(day, dt.time(0), dt.timezone.utc) < end:
        labels.append(day.isoformat())
        if unit == "day":
            day += dt.timedelta(days=1)
        elif unit == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return labels


# --- the experiments -----------------------------------------------------------------------------------------------


def reported_experiments(session: Session, creditor_id: int) -> list[Experiment]:
    """The creditor's experiments that have a report: running ones first, then stopped ones, newest first (a draft
    assigns nobody, so it has nothing to show)."""
    found = [e for e in experiments.list_experiments(session, creditor_id) if e.status != ExperimentStatus.DRAFT]
    return sorted(found, key=lambda e: (e.status != ExperimentStatus.RUNNING, -e.id))
