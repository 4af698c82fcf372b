"""KPI report benchmark: the creditor's KPI report (api/services/kpis.py) and the dashboard over a generated
portfolio, on SQLite and on PostgreSQL: p50 and p95 per query.

Run with the api environment, from the project root:

    .venv/api/bin/python -m bench.kpis [--accounts 100000] [--messages 2000000] [--database sqlite|postgresql|both]
        [--repeat 5] [--seed 7] [--out FILE] [--keep]

Per database: a throw-away database (a SQLite file in a temporary directory; a throw-away PostgreSQL server,
scripts/postgres.py) migrated with the project's Alembic migrations, as the app does, so that the indexes are the
real ones (migration 0017 for the messages). Then one creditor's portfolio over the 12 months before now, written
in bulk (Core `insert()` with lists of dicts on SQLite, COPY on PostgreSQL), progress in rows per second on stderr:
accounts placed in weekly batches (French and English; EUR, GBP, USD), about two conversations per account reached
(SMS, web chat, WhatsApp), exactly `--messages` messages sorted by time (as a live database stores them),
verifications, hardship and other care signals, commitments whose instalments are paid on time, late or missed
(moved to the end once, the plan broken after two misses in a row), payments with their allocations and a few
reversals, disputes, opt-outs and handoffs answered by an agent. The same seed and the same `now` give the same
rows on both databases. PostgreSQL is then vacuumed and analysed (what autovacuum does after a bulk load);
SQLite is left as the app leaves it (no ANALYZE).

Then the dashboard's typical questions, through the service functions the routes call (`kpis.report`, serialised
as the endpoint answers it; `kpis.account_outcomes_csv`, read to the end; `dashboard.kpi_view`, the console's five
reports), each once to warm up and then `--repeat` times, round-robin: p50 and p95 (nearest rank) per query and
database, PostgreSQL / SQLite, whether the two databases gave the same figures, and whether PostgreSQL answers
within the dashboard's 1-second target. Also the generation time and the database's size. Writes
var/bench/kpis.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import Connection, Table, insert, inspect, select, text

from api.cli import migrate
from api.db import Base, get_engine, session_scope
from api.deps import hash_api_key
from api.models import Agent, AgentCreditor, Creditor
from api.services import dashboard, kpis, sms_text
from bench.followthrough import CREDITOR_KEY, restore_environment, use_database
from scripts.postgres import PostgresServer, server_bin_dir, throwaway_postgres

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "var" / "bench" / "kpis.json"
UTC = dt.timezone.utc
DAY = 86400.0
# The console's dashboard is to answer within this (issue 16).
TARGET_SECONDS = 1.0


# -------------------------------------------------------------------------------------------------------
# What is timed: the dashboard's typical questions
# -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    name: str
    label: str
    days: int  # the period: this many days up to the end of today (UTC), as the dashboard asks
    group_by: tuple[str, ...] = ()
    kind: str = "report"  # report (GET /api/v1/reports/kpis) | export (accounts.csv) | dashboard (the console's view)


QUERIES = (
    Query("30d", "last 30 days, no group_by", 30),
    Query("90d_by_channel", "last 90 days by channel", 90, ("channel",)),
    Query("12m_by_month", "12 months by month", 365, ("month",)),
    Query("12m_by_channel_language", "12 months by channel and language", 365, ("channel", "language")),
    Query("export_12m", "per-account export, 12 months", 365, kind="export"),
    Query("dashboard_30d", "dashboard, last 30 days (5 reports, by day)", 30, kind="dashboard"),
    Query("dashboard_12m", "dashboard, 12 months (5 reports, by month)", 365, kind="dashboard"),
)


# -------------------------------------------------------------------------------------------------------
# The portfolio: how it is drawn
# -------------------------------------------------------------------------------------------------------

HISTORY_DAYS = 365
PLACEMENT_BATCHES = 52  # a batch of accounts placed every week
CONVERSATIONS_PER_ACCOUNT = 2.0
NEVER_REACHED = 0.15  # accounts with no conversation at all
MIN_MESSAGES = 2  # per conversation
ACCOUNTS_PER_BATCH = 2000  # generated and written at a time

CURRENCIES = (("EUR", 0.75), ("GBP", 0.20), ("USD", 0.05))
CHANNELS = (("sms", 0.55), ("webchat", 0.30), ("whatsapp", 0.15))
PHONE = frozenset({"sms", "whatsapp"})
OPENED_BY_US = 0.7  # SMS and WhatsApp conversations that start with our first contact or a reminder
P_VERIFIED = 0.72
P_HARDSHIP = 0.18
HARDSHIP_DETAILS = (("job_loss", 3), ("illness", 2), ("reduced_income", 3), ("separation", 1), ("bereavement", 0.5), (None, 1))
# Handoffs (one at most per conversation besides a broken plan's), with the signal that comes with some.
HANDOFF_REASONS = (
    ("vulnerability", 0.02, "vulnerability", 0),
    ("complaint", 0.015, "complaint", 1),
    ("request_human", 0.04, None, 2),
    ("repeated_fallback", 0.008, None, 2),
    ("affordability", 0.005, None, 2),
    ("document_request", 0.005, None, 3),
)
P_AGENT_ANSWERS = 0.8
P_DISPUTE = 0.035
P_DISPUTE_HANDOFF = 0.7
DISPUTE_REASONS = ("not_mine", "already_paid", "wrong_amount", "fraud", "product_or_service")
P_OPT_OUT = 0.05
P_PLAN = 0.4  # a verified conversation ends with a commitment (0.12 when a plan is already running)
P_RENEGOTIATE = 0.12
P_PLAN_WITHOUT_CONVERSATION = 0.05  # recorded by an agent (a phone call) for an account never reached here
PLAN_KINDS = (("instalments", 0.78), ("deferral", 0.12), ("full", 0.10))
FREQUENCIES = (("monthly", 30, 0.75), ("biweekly", 14, 0.10), ("weekly", 7, 0.15))
MIN_INSTALMENT_MINOR = 2000
# Payers: the chance of each instalment being paid on time, late (the rest is missed).
PAYERS = (((0.92, 0.05), 0.55), ((0.60, 0.20), 0.30), ((0.20, 0.20), 0.15))
GRACE_DAYS = 3
P_MOVED_TO_END = 0.4  # a first miss moves the instalment to the end of the plan
P_PARTIAL = 0.25  # a missed instalment partly paid
P_PAYS_WITHOUT_PLAN = 0.08
P_PAYS_PART_WITHOUT_PLAN = 0.05
P_REVERSED = 0.02
METHODS = ("transfer", "card", "direct_debit", "cheque")
SOURCES = (("api", 0.6), ("webhook", 0.3), ("import", 0.1))

TEXTS = {
    ("fr", "debtor"): (
        "Bonjour",
        "Oui c'est moi",
        "Je ne peux pas tout payer maintenant",
        "Je peux payer 30 euros par mois",
        "D'accord, merci",
        "J'ai perdu mon emploi le mois dernier",
        "Quand est-ce que je dois payer ?",
        "1",
        "Le 15 du mois prochain",
        "Je voudrais parler à quelqu'un",
    ),
    ("fr", "bot"): (
        "Bonjour, ici le service de recouvrement de votre créancier. Quelle est la référence de votre dossier ?",
        "Merci. Pour vérifier votre identité, quelle est votre date de naissance ?",
        "Voici ce que nous pouvons vous proposer : 1. payer en 3 fois 2. payer plus tard 3. parler à un conseiller",
        "C'est noté : 30,00 EUR par mois à partir du 15. Vous recevrez une confirmation écrite.",
        "Rappel : une échéance de 30,00 EUR est prévue demain.",
        "Merci pour votre paiement.",
        "Je comprends, nous allons trouver une solution adaptée.",
    ),
    ("fr", "agent"): (
        "Bonjour, je suis Camille, conseillère. Je reprends votre dossier.",
        "Je vous propose de décaler l'échéance au 30 du mois.",
        "C'est bien noté, bonne journée.",
    ),
    ("en", "debtor"): (
        "Hello",
        "Yes that's me",
        "I can't pay it all right now",
        "I can pay 30 pounds a month",
        "OK, thanks",
        "I lost my job last month",
        "When do I have to pay?",
        "1",
        "On the 15th of next month",
        "I'd like to speak to someone",
    ),
    ("en", "bot"): (
        "Hello, this is your creditor's collections service. What is your account reference?",
        "Thank you. To check it is you, what is your date of birth?",
        "Here is what we can offer: 1. pay in 3 instalments 2. pay later 3. speak to an adviser",
        "Noted: 30.00 GBP a month from the 15th. You will get a written confirmation.",
        "Reminder: an instalment of 30.00 GBP is due tomorrow.",
        "Thank you for your payment.",
        "I understand, we will find a plan that works for you.",
    ),
    ("en", "agent"): (
        "Hello, I'm Sam, an adviser. I'm taking over your file.",
        "I can move the instalment to the 30th.",
        "That's noted, have a good day.",
    ),
}
# What an SMS of each text costs, counted as the outbox counts it.
SMS_SEGMENTS = {
    phrase: (info.segments, info.encoding)
    for phrases in TEXTS.values()
    for phrase in phrases
    for info in [sms_text.segment_info(phrase)]
}

IN, OUT = "inbound", "outbound"
# A message while the portfolio is drawn: created_at (epoch s), generation order, conversation id, direction,
# author, channel, status, text, sent_at (epoch s or None), the generation order of the message it answers (-1).
Msg = tuple[float, int, str, str, str, str, str, str, float | None, int]


def _at(moment: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, UTC)


def _day(moment: float) -> dt.date:
    return _at(moment).date()


def _epoch(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(0), UTC).timestamp()


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def plan_volumes(rng: random.Random, accounts: int, messages: int) -> list[list[int]]:
    """Per account, how many messages each of its conversations has: about CONVERSATIONS_PER_ACCOUNT conversations
    per account, none for NEVER_REACHED of the accounts, at least MIN_MESSAGES each, `messages` in all exactly."""
    conversations = max(1, min(round(accounts * CONVERSATIONS_PER_ACCOUNT), messages // (2 * MIN_MESSAGES)))
    reached = rng.sample(range(accounts), min(accounts, conversations, max(1, round(accounts * (1 - NEVER_REACHED)))))
    per_account = Counter(reached)
    per_account.update(rng.choices(reached, k=conversations - len(reached)))
    # Lengths spread like a log-normal (most conversations short, a few long), capped.
    weights = [min(rng.lognormvariate(0, 0.8), 6.0) for _ in range(conversations)]
    spare, total = messages - MIN_MESSAGES * conversations, sum(weights)
    shares = [spare * weight / total for weight in weights]
    counts = [MIN_MESSAGES + int(share) for share in shares]
    for index in sorted(range(conversations), key=lambda i: shares[i] - int(shares[i]), reverse=True)[: messages - sum(counts)]:
        counts[index] += 1
    lengths = iter(counts)
    return [[next(lengths) for _ in range(per_account[index])] for index in range(accounts)]


@dataclass
class _Plan:
    row: dict[str, Any]
    instalments: list[dict[str, Any]]
    queue: list[dict[str, Any]]  # instalments not played yet, in due order (one moved to the end comes again)
    period_days: int
    on_time: float
    late: float
    agreed: float
    misses: int = 0
    last_paid: float = 0.0


@dataclass
class _Debtor:
    id: int
    index: int
    placed: float
    language: str
    currency: str
    phone: str
    balance: int
    fees: int
    credit: int = 0
    vulnerable: bool = False
    disputed: bool = False
    closed: bool = False
    plan: _Plan | None = None
    plans: int = 0
    opted_out: set[str] = field(default_factory=set)
    last_event: float = 0.0


@dataclass
class _Story:
    """One conversation as drawn: who writes each message, at which message each fact happens, and when."""

    id: str
    channel: str
    unanswered: bool
    directions: list[str] = field(default_factory=list)
    verified_at: int | None = None
    hardship_at: int | None = None
    handoff: tuple[str, str | None, int, int] | None = None  # reason, the signal with it, priority, at which message
    answered: bool = False  # by an agent
    agent_from: int | None = None  # the first message an agent writes
    dispute_at: int | None = None
    opt_out_at: int | None = None
    agreed_at: int | None = None
    times: list[float] = field(default_factory=list)
    first_seq: int = 0  # the generation number of its first message

    def just_after(self, i: int, now: float) -> float:
        """Between message i and the next one (a verification, a handoff, a dispute recorded)."""
        following = self.times[i + 1] if i + 1 < len(self.times) else min(self.times[i] + 60, now - 1)
        return self.times[i] + (following - self.times[i]) / 2


class Portfolio:
    """Draws one creditor's portfolio, a batch of accounts at a time (every row but the messages and the signals,
    which are written at the end: the messages sorted by time, the signals naming their message)."""

    def __init__(self, rng: random.Random, accounts: int, messages: int, now: float, creditor_id: int, agent_id: int) -> None:
        self.rng = rng
        self.accounts = accounts
        self.now = now
        self.start = now - HISTORY_DAYS * DAY
        self.creditor_id = creditor_id
        self.agent_id = agent_id
        self.volumes = plan_volumes(rng, accounts, messages)
        first_batch = self.start + 1 * DAY
        last_batch = now - 8 * DAY
        step = (last_batch - first_batch) / max(1, PLACEMENT_BATCHES - 1)
        batches = [first_batch + k * step for k in range(PLACEMENT_BATCHES)]
        # Placed on a batch's morning; account ids follow the order of placement.
        self.placements = sorted(rng.choice(batches) + rng.uniform(6 * 3600, 10 * 3600) for _ in range(accounts))
        self.ids: Counter[str] = Counter()
        self.messages: list[Msg] = []
        self.signals: list[dict[str, Any]] = []
        self._position: list[int] = []  # a message's place once sorted, by generation order

    def _id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # --- accounts, a batch at a time ---------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[int, dict[str, list[dict[str, Any]]]]]:
        """(accounts drawn so far, the rows of the batch by table, in an order that satisfies the foreign keys)."""
        for first in range(0, self.accounts, ACCOUNTS_PER_BATCH):
            rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for index in range(first, min(first + ACCOUNTS_PER_BATCH, self.accounts)):
                self._account(index, rows)
            yield min(first + ACCOUNTS_PER_BATCH, self.accounts), rows

    def _account(self, index: int, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        currency = _pick(rng, CURRENCIES)
        language = "fr" if currency == "EUR" and rng.random() < 0.8 else "en"
        placed_minor = max(2_000, min(2_000_000, int(rng.lognormvariate(math.log(45_000), 0.8))))
        fees = 0 if currency == "EUR" else int(placed_minor * rng.uniform(0, 0.15))
        debtor = _Debtor(
            id=self._id("accounts"),
            index=index,
            placed=self.placements[index],
            language=language,
            currency=currency,
            phone=f"+336{index:08d}" if language == "fr" else f"+447{index:09d}",
            balance=placed_minor - fees,
            fees=fees,
        )
        debtor.last_event = debtor.placed
        account_row: dict[str, Any] = {}
        rows["accounts"].append(account_row)  # filled in at the end: what it owes now, its status
        lengths = self.volumes[index]
        starts, opened = [], debtor.placed + rng.uniform(0.5, 20) * DAY
        for _ in lengths:
            starts.append(opened if opened < self.now - 3600 else rng.uniform(debtor.placed, self.now - 3600))
            opened += max(2 * DAY, rng.expovariate(1 / (40 * DAY)))
        for length, opened in zip(lengths, sorted(starts)):
            self._conversation(debtor, length, opened, rows)
        if not lengths and rng.random() < P_PLAN_WITHOUT_CONVERSATION:
            agreed = debtor.placed + rng.uniform(10, 60) * DAY
            if agreed < self.now:
                self._agree(debtor, agreed, None, f"agent:{self.agent_id}", rows)
        if debtor.plan is not None:
            self._play(debtor, debtor.plan, self.now, rows)
        if not debtor.plans and not debtor.closed:
            self._pays_without_plan(debtor, rows)
        account_row.update(self._account_row(debtor))

    def _account_row(self, debtor: _Debtor) -> dict[str, Any]:
        rng = self.rng
        owed = debtor.balance + debtor.fees
        if debtor.closed:
            status = "closed"
        elif debtor.disputed:
            status = "disputed"
        elif owed <= 0:
            status = "paid"
        elif debtor.plan is not None and debtor.plan.row["status"] == "active":
            status = "arranged"
        else:
            status = "active"
        placed = _at(debtor.placed)
        return {
            "id": debtor.id,
            "creditor_id": self.creditor_id,
            "reference": f"BK-{debtor.index + 1:07d}",
            "debtor_name": f"Debtor {debtor.index + 1}",
            "phone": debtor.phone,
            "email": f"debtor{debtor.index + 1}@example.invalid",
            "date_of_birth": dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(18_000)),
            "postcode": f"{rng.randrange(1_000, 96_000):05d}" if debtor.language == "fr" else "SW1A 1AA",
            "language": debtor.language,
            "timezone": "Europe/Paris" if debtor.language == "fr" else "Europe/London",
            "currency": debtor.currency,
            "balance_minor": max(0, debtor.balance),
            "fees_minor": max(0, debtor.fees),
            "interest_minor": 0,
            "jurisdiction": "FR" if debtor.currency == "EUR" else "GB",
            "due_date": (placed - dt.timedelta(days=rng.randrange(30, 400))).date(),
            "origin": "Invoice, energy supply",
            "status": status,
            "vulnerable": debtor.vulnerable,
            "reminders_paused": False,
            "created_at": placed,
            "updated_at": _at(min(self.now, debtor.last_event)),
            "credit_minor": debtor.credit,
            "restricted": False,
        }

    # --- a conversation ----------------------------------------------------------------------------------

    def _channel(self, debtor: _Debtor) -> str:
        channel = _pick(self.rng, CHANNELS)
        return "webchat" if channel in debtor.opted_out else channel

    def _story(self, debtor: _Debtor, length: int) -> _Story:
        """Who writes each message, and at which message each fact happens."""
        rng = self.rng
        channel = self._channel(debtor)
        story = _Story(
            f"{rng.getrandbits(128):032x}", channel, unanswered=length <= 3 and channel in PHONE and rng.random() < 0.5
        )
        directions = story.directions
        directions.append(OUT if story.unanswered or (channel in PHONE and rng.random() < OPENED_BY_US) else IN)
        for _ in range(length - 1):
            if story.unanswered:
                directions.append(OUT)
            elif directions[-1] == IN:
                directions.append(OUT if rng.random() < 0.9 else IN)  # the debtor sometimes writes twice
            else:
                directions.append(IN if rng.random() < 0.7 else OUT)  # the bot sometimes writes twice
        inbound = [i for i, direction in enumerate(directions) if direction == IN]
        if not inbound:
            return story
        if (len(inbound) > 1 or rng.random() < 0.3) and rng.random() < P_VERIFIED:
            story.verified_at = inbound[min(1, len(inbound) - 1)]
        if rng.random() < P_HARDSHIP:
            story.hardship_at = rng.choice(inbound)
        for reason, chance, signal, priority in HANDOFF_REASONS:
            if rng.random() < chance:
                story.handoff = (reason, signal, priority, rng.choice(inbound))
                break
        verified_at = story.verified_at
        if verified_at is not None and not (debtor.closed or debtor.disputed) and rng.random() < P_DISPUTE:
            story.dispute_at = rng.choice([i for i in inbound if i >= verified_at])
            if story.handoff is None and rng.random() < P_DISPUTE_HANDOFF:
                story.handoff = ("dispute", None, 1, story.dispute_at)
        if channel in PHONE and rng.random() < P_OPT_OUT:
            story.opt_out_at = inbound[-1]  # STOP ends it
        owes = debtor.balance + debtor.fees > 0 and not (debtor.closed or debtor.disputed)
        chance = P_PLAN if debtor.plan is None or debtor.plan.row["status"] != "active" else P_RENEGOTIATE
        if verified_at is not None and owes and story.dispute_at is None and rng.random() < chance:
            later = [i for i, direction in enumerate(directions) if direction == OUT and i > verified_at]
            story.agreed_at = rng.choice(later) if later else None
        if story.handoff is not None and rng.random() < P_AGENT_ANSWERS:
            story.answered = True
            story.agent_from = next((i for i in range(story.handoff[3] + 1, length) if directions[i] == OUT), None)
        return story

    def _times(self, story: _Story, opened: float) -> list[float]:
        """When each message is written: the bot answers at once, the debtor within minutes or another day, an agent
        when free; squeezed into what is left before now for an account placed a few days ago."""
        rng, directions, agent_from = self.rng, story.directions, story.agent_from
        times = [opened]
        for i in range(1, len(directions)):
            if story.unanswered:
                gap = rng.uniform(1, 7) * DAY  # reminders
            elif i == agent_from:
                gap = rng.uniform(60, 3 * 3600)
            elif directions[i] == OUT and directions[i - 1] == IN:
                gap = rng.uniform(20, 300) if agent_from is not None and i > agent_from else rng.uniform(1, 6)
            elif rng.random() < 0.12:
                gap = rng.uniform(3600, 5 * DAY)
            else:
                gap = rng.uniform(20, 900)
            times.append(times[-1] + gap)
        latest = self.now - 60
        if times[-1] > latest:
            scale = (latest - opened) / (times[-1] - opened)
            times = [opened + (moment - opened) * scale for moment in times]
        return times

    def _add_messages(self, story: _Story, debtor: _Debtor) -> None:
        rng, times = self.rng, story.times
        story.first_seq = first_seq = len(self.messages)
        phone = story.channel in PHONE
        blocked_from = times[story.opt_out_at] if story.opt_out_at is not None else None
        handed_over = story.handoff[3] if story.answered and story.handoff is not None else None
        last_inbound = -1
        for i, (direction, moment) in enumerate(zip(story.directions, times)):
            sent_at = None
            if direction == IN:
                author = "debtor"
                status = "for_agent" if handed_over is not None and i > handed_over else "processed"
                last_inbound = first_seq + i
            else:
                author = "agent" if story.agent_from is not None and i >= story.agent_from else "bot"
                if not phone:
                    status = "sent"
                elif blocked_from is not None and moment > blocked_from:
                    status = "blocked"
                else:
                    status = _pick(rng, (("delivered", 0.92), ("sent", 0.03), ("undelivered", 0.03), ("failed", 0.02)))
                    sent_at = None if status == "failed" else moment + rng.uniform(0.5, 3)
            phrase = rng.choice(TEXTS[(debtor.language, author)])
            reply_to = last_inbound if direction == OUT else -1
            self.messages.append(
                (moment, first_seq + i, story.id, direction, author, story.channel, status, phrase, sent_at, reply_to)
            )

    def _conversation(self, debtor: _Debtor, length: int, opened: float, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        story = self._story(debtor, length)
        story.times = times = self._times(story, opened)
        self._add_messages(story, debtor)
        verified = story.just_after(story.verified_at, self.now) if story.verified_at is not None else None
        phone = story.channel in PHONE
        address = debtor.phone if phone else f"{rng.getrandbits(128):032x}"
        state = "bot"
        if story.handoff is not None and times[-1] > self.now - 2 * DAY:
            state = "agent" if story.answered else "waiting_for_agent"
        rows["conversations"].append(
            {
                "id": story.id,
                "creditor_id": self.creditor_id,
                "account_id": debtor.id if verified is not None else None,
                "channel": story.channel,
                "channel_address": address,
                "language": debtor.language if verified is not None or rng.random() > 0.1 else None,
                "state": state,
                "verified_at": _at(verified) if verified is not None else None,
                "opened_at": _at(opened),
                "candidate_account_id": debtor.id if phone else None,
                "created_at": _at(opened - 1),
                "last_message_at": _at(times[-1]),
            }
        )
        first_inbound = next((moment for moment, direction in zip(times, story.directions) if direction == IN), None)
        self._verification(debtor, story.id, verified, first_inbound, rows)

        def account_by(moment: float) -> int | None:
            return debtor.id if verified is not None and verified <= moment else None

        def signal(kind: str, at_message: int, detail: str | None = None) -> None:
            moment = times[at_message]
            self.signals.append(
                {
                    "id": self._id("signals"),
                    "account_id": account_by(moment),
                    "conversation_id": story.id,
                    "message_id": story.first_seq + at_message,  # a generation number until the messages are sorted
                    "kind": kind,
                    "detail": detail,
                    "confidence": round(rng.uniform(0.6, 1.0), 3),
                    "language": debtor.language,
                    "created_at": _at(moment),
                }
            )

        if story.hardship_at is not None:
            signal("hardship", story.hardship_at, _pick(rng, HARDSHIP_DETAILS))
        if story.handoff is not None:
            reason, kind, priority, at_message = story.handoff
            if kind is not None:
                signal(kind, at_message)
            debtor.vulnerable = debtor.vulnerable or kind == "vulnerability"
            created = story.just_after(at_message, self.now)
            agent_reply = times[story.agent_from] if story.agent_from is not None else None
            self._handoff(story.id, reason, priority, created, agent_reply, times[-1], account_by(created), rows)
        if story.dispute_at is not None:
            signal("dispute", story.dispute_at, rng.choice(DISPUTE_REASONS))
            self._dispute(debtor, story.id, story.just_after(story.dispute_at, self.now), rows)
        if story.opt_out_at is not None:
            debtor.opted_out.add(story.channel)
            rows["consents"].append(
                {
                    "id": self._id("consents"),
                    "account_id": debtor.id,
                    "conversation_id": story.id,
                    "channel": story.channel,
                    "channel_address": address,
                    "kind": "opt_out",
                    "created_at": _at(times[story.opt_out_at] + 0.5),
                }
            )
        if story.agreed_at is not None:
            by_agent = story.agent_from is not None and story.agreed_at >= story.agent_from
            self._agree(debtor, times[story.agreed_at] - 0.5, story.id, f"agent:{self.agent_id}" if by_agent else "bot", rows)
        debtor.last_event = max(debtor.last_event, times[-1])

    def _verification(
        self,
        debtor: _Debtor,
        conversation_id: str,
        verified: float | None,
        first_inbound: float | None,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        digest = hashlib.sha256(f"{self.creditor_id}:BK-{debtor.index + 1:07d}".encode()).hexdigest()
        attempts = []
        if first_inbound is not None and rng.random() < (0.15 if verified is not None else 0.3):
            attempts.append((first_inbound + 5, False))
        if verified is not None:
            attempts.append((verified, True))
        for moment, succeeded in attempts:
            rows["verification_attempts"].append(
                {
                    "id": self._id("verification_attempts"),
                    "conversation_id": conversation_id,
                    "account_id": debtor.id if succeeded else None,
                    "reference_digest": digest if succeeded else hashlib.sha256(f"{moment}".encode()).hexdigest(),
                    "succeeded": succeeded,
                    "created_at": _at(moment),
                }
            )

    def _handoff(
        self,
        conversation_id: str,
        reason: str,
        priority: int,
        created: float,
        agent_reply: float | None,
        last_message: float,
        account_id: int | None,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        closed = claimed = None
        outcome = None
        if agent_reply is not None:
            claimed = agent_reply - rng.uniform(5, 60)
            closed = last_message + rng.uniform(60, 1800)
            outcome = _pick(rng, (("handed_back", 0.6), ("closed", 0.4)))
        else:
            closed = created + rng.uniform(600, 7200)  # handed back before any agent wrote
            outcome = "handed_back"
        if closed >= self.now:
            closed = outcome = None
        status = "closed" if closed is not None else ("claimed" if claimed is not None else "open")
        rows["handoffs"].append(
            {
                "id": self._id("handoffs"),
                "conversation_id": conversation_id,
                "account_id": account_id,
                "reason": reason,
                "priority": priority,
                "summary": {"reason": reason},
                "status": status,
                "created_at": _at(created),
                "claimed_by_agent_id": self.agent_id if claimed is not None else None,
                "claimed_at": _at(claimed) if claimed is not None else None,
                "closed_at": _at(closed) if closed is not None else None,
                "outcome": outcome,
            }
        )

    def _dispute(self, debtor: _Debtor, conversation_id: str, created: float, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        if debtor.plan is not None:
            self._play(debtor, debtor.plan, created, rows)
            if debtor.plan.row["status"] == "active":  # collection stops while the dispute is reviewed
                debtor.plan.row.update(status="cancelled", ended_at=_at(max(created, debtor.plan.agreed + 60)))
        resolved = created + rng.uniform(5, 30) * DAY
        status = "open" if resolved >= self.now or rng.random() < 0.15 else _pick(rng, (("rejected", 0.7), ("upheld", 0.3)))
        owed = debtor.balance + debtor.fees
        closed = status == "upheld" and rng.random() < 0.6
        corrected = 0 if closed else (int(debtor.balance * rng.uniform(0.5, 0.9)) if status == "upheld" else None)
        rows["disputes"].append(
            {
                "id": self._id("disputes"),
                "account_id": debtor.id,
                "conversation_id": conversation_id,
                "reason": rng.choice(DISPUTE_REASONS),
                "status": status,
                "created_at": _at(created),
                "resolved_at": _at(resolved) if status != "open" else None,
                "resolved_by": f"agent:{self.agent_id}" if status != "open" else None,
                "explanation": "Reviewed against the contract." if status != "open" else None,
                "balance_before_minor": owed if status == "upheld" else None,
                "corrected_balance_minor": corrected,
                "closed_account": closed,
                "answered_at": _at(resolved + 3600) if status != "open" and resolved + 3600 < self.now else None,
            }
        )
        if status == "open":
            debtor.disputed = True
        elif status == "upheld":
            debtor.balance, debtor.fees = (0, 0) if closed else (corrected or 0, 0)
            debtor.closed = closed
        debtor.last_event = max(debtor.last_event, resolved if status != "open" else created)

    # --- commitments, instalments, payments --------------------------------------------------------------

    def _agree(
        self, debtor: _Debtor, agreed: float, conversation_id: str | None, by: str, rows: dict[str, list[dict[str, Any]]]
    ) -> None:
        rng = self.rng
        if debtor.plan is not None:
            if agreed <= debtor.plan.agreed:  # conversations that overlap: the later plan stands
                return
            self._play(debtor, debtor.plan, agreed, rows)
            if debtor.plan.row["status"] == "active":
                debtor.plan.row.update(status="replaced", ended_at=_at(agreed))
        owed = debtor.balance + debtor.fees
        if owed <= 0 or debtor.closed or debtor.disputed:
            return
        kind = _pick(rng, PLAN_KINDS)
        frequency, period_days = None, 0
        count = 1
        if kind == "instalments":
            frequency, period_days, _ = rng.choices(FREQUENCIES, [weight for *_, weight in FREQUENCIES])[0]
            count = min(rng.randint(2, 12), owed // MIN_INSTALMENT_MINOR)
            if count < 2:
                kind, count, frequency, period_days = "full", 1, None, 0
        first_due = _day(agreed) + dt.timedelta(
            days=rng.randint(3, 20) if kind == "instalments" else rng.randint(15, 30) if kind == "deferral" else rng.randint(0, 7)
        )
        commitment_id = self._id("commitments")
        amount = owed // count
        instalments = [
            {
                "id": self._id("instalments"),
                "commitment_id": commitment_id,
                "sequence": n + 1,
                "due_date": first_due + dt.timedelta(days=n * period_days),
                "amount_minor": amount if n < count - 1 else owed - amount * (count - 1),
                "status": "due",
                "paid_minor": 0,
                "original_due_date": None,
                "missed_at": None,
            }
            for n in range(count)
        ]
        row = {
            "id": commitment_id,
            "reference": f"BK{commitment_id:08d}",
            "account_id": debtor.id,
            "conversation_id": conversation_id,
            "kind": kind,
            "status": "active",
            "currency": debtor.currency,
            "total_minor": owed,
            "fees_waived_minor": 0,
            "discount_minor": 0,
            "frequency": frequency,
            "agreed_at": _at(agreed),
            "agreed_summary": f"{count} x {amount / 100:.2f} {debtor.currency}",
            "recorded_by": by,
            "consecutive_misses": 0,
            "ended_at": None,
        }
        rows["commitments"].append(row)
        rows["instalments"].extend(instalments)
        on_time, late = _pick(rng, PAYERS)
        debtor.plan = _Plan(row, instalments, list(instalments), period_days or 30, on_time, late, agreed)
        debtor.plans += 1
        debtor.last_event = max(debtor.last_event, agreed)

    def _play(self, debtor: _Debtor, plan: _Plan, until: float, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Plays the plan's instalments whose due day ended before `until`: paid on time or late, or missed (moved
        to the end once; the plan broken after two misses in a row); kept once every instalment is paid."""
        rng = self.rng
        until = min(until, self.now)
        while plan.queue and plan.row["status"] == "active":
            instalment = plan.queue[0]
            due_end = _epoch(instalment["due_date"]) + DAY
            if due_end > until:
                break
            plan.queue.pop(0)
            draw = rng.random()
            paid = max(due_end - rng.uniform(60, 5 * DAY), plan.agreed + 60)  # on time
            if draw >= plan.on_time:
                paid = due_end + rng.uniform(3600, 12 * DAY)  # late
            if draw < plan.on_time + plan.late and paid < until:
                self._pay(debtor, paid, instalment, rows)
                plan.misses, plan.last_paid = 0, max(plan.last_paid, paid)
                continue
            missed = due_end + GRACE_DAYS * DAY
            if missed >= until:
                plan.queue.insert(0, instalment)  # not known as missed yet
                break
            if rng.random() < P_PARTIAL:
                self._pay(debtor, due_end - rng.uniform(60, 3 * DAY), instalment, rows, share=rng.uniform(0.3, 0.7))
            instalment.update(status="missed", missed_at=_at(missed))
            plan.misses += 1
            plan.row["consecutive_misses"] = plan.misses
            if plan.misses >= 2:
                plan.row.update(status="broken", ended_at=_at(missed))
                if plan.row["conversation_id"] is not None and rng.random() < 0.5:
                    self._handoff(plan.row["conversation_id"], "plan_broken", 2, missed, None, missed, debtor.id, rows)
                debtor.last_event = max(debtor.last_event, missed)
                return
            if rng.random() < P_MOVED_TO_END:
                last_due = max(i["due_date"] for i in plan.instalments)
                instalment.update(
                    status="due",
                    original_due_date=instalment["due_date"],
                    due_date=last_due + dt.timedelta(days=plan.period_days),
                )
                plan.queue.append(instalment)
        if plan.row["status"] == "active" and all(i["status"] == "paid" for i in plan.instalments):
            plan.row.update(status="kept", ended_at=_at(plan.last_paid))

    def _pay(
        self,
        debtor: _Debtor,
        paid: float,
        instalment: dict[str, Any] | None,
        rows: dict[str, list[dict[str, Any]]],
        *,
        amount: int | None = None,
        share: float = 1.0,
    ) -> dict[str, Any]:
        if instalment is not None:
            amount = max(1, int((instalment["amount_minor"] - instalment["paid_minor"]) * share))
        assert amount is not None
        to_balance = max(0, min(amount, debtor.balance))
        to_fees = max(0, min(amount - to_balance, debtor.fees))
        credit = amount - to_balance - to_fees
        debtor.balance -= to_balance
        debtor.fees -= to_fees
        debtor.credit += credit
        payment = self._payment_row(debtor, paid, amount, to_balance, to_fees, None)
        rows["payments"].append(payment)
        allocations = [(("instalment", instalment["id"]) if instalment is not None else ("balance", None), amount - credit)]
        if credit:
            allocations.append((("credit", None), credit))
        for (kind, instalment_id), part in allocations:
            rows["allocations"].append(
                {
                    "id": self._id("allocations"),
                    "payment_id": payment["id"],
                    "kind": kind,
                    "instalment_id": instalment_id,
                    "amount_minor": part,
                }
            )
        if instalment is not None:
            instalment["paid_minor"] += amount
            if instalment["paid_minor"] >= instalment["amount_minor"]:
                instalment["status"] = "paid"
        debtor.last_event = max(debtor.last_event, paid)
        return payment

    def _payment_row(
        self, debtor: _Debtor, paid: float, amount: int, to_balance: int, to_fees: int, reverses: int | None
    ) -> dict[str, Any]:
        rng = self.rng
        payment_id = self._id("payments")
        return {
            "id": payment_id,
            "creditor_id": self.creditor_id,
            "account_id": debtor.id,
            "external_id": f"bk-{payment_id}",
            "amount_minor": amount,
            "currency": debtor.currency,
            "paid_at": _at(paid),
            "method": rng.choice(METHODS),
            "received_at": _at(min(self.now, paid + rng.uniform(60, 2 * DAY))),
            "source": _pick(rng, SOURCES),
            "reverses_payment_id": reverses,
            "balance_applied_minor": to_balance,
            "fees_applied_minor": to_fees,
        }

    def _pays_without_plan(self, debtor: _Debtor, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Some accounts pay all or part of what they owe without any plan; a few of those payments are reversed."""
        rng = self.rng
        draw = rng.random()
        if draw >= P_PAYS_WITHOUT_PLAN + P_PAYS_PART_WITHOUT_PLAN:
            return
        paid = debtor.placed + rng.uniform(5, 120) * DAY
        owed = debtor.balance + debtor.fees
        if paid >= self.now or owed <= 0:
            return
        amount = owed if draw < P_PAYS_WITHOUT_PLAN else max(1, int(owed * rng.uniform(0.2, 0.6)))
        before = (debtor.balance, debtor.fees)
        payment = self._pay(debtor, paid, None, rows, amount=amount)
        reversed_at = paid + rng.uniform(3, 10) * DAY
        if rng.random() < P_REVERSED and reversed_at < self.now:
            to_balance, to_fees = payment["balance_applied_minor"], payment["fees_applied_minor"]
            debtor.balance, debtor.fees = before
            reversal = self._payment_row(debtor, reversed_at, -amount, -to_balance, -to_fees, payment["id"])
            rows["payments"].append(reversal)
            rows["allocations"].append(
                {
                    "id": self._id("allocations"),
                    "payment_id": reversal["id"],
                    "kind": "balance",
                    "instalment_id": None,
                    "amount_minor": -amount,
                }
            )
            debtor.last_event = max(debtor.last_event, reversed_at)

    # --- the messages, sorted by time --------------------------------------------------------------------

    def sorted_messages(self) -> list[Msg]:
        """The messages in the order a live database stores them (by time), the signals pointed at their ids."""
        self.messages.sort()
        position = [0] * len(self.messages)
        for index, message in enumerate(self.messages):
            position[message[1]] = index
        for signal in self.signals:
            signal["message_id"] = position[signal["message_id"]] + 1
        self._position = position
        return self.messages

    def message_rows(self, messages: list[Msg], first_index: int) -> list[dict[str, Any]]:
        rows = []
        for index, (moment, _, conversation_id, direction, author, channel, status, phrase, sent_at, reply_to) in enumerate(
            messages, start=first_index
        ):
            message_id = index + 1
            sms_out = channel == "sms" and direction == OUT
            segments, encoding = SMS_SEGMENTS[phrase] if sms_out else (None, None)
            rows.append(
                {
                    "id": message_id,
                    "conversation_id": conversation_id,
                    "direction": direction,
                    "author": author,
                    "channel": channel,
                    "channel_message_id": f"SM{message_id:032x}" if channel != "webchat" and status != "blocked" else None,
                    "text": phrase,
                    "payload": {"in_reply_to": self._position[reply_to] + 1} if reply_to >= 0 else None,
                    "status": status,
                    "error": "30003 Unreachable destination handset" if status in ("undelivered", "failed") else None,
                    "created_at": _at(moment),
                    "processed_at": _at(moment + 1) if direction == IN else None,
                    "attempts": 1 if channel != "webchat" and direction == OUT else 0,
                    "sent_at": _at(sent_at) if sent_at is not None else None,
                    "segments": segments,
                    "encoding": encoding,
                }
            )
        return rows


# -------------------------------------------------------------------------------------------------------
# Writing it: Core insert() on SQLite, COPY on PostgreSQL
# -------------------------------------------------------------------------------------------------------


class Progress:
    """Rows written so far and the rate, on stderr every few seconds."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.started = time.perf_counter()
        self.rows = 0
        self.shown = 0.0

    def add(self, rows: int, what: str, force: bool = False) -> None:
        self.rows += rows
        elapsed = time.perf_counter() - self.started
        if force or elapsed - self.shown >= 5:
            self.shown = elapsed
            print(
                f"  {self.database}: {what}; {self.rows:,} rows in {elapsed:.0f} s ({self.rows / elapsed:,.0f} rows/s)",
                file=sys.stderr,
                flush=True,
            )


def _required(table: Table) -> set[str]:
    """The columns a row must name: NOT NULL without a default the database applies (Python-side defaults do not
    apply to COPY)."""
    return {column.name for column in table.columns if not column.nullable and column.server_default is None}


def write_rows(connection: Connection, table_name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Base.metadata.tables[table_name]
    if missing := _required(table) - set(rows[0]):
        raise ValueError(f"the generated {table_name} rows lack {sorted(missing)}")
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table_name), sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [Json(value) if isinstance(value, dict | list) else value for value in (row[name] for name in columns)]
            )


