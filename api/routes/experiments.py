"""Creditor API: A/B tests of the bot's wording and of the follow-through cadence, and their live reports
(docs/experiments.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute, SettingsDep
from api.models import Experiment, utcnow
from api.schemas.experiments import (
    AssignmentOut,
    ExperimentIn,
    ExperimentOut,
    ExperimentReport,
)
from api.services import experiments
from api.services.errors import ResponseExperimentNotShown
from api.states import ExperimentKind

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/experiments", tags=["experiments"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {**_PROBLEM, "description": "None of the creditor's experiments has this id"}}
_DEFINITION: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid fields (arms, ratios, wordings, outcome), a response domain.yml does not define, or an unknown placeholder"
    }
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExperimentOut, responses=_DEFINITION)
def create_experiment(body: ExperimentIn, creditor: CreditorDep, session: SessionDep, settings: SettingsDep) -> Experiment:
    """A draft experiment, with the accounts each arm will need before any verdict (`min_sample_per_arm`).
    Nobody is assigned before it starts."""
    return experiments.create_experiment(session, creditor, body, settings.domain_file)


@router.get("", response_model=list[ExperimentOut])
def list_experiments(creditor: CreditorDep, session: SessionDep) -> list[Experiment]:
    return experiments.list_experiments(session, creditor.id)


@router.get("/{experiment_id}", response_model=ExperimentOut, responses=_UNKNOWN)
def read_experiment(experiment_id: int, creditor: CreditorDep, session: SessionDep) -> Experiment:
    return experiments.find_experiment(session, creditor.id, experiment_id)


@router.put(
    "/{experiment_id}",
    response_model=ExperimentOut,
    responses={**_UNKNOWN, **_DEFINITION, 409: {**_PROBLEM, "description": "The experiment is running or stopped: not editable"}},
)
def update_experiment(
    experiment_id: int, body: ExperimentIn, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> Experiment:
    """Changes a draft (the minimum sample size is planned again); a running or stopped experiment keeps the
    definition its accounts were assigned under."""
    experiment = experiments.find_experiment(session, creditor.id, experiment_id)
    return experiments.update_experiment(session, creditor, experiment, body, settings.domain_file)


@router.post(
    "/{experiment_id}/start",
    response_model=ExperimentOut,
    responses={
        **_UNKNOWN,
        409: {
            **_PROBLEM,
            "description": "Not a draft, another experiment runs on the same response or setting, or a response "
            "experiment (the assistant does not show A/B wordings yet)",
        },
    },
)
def start_experiment(experiment_id: int, creditor: CreditorDep, session: SessionDep) -> Experiment:
    """From now on each account the scheduler asks about is assigned an arm, for good. Only cadence experiments
    start: the assistant does not show a response's A/B wordings yet (docs/experiments.md), and an experiment
    no debtor can see would only collect empty arms."""
    experiment = experiments.find_experiment(session, creditor.id, experiment_id)
    if experiment.kind == ExperimentKind.RESPONSE:
        raise ResponseExperimentNotShown()
    return experiments.start_experiment(session, creditor, experiment, utcnow())


@router.post(
    "/{experiment_id}/stop",
    response_model=ExperimentOut,
    responses={**_UNKNOWN, 409: {**_PROBLEM, "description": "The experiment is not running"}},
)
def stop_experiment(experiment_id: int, creditor: CreditorDep, session: SessionDep) -> Experiment:
    """Nobody more is assigned and every account gets the usual wording or setting again; the assignments are
    kept, and the report goes on counting their outcomes."""
    experiment = experiments.find_experiment(session, creditor.id, experiment_id)
    return experiments.stop_experiment(session, creditor, experiment, utcnow())


@router.get("/{experiment_id}/report", response_model=ExperimentReport, responses=_UNKNOWN)
def read_report(experiment_id: int, creditor: CreditorDep, session: SessionDep) -> ExperimentReport:
    """The experiment's live report: each arm's accounts, rate and interval, each challenger against the
    control, and a winner only once every arm has reached its planned size."""
    experiment = experiments.find_experiment(session, creditor.id, experiment_id)
    return experiments.report_out(experiments.report(session, experiment, utcnow()))


@router.get("/{experiment_id}/assignments", response_model=list[AssignmentOut], responses=_UNKNOWN)
def read_assignments(experiment_id: int, creditor: CreditorDep, session: SessionDep) -> list[AssignmentOut]:
    """Every account assigned, its arm and when (kept after the experiment stops)."""
    experiment = experiments.find_experiment(session, creditor.id, experiment_id)
    return [
        AssignmentOut(reference=reference, arm=arm, assigned_at=at)
        for reference, arm, at in experiments.assignments(session, experiment)
    ]
