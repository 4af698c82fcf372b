"""When a creditor's agents answer: weekly opening hours in the team's timezone (pure functions, no I/O).

Stored on the creditor as `{"timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "18:00"]], ...}}`:
several ranges per day are allowed (a lunch break), a missing or empty day is closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": "Europe/Paris",
    "weekly": {day: [["09:00", "18:00"]] for day in DAYS[:5]},
}
# How far ahead the next opening is looked for; a team closed for longer has no announced opening.
LOOKAHEAD_DAYS = 14


@dataclass(frozen=True)
class AgentHours:
    timezone: ZoneInfo
    # weekday (0 = Monday) -> ranges of local time [start, end)
    weekly: dict[int, tuple[tuple[dt.time, dt.time], ...]]


def _time(value: Any) -> dt.time:
    if str(value) == "24:00":  # the end of the day, for a range that runs to midnight
        return dt.time.max
    try:
        hours, minutes = str(value).split(":")
        if len(minutes) != 2:
            raise ValueError
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a time of day written HH:MM") from exc


def parse_hours(raw: dict[str, Any] | None) -> AgentHours:
    """Reads stored hours (the default when empty); a ValueError says what is wrong."""
    raw = raw or DEFAULT_HOURS
    try:
        zone = ZoneInfo(str(raw.get("timezone", "")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {raw.get('timezone')!r}: use an IANA name such as Europe/Paris") from exc
    weekly_raw = raw.get("weekly") or {}
    unknown = set(weekly_raw) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day(s) {sorted(unknown)}: use {', '.join(DAYS)}")
    weekly: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {}
    for index, day in enumerate(DAYS):
        ranges = []
        for item in weekly_raw.get(day) or []:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(f"{day}: each range is [start, end], e.g. ['09:00', '18:00']")
            start, end = _time(item[0]), _time(item[1])
            if start >= end:
                raise ValueError(f"{day}: a range must end after it starts ({item[0]}-{item[1]})")
            ranges.append((start, end))
        weekly[index] = tuple(sorted(ranges))
    return AgentHours(timezone=zone, weekly=weekly)


def is_open(hours: AgentHours, at: dt.datetime) -> bool:
    local = at.astimezone(hours.timezone)
    now = local.time()
    return any(start <= now < end for start, end in hours.weekly.get(local.weekday(), ()))


def next_opening(hours: AgentHours, at: dt.datetime) -> dt.datetime | None:
    """The first moment at or after `at` when the team is open (aware, in the team's timezone)."""
    local = at.astimezone(hours.timezone)
    if is_open(hours, at):
        return local
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local.date() + dt.timedelta(days=offset)
        for start, _end in hours.weekly.get(day.weekday(), ()):
            candidate = dt.datetime.combine(day, start, tzinfo=hours.timezone)
            if candidate >= local:
                return candidate
    return None
