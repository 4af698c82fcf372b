"""Load benchmark: many debtors at once through the real doors, the embedded default against the scaled topology.

Run with the api environment, from the project root:

    .venv/api/bin/python -m bench.load [--topology embedded|scaled|both] [--debtors 200] [--duration 600]
        [--think 2..8] [--sms-share 0.25] [--seed 7] [--kill-rasa-at SECONDS] [--smoke]

For each topology it starts the stack (`scripts.stack.Stack` over a throw-away SQLite database, migrated and
seeded as the end-to-end tests do; `ScaledStack`: PostgreSQL, Redis, two Rasa servers with their action
servers, two api workers behind nginx), creates fresh accounts through the creditor API before the clock
starts, then lets `--debtors` debtors play the hardship journey (greeting, reference, date of birth,
hardship, offer, accept, confirm -> a written confirmation) again and again, each time on a new account,
until `--duration` ends: a share on SMS (signed Twilio webhooks through the fake Twilio; one poller reads
every reply from Twilio's message list), the others on the web chat (socket.io, the rasa-webchat protocol),
French and English in turn, with pauses drawn from `--think` between messages.

It measures turns per second, reply latency (message sent -> first reply), journeys completed, errors, and
each service's memory and CPU; then, once no debtor message is left unanswered, it reads the loss ledger
from stored state (the api's messages, Rasa's tracker store, the fake Twilio's sent list) against the client's
own log: messages lost (never stored, or stored and never answered) and duplicated (stored twice, answered
twice, sent twice to Twilio). `--kill-rasa-at` kills a Rasa server during the run (SIGKILL to its process group; the stack's
supervisor restarts it). Writes var/bench/load.json; the exit code is 1 when a ledger is not clean.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import socketio
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from api import i18n
from api.models import Conversation, Message
from api.services.sms_text import to_gsm7
from bench.turn import percentile, tree_rss_mb
from channels.webchat import session_address
from scripts.stack import ROOT, ScaledStack, Stack, free_port
from tests.e2e.accounts import new_account

CREDITOR_KEY = "bench-creditor-key"
DEFAULT_OUT = ROOT / "var" / "bench" / "load.json"
# A message without any reply after this long counts as an error, and its journey is given up.
REPLY_TIMEOUT = 120.0
# After the run: the longest wait for every debtor message to be answered and every SMS to leave.
DRAIN_TIMEOUT = 120.0
# The written confirmation's number ("COM-…"): the journey is complete when the last reply holds it.
CONFIRMATION_MARK = "COM-"
SMS_POLL_SECONDS = 0.2
SAMPLE_SECONDS = 2.0
PROGRESS_SECONDS = 10.0
# Latency of the kill window: from the kill until the killed server answers again, plus this margin.
KILL_WINDOW_MARGIN = 10.0
ACCOUNTS_PER_DEBTOR = 4
LANGUAGES = ("fr", "en")

# The hardship journey of tests/e2e/test_webchat_journey.py, on the journey's own account.
JOURNEY = {
    "fr": [
        "Bonjour",
        "{reference}",
        "12/03/1985",
        "J'ai perdu mon emploi le mois dernier et je ne peux pas tout payer d'un coup",
        "je peux payer 30 euros par mois",
        "oui ça me va",
        "oui je confirme",
    ],
    "en": [
        "Hello",
        "my reference is {reference}",
        "04/05/1990",
        "I lost my job last month and I can't pay it all at once",
        "I can pay 30 euros a month",
        "yes that works for me",
        "yes I agree",
    ],
}
SMOKE = {"debtors": 10, "duration": 30.0, "think": "0.5..1.5"}
FULL = {"debtors": 200, "duration": 600.0, "think": "2..8"}
# Every web-chat session comes from this one address and each debtor writes every few seconds: the per-client
# and per-sender limits are lifted, as in the end-to-end tests, and no reminder leaves on its own mid-run. The
# creditor's calls are limited per minute too, and the setup makes hundreds of accounts at once.
STACK_ENV = {
    "CREDITOR_API_KEY": CREDITOR_KEY,
    "WEBCHAT_SESSIONS_PER_CLIENT_PER_HOUR": "100000",
    "INBOUND_MESSAGES_PER_SENDER_PER_MINUTE": "1000",
    "SCHEDULER_ENABLED": "false",
    "CREDITOR_REQUESTS_PER_MINUTE": "100000",
}


# -------------------------------------------------------------------------------------------------------
# The machine, and the resources of each service
# -------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "cpu_model": model,
        "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def _cpu_ticks_by_pid() -> tuple[dict[int, int], dict[int, list[int]]]:
    """utime + stime of every process, and each process's children (one pass over /proc)."""
    ticks: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
        children.setdefault(int(fields[1]), []).append(int(entry))
    return ticks, children


def _tree_ticks(root: int, ticks: dict[int, int], children: dict[int, list[int]]) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _own_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ResourceSampler:
    """Every `interval` seconds, in a thread: each service's resident memory (VmRSS summed over its process
    tree, bench/turn.py) and CPU time. A restarted service is followed under its new process id."""

    def __init__(self, pids: Callable[[], dict[str, int]], interval: float = SAMPLE_SECONDS) -> None:
        self.pids = pids
        self.interval = interval
        self.rss: dict[str, list[float]] = collections.defaultdict(list)
        self.cpu_seconds: dict[str, float] = collections.defaultdict(float)
        self._last: dict[str, tuple[int, int]] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-load-sampler", daemon=True)
        self._started = 0.0
        self._own_cpu = 0.0
        self.wall = 0.0
        self.own_cpu_seconds = 0.0

    def sample(self) -> None:
        ticks, children = _cpu_ticks_by_pid()
        for name, pid in self.pids().items():
            self.rss[name].append(tree_rss_mb(pid))
            now = _tree_ticks(pid, ticks, children)
            last_pid, last_ticks = self._last.get(name, (pid, now))
            # A new process id (restarted): its whole CPU time is new since the last sample.
            self.cpu_seconds[name] += (now - last_ticks if last_pid == pid else now) / self._tick
            self._last[name] = (pid, now)
        self.rss["load generator"].append(_own_rss_mb())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self._started, self._own_cpu = time.perf_counter(), time.process_time()
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()
        self.wall = time.perf_counter() - self._started
        self.own_cpu_seconds = time.process_time() - self._own_cpu

    def summary(self) -> dict[str, dict[str, float | None]]:
        wall = self.wall or 1.0
        summary: dict[str, dict[str, float | None]] = {}
        for name, values in self.rss.items():
            cpu = self.own_cpu_seconds if name == "load generator" else self.cpu_seconds.get(name, 0.0)
            summary[name] = {
                "rss_max_mb": round(max(values), 1),
                "rss_mean_mb": round(statistics.fmean(values), 1),
                "cpu_percent_mean": round(100 * cpu / wall, 1),
            }
        return summary


