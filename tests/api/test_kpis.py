"""The KPIs of docs/kpis.md on a seeded portfolio (tests/kpi_dataset.py tells its story): every expected figure
is worked out by hand from that story, here, in the comments beside it; none is computed by the code under test.
One test per KPI, then the groupings, the period's edges and the creditors' isolation. The same tests run on
PostgreSQL with TEST_DATABASE=postgresql (the `database` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest

from api.db import session_scope
from api.models import Creditor
from api.schemas.reports import KpiGroup, KpiReport
from api.services import kpis
from api.services.errors import InvalidPeriod, UnknownGrouping
from tests.kpi_dataset import MARCH, NOW, Portfolio, seed_portfolio

UTC = dt.timezone.utc


@pytest.fixture
def portfolio(database) -> Portfolio:
    return seed_portfolio()


def report(creditor: int, group_by: list[str] | None = None, period=MARCH, now: dt.datetime = NOW) -> KpiReport:
    with session_scope() as session:
        return kpis.report(session, creditor, kpis.Period.of(*period), kpis.Grouping.parse(group_by), now=now)


def march(portfolio: Portfolio) -> KpiGroup:
    (group,) = report(portfolio.alpha).groups
    assert group.key == {}
    return group


def by(groups: list[KpiGroup], name: str) -> dict[str | None, KpiGroup]:
    return {group.key[name]: group for group in groups}


# --- one test per KPI ---------------------------------------------------------------------------------------------


def test_accounts_placed_and_amount_placed(portfolio):
    group = march(portfolio)
    # A1 (03-02), A2 (03-05), A7 (03-08) and A4 (03-31 23:59:59); A5 at `to` is April's, A3 and A6 are older.
    assert group.accounts_placed == 4
    # A1 owes 40.00 after 60.00 paid: 100.00; A2 200.00 (+50 -50); A4 75.00 after 5.00: 80.00; A7 closed at 0.
    assert group.amount_placed_minor == {"EUR": 100_00 + 200_00 + 80_00 + 0}


def test_accounts_contacted(portfolio):
    group = march(portfolio)
    # Debtors wrote in March in C1 (A1), C2 (A2), C3 (A3: at 00:00:00, `from` itself), C6 (A6: its number,
    # unverified) and C7 (A7). C2's message at `to` and C3's of 02-28 do not count.
    assert group.conversations == 5
    assert group.accounts_contacted == 5


def test_right_party_contact_rate(portfolio):
    group = march(portfolio)
    # Verified in March: C1 (A1), C2 (A2), C7 (A7). C3 was verified in February, C6 never.
    assert group.accounts_verified == 3
    assert group.right_party_contact_rate == 3 / 5


def test_promise_to_pay_rate(portfolio):
    group = march(portfolio)
    assert group.verified_conversations == 3
    # C1 (K0 then K1) and C7 (K7) ended with a plan; C2 with a dispute.
    assert group.verified_conversations_with_commitment == 2
    assert group.promise_to_pay_rate == 2 / 3
    # K0, K1, K7; K3 was agreed 5 s before March, K6 in January.
    assert group.commitments == 3


def test_promise_kept_rate_over_instalments(portfolio):
    group = march(portfolio)
    # Due in March: I1 (03-10), I2 (03-20), I4 (03-15), I6 (03-01, its plan broken on 03-02). Not due: K0's
    # (replaced on 03-03, before 03-15), I5 (agreed for 02-20, moved to 03-25), I7 (after the break), K7's
    # (cancelled before 03-31), I3 (April).
    assert group.instalments_due == 4
    # I1 paid 03-10 18:00 (its due day); I4 paid 03-15 10:00 (its due day). I2 paid 04-05: late. I6 unpaid.
    assert group.instalments_paid_on_time == 2
    assert group.instalments_paid_late == 1
    assert group.promise_kept_rate == 2 / 4


def test_an_instalment_whose_due_day_is_not_over_is_not_due_yet(portfolio):
    (group,) = report(portfolio.alpha, now=dt.datetime(2026, 3, 16, 12, tzinfo=UTC)).groups
    # On 03-16: I6 (03-01), I1 (03-10), I4 (03-15) are due; I2 (03-20) not yet.
    assert (group.instalments_due, group.instalments_paid_on_time) == (3, 2)


def test_plan_kept_rate(portfolio):
    group = march(portfolio)
    # Ended in March: K3 kept (03-15), K6 broken (03-02), K0 replaced (03-03), K7 cancelled (03-09).
    assert (group.plans_kept, group.plans_broken, group.plans_replaced, group.plans_cancelled) == (1, 1, 1, 1)
    assert group.plan_kept_rate == 1 / (1 + 1)


def test_cure_rate(portfolio):
    group = march(portfolio)
    # In collection: A3 and A6 (placed before, owing on 03-01), A1, A2, A4 (placed in March); A7 is closed.
    assert group.accounts_in_collection == 2 + 3
    # A3 owes nothing since P4 on 03-15. A7 owes nothing too, but it was closed, not paid.
    assert group.accounts_cured == 1
    assert group.cure_rate == 1 / 5


def test_recovery_rate_and_amount_collected(portfolio):
    group = march(portfolio)
    # Of March's placements, paid by `to`: A1 30.00 (P1; P2 is April's), A2 50.00 - 50.00, A4 5.00 (dated 03-20,
    # before its placement: counted at the placement, 03-31 23:59:59).
    assert group.amount_recovered_minor == {"EUR": 30_00 + 0 + 5_00}
    assert group.recovery_rate == {"EUR": 35_00 / 380_00}
    # Paid in March on any account: the same 35.00 in euros; P4 took 400.00 off A3 (the 10.00 more is credit).
    # A6's payments at 02-28 23:59:59 and 04-01 00:00:00 are outside March.
    assert group.amount_collected_minor == {"EUR": 35_00, "GBP": 400_00}


def test_liquidation_over_time(portfolio):
    group = march(portfolio)
    # March's placements recovered everything they recovered by `to` within 30 days of their placement.
    assert [p.model_dump() for p in group.liquidation["EUR"]] == [
        {"days_since_placement": 30, "amount_recovered_minor": 35_00, "recovery_rate": 35_00 / 380_00}
    ]
    (feb_and_march,) = report(portfolio.alpha, period=(dt.datetime(2026, 2, 1, tzinfo=UTC), MARCH[1])).groups
    # A3 (GBP 500.00, placed 02-10 08:00): 100.00 ten days later (P3 02-20), 400.00 after 33 days (P4 03-15).
    assert [p.model_dump() for p in feb_and_march.liquidation["GBP"]] == [
        {"days_since_placement": 30, "amount_recovered_minor": 100_00, "recovery_rate": 100_00 / 500_00},
        {"days_since_placement": 60, "amount_recovered_minor": 500_00, "recovery_rate": 500_00 / 500_00},
    ]


def test_dso_on_placed_receivables(portfolio):
    group = march(portfolio)
    # Owed at `to`: A1 70.00 (100 - P1; P2 came in April), A2 200.00, A4 75.00, A6 290.00 (its 04-01 payment is
    # April's), A7 0; A3 owes nothing in GBP.
    assert group.amount_outstanding_minor == {"EUR": 70_00 + 200_00 + 75_00 + 290_00, "GBP": 0}
    # DSO = outstanding / placed in the period × days in the period (31); nothing placed in GBP: null.
    assert group.dso_days["EUR"] == pytest.approx(635_00 / 380_00 * 31)
    assert group.dso_days["GBP"] is None


def test_disputes_per_100_conversations(portfolio):
    group = march(portfolio)
    assert group.disputes == 2  # A2's (03-06) and A7's (03-08)
    assert group.disputes_per_100_conversations == pytest.approx(2 / 5 * 100)


def test_vulnerability_flags_per_100_conversations(portfolio):
    group = march(portfolio)
    assert group.vulnerability_flags == 1  # C6, 03-12
    assert group.vulnerability_flags_per_100_conversations == pytest.approx(1 / 5 * 100)


def test_opt_outs_per_100_conversations(portfolio):
    group = march(portfolio)
    assert group.opt_outs == 1  # C6 (03-12); C3's opt-out was a second before March
    assert group.opt_outs_per_100_conversations == pytest.approx(1 / 5 * 100)


def test_complaints_per_100_conversations(portfolio):
    group = march(portfolio)
    assert group.complaints == 1  # C2 at 03-06 10:07; the one at `to` is April's
    assert group.complaints_per_100_conversations == pytest.approx(1 / 5 * 100)


def test_handoff_rate_by_reason(portfolio):
    group = march(portfolio)
    assert group.handoffs == 3
    assert group.handoffs_by_reason == {"dispute": 1, "request_human": 1, "vulnerability": 1}
    # C2, C6 and C7 were handed to a person, of the 5 conversations.
    assert group.conversations_handed_over == 3
    assert group.handoff_rate == 3 / 5
    assert group.handoff_rate_by_reason == {"dispute": 1 / 5, "request_human": 1 / 5, "vulnerability": 1 / 5}


def test_time_to_first_agent_reply(portfolio):
    group = march(portfolio)
    # C2's handoff answered 10 minutes later, C6's 5 minutes later; C7's was closed before the agent wrote.
    assert group.handoffs_answered == 2
    assert group.agent_first_reply_seconds_avg == pytest.approx((600 + 300) / 2)


def test_share_of_conversations_resolved_without_a_person(portfolio):
    group = march(portfolio)
    # C1: plans recorded by the bot and no handoff. C7's plan was recorded by an agent; C2, C3, C6: no plan in March.
    assert group.conversations_resolved_without_person == 1
    assert group.resolved_without_person_rate == 1 / 5


def test_messages_and_sms_segments_per_resolution(portfolio):
    group = march(portfolio)
    # C1 5, C2 4 (not the one at `to`), C3 2 (not the one of 02-28), C6 4, C7 4.
    assert group.messages == 5 + 4 + 2 + 4 + 4
    # SMS sent: C1 2 + 1 segments (the 3-segment one was blocked, never sent), C3 1.
    assert group.sms_segments == 2 + 1 + 1
    # Resolutions are the commitments: 3.
    assert group.messages_per_resolution == 19 / 3
    assert group.sms_segments_per_resolution == 4 / 3


# --- groups --------------------------------------------------------------------------------------------------------


def test_grouped_by_channel_conversations_count_on_their_channel_and_accounts_on_their_first(portfolio):
    result = report(portfolio.alpha, ["channel"])
    assert result.group_by == ["channel"]
    groups = by(result.groups, "channel")
    assert list(groups) == ["sms", "webchat", "whatsapp", None]  # sorted, no channel last
    assert {k: g.conversations for k, g in groups.items()} == {"sms": 2, "webchat": 2, "whatsapp": 1, None: 0}
    assert {k: g.messages for k, g in groups.items()} == {"sms": 7, "webchat": 8, "whatsapp": 4, None: 0}
    assert {k: g.commitments for k, g in groups.items()} == {"sms": 2, "webchat": 1, "whatsapp": 0, None: 0}
    # Accounts by the channel of their first conversation: A1 sms; A2, A7 webchat; A4 none.
    assert {k: g.accounts_placed for k, g in groups.items()} == {"sms": 1, "webchat": 2, "whatsapp": 0, None: 1}
    # K6 was agreed outside any conversation.
    assert groups[None].plans_broken == 1
    assert groups["whatsapp"].opt_outs == 1 and groups["whatsapp"].opt_outs_per_100_conversations == 100.0


def test_grouped_by_language(portfolio):
    groups = by(report(portfolio.alpha, ["language"]).groups, "language")
    assert {k: g.accounts_placed for k, g in groups.items()} == {"en": 2, "fr": 2}
    assert groups["fr"].amount_placed_minor == {"EUR": 100_00 + 80_00}
    assert groups["en"].amount_placed_minor == {"EUR": 200_00 + 0}
    # en: C2, C3, C7; fr: C1, C6.
    assert {k: g.conversations for k, g in groups.items()} == {"en": 3, "fr": 2}


def test_grouped_by_hardship_reason_said_before_verification(portfolio):
    groups = by(report(portfolio.alpha, ["hardship_reason"]).groups, "hardship_reason")
    # A1's hardship was said in C1 before verification: A1, C1 and its plans are "job_loss".
    assert groups["job_loss"].accounts_placed == 1
    assert groups["job_loss"].commitments == 2
    assert groups["job_loss"].conversations == 1
    assert groups["none"].accounts_placed == 3 and groups["none"].commitments == 1


def test_grouped_by_two_keys(portfolio):
    result = report(portfolio.alpha, ["language,channel"])
    assert result.group_by == ["language", "channel"]
    keys = {(g.key["language"], g.key["channel"]): g.conversations for g in result.groups if g.conversations}
    assert keys == {("en", "sms"): 1, ("en", "webchat"): 2, ("fr", "sms"): 1, ("fr", "whatsapp"): 1}


def test_weekly_buckets_cover_the_period_and_carry_the_stocks(portfolio):
    result = report(portfolio.alpha, ["week"])
    weeks = by(result.groups, "week")
    # 2026-03-01 is a Sunday: the week of 02-23 touches March for one day.
    assert list(weeks) == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    assert [g.conversations for g in weeks.values()] == [1, 3, 1, 0, 0, 0]  # C3; C1, C2, C7; C6
    assert [g.accounts_placed for g in weeks.values()] == [0, 3, 0, 0, 0, 1]  # A1, A2, A7; A4
    # Outstanding at each week's end: A6 290.00 from the start; +100 +200 +0 placed, -30 (P1 03-10, the next
    # week), +-50 (A2); A4 +80 -5 in the last week.
    assert [g.amount_outstanding_minor["EUR"] for g in weeks.values()] == [29_000, 59_000, 56_000, 56_000, 56_000, 63_500]
    # The sum of the buckets is the month.
    assert sum(g.messages for g in weeks.values()) == 19


def test_monthly_buckets_over_two_months(portfolio):
    result = report(portfolio.alpha, ["month"], period=(dt.datetime(2026, 2, 1, tzinfo=UTC), MARCH[1]))
    months = by(result.groups, "month")
    assert list(months) == ["2026-02-01", "2026-03-01"]
    # A6 owed 300.00 on 02-01; February: A3 placed (GBP 500.00), P3 100.00, A6 paid 10.00 on 02-28 23:59:59.
    assert months["2026-02-01"].amount_outstanding_minor == {"EUR": 290_00, "GBP": 400_00}
    assert months["2026-03-01"].amount_outstanding_minor == {"EUR": 635_00, "GBP": 0}
    assert months["2026-02-01"].dso_days == {"EUR": None, "GBP": pytest.approx(400_00 / 500_00 * 28)}
    # In collection: A6 from the start, A3 placed in February; in March those two and A1, A2, A4.
    assert [(g.accounts_in_collection, g.accounts_cured) for g in months.values()] == [(2, 0), (5, 1)]


def test_daily_buckets(portfolio):
    result = report(portfolio.alpha, ["day"])
    days = by(result.groups, "day")
    assert len(days) == 31 and next(iter(days)) == "2026-03-01" and list(days)[-1] == "2026-03-31"
    assert days["2026-03-01"].conversations == 1 and days["2026-03-01"].instalments_due == 1  # C3; I6
    assert days["2026-03-15"].instalments_paid_on_time == 1  # I4
    assert days["2026-03-31"].accounts_placed == 1  # A4


# --- the period's edges, the creditors, the questions that cannot be answered ------------------------------------------


def test_a_fact_at_from_counts_and_one_at_to_does_not(portfolio):
    first_second = (MARCH[0], MARCH[0] + dt.timedelta(seconds=1))
    (group,) = report(portfolio.alpha, period=first_second).groups
    assert (group.conversations, group.messages) == (1, 1)  # C3's message at 00:00:00; its reply is at 00:00:05
    last_second = (MARCH[1] - dt.timedelta(seconds=1), MARCH[1])
    (group,) = report(portfolio.alpha, period=last_second).groups
    assert group.accounts_placed == 1  # A4 at 23:59:59; A5, C2's message and complaint, A6's payment: at `to`
    assert (group.messages, group.complaints, group.amount_collected_minor) == (0, 0, {"EUR": 5_00})


def test_the_same_instants_written_with_another_offset_give_the_same_report(portfolio):
    paris = dt.timezone(dt.timedelta(hours=1))
    shifted = (dt.datetime(2026, 3, 1, 1, tzinfo=paris), dt.datetime(2026, 4, 1, 1, tzinfo=paris))
    assert report(portfolio.alpha, period=shifted).groups == report(portfolio.alpha).groups


def test_another_creditors_facts_are_never_counted(portfolio):
    (beta,) = report(portfolio.beta).groups
    # Beta's B1: placed 999.00 (989.00 owed, 10.00 paid), one SMS conversation with everything in it.
    assert (beta.accounts_placed, beta.amount_placed_minor, beta.amount_collected_minor) == (1, {"EUR": 999_00}, {"EUR": 10_00})
    assert (beta.conversations, beta.accounts_contacted, beta.accounts_verified, beta.commitments) == (1, 1, 1, 1)
    assert (beta.disputes, beta.opt_outs, beta.vulnerability_flags, beta.complaints, beta.handoffs) == (1, 1, 1, 1, 1)
    assert (beta.messages, beta.sms_segments, beta.instalments_due, beta.instalments_paid_on_time) == (3, 4, 1, 1)
    assert beta.agent_first_reply_seconds_avg == pytest.approx(60)
    # And none of it is in Alpha's figures (the per-KPI tests above add up Alpha's facts only); "illness" is
    # Beta's hardship reason, never Alpha's.
    assert "illness" not in by(report(portfolio.alpha, ["hardship_reason"]).groups, "hardship_reason")


def test_a_creditor_with_no_facts_gets_one_empty_group_with_null_rates(portfolio):
    with session_scope() as session:
        creditor = Creditor(name="Empty", api_key_hash="0" * 64)
        session.add(creditor)
        session.flush()
        creditor_id = creditor.id
    (group,) = report(creditor_id).groups
    assert group.accounts_placed == 0 and group.amount_placed_minor == {}
    assert group.right_party_contact_rate is None and group.promise_kept_rate is None and group.cure_rate is None
    assert group.disputes_per_100_conversations is None and group.messages_per_resolution is None


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (dt.datetime(2026, 3, 1), dt.datetime(2026, 4, 1, tzinfo=UTC), "offset"),
        (MARCH[1], MARCH[0], "after"),
        (MARCH[0], MARCH[0], "after"),
        (dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 3, tzinfo=UTC), "longer"),
    ],
)
def test_periods_that_cannot_be_reported(start, end, reason):
    with pytest.raises(InvalidPeriod) as raised:
        kpis.Period.of(start, end)
    assert reason in raised.value.reason


def test_two_years_can_be_reported():
    assert kpis.Period.of(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)).days == 731


@pytest.mark.parametrize("group_by", [["variant"], ["channel,strategy"], ["week", "month"], ["creditor"]])
def test_unknown_groupings_are_refused(group_by):
    with pytest.raises(UnknownGrouping):
        kpis.Grouping.parse(group_by)


def test_groupings_are_read_comma_separated_or_repeated_in_order():
    assert kpis.Grouping.parse(["month", "channel,language", "channel"]) == kpis.Grouping(("channel", "language"), "month")
    assert kpis.Grouping.parse(["month", "channel"]).keys == ("channel", "month")
