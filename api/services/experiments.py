"""A/B tests of a response's wording or of a follow-through setting: the creditor's experiments, which arm
each account is in, each arm's outcome counted from the stored facts, and the report (experiment_stats does
the statistics). docs/experiments.md is the user's guide.

An account's arm is a function of sha256("<experiment id>:<account id>") laid over the arms' cumulative
ratios: the same account always lands in the same arm, with no state to share between workers. It is stored
the first time it is asked for (`assign`), and read back after; stopping an experiment keeps the assignments
and assigns nobody more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.logging import log
from api.models import (
    Account,
    Allocation,
    Commitment,
    Creditor,
    Experiment,
    ExperimentAssignment,
    Instalment,
    Payment,
)
from api.schemas.experiments import (
    ArmReport,
    ComparisonReport,
    ExperimentIn,
    ExperimentOut,
    ExperimentReport,
    IntervalOut,
)
from api.services import experiment_stats
from api.services.audit import audit
from api.services.errors import (
    ExperimentNotDraft,
    ExperimentNotRunning,
    ExperimentTargetBusy,
    UnknownExperiment,
    UnknownPlaceholder,
    UnknownResponse,
)
from api.services.experiment_stats import Analysis, ArmCounts
from api.states import CadenceSetting, CommitmentStatus, ExperimentKind, ExperimentOutcome, ExperimentStatus

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


# --- the bot's responses (domain.yml) ----------------------------------------------------------------------------


@cache
def domain_responses(domain_file: Path) -> dict[str, frozenset[str]]:
    """The responses domain.yml defines, each with the {placeholders} its variations use (read once)."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    responses: dict[str, frozenset[str]] = {}
    for name, variations in (domain.get("responses") or {}).items():
        texts = [variation.get("text") or "" for variation in variations or [] if isinstance(variation, dict)]
        responses[name] = frozenset(found for text in texts for found in _PLACEHOLDER.findall(text))
    return responses


def _check_response(domain_file: Path, values: ExperimentIn) -> None:
    responses = domain_responses(domain_file)
    if values.target not in responses:
        raise UnknownResponse(values.target)
    allowed = responses[values.target]
    for arm in values.arms:
        assert arm.wordings is not None  # ExperimentIn checked it
        used = set(_PLACEHOLDER.findall(arm.wordings.fr)) | set(_PLACEHOLDER.findall(arm.wordings.en))
        if used - allowed:
            raise UnknownPlaceholder(arm.name, sorted(used - allowed), sorted(allowed))


# --- the creditor's experiments ----------------------------------------------------------------------------------


def _actor(creditor: Creditor) -> str:
    return f"creditor:{creditor.id}"


def _define(experiment: Experiment, values: ExperimentIn) -> None:
    experiment.name = values.name
    experiment.kind = values.kind
    experiment.target = values.target
    experiment.arms = [arm.model_dump(exclude_none=True) for arm in values.arms]
    experiment.outcome = values.outcome
    experiment.outcome_days = values.outcome_days
    experiment.baseline_rate = values.baseline_rate
    experiment.minimum_detectable_effect = values.minimum_detectable_effect
    # Planned now, before any data: the size is never chosen after seeing the results.
    experiment.min_sample_per_arm = experiment_stats.minimum_sample_size(
        values.baseline_rate, values.minimum_detectable_effect, arm_count=len(values.arms)
    )


def create_experiment(session: Session, creditor: Creditor, values: ExperimentIn, domain_file: Path) -> Experiment:
    """A draft experiment (nobody is assigned before it starts)."""
    if values.kind == ExperimentKind.RESPONSE:
        _check_response(domain_file, values)
    experiment = Experiment(creditor_id=creditor.id, status=ExperimentStatus.DRAFT)
    _define(experiment, values)
    session.add(experiment)
    session.flush()
    audit(session, _actor(creditor), "experiment_created", "experiment", experiment.id, kind=values.kind, target=values.target)
    return experiment


