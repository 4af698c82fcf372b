"""The api on PostgreSQL (a throw-away server, tests/postgres.py): the migrations, the demo data and the
creditor and bot APIs work there, and two scheduler processes over one database send each contact once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select

from api.cli import migrate, seed_demo
from api.core.config import REPO_ROOT, get_settings
from api.core.logging import configure_logging
from api.db import get_engine, session_scope
from api.models import Account, AuditEntry, Commitment, Contact, ContactDecision, Creditor, Instalment, Message
from api.services import contacts
from api.services.scheduler import Scheduler
from api.states import ContactKind
from tests.api_fixtures import make_commitment

pytestmark = pytest.mark.postgres

NEW_ACCOUNT = {
    "reference": "CR-30001",
    "debtor_name": "Lucie Bernard",
    "phone": "+33611223344",
    "language": "fr",
    "timezone": "Europe/Paris",
    "currency": "EUR",
    "balance_minor": 51234,
    "fees_minor": 1500,
    "due_date": "2026-09-30",
}

# The simulated month: a Monday, every 3 hours for 35 days, the first instalment due a week later.
START = dt.datetime(2027, 1, 4, 6, 0, tzinfo=dt.timezone.utc)
STEP = dt.timedelta(hours=3)
TICKS = 35 * 8
FIRST_DUE = dt.date(2027, 1, 11)
PLANS = 1000


def test_migrations_reach_head_and_match_the_models_on_postgres(postgres_database):
    assert get_engine().dialect.name == "postgresql"
    command.check(Config(str(REPO_ROOT / "api" / "alembic.ini")))  # raises when the models and migrations differ
    migrate()  # at head already: nothing to do
    seed_demo()  # loaded already: left as it is
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 4
        assert session.scalar(select(func.count()).select_from(Creditor)) == 1


def test_accounts_a_plan_and_its_first_reminder_work_on_postgres(postgres_client, creditor_headers, actions_headers):
    client = postgres_client
    created = client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers).status_code == 409
    changed = {**NEW_ACCOUNT, "balance_minor": 40000}
    assert client.put("/api/v1/accounts/CR-30001", json=changed, headers=creditor_headers).status_code == 200

    with session_scope() as session:
        session.scalars(select(Creditor)).one().follow_through = {"quiet_days": []}
    plan = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    with session_scope() as session:
        first_due = session.execute(select(func.min(Instalment.due_date))).scalar_one()
    moment = dt.datetime.combine(first_due - dt.timedelta(days=3), dt.time(10), tzinfo=ZoneInfo("Europe/Paris"))
    assert Scheduler(get_settings()).tick(moment).sent == 2  # the new account's first contact, the plan's reminder
    assert Scheduler(get_settings()).tick(moment).sent == 0  # each sent once

    for reference, kind in (("CR-30001", "first_contact"), ("CR-10001", "reminder_before")):
        view = client.get(f"/api/v1/accounts/{reference}", headers=creditor_headers).json()
        sent = [c for c in view["contacts"] if c["status"] == "sent"]
        assert [(c["kind"], c["channel"]) for c in sent] == [(kind, "sms")]
    assert [c["reference"] for c in view["commitments"]] == [plan["commitment_reference"]]


def run_scheduler(barrier: Barrier, results: Queue[tuple[int, int]]) -> None:
    """One scheduler process: waits for the other, then ticks through the same simulated clock."""
    configure_logging("WARNING")
    scheduler = Scheduler(get_settings())  # DATABASE_URL comes from the parent's environment
    barrier.wait(timeout=120)
    sent = sum(scheduler.tick(START + n * STEP).sent for n in range(TICKS))
    results.put((os.getpid(), sent))


def make_plans(count: int) -> None:
    """`count` accounts, each with an active plan of 3 monthly instalments and its reminders planned."""
    with session_scope() as session:
        creditor = session.scalars(select(Creditor)).one()
        creditor.follow_through = {"quiet_days": []}
        accounts = [
            Account(
                creditor_id=creditor.id,
                reference=f"PG-{n:05d}",
                debtor_name=f"Debtor {n}",
                phone=f"+336{n:08d}",
                language="fr",
                timezone="Europe/Paris",
                balance_minor=30000,
                due_date=FIRST_DUE,
                status="arranged",
            )
            for n in range(count)
        ]
        session.add_all(accounts)
        session.flush()
        plans = [
            Commitment(
                reference=f"PL-{n:05d}",
                account_id=account.id,
                kind="instalments",
                currency="EUR",
                total_minor=30000,
                frequency="monthly",
                instalments=[
                    Instalment(sequence=i + 1, due_date=FIRST_DUE + dt.timedelta(days=31 * i), amount_minor=10000)
                    for i in range(3)
                ],
            )
            for n, account in enumerate(accounts)
        ]
        session.add_all(plans)
        session.flush()
        for commitment in plans:
            contacts.plan_commitment(session, commitment, START)


def test_two_scheduler_processes_send_each_contact_exactly_once_over_a_month(postgres_database):
    make_plans(PLANS)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == PLANS * 9  # 3 reminders x 3 instalments

    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    results: Queue[tuple[int, int]] = spawn.Queue()
    schedulers = [spawn.Process(target=run_scheduler, args=(barrier, results), name=f"scheduler-{n}") for n in (1, 2)]
    started = time.monotonic()
    for process in schedulers:
        process.start()
    for process in schedulers:
        process.join(timeout=600)
    for process in schedulers:
        if process.is_alive():
            process.kill()
    assert [p.exitcode for p in schedulers] == [0, 0], "a scheduler process failed: its traceback is in the captured stderr"
    sent_by = dict(results.get(timeout=10) for _ in schedulers)
    print(f"two schedulers, {TICKS} ticks, {PLANS} plans: {time.monotonic() - started:.1f} s, sent per process {sent_by}")

    with session_scope() as session:
        sent = session.execute(select(Contact.id, Contact.kind, Contact.message_id).where(Contact.status == "sent")).all()
        assert all(0 < n < len(sent) for n in sent_by.values()), sent_by  # both did part of the work, together
        assert sum(sent_by.values()) == len(sent)
        assert Counter(kind for _, kind, _ in sent) == {
            ContactKind.REMINDER_BEFORE: PLANS,
            ContactKind.REMINDER_DUE: PLANS,
            ContactKind.REMINDER_GRACE: PLANS,
            ContactKind.INSTALMENT_MISSED: PLANS,
        }
        assert session.scalar(select(func.count()).where(Contact.status == "sending")) == 0

        # One outbound message per sent contact, each referenced by one contact only, and no other.
        referenced = Counter(message_id for _, _, message_id in sent)
        assert None not in referenced and set(referenced.values()) == {1}
        outbound = session.scalars(select(Message.id).where(Message.direction == "outbound", Message.author == "system")).all()
        assert Counter(outbound) == referenced

        # Exactly one "sent" decision per sent contact, none for any other.
        decisions = Counter(session.scalars(select(ContactDecision.contact_id).where(ContactDecision.outcome == "sent")))
        assert decisions == Counter(contact_id for contact_id, _, _ in sent)

        # Each miss is recorded once, however many schedulers swept at that moment.
        misses = session.scalar(select(func.count()).where(AuditEntry.action == "instalment_missed"))
        assert misses == PLANS
