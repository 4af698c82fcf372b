"""The scheduler: runs the follow-through on a clock — misses and claims (`contacts.sweep`), then every due
contact through the gate (`contacts.decide_and_send`). The api runs one in the background; `python -m api.cli
contacts-tick` runs one tick (with `--now` to move the clock, as tests and simulations do).

The clock is injected (`clock`, a function answering an aware instant): tests move time forward instead of
sleeping. Each contact is decided in its own transaction, claimed by a guarded UPDATE, so a restart loses
nothing and two schedulers over one database send each contact once (PostgreSQL: SKIP LOCKED candidates).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from api.core.config import Settings
from api.core.logging import log
from api.db import session_scope
from api.models import utcnow
from api.services import contacts, data_rights
from api.services.rasa import clear_trackers_now

Clock = Callable[[], dt.datetime]
BATCH = 200
# The PostgreSQL advisory lock that serialises sweeps (any number the api uses for nothing else).
SWEEP_LOCK = 4_802_170_001


@dataclass
class TickReport:
    sweep: contacts.SweepReport = field(default_factory=contacts.SweepReport)
    sent: int = 0
    deferred: int = 0
    cancelled: int = 0
    channels: set[str] = field(default_factory=set)
    retention_erased: int = 0  # conversations erased by the retention job and by erasures asked in them


class Scheduler:
    def __init__(self, settings: Settings, *, clock: Clock = utcnow, wake: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        # Called (on the event loop) after contacts were written for the phone: the outbox sends them at once.
        self.wake = wake or (lambda: None)

    async def run(self, poll_seconds: float = 30.0) -> None:
        """Ticks for ever (the database work off the event loop); a failed tick is logged and retried."""
        while True:
            try:
                report = await to_thread.run_sync(self.tick)
            except Exception as exc:  # noqa: BLE001 - the loop must outlive one bad tick
                log.error("scheduler_tick_failed", error=type(exc).__name__, detail=str(exc)[:200])
            else:
                if report.sent:
                    self.wake()
            await asyncio.sleep(poll_seconds)

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        now = now or self.clock()
        report = TickReport()
        with session_scope() as session:
            if session.get_bind().dialect.name == "postgresql":
                # One sweep at a time across schedulers: the second reads what the first wrote, so a miss is
                # recorded (counted, audited, queued) once. Released with the sweep's transaction.
                session.execute(select(func.pg_advisory_xact_lock(SWEEP_LOCK)))
            report.sweep = contacts.sweep(session, now)
        with session_scope() as session:
            # Erasures asked in conversations now over, then the retention job.
            erased = data_rights.carry_out_waiting(session, now)
            erased += data_rights.retention_sweep(session, now)
        if erased:  # Rasa's copy goes too (best effort: a tracker Rasa no longer holds is gone already)
            report.retention_erased = len(erased)
            clear_trackers_now(self.settings, erased)
        while True:
            with session_scope() as session:
                candidates = contacts.due_contacts(session, now, BATCH)
            if not candidates:
                break
            progressed = 0
            for contact_id in candidates:
                try:
                    progressed += self._one(contact_id, now, report)
                except OperationalError as exc:  # SQLite busy: another scheduler holds the database
                    log.warning("contact_dispatch_busy", contact_id=contact_id, error=type(exc).__name__)
            if not progressed:
                break  # the rest is held by another scheduler
        if report.sent or report.deferred or report.cancelled or report.sweep.missed:
            log.info(
                "scheduler_tick",
                sent=report.sent,
                deferred=report.deferred,
                cancelled=report.cancelled,
                missed=report.sweep.missed,
                broken=report.sweep.broken,
            )
        return report

    def _one(self, contact_id: int, now: dt.datetime, report: TickReport) -> int:
        with session_scope() as session:
            contact = contacts.claim(session, contact_id, now)
            if contact is None:
                return 0
            decision = contacts.decide_and_send(session, self.settings, contact, now)
        if decision.outcome == "send":
            report.sent += 1
            report.channels.add(str(decision.channel))
        elif decision.outcome == "defer":
            report.deferred += 1
        else:
            report.cancelled += 1
        return 1
