"""Command line of the api: `python -m api.cli migrate | seed-demo | create-agent | assign-agent |
set-agent-password | create-creditor | import-payments | contacts-tick`."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import get_settings
from api.db import session_scope
from api.deps import hash_api_key
from api.models import Account, Agent, Creditor, NegotiationPolicy
from api.schemas.creditor import ReferenceFormat
from api.services import agents, payment_import
from api.services.audit import audit
from api.services.errors import DomainError
from api.services.scheduler import Scheduler
from api.services.verification import DEFAULT_REFERENCE_EXAMPLE
from api.states import AgentRole

DEMO_CREDITOR: dict[str, Any] = {
    "name": "Lumière Énergie SA",
    "address": "8 avenue de l'Europe, 69003 Lyon, France",
    "payment_methods": {
        "fr": [
            "Virement bancaire : IBAN FR76 3000 6000 0112 3456 7890 189, en indiquant la référence {reference}",
            "Carte bancaire : sur l'espace client de Lumière Énergie, rubrique « Payer une facture »",
        ],
        "en": [
            "Bank transfer: IBAN FR76 3000 6000 0112 3456 7890 189, quoting the reference {reference}",
            "Card: in your Lumière Énergie customer area, under “Pay a bill”",
        ],
    },
    "support_resources": {
        "fr": [
            "SOS Amitié, écoute 24 h/24 : 09 72 39 40 50",
            "Prévention du suicide, 24 h/24 : 3114",
            "Point conseil budget (aide gratuite sur les difficultés financières) : renseignez-vous auprès de votre mairie",
        ],
        "en": [
            "Samaritans, 24/7 and free: 116 123",
            "StepChange, free debt advice: 0800 138 1111",
            "In France, suicide prevention 24/7: 3114",
        ],
    },
    "complaint_escalation": {
        "fr": [
            "Si notre réponse écrite ne vous satisfait pas, ou sans réponse sous deux mois : le Médiateur national "
            "de l'énergie, gratuit, sur www.energie-mediateur.fr",
            "Pour signaler une pratique de recouvrement : la DGCCRF, sur signal.conso.gouv.fr",
        ],
        "en": [
            "If our written answer does not satisfy you, or without an answer within two months: the French national "
            "energy ombudsman (Médiateur national de l'énergie), free, at www.energie-mediateur.fr",
            "To report a debt-collection practice: the French consumer authority (DGCCRF), at signal.conso.gouv.fr",
        ],
    },
}

DEMO_POLICY = {
    "max_deferral_days": 30,
    "min_instalments": 2,
    "max_instalments": 10,
    "min_instalment_minor": 5000,
    "max_first_payment_days": 30,
    "max_settlement_discount_pct": 0,
    "fee_waiver_allowed": True,
}

DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {
        "reference": "CR-10001",
        "debtor_name": "Marie Dupont",
        "phone": "+33612345678",
        "email": None,
        "date_of_birth": dt.date(1985, 3, 12),
        "postcode": "75011",
        "language": "fr",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "balance_minor": 38000,
        "fees_minor": 2000,
        "due_date": dt.date(2026, 10, 15),
        "origin": "Facture d'électricité n° 2026-0815 (août et septembre 2026)",
    },
    {
        "reference": "CR-10002",
        "debtor_name": "Jean Martin",
        "phone": "+33698765432",
        "email": None,
        "date_of_birth": dt.date(1972, 11, 2),
        "postcode": "69003",
        "language": "fr",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "balance_minor": 125000,
        "fees_minor": 0,
        "due_date": dt.date(2026, 9, 30),
        "origin": "Facture de gaz n° 2026-0702 (régularisation annuelle)",
    },
    {
        "reference": "CR-20001",
        "debtor_name": "Sarah Thompson",
        "phone": "+447700900123",
        "email": None,
        "date_of_birth": dt.date(1990, 5, 4),
        "postcode": "SW1A 1AA",
        "language": "en",
        "timezone": "Europe/London",
        "currency": "EUR",
        "balance_minor": 38000,
        "fees_minor": 2000,
        "due_date": dt.date(2026, 10, 15),
        "origin": "Electricity invoice no. 2026-0816 (August and September 2026)",
    },
    {
        "reference": "CR-20002",
        "debtor_name": "David Brown",
        "phone": "+447700900456",
        "email": None,
        "date_of_birth": dt.date(1968, 1, 21),
        "postcode": "M1 2AB",
        "language": "en",
        "timezone": "Europe/London",
        "currency": "EUR",
        "balance_minor": 64000,
        "fees_minor": 0,
        "due_date": dt.date(2026, 9, 1),
        "origin": "Gas invoice no. 2026-0703 (annual adjustment)",
    },
]


def migrate() -> None:
    settings = get_settings()
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(Path(__file__).parent / "alembic.ini"))
    command.upgrade(config, "head")


def seed_demo() -> None:
    """Loads the demo creditor, its policy and demo debtors; existing rows are left as they are."""
    settings = get_settings()
    with session_scope() as session:
        key_hash = hash_api_key(settings.creditor_api_key)
        creditor = session.scalar(select(Creditor).where(Creditor.api_key_hash == key_hash))
        if creditor is None:
            creditor = Creditor(api_key_hash=key_hash, **DEMO_CREDITOR)
            session.add(creditor)
            session.flush()
            session.add(NegotiationPolicy(creditor_id=creditor.id, **DEMO_POLICY))
        if not creditor.support_resources:  # a database made before support resources existed
            creditor.support_resources = DEMO_CREDITOR["support_resources"]
        if not creditor.complaint_escalation:  # a database made before escalation contacts existed
            creditor.complaint_escalation = DEMO_CREDITOR["complaint_escalation"]
        for data in DEMO_ACCOUNTS:
            exists = session.scalar(
                select(Account.id).where(Account.creditor_id == creditor.id, Account.reference == data["reference"])
            )
            if not exists:
                session.add(Account(creditor_id=creditor.id, **data))
        if settings.app_env != "production" and not session.scalar(
            select(Agent.id).where(Agent.email == settings.demo_agent_email)
        ):
            agents.create_agent(
                session,
                email=settings.demo_agent_email,
                name="Camille Agent",
                password=settings.demo_agent_password,
                creditor_ids=[creditor.id],
            )
    print(f"Demo creditor: {DEMO_CREDITOR['name']} (API key from CREDITOR_API_KEY: {settings.creditor_api_key})")
    print("Demo debtors (verify with the reference plus the date of birth):")
    for data in DEMO_ACCOUNTS:
        print(
            f"  {data['reference']}  {data['language']}  born {data['date_of_birth']:%d/%m/%Y}  "
            f"owes {_plain(data['balance_minor'])} + fees {_plain(data['fees_minor'])} {data['currency']}"
        )

    if settings.app_env != "production":
        print(f"Demo agent for the console (/console): {settings.demo_agent_email} / {settings.demo_agent_password}")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (12 characters or more): ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("The two passwords differ.")
    return first


def create_creditor(args: argparse.Namespace) -> None:
    """A creditor and its API key (read from an environment variable, never from the command line), with the
    default negotiation policy; its settings are then the creditor's to change through its API."""
    key = os.environ.get(args.api_key_env, "")
    if len(key) < 16:
        raise SystemExit(f"${args.api_key_env} must hold the creditor's API key (16 characters or more).")
    try:
        reference = ReferenceFormat(pattern=args.reference_pattern, example=args.reference_example or DEFAULT_REFERENCE_EXAMPLE)
    except ValueError as error:
        raise SystemExit(f"Not created: {error}") from None
    with session_scope() as session:
        if session.scalar(select(Creditor.id).where(Creditor.api_key_hash == hash_api_key(key))) is not None:
            raise SystemExit("Not created: another creditor has this API key.")
        creditor = Creditor(
            name=args.name,
            address=args.address,
            api_key_hash=hash_api_key(key),
            reference_pattern=reference.pattern,
            reference_example=reference.example.upper(),
        )
        session.add(creditor)
        session.flush()
        session.add(NegotiationPolicy(creditor_id=creditor.id))
        audit(session, "cli", "creditor_created", "creditor", creditor.id)
        print(f"Creditor {creditor.id} created: {creditor.name}")


