"""Creditor API: the creditor's KPIs over a period (JSON, or CSV on `Accept: text/csv`) and the outcome of each
account it placed (streamed CSV). docs/kpis.md defines every figure."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.schemas.reports import KpiReport
from api.services import kpis

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/reports", tags=["reports"])

CSV = "text/csv"
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_PERIOD_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        **_PROBLEM,
        "description": "A malformed instant (field errors), or `invalid_period` (no UTC offset, `to` not after `from`, "
        "longer than 732 days), or `unknown_grouping`",
    }
}

From = Annotated[
    dt.datetime,
    Query(
        alias="from", description="Start of the period, included: an ISO 8601 instant with its offset (2026-03-01T00:00:00+01:00)"
    ),
]
To = Annotated[dt.datetime, Query(description="End of the period, excluded: an ISO 8601 instant with its offset")]


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses={
        200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "The KPIs, as JSON or CSV"},
        **_PERIOD_ERRORS,
    },
)
def kpi_report(
    creditor: CreditorDep,
    session: SessionDep,
    start: From,
    to: To,
    group_by: Annotated[
        list[str] | None,
        Query(description="Any of channel, language, hardship_reason, and one of day, week, month (comma-separated or repeated)"),
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """The calling creditor's KPIs from `from` to `to`, each fact counted in the period when it happened; one group
    per value of the `group_by` keys (one group with an empty key without them). With `Accept: text/csv`, the same
    as CSV: one row per group, money and per-reason fields as one column each (`amount_placed_minor.EUR`)."""
    report = kpis.report(session, creditor.id, kpis.Period.of(start, to), kpis.Grouping.parse(group_by))
    if accept and CSV in accept.lower():
        return Response(kpis.report_csv(report), media_type=f"{CSV}; charset=utf-8")
    return report


@router.get(
    "/accounts.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "One line per account"}, **_PERIOD_ERRORS},
)
def account_outcomes(creditor: CreditorDep, start: From, to: To) -> StreamingResponse:
    """The accounts placed from `from` to `to`, one CSV line each, with what happened to them by `to`: amounts
    placed, recovered and outstanding, first debtor message, verification, plans, instalments, disputes,
    handoffs, opt-outs, vulnerability flags (columns in docs/kpis.md). Streamed: any number of accounts."""
    period = kpis.Period.of(start, to)
    return StreamingResponse(
        kpis.account_outcomes_csv(creditor.id, period),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="account-outcomes.csv"'},
    )