# Every table a batch writes, in an order its foreign keys accept (signals go after the messages they name).
BATCH_TABLES = (
    "accounts",
    "conversations",
    "verification_attempts",
    "commitments",
    "instalments",
    "payments",
    "allocations",
    "disputes",
    "consents",
    "handoffs",
)
MESSAGES_PER_WRITE = 20_000


def generate(database: str, args: argparse.Namespace, now: float, creditor_id: int, agent_id: int) -> dict[str, Any]:
    """Draws the portfolio and writes it; answers the rows per table and the time taken."""
    engine = get_engine()
    progress = Progress(database)
    started = time.perf_counter()
    portfolio = Portfolio(random.Random(args.seed), args.accounts, args.messages, now, creditor_id, agent_id)
    counts: Counter[str] = Counter()
    for done, rows in portfolio.batches():
        with engine.begin() as connection:
            for table in BATCH_TABLES:
                write_rows(connection, table, rows[table])
                counts[table] += len(rows[table])
        progress.add(sum(len(batch) for batch in rows.values()), f"{done:,}/{args.accounts:,} accounts")
    accounts_seconds = time.perf_counter() - started
    messages = portfolio.sorted_messages()
    for first in range(0, len(messages), MESSAGES_PER_WRITE):
        chunk = portfolio.message_rows(messages[first : first + MESSAGES_PER_WRITE], first)
        with engine.begin() as connection:
            write_rows(connection, "messages", chunk)
        counts["messages"] += len(chunk)
        progress.add(len(chunk), f"{counts['messages']:,}/{len(messages):,} messages")
    with engine.begin() as connection:
        write_rows(connection, "signals", portfolio.signals)
    counts["signals"] += len(portfolio.signals)
    progress.add(len(portfolio.signals), "signals", force=True)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "accounts_phase_seconds": round(accounts_seconds, 1),
        "messages_phase_seconds": round(seconds - accounts_seconds, 1),
        "rows": dict(counts),
        "rows_total": sum(counts.values()),
        "rows_per_second": round(sum(counts.values()) / seconds),
    }