def update_experiment(
    session: Session, creditor: Creditor, experiment: Experiment, values: ExperimentIn, domain_file: Path
) -> Experiment:
    """A draft's new definition; a running or stopped experiment keeps the one its accounts were assigned under."""
    if experiment.status != ExperimentStatus.DRAFT:
        raise ExperimentNotDraft()
    if values.kind == ExperimentKind.RESPONSE:
        _check_response(domain_file, values)
    _define(experiment, values)
    session.flush()
    audit(session, _actor(creditor), "experiment_updated", "experiment", experiment.id)
    return experiment


def find_experiment(session: Session, creditor_id: int, experiment_id: int) -> Experiment:
    """One of the creditor's experiments; another creditor's is as unknown as a missing one."""
    experiment = session.get(Experiment, experiment_id)
    if experiment is None or experiment.creditor_id != creditor_id:
        raise UnknownExperiment()
    return experiment


def list_experiments(session: Session, creditor_id: int) -> list[Experiment]:
    return list(session.scalars(select(Experiment).where(Experiment.creditor_id == creditor_id).order_by(Experiment.id)))


def start_experiment(session: Session, creditor: Creditor, experiment: Experiment, now: dt.datetime) -> Experiment:
    """From now on, accounts asked about are assigned an arm. One running experiment per response or setting."""
    if experiment.status != ExperimentStatus.DRAFT:
        raise ExperimentNotDraft()
    running = _running(session, experiment.creditor_id, ExperimentKind(experiment.kind), experiment.target)
    if running is not None:
        raise ExperimentTargetBusy(running.id)
    experiment.status = ExperimentStatus.RUNNING
    experiment.started_at = now
    session.flush()
    audit(session, _actor(creditor), "experiment_started", "experiment", experiment.id)
    log.info("experiment_started", experiment_id=experiment.id, kind=experiment.kind, target=experiment.target)
    return experiment


def stop_experiment(session: Session, creditor: Creditor, experiment: Experiment, now: dt.datetime) -> Experiment:
    """Nobody more is assigned and the bot goes back to its usual wording; the assignments stay, for the record
    and the report."""
    if experiment.status != ExperimentStatus.RUNNING:
        raise ExperimentNotRunning()
    experiment.status = ExperimentStatus.STOPPED
    experiment.stopped_at = now
    session.flush()
    audit(session, _actor(creditor), "experiment_stopped", "experiment", experiment.id)
    log.info("experiment_stopped", experiment_id=experiment.id)
    return experiment


def _running(session: Session, creditor_id: int, kind: ExperimentKind, target: str) -> Experiment | None:
    return session.scalar(
        select(Experiment)
        .where(
            Experiment.creditor_id == creditor_id,
            Experiment.kind == kind,
            Experiment.target == target,
            Experiment.status == ExperimentStatus.RUNNING,
        )
        .order_by(Experiment.id)
        .limit(1)
    )


# --- assignment ----------------------------------------------------------------------------------------------------


def choose_arm(experiment_id: int, account_id: int, arms: Sequence[tuple[str, int]]) -> str:
    """The arm of `(name, ratio)` an account falls in: the first 8 bytes of sha256("<experiment>:<account>") as a
    number in [0, 2⁶⁴), scaled to [0, total ratio) and laid over the cumulative ratios. The separator keeps
    (1, 23) and (12, 3) apart; another experiment reshuffles the accounts independently."""
    total = sum(ratio for _, ratio in arms)
    digest = hashlib.sha256(f"{experiment_id}:{account_id}".encode()).digest()
    point = (int.from_bytes(digest[:8], "big") * total) >> 64
    for name, ratio in arms:
        if point < ratio:
            return name
        point -= ratio
    raise AssertionError("unreachable: point < total")


def _arm_ratios(experiment: Experiment) -> list[tuple[str, int]]:
    return [(arm["name"], int(arm["ratio"])) for arm in experiment.arms]


