"""The one gate every contact we initiate passes: plain functions, no I/O, the clock given.

`decide` answers send (on which channel, free text or template), defer (a time reason: outside the debtor's
local hours, a quiet day, the attempt cap — until the next allowed moment) or cancel (a status reason: opted
out everywhere, an open dispute, a vulnerability flag, a payment claim being checked, nothing left to
remind). The scheduler asks it when a contact is planned and again when it is about to leave.

Collection contacts obey every rule. Service contacts (a payment's thanks, a claim confirmed) answer
something the debtor did: they are not held back by a dispute, a vulnerability review, a pending claim or
the attempt cap, and do not count towards it, but keep to the local hours and to opt-outs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from api.services.follow_through import FollowThrough
from api.states import SERVICE_CONTACTS, Channel, ContactKind

ATTEMPT_WINDOW = dt.timedelta(days=7)
# The debtor's stated time preference, as local hours and days (None: any day of the week).
PREFERRED_WINDOWS: dict[str, tuple[dt.time, dt.time, frozenset[int] | None]] = {
    "morning": (dt.time(8), dt.time(12), None),
    "daytime": (dt.time(9), dt.time(18), None),
    "evening": (dt.time(18), dt.time(21), None),
    "weekend": (dt.time(8), dt.time(21), frozenset({5, 6})),
}
# How far ahead an allowed moment is looked for; a calendar closed for longer is a configuration error.
LOOKAHEAD_DAYS = 60


@dataclass(frozen=True)
class ChannelFacts:
    """One channel the contact could take, in the order to try."""

    channel: Channel
    opted_out: bool = False
    failed_permanently: bool = False  # the address bounced for good (invalid number, blocked)
    # WhatsApp only: the debtor wrote within the 24 h window (free text allowed) / a template exists.
    in_session_window: bool = True
    template_available: bool = False


@dataclass(frozen=True)
class Facts:
    """What the gate needs to know about one contact, read by the scheduler from the database."""

    kind: ContactKind
    timezone: ZoneInfo
    channels: Sequence[ChannelFacts]
    # The contact has nothing left to do: the instalment is paid, the plan ended, the account settled.
    moot: str | None = None
    dispute_open: bool = False
    vulnerable: bool = False
    restricted: bool = False  # GDPR art. 18: processing restricted at the debtor's request
    claim_pending: bool = False
    preferred_window: str | None = None
    # When the collection contacts of the last 7 days left (service contacts are not counted).
    recent_attempts: Sequence[dt.datetime] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    outcome: Literal["send", "defer", "cancel"]
    reason: str | None = None
    until: dt.datetime | None = None
    channel: Channel | None = None
    template: bool = False


def is_collection(kind: ContactKind) -> bool:
    return kind not in SERVICE_CONTACTS


def decide(facts: Facts, settings: FollowThrough, now: dt.datetime) -> Decision:
    """The gate's decision for `facts` at `now` (an aware instant)."""
    if now.tzinfo is None:
        raise ValueError("the gate needs an aware instant")
    if facts.moot:
        return Decision("cancel", facts.moot)
    if is_collection(facts.kind):
        for flag, reason in (
            (facts.dispute_open, "dispute_open"),
            (facts.vulnerable, "vulnerable"),
            (facts.restricted, "restricted"),
            (facts.claim_pending, "payment_claim_pending"),
        ):
            if flag:
                return Decision("cancel", reason)
    channel, template, why_none = _channel(facts.channels)
    if channel is None:
        return Decision("cancel", why_none)
    allowed = next_allowed(now, facts.timezone, settings, facts.preferred_window)
    if allowed != now:
        return Decision("defer", "outside_contact_hours", until=allowed, channel=channel)
    if is_collection(facts.kind):
        window = sorted(moment for moment in facts.recent_attempts if now - ATTEMPT_WINDOW < moment <= now)
        if len(window) >= settings.max_attempts_per_7_days:
            # The oldest attempts that must fall out of the window before one more is allowed.
            frees_at = window[len(window) - settings.max_attempts_per_7_days] + ATTEMPT_WINDOW
            until = next_allowed(frees_at, facts.timezone, settings, facts.preferred_window)
            return Decision("defer", "contact_cap", until=until, channel=channel)
    return Decision("send", channel=channel, template=template)


def _channel(channels: Sequence[ChannelFacts]) -> tuple[Channel | None, bool, str]:
    """The first channel that can carry the contact, whether it must be a template, or why none can."""
    if not channels:
        return None, False, "no_channel"
    reasons = []
    for facts in channels:
        if facts.opted_out:
            reasons.append("opted_out")
        elif facts.failed_permanently:
            reasons.append("address_failed")
        elif facts.channel == Channel.WHATSAPP and not facts.in_session_window:
            if facts.template_available:
                return facts.channel, True, ""
            reasons.append("no_whatsapp_template")
        else:
            return facts.channel, False, ""
    return None, False, "opted_out" if all(r == "opted_out" for r in reasons) else reasons[0]


def _open_ranges(day: dt.date, settings: FollowThrough, preferred: str | None) -> list[tuple[dt.time, dt.time]]:
    """The local hours of `day` a contact may leave in (none on a quiet day)."""
    if day.weekday() in settings.quiet_weekdays or day in settings.quiet_dates:
        return []
    start, end = settings.hours
    window = PREFERRED_WINDOWS.get(preferred or "")
    if window is not None:
        w_start, w_end, w_days = window
        if w_days is not None and day.weekday() not in w_days:
            return []
        start, end = max(start, w_start), min(end, w_end)
    return [(start, end)] if start < end else []


def next_allowed(moment: dt.datetime, zone: ZoneInfo, settings: FollowThrough, preferred: str | None = None) -> dt.datetime:
    """`moment` itself when a contact may leave then, otherwise the start of the next allowed range (in
    the debtor's local time; a preference that no allowed day meets falls back to the plain hours)."""
    local = moment.astimezone(zone)
    for offset in range(LOOKAHEAD_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        for start, end in _open_ranges(day, settings, preferred):
            # Contact hours lie within 08:00-21:00, never in a daylight-saving gap or fold.
            opens = dt.datetime.combine(day, start, tzinfo=zone)
            closes = dt.datetime.combine(day, end, tzinfo=zone)
            if moment < opens:
                return opens
            if moment < closes:
                return moment
    if preferred is not None:
        return next_allowed(moment, zone, settings, None)
    raise ValueError("no allowed contact moment in the next 60 days: check quiet days and dates")