def settle(database: str) -> dict[str, Any]:
    """After the bulk load: PostgreSQL's sequences past the ids written, then VACUUM ANALYZE (what autovacuum does
    after a bulk load, done now rather than during the timing); SQLite's log written back into the file."""
    engine = get_engine()
    started = time.perf_counter()
    if database == "postgresql":
        with engine.begin() as connection:
            for table in (*BATCH_TABLES, "messages", "signals"):
                sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
                if sequence:
                    connection.execute(
                        text(f"SELECT setval(:s, max(id)) FROM {table} HAVING max(id) IS NOT NULL"), {"s": sequence}
                    )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "what": "VACUUM ANALYZE" if database == "postgresql" else "WAL checkpoint",
    }


def database_size_mb(database: str, path: Path | None) -> float:
    if database == "postgresql":
        with get_engine().connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
        return round(int(size or 0) / 2**20, 1)
    assert path is not None
    return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)


# The tables the KPI queries read, whose indexes are listed with the figures.
READ_TABLES = (
    "messages",
    "conversations",
    "accounts",
    "payments",
    "allocations",
    "commitments",
    "instalments",
    "signals",
    "handoffs",
    "disputes",
    "consents",
)


def indexes() -> dict[str, list[str]]:
    inspector = inspect(get_engine())
    return {
        table: sorted(
            f"{index['name']}({', '.join(str(column) for column in index['column_names'])})"
            + (" unique" if index.get("unique") else "")
            for index in inspector.get_indexes(table)
        )
        for table in READ_TABLES
    }


