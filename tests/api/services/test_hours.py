"""The agents' team hours: open or not at a moment, and the next opening (pure functions)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.services.hours import DEFAULT_HOURS, is_open, next_opening, parse_hours

PARIS = ZoneInfo("Europe/Paris")
LUNCH_BREAK = {
    "timezone": "Europe/Paris",
    "weekly": {"mon": [["09:00", "12:30"], ["13:30", "18:00"]], "sat": [["10:00", "12:00"]]},
}


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_the_default_team_works_weekdays_nine_to_six_paris_time():
    hours = parse_hours({})
    assert hours == parse_hours(DEFAULT_HOURS)
    assert is_open(hours, paris(2026, 12, 7, 9, 0))  # a Monday
    assert not is_open(hours, paris(2026, 12, 7, 18, 0))  # the end is excluded
    assert not is_open(hours, paris(2026, 12, 5, 11, 0))  # a Saturday
    # A London debtor at 8:30 their time is at 9:30 in Paris: open.
    assert is_open(hours, dt.datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("Europe/London")))


def test_the_next_opening_skips_breaks_nights_and_weekends():
    hours = parse_hours(LUNCH_BREAK)
    assert next_opening(hours, paris(2026, 12, 7, 12, 45)) == paris(2026, 12, 7, 13, 30)
    assert next_opening(hours, paris(2026, 12, 7, 19, 0)) == paris(2026, 12, 12, 10, 0)  # Saturday morning
    assert next_opening(hours, paris(2026, 12, 7, 10, 0)) == paris(2026, 12, 7, 10, 0)  # open: now
    assert next_opening(parse_hours({"timezone": "Europe/Paris", "weekly": {}}), paris(2026, 12, 7, 10, 0)) is None


def test_a_range_can_run_to_midnight():
    hours = parse_hours({"timezone": "UTC", "weekly": {"sun": [["00:00", "24:00"]]}})
    assert is_open(hours, dt.datetime(2026, 12, 6, 23, 59, 59, tzinfo=dt.timezone.utc))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"timezone": "Mars/Olympus", "weekly": {}}, "unknown timezone"),
        ({"timezone": "UTC", "weekly": {"monday": [["09:00", "18:00"]]}}, "unknown day"),
        ({"timezone": "UTC", "weekly": {"mon": [["18:00", "09:00"]]}}, "must end after"),
        ({"timezone": "UTC", "weekly": {"mon": [["9h", "18:00"]]}}, "HH:MM"),
        ({"timezone": "UTC", "weekly": {"mon": ["09:00"]}}, "each range"),
    ],
)
def test_unreadable_hours_say_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(raw)


@given(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.timezone.utc)))
def test_the_next_opening_is_never_before_now_and_the_team_is_open_then(moment):
    hours = parse_hours(LUNCH_BREAK)
    opening = next_opening(hours, moment)
    assert opening is not None and opening >= moment
    assert is_open(hours, opening)
