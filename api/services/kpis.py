"""A creditor's KPIs over a period, computed in SQL from the stored facts (docs/kpis.md defines each one).

One aggregate query per fact family, grouped by the keys asked for (channel, language, hardship reason, and a
day, week or month); Python only gathers the aggregated rows into groups, carries the stocks (what is still
owed, the accounts still in collection) from one time bucket to the next, and divides. Money is summed per
currency, never across currencies. Instants are compared as UTC; dates (due dates, buckets) are UTC days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, get_origin

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    exists,
    extract,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import QueryableAttribute, Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from api.db import session_scope
from api.models import (
    Account,
    Allocation,
    Commitment,
    Consent,
    Conversation,
    Dispute,
    Handoff,
    Instalment,
    Message,
    Payment,
    Signal,
    UTCDateTime,
    utcnow,
)
from api.schemas.reports import KpiGroup, KpiReport, LiquidationPoint
from api.services.errors import InvalidPeriod, UnknownGrouping
from api.states import AccountStatus, Author, Channel, CommitmentStatus, ConsentKind, Direction

DIMENSIONS = ("channel", "language", "hardship_reason")
TIME_BUCKETS = ("day", "week", "month")
# Two years and a leap day: a year compared with the year before it fits, a decade of day buckets does not.
MAX_PERIOD = dt.timedelta(days=732)
LIQUIDATION_STEP_DAYS = 30
# The hardship_reason of an account or conversation with no hardship signal, and of one given without a reason.
NO_HARDSHIP = "none"
UNSPECIFIED_HARDSHIP = "unspecified"
# Commitments recorded by the bot (an agent's are recorded_by "agent:<id>").
BOT = "bot"

UTC = dt.timezone.utc
Key = tuple[str | None, ...]
# A column, or an expression over columns.
Sql = ColumnElement[Any] | QueryableAttribute[Any]


# --- what is asked ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` (included) to `end` (excluded), both timezone-aware."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, start: dt.datetime, end: dt.datetime) -> Period:
        if start.utcoffset() is None or end.utcoffset() is None:
            raise InvalidPeriod("from and to need their UTC offset (e.g. +01:00 or Z): a time without one is ambiguous")
        if end <= start:
            raise InvalidPeriod("to must be after from")
        if end - start > MAX_PERIOD:
            raise InvalidPeriod(f"the period is longer than {MAX_PERIOD.days} days: ask for several periods")
        return cls(start, end)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True)
class Grouping:
    """The group_by keys: any of DIMENSIONS, in the order asked, and at most one time bucket (last)."""

    dimensions: tuple[str, ...] = ()
    bucket: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return self.dimensions + ((self.bucket,) if self.bucket else ())

    @classmethod
    def parse(cls, values: Iterable[str] | None) -> Grouping:
        """`["channel,language", "month"]` (comma-separated, repeated, or both) → Grouping."""
        names = [name.strip() for value in values or () for name in value.split(",") if name.strip()]
        allowed = [*DIMENSIONS, *TIME_BUCKETS]
        unknown = [name for name in names if name not in allowed]
        buckets = list(dict.fromkeys(name for name in names if name in TIME_BUCKETS))
        if len(buckets) > 1:
            unknown += buckets  # one time bucket at a time
        if unknown:
            raise UnknownGrouping(unknown, allowed)
        return cls(tuple(dict.fromkeys(name for name in names if name in DIMENSIONS)), buckets[0] if buckets else None)


# --- the dialects' date arithmetic -------------------------------------------------------------------------------


class _Dialect:
    """The few date functions SQLite and PostgreSQL spell differently. Constants are literal SQL, not parameters:
    PostgreSQL sees `date_trunc($1, …)` in SELECT and `date_trunc($3, …)` in GROUP BY as different expressions."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"

    def bucket(self, unit: str, moment: Sql, *, is_date: bool = False) -> ColumnElement[Any]:
        """The first day (UTC) of the day, ISO week (from Monday) or month `moment` falls in: YYYY-MM-DD text on
        SQLite, a timestamp on PostgreSQL (written as text once grouped: `_label`)."""
        if self.postgres:
            utc = cast(moment, DateTime) if is_date else func.timezone(literal_column("'UTC'"), moment)
            return func.date_trunc(literal_column(f"'{unit}'"), utc)
        if unit == "day":
            return func.date(moment)
        if unit == "week":
            return func.date(moment, literal_column("'-6 days'"), literal_column("'weekday 1'"))
        return func.strftime(literal_column("'%Y-%m-01'"), moment)

    def utc_date(self, moment: Sql) -> ColumnElement[Any]:
        if self.postgres:
            return cast(func.timezone(literal_column("'UTC'"), moment), Date)
        return func.date(moment)

    def seconds_between(self, later: Sql, earlier: Sql) -> ColumnElement[Any]:
        if self.postgres:
            return extract("epoch", later - earlier)
        return cast(func.strftime(literal_column("'%s'"), later), Integer) - cast(
            func.strftime(literal_column("'%s'"), earlier), Integer
        )

    def whole_steps_between(self, later: Sql, earlier: Sql, days: int) -> ColumnElement[Any]:
        """How many whole `days`-long steps lie between two instants (later >= earlier)."""
        seconds: ColumnElement[Any] = literal_column(str(days * 86400))
        if self.postgres:
            return cast(func.floor(extract("epoch", later - earlier) / seconds), Integer)
        return self.seconds_between(later, earlier) / seconds  # integers: SQLite divides whole


# --- the report --------------------------------------------------------------------------------------------------


@dataclass
class _Group:
    """What the queries found for one key, before the rates are derived."""

    counts: Counter[str] = field(default_factory=Counter)
    money: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    handoffs_by_reason: Counter[str] = field(default_factory=Counter)
    handed_over_by_reason: Counter[str] = field(default_factory=Counter)
    reply_seconds: float = 0.0
    liquidation: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    days: float = 0.0