def create_agent(args: argparse.Namespace) -> None:
    """A person who can sign in to the console (the password is read from the terminal or stdin): an agent, or
    with `--role manager` a manager who reads the dashboard of those creditors and changes nothing."""
    try:
        with session_scope() as session:
            creditor_ids = args.creditor_id or [_creditor(session, None, None).id]
            agent = agents.create_agent(
                session,
                email=args.email,
                name=args.name,
                password=_password(args),
                creditor_ids=creditor_ids,
                actor="cli",
                role=AgentRole(args.role),
            )
            print(
                f"{agent.role.capitalize()} {agent.id} created: {agent.email}, "
                f"serving creditor(s) {', '.join(map(str, sorted(creditor_ids)))}"
            )
    except DomainError as error:
        raise SystemExit(f"Not created: {error.__doc__}") from None


def assign_agent(args: argparse.Namespace) -> None:
    """The agent also serves these creditors (an agent sees only the debtors of the creditors they serve)."""
    try:
        with session_scope() as session:
            agent = session.scalar(select(Agent).where(Agent.email == agents.normalise_email(args.email)))
            if agent is None:
                raise SystemExit(f"No agent has the e-mail {args.email}.")
            served = agents.assign(session, agent, args.creditor_id, actor="cli")
            print(f"Agent {agent.id} serves creditor(s) {', '.join(map(str, served))}.")
    except DomainError as error:
        raise SystemExit(f"Not assigned: {error.__doc__}") from None


