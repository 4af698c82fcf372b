"""A creditor's follow-through settings: the contact cadence, the hours and days contacts may leave, the grace
period and the missed-payment policy. Stored as JSON on the creditor (`Creditor.follow_through`); what is
left out takes the documented default below (docs/follow-through.md repeats them for operations teams).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.services.hours import DAYS
from api.states import Channel

# US Reg F §1006.14(b): at most 7 attempts per debt in 7 days. A creditor may ask for fewer, never more.
MAX_ATTEMPTS_PER_7_DAYS = 7


def _clock(value: str) -> dt.time:
    try:
        hours, minutes = value.split(":")
        if len(minutes) != 2:
            raise ValueError
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a time of day written HH:MM") from exc


class FollowThrough(BaseModel):
    """Every setting with its default; `extra="forbid"` so that a misspelt setting is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- cadence ---
    # Reminders before each instalment, in days before its due date (several: [7, 3]).
    reminder_days_before: list[int] = Field(default_factory=lambda: [3])
    remind_on_due_date: bool = True
    # Days after the due date a reminder goes while the instalment is still within its grace period.
    grace_reminder_days_after: int = 2
    # Local time planned contacts aim for (the gate defers them when that moment is not allowed).
    send_at: str = "10:00"
    # A newly placed account gets a first contact (creditor-initiated opening message).
    first_contact: bool = True
    # No plan and no payment: we come back every `follow_up_days` after the last contact or conversation,
    # at most `max_follow_ups` times in a row without an answer.
    follow_up_days: int = 7
    max_follow_ups: int = 3
    # Channels tried in order after the debtor's stated preference (only the phone channels can be initiated).
    channel_order: list[Channel] = Field(default_factory=lambda: [Channel.SMS, Channel.WHATSAPP])

    # --- when contacts may leave (the debtor's local time, in the account's timezone) ---
    contact_hours: tuple[str, str] = ("08:00", "21:00")
    quiet_days: list[str] = Field(default_factory=lambda: ["sun"])
    quiet_dates: list[dt.date] = Field(default_factory=list)
    max_attempts_per_7_days: int = MAX_ATTEMPTS_PER_7_DAYS

    # --- missed payments ---
    # An instalment unpaid `grace_days` after its due date is missed.
    grace_days: int = 5
    # What a miss does: `move_to_end` puts the instalment after the last one (one period later), `keep`
    # leaves it owed where it is.
    on_miss: Literal["move_to_end", "keep"] = "move_to_end"
    # Misses in a row that break the plan (an instalment paid in full resets the count).
    break_after_consecutive_misses: int = 2
    # A broken plan also puts the conversation in the agents' queue.
    queue_on_break: bool = True

    # --- payment claims ("I have already paid") ---
    # A payment dated within this many days of the date the debtor gave confirms the claim.
    claim_match_days: int = 7
    # Unconfirmed after this many days, the claim goes to an agent (never silence).
    claim_check_days: int = 5

    @field_validator("reminder_days_before")
    @classmethod
    def _days_before(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 30 for day in value):
            raise ValueError("reminder days before a due date are between 1 and 30")
        return sorted(set(value), reverse=True)

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str) -> str:
        _clock(value)
        return value

    @field_validator("contact_hours")
    @classmethod
    def _hours(cls, value: tuple[str, str]) -> tuple[str, str]:
        start, end = _clock(value[0]), _clock(value[1])
        if not dt.time(8) <= start < end <= dt.time(21):
            raise ValueError("contact hours lie within 08:00-21:00, the start before the end")
        return value

    @field_validator("quiet_days")
    @classmethod
    def _quiet_days(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(DAYS)
        if unknown:
            raise ValueError(f"unknown day(s) {sorted(unknown)}: use {', '.join(DAYS)}")
        if len(set(value)) == len(DAYS):
            raise ValueError("at least one day of the week must allow contacts")
        return value

    @field_validator("max_attempts_per_7_days")
    @classmethod
    def _cap(cls, value: int) -> int:
        if not 1 <= value <= MAX_ATTEMPTS_PER_7_DAYS:
            raise ValueError(f"between 1 and {MAX_ATTEMPTS_PER_7_DAYS} attempts per 7 days")
        return value

    @field_validator("channel_order")
    @classmethod
    def _channels(cls, value: list[Channel]) -> list[Channel]:
        if not value or Channel.WEBCHAT in value:
            raise ValueError("contacts can be initiated by sms or whatsapp")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> FollowThrough:
        if not 1 <= self.grace_days <= 60:
            raise ValueError("grace_days is between 1 and 60")
        if not 0 < self.grace_reminder_days_after < self.grace_days:
            raise ValueError("the grace reminder goes after the due date and before the grace period ends")
        if not 1 <= self.break_after_consecutive_misses <= 12:
            raise ValueError("break_after_consecutive_misses is between 1 and 12")
        if self.follow_up_days < 1 or self.max_follow_ups < 0:
            raise ValueError("follow_up_days is at least 1 and max_follow_ups at least 0")
        if self.claim_match_days < 0 or self.claim_check_days < 1:
            raise ValueError("claim_match_days is at least 0 and claim_check_days at least 1")
        return self

    # --- read as times ---
    @property
    def send_time(self) -> dt.time:
        return _clock(self.send_at)

    @property
    def hours(self) -> tuple[dt.time, dt.time]:
        return _clock(self.contact_hours[0]), _clock(self.contact_hours[1])

    @property
    def quiet_weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(day) for day in self.quiet_days)


DEFAULTS = FollowThrough()


def parse(raw: dict[str, Any] | None) -> FollowThrough:
    """The settings stored on a creditor, defaults filled in (a pydantic ValidationError says what is wrong)."""
    return FollowThrough.model_validate(raw or {})