# -------------------------------------------------------------------------------------------------------
# Timing
# -------------------------------------------------------------------------------------------------------


def run_query(query: Query, creditor_id: int, end: dt.datetime, now: dt.datetime) -> tuple[float, dict[str, Any]]:
    """Runs one query as its route does; answers the seconds it took and what it found (read after the clock)."""
    period = kpis.Period.of(end - dt.timedelta(days=query.days), end)
    if query.kind == "export":
        started = time.perf_counter()
        body = "".join(kpis.account_outcomes_csv(creditor_id, period, now))
        seconds = time.perf_counter() - started
        return seconds, {"lines": body.count("\r\n") - 1, "figures": hashlib.sha256(body.encode()).hexdigest()}
    started = time.perf_counter()
    with session_scope() as session:
        if query.kind == "report":
            report = kpis.report(session, creditor_id, period, kpis.Grouping.parse(query.group_by), now)
            report.model_dump_json()  # as the endpoint answers it
            groups = report.groups
        else:
            view = dashboard.kpi_view(session, creditor_id, period, dashboard.Filters(), dashboard.default_bucket(period), now)
            groups = [view.headline, *view.series, *(group for found in view.breakdowns.values() for group in found)]
    seconds = time.perf_counter() - started
    return seconds, {"groups": len(groups), "figures": [group.model_dump(mode="json") for group in groups]}