# The per-account export's columns (docs/kpis.md, "Per-account export").
OUTCOME_COLUMNS = (
    "reference",
    "placed_at",
    "currency",
    "language",
    "first_channel",
    "hardship_reason",
    "status_now",
    "amount_placed_minor",
    "amount_recovered_minor",
    "amount_outstanding_minor",
    "cured_at",
    "first_debtor_message_at",
    "verified_at",
    "commitments",
    "plans_kept",
    "plans_broken",
    "instalments_due",
    "instalments_paid_on_time",
    "disputes",
    "handoffs",
    "opt_outs",
    "vulnerability_flags",
)
# Rows fetched and written at a time by the streaming export.
OUTCOME_BATCH = 500


def report(session: Session, creditor_id: int, period: Period, grouping: Grouping, now: dt.datetime | None = None) -> KpiReport:
    """The creditor's KPIs over `period`, one group per key found (every bucket when a time bucket is asked)."""
    return _Report(session, creditor_id, period, grouping, now or utcnow()).build()


class _Report:
    def __init__(self, session: Session, creditor_id: int, period: Period, grouping: Grouping, now: dt.datetime) -> None:
        self.session = session
        self.creditor_id = creditor_id
        self.period = period
        self.grouping = grouping
        self.now = now
        self.sql = _Dialect(session.get_bind().dialect.name)
        if self.sql.postgres:
            # PostgreSQL compiles large plans to machine code first: on these aggregates the compiling took longer
            # than the query (1.8 s of 3.2 s at 2 million messages). For this transaction only.
            session.execute(text("SET LOCAL jit = off"))
        self.groups: defaultdict[Key, _Group] = defaultdict(_Group)
        # Stocks at `from`, per key without its time bucket.
        self.opening_outstanding: defaultdict[Key, Counter[str]] = defaultdict(Counter)
        self.opening_open: Counter[Key] = Counter()
        self._first_channel: Any = None
        self._account_hardship: Any = None
        self._conversation_hardship: Any = None

    # --- keys ----------------------------------------------------------------------------------------------

    def _bucket(self, moment: Sql, *, is_date: bool = False) -> ColumnElement[Any] | None:
        return self.sql.bucket(self.grouping.bucket, moment, is_date=is_date) if self.grouping.bucket else None

    def _in_period(self, moment: Any) -> ColumnElement[bool]:
        return and_(moment >= self.period.start, moment < self.period.end)

    def _labelled(self, dimensions: list[ColumnElement[Any]], bucket: ColumnElement[Any] | None) -> list[Any]:
        keys = dimensions + ([bucket] if bucket is not None else [])
        return [key.label(f"k{i}") for i, key in enumerate(keys)]

    def _conversation_keys(self, c: Any, a: Any, bucket: ColumnElement[Any] | None) -> list[Any]:
        """Keys of a fact that happened in a conversation `c` (possibly none) about account `a` (possibly none)."""
        values: dict[str, ColumnElement[Any]] = {
            "channel": c.channel,
            "language": func.coalesce(c.language, a.language),
        }
        if "hardship_reason" in self.grouping.dimensions:
            values["hardship_reason"] = func.coalesce(
                self.conversation_hardship.c.reason, self.account_hardship.c.reason, literal_column(f"'{NO_HARDSHIP}'")
            )
        return self._labelled([values[name] for name in self.grouping.dimensions], bucket)

    def _with_conversation_dims(self, statement: Select[Any], c: Any, a: Any) -> Select[Any]:
        if "hardship_reason" in self.grouping.dimensions:
            statement = statement.outerjoin(
                self.conversation_hardship, self.conversation_hardship.c.conversation_id == c.id
            ).outerjoin(self.account_hardship, self.account_hardship.c.account_id == a.id)
        return statement

    def _account_keys(self, a: Any, bucket: ColumnElement[Any] | None) -> list[Any]:
        """Keys of a fact of account `a`: its language, its first conversation's channel, its hardship reason."""
        values: dict[str, Any] = {"language": a.language}
        if "channel" in self.grouping.dimensions:
            values["channel"] = self.first_channel.c.channel
        if "hardship_reason" in self.grouping.dimensions:
            values["hardship_reason"] = func.coalesce(self.account_hardship.c.reason, literal_column(f"'{NO_HARDSHIP}'"))
        return self._labelled([values[name] for name in self.grouping.dimensions], bucket)

    def _with_account_dims(self, statement: Select[Any], a: Any) -> Select[Any]:
        if "channel" in self.grouping.dimensions:
            statement = statement.outerjoin(self.first_channel, self.first_channel.c.account_id == a.id)
        if "hardship_reason" in self.grouping.dimensions:
            statement = statement.outerjoin(self.account_hardship, self.account_hardship.c.account_id == a.id)
        return statement

    # Per account or conversation, a value of its first or latest row: SQLite indexes a subquery it joins to only
    # on a plain column, so the owner is the account's own id (a join), never coalesce(...) of two columns.

    @property
    def first_channel(self) -> Any:
        """Per account, the channel of the first conversation about it (verified or on its number)."""
        if self._first_channel is None:
            owner = aliased(Account)
            ranked = (
                select(
                    owner.id.label("account_id"),
                    Conversation.channel.label("channel"),
                    func.row_number()
                    .over(partition_by=owner.id, order_by=(Conversation.created_at, Conversation.id))
                    .label("rank"),
                )
                .join(owner, self._account_of(owner, Conversation.account_id, Conversation.candidate_account_id))
                .where(Conversation.creditor_id == self.creditor_id)
                .subquery()
            )
            self._first_channel = _first_of(ranked, "account_id", ranked.c.channel, "first_channel")
        return self._first_channel

    def _latest_hardship(self, ranked_by: Any, name: str, *joins: tuple[Any, Any]) -> Any:
        reason = func.coalesce(Signal.detail, literal_column(f"'{UNSPECIFIED_HARDSHIP}'"))
        statement = select(
            ranked_by.label(name),
            reason.label("reason"),
            func.row_number().over(partition_by=ranked_by, order_by=(Signal.created_at.desc(), Signal.id.desc())).label("rank"),
        ).join(Conversation, Conversation.id == Signal.conversation_id)
        for table, condition in joins:
            statement = statement.join(table, condition)
        ranked = statement.where(Signal.kind == "hardship", Conversation.creditor_id == self.creditor_id).subquery()
        return _first_of(ranked, name, ranked.c.reason, f"hardship_by_{name}")

    @property
    def account_hardship(self) -> Any:
        """Per account, the reason of its latest hardship signal (said before verification included)."""
        if self._account_hardship is None:
            owner = aliased(Account)
            self._account_hardship = self._latest_hardship(
                owner.id, "account_id", (owner, self._account_of(owner, Signal.account_id, Conversation.account_id))
            )
        return self._account_hardship

    @property
    def conversation_hardship(self) -> Any:
        """Per conversation, the reason of its latest hardship signal."""
        if self._conversation_hardship is None:
            self._conversation_hardship = self._latest_hardship(Signal.conversation_id, "conversation_id")
        return self._conversation_hardship

    def _account_of(self, a: Any, *ids: Any) -> ColumnElement[bool]:
        """Join condition: the first of `ids` that is set, when it is one of this creditor's accounts."""
        return and_(a.id == (func.coalesce(*ids) if len(ids) > 1 else ids[0]), a.creditor_id == self.creditor_id)

    def _run(self, statement: Select[Any]) -> list[tuple[Key, Any]]:
        width = len(self.grouping.keys)
        return [(tuple(_label(value) for value in row[:width]), row[width:]) for row in self.session.execute(statement)]

    # --- the fact families ---------------------------------------------------------------------------------

    def build(self) -> KpiReport:
        self._placements()
        self._collections()
        self._opening_stocks()
        self._cures()
        self._liquidation()
        self._active_conversations()
        self._handoff_rate_by_reason()
        self._commitments()
        self._plans_ended()
        self._instalments()
        self._events()
        self._handoffs()
        self._messages()
        return self._assemble()

    def _payments_per_account(self) -> Any:
        """Per account: what payments took off what it owes (ever, before `to`, since `from`), and when the
        latest payment that took something off was made (a payment dated before the placement counts then)."""
        applied = Payment.balance_applied_minor + Payment.fees_applied_minor
        moment = self._payment_moment(Account)
        return (
            select(
                Payment.account_id.label("account_id"),
                func.sum(applied).label("applied"),
                func.sum(case((moment < self.period.end, applied), else_=0)).label("applied_before_end"),
                func.sum(case((moment >= self.period.start, applied), else_=0)).label("applied_since_start"),
                func.max(case((applied > 0, moment))).label("settled_at"),
            )
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.creditor_id == self.creditor_id)
            .group_by(Payment.account_id)
            .subquery("paid")
        )

    @staticmethod
    def _payment_moment(a: Any) -> ColumnElement[Any]:
        return type_coerce(case((Payment.paid_at < a.created_at, a.created_at), else_=Payment.paid_at), UTCDateTime)

    @staticmethod
    def _owed(a: Any) -> ColumnElement[Any]:
        return a.balance_minor + a.fees_minor

    def _placed(self, a: Any, paid: Any) -> ColumnElement[Any]:
        """What the account was placed for: what it owes now plus what payments took off it."""
        return self._owed(a) + func.coalesce(paid.c.applied, 0)

    def _in_collection(self, a: Any, paid: Any) -> ColumnElement[bool]:
        return and_(a.status != AccountStatus.CLOSED, self._placed(a, paid) > 0)

    def _placements(self) -> None:
        a, paid = aliased(Account), self._payments_per_account()
        keys = self._account_keys(a, self._bucket(a.created_at))
        statement = (
            select(
                *keys,
                a.currency,
                func.count(),
                func.sum(self._placed(a, paid)),
                func.sum(func.coalesce(paid.c.applied_before_end, 0)),
                func.count(case((self._in_collection(a, paid), 1))),
            )
            .select_from(a)
            .outerjoin(paid, paid.c.account_id == a.id)
            .where(a.creditor_id == self.creditor_id, self._in_period(a.created_at))
            .group_by(*keys, a.currency)
        )
        for key, (currency, count, placed, recovered, in_collection) in self._run(self._with_account_dims(statement, a)):
            group = self.groups[key]
            group.counts["accounts_placed"] += count
            group.counts["placed_in_collection"] += in_collection
            group.money["amount_placed_minor"][currency] += int(placed or 0)
            group.money["amount_recovered_minor"][currency] += int(recovered or 0)

    def _collections(self) -> None:
        a = aliased(Account)
        moment = self._payment_moment(a)
        keys = self._account_keys(a, self._bucket(moment))
        statement = (
            select(*keys, a.currency, func.sum(Payment.balance_applied_minor + Payment.fees_applied_minor))
            .select_from(Payment)
            .join(a, a.id == Payment.account_id)
            .where(Payment.creditor_id == self.creditor_id, self._in_period(moment))
            .group_by(*keys, a.currency)
        )
        for key, (currency, collected) in self._run(self._with_account_dims(statement, a)):
            self.groups[key].money["amount_collected_minor"][currency] += int(collected or 0)

    def _cured_before(self, a: Any, paid: Any, moment: dt.datetime) -> ColumnElement[bool]:
        return and_(
            self._owed(a) == 0,
            a.status != AccountStatus.CLOSED,
            paid.c.settled_at.is_not(None),
            paid.c.settled_at < moment,
        )

    def _opening_stocks(self) -> None:
        """At `from`: what the accounts placed before it still owed, and how many were still in collection."""
        a, paid = aliased(Account), self._payments_per_account()
        keys = self._account_keys(a, None)
        owed_at_start = self._owed(a) + func.coalesce(paid.c.applied_since_start, 0)
        still_open = and_(self._in_collection(a, paid), not_(self._cured_before(a, paid, self.period.start)))
        statement = (
            select(*keys, a.currency, func.sum(owed_at_start), func.count(case((still_open, 1))))
            .select_from(a)
            .outerjoin(paid, paid.c.account_id == a.id)
            .where(a.creditor_id == self.creditor_id, a.created_at < self.period.start)
            .group_by(*keys, a.currency)
        )
        width = len(self.grouping.dimensions)
        for row in self.session.execute(self._with_account_dims(statement, a)):
            key, (currency, outstanding, still_open_count) = tuple(row[:width]), row[width:]
            self.opening_outstanding[key][currency] += int(outstanding or 0)
            self.opening_open[key] += still_open_count

    def _cures(self) -> None:
        a, paid = aliased(Account), self._payments_per_account()
        keys = self._account_keys(a, self._bucket(paid.c.settled_at))
        statement = (
            select(*keys, func.count())
            .select_from(a)
            .join(paid, paid.c.account_id == a.id)
            .where(
                a.creditor_id == self.creditor_id,
                self._owed(a) == 0,
                a.status != AccountStatus.CLOSED,
                self._in_period(paid.c.settled_at),
            )
            .group_by(*keys)
        )
        for key, (count,) in self._run(self._with_account_dims(statement, a)):
            self.groups[key].counts["accounts_cured"] += count

    def _liquidation(self) -> None:
        a = aliased(Account)
        moment = self._payment_moment(a)
        step = self.sql.whole_steps_between(moment, a.created_at, LIQUIDATION_STEP_DAYS).label("step")
        keys = self._account_keys(a, self._bucket(a.created_at))
        statement = (
            select(*keys, a.currency, step, func.sum(Payment.balance_applied_minor + Payment.fees_applied_minor))
            .select_from(Payment)
            .join(a, a.id == Payment.account_id)
            .where(Payment.creditor_id == self.creditor_id, self._in_period(a.created_at), moment < self.period.end)
            .group_by(*keys, a.currency, step)
        )
        for key, (currency, index, amount) in self._run(self._with_account_dims(statement, a)):
            self.groups[key].liquidation[currency][int(index)] += int(amount or 0)

    def _active(self) -> Any:
        """The conversations in which the debtor wrote during the period (per time bucket when asked)."""
        moment = Message.created_at
        columns: list[Any] = [Message.conversation_id.label("conversation_id")]
        bucket = self._bucket(moment)
        if bucket is not None:
            columns.append(bucket.label("bucket"))
        return (
            select(*columns)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.creditor_id == self.creditor_id,
                Message.direction == Direction.INBOUND,
                self._in_period(moment),
            )
            .distinct()
            .subquery("active")
        )

    def _in_group(self, active: Any, moment: Any, *, is_date: bool = False) -> ColumnElement[bool]:
        """`moment` falls in the period, and in the active row's bucket when there are buckets."""
        condition = self._in_period(moment)
        bucket = self._bucket(moment, is_date=is_date)
        return condition if bucket is None else and_(condition, bucket == active.c.bucket)

    def _active_conversations(self) -> None:
        active = self._active()
        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, active.c.bucket if self.grouping.bucket else None)
        verified = self._in_group(active, c.verified_at)
        agreed = self._per_conversation(Commitment.conversation_id, Commitment.agreed_at, by_bot=Commitment.recorded_by == BOT)
        handed_over = self._per_conversation(Handoff.conversation_id, Handoff.created_at)
        ever_handed_over = self._per_conversation(Handoff.conversation_id, Handoff.created_at, ever=True)
        statement = (
            select(
                *keys,
                func.count(),
                func.count(distinct(a.id)),
                func.count(distinct(case((verified, a.id)))),
                func.count(case((verified, 1))),
                func.count(case((and_(verified, agreed.c.n.is_not(None)), 1))),
                func.count(handed_over.c.n),
                func.count(case((and_(agreed.c.by_bot > 0, ever_handed_over.c.n.is_(None)), 1))),
            )
            .select_from(active)
            .join(c, c.id == active.c.conversation_id)
            .outerjoin(a, self._account_of(a, c.account_id, c.candidate_account_id))
            .outerjoin(agreed, self._same_conversation(agreed, active))
            .outerjoin(handed_over, self._same_conversation(handed_over, active))
            .outerjoin(ever_handed_over, ever_handed_over.c.conversation_id == active.c.conversation_id)
            .group_by(*keys)
        )
        names = (
            "conversations",
            "accounts_contacted",
            "accounts_verified",
            "verified_conversations",
            "verified_conversations_with_commitment",
            "conversations_handed_over",
            "conversations_resolved_without_person",
        )
        for key, values in self._run(self._with_conversation_dims(statement, c, a)):
            self.groups[key].counts.update(dict(zip(names, values)))

    def _per_conversation(self, conversation_id: Sql, moment: Sql, *, ever: bool = False, by_bot: Any = None) -> Any:
        """Per conversation of the creditor (and time bucket): how many rows happened in the period (`ever`:
        before its end), and how many of them `by_bot`. A join, not an EXISTS per conversation: one pass."""
        columns: list[Any] = [conversation_id.label("conversation_id"), func.count().label("n")]
        group_by: list[Any] = [conversation_id]
        bucket = None if ever else self._bucket(moment)
        if bucket is not None:
            columns.append(bucket.label("bucket"))
            group_by.append(bucket)
        if by_bot is not None:
            columns.append(func.count(case((by_bot, 1))).label("by_bot"))
        return (
            select(*columns)
            .join(Conversation, Conversation.id == conversation_id)
            .where(Conversation.creditor_id == self.creditor_id, moment < self.period.end if ever else self._in_period(moment))
            .group_by(*group_by)
            .subquery()
        )

    def _same_conversation(self, facts: Any, active: Any) -> ColumnElement[bool]:
        same = facts.c.conversation_id == active.c.conversation_id
        return and_(same, facts.c.bucket == active.c.bucket) if self.grouping.bucket else same

    def _handoff_rate_by_reason(self) -> None:
        """Conversations handed over in the period for each reason, among those the debtor wrote in (then): driven
        by the handoffs, few, each looking for a debtor message of its conversation."""
        c, a = aliased(Conversation), aliased(Account)
        written = aliased(Message)
        moment = Handoff.created_at
        debtor_wrote = exists().where(
            written.conversation_id == Handoff.conversation_id,
            written.direction == Direction.INBOUND,
            self._in_period(written.created_at),
        )
        bucket = None
        if self.grouping.bucket:  # and in the handoff's bucket
            bucket = self.sql.bucket(self.grouping.bucket, moment)
            debtor_wrote = debtor_wrote.where(self.sql.bucket(self.grouping.bucket, written.created_at) == bucket)
        keys = self._conversation_keys(c, a, bucket)
        statement = (
            select(*keys, Handoff.reason, func.count(distinct(c.id)))
            .select_from(Handoff)
            .join(c, c.id == Handoff.conversation_id)
            .outerjoin(a, self._account_of(a, Handoff.account_id, c.account_id, c.candidate_account_id))
            .where(c.creditor_id == self.creditor_id, self._in_period(moment), debtor_wrote)
            .group_by(*keys, Handoff.reason)
        )
        for key, (reason, count) in self._run(self._with_conversation_dims(statement, c, a)):
            self.groups[key].handed_over_by_reason[reason] += count

    def _commitments(self) -> None:
        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Commitment.agreed_at))
        statement = (
            select(*keys, func.count())
            .select_from(Commitment)
            .join(a, self._account_of(a, Commitment.account_id))
            .outerjoin(c, c.id == Commitment.conversation_id)
            .where(self._in_period(Commitment.agreed_at))
            .group_by(*keys)
        )
        for key, (count,) in self._run(self._with_conversation_dims(statement, c, a)):
            self.groups[key].counts["commitments"] += count

    def _plans_ended(self) -> None:
        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Commitment.ended_at))
        statement = (
            select(*keys, Commitment.status, func.count())
            .select_from(Commitment)
            .join(a, self._account_of(a, Commitment.account_id))
            .outerjoin(c, c.id == Commitment.conversation_id)
            .where(self._in_period(Commitment.ended_at))
            .group_by(*keys, Commitment.status)
        )
        for key, (status, count) in self._run(self._with_conversation_dims(statement, c, a)):
            self.groups[key].counts[f"plans_{status}"] += count

    def _instalments(self) -> None:
        """Instalments whose agreed due date (a UTC day) fell in the period and is over, on plans still running
        that day; paid on time when payments made by the end of that day covered them (and still do)."""
        c, a = aliased(Conversation), aliased(Account)
        agreed, on_time, paid_in_full, due = self._instalment_terms(_day_of(self.period.start))
        keys = self._conversation_keys(c, a, self._bucket(agreed, is_date=True))
        statement = (
            select(*keys, func.count(), func.count(case((on_time, 1))), func.count(case((paid_in_full, 1))))
            .select_from(Instalment)
            .join(Commitment, Commitment.id == Instalment.commitment_id)
            .join(a, self._account_of(a, Commitment.account_id))
            .outerjoin(c, c.id == Commitment.conversation_id)
            .where(due)
            .group_by(*keys)
        )
        for key, (due, paid_on_time, paid) in self._run(self._with_conversation_dims(statement, c, a)):
            counts = self.groups[key].counts
            counts["instalments_due"] += due
            counts["instalments_paid_on_time"] += paid_on_time
            counts["instalments_paid_late"] += paid - paid_on_time

    def _instalment_terms(
        self, first_day: dt.date | None
    ) -> tuple[ColumnElement[Any], ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
        """Over Instalment and its Commitment: the agreed due date, paid on time, paid in full, and whether it
        fell due from `first_day` (None: ever) to the period's end and by now, on a plan still running then."""
        agreed = func.coalesce(Instalment.original_due_date, Instalment.due_date)
        last_day = min(_day_of(self.period.end), self.now.astimezone(UTC).date())  # excluded: not over yet
        paid_by_due_date = (
            select(func.coalesce(func.sum(Allocation.amount_minor), 0))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Allocation.instalment_id == Instalment.id, self.sql.utc_date(Payment.paid_at) <= agreed)
            .scalar_subquery()
        )
        paid_in_full = Instalment.paid_minor >= Instalment.amount_minor
        on_time = and_(paid_in_full, paid_by_due_date >= Instalment.amount_minor)
        still_planned = or_(
            Commitment.ended_at.is_(None),
            Commitment.status == CommitmentStatus.KEPT,
            self.sql.utc_date(Commitment.ended_at) > agreed,
        )
        due = and_(agreed < last_day, still_planned)
        if first_day is not None:
            due = and_(agreed >= first_day, due)
        return agreed, on_time, paid_in_full, due

    def _events(self) -> None:
        """Disputes, opt-outs, vulnerability flags and complaints, each counted when it was recorded."""
        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Dispute.created_at))
        disputes = (
            select(*keys, func.count())
            .select_from(Dispute)
            .join(a, self._account_of(a, Dispute.account_id))
            .outerjoin(c, c.id == Dispute.conversation_id)
            .where(self._in_period(Dispute.created_at))
            .group_by(*keys)
        )
        for key, (count,) in self._run(self._with_conversation_dims(disputes, c, a)):
            self.groups[key].counts["disputes"] += count

        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Consent.created_at))
        opt_outs = (
            select(*keys, func.count())
            .select_from(Consent)
            .outerjoin(c, c.id == Consent.conversation_id)
            .outerjoin(a, self._account_of(a, Consent.account_id, c.account_id, c.candidate_account_id))
            .where(
                Consent.kind == ConsentKind.OPT_OUT,
                self._in_period(Consent.created_at),
                or_(c.creditor_id == self.creditor_id, and_(c.id.is_(None), a.id.is_not(None))),
            )
            .group_by(*keys)
        )
        for key, (count,) in self._run(self._with_conversation_dims(opt_outs, c, a)):
            self.groups[key].counts["opt_outs"] += count

        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Signal.created_at))
        signals = (
            select(*keys, Signal.kind, func.count())
            .select_from(Signal)
            .join(c, c.id == Signal.conversation_id)
            .outerjoin(a, self._account_of(a, Signal.account_id, c.account_id, c.candidate_account_id))
            .where(
                c.creditor_id == self.creditor_id,
                Signal.kind.in_(("vulnerability", "complaint")),
                self._in_period(Signal.created_at),
            )
            .group_by(*keys, Signal.kind)
        )
        names = {"vulnerability": "vulnerability_flags", "complaint": "complaints"}
        for key, (kind, count) in self._run(self._with_conversation_dims(signals, c, a)):
            self.groups[key].counts[names[kind]] += count

    def _handoffs(self) -> None:
        """Handoffs made in the period, per reason, and how long the agent took to write first (before `to`)."""
        c, a = aliased(Conversation), aliased(Account)
        reply = aliased(Message)
        first_reply = (
            select(func.min(reply.created_at))
            .where(
                reply.conversation_id == Handoff.conversation_id,
                reply.author == Author.AGENT,
                reply.created_at >= Handoff.created_at,
                reply.created_at < self.period.end,
                or_(Handoff.closed_at.is_(None), reply.created_at <= Handoff.closed_at),
            )
            .scalar_subquery()
        )
        keys = self._conversation_keys(c, a, self._bucket(Handoff.created_at))
        each = (
            select(*keys, Handoff.reason.label("reason"), self.sql.seconds_between(first_reply, Handoff.created_at).label("wait"))
            .select_from(Handoff)
            .join(c, c.id == Handoff.conversation_id)
            .outerjoin(a, self._account_of(a, Handoff.account_id, c.account_id, c.candidate_account_id))
            .where(c.creditor_id == self.creditor_id, self._in_period(Handoff.created_at))
        )
        handoffs = self._with_conversation_dims(each, c, a).subquery("handoff")
        outer_keys = [handoffs.c[f"k{i}"] for i in range(len(self.grouping.keys))]
        statement = select(
            *outer_keys,
            handoffs.c.reason,
            func.count(),
            func.count(handoffs.c.wait),
            func.coalesce(func.sum(handoffs.c.wait), 0),
        ).group_by(*outer_keys, handoffs.c.reason)
        for key, (reason, count, answered, waited) in self._run(statement):
            group = self.groups[key]
            group.counts["handoffs"] += count
            group.handoffs_by_reason[reason] += count
            group.counts["handoffs_answered"] += answered
            group.reply_seconds += float(waited)

    def _messages(self) -> None:
        c, a = aliased(Conversation), aliased(Account)
        keys = self._conversation_keys(c, a, self._bucket(Message.created_at))
        billed = and_(Message.channel == Channel.SMS, Message.direction == Direction.OUTBOUND, Message.sent_at.is_not(None))
        statement = (
            select(*keys, func.count(), func.coalesce(func.sum(case((billed, func.coalesce(Message.segments, 0)), else_=0)), 0))
            .select_from(Message)
            .join(c, c.id == Message.conversation_id)
            .outerjoin(a, self._account_of(a, c.account_id, c.candidate_account_id))
            .where(c.creditor_id == self.creditor_id, self._in_period(Message.created_at))
            .group_by(*keys)
        )
        for key, (count, segments) in self._run(self._with_conversation_dims(statement, c, a)):
            group = self.groups[key]
            group.counts["messages"] += count
            group.counts["sms_segments"] += int(segments or 0)

    # --- the per-account export ----------------------------------------------------------------------------

    def account_outcomes(self) -> Select[Any]:
        """One row per account placed in the period, with what happened to it by `to` (OUTCOME_COLUMNS)."""
        a, paid, end = aliased(Account), self._payments_per_account(), self.period.end
        about = aliased(Account)
        first_message = (
            select(about.id.label("account_id"), func.min(Message.created_at).label("at"))
            .select_from(Conversation)
            .join(Message, Message.conversation_id == Conversation.id)
            .join(about, self._account_of(about, Conversation.account_id, Conversation.candidate_account_id))
            .where(Conversation.creditor_id == self.creditor_id, Message.direction == Direction.INBOUND, Message.created_at < end)
            .group_by(about.id)
            .subquery("first_message")
        )
        verified = (
            select(Conversation.account_id.label("account_id"), func.min(Conversation.verified_at).label("at"))
            .where(Conversation.creditor_id == self.creditor_id, Conversation.verified_at < end)
            .group_by(Conversation.account_id)
            .subquery("verified")
        )
        ended_before_end = and_(Commitment.ended_at.is_not(None), Commitment.ended_at < end)
        plans = (
            select(
                Commitment.account_id.label("account_id"),
                func.count(case((Commitment.agreed_at < end, 1))).label("agreed"),
                func.count(case((and_(ended_before_end, Commitment.status == CommitmentStatus.KEPT), 1))).label("kept"),
                func.count(case((and_(ended_before_end, Commitment.status == CommitmentStatus.BROKEN), 1))).label("broken"),
            )
            .join(Account, Account.id == Commitment.account_id)
            .where(Account.creditor_id == self.creditor_id)
            .group_by(Commitment.account_id)
            .subquery("plans")
        )
        _, on_time, _, due = self._instalment_terms(None)
        instalments = (
            select(
                Commitment.account_id.label("account_id"),
                func.count().label("due"),
                func.count(case((on_time, 1))).label("on_time"),
            )
            .select_from(Instalment)
            .join(Commitment, Commitment.id == Instalment.commitment_id)
            .join(Account, Account.id == Commitment.account_id)
            .where(Account.creditor_id == self.creditor_id, due)
            .group_by(Commitment.account_id)
            .subquery("instalments")
        )

        def count_per_account(model: Any, *conditions: Any) -> Any:
            """Rows of `model` recorded before `to`, per account: its own, else its conversation's."""
            owner, conversation = aliased(Account), aliased(Conversation)
            about = (model.account_id, conversation.account_id, conversation.candidate_account_id)
            return (
                select(owner.id.label("account_id"), func.count().label("n"))
                .select_from(model)
                .outerjoin(conversation, conversation.id == model.conversation_id)
                .join(owner, self._account_of(owner, *about))
                .where(model.created_at < end, *conditions)
                .group_by(owner.id)
                .subquery()
            )

        disputes = count_per_account(Dispute)
        opt_outs = count_per_account(Consent, Consent.kind == ConsentKind.OPT_OUT)
        handoffs = count_per_account(Handoff)
        flags = count_per_account(Signal, Signal.kind == "vulnerability")
        placed = self._placed(a, paid)
        recovered = func.coalesce(paid.c.applied_before_end, 0)
        cured_at = case((and_(self._owed(a) == 0, a.status != AccountStatus.CLOSED, paid.c.settled_at < end), paid.c.settled_at))
        statement = (
            select(
                a.reference,
                a.created_at,
                a.currency,
                a.language,
                self.first_channel.c.channel,
                func.coalesce(self.account_hardship.c.reason, literal_column(f"'{NO_HARDSHIP}'")),
                a.status,
                placed,
                recovered,
                placed - recovered,
                type_coerce(cured_at, UTCDateTime),
                first_message.c.at,
                verified.c.at,
                func.coalesce(plans.c.agreed, 0),
                func.coalesce(plans.c.kept, 0),
                func.coalesce(plans.c.broken, 0),
                func.coalesce(instalments.c.due, 0),
                func.coalesce(instalments.c.on_time, 0),
                *(func.coalesce(counted.c.n, 0) for counted in (disputes, handoffs, opt_outs, flags)),
            )
            .select_from(a)
            .outerjoin(paid, paid.c.account_id == a.id)
            .outerjoin(self.first_channel, self.first_channel.c.account_id == a.id)
            .outerjoin(self.account_hardship, self.account_hardship.c.account_id == a.id)
            .outerjoin(first_message, first_message.c.account_id == a.id)
            .outerjoin(verified, verified.c.account_id == a.id)
            .outerjoin(plans, plans.c.account_id == a.id)
            .outerjoin(instalments, instalments.c.account_id == a.id)
            .where(a.creditor_id == self.creditor_id, self._in_period(a.created_at))
            .order_by(a.created_at, a.id)
        )
        for counted in (disputes, handoffs, opt_outs, flags):
            statement = statement.outerjoin(counted, counted.c.account_id == a.id)
        return statement

    # --- from found facts to the report ------------------------------------------------------------------

    def _assemble(self) -> KpiReport:
        if self.grouping.bucket:
            buckets = _buckets(self.period, self.grouping.bucket)
            heads = {key[:-1] for key in self.groups} | set(self.opening_outstanding) | set(self.opening_open)
            if not self.grouping.dimensions:
                heads.add(())
            for head in heads:
                outstanding = Counter(self.opening_outstanding[head])
                still_open = self.opening_open[head]
                for label, days in buckets:
                    group = self.groups[(*head, label)]
                    group.days = days
                    still_open = self._roll(group, outstanding, still_open)
        else:
            heads = set(self.groups) | set(self.opening_outstanding) | set(self.opening_open)
            if not self.grouping.dimensions:
                heads.add(())
            for head in heads:
                group = self.groups[head]
                group.days = self.period.days
                self._roll(group, Counter(self.opening_outstanding[head]), self.opening_open[head])
        groups = [
            _kpis(dict(zip(self.grouping.keys, key)), group)
            for key, group in sorted(self.groups.items(), key=lambda item: _sortable(item[0]))
        ]
        return KpiReport.model_validate(
            {"from": self.period.start, "to": self.period.end, "group_by": list(self.grouping.keys), "groups": groups}
        )

    @staticmethod
    def _roll(group: _Group, outstanding: Counter[str], still_open: int) -> int:
        """Carries the stocks over one group's period: `outstanding` is updated in place; answers the accounts
        still in collection at its end."""
        money = group.money
        for currency in set(outstanding) | set(money["amount_placed_minor"]) | set(money["amount_collected_minor"]):
            outstanding[currency] += money["amount_placed_minor"][currency] - money["amount_collected_minor"][currency]
        money["amount_outstanding_minor"] = Counter(dict(outstanding))
        in_collection = still_open + group.counts["placed_in_collection"]
        group.counts["accounts_in_collection"] = in_collection
        return in_collection - group.counts["accounts_cured"]