class LoopLag:
    """How late the benchmark's own event loop wakes up: if the load generator were the bottleneck, here first."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.lags: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.lags.append((loop.time() - before - self.interval) * 1000)

    def summary(self) -> dict[str, float | None]:
        return {
            "p99_ms": _round(percentile(self.lags, 0.99)),
            "max_ms": _round(max(self.lags) if self.lags else None),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# -------------------------------------------------------------------------------------------------------
# What the client sent, and what it heard back
# -------------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One debtor message in the client's own log (times in seconds since the clock started)."""

    debtor: int
    channel: str  # webchat | sms
    address: str  # the conversation's channel address: the session's digest, or the phone number
    text: str
    sent_at: float
    accepted: bool = False  # the door took it (the web-chat emit left; the SMS webhook answered 200)
    first_reply_at: float | None = None
    replies: int = 0
    holding: bool = False  # the first reply was the api's holding reply (Rasa away)

    @property
    def latency_ms(self) -> float | None:
        return None if self.first_reply_at is None else (self.first_reply_at - self.sent_at) * 1000


@dataclass
class RunLog:
    started: float  # perf_counter at the clock's start
    duration: float
    sent: list[Sent] = field(default_factory=list)
    journeys_started: int = 0
    journeys_completed: int = 0
    journeys_cut: int = 0  # the run ended in the middle
    journeys_failed: collections.Counter[str] = field(default_factory=collections.Counter)  # how they went off track
    unconfirmed_examples: list[str] = field(default_factory=list)  # the last replies of a few without a confirmation
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    kill: dict[str, Any] = field(default_factory=dict)
    supervisor: list[str] = field(default_factory=list)

    def now(self) -> float:
        return time.perf_counter() - self.started

    @property
    def over(self) -> bool:
        return self.now() >= self.duration

    def answered_in_window(self) -> list[Sent]:
        return [s for s in self.sent if s.first_reply_at is not None and s.first_reply_at <= self.duration]


# The api's holding reply, as the web chat shows it and as the SMS carries it (GSM-7).
HOLDING = {i18n.t("router.bot_unavailable", language) for language in LANGUAGES}
HOLDING |= {to_gsm7(t) for t in HOLDING}


class Line(Protocol):
    """One journey's connection to the api, on either door."""

    channel: str
    replies: asyncio.Queue[tuple[float, str]]

    @property
    def address(self) -> str: ...

    async def open(self) -> None: ...

    async def send(self, text: str) -> bool: ...

    async def close(self) -> None: ...


class WebChatLine:
    """A debtor in the web chat (the rasa-webchat protocol, as tests/e2e/webchat_client.py), on a socket of its
    own; if the socket drops, it reconnects and asks for its session again, as the widget does."""

    channel = "webchat"

    def __init__(self, base_url: str, language: str, log: RunLog) -> None:
        self.base_url = base_url
        self.language = language
        self.log = log
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=5)
        self.replies: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self.session_id: str | None = None
        self.closing = False

    @property
    def address(self) -> str:
        assert self.session_id is not None
        return session_address(self.session_id)

    async def open(self) -> None:
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def connect() -> None:  # also after a reconnection: the same session, if the server still has it
            await self.sio.emit("session_request", {"session_id": self.session_id})

        def session_confirm(session_id: str) -> None:
            if self.session_id is not None and session_id != self.session_id:
                self.log.errors["web chat session not resumed after a reconnection"] += 1
            self.session_id = session_id
            if not confirmed.done():
                confirmed.set_result(session_id)

        def bot_uttered(data: dict[str, Any]) -> None:
            self.replies.put_nowait((self.log.now(), (data or {}).get("text") or ""))

        def disconnect(*_reason: Any) -> None:
            if not self.closing:
                self.log.errors["web chat socket dropped (the client reconnects)"] += 1

        self.sio.on("connect", connect)
        self.sio.on("session_confirm", session_confirm)
        self.sio.on("bot_uttered", bot_uttered)
        self.sio.on("disconnect", disconnect)
        await self.sio.connect(self.base_url, socketio_path="socket.io", transports=["websocket"], wait_timeout=30)
        await asyncio.wait_for(confirmed, 30)

    async def send(self, text: str) -> bool:
        await self.sio.emit(
            "user_uttered", {"message": text, "session_id": self.session_id, "customData": {"language": self.language}}
        )
        return True

    async def close(self) -> None:
        self.closing = True
        await self.sio.disconnect()