def differences(a: Any, b: Any, path: str = "", found: dict[str, float] | None = None) -> dict[str, float]:
    """Where two answers differ: per figure (its path of keys, list positions left out), the largest difference;
    infinity where one has a value the other has not. Floats equal to 9 significant digits are the same."""
    found = {} if found is None else found
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            differences(a.get(key), b.get(key), f"{path}.{key}" if path else key, found)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b):
            differences(x, y, path, found)
    elif isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if not math.isclose(a, b, rel_tol=1e-9):
            found[path] = max(found.get(path, 0.0), abs(a - b))
    elif a != b:
        found[path or "answer"] = math.inf
    return found


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def time_queries(database: str, creditor_id: int, end: dt.datetime, now: dt.datetime, repeat: int) -> dict[str, Any]:
    """Each query once to warm up, then `repeat` rounds of every query in turn (a change in the machine's speed
    weighs on all of them alike)."""
    results: dict[str, Any] = {}
    for query in QUERIES:
        seconds, found = run_query(query, creditor_id, end, now)
        results[query.name] = {"label": query.label, "warm_up_seconds": round(seconds, 3), "seconds": [], **found}
    for round_number in range(1, repeat + 1):
        line = []
        for query in QUERIES:
            seconds, _ = run_query(query, creditor_id, end, now)
            results[query.name]["seconds"].append(round(seconds, 3))
            line.append(f"{query.name} {seconds:.2f}s")
        print(f"  {database}: round {round_number}/{repeat}: {', '.join(line)}", file=sys.stderr, flush=True)
    for result in results.values():
        result["p50"] = round(statistics.median(result["seconds"]), 3)
        result["p95"] = round(percentile(result["seconds"], 0.95), 3)
    return results


