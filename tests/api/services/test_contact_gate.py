"""The contact gate, pure: local hours and quiet days, the 7-in-7-days cap, status reasons, channels."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from api.services.contact_gate import ATTEMPT_WINDOW, ChannelFacts, Decision, Facts, decide, next_allowed
from api.services.follow_through import DEFAULTS, parse
from api.states import Channel, ContactKind

PARIS = ZoneInfo("Europe/Paris")
SMS = ChannelFacts(Channel.SMS)


def facts(**overrides) -> Facts:
    values = {"kind": ContactKind.REMINDER_BEFORE, "timezone": PARIS, "channels": (SMS,)}
    values.update(overrides)
    return Facts(**values)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_a_contact_due_at_22_30_is_deferred_to_08_00_the_next_allowed_day() -> None:
    # Friday 4 December 2026, 22:30 in Paris: Saturday 08:00.
    decision = decide(facts(), DEFAULTS, paris(2026, 12, 4, 22, 30))
    assert decision == Decision("defer", "outside_contact_hours", until=paris(2026, 12, 5, 8, 0), channel=Channel.SMS)
    # Saturday 22:30: Sunday is a quiet day by default, so Monday 08:00.
    assert decide(facts(), DEFAULTS, paris(2026, 12, 5, 22, 30)).until == paris(2026, 12, 7, 8, 0)
    # Before opening: the same day.
    assert decide(facts(), DEFAULTS, paris(2026, 12, 7, 6, 0)).until == paris(2026, 12, 7, 8, 0)


def test_within_hours_it_is_sent_on_the_first_channel_that_can_carry_it() -> None:
    assert decide(facts(), DEFAULTS, paris(2026, 12, 7, 10, 0)) == Decision("send", channel=Channel.SMS)
    opted = (ChannelFacts(Channel.SMS, opted_out=True), ChannelFacts(Channel.WHATSAPP, in_session_window=True))
    assert decide(facts(channels=opted), DEFAULTS, paris(2026, 12, 7, 10, 0)).channel == Channel.WHATSAPP


def test_whatsapp_outside_its_window_goes_as_a_template_or_not_at_all() -> None:
    outside = ChannelFacts(Channel.WHATSAPP, in_session_window=False, template_available=True)
    assert decide(facts(channels=(outside,)), DEFAULTS, paris(2026, 12, 7, 10, 0)) == Decision(
        "send", channel=Channel.WHATSAPP, template=True
    )
    no_template = ChannelFacts(Channel.WHATSAPP, in_session_window=False)
    assert decide(facts(channels=(no_template,)), DEFAULTS, paris(2026, 12, 7, 10, 0)) == Decision(
        "cancel", "no_whatsapp_template"
    )


def test_status_reasons_cancel_collection_contacts_with_the_reason() -> None:
    now = paris(2026, 12, 7, 10, 0)
    assert decide(facts(dispute_open=True), DEFAULTS, now) == Decision("cancel", "dispute_open")
    assert decide(facts(vulnerable=True), DEFAULTS, now) == Decision("cancel", "vulnerable")
    assert decide(facts(claim_pending=True), DEFAULTS, now) == Decision("cancel", "payment_claim_pending")
    assert decide(facts(moot="instalment_paid"), DEFAULTS, now) == Decision("cancel", "instalment_paid")
    everywhere = (ChannelFacts(Channel.SMS, opted_out=True), ChannelFacts(Channel.WHATSAPP, opted_out=True))
    assert decide(facts(channels=everywhere), DEFAULTS, now) == Decision("cancel", "opted_out")
    assert decide(facts(channels=(ChannelFacts(Channel.SMS, failed_permanently=True),)), DEFAULTS, now).reason == "address_failed"
    assert decide(facts(channels=()), DEFAULTS, now) == Decision("cancel", "no_channel")


def test_service_contacts_answer_the_debtor_whatever_the_review_but_not_against_an_opt_out() -> None:
    now = paris(2026, 12, 7, 10, 0)
    thanks = facts(kind=ContactKind.PAYMENT_THANKS, dispute_open=True, vulnerable=True, claim_pending=True)
    assert decide(thanks, DEFAULTS, now).outcome == "send"
    opted = facts(kind=ContactKind.PAYMENT_THANKS, channels=(ChannelFacts(Channel.SMS, opted_out=True),))
    assert decide(opted, DEFAULTS, now) == Decision("cancel", "opted_out")
    # Not counted by the cap either.
    recent = [now - dt.timedelta(hours=h) for h in range(1, 10)]
    assert decide(facts(kind=ContactKind.PAYMENT_THANKS, recent_attempts=recent), DEFAULTS, now).outcome == "send"


def test_the_eighth_attempt_in_seven_days_is_deferred_until_the_oldest_leaves_the_window() -> None:
    now = paris(2026, 12, 7, 10, 0)
    recent = [paris(2026, 12, 1, 9, 0) + dt.timedelta(hours=h) for h in range(7)]
    decision = decide(facts(recent_attempts=recent), DEFAULTS, now)
    assert decision.outcome == "defer" and decision.reason == "contact_cap"
    assert decision.until == paris(2026, 12, 8, 9, 0)  # the first of the seven + 7 days, within hours
    assert decide(facts(recent_attempts=recent[:6]), DEFAULTS, now).outcome == "send"


def test_the_debtors_time_preference_narrows_the_hours() -> None:
    evening = facts(preferred_window="evening")
    assert decide(evening, DEFAULTS, paris(2026, 12, 7, 10, 0)).until == paris(2026, 12, 7, 18, 0)
    weekend = facts(preferred_window="weekend")
    assert decide(weekend, DEFAULTS, paris(2026, 12, 7, 10, 0)).until == paris(2026, 12, 12, 8, 0)


def test_creditor_quiet_dates_and_narrower_hours_apply() -> None:
    rules = parse({"contact_hours": ["09:00", "19:00"], "quiet_dates": ["2026-12-25"], "quiet_days": []})
    assert decide(facts(), rules, paris(2026, 12, 24, 19, 30)).until == paris(2026, 12, 26, 9, 0)


moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2028, 1, 1), timezones=st.just(dt.timezone.utc))
zones = st.sampled_from([PARIS, ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), ZoneInfo("Pacific/Auckland")])


@settings(max_examples=300, deadline=None)
@given(now=moments, zone=zones, quiet=st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), max_size=5))
def test_nothing_leaves_outside_local_hours_and_a_deferral_lands_inside_them(now, zone, quiet) -> None:
    rules = parse({"quiet_days": sorted(set(quiet))})
    decision = decide(facts(timezone=zone), rules, now)
    moment = now if decision.outcome == "send" else decision.until
    assert moment is not None and moment >= now
    local = moment.astimezone(zone)
    assert dt.time(8) <= local.time() < dt.time(21)
    assert local.strftime("%a").lower() not in rules.quiet_days
    assert next_allowed(moment, zone, rules) == moment


@settings(max_examples=100, deadline=None)
@given(gaps=st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), min_size=1, max_size=40))
def test_over_any_sequence_of_contacts_no_seven_day_window_holds_more_than_seven(gaps) -> None:
    """Contacts arrive at arbitrary moments; each is sent or deferred and retried; the sends never exceed
    seven in any window of seven days."""
    now = paris(2026, 3, 2, 8, 0)
    sent: list[dt.datetime] = []
    for gap in gaps:
        now += dt.timedelta(minutes=gap)
        moment = now
        for _ in range(20):
            decision = decide(facts(recent_attempts=tuple(sent)), DEFAULTS, moment)
            if decision.outcome == "send":
                sent.append(moment)
                break
            assert decision.until is not None and decision.until > moment
            moment = decision.until
        now = max(now, moment)
    for first in sent:
        assert sum(1 for s in sent if first <= s < first + ATTEMPT_WINDOW) <= 7