def set_agent_password(args: argparse.Namespace) -> None:
    try:
        with session_scope() as session:
            agent = session.scalar(select(Agent).where(Agent.email == agents.normalise_email(args.email)))
            if agent is None:
                raise SystemExit(f"No agent has the e-mail {args.email}.")
            agents.set_password(session, agent, _password(args), actor="cli")
            print(f"Password of agent {agent.id} changed; their open sessions are closed.")
    except DomainError as error:
        raise SystemExit(f"Not changed: {error.__doc__}") from None


def import_payments(args: argparse.Namespace) -> None:
    """Payments from a CSV file, all or none; the report says what is wrong on which line (exit status 1)."""
    try:
        with session_scope() as session, open(args.file, encoding="utf-8-sig", newline="") as lines:
            creditor = _creditor(session, args.creditor_id, args.creditor_api_key_env)
            report = payment_import.import_payments(session, creditor, lines, dry_run=args.dry_run)
    except OSError as error:
        raise SystemExit(f"Cannot read {args.file}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise SystemExit(f"{args.file} is not UTF-8 text: save the CSV as UTF-8 and run again.") from None
    print("\n".join(payment_import.describe(report)))
    if not report.ok:
        raise SystemExit(1)


def _creditor(session: Session, creditor_id: int | None, api_key_env: str | None) -> Creditor:
    """The creditor named on the command line: by id, by the API key in an environment variable (so that the
    key is in neither the shell's history nor the process list), or the only one there is."""
    if api_key_env is not None:
        key = os.environ.get(api_key_env, "")
        creditor = session.scalar(select(Creditor).where(Creditor.api_key_hash == hash_api_key(key))) if key else None
        if creditor is None:
            raise SystemExit(f"No creditor has the API key in ${api_key_env}.")
        return creditor
    if creditor_id is not None:
        return session.get(Creditor, creditor_id) or _no_such_creditor(session, f"No creditor has the id {creditor_id}.")
    only = session.scalars(select(Creditor).limit(2)).all()
    if len(only) != 1:
        _no_such_creditor(session, "Name the creditor with --creditor-id or --creditor-api-key-env.")
    return only[0]


def _no_such_creditor(session: Session, message: str) -> NoReturn:
    known = ", ".join(f"{c.id} ({c.name})" for c in session.scalars(select(Creditor).order_by(Creditor.id)))
    raise SystemExit(f"{message} Creditors: {known or 'none yet'}.")


def _plain(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _instant(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no offset: write e.g. 2026-12-07T10:00:00+01:00")
    return moment


def contacts_tick(now: dt.datetime | None) -> None:
    """One tick of the scheduler (cron, or a test moving the clock); the api's outbox sends what it wrote."""
    report = Scheduler(get_settings()).tick(now)
    sweep = report.sweep
    print(
        f"sent {report.sent}, deferred {report.deferred}, cancelled {report.cancelled}; "
        f"missed {sweep.missed}, moved {sweep.moved}, broken {sweep.broken}, "
        f"claims escalated {sweep.claims_escalated}, follow-ups planned {sweep.follow_ups}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("seed-demo", help="load the demo creditor, debtors and agent (never in production)")
    new_creditor = commands.add_parser("create-creditor", help="a creditor and its API key")
    new_creditor.add_argument("--name", required=True)
    new_creditor.add_argument("--address", required=True, help="as printed on the written documents")
    new_creditor.add_argument("--api-key-env", metavar="VAR", required=True, help="the environment variable with its API key")
    new_creditor.add_argument("--reference-pattern", help="a regular expression every file reference matches in full")
    new_creditor.add_argument("--reference-example", help="a reference of that format, shown to debtors asked for theirs")
    for name in ("create-agent", "set-agent-password"):
        command = commands.add_parser(name, help="an agent of the console" if name == "create-agent" else "a new password")
        command.add_argument("--email", required=True)
        if name == "create-agent":
            command.add_argument("--name", required=True)
            command.add_argument(
                "--creditor-id", type=int, action="append", help="a creditor the agent serves (repeat; default: the only one)"
            )
            command.add_argument(
                "--role",
                choices=[role.value for role in AgentRole],
                default=AgentRole.AGENT.value,
                help="agent (works the queue, the default) or manager (reads the dashboard, changes nothing)",
            )
        command.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    assign = commands.add_parser("assign-agent", help="let an agent serve more creditors")
    assign.add_argument("--email", required=True)
    assign.add_argument("--creditor-id", type=int, action="append", required=True, help="a creditor (repeat for several)")
    payments = commands.add_parser("import-payments", help="record the payments of a CSV file (all or none)")
    payments.add_argument("file", help="CSV with a header: " + ",".join(payment_import.REQUIRED_COLUMNS) + "[,reverses]")
    creditor = payments.add_mutually_exclusive_group()
    creditor.add_argument("--creditor-id", type=int, help="whose accounts (needed when there are several creditors)")
    creditor.add_argument("--creditor-api-key-env", metavar="VAR", help="... or the environment variable with its API key")
    payments.add_argument("--dry-run", action="store_true", help="check every line and report; import nothing")
    tick = commands.add_parser("contacts-tick", help="run the follow-through once: misses, then the contacts that are due")
    tick.add_argument("--now", type=_instant, help="the clock, an ISO 8601 instant with its offset (default: now)")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
    elif args.command == "seed-demo":
        seed_demo()
    elif args.command == "create-creditor":
        create_creditor(args)
    elif args.command == "create-agent":
        create_agent(args)
    elif args.command == "assign-agent":
        assign_agent(args)
    elif args.command == "import-payments":
        import_payments(args)
    elif args.command == "contacts-tick":
        contacts_tick(args.now)
    else:
        set_agent_password(args)


if __name__ == "__main__":
    main()