# -------------------------------------------------------------------------------------------------------
# One database, then the run
# -------------------------------------------------------------------------------------------------------


def _creditor_and_agent() -> tuple[int, int]:
    """The creditor whose portfolio this is (its API key is `CREDITOR_KEY`), and an agent who serves it."""
    with session_scope() as session:
        creditor = Creditor(name="Bench portfolio", api_key_hash=hash_api_key(CREDITOR_KEY))
        agent = Agent(email="agent@bench.invalid", name="Bench Agent", password_hash="!")  # cannot sign in
        session.add_all([creditor, agent])
        session.flush()
        session.add(AgentCreditor(agent_id=agent.id, creditor_id=creditor.id))
        return creditor.id, agent.id


def bench_database(
    database: str, url: str, sqlite_path: Path | None, args: argparse.Namespace, now: dt.datetime
) -> dict[str, Any]:
    end = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), UTC)  # the end of today, as the dashboard asks
    saved = use_database(url)
    try:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            migrate()
        migration_seconds = time.perf_counter() - started
        creditor_id, agent_id = _creditor_and_agent()
        print(f"{database}: migrated in {migration_seconds:.1f} s; generating the portfolio", file=sys.stderr, flush=True)
        generation = generate(database, args, now.timestamp(), creditor_id, agent_id)
        after_load = settle(database)
        size = database_size_mb(database, sqlite_path)
        print(
            f"{database}: {generation['rows_total']:,} rows in {generation['seconds']:.0f} s "
            f"({generation['rows_per_second']:,} rows/s), {after_load['what']} {after_load['seconds']:.0f} s, {size:,.0f} MB; timing",
            file=sys.stderr,
            flush=True,
        )
        found_indexes = indexes()
        get_engine().dispose()  # the timing starts on fresh connections, with the app's own settings
        queries = time_queries(database, creditor_id, end, now, args.repeat)
        with session_scope() as session:
            version = session.scalar(select(text("sqlite_version()" if database == "sqlite" else "version()")))
        return {
            "version": version,
            "migration_seconds": round(migration_seconds, 1),
            "generation": generation,
            "after_load": after_load,
            "size_mb": size,
            "indexes": found_indexes,
            "queries": queries,
        }
    finally:
        restore_environment(saved)