class SmsDoor:
    """The SMS side of the run: inbound messages through the fake Twilio, which signs and posts Twilio's
    webhook to the api (as tests/e2e/phone_client.py), and one poller for every reply: Twilio's own message
    list, newest first, a page at a time, each new message handed to the debtor whose number it goes to."""

    def __init__(self, http: httpx.AsyncClient, twilio_url: str, account_sid: str, auth_token: str, log: RunLog) -> None:
        self.http = http
        self.twilio_url = twilio_url
        self.list_url = f"{twilio_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.log = log
        self.queues: dict[str, asyncio.Queue[tuple[float, str]]] = {}
        self.seen: set[str] = set()
        self.unclaimed = 0  # replies to a number no journey listens to any more

    def listen(self, number: str) -> asyncio.Queue[tuple[float, str]]:
        return self.queues.setdefault(number, asyncio.Queue())

    async def deliver(self, number: str, body: str, sid: str, attempts: int = 3) -> bool:
        """Twilio's webhook for one message, signed by the fake; delivered again (same MessageSid) when the api
        did not take it, as Twilio would on an error. True when the api answered 200."""
        for attempt in range(attempts):
            try:
                response = await self.http.post(
                    f"{self.twilio_url}/_fake/inbound",
                    json={"channel": "sms", "from": number, "body": body, "message_sid": sid},
                    timeout=60,
                )
                status = response.json().get("status_code")
            except (httpx.HTTPError, ValueError) as exc:
                status = type(exc).__name__
            if status == 200:
                return True
            self.log.errors[f"SMS webhook answered {status}"] += 1
            if attempt + 1 < attempts:
                await asyncio.sleep(1.0)
        return False

    async def poll_once(self) -> None:
        size = 100
        while True:
            response = await self.http.get(self.list_url, params={"PageSize": size}, auth=self.auth, timeout=30)
            response.raise_for_status()
            listed = response.json()["messages"]
            fresh = [m for m in listed if m["sid"] not in self.seen]
            if len(fresh) == len(listed) == size:  # the page may not reach back to what was seen: a bigger one
                size *= 2
                continue
            break
        now = self.log.now()
        for message in reversed(fresh):  # oldest first
            self.seen.add(message["sid"])
            queue = self.queues.get(message["to"])
            if queue is None:
                self.unclaimed += 1
            else:
                queue.put_nowait((now, message["body"] or ""))

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                self.log.errors[f"SMS reply poll: {type(exc).__name__}"] += 1
            await asyncio.sleep(SMS_POLL_SECONDS)

    async def sent_messages(self) -> list[dict[str, Any]]:
        """Everything the fake Twilio was asked to send (for the ledger)."""
        response = await self.http.get(f"{self.twilio_url}/_fake/messages", timeout=120)
        response.raise_for_status()
        return list(response.json())


class SmsLine:
    """A debtor on SMS: its number's replies come from the door's one poller."""

    channel = "sms"

    def __init__(self, door: SmsDoor, number: str) -> None:
        self.door = door
        self.number = number
        self.replies = door.listen(number)

    @property
    def address(self) -> str:
        return self.number

    async def open(self) -> None:
        return None

    async def send(self, text: str) -> bool:
        return await self.door.deliver(self.number, text, f"SM{uuid.uuid4().hex}")

    async def close(self) -> None:
        self.door.queues.pop(self.number, None)


# -------------------------------------------------------------------------------------------------------
# Accounts, debtors, the Rasa kill
# -------------------------------------------------------------------------------------------------------


class AccountPool:
    """Fresh accounts through the creditor API (tests/e2e/accounts.py), made before the clock starts; if the
    debtors use them all, more are made on the way, outside any timed latency."""

    def __init__(self, api_url: str) -> None:
        self.client = httpx.Client(base_url=api_url, headers={"X-API-Key": CREDITOR_KEY}, timeout=60)
        self.ready: dict[str, collections.deque[dict[str, Any]]] = {language: collections.deque() for language in LANGUAGES}
        self._serial = 0
        self._lock = threading.Lock()
        self.made_during_run = 0

    def make(self, language: str) -> dict[str, Any]:
        with self._lock:
            self._serial += 1
            n = self._serial
        phone = f"+3361{n:08d}" if language == "fr" else f"+4477{n:08d}"
        return new_account(self.client, language, reference=f"CR-9{n:08d}", phone=phone)

    def fill(self, per_language: int, workers: int = 4) -> None:
        languages = [language for _ in range(per_language) for language in LANGUAGES]
        with ThreadPoolExecutor(workers) as pool:
            for account in pool.map(self.make, languages):
                self.ready[account["language"]].append(account)

    def give_back(self, account: dict[str, Any]) -> None:
        """An account whose journey never started (the door refused the connection) serves the next one."""
        self.ready[account["language"]].appendleft(account)

    async def take(self, language: str) -> dict[str, Any]:
        if self.ready[language]:
            return self.ready[language].popleft()
        self.made_during_run += 1
        return await asyncio.to_thread(self.make, language)

    def close(self) -> None:
        self.client.close()


@dataclass
class Load:
    args: argparse.Namespace
    stack: Stack
    log: RunLog
    accounts: AccountPool
    sms: SmsDoor
    rng: random.Random

    def think(self) -> float:
        low, high = self.args.think
        return self.rng.uniform(low, high)


def _take_late_replies(line: Line, previous: Sent | None) -> None:
    """Replies that came after the pause answer the previous message. (The protocols do not say which message
    a reply answers: it counts for the latest one sent before it arrived.)"""
    while not line.replies.empty():
        line.replies.get_nowait()
        if previous is not None:
            previous.replies += 1


async def _collect(line: Line, sent: Sent, seconds: float, until: Callable[[list[str]], bool] | None = None) -> list[str]:
    """The replies arriving within `seconds` (or until `until` holds): the rest of the turn, during the pause."""
    texts: list[str] = []
    deadline = time.perf_counter() + seconds
    while (remaining := deadline - time.perf_counter()) > 0 and not (until and until(texts)):
        try:
            _, body = await asyncio.wait_for(line.replies.get(), remaining)
        except asyncio.TimeoutError:
            break
        sent.replies += 1
        texts.append(body)
    return texts


def confirmed(texts: list[str]) -> bool:
    return any(CONFIRMATION_MARK in t for t in texts)