def assign(session: Session, experiment: Experiment, account: Account, now: dt.datetime) -> ExperimentAssignment | None:
    """The account's assignment: the stored one, else (while the experiment runs) a new one from the hash.
    None for an experiment that is not running and never assigned the account, or another creditor's."""
    if account.creditor_id != experiment.creditor_id:
        return None
    query = select(ExperimentAssignment).where(
        ExperimentAssignment.experiment_id == experiment.id, ExperimentAssignment.account_id == account.id
    )
    stored = session.scalar(query)
    if stored is not None or experiment.status != ExperimentStatus.RUNNING:
        return stored
    assignment = ExperimentAssignment(
        experiment_id=experiment.id,
        account_id=account.id,
        arm=choose_arm(experiment.id, account.id, _arm_ratios(experiment)),
        assigned_at=now,
    )
    try:
        with session.begin_nested():  # assigned at the same moment by another worker: one row, the same arm
            session.add(assignment)
    except IntegrityError:
        return session.scalar(query)
    return assignment


def arm_for(session: Session, account: Account, response: str, now: dt.datetime | None = None) -> str | None:
    """For the bot: the arm (its name) of the running experiment on `response` that the account is in, assigning
    it on the first call; None when no experiment runs on that response for the account's creditor (the bot then
    says the response as domain.yml has it, as it does for the control arm)."""
    experiment = _running(session, account.creditor_id, ExperimentKind.RESPONSE, response)
    if experiment is None:
        return None
    assignment = assign(session, experiment, account, now or dt.datetime.now(dt.timezone.utc))
    return assignment.arm if assignment else None


def cadence_for(session: Session, account: Account, setting: CadenceSetting, now: dt.datetime | None = None) -> int | None:
    """For the follow-through scheduler: the value of `setting` (days) that the account's arm of the running
    cadence experiment gives, assigning it on the first call; None when none runs (the creditor's setting applies)."""
    experiment = _running(session, account.creditor_id, ExperimentKind.CADENCE, setting)
    if experiment is None:
        return None
    assignment = assign(session, experiment, account, now or dt.datetime.now(dt.timezone.utc))
    if assignment is None:
        return None
    return next(int(arm["value"]) for arm in experiment.arms if arm["name"] == assignment.arm)


# --- outcomes -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmTally:
    """An arm's accounts: assigned, those whose outcome counts (`n`), those still in their window, successes."""

    name: str
    ratio: int
    assigned: int
    n: int
    pending: int
    successes: int


@dataclass(frozen=True)
class Report:
    experiment: Experiment
    as_of: dt.datetime
    tallies: list[ArmTally]
    analysis: Analysis


@dataclass(frozen=True)
class _Assigned:
    arm: str
    at: dt.datetime


def report(session: Session, experiment: Experiment, now: dt.datetime) -> Report:
    """Each arm's outcome from the stored facts as they are at `now`, and the statistics on them."""
    tallies = tally(session, experiment, now)
    analysis = experiment_stats.analyse([ArmCounts(t.name, t.n, t.successes) for t in tallies], experiment.min_sample_per_arm)
    return Report(experiment=experiment, as_of=now, tallies=tallies, analysis=analysis)


def tally(session: Session, experiment: Experiment, now: dt.datetime) -> list[ArmTally]:
    """Per arm: the assigned accounts, and which of them reached the experiment's outcome by `now`."""
    assigned = {
        account_id: _Assigned(arm, at)
        for account_id, arm, at in session.execute(
            select(ExperimentAssignment.account_id, ExperimentAssignment.arm, ExperimentAssignment.assigned_at).where(
                ExperimentAssignment.experiment_id == experiment.id, ExperimentAssignment.assigned_at <= now
            )
        )
    }
    counted, succeeded = _outcomes(session, experiment, assigned, now)
    tallies = []
    for arm in experiment.arms:
        members = [account_id for account_id, a in assigned.items() if a.arm == arm["name"]]
        n = sum(1 for account_id in members if account_id in counted)
        tallies.append(
            ArmTally(
                name=arm["name"],
                ratio=int(arm["ratio"]),
                assigned=len(members),
                n=n,
                pending=len(members) - n,
                successes=sum(1 for account_id in members if account_id in succeeded),
            )
        )
    return tallies