@contextlib.contextmanager
def _postgres(keep: bool) -> Iterator[PostgresServer]:
    """A throw-away server; with --keep, its data directory stays (stopped) for inspection."""
    if not keep:
        with throwaway_postgres() as server:
            yield server
        return
    server = PostgresServer(root=Path(tempfile.mkdtemp(prefix="bench-kpis-pg-")), bin_dir=server_bin_dir())
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        print(
            f"kept PostgreSQL's data in {server.data_dir}, stopped: `{server.bin_dir}/pg_ctl -D {server.data_dir} start` "
            f"(as the postgres user when root), port in its postgresql.conf, database {server.database}"
        )


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    memory = None
    with contextlib.suppress(OSError, StopIteration, ValueError):
        kilobytes = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        memory = round(int(kilobytes.split()[1]) / 2**20, 1)
    return {"cpu": cpu, "cpus": os.cpu_count(), "memory_gb": memory, "load_average": [round(x, 2) for x in os.getloadavg()]}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def compare(databases: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL / SQLite per query (p50 and p95), where their figures differ, and the 1-second target."""
    sqlite, postgres = databases.get("sqlite"), databases.get("postgresql")
    comparison: dict[str, Any] = {}
    for query in QUERIES:
        entry: dict[str, Any] = {}
        if sqlite and postgres:
            a, b = sqlite["queries"][query.name], postgres["queries"][query.name]
            entry["postgresql_over_sqlite_p50"] = _ratio(b["p50"], a["p50"])
            entry["postgresql_over_sqlite_p95"] = _ratio(b["p95"], a["p95"])
            entry["differences"] = differences(a["figures"], b["figures"])
            entry["same_figures"] = not entry["differences"]
        for name, result in databases.items():
            entry[f"{name}_within_{TARGET_SECONDS:g}s_p95"] = result["queries"][query.name]["p95"] <= TARGET_SECONDS
        comparison[query.name] = entry
    return comparison


def print_report(report: dict[str, Any]) -> None:
    databases = report["databases"]
    names = list(databases)
    print(
        f"\n=== KPI reports: {report['accounts']:,} accounts, {report['messages']:,} messages, "
        f"{report['repeat']} runs per query after a warm-up, periods ending {report['period_end']} ==="
    )
    for name, result in databases.items():
        generation = result["generation"]
        print(
            f"{name} ({result['version'].split(' on ')[0]}): {generation['rows_total']:,} rows generated and written in "
            f"{generation['seconds']:.0f} s ({generation['rows_per_second']:,} rows/s; messages {generation['messages_phase_seconds']:.0f} s), "
            f"{result['after_load']['what']} {result['after_load']['seconds']:.0f} s, database {result['size_mb']:,.0f} MB"
        )
    header = f"{'query':<46}" + "".join(f"{name + ' p50 / p95 s':>26}" for name in names)
    both = len(names) == 2
    if both:
        header += f"{'PG/SQLite p50':>15}{'same figures':>14}"
    header += f"{'PG <= 1 s (p95)':>17}" if "postgresql" in names else ""
    print(header)
    for query in QUERIES:
        line = f"{query.label:<46}"
        for name in names:
            result = databases[name]["queries"][query.name]
            line += f"{result['p50']:>16.2f} / {result['p95']:<7.2f}"
        comparison = report["comparison"][query.name]
        if both:
            same = "yes" if comparison["same_figures"] else f"no ({len(comparison['differences'])})"
            line += f"{comparison['postgresql_over_sqlite_p50']:>15}{same:>14}"
        if "postgresql" in names:
            line += f"{'yes' if comparison[f'postgresql_within_{TARGET_SECONDS:g}s_p95'] else 'no':>17}"
        print(line)
    differing: dict[str, list[float]] = defaultdict(list)
    for comparison in report["comparison"].values():
        for path, difference in comparison.get("differences", {}).items():
            differing[path].append(difference)
    for path, found in sorted(differing.items()):
        print(f"figures that differ between the databases: {path}, in {len(found)} queries, by at most {max(found):.6g}")
    first = next(iter(databases.values()))
    recent = report["last_30_days"]
    print(
        f"the last 30 days: {recent['conversations']:,} conversations, {recent['messages']:,} messages "
        f"({recent['messages'] / report['messages']:.0%} of all), {recent['accounts_contacted']:,} accounts contacted, "
        f"{recent['commitments']:,} commitments, {recent['instalments_due']:,} instalments due"
    )
    print(f"rows: {first['generation']['rows']}")
    print(f"messages indexes: {', '.join(first['indexes']['messages'])}")
    print(f"peak memory of this process: {report['max_rss_mb']:,.0f} MB")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts placed (default 100000)")
    parser.add_argument("--messages", type=int, default=2_000_000, help="messages, exactly (default 2000000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both", help="default both")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query, after one warm-up (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the portfolio (default 7)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output (default var/bench/kpis.json)")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away databases (printed at the end)")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.messages < 2 * MIN_MESSAGES or args.repeat < 1:
        parser.error(f"--accounts and --repeat are at least 1, --messages at least {2 * MIN_MESSAGES}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark; answers its figures (also written to --out)."""
    args = parse_args(argv)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    chosen = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    if "postgresql" in chosen:
        server_bin_dir()  # fails now, with what to install, rather than after the SQLite run
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": now.isoformat(),
        "machine": machine(),
        "accounts": args.accounts,
        "messages": args.messages,
        "seed": args.seed,
        "repeat": args.repeat,
        "now": now.isoformat(),
        "period_end": dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), UTC).isoformat(),
        "target_seconds": TARGET_SECONDS,
        "queries": {query.name: query.label for query in QUERIES},
        "databases": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-kpis-"))
    try:
        for database in chosen:
            if database == "sqlite":
                path = workdir / "bench.db"
                report["databases"]["sqlite"] = bench_database("sqlite", f"sqlite:///{path}", path, args, now)
            else:
                with _postgres(args.keep) as server:
                    report["databases"]["postgresql"] = bench_database("postgresql", server.url, None, args, now)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["comparison"] = compare(report["databases"])
    report["last_30_days"] = {
        key: value
        for key, value in next(iter(report["databases"].values()))["queries"]["30d"]["figures"][0].items()
        if key != "liquidation"
    }
    for result in report["databases"].values():  # compared above; too long to keep
        for query in result["queries"].values():
            query.pop("figures")
    report["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["machine"]["load_average_at_the_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"written {out} (whole run {report['wall_seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