async def journey(load: Load, index: int, line: Line, language: str, account: dict[str, Any]) -> None:
    """One hardship journey on one account, message after message, each answered before the pause."""
    log = load.log
    previous: Sent | None = None
    messages = JOURNEY[language]
    for step, template in enumerate(messages):
        if log.over:
            log.journeys_cut += 1
            return
        _take_late_replies(line, previous)
        sent = Sent(index, line.channel, line.address, template.format(reference=account["reference"]), log.now())
        try:
            sent.accepted = await line.send(sent.text)
        except Exception as exc:  # noqa: BLE001 - any failure of the client's door is counted, the run goes on
            log.errors[f"{line.channel} send: {type(exc).__name__}"] += 1
        log.sent.append(sent)
        if not sent.accepted:
            log.journeys_failed[f"step {step + 1}: not accepted by the door"] += 1
            return
        try:
            sent.first_reply_at, first = await asyncio.wait_for(line.replies.get(), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            log.errors[f"no reply within {REPLY_TIMEOUT:.0f} s"] += 1
            log.journeys_failed[f"step {step + 1}: no reply within {REPLY_TIMEOUT:.0f} s"] += 1
            return
        sent.replies, sent.holding = 1, first in HOLDING
        previous = sent
        if step + 1 < len(messages):
            await _collect(line, sent, load.think())
            continue
        # The last message: its answer is the written confirmation (later if the api had to hold it).
        texts = [first]
        if not confirmed(texts):
            texts += await _collect(line, sent, REPLY_TIMEOUT, until=confirmed)
        if confirmed(texts):
            log.journeys_completed += 1
            await _collect(line, sent, load.think())  # the debtor reads it, then leaves
        else:
            log.journeys_failed["no written confirmation"] += 1
            if len(log.unconfirmed_examples) < 5:
                log.unconfirmed_examples.append(" | ".join(t[:60] for t in texts)[:200])


def is_sms_debtor(index: int, share: float) -> bool:
    """Spreads the SMS debtors evenly among the others."""
    return math.floor((index + 1) * share) > math.floor(index * share)


async def debtor(load: Load, index: int) -> None:
    """One debtor, journey after journey until the clock ends. Whatever fails (the api refusing or not answering,
    an account not made) is counted and the debtor carries on: the run reports a failing stack, it never stops
    on one."""
    log = load.log
    sms = is_sms_debtor(index, load.args.sms_share)
    await asyncio.sleep(load.rng.uniform(0, load.args.think[1]))  # debtors arrive over the first pause, not at once
    number = 0
    while not log.over:
        language = LANGUAGES[(index + number) % 2]
        try:
            account = await load.accounts.take(language)
        except Exception as exc:  # noqa: BLE001 - counted; the debtor tries again
            log.errors[f"account not created: {type(exc).__name__}"] += 1
            await asyncio.sleep(1.0)
            continue
        number += 1
        line: Line = SmsLine(load.sms, account["phone"]) if sms else WebChatLine(load.stack.api_url, language, log)
        try:
            await line.open()
        except Exception as exc:  # noqa: BLE001 - a refused connection is an error of the run, not its end
            log.errors[f"{line.channel} connect: {type(exc).__name__}"] += 1
            load.accounts.give_back(account)
            await _close(line, log)
            await asyncio.sleep(1.0)
            continue
        log.journeys_started += 1
        failed = sum(log.journeys_failed.values())
        try:
            await journey(load, index, line, language, account)
        except Exception as exc:  # noqa: BLE001 - counted; the debtor starts a new journey
            log.errors[f"journey: {type(exc).__name__}"] += 1
            log.journeys_failed[f"{type(exc).__name__}"] += 1
        finally:
            await _close(line, log)
        if sum(log.journeys_failed.values()) > failed:
            await asyncio.sleep(load.think())  # a debtor who got no answer tries again a little later


async def _close(line: Line, log: RunLog) -> None:
    try:
        await line.close()
    except Exception as exc:  # noqa: BLE001 - counted; closing must not end the debtor
        log.errors[f"{line.channel} close: {type(exc).__name__}"] += 1


def rasa_service(stack: Stack) -> str:
    return "rasa-1" if isinstance(stack, ScaledStack) else "rasa"


async def kill_rasa(load: Load, at: float) -> None:
    """SIGKILL to one Rasa server's process group at `at` s; the supervisor restarts it. Notes when it answers again."""
    log = load.log
    await asyncio.sleep(max(0.0, at - log.now()))
    service = load.stack.service(rasa_service(load.stack))
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)
    log.kill.update(service=service.name, at=round(log.now(), 1))
    print(f"[{log.now():5.0f}s] killed {service.name} (SIGKILL to its process group)", flush=True)
    await asyncio.sleep(2.0)  # the supervisor has seen it die

    def back() -> bool:
        return service.process is not None and service.process.poll() is None and service.is_ready()

    while not await asyncio.to_thread(back):
        await asyncio.sleep(1.0)
    log.kill["back_at"] = round(log.now(), 1)
    print(f"[{log.now():5.0f}s] {service.name} answers again", flush=True)


async def progress(log: RunLog) -> None:
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        answered = [s.latency_ms for s in log.sent if s.latency_ms is not None]
        elapsed = min(log.now(), log.duration)
        in_window = len(log.answered_in_window())
        print(
            f"[{log.now():5.0f}s] turns {in_window} ({in_window / max(elapsed, 1e-9):.2f}/s), "
            f"p50 {_fmt(percentile(answered, 0.5), '.0f')} ms, p95 {_fmt(percentile(answered, 0.95), '.0f')} ms, "
            f"journeys {log.journeys_completed}/{log.journeys_started}, errors {sum(log.errors.values())}"
            + (f" (most: {'; '.join(f'{k} x{n}' for k, n in log.errors.most_common(3))})" if log.errors else ""),
            flush=True,
        )


# -------------------------------------------------------------------------------------------------------
# The ledger, from stored state
# -------------------------------------------------------------------------------------------------------


def unfinished(engine: Engine) -> tuple[int, int]:
    """Debtor messages not answered yet, and SMS replies not sent yet (the throw-away database is ours alone)."""
    with engine.connect() as db:
        waiting = db.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "inbound", Message.status == "received")
        )
        unsent = db.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "outbound", Message.status.in_(("pending", "sending")))
        )
    return int(waiting or 0), int(unsent or 0)


async def drain(engine: Engine, timeout: float = DRAIN_TIMEOUT) -> tuple[float, tuple[int, int]]:
    started = time.perf_counter()
    while True:
        left = await asyncio.to_thread(unfinished, engine)
        if left == (0, 0) or time.perf_counter() - started > timeout:
            return time.perf_counter() - started, left
        await asyncio.sleep(1.0)