def _first_of(ranked: Any, owner: str, value: Any, name: str) -> Any:
    """One row per owner of a ranked subquery, with the value ranked first: an aggregate over the ranked rows
    rather than `WHERE rank = 1`, which SQLite would scan again for every row joined to it."""
    first = func.max(case((ranked.c.rank == 1, value)))
    return select(ranked.c[owner], first.label(value.name)).group_by(ranked.c[owner]).subquery(name)


def _label(value: Any) -> str | None:
    """A key's value as the report shows it: a bucket's first day as YYYY-MM-DD."""
    return value.date().isoformat() if isinstance(value, dt.datetime) else value


def _day_of(moment: dt.datetime) -> dt.date:
    """The first UTC day that starts at or after `moment`."""
    utc = moment.astimezone(UTC)
    return utc.date() if utc.time() == dt.time(0) else utc.date() + dt.timedelta(days=1)


def _buckets(period: Period, unit: str) -> list[tuple[str, float]]:
    """Every bucket the period touches: its label (first UTC day) and how many of its days lie in the period."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    day = start.date()
    if unit == "week":
        day -= dt.timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    found: list[tuple[str, float]] = []
    while True:
        begins = dt.datetime.combine(day, dt.time(0), UTC)
        if begins >= end:
            return found
        if unit == "day":
            following = day + dt.timedelta(days=1)
        elif unit == "week":
            following = day + dt.timedelta(days=7)
        else:
            following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        ends = dt.datetime.combine(following, dt.time(0), UTC)
        found.append((day.isoformat(), (min(ends, end) - max(begins, start)).total_seconds() / 86400))
        day = following


def _sortable(key: Key) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, value or "") for value in key)


def _ratio(numerator: float, denominator: float, scale: float = 1) -> float | None:
    return None if not denominator else numerator * scale / denominator


def _kpis(key: dict[str, str | None], group: _Group) -> KpiGroup:
    n, money = group.counts, group.money
    placed, recovered, outstanding = (
        money["amount_placed_minor"],
        money["amount_recovered_minor"],
        money["amount_outstanding_minor"],
    )
    conversations = n["conversations"]
    liquidation = {}
    for currency, steps in group.liquidation.items():
        points, total = [], 0
        for step in range(max(steps) + 1):
            total += steps[step]
            days = (step + 1) * LIQUIDATION_STEP_DAYS
            points.append(
                LiquidationPoint(
                    days_since_placement=days, amount_recovered_minor=total, recovery_rate=_ratio(total, placed[currency])
                )
            )
        liquidation[currency] = points
    return KpiGroup(
        key=key,
        accounts_placed=n["accounts_placed"],
        amount_placed_minor=dict(placed),
        amount_recovered_minor={currency: recovered[currency] for currency in placed},
        recovery_rate={currency: _ratio(recovered[currency], placed[currency]) for currency in placed},
        liquidation=liquidation,
        amount_collected_minor=dict(money["amount_collected_minor"]),
        amount_outstanding_minor=dict(outstanding),
        dso_days={currency: _ratio(outstanding[currency] * group.days, placed[currency]) for currency in outstanding},
        accounts_in_collection=n["accounts_in_collection"],
        accounts_cured=n["accounts_cured"],
        cure_rate=_ratio(n["accounts_cured"], n["accounts_in_collection"]),
        conversations=conversations,
        accounts_contacted=n["accounts_contacted"],
        accounts_verified=n["accounts_verified"],
        right_party_contact_rate=_ratio(n["accounts_verified"], n["accounts_contacted"]),
        verified_conversations=n["verified_conversations"],
        verified_conversations_with_commitment=n["verified_conversations_with_commitment"],
        promise_to_pay_rate=_ratio(n["verified_conversations_with_commitment"], n["verified_conversations"]),
        commitments=n["commitments"],
        instalments_due=n["instalments_due"],
        instalments_paid_on_time=n["instalments_paid_on_time"],
        instalments_paid_late=n["instalments_paid_late"],
        promise_kept_rate=_ratio(n["instalments_paid_on_time"], n["instalments_due"]),
        plans_kept=n["plans_kept"],
        plans_broken=n["plans_broken"],
        plans_replaced=n["plans_replaced"],
        plans_cancelled=n["plans_cancelled"],
        plan_kept_rate=_ratio(n["plans_kept"], n["plans_kept"] + n["plans_broken"]),
        disputes=n["disputes"],
        disputes_per_100_conversations=_ratio(n["disputes"], conversations, 100),
        vulnerability_flags=n["vulnerability_flags"],
        vulnerability_flags_per_100_conversations=_ratio(n["vulnerability_flags"], conversations, 100),
        opt_outs=n["opt_outs"],
        opt_outs_per_100_conversations=_ratio(n["opt_outs"], conversations, 100),
        complaints=n["complaints"],
        complaints_per_100_conversations=_ratio(n["complaints"], conversations, 100),
        handoffs=n["handoffs"],
        handoffs_by_reason=dict(sorted(group.handoffs_by_reason.items())),
        conversations_handed_over=n["conversations_handed_over"],
        handoff_rate=_ratio(n["conversations_handed_over"], conversations),
        handoff_rate_by_reason={
            reason: _ratio(count, conversations) for reason, count in sorted(group.handed_over_by_reason.items())
        },
        handoffs_answered=n["handoffs_answered"],
        agent_first_reply_seconds_avg=_ratio(group.reply_seconds, n["handoffs_answered"]),
        conversations_resolved_without_person=n["conversations_resolved_without_person"],
        resolved_without_person_rate=_ratio(n["conversations_resolved_without_person"], conversations),
        messages=n["messages"],
        sms_segments=n["sms_segments"],
        messages_per_resolution=_ratio(n["messages"], n["commitments"]),
        sms_segments_per_resolution=_ratio(n["sms_segments"], n["commitments"]),
    )


# --- CSV ----------------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def report_csv(kpis: KpiReport) -> str:
    """The report as CSV: one row per group, the group_by keys first, then every field of KpiGroup (those keyed by
    currency or reason as `field.EUR`, `field.complaint`), liquidation left out (it is a series)."""
    groups = [group.model_dump(exclude={"key", "liquidation"}) for group in kpis.groups]
    columns: list[tuple[str, str | None]] = []
    for name, annotation in KpiGroup.model_fields.items():
        if name in ("key", "liquidation"):
            continue
        if get_origin(annotation.annotation) is dict:
            subkeys = sorted({subkey for group in groups for subkey in group[name]})
            columns += [(name, subkey) for subkey in subkeys]
        else:
            columns.append((name, None))
    header = [*kpis.group_by, *(name if subkey is None else f"{name}.{subkey}" for name, subkey in columns)]
    rows = [
        [
            *(group.key.get(name) for name in kpis.group_by),
            *(values[name] if subkey is None else values[name].get(subkey) for name, subkey in columns),
        ]
        for group, values in zip(kpis.groups, groups)
    ]
    return _csv_text([header, *rows])


def account_outcomes_csv(creditor_id: int, period: Period, now: dt.datetime | None = None) -> Iterator[str]:
    """The per-account export as CSV text, a batch of rows at a time, read with its own session (a streamed
    response outlives the request's)."""
    yield _csv_text([OUTCOME_COLUMNS])
    with session_scope() as session:
        statement = _Report(session, creditor_id, period, Grouping(), now or utcnow()).account_outcomes()
        rows = session.execute(statement.execution_options(yield_per=OUTCOME_BATCH))
        for batch in rows.partitions():
            yield _csv_text(batch)
