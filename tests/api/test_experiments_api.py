"""The creditor's A/B tests over HTTP with a real database (/api/v1/experiments): the lifecycle draft →
running → stopped, the assignments the bot's and the scheduler's questions make and keep, each creditor seeing
only its own, the 422s of a wrong definition, and the outcomes counted from the stored facts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.core.config import get_settings
from api.db import session_scope
from api.deps import hash_api_key
from api.models import (
    Account,
    Allocation,
    Commitment,
    Conversation,
    Creditor,
    Experiment,
    ExperimentAssignment,
    Instalment,
    Payment,
    utcnow,
)
from api.schemas.experiments import ExperimentIn
from api.services import experiments
from api.services.scheduler import Scheduler
from api.states import CadenceSetting
from tests.api_fixtures import CREDITOR_KEY, make_commitment

OTHER_KEY = "other-creditor-key"
DEMO_REFERENCES = ["CR-10001", "CR-10002", "CR-20001", "CR-20002"]
UTC = dt.timezone.utc

RESPONSE_EXPERIMENT = {
    "name": "Empathetic offer",
    "kind": "response",
    "target": "utter_offer_options",
    "arms": [
        {
            "name": "plain",
            "ratio": 1,
            "wordings": {
                "fr": "Voici ce que {creditor_name} peut vous proposer.",
                "en": "Here is what {creditor_name} can offer you.",
            },
        },
        {
            "name": "together",
            "ratio": 1,
            "wordings": {
                "fr": "Cherchons ensemble : voici ce que {creditor_name} peut vous proposer.",
                "en": "Let's look at this together: here is what {creditor_name} can offer you.",
            },
        },
    ],
    "outcome": "promise_made",
    "baseline_rate": 0.30,
    "minimum_detectable_effect": 0.10,
}
CADENCE_EXPERIMENT = {
    "name": "Reminder lead time",
    "kind": "cadence",
    "target": "reminder_days_before",
    "arms": [{"name": "three_days", "ratio": 1, "value": 3}, {"name": "one_day", "ratio": 1, "value": 1}],
    "outcome": "instalment_paid_on_time",
    "baseline_rate": 0.50,
    "minimum_detectable_effect": 0.10,
}


@pytest.fixture
def other_headers(database) -> dict[str, str]:
    """A second creditor, with an account of its own."""
    with session_scope() as session:
        other = Creditor(name="Autre créancier", api_key_hash=hash_api_key(OTHER_KEY))
        session.add(other)
        session.flush()
        session.add(
            Account(
                creditor_id=other.id,
                reference="OT-00001",
                debtor_name="Paul Martin",
                language="fr",
                balance_minor=10_000,
                due_date=dt.date(2026, 9, 30),
            )
        )
    return {"X-API-Key": OTHER_KEY}


def create(client, headers, body=None, **changes):
    return client.post("/api/v1/experiments", json={**(body or RESPONSE_EXPERIMENT), **changes}, headers=headers)


def account(session, reference: str) -> Account:
    return session.scalars(select(Account).where(Account.reference == reference)).one()


def arms_of(
    references: list[str], response: str = "utter_offer_options", now: dt.datetime | None = None
) -> dict[str, str | None]:
    """What the bot would ask for each account: its arm of the running experiment on `response`."""
    with session_scope() as session:
        return {reference: experiments.arm_for(session, account(session, reference), response, now) for reference in references}


# --- the lifecycle ------------------------------------------------------------------------------------------------


def cadence_arms_of(references: list[str], now: dt.datetime | None = None) -> dict[str, str | None]:
    """What the scheduler would ask for each account: its arm of the running reminder lead-time experiment."""
    names = {arm["value"]: arm["name"] for arm in CADENCE_EXPERIMENT["arms"]}
    with session_scope() as session:
        return {
            reference: names.get(
                experiments.cadence_for(session, account(session, reference), CadenceSetting.REMINDER_DAYS_BEFORE, now)
            )
            for reference in references
        }


def test_a_response_experiment_is_defined_and_edited_as_a_draft_but_not_started(client, creditor_headers):
    created = create(client, creditor_headers)
    assert created.status_code == 201, created.text
    experiment = created.json()
    assert experiment["status"] == "draft" and experiment["started_at"] is None
    assert experiment["min_sample_per_arm"] == 356  # 0.30 → 0.40 at alpha 0.05, power 0.8
    assert [arm["name"] for arm in experiment["arms"]] == ["plain", "together"]
    url = f"/api/v1/experiments/{experiment['id']}"

    # A draft is editable, and its sample size is planned again.
    edited = client.put(url, json={**RESPONSE_EXPERIMENT, "minimum_detectable_effect": 0.05}, headers=creditor_headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["min_sample_per_arm"] == 1377
    assert arms_of(DEMO_REFERENCES) == dict.fromkeys(DEMO_REFERENCES)  # a draft assigns nobody

    # The assistant does not show A/B wordings yet: starting would collect empty arms, so it is refused.
    refused = client.post(f"{url}/start", headers=creditor_headers)
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:problem:response_experiment_not_shown"
    assert client.get(url, headers=creditor_headers).json()["status"] == "draft"
    assert arms_of(DEMO_REFERENCES) == dict.fromkeys(DEMO_REFERENCES)


def test_a_creditor_starts_and_stops_a_cadence_experiment_and_its_assignments_are_kept(client, creditor_headers):
    experiment = create(client, creditor_headers, CADENCE_EXPERIMENT).json()
    url = f"/api/v1/experiments/{experiment['id']}"
    assert cadence_arms_of(DEMO_REFERENCES) == dict.fromkeys(DEMO_REFERENCES)  # a draft assigns nobody

    started = client.post(f"{url}/start", headers=creditor_headers)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running" and started.json()["started_at"] is not None
    assert client.put(url, json=CADENCE_EXPERIMENT, headers=creditor_headers).json()["type"] == "urn:problem:experiment_not_draft"
    assert client.post(f"{url}/start", headers=creditor_headers).status_code == 409

    first = cadence_arms_of(DEMO_REFERENCES)
    assert set(first.values()) <= {"three_days", "one_day"} and None not in first.values()
    assert cadence_arms_of(DEMO_REFERENCES) == first  # an account keeps its arm
    assignments = client.get(f"{url}/assignments", headers=creditor_headers).json()
    assert {a["reference"]: a["arm"] for a in assignments} == first

    stopped = client.post(f"{url}/stop", headers=creditor_headers)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped" and stopped.json()["stopped_at"] is not None
    assert client.post(f"{url}/stop", headers=creditor_headers).json()["type"] == "urn:problem:experiment_not_running"
    assert client.post(f"{url}/start", headers=creditor_headers).status_code == 409
    assert client.put(url, json=CADENCE_EXPERIMENT, headers=creditor_headers).status_code == 409

    # Stopped: the creditor's setting applies again, nobody new is assigned, the record stays.
    assert cadence_arms_of(DEMO_REFERENCES) == dict.fromkeys(DEMO_REFERENCES)
    assert client.get(f"{url}/assignments", headers=creditor_headers).json() == assignments
    report = client.get(f"{url}/report", headers=creditor_headers).json()
    assert sum(arm["assigned"] for arm in report["arms"]) == 4
    assert [e["id"] for e in client.get("/api/v1/experiments", headers=creditor_headers).json()] == [experiment["id"]]
    assert client.get(url, headers=creditor_headers).json()["status"] == "stopped"


def test_one_experiment_runs_on_a_setting_at_a_time(client, creditor_headers):
    first = create(client, creditor_headers, CADENCE_EXPERIMENT).json()
    second = create(client, creditor_headers, CADENCE_EXPERIMENT, name="Another lead time").json()
    assert client.post(f"/api/v1/experiments/{first['id']}/start", headers=creditor_headers).status_code == 200
    busy = client.post(f"/api/v1/experiments/{second['id']}/start", headers=creditor_headers)
    assert busy.status_code == 409
    assert busy.json()["type"] == "urn:problem:experiment_target_busy"
    assert busy.json()["running_experiment_id"] == first["id"]
    # Another setting is free; once the first stops, the second may start.
    other = create(client, creditor_headers, CADENCE_EXPERIMENT, target="follow_up_days")
    assert client.post(f"/api/v1/experiments/{other.json()['id']}/start", headers=creditor_headers).status_code == 200
    client.post(f"/api/v1/experiments/{first['id']}/stop", headers=creditor_headers)
    assert client.post(f"/api/v1/experiments/{second['id']}/start", headers=creditor_headers).status_code == 200


def _arms_without_placeholders() -> list[dict]:
    return [
        {"name": "short", "ratio": 1, "wordings": {"fr": "Merci de me le dire.", "en": "Thank you for telling me."}},
        {"name": "warm", "ratio": 1, "wordings": {"fr": "Merci, je comprends.", "en": "Thank you, I understand."}},
    ]


def test_the_live_report_counts_promises_made_after_the_assignment_and_shows_no_winner_before_the_planned_size(
    client, creditor_headers, actions_headers
):
    definition = {**CADENCE_EXPERIMENT, "outcome": "promise_made", "baseline_rate": 0.30}
    experiment = create(client, creditor_headers, definition).json()
    url = f"/api/v1/experiments/{experiment['id']}"
    client.post(f"{url}/start", headers=creditor_headers)
    arms = cadence_arms_of(DEMO_REFERENCES)
    make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3}, reference="CR-10001")

    report = client.get(f"{url}/report", headers=creditor_headers)
    assert report.status_code == 200, report.text
    body = report.json()
    by_arm = {arm["name"]: arm for arm in body["arms"]}
    assert [arm["name"] for arm in body["arms"]] == ["three_days", "one_day"] and body["arms"][0]["control"] is True
    for name, arm in by_arm.items():
        members = [reference for reference, arm_name in arms.items() if arm_name == name]
        assert arm["assigned"] == arm["n"] == len(members) and arm["pending"] == 0
        assert arm["successes"] == (1 if "CR-10001" in members else 0)
        assert arm["remaining"] == 356 - len(members)
    assert body["ready"] is False and body["state"] == "collecting" and body["winner"] is None
    assert [c["verdict"] for c in body["comparisons"]] == ["not_yet"]
    assert body["alpha"] == 0.05 and body["power"] == 0.8 and body["interval_level"] == pytest.approx(0.95)
    assert "two-proportion z-test" in body["method"]


def test_a_running_cadence_experiment_plans_each_reminder_with_the_lead_time_of_the_accounts_arm(
    client, creditor_headers, actions_headers
):
    # Neither arm is the creditor's setting (3 days before), so each reminder shows which arm planned it.
    arms = [{"name": "two_days", "ratio": 1, "value": 2}, {"name": "five_days", "ratio": 1, "value": 5}]
    experiment = create(client, creditor_headers, CADENCE_EXPERIMENT, arms=arms).json()
    client.post(f"/api/v1/experiments/{experiment['id']}/start", headers=creditor_headers)
    make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3}, reference="CR-10001")

    (assignment,) = client.get(f"/api/v1/experiments/{experiment['id']}/assignments", headers=creditor_headers).json()
    assert assignment["reference"] == "CR-10001"
    lead = {"two_days": 2, "five_days": 5}[assignment["arm"]]
    view = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    due_dates = [dt.date.fromisoformat(i["due_date"]) for i in view["commitments"][0]["instalments"]]
    reminders = [dt.date.fromisoformat(c["scheduled_for"][:10]) for c in view["contacts"] if c["kind"] == "reminder_before"]
    assert len(reminders) >= 2  # one per instalment (none whose moment had passed)
    assert set(reminders) <= {due - dt.timedelta(days=lead) for due in due_dates}


def test_a_running_cadence_experiment_spaces_the_follow_ups_as_the_accounts_arm_says(client, creditor_headers, actions_headers):
    # Neither arm is the creditor's setting (every 7 days): day 3 and day 8 tell which interval applied.
    arms = [{"name": "two_days", "ratio": 1, "value": 2}, {"name": "twelve_days", "ratio": 1, "value": 12}]
    body = {**CADENCE_EXPERIMENT, "target": "follow_up_days", "arms": arms}
    experiment = create(client, creditor_headers, body).json()
    client.post(f"/api/v1/experiments/{experiment['id']}/start", headers=creditor_headers)
    with session_scope() as session:
        creditor = session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()
        creditor.follow_through = {"quiet_days": []}
        conversation = Conversation(creditor_id=creditor.id, channel="sms", channel_address="+33612345678")
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
    verified = client.post(
        f"/internal/v1/conversations/{conversation_id}/verify",
        json={"reference": "CR-10001", "date_of_birth": "1985-03-12"},
        headers=actions_headers,
    )
    assert verified.json()["status"] == "verified"
    talked = utcnow()
    with session_scope() as session:
        session.get_one(Conversation, conversation_id).last_message_at = talked

    def follow_ups_after(days: int) -> int:
        moment = dt.datetime.combine(talked.date() + dt.timedelta(days=days), dt.time(10), tzinfo=ZoneInfo("Europe/Paris"))
        return Scheduler(get_settings()).tick(moment).sweep.follow_ups

    on_day_3, on_day_8 = follow_ups_after(3), follow_ups_after(8)
    (assignment,) = client.get(f"/api/v1/experiments/{experiment['id']}/assignments", headers=creditor_headers).json()
    assert (on_day_3, on_day_8) == ((1, 0) if assignment["arm"] == "two_days" else (0, 0))


# --- outcomes from the stored facts --------------------------------------------------------------------------------

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _day(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def _accounts(session, creditor_id: int, count: int) -> list[Account]:
    rows = [
        Account(
            creditor_id=creditor_id,
            reference=f"AB-{n:04d}",
            debtor_name=f"Debtor {n}",
            language="fr",
            balance_minor=30_000,
            due_date=dt.date(2026, 5, 1),
        )
        for n in range(count)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _plan(session, account: Account, agreed_at: dt.datetime, due: dt.date, amount: int = 10_000, **commitment) -> Instalment:
    plan = Commitment(
        reference=f"PL-{account.reference}-{agreed_at:%m%d%H}",
        account_id=account.id,
        kind="instalments",
        currency="EUR",
        total_minor=amount,
        agreed_at=agreed_at,
        **commitment,
    )
    session.add(plan)
    session.flush()
    instalment = Instalment(commitment_id=plan.id, sequence=1, due_date=due, amount_minor=amount)
    session.add(instalment)
    session.flush()
    return instalment


def _pay(session, account: Account, paid_at: dt.datetime, amount: int, instalment: Instalment | None = None, **fields) -> Payment:
    payment = Payment(
        creditor_id=account.creditor_id,
        account_id=account.id,
        external_id=f"p-{account.reference}-{paid_at:%m%d%H%M}-{amount}",
        amount_minor=amount,
        currency="EUR",
        paid_at=paid_at,
        method="transfer",
        **fields,
    )
    session.add(payment)
    session.flush()
    if instalment is not None:
        session.add(Allocation(payment_id=payment.id, kind="instalment", instalment_id=instalment.id, amount_minor=amount))
        instalment.paid_minor += amount
        instalment.status = "paid" if instalment.paid_minor >= instalment.amount_minor else "due"
    return payment


def _experiment(session, creditor: Creditor, body: dict) -> Experiment:
    experiment = experiments.create_experiment(session, creditor, ExperimentIn.model_validate(body), get_settings().domain_file)
    return experiments.start_experiment(session, creditor, experiment, T0)


def _successes(session, experiment: Experiment, now: dt.datetime) -> tuple[int, int, int]:
    """Across the arms: the accounts that count, those pending, the successes (and each arm adds up)."""
    tallies = experiments.tally(session, experiment, now)
    for t in tallies:
        assert t.assigned == t.n + t.pending and t.successes <= t.n
    return sum(t.n for t in tallies), sum(t.pending for t in tallies), sum(t.successes for t in tallies)


def test_a_promise_counts_when_made_from_the_assignment_until_the_experiment_stopped(database):
    with session_scope() as session:
        creditor = session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()
        before, during, after_stop, never = _accounts(session, creditor.id, 4)
        experiment = _experiment(session, creditor, RESPONSE_EXPERIMENT)
        for a in (before, during, after_stop, never):
            assert experiments.assign(session, experiment, a, T0) is not None
        _plan(session, before, _day(-1), dt.date(2026, 6, 15))
        _plan(session, during, _day(2), dt.date(2026, 6, 15))
        experiments.stop_experiment(session, creditor, experiment, _day(5))
        _plan(session, after_stop, _day(6), dt.date(2026, 6, 30))

        assert _successes(session, experiment, _day(1)) == (4, 0, 0)
        assert _successes(session, experiment, _day(10)) == (4, 0, 1)
        succeeded = {t.name: t.successes for t in experiments.tally(session, experiment, _day(10))}
        arm_of_during = session.scalars(
            select(ExperimentAssignment.arm).where(ExperimentAssignment.account_id == during.id)
        ).one()
        assert succeeded[arm_of_during] == 1


def test_an_instalment_counts_when_the_first_one_due_after_the_assignment_is_paid_in_full_by_its_due_date(database):
    with session_scope() as session:
        creditor = session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()
        on_time, late, partial, old_plan, no_plan = _accounts(session, creditor.id, 5)
        experiment = _experiment(session, creditor, CADENCE_EXPERIMENT)
        values = {
            a.reference: experiments.cadence_for(session, a, CadenceSetting.REMINDER_DAYS_BEFORE, T0)
            for a in (on_time, late, partial, old_plan, no_plan)
        }
        assert set(values.values()) <= {1, 3}

        due = dt.date(2026, 6, 10)
        _pay(session, on_time, _day(8), 10_000, _plan(session, on_time, _day(1), due))
        _pay(session, late, _day(12), 10_000, _plan(session, late, _day(1), due))
        _pay(session, partial, _day(8), 4_000, _plan(session, partial, _day(1), due))
        # A plan agreed before the assignment counts too (a cadence acts on plans already running); its first
        # instalment due after the assignment is the one that counts, not an earlier one.
        earlier = _plan(session, old_plan, _day(-40), dt.date(2026, 5, 20))
        _pay(session, old_plan, _day(-12), 10_000, earlier)
        _pay(
            session, old_plan, _day(18), 10_000, _plan(session, old_plan, _day(-40) + dt.timedelta(hours=1), dt.date(2026, 6, 20))
        )

        assert _successes(session, experiment, _day(30)) == (5, 0, 2)  # on_time, old_plan
        # Before the instalment's payment, it has not succeeded (yet).
        assert _successes(session, experiment, _day(7)) == (5, 0, 0)


def test_a_payment_counts_within_n_days_of_the_assignment_and_an_account_counts_once_its_n_days_are_over(database):
    body = {**RESPONSE_EXPERIMENT, "outcome": "payment_within_days", "outcome_days": 7}
    with session_scope() as session:
        creditor = session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()
        paid, reversed_, too_late, before, later = _accounts(session, creditor.id, 5)
        experiment = _experiment(session, creditor, body)
        for a in (paid, reversed_, too_late, before):
            experiments.assign(session, experiment, a, T0)
        experiments.assign(session, experiment, later, _day(5))
        _pay(session, paid, _day(3), 5_000)
        undone = _pay(session, reversed_, _day(3), 5_000)
        _pay(session, reversed_, _day(4), -5_000, reverses_payment_id=undone.id)
        _pay(session, too_late, _day(8), 5_000)
        _pay(session, before, _day(-1), 5_000)
        _pay(session, later, _day(6), 5_000)

        assert _successes(session, experiment, _day(6)) == (0, 5, 0)  # nobody's 7 days are over: nothing counts yet
        assert _successes(session, experiment, _day(7)) == (4, 1, 1)  # paid; `later` still inside its 7 days
        assert _successes(session, experiment, _day(12)) == (5, 0, 2)  # paid, later


# --- who sees what --------------------------------------------------------------------------------------------------


def test_a_creditor_sees_and_changes_only_its_own_experiments(client, creditor_headers, other_headers):
    experiment = create(client, creditor_headers, CADENCE_EXPERIMENT).json()
    url = f"/api/v1/experiments/{experiment['id']}"
    assert client.get("/api/v1/experiments", headers=other_headers).json() == []
    for method, path in (("get", ""), ("get", "/report"), ("get", "/assignments"), ("post", "/start"), ("post", "/stop")):
        response = client.request(method.upper(), f"{url}{path}", headers=other_headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["type"] == "urn:problem:unknown_experiment"
    assert client.put(url, json=CADENCE_EXPERIMENT, headers=other_headers).status_code == 404
    assert client.get(url, headers=creditor_headers).json()["status"] == "draft"

    # Running, it assigns none of the other creditor's accounts.
    client.post(f"{url}/start", headers=creditor_headers)
    with session_scope() as session:
        theirs = account(session, "OT-00001")
        assert experiments.cadence_for(session, theirs, CadenceSetting.REMINDER_DAYS_BEFORE) is None
        assert experiments.assign(session, session.get_one(Experiment, experiment["id"]), theirs, utcnow()) is None


def test_the_experiments_api_requires_the_creditor_key(client):
    assert client.get("/api/v1/experiments").status_code == 401
    assert client.post("/api/v1/experiments", json=RESPONSE_EXPERIMENT, headers={"X-API-Key": "wrong"}).status_code == 401


# --- definitions that cannot be right -------------------------------------------------------------------------------

PLAIN, TOGETHER = RESPONSE_EXPERIMENT["arms"]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"arms": [PLAIN]}, "at least 2 items"),
        ({"arms": [PLAIN, {**TOGETHER, "ratio": 0}]}, "greater than or equal to 1"),
        ({"arms": [PLAIN, {**TOGETHER, "ratio": -2}]}, "greater than or equal to 1"),
        ({"arms": [PLAIN, {**TOGETHER, "name": "plain"}]}, "arm names must be unique"),
        ({"arms": [PLAIN, {**TOGETHER, "wordings": {"fr": "Bonjour"}}]}, "Field required"),
        ({"arms": [PLAIN, {"name": "together", "ratio": 1}]}, "wordings in fr and en: missing for together"),
        ({"arms": [PLAIN, {**TOGETHER, "name": "Together!"}]}, "String should match pattern"),
        ({"outcome": "payment_within_days"}, "outcome_days is required"),
        ({"outcome_days": 7}, "outcome_days is required"),
        ({"outcome": "money_collected"}, "promise_made"),
        ({"baseline_rate": 0.95}, "must stay below 1"),
        ({"baseline_rate": 0}, "greater than 0"),
        ({"kind": "cadence"}, "a cadence experiment varies one of: reminder_days_before, follow_up_days"),
        (
            {**CADENCE_EXPERIMENT, "arms": [CADENCE_EXPERIMENT["arms"][0], {"name": "never", "ratio": 1, "value": 45}]},
            "from 1 to 30 days",
        ),
        ({**CADENCE_EXPERIMENT, "arms": [PLAIN, TOGETHER]}, "a value, not wordings"),
    ],
)
def test_a_definition_that_cannot_be_right_gets_a_422_that_says_why(client, creditor_headers, changes, says):
    response = create(client, creditor_headers, **changes)
    assert response.status_code == 422, response.text
    assert says in response.text
    assert client.get("/api/v1/experiments", headers=creditor_headers).json() == []


def test_a_response_domain_yml_does_not_define_or_an_unknown_placeholder_gets_a_422(client, creditor_headers):
    unknown = create(client, creditor_headers, target="utter_offer_plan_v2")
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "urn:problem:unknown_response" and unknown.json()["response"] == "utter_offer_plan_v2"

    wording = {"fr": "Payez {balance_text} avec {creditor_name}.", "en": "Pay {balance_text} with {creditor_name}."}
    placeholder = create(client, creditor_headers, arms=[PLAIN, {**TOGETHER, "wordings": wording}])
    assert placeholder.status_code == 422
    problem = placeholder.json()
    assert problem["type"] == "urn:problem:unknown_placeholder"
    assert problem["arm"] == "together" and problem["unknown"] == ["balance_text"]
    assert "creditor_name" in problem["allowed"] and "total_text" in problem["allowed"]