def rasa_turns(tracker_url: str, senders: set[str]) -> tuple[dict[tuple[str, str], int], int]:
    """From Rasa's tracker store: how many bot messages Rasa uttered for each turn the api sent (the api's turn
    key, `<message id>` or `<message id>:opening`, is in the user event's metadata), and how many turns Rasa
    took more than once."""
    engine = create_engine(tracker_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as db:
            events = db.execute(
                text(
                    "select sender_id, type_name, case when type_name = 'user' then data end from events "
                    "where type_name in ('user', 'bot') order by id"
                )
            ).all()
    finally:
        engine.dispose()
    uttered: dict[tuple[str, str], int] = {}
    current: dict[str, tuple[str, str] | None] = {}
    twice = 0
    for sender, kind, data in events:
        if sender not in senders:
            continue
        if kind == "user":
            turn = (json.loads(data).get("metadata") or {}).get("turn")
            key = (sender, str(turn)) if turn is not None else None
            if key is not None and key in uttered:
                twice += 1
            current[sender] = key
            if key is not None:
                uttered.setdefault(key, 0)
        elif (key := current.get(sender)) is not None:
            uttered[key] += 1
    return uttered, twice


def _texts_by_address(items: list[Any]) -> dict[tuple[str, str], collections.Counter[str]]:
    """(channel, address) -> how many times each text: from `Sent` records or (channel, address, text) triples."""
    counted: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for item in items:
        channel, address, text_ = (item.channel, item.address, item.text) if isinstance(item, Sent) else item
        counted[(channel, address)][text_] += 1
    return counted


def read_ledger(database_url: str, tracker_url: str, sent: list[Sent], twilio_sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Lost and duplicated debtor messages, from the api's rows, Rasa's tracker store and the fake Twilio's
    list, against the client's own log. Lost: what the door took (the emit left, the webhook answered 200) and
    the database lacks, or holds unanswered. Stored twice: more rows than the client ever sent of that text in
    that conversation. Answered twice: more bot replies stored than Rasa uttered for the message's turn."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            conversations = db.execute(select(Conversation.id, Conversation.channel, Conversation.channel_address)).all()
            messages = db.execute(
                select(
                    Message.id,
                    Message.conversation_id,
                    Message.direction,
                    Message.author,
                    Message.status,
                    Message.text,
                    Message.payload,
                    Message.created_at,
                    Message.channel_message_id,
                ).order_by(Message.id)
            ).all()
    finally:
        engine.dispose()

    accepted = [s for s in sent if s.accepted]
    attempted = _texts_by_address(sent)  # what the client sent, whether or not the door said it took it
    taken = _texts_by_address(accepted)
    ours: dict[str, tuple[str, str]] = {
        c.id: (c.channel, c.channel_address) for c in conversations if (c.channel, c.channel_address) in attempted
    }
    inbound = [m for m in messages if m.conversation_id in ours and m.direction == "inbound"]
    outbound = [m for m in messages if m.conversation_id in ours and m.direction == "outbound"]
    replies: dict[int, list[Any]] = collections.defaultdict(list)
    for m in outbound:
        if (m.payload or {}).get("in_reply_to") is not None:
            replies[int(m.payload["in_reply_to"])].append(m)

    stored: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for m in inbound:
        stored[ours[m.conversation_id]][m.text] += 1
    missing = sum(sum((texts - stored[key]).values()) for key, texts in taken.items())
    stored_twice = sum(sum((texts - attempted[key]).values()) for key, texts in stored.items())
    # A webhook the fake gave up on (Twilio's 15 s) that the api stored all the same: neither lost nor twice.
    stored_though_refused = sum(sum((texts - taken[key]).values()) for key, texts in stored.items()) - stored_twice

    def unanswered_because(m: Any) -> str | None:
        if m.status not in ("processed", "for_agent"):
            return f"still {m.status}"
        if not replies[m.id]:
            return f"{m.status}, no reply stored"
        if not any(r.status in ("sent", "delivered") for r in replies[m.id]):
            return f"{m.status}, reply not sent"
        return None

    never_answered = collections.Counter(why for m in inbound if (why := unanswered_because(m)) is not None)
    uttered, rasa_twice = rasa_turns(tracker_url, set(ours))
    answered_twice = not_in_tracker = replies_missing = 0
    for m in inbound:
        turn = (m.conversation_id, str(m.id))
        if turn not in uttered:
            not_in_tracker += m.status == "processed"
            continue
        expected = uttered[turn] + uttered.get((m.conversation_id, f"{m.id}:opening"), 0)
        stored_replies = sum(1 for r in replies[m.id] if r.author == "bot")
        answered_twice += stored_replies > expected
        replies_missing += stored_replies < expected

    # Sent twice: Twilio was asked for more messages of one text to a number than there are rows of that text.
    sms_numbers = {address for channel, address in attempted if channel == "sms"}
    to_our_numbers = [m for m in twilio_sent if m["to"] in sms_numbers]
    at_twilio = _texts_by_address([("sms", m["to"], m["body"] or "") for m in to_our_numbers])
    rows = _texts_by_address(
        [("sms", ours[m.conversation_id][1], m.text) for m in outbound if ours[m.conversation_id][0] == "sms"]
    )
    sent_twice = sum(sum((texts - rows[key]).values()) for key, texts in at_twilio.items())
    recorded = {m.channel_message_id for m in outbound if m.channel_message_id}

    lost = missing + sum(never_answered.values())
    duplicated = stored_twice + answered_twice + rasa_twice + sent_twice
    client_unanswered = sum(1 for s in accepted if s.first_reply_at is None)
    return {
        "conversations": len(ours),
        "client_sent": len(accepted),
        "refused_at_the_door": len(sent) - len(accepted),
        "messages_in": len(inbound),
        "answered": len(inbound) - sum(never_answered.values()),
        "lost": lost,
        "lost_missing_from_database": missing,
        "lost_stored_never_answered": sum(never_answered.values()),
        "never_answered_because": dict(never_answered),
        "stored_though_the_door_refused": stored_though_refused,
        "duplicated": duplicated,
        "stored_twice": stored_twice,
        "answered_twice": answered_twice,
        "rasa_turns_taken_twice": rasa_twice,
        "answered_with_fewer_replies_than_rasa_uttered": replies_missing,
        "processed_but_not_in_rasa_tracker": not_in_tracker,
        "sms_sent_twice": sent_twice,
        "sms_sent_not_recorded": sum(1 for m in to_our_numbers if m["sid"] not in recorded),
        "holding_replies": sum(1 for m in outbound if m.author == "system" and m.text in HOLDING),
        "sms_sent": len(to_our_numbers),
        "sms_replies_not_sent": dict(
            collections.Counter(
                m.status for m in outbound if ours[m.conversation_id][0] == "sms" and m.status not in ("sent", "delivered")
            )
        ),
        "client_got_a_reply": len(accepted) - client_unanswered,
        "client_unanswered": client_unanswered,
        "clean": lost == 0 and duplicated == 0 and client_unanswered == 0,
    }


# -------------------------------------------------------------------------------------------------------
# One topology
# -------------------------------------------------------------------------------------------------------


def latency_summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": _round(percentile(values, 0.50)),
        "p95_ms": _round(percentile(values, 0.95)),
        "p99_ms": _round(percentile(values, 0.99)),
        "max_ms": _round(max(values) if values else None),
    }


def per_minute(log: RunLog) -> list[int]:
    """Turns answered in each minute of the clock: a stall shows as a fall."""
    counts = [0] * math.ceil(log.duration / 60)
    for s in log.answered_in_window():
        counts[min(int(s.first_reply_at or 0) // 60, len(counts) - 1)] += 1
    return counts


def figures(log: RunLog, args: argparse.Namespace) -> dict[str, Any]:
    answered = [s for s in log.sent if s.latency_ms is not None]
    result: dict[str, Any] = {
        "turns": len(log.answered_in_window()),
        "turns_per_second": round(len(log.answered_in_window()) / log.duration, 2),
        "turns_per_minute": per_minute(log),
        "messages_sent": len(log.sent),
        "latency": latency_summary([s.latency_ms for s in answered if s.latency_ms is not None]),
        "latency_by_channel": {
            channel: latency_summary([s.latency_ms for s in answered if s.channel == channel and s.latency_ms is not None])
            for channel in ("webchat", "sms")
        },
        "first_reply_was_holding": sum(1 for s in log.sent if s.holding),
        "journeys": {
            "started": log.journeys_started,
            "completed": log.journeys_completed,
            "cut_by_the_end": log.journeys_cut,
            "failed": sum(log.journeys_failed.values()),
            "failed_by_how": dict(log.journeys_failed),
            "unconfirmed_examples": log.unconfirmed_examples,
        },
        "errors": sum(log.errors.values()),
        "errors_by_kind": dict(log.errors),
    }
    if log.kill:
        start = log.kill["at"]
        end = log.kill.get("back_at", math.inf) + KILL_WINDOW_MARGIN
        inside = [s.latency_ms for s in answered if start <= s.sent_at <= end and s.latency_ms is not None]
        outside = [s.latency_ms for s in answered if not start <= s.sent_at <= end and s.latency_ms is not None]
        result["kill"] = {
            **log.kill,
            "window": [start, None if math.isinf(end) else round(end, 1)],
            "latency_inside_window": latency_summary(inside),
            "latency_outside_window": latency_summary(outside),
        }
    return result


async def run_load(args: argparse.Namespace, stack: Stack, accounts: AccountPool, kill: bool) -> tuple[RunLog, dict[str, Any]]:
    twilio_env = stack.service("twilio-fake").env
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits) as http:
        log = RunLog(started=time.perf_counter(), duration=args.duration)

        def supervisor(line: str) -> None:
            log.supervisor.append(f"{log.now():.0f}s {line}")
            print(f"[{log.now():5.0f}s] supervisor: {line}", flush=True)

        stack.supervise(report=supervisor)
        sms = SmsDoor(http, stack.twilio_url, twilio_env["TWILIO_ACCOUNT_SID"], twilio_env["TWILIO_AUTH_TOKEN"], log)
        await sms.poll_once()  # what was sent before the clock is not a reply of the run
        load = Load(args, stack, log, accounts, sms, random.Random(args.seed))
        lag = LoopLag()
        helpers = [asyncio.create_task(t) for t in (sms.run(), progress(log), lag.run())]
        if kill:
            helpers.append(asyncio.create_task(kill_rasa(load, args.kill_rasa_at)))
        try:
            await asyncio.gather(*(debtor(load, i) for i in range(args.debtors)))
            ended = log.now()
            print(f"[{ended:5.0f}s] every debtor has stopped; waiting for the api to answer what is left...", flush=True)
            engine = create_engine(stack.database_url or "")
            try:
                drained, left = await drain(engine)
            finally:
                engine.dispose()
            await asyncio.sleep(2 * SMS_POLL_SECONDS)
            twilio_sent = await sms.sent_messages()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        extra = {
            "after_the_clock_s": round(ended - args.duration, 1),
            "drain_s": round(drained, 1),
            "left_after_drain": {"inbound_unanswered": left[0], "sms_unsent": left[1]},
            "loop_lag": lag.summary(),
            "sms_replies_unclaimed": sms.unclaimed,
            "twilio_sent": twilio_sent,
        }
        return log, extra


def start_embedded(workdir: Path) -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'api.db'}"
    api_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CREDITOR_API_KEY": CREDITOR_KEY,
        "API_PORT": str(api_port),
        "PYTHONPATH": str(ROOT),
    }
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "api.cli", command], cwd=ROOT, env=env, check=True, capture_output=True)
    stack = Stack(
        api_port=api_port,
        rasa_port=free_port(),
        actions_port=free_port(),
        twilio_port=free_port(),
        database_url=database_url,
        log_dir=workdir / "log",
        extra_env=dict(STACK_ENV),
    )
    stack.start()
    return stack