def _outcomes(
    session: Session, experiment: Experiment, assigned: dict[int, _Assigned], now: dt.datetime
) -> tuple[set[int], set[int]]:
    """The accounts whose outcome counts, and those of them that succeeded."""
    outcome = ExperimentOutcome(experiment.outcome)
    if outcome == ExperimentOutcome.PROMISE_MADE:
        return set(assigned), _promises_made(session, experiment, assigned, now)
    if outcome == ExperimentOutcome.INSTALMENT_PAID_ON_TIME:
        return set(assigned), _instalments_paid_on_time(session, experiment, assigned, now)
    window = dt.timedelta(days=experiment.outcome_days or 0)
    counted = {account_id for account_id, a in assigned.items() if a.at + window <= now}
    return counted, _payments_within(session, experiment, assigned, window, now) & counted


def _of_assigned(experiment: Experiment, account_column: Any) -> Any:
    """The join condition from a fact's account to the experiment's assignment of that account."""
    return and_(ExperimentAssignment.account_id == account_column, ExperimentAssignment.experiment_id == experiment.id)


def _promises_made(session: Session, experiment: Experiment, assigned: dict[int, _Assigned], now: dt.datetime) -> set[int]:
    """A commitment agreed from the assignment until the experiment stopped (the variation is said only while
    it runs), by `now`."""
    end = min(now, experiment.stopped_at) if experiment.stopped_at else now
    rows = session.execute(
        select(Commitment.account_id, Commitment.agreed_at).join(
            ExperimentAssignment, _of_assigned(experiment, Commitment.account_id)
        )
    )
    return {
        account_id for account_id, agreed_at in rows if account_id in assigned and assigned[account_id].at <= agreed_at <= end
    }


def _instalments_paid_on_time(
    session: Session, experiment: Experiment, assigned: dict[int, _Assigned], now: dt.datetime
) -> set[int]:
    """The first instalment that falls due (its agreed date) on or after the day of the assignment, on a plan
    agreed by `now` and still running that day, paid in full by payments made by the end of that day (UTC) —
    the definition of the KPIs' instalments paid on time. An account with no such instalment (yet) has not
    succeeded (yet)."""
    rows = session.execute(
        select(
            Commitment.account_id,
            Commitment.agreed_at,
            Commitment.status,
            Commitment.ended_at,
            Instalment.id,
            func.coalesce(Instalment.original_due_date, Instalment.due_date),
            Instalment.amount_minor,
            Instalment.paid_minor,
        )
        .join(Instalment, Instalment.commitment_id == Commitment.id)
        .join(ExperimentAssignment, _of_assigned(experiment, Commitment.account_id))
    )
    first: dict[int, tuple[dt.date, int, int, int]] = {}
    for account_id, agreed_at, status, ended_at, instalment_id, due, amount, paid in rows:
        if account_id not in assigned or agreed_at > now or due < assigned[account_id].at.astimezone(dt.timezone.utc).date():
            continue
        still_planned = ended_at is None or status == CommitmentStatus.KEPT or ended_at.astimezone(dt.timezone.utc).date() > due
        if still_planned and (account_id not in first or (due, instalment_id) < first[account_id][:2]):
            first[account_id] = (due, instalment_id, amount, paid)
    if not first:
        return set()
    due_of = {instalment_id: due for due, instalment_id, _, _ in first.values()}
    paid_by_due: dict[int, int] = defaultdict(int)
    for allocated_to, allocated, paid_at in session.execute(
        select(Allocation.instalment_id, Allocation.amount_minor, Payment.paid_at)
        .join(Payment, Payment.id == Allocation.payment_id)
        .join(Instalment, Instalment.id == Allocation.instalment_id)
        .join(Commitment, Commitment.id == Instalment.commitment_id)
        .join(ExperimentAssignment, _of_assigned(experiment, Commitment.account_id))
    ):
        if allocated_to in due_of and paid_at <= now and paid_at.astimezone(dt.timezone.utc).date() <= due_of[allocated_to]:
            paid_by_due[allocated_to] += allocated
    return {
        account_id
        for account_id, (_, instalment_id, amount, paid) in first.items()
        if paid >= amount and paid_by_due[instalment_id] >= amount
    }