def start_scaled(workdir: Path) -> Stack:
    stack = ScaledStack(api_port=free_port(), twilio_port=free_port(), log_dir=workdir / "log", extra_env=dict(STACK_ENV))
    stack.start()
    return stack


def service_pids(stack: Stack) -> dict[str, int]:
    pids = {s.name: s.process.pid for s in stack.services if s.process is not None and s.process.poll() is None}
    postgres = getattr(stack, "postgres", None)
    if postgres is not None:
        pid_file = postgres.data_dir / "postmaster.pid"
        if pid_file.exists():
            pids["postgres"] = int(pid_file.read_text().split()[0])
    return pids


TOPOLOGIES = {
    "embedded": ("embedded default: 1 api, 1 Rasa, 1 action server, SQLite", start_embedded),
    "scaled": ("scaled: 2 api workers behind nginx, 2 Rasa + 2 action servers, PostgreSQL, Redis", start_scaled),
}


def run_topology(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    title, start = TOPOLOGIES[name]
    print(f"\n--- {name}: starting the stack (logs in {workdir / 'log'})...", flush=True)
    began = time.perf_counter()
    stack = start(workdir)
    try:
        started_in = time.perf_counter() - began
        print(f"ready in {started_in:.0f} s: api {stack.api_url}", flush=True)
        accounts = AccountPool(stack.api_url)
        try:
            began = time.perf_counter()
            accounts.fill(math.ceil(args.debtors * ACCOUNTS_PER_DEBTOR / len(LANGUAGES)))
            accounts_in = time.perf_counter() - began
            print(
                f"{sum(len(q) for q in accounts.ready.values())} accounts created in {accounts_in:.1f} s; the clock starts",
                flush=True,
            )
            sampler = ResourceSampler(lambda: service_pids(stack))
            sampler.start()
            try:
                kill = args.kill_rasa_at is not None and args.kill_in in (name, "both")
                log, extra = asyncio.run(run_load(args, stack, accounts, kill))
            finally:
                sampler.stop()
        finally:
            accounts.close()
        print("reading the ledger from stored state...", flush=True)
        # The client's own log beside the databases, for a second look at a ledger that is not clean.
        with (workdir / "client-log.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(dataclasses.asdict(s), ensure_ascii=False) + "\n" for s in log.sent)
        twilio_sent = extra.pop("twilio_sent")
        ledger = read_ledger(stack.database_url or "", stack.rasa_tracker_store_url, log.sent, twilio_sent)
    finally:
        stack.stop()
    return {
        "topology": title,
        "started_in_s": round(started_in, 1),
        "accounts_created": {
            "before_the_clock": args.debtors * ACCOUNTS_PER_DEBTOR,
            "during_the_run": accounts.made_during_run,
            "seconds": round(accounts_in, 1),
        },
        **figures(log, args),
        **extra,
        "resources": sampler.summary(),
        "supervisor": log.supervisor,
        "ledger": ledger,
    }


# -------------------------------------------------------------------------------------------------------
# Output
# -------------------------------------------------------------------------------------------------------


def _fmt(value: Any, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _latency_line(label: str, latency: dict[str, Any]) -> str:
    return (
        f"  {label:<20} p50 {_fmt(latency['p50_ms']):>6}  p95 {_fmt(latency['p95_ms']):>6}  "
        f"p99 {_fmt(latency['p99_ms']):>6}  max {_fmt(latency['max_ms']):>6}   (n={latency['n']})"
    )


def print_topology(name: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    sms = sum(1 for i in range(args.debtors) if is_sms_debtor(i, args.sms_share))
    print(
        f"\n=== {r['topology']} ===\n{args.debtors} debtors ({args.debtors - sms} web chat, {sms} SMS), {args.duration:.0f} s, "
        f"pauses {args.think[0]:g}-{args.think[1]:g} s; started in {r['started_in_s']:.0f} s; "
        f"{r['accounts_created']['before_the_clock']} accounts made before the clock in {r['accounts_created']['seconds']:.1f} s"
        f" (+{r['accounts_created']['during_the_run']} during the run)"
    )
    print(f"turns/s       {r['turns_per_second']:.2f}   ({r['turns']} debtor messages answered within the {args.duration:.0f} s)")
    print(f"turns/minute  {' '.join(str(n) for n in r['turns_per_minute'])}")
    print("latency (ms, message sent -> first reply; SMS replies are read every 0.2 s)")
    print(_latency_line("all", r["latency"]))
    for channel, label in (("webchat", "web chat"), ("sms", "SMS")):
        print(_latency_line(label, r["latency_by_channel"][channel]))
    if "kill" in r:
        k = r["kill"]
        print(f"  {k['service']} killed at {k['at']:.0f} s, answering again at {_fmt(k.get('back_at'))} s; window {k['window']}")
        print(_latency_line("outside the window", k["latency_outside_window"]))
        print(_latency_line("inside the window", k["latency_inside_window"]))
        print(f"  first reply was the holding reply: {r['first_reply_was_holding']}")
    j = r["journeys"]
    print(
        f"journeys      {j['completed']} completed, {j['cut_by_the_end']} cut by the end, {j['failed']} failed (of {j['started']} started)"
    )
    for how, count in j["failed_by_how"].items():
        print(f"              failed: {how} x{count}")
    for example in j["unconfirmed_examples"]:
        print(f"              last replies of one without a confirmation: {example}")
    print(f"errors        {r['errors']}" + (f"  {r['errors_by_kind']}" if r["errors"] else ""))
    print(
        f"after the clock: debtors finished their last turn in {r['after_the_clock_s']:.0f} s; drain {r['drain_s']:.1f} s "
        f"(left: {r['left_after_drain']})"
    )
    led = r["ledger"]
    print(
        f"ledger (stored state): {led['messages_in']} messages in, {led['answered']} answered, "
        f"{led['lost']} lost, {led['duplicated']} duplicated  -> {'CLEAN' if led['clean'] else 'NOT CLEAN'}"
    )
    print(
        f"  lost: {led['lost_missing_from_database']} missing from the database, {led['lost_stored_never_answered']} stored "
        f"but never answered {led['never_answered_because'] or ''}"
    )
    print(
        f"  duplicated: {led['stored_twice']} stored twice, {led['answered_twice']} answered twice (more bot replies "
        f"stored than Rasa uttered), {led['rasa_turns_taken_twice']} turns taken twice by Rasa, "
        f"{led['sms_sent_twice']} SMS sent twice to Twilio (of {led['sms_sent']} sent)"
    )
    if led["answered_with_fewer_replies_than_rasa_uttered"] or led["processed_but_not_in_rasa_tracker"]:
        print(
            f"  note: {led['answered_with_fewer_replies_than_rasa_uttered']} answered with fewer replies than Rasa "
            f"uttered, {led['processed_but_not_in_rasa_tracker']} processed without a turn in Rasa's tracker"
        )
    print(
        f"  client: {led['client_sent']} taken by the door, {led['client_got_a_reply']} got a reply, {led['client_unanswered']} "
        f"did not; {led['refused_at_the_door']} refused at the door ({led['stored_though_the_door_refused']} of them stored "
        f"all the same); holding replies stored: {led['holding_replies']}"
    )
    if led["sms_replies_not_sent"] or led["sms_sent_not_recorded"]:
        print(
            f"  SMS replies not sent: {led['sms_replies_not_sent'] or 0}; sent but their Twilio SID not recorded: "
            f"{led['sms_sent_not_recorded']}"
        )
    print(f"resources (sampled every {SAMPLE_SECONDS:.0f} s; RSS summed over each process tree)")
    print(f"  {'':<16}{'RSS max MB':>11}{'mean MB':>9}{'CPU % (mean)':>14}")
    total_max = 0.0
    for service, values in r["resources"].items():
        total_max += values["rss_max_mb"] if service != "load generator" else 0
        print(f"  {service:<16}{values['rss_max_mb']:>11.0f}{values['rss_mean_mb']:>9.0f}{values['cpu_percent_mean']:>14.0f}")
    print(f"  {'services':<16}{total_max:>11.0f}  (sum of the maxima; PostgreSQL's counts its shared buffers once per backend)")
    print(
        f"  load generator's event loop: lag p99 {_fmt(r['loop_lag']['p99_ms'], '.1f')} ms, max {_fmt(r['loop_lag']['max_ms'], '.1f')} ms"
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def comparison(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    embedded, scaled = results["embedded"], results["scaled"]
    return {
        "turns_per_second": _ratio(scaled["turns_per_second"], embedded["turns_per_second"]),
        "p50": _ratio(scaled["latency"]["p50_ms"], embedded["latency"]["p50_ms"]),
        "p95": _ratio(scaled["latency"]["p95_ms"], embedded["latency"]["p95_ms"]),
    }


def print_comparison(results: dict[str, dict[str, Any]], ratios: dict[str, Any]) -> None:
    embedded, scaled = results["embedded"], results["scaled"]
    print("\n=== scaled / embedded ===")
    print(
        f"  turns/s  {embedded['turns_per_second']:>8.2f} -> {scaled['turns_per_second']:>8.2f}   x{_fmt(ratios['turns_per_second'], '.2f')}"
    )
    for key in ("p50", "p95"):
        a, b = embedded["latency"][f"{key}_ms"], scaled["latency"][f"{key}_ms"]
        print(f"  {key} ms   {_fmt(a):>8} -> {_fmt(b):>8}   x{_fmt(ratios[key], '.2f')}")


def think_range(value: str) -> tuple[float, float]:
    low, _, high = value.partition("..")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError("pauses are written LOW..HIGH in seconds, e.g. 2..8") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("pauses need 0 <= LOW <= HIGH")
    return bounds


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", choices=["embedded", "scaled", "both"], default="both")
    parser.add_argument("--debtors", type=int, default=None, help="debtors at once (default 200; 10 with --smoke)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (default 600; 30 with --smoke)")
    parser.add_argument("--think", type=think_range, default=None, help="pause between messages, LOW..HIGH s (default 2..8)")
    parser.add_argument("--sms-share", type=float, default=0.25, help="share of the debtors on SMS (default 0.25)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the pauses (default 7)")
    parser.add_argument("--kill-rasa-at", type=float, default=None, help="SIGKILL one Rasa server this many seconds in")
    parser.add_argument(
        "--kill-in",
        choices=["scaled", "embedded", "both"],
        default="scaled",
        help="topologies where Rasa is killed (default scaled)",
    )
    parser.add_argument("--smoke", action="store_true", help="a short run: 10 debtors, 30 s, pauses 0.5..1.5 s")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output (default var/bench/load.json)")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away databases and the services' logs")
    args = parser.parse_args(argv)
    defaults = SMOKE if args.smoke else FULL
    args.debtors = args.debtors if args.debtors is not None else defaults["debtors"]
    args.duration = args.duration if args.duration is not None else defaults["duration"]
    args.think = args.think or think_range(str(defaults["think"]))
    if args.debtors < 1 or args.duration <= 0 or not 0 <= args.sms_share <= 1:
        parser.error("--debtors must be at least 1, --duration positive and --sms-share within 0..1")
    if args.kill_rasa_at is not None and not 0 <= args.kill_rasa_at < args.duration:
        parser.error("--kill-rasa-at must fall within the run (0 <= SECONDS < --duration)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    box = machine()
    print(
        f"machine: {box['nproc']} CPUs ({box['cpu_model']}), {box['memory_gb']} GB; load average {' '.join(box['load_average_at_start'])}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    names = ["embedded", "scaled"] if args.topology == "both" else [args.topology]
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        results[name] = run_topology(name, args, workdir / name)
        print_topology(name, results[name], args)
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": box,
        "options": {
            "debtors": args.debtors,
            "duration_s": args.duration,
            "think_s": list(args.think),
            "sms_share": args.sms_share,
            "seed": args.seed,
            "kill_rasa_at_s": args.kill_rasa_at,
            "kill_in": args.kill_in if args.kill_rasa_at is not None else None,
            "smoke": args.smoke,
        },
        "topologies": results,
    }
    if len(results) == 2:
        report["scaled_over_embedded"] = comparison(results)
        print_comparison(results, report["scaled_over_embedded"])
    clean = all(r["ledger"]["clean"] for r in results.values())
    print(
        f"\nledger: {'0 lost, 0 duplicated' if clean else 'NOT CLEAN'} in "
        + ", ".join(f"{n} ({r['ledger']['lost']} lost, {r['ledger']['duplicated']} duplicated)" for n, r in results.items())
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out}")
    if args.keep or not clean:
        print(f"kept {workdir} (databases and logs)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