def _payments_within(
    session: Session, experiment: Experiment, assigned: dict[int, _Assigned], window: dt.timedelta, now: dt.datetime
) -> set[int]:
    """A payment made within `window` of the assignment and not undone since by a refund or reversal naming it."""
    rows = list(
        session.execute(
            select(Payment.id, Payment.account_id, Payment.amount_minor, Payment.paid_at, Payment.reverses_payment_id).join(
                ExperimentAssignment, _of_assigned(experiment, Payment.account_id)
            )
        )
    )
    net: dict[int, int] = {}
    for payment_id, _, amount, paid_at, _ in rows:
        if amount > 0 and paid_at <= now:
            net[payment_id] = amount
    for _, _, amount, paid_at, reverses in rows:
        if reverses in net and paid_at <= now:
            net[reverses] += amount
    return {
        account_id
        for payment_id, account_id, _, paid_at, _ in rows
        if net.get(payment_id, 0) > 0
        and account_id in assigned
        and assigned[account_id].at <= paid_at <= assigned[account_id].at + window
    }


def assignments(session: Session, experiment: Experiment) -> list[tuple[str, str, dt.datetime]]:
    """Every account assigned (its reference), its arm and when, in the order they were made: kept after a stop,
    so the creditor can read the outcomes against its own records."""
    rows = session.execute(
        select(Account.reference, ExperimentAssignment.arm, ExperimentAssignment.assigned_at)
        .join(Account, Account.id == ExperimentAssignment.account_id)
        .where(ExperimentAssignment.experiment_id == experiment.id)
        .order_by(ExperimentAssignment.assigned_at, ExperimentAssignment.id)
    )
    return [(reference, arm, at) for reference, arm, at in rows]


METHOD = (
    "Per arm: rate and 95 % Wilson score interval. Each challenger against the control (the first arm): difference of rates "
    "with its Wald interval and the two-sided p-value of the two-proportion z-test (pooled), at alpha 0.05 divided by the "
    "number of challengers (Bonferroni). No verdict before every arm has min_sample_per_arm accounts (planned up front for "
    "power 0.8)."
)


def interval_out(interval: experiment_stats.Interval | None) -> IntervalOut | None:
    return IntervalOut(low=interval.low, high=interval.high) if interval else None


def report_out(report: Report) -> ExperimentReport:
    """The report as the creditor API and the console dashboard show it."""
    analysis = report.analysis
    return ExperimentReport(
        experiment=ExperimentOut.model_validate(report.experiment),
        as_of=report.as_of,
        method=METHOD,
        alpha=analysis.alpha,
        power=experiment_stats.POWER,
        adjusted_alpha=analysis.adjusted_alpha,
        interval_level=analysis.interval_level,
        min_sample_per_arm=analysis.min_sample_per_arm,
        ready=analysis.ready,
        state=analysis.state,
        winner=analysis.winner,
        arms=[
            ArmReport(
                name=arm.name,
                control=arm.control,
                ratio=tally.ratio,
                assigned=tally.assigned,
                n=arm.n,
                pending=tally.pending,
                successes=arm.successes,
                rate=arm.rate,
                interval=interval_out(arm.interval),
                remaining=arm.remaining,
            )
            for arm, tally in zip(analysis.arms, report.tallies)
        ],
        comparisons=[
            ComparisonReport(
                arm=c.arm,
                control=c.control,
                difference=c.difference,
                interval=interval_out(c.interval),
                z=c.z,
                p_value=c.p_value,
                verdict=c.verdict,
            )
            for c in analysis.comparisons
        ],
    )
